"""Load a data set folder, enforce the data contract, and quarantine bad rows with a reason.

Two kinds of problems, two behaviours:
- schema-level (unknown table file, missing required column, a whole column that cannot be
  parsed, unreadable file, or more bad rows in a table than ``max_bad_row_share`` allows) stop the
  run with a :class:`ContractError` naming the file, the column and offending values;
- row-level (an unparsable value, or a rule broken by one row) moves that row to the table's
  rejects with a ``reason``; every table reports ``read = accepted + rejected``.

Time-zone policy: timestamps with an offset are converted to UTC; timestamps without one are taken
to be UTC already. All dates are then naive UTC ``datetime64``.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.config import load_yaml
from core.csv_out import write_csv
from core.errors import ContractError
from core.notes import Note, note
from features.arrow import ASCII_WHITESPACE, arrow_array, is_clean_text, is_in
from features.config import DEFAULT_MAX_BAD_ROW_SHARE
from features.contract import (
    MANIFEST_FILE,
    MAX_TEXT_CHARS,
    REFUND,
    TABLE_SUFFIXES,
    TABLES,
    Column,
    Table,
)
from features.dataset import AsOfSource, Dataset, TableReport
from features.reject_reasons import Reason
from features.row_reasons import RowReasons

SOURCE_ROW = "source_row"
REASON = "reason"
PARSE_REASON = "_parse_reason"  # set by parse_table on rows with unparsable values
ALL_ALLOWED = "all_allowed"
"""``attrs`` key: the columns parse_table found to hold allowed words only (their rule holds)."""
MAX_SHOWN = 10
LOAD_THREADS = min(4, os.cpu_count() or 1)
"""Tables read, parsed and checked side by side (100,000 customers' tables on 2 cores:
read and parse 1.34-1.83 s in one thread, 1.01-1.31 s in two)."""
T = TypeVar("T")
R = TypeVar("R")


class BadRowShareError(ContractError):
    """Too many bad rows in a table to trust it; ``dataset`` holds what was accepted and
    rejected, so ``churn validate`` can still write the rejects."""

    def __init__(self, message: str | Note, dataset: Dataset) -> None:
        super().__init__(message)
        self.dataset = dataset


def _sample(values: pd.Series) -> str:
    shown = [repr(v) for v in values.drop_duplicates().head(MAX_SHOWN)]
    return ", ".join(shown)


def read_raw(path: Path, encoding: str = "utf-8") -> pd.DataFrame:
    """Read one table file as text (CSV) or as stored (Parquet), with normalised column names."""
    if path.stat().st_size == 0:
        raise ContractError(note("file_empty", source=path.name))
    try:
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
        else:
            enc = (
                "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
            )
            frame = pd.read_csv(
                path,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                encoding=enc,
                skipinitialspace=True,
                quoting=csv.QUOTE_MINIMAL,
            )
    except UnicodeDecodeError as exc:
        byte = repr(exc.object[exc.start : exc.start + 1])
        raise ContractError(
            note("file_not_text", source=path.name, encoding=encoding, byte=byte, offset=exc.start)
        ) from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError, ValueError) as exc:
        raise ContractError(
            note("file_unreadable", source=path.name, format=path.suffix[1:], error=str(exc))
        ) from exc
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if SOURCE_ROW in frame.columns:
        raise ContractError(note("reserved_column", source=path.name, column=SOURCE_ROW))
    offset = 2 if path.suffix == ".csv" else 1  # CSV line numbers count the header line
    rows = pd.DataFrame({SOURCE_ROW: np.arange(len(frame)) + offset})
    # concat, not insert: insert copied the other columns on some reads (0.2 s at 2 million rows)
    return pd.concat([rows, frame.reset_index(drop=True)], axis=1)


def is_datetime(values: pd.Series) -> bool:
    return pd.api.types.is_datetime64_any_dtype(values)


def _parse_dates(values: pd.Series) -> pd.Series:
    """Dates as naive UTC ``datetime64[us]``; unparsable values become NaT."""
    if is_datetime(values):
        parsed = values
    else:
        parsed = pd.to_datetime(values, format="ISO8601", utc=True, errors="coerce")
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return parsed.astype("datetime64[us]")


def _parse_numbers(values: pd.Series) -> pd.Series:
    """Numbers as ``float64``; unparsable values become NaN."""
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("float64")
    return pd.to_numeric(values.astype("str").str.strip(), errors="coerce").astype("float64")


def _as_text(values: pd.Series) -> pd.Series:
    """A column as pandas' Arrow-backed ``str``, missing values kept missing."""
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        return values
    return values.astype("str").where(values.notna())


def _only_allowed(text: pd.Series, allowed: tuple[str, ...]) -> bool:
    """Whether every present value is one of ``allowed`` (trimmed, lower-case words) as it is."""
    arr = arrow_array(text)
    found = pc.sum(pc.is_in(arr, value_set=pa.array(allowed))).as_py() or 0
    return bool(found == len(arr) - arr.null_count)


def _parse_text(values: pd.Series, lower: bool) -> pd.Series:
    """Text trimmed (and lower-cased for categories); blank becomes missing. Arrow kernels,
    since pandas' string methods cost tenfold on a few hundred thousand rows; a column they
    would not change is returned as it is."""
    text = arrow_array(values)
    if is_clean_text(text, lower=lower):
        return values
    if pc.all(pc.string_is_ascii(text)).as_py() is False:
        text = pc.utf8_trim_whitespace(text)
        if lower and not pc.all(pc.utf8_is_lower(text)).as_py():
            text = pc.utf8_lower(text)
    else:  # the same result, without the Unicode tables' lookups (and their first-use setup)
        text = pc.ascii_trim(text, characters=ASCII_WHITESPACE)
        if lower and not pc.all(pc.ascii_is_lower(text)).as_py():
            text = pc.ascii_lower(text)
    blank = pc.equal(text, "")
    if pc.any(blank).as_py():
        text = pc.if_else(blank, pa.scalar(None, text.type), text)
    return pd.Series(text, dtype=values.dtype, index=values.index, name=values.name)


def _too_long(text: pd.Series, max_chars: int) -> pd.Series:
    """Rows whose text has more than ``max_chars`` characters."""
    arr = arrow_array(text)
    if (pc.max(pc.binary_length(arr)).as_py() or 0) <= max_chars:  # bytes bound characters
        return pd.Series(False, index=text.index)
    longer = pc.fill_null(pc.greater(pc.utf8_length(arr), max_chars), False)
    return pd.Series(longer.to_numpy(zero_copy_only=False), index=text.index)


def parse_table(
    raw: pd.DataFrame, table: Table, source: str, max_text_chars: int = MAX_TEXT_CHARS
) -> pd.DataFrame:
    """Type every contract column of a raw table; extra columns are kept as they are.

    A value that cannot be parsed as its column's type becomes missing and its row gets a reason
    in the ``_parse_reason`` column, which :func:`validate_tables` turns into a rejected row. A
    column none of whose (two or more) values parse stops the run: its format is wrong, not a row.
    A text cell longer than ``max_text_chars`` rejects its row too.
    """
    missing = [c for c in table.required_columns if c not in raw.columns]
    if missing:
        found = ", ".join(c for c in raw.columns if c != SOURCE_ROW)
        raise ContractError(
            note(
                "columns_missing",
                source=source,
                missing=", ".join(missing),
                table=table.name,
                found=found,
            )
        )
    frame = raw.copy(deep=False)  # columns are replaced, never changed in place
    reasons = RowReasons(frame.index)
    all_allowed = []
    for col in table.columns:
        if col.name not in frame.columns:
            continue
        values = frame[col.name]
        if col.kind not in ("date", "float", "int"):
            text = _as_text(values)
            if col.allowed is not None and _only_allowed(text, col.allowed):
                all_allowed.append(col.name)
            else:
                text = _parse_text(text, lower=col.kind == "category")
            too_long = _too_long(text, max_text_chars)
            reasons.add(too_long, f"{col.name}: longer than {max_text_chars:,} characters")
            frame[col.name] = text
            continue
        is_date = col.kind == "date"
        parsed = _parse_dates(values) if is_date else _parse_numbers(values)
        failed = values.notna() & parsed.isna()
        bad = failed.copy()
        if failed.any():  # blank text is a missing value, not a bad one
            bad[failed] = values[failed].astype("str").str.strip() != ""
        n_present = int(values.notna().sum()) - int((failed & ~bad).sum())
        if bad.sum() > 1 and bad.sum() == n_present:
            raise ContractError(
                note(
                    "column_not_dates" if is_date else "column_not_numbers",
                    source=source,
                    column=col.name,
                    n=int(bad.sum()),
                    sample=_sample(values[bad]),
                )
            )
        if bad.any():
            what = "date" if is_date else "number"
            text = f"{col.name}: not a {what} (got " + values[bad].astype("str") + ")"
            reasons.add(bad, text)
        frame[col.name] = parsed
    if reasons.failing().any():
        frame[PARSE_REASON] = reasons.texts().reindex(frame.index)
    frame.attrs = {ALL_ALLOWED: tuple(all_allowed)} if all_allowed else {}
    return frame


def _rule_failures(
    values: pd.Series, col: Column, all_allowed: bool = False
) -> list[tuple[np.ndarray, str]]:
    """Each per-row rule of one column that some rows break: (rows, what the rule says).

    Missing values break only the rule that a required column is filled; ``all_allowed``: the
    values are known to be allowed words.
    """
    present = values.notna().to_numpy()
    failures = [] if not col.required else [(~present, "required value is empty")]
    if col.kind in ("float", "int"):
        x = values.to_numpy(dtype="float64", na_value=np.nan)
        failures.append((np.isinf(x), "must be a finite number"))
        if col.kind == "int":
            with np.errstate(invalid="ignore"):
                failures.append((np.isfinite(x) & (x != np.round(x)), "must be whole"))
        if col.min is not None:
            failures.append((x < col.min, f"must be >= {col.min:g}"))
        if col.max is not None:
            failures.append((x > col.max, f"must be <= {col.max:g}"))
    if col.allowed is not None and not all_allowed:
        known = is_in(values, col.allowed)
        failures.append((present & ~known, f"must be one of {', '.join(col.allowed)}"))
    return [(rows, rule) for rows, rule in failures if rows.any()]


def _row_reasons(frame: pd.DataFrame, table: Table, all_allowed: Sequence[str]) -> RowReasons:
    """Each broken per-row rule as ``column: rule (got value)``."""
    reasons = RowReasons(frame.index)
    for col in table.columns:
        if col.name not in frame.columns:
            continue
        values = frame[col.name]
        for rows, rule in _rule_failures(values, col, col.name in all_allowed):
            got = values[rows].astype("str").fillna("empty")
            reasons.add(rows, f"{col.name}: {rule} (got " + got + ")")
    return reasons


def _cross_table_reasons(
    frame: pd.DataFrame,
    table: Table,
    customers: pd.Index | None,
    as_of: pd.Timestamp,
    reasons: RowReasons,
) -> None:
    end = as_of + pd.Timedelta(days=1)
    if table.key is not None:
        dup = frame[table.key].notna() & frame.duplicated(table.key, keep="first")
        if dup.any():
            first = frame.groupby(table.key)[SOURCE_ROW].transform("first")
            reasons.add(
                dup, f"duplicate {table.key} (first seen at row " + first.astype("str") + ")"
            )
    time_col = table.event_time or ("signup_date" if table.name == "customers" else None)
    if time_col is not None and time_col in frame:
        reasons.add(frame[time_col] >= end, f"{time_col} after the as-of date {as_of:%Y-%m-%d}")
    if "resolved_at" in frame and "opened_at" in frame:
        reasons.add(frame["resolved_at"] < frame["opened_at"], "resolved_at before opened_at")
    if customers is not None and table.name != "customers" and "customer_id" in frame:
        ids = frame["customer_id"]
        reasons.add(
            ids.notna().to_numpy() & ~is_in(ids, customers), "event for an unknown customer_id"
        )


def find_table_files(folder: Path) -> dict[str, Path]:
    """Map table name to file; unknown or doubled table files are schema errors."""
    if not folder.is_dir():
        raise ContractError(note("no_data_folder", folder=str(folder)))
    found: dict[str, Path] = {}
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        if path.suffix.lower() not in TABLE_SUFFIXES:
            continue
        name = path.stem.lower()
        if name not in TABLES:
            expected = ", ".join(t + ".csv|.parquet" for t in TABLES)
            raise ContractError(note("unknown_table_file", source=path.name, expected=expected))
        if name in found:
            raise ContractError(
                note("table_twice", source=path.name, table=name, other=found[name].name)
            )
        found[name] = path
    for table in TABLES.values():
        if table.required and table.name not in found:
            raise ContractError(note("table_missing", folder=str(folder), table=table.name))
    return found


def _given_as_of(
    folder: Path | None, as_of: str | pd.Timestamp | None
) -> tuple[pd.Timestamp | None, AsOfSource]:
    """The argument, else ``dataset.yaml``'s ``as_of``; None when neither gives one."""
    source: AsOfSource = "argument"
    if as_of is None and folder is not None and (folder / MANIFEST_FILE).is_file():
        as_of, source = load_yaml(folder / MANIFEST_FILE).get("as_of"), "dataset.yaml"
    if as_of is None:
        return None, source
    try:
        ts = pd.Timestamp(str(as_of))
    except ValueError:
        ts = pd.NaT
    if pd.isna(ts):
        raise ContractError(note("as_of_not_date", value=repr(as_of)))
    return ts.normalize(), source


def last_event_day(typed: dict[str, pd.DataFrame]) -> pd.Timestamp | None:
    """The day of the latest event (transactions, interactions, complaints) on or before today.

    Later dates are typos or not-yet-happened events: they are left to the as-of rule, which
    rejects them, instead of pushing the as-of date into the future.
    """
    today = pd.Timestamp(datetime.now(UTC).date())
    latest: list[pd.Timestamp] = []
    for name, frame in typed.items():
        col = TABLES[name].event_time
        if col is None or col not in frame:
            continue
        times = frame[col]
        times = times[times < today + pd.Timedelta(days=1)]
        if times.notna().any():
            latest.append(pd.Timestamp(times.max()))
    return max(latest).normalize() if latest else None


def resolve_as_of_from(
    folder: Path | None, as_of: str | pd.Timestamp | None, typed: dict[str, pd.DataFrame]
) -> tuple[pd.Timestamp, AsOfSource]:
    """As-of date and its source: the argument, else ``dataset.yaml``'s ``as_of``, else the day
    of the last event in the data (see :func:`last_event_day`), else today (UTC).

    With the last event's day as as-of, features at that cutoff read events before it, so that
    day (which an export may have cut short) is in no feature or label.
    """
    given, source = _given_as_of(folder, as_of)
    if given is not None:
        return given, source
    last = last_event_day(typed)
    if last is not None:
        return last, "last event"
    return pd.Timestamp(datetime.now(UTC).date()), "today"


def resolve_as_of(folder: Path, as_of: str | pd.Timestamp | None) -> pd.Timestamp:
    """As-of date of a data folder (see :func:`resolve_as_of_from`); reads the event tables only
    when neither the argument nor ``dataset.yaml`` gives one."""
    given, _ = _given_as_of(folder, as_of)
    if given is not None:
        return given
    files = find_table_files(folder)
    typed = {
        name: parse_table(read_raw(path), TABLES[name], path.name)
        for name, path in files.items()
        if TABLES[name].event_time is not None
    }
    return resolve_as_of_from(folder, None, typed)[0]


def _net_refunds(frame: pd.DataFrame) -> pd.DataFrame:
    """Refunds carry a negative amount: a positive amount with ``kind: refund`` is negated."""
    if "kind" not in frame or "amount" not in frame:
        return frame
    flip = (frame["kind"] == REFUND).fillna(False).to_numpy(dtype=bool) & (frame["amount"] > 0)
    if flip.any():
        frame = frame.copy()
        frame.loc[flip, "amount"] = -frame.loc[flip, "amount"]
    return frame


LATER_ONLY = re.compile(r"\w+ after the as-of date \d{4}-\d{2}-\d{2}")
"""The reason of a row set aside only because it happened after the as-of date."""


def _bad_rows(ds: Dataset, name: str) -> pd.Series:
    """The rejected rows of ``name`` that count as bad: all of them, except, when the caller chose
    the as-of date (``churn train --as-of`` on a whole export), events that are merely later."""
    reasons = ds.rejects[name][REASON]
    if ds.as_of_source != "argument":
        return reasons
    return reasons[~reasons.str.fullmatch(LATER_ONLY.pattern).fillna(False).astype(bool)]


def _check_bad_share(ds: Dataset, max_share: float) -> None:
    """Stop when a table has more bad rows than ``max_share`` of its rows (one bad row never)."""
    lines = []
    for name, r in ds.reports.items():
        bad = _bad_rows(ds, name)
        if len(bad) > 1 and len(bad) > max_share * r.read:
            top = bad.value_counts().head(3)
            reasons = [note("bad_reason", n=n, reason=Reason(str(why))) for why, n in top.items()]
            lines.append(
                note(
                    "bad_share_table",
                    source=r.source,
                    bad=len(bad),
                    read=r.read,
                    rate=len(bad) / r.read,
                    share=max_share,
                    reasons=reasons,
                )  # fmt: skip
            )
    if lines:
        raise BadRowShareError(note("bad_share_stop", tables=lines), ds)


def _check_table(
    typed: dict[str, pd.DataFrame],
    name: str,
    sources: dict[str, str],
    customers: pd.Index | None,
    as_of: pd.Timestamp,
) -> tuple[pd.DataFrame, pd.DataFrame, TableReport]:
    """One table's (accepted rows, rejected rows with their reasons, report)."""
    frame, table = typed[name], TABLES[name]
    all_allowed = frame.attrs.get(ALL_ALLOWED, ())
    frame = frame.copy(deep=False)
    frame.attrs = {}  # nothing of the parse's bookkeeping leaves the loader
    reasons = RowReasons(frame.index)
    if PARSE_REASON in frame:
        reasons.add(frame[PARSE_REASON].notna(), frame[PARSE_REASON])
        frame = frame.drop(columns=PARSE_REASON)
    parsed_ok = ~reasons.failing()
    checked = frame if parsed_ok.all() else frame[parsed_ok]
    reasons.extend(_row_reasons(checked, table, all_allowed))
    _cross_table_reasons(frame, table, customers, as_of, reasons)
    bad = reasons.failing()
    accepted = (frame[~bad] if bad.any() else frame).drop(columns=SOURCE_ROW)
    accepted = accepted.reset_index(drop=True)
    report = TableReport(
        table=name,
        source=sources[name],
        read=len(frame),
        accepted=int((~bad).sum()),
        rejected=int(bad.sum()),
        missing_optional_columns=tuple(c for c in table.column_names if c not in frame),
    )
    return (
        _net_refunds(accepted) if name == "transactions" else accepted,
        frame[bad].assign(**{REASON: reasons.texts()}).reset_index(drop=True),
        report,
    )


def in_threads(work: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``work`` on each item, in up to :data:`LOAD_THREADS` threads, results in item order.
    Arrow's kernels and readers release the GIL, so tables parse and check side by side."""
    if len(items) < 2 or LOAD_THREADS < 2:
        return [work(i) for i in items]
    with ThreadPoolExecutor(LOAD_THREADS) as pool:
        return list(pool.map(work, items))


def validate_tables(
    typed: dict[str, pd.DataFrame],
    sources: dict[str, str],
    as_of: pd.Timestamp,
    *,
    as_of_source: AsOfSource = "argument",
    max_bad_row_share: float | None = None,
) -> Dataset:
    """Apply row and cross-table rules; split every table into accepted rows and rejects.

    Rows that :func:`parse_table` marked unparsable are rejected with that reason. With
    ``max_bad_row_share`` set, a table whose rejected share exceeds it stops the run with a
    :class:`BadRowShareError`.
    """
    order = sorted(typed, key=lambda n: n != "customers")
    checked: dict[str, tuple[pd.DataFrame, pd.DataFrame, TableReport]] = {}
    customers: pd.Index | None = None
    if "customers" in typed:  # first: events are checked against the accepted customers
        checked["customers"] = _check_table(typed, "customers", sources, None, as_of)
        customers = pd.Index(checked["customers"][0]["customer_id"])
    events = [n for n in order if n != "customers"]
    checked |= dict(
        zip(
            events,
            in_threads(lambda n: _check_table(typed, n, sources, customers, as_of), events),
            strict=True,
        )
    )
    tables = {n: checked[n][0] for n in order}
    rejects = {n: checked[n][1] for n in order}
    reports = {n: checked[n][2] for n in order}
    ds = Dataset(
        tables=tables, as_of=as_of, reports=reports, rejects=rejects, as_of_source=as_of_source
    )
    if max_bad_row_share is not None:
        _check_bad_share(ds, max_bad_row_share)
    return ds


def load_dataset(
    folder: str | Path,
    as_of: str | pd.Timestamp | None = None,
    encoding: str = "utf-8",
    max_bad_row_share: float | None = DEFAULT_MAX_BAD_ROW_SHARE,
    max_text_chars: int = MAX_TEXT_CHARS,
) -> Dataset:
    """Load and validate a data set folder (one CSV or Parquet file per table); a text cell longer
    than ``max_text_chars`` rejects its row.

    The as-of date is ``as_of``, else ``dataset.yaml``'s, else the last event's day
    (:func:`resolve_as_of_from`); ``Dataset.as_of_source`` says which.
    """
    folder = Path(folder)
    files = find_table_files(folder)
    largest_first = sorted(files, key=lambda n: -files[n].stat().st_size)
    parsed = in_threads(
        lambda n: parse_table(
            read_raw(files[n], encoding), TABLES[n], files[n].name, max_text_chars
        ),
        largest_first,
    )
    typed = {name: parsed[largest_first.index(name)] for name in files}
    resolved, source = resolve_as_of_from(folder, as_of, typed)
    return validate_tables(
        typed,
        {n: p.name for n, p in files.items()},
        resolved,
        as_of_source=source,
        max_bad_row_share=max_bad_row_share,
    )


def write_rejects(ds: Dataset, out_dir: str | Path) -> list[Path]:
    """Write each table's rejected rows, with their ``reason``, to ``<table>.rejects.csv``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in ds.rejects.items():
        if len(frame):
            path = out / f"{name}.rejects.csv"
            write_csv(frame, path)
            written.append(path)
    return written
