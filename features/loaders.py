"""Load a data set folder, enforce the data contract, and quarantine bad rows with a reason.

Two kinds of problems, two behaviours:
- schema-level (unknown table file, missing required column, unparsable value, unreadable file)
  stop the run with a :class:`ContractError` naming the file, the column and offending values;
- row-level (rule broken by one row) moves that row to the table's rejects with a ``reason``;
  every table reports ``read = accepted + rejected``.

Time-zone policy: timestamps with an offset are converted to UTC; timestamps without one are taken
to be UTC already. All dates are then naive UTC ``datetime64``.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from core.config import load_yaml
from core.errors import ContractError
from features.contract import MANIFEST_FILE, TABLE_SUFFIXES, TABLES, Column, Table
from features.dataset import Dataset, TableReport

SOURCE_ROW = "source_row"
REASON = "reason"
MAX_SHOWN = 10


def _sample(values: pd.Series) -> str:
    shown = [repr(v) for v in values.drop_duplicates().head(MAX_SHOWN)]
    return ", ".join(shown)


def read_raw(path: Path, encoding: str = "utf-8") -> pd.DataFrame:
    """Read one table file as text (CSV) or as stored (Parquet), with normalised column names."""
    if path.stat().st_size == 0:
        raise ContractError(f"{path.name}: the file is empty (not even a header row)")
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
        raise ContractError(
            f"{path.name}: not valid {encoding} text (byte {exc.object[exc.start : exc.start + 1]!r}"
            f" at offset {exc.start}); re-export the file as UTF-8 or pass --encoding, "
            "for example --encoding gb18030 or --encoding cp1252"
        ) from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError, ValueError) as exc:
        raise ContractError(f"{path.name}: cannot be read as {path.suffix[1:]}: {exc}") from exc
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    offset = 2 if path.suffix == ".csv" else 1  # CSV line numbers count the header line
    frame.insert(0, SOURCE_ROW, np.arange(len(frame)) + offset)
    return frame.reset_index(drop=True)


def _parse_dates(values: pd.Series, where: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values
    else:
        parsed = pd.to_datetime(values, format="ISO8601", utc=True, errors="coerce")
        bad = values.notna() & parsed.isna()
        if bad.any():
            raise ContractError(
                f"{where}: {int(bad.sum())} value(s) are not dates "
                f"(expected ISO 8601, e.g. 2024-06-30 or 2024-06-30T14:05:00+08:00): "
                f"{_sample(values[bad])}"
            )
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return parsed.astype("datetime64[us]")


def _parse_numbers(values: pd.Series, where: str) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("float64")
    parsed = pd.to_numeric(values.str.strip(), errors="coerce")
    bad = values.notna() & parsed.isna()
    if bad.any():
        raise ContractError(
            f"{where}: {int(bad.sum())} value(s) are not numbers: {_sample(values[bad])}"
        )
    return parsed.astype("float64")


def _parse_text(values: pd.Series, lower: bool) -> pd.Series:
    text = values.astype("str").where(values.notna()).str.strip()
    text = text.where(text != "")
    return text.str.lower() if lower else text


def parse_table(raw: pd.DataFrame, table: Table, source: str) -> pd.DataFrame:
    """Type every contract column of a raw table; extra columns are kept as they are."""
    missing = [c for c in table.required_columns if c not in raw.columns]
    if missing:
        raise ContractError(
            f"{source}: missing required column(s) {', '.join(missing)} of table "
            f"'{table.name}'; found columns: {', '.join(c for c in raw.columns if c != SOURCE_ROW)}"
        )
    frame = raw.copy()
    for col in table.columns:
        if col.name not in frame.columns:
            continue
        where = f"{source}, column '{col.name}'"
        values = frame[col.name]
        if col.kind == "date":
            frame[col.name] = _parse_dates(values, where)
        elif col.kind in ("float", "int"):
            frame[col.name] = _parse_numbers(values, where)
        else:
            frame[col.name] = _parse_text(values, lower=col.kind == "category")
    return frame


def _column_checks(col: Column) -> list[pa.Check]:
    checks: list[pa.Check] = []
    if col.kind in ("float", "int"):
        checks.append(pa.Check(lambda s: ~np.isinf(s), error="must be a finite number"))
    if col.kind == "int":
        checks.append(pa.Check(lambda s: s.isna() | (s == s.round()), error="must be whole"))
    if col.min is not None:
        checks.append(pa.Check.ge(col.min, error=f"must be >= {col.min:g}"))
    if col.max is not None:
        checks.append(pa.Check.le(col.max, error=f"must be <= {col.max:g}"))
    if col.allowed is not None:
        checks.append(pa.Check.isin(col.allowed, error=f"must be one of {', '.join(col.allowed)}"))
    return checks


def row_schema(table: Table, present: list[str]) -> pa.DataFrameSchema:
    """Pandera schema of the per-row rules of one table (types are parsed before)."""
    return pa.DataFrameSchema(
        {
            c.name: pa.Column(checks=_column_checks(c), nullable=not c.required, coerce=False)
            for c in table.columns
            if c.name in present
        },
        strict=False,
    )


def _row_reasons(frame: pd.DataFrame, table: Table) -> pd.Series:
    """One reason string per failing row (empty string for rows that pass)."""
    reasons = pd.Series("", index=frame.index, dtype="str")
    try:
        row_schema(table, list(frame.columns)).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases.dropna(subset=["index"])
        check = cases["check"].astype(str).replace({"not_nullable": "required value is empty"})
        got = cases["failure_case"].astype(str).fillna("empty")
        text = cases["column"].astype(str) + ": " + check + " (got " + got + ")"
        joined = text.groupby(cases["index"].astype(int)).agg("; ".join)
        reasons.loc[joined.index] = joined
    return reasons


def _add_reason(reasons: pd.Series, mask: pd.Series, text: pd.Series | str) -> None:
    text = text[mask] if isinstance(text, pd.Series) else text
    current = reasons[mask]
    reasons[mask] = current.where(current == "", current + "; ") + text


def _cross_table_reasons(
    frame: pd.DataFrame, table: Table, customers: pd.Index | None, as_of: pd.Timestamp
) -> pd.Series:
    reasons = pd.Series("", index=frame.index, dtype="str")
    end = as_of + pd.Timedelta(days=1)
    if table.key is not None:
        dup = frame[table.key].notna() & frame.duplicated(table.key, keep="first")
        first = frame.groupby(table.key)[SOURCE_ROW].transform("first")
        _add_reason(
            reasons,
            dup,
            f"duplicate {table.key} (first seen at row " + first.astype("str") + ")",
        )
    time_col = table.event_time or ("signup_date" if table.name == "customers" else None)
    if time_col is not None and time_col in frame:
        _add_reason(
            reasons, frame[time_col] >= end, f"{time_col} after the as-of date {as_of:%Y-%m-%d}"
        )
    if "resolved_at" in frame and "opened_at" in frame:
        _add_reason(
            reasons, frame["resolved_at"] < frame["opened_at"], "resolved_at before opened_at"
        )
    if customers is not None and table.name != "customers" and "customer_id" in frame:
        unknown = frame["customer_id"].notna() & ~frame["customer_id"].isin(customers)
        _add_reason(reasons, unknown, "event for an unknown customer_id")
    return reasons


def find_table_files(folder: Path) -> dict[str, Path]:
    """Map table name to file; unknown or doubled table files are schema errors."""
    if not folder.is_dir():
        raise ContractError(f"{folder}: no such data folder")
    found: dict[str, Path] = {}
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        if path.suffix.lower() not in TABLE_SUFFIXES:
            continue
        name = path.stem.lower()
        if name not in TABLES:
            raise ContractError(
                f"{path.name}: unknown table file; expected one of "
                f"{', '.join(t + '.csv|.parquet' for t in TABLES)}"
            )
        if name in found:
            raise ContractError(f"{path.name}: table '{name}' given twice ({found[name].name})")
        found[name] = path
    for table in TABLES.values():
        if table.required and table.name not in found:
            raise ContractError(
                f"{folder}: required table '{table.name}' (.csv or .parquet) is missing"
            )
    return found


def resolve_as_of(folder: Path, as_of: str | pd.Timestamp | None) -> pd.Timestamp:
    """As-of date: the argument, else ``dataset.yaml``'s ``as_of``, else today (UTC)."""
    if as_of is None and (folder / MANIFEST_FILE).is_file():
        as_of = load_yaml(folder / MANIFEST_FILE).get("as_of")
    if as_of is None:
        as_of = datetime.now(UTC).date().isoformat()
    try:
        return pd.Timestamp(str(as_of)).normalize()
    except ValueError as exc:
        raise ContractError(f"as-of date {as_of!r} is not a date (expected YYYY-MM-DD)") from exc


def validate_tables(
    typed: dict[str, pd.DataFrame], sources: dict[str, str], as_of: pd.Timestamp
) -> Dataset:
    """Apply row and cross-table rules; split every table into accepted rows and rejects."""
    tables: dict[str, pd.DataFrame] = {}
    rejects: dict[str, pd.DataFrame] = {}
    reports: dict[str, TableReport] = {}
    customers: pd.Index | None = None
    # customers first: events are checked against the accepted customers
    for name in sorted(typed, key=lambda n: n != "customers"):
        frame, table = typed[name], TABLES[name]
        reasons = _row_reasons(frame, table)
        cross = _cross_table_reasons(frame, table, customers, as_of)
        _add_reason(reasons, cross != "", cross)
        bad = reasons != ""
        tables[name] = frame[~bad].drop(columns=SOURCE_ROW).reset_index(drop=True)
        rejects[name] = frame[bad].assign(**{REASON: reasons[bad]}).reset_index(drop=True)
        if name == "customers":
            customers = pd.Index(tables[name]["customer_id"])
        reports[name] = TableReport(
            table=name,
            source=sources[name],
            read=len(frame),
            accepted=int((~bad).sum()),
            rejected=int(bad.sum()),
            missing_optional_columns=tuple(c for c in table.column_names if c not in frame),
        )
    return Dataset(tables=tables, as_of=as_of, reports=reports, rejects=rejects)


def load_dataset(
    folder: str | Path, as_of: str | pd.Timestamp | None = None, encoding: str = "utf-8"
) -> Dataset:
    """Load and validate a data set folder (one CSV or Parquet file per table)."""
    folder = Path(folder)
    files = find_table_files(folder)
    resolved = resolve_as_of(folder, as_of)
    typed = {
        name: parse_table(read_raw(path, encoding), TABLES[name], path.name)
        for name, path in files.items()
    }
    return validate_tables(typed, {n: p.name for n, p in files.items()}, resolved)


def write_rejects(ds: Dataset, out_dir: str | Path) -> list[Path]:
    """Write each table's rejected rows, with their ``reason``, to ``<table>.rejects.csv``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in ds.rejects.items():
        if len(frame):
            path = out / f"{name}.rejects.csv"
            frame.to_csv(path, index=False)
            written.append(path)
    return written
