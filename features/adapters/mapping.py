"""Mapping specs: any export (files or database queries) onto the data contract or a snapshot.

A spec is a YAML file validated into :class:`ContractMapping` (``kind: contract``, the default:
one entry per contract table, see ``docs/data-contract.md``) or :class:`SnapshotMapping`
(``kind: snapshot``: one row per customer with a churn flag). Every key is documented in
``docs/mapping.md``; the named adapters are specs shipped in ``features/adapters/specs/``.

Contract tables are typed and checked by the loaders' own code (:func:`features.loaders.parse_table`
and :func:`features.loaders.validate_tables`), so rejects carry the same reasons as
``churn validate``. A date or number that does not parse is one rejected row with its reason, not a
stopped run; only a column none of whose values parse (a wrong ``date_formats:`` entry, a wrong
column mapped) stops it, naming the file and column.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from core.errors import ContractError
from core.notes import note, note_text
from features.adapters.hooks import FIXES
from features.adapters.mapping_spec import (
    ContractMapping,
    SnapshotMapping,
    SourceSpec,
    TableMapping,
    load_spec,
)
from features.adapters.snapshot import (
    REASON,
    SOURCE_ROW,
    AdapterError,
    SnapshotData,
    SnapshotSpec,
    read_snapshot,
    require_columns,
    snake,
)
from features.adapters.sources import (
    align_columns,
    column_key,
    read_query,
    read_source_file,
    safe_url,
)
from features.contract import TABLES, Table
from features.dataset import Dataset
from features.loaders import parse_table, validate_tables

FREE_TEXT_LEVELS = 100
"""An inferred text column with more levels than this, most of them unique, is not a feature."""


@dataclass(frozen=True)
class Mapped:
    """What a spec produced, and what the user should be told about it."""

    data: Dataset | SnapshotData
    notes: tuple[str, ...] = ()


def _locations(
    sources: Mapping[str, SourceSpec], path: Path | None, base: Path | None
) -> dict[str, Path]:
    """The file of every file-sourced table: ``path`` (a file, or the folder holding the
    spec's files), else the spec's ``file:`` relative to ``base``."""
    files = {n: s for n, s in sources.items() if not s.is_query}
    if path is not None and path.is_file():
        distinct = {s.file for s in files.values()}
        if len(distinct) > 1:
            raise AdapterError(
                f"{path}: the spec reads {len(distinct)} files ({', '.join(map(str, distinct))}); "
                "give the folder that holds them"
            )
        return dict.fromkeys(files, path)
    if path is not None and not path.is_dir():
        raise AdapterError(f"{path}: no such file or folder")
    root = path if path is not None else (base or Path.cwd())
    out = {}
    for name, src in files.items():
        if not src.file:
            raise AdapterError(
                f"table '{name}': the spec gives no file: or url:; give the export on the "
                "command line"
            )
        out[name] = root / Path(src.file).expanduser()
    return out


def _read_sources(
    sources: Mapping[str, SourceSpec], spec_name: str, path: Path | None, base: Path | None
) -> tuple[dict[str, pd.DataFrame], dict[str, str], list[str]]:
    """Read every table's source once (tables sharing a file and its options share one read)."""
    where = _locations(sources, path, base)
    raws: dict[str, pd.DataFrame] = {}
    labels: dict[str, str] = {}
    notes: list[str] = []
    cache: dict[tuple[Any, ...], pd.DataFrame] = {}
    for name, src in sources.items():
        if src.is_query:
            assert src.url is not None and src.query is not None
            key: tuple[Any, ...] = (src.url, src.query)
            labels[name] = f"{spec_name}.{name} (query on {safe_url(src.url)})"
            if key not in cache:
                cache[key] = read_query(src.url, src.query, what=f"{spec_name}: table '{name}'")
        else:
            file = where[name]
            key = (file, src.encoding, src.delimiter, src.sheet, src.header, src.names)
            labels[name] = file.name
            if key not in cache:
                cache[key] = read_source_file(
                    file,
                    encoding=src.encoding,
                    delimiter=src.delimiter,
                    sheet=src.sheet,
                    header=src.header,
                    names=src.names,
                )
                notes.extend(cache[key].attrs.get("notes", []))
        raws[name] = cache[key]
    return raws, labels, notes


# --- contract tables ---------------------------------------------------------------------------


def _find(raw: pd.DataFrame, column: str, source: str, what: str) -> str:
    """The raw column a spec names, matched as :func:`column_key` compares headers."""
    present = [c for c in raw.columns if c != SOURCE_ROW]
    if column in present:
        return column
    loose = [c for c in present if column_key(c) == column_key(column)]
    if len(loose) == 1:
        return loose[0]
    found = ", ".join(repr(c) for c in present)
    why = "matches several columns" if loose else "not found"
    raise AdapterError(f"{source}: column {column!r} ({what}) {why}; found: {found}")


def _select(raw: pd.DataFrame, name: str, tm: TableMapping, source: str) -> pd.DataFrame:
    """The contract columns of one table (mapped, self-named or constant), and kept extras."""
    table = TABLES[name]
    chosen = {c: _find(raw, s, source, f"{name}.{c}") for c, s in tm.columns.items()}
    taken = set(chosen.values())
    for col in table.column_names:
        if col in chosen or col in tm.constants:
            continue
        match = [
            c
            for c in raw.columns
            if c != SOURCE_ROW and c not in taken and col in (column_key(c), snake(str(c)))
        ]
        if len(match) == 1:
            chosen[col] = match[0]
    out = pd.DataFrame({SOURCE_ROW: raw[SOURCE_ROW].to_numpy()}, index=raw.index)
    for col, src in chosen.items():
        out[col] = raw[src]
    for col, value in tm.constants.items():
        out[col] = pd.Series(value, index=raw.index, dtype="str")
    for extra in tm.keep:
        out[extra] = raw[_find(raw, extra, source, f"kept column of {name}")]
    missing = [c for c in table.required_columns if c not in out]
    if missing:
        found = ", ".join(repr(c) for c in raw.columns if c != SOURCE_ROW)
        raise AdapterError(
            f"{source}: table '{name}' needs column(s) {', '.join(missing)}: map them under "
            f"tables.{name}.columns (contract name: source column); found: {found}"
        )
    return out.reset_index(drop=True)


def _parse_values(
    frame: pd.DataFrame, table: Table, tm: TableMapping, source: str
) -> tuple[pd.DataFrame, pd.Series]:
    """Dates and numbers parsed per row; the reasons of the rows whose values do not parse."""
    formats, columns = tm.date_formats, tm.columns
    reasons = pd.Series("", index=frame.index, dtype="str")
    parsed_frame = frame.copy()
    for col in table.columns:
        if col.name not in frame or col.kind not in ("date", "float", "int"):
            continue
        values = frame[col.name]
        text = values.astype("str").str.strip()
        text = text.where(values.notna() & (text != ""))
        if col.kind == "date":
            fmt = formats.get(col.name)
            parsed = pd.to_datetime(text, format=fmt or "ISO8601", utc=True, errors="coerce")
            parsed = parsed.dt.tz_localize(None).astype("datetime64[us]")
            why = (
                f"not a date in the format {fmt}"
                if fmt
                else "not an ISO 8601 date (set date_formats: for this column)"
            )
        else:
            parsed = pd.to_numeric(text, errors="coerce").astype("float64")
            why = "not a number"
        bad = text.notna() & parsed.isna()
        if bad.any() and bad.sum() == text.notna().sum():
            shown = ", ".join(repr(v) for v in text[bad].drop_duplicates().head(10))
            named = columns.get(col.name, col.name)
            shown_col = f"'{named}'" + (f" (mapped to {col.name})" if named != col.name else "")
            raise ContractError(
                f"{source}, column {shown_col}: none of its {int(bad.sum())} value(s) is "
                f"{why.removeprefix('not ')}: {shown}"
            )
        if bad.any():
            got = text[bad].map(repr)
            mask = bad & (reasons != "")
            reasons[mask] = reasons[mask] + "; "
            reasons[bad] = reasons[bad] + f"{col.name}: {why} (got " + got + ")"
        parsed_frame[col.name] = parsed
    return parsed_frame, reasons


def _derive_customers(tx: pd.DataFrame, tm: TableMapping) -> pd.DataFrame:
    """One customer per transacting customer; ``signup_date`` is the first transaction: a
    purchase log cannot tell an earlier sign-up."""
    known = tx[tx["customer_id"].notna()]
    first = known.groupby("customer_id", sort=True)["ts"].min()
    customers = pd.DataFrame(
        {
            SOURCE_ROW: pd.RangeIndex(1, len(first) + 1),
            "customer_id": first.index.astype("str"),
            "signup_date": first.to_numpy(),
        }
    )
    for col, value in tm.constants.items():
        customers[col] = pd.Series(value, index=customers.index, dtype="str")
    return customers


def _last_event(typed: dict[str, pd.DataFrame]) -> pd.Timestamp | None:
    dates = [
        frame[TABLES[name].event_time].max()
        for name, frame in typed.items()
        if TABLES[name].event_time and TABLES[name].event_time in frame
    ]
    dates = [d for d in dates if pd.notna(d)]
    return max(dates).normalize() if dates else None


def map_tables(
    raws: dict[str, pd.DataFrame],
    spec: ContractMapping,
    sources: dict[str, str],
    as_of: str | date | pd.Timestamp | None = None,
) -> Mapped:
    """Map raw text tables (with ``source_row``) onto the contract and validate them.

    ``as_of``: the argument, else the spec's, else the last event in the data.
    """
    notes: list[str] = []
    typed: dict[str, pd.DataFrame] = {}
    early: dict[str, pd.DataFrame] = {}
    labels = dict(sources)
    order = sorted(spec.tables, key=lambda n: spec.tables[n].derive is not None)
    for name in order:
        tm, table = spec.tables[name], TABLES[name]
        if tm.derive is not None:
            if "transactions" not in typed:
                raise AdapterError("customers: derive: first_transaction needs transactions")
            typed[name] = _derive_customers(typed["transactions"], tm)
            labels[name] = f"{labels['transactions']} (first purchase per customer)"
            continue
        source = labels[name]
        selected = _select(raws[name], name, tm, source)
        parsed, reasons = _parse_values(selected, table, tm, source)
        bad = reasons != ""
        early[name] = selected[bad].assign(**{REASON: reasons[bad]})
        typed[name] = parse_table(parsed[~bad].reset_index(drop=True), table, source)
    if as_of is None and spec.as_of is not None:
        as_of = spec.as_of
    if as_of is None:
        last = _last_event(typed)
        as_of = last if last is not None else pd.Timestamp(datetime.now(UTC).date())
        notes.append(note_text(note("mapping_as_of", as_of=pd.Timestamp(as_of))))
    ds = validate_tables(typed, {n: labels[n] for n in typed}, pd.Timestamp(as_of).normalize())
    reports, rejects = dict(ds.reports), dict(ds.rejects)
    for name, frame in early.items():
        if not len(frame):
            continue
        n = len(frame)
        r = reports[name]
        reports[name] = replace(r, read=r.read + n, rejected=r.rejected + n)
        merged = pd.concat([frame.astype("object"), rejects[name].astype("object")])
        rejects[name] = merged.sort_values(SOURCE_ROW, kind="stable").reset_index(drop=True)
    return Mapped(replace(ds, reports=reports, rejects=rejects), tuple(notes))


# --- snapshots ---------------------------------------------------------------------------------


def _infer_features(
    raw: pd.DataFrame, spec: SnapshotMapping
) -> tuple[tuple[str, ...], tuple[str, ...], list[str]]:
    """Numeric and categorical columns of a snapshot whose spec lists neither."""
    skip = {SOURCE_ROW, spec.id, spec.label, *spec.drop} - {None}
    numeric, categorical, notes = list[str](), list[str](), list[str]()
    for col in raw.columns:
        if col in skip:
            continue
        text = raw[col].str.strip()
        filled = text[text != ""]
        if filled.empty:
            notes.append(note_text(note("mapping_blank_column", column=col)))
        elif pd.to_numeric(filled, errors="coerce").notna().all():
            numeric.append(col)
        elif filled.nunique() > FREE_TEXT_LEVELS and filled.nunique() > len(filled) / 2:
            notes.append(note_text(note("mapping_free_text", column=col, n=filled.nunique())))
        else:
            categorical.append(col)
    return tuple(numeric), tuple(categorical), notes


def map_snapshot(raw: pd.DataFrame, spec: SnapshotMapping, source: str) -> Mapped:
    """Map a raw text snapshot onto :class:`SnapshotData` with :func:`read_snapshot`."""
    listed = [*(spec.numeric or ()), *spec.categorical]
    wanted = [c for c in (spec.id, spec.label, spec.value, *listed, *spec.drop) if c]
    raw = align_columns(raw, wanted)
    require_columns(raw, tuple(wanted), source, spec.name)
    text = [c for c in raw.columns if c != SOURCE_ROW]
    raw = raw.assign(**{c: raw[c].fillna("") for c in text})
    notes: list[str] = []
    if spec.numeric is None and not spec.categorical:
        numeric, categorical, notes = _infer_features(raw, spec)
    else:
        numeric, categorical = tuple(spec.numeric or ()), spec.categorical
    if spec.value and spec.value not in numeric:
        numeric = (*numeric, spec.value)
    categorical = tuple(c for c in categorical if c != spec.value)
    negative = spec.negative
    if not negative:
        labels = raw[spec.label].str.strip()
        negative = tuple(sorted(set(labels[labels != ""]) - set(spec.positive)))
    snapshot = SnapshotSpec(
        name=spec.name,
        label=spec.label,
        positive=spec.positive,
        negative=negative,
        numeric=numeric,
        categorical=categorical,
        id_column=spec.id,
        value=spec.value,
        merge_levels=spec.merge_levels,
        fix=FIXES[spec.fix] if spec.fix else None,
    )
    data = read_snapshot(raw, snapshot, source)
    data = replace(data, notes=(*notes, *data.notes))
    return Mapped(data, data.notes)


# --- applying a spec ---------------------------------------------------------------------------


def apply_spec(
    spec: ContractMapping | SnapshotMapping,
    path: str | Path | None = None,
    *,
    base: str | Path | None = None,
    as_of: str | date | pd.Timestamp | None = None,
    nrows: int | None = None,
) -> Mapped:
    """Read a spec's sources and map them.

    ``path``: the export given on the command line, a file (when the spec reads one file) or the
    folder holding the spec's files; else ``file:`` paths are relative to ``base`` (the spec's
    folder). ``nrows`` keeps only the first rows of each source (quick checks).
    """
    p = Path(path) if path is not None else None
    b = Path(base) if base is not None else None
    if isinstance(spec, SnapshotMapping):
        raws, labels, notes = _read_sources({"snapshot": spec}, spec.name, p, b)
        raw = raws["snapshot"] if nrows is None else raws["snapshot"].head(nrows)
        data = map_snapshot(raw, spec, labels["snapshot"]).data
        assert isinstance(data, SnapshotData)
        data = replace(data, notes=(*notes, *data.notes))
        return Mapped(data, data.notes)
    sources = {n: t for n, t in spec.tables.items() if t.derive is None}
    raws, labels, notes = _read_sources(sources, spec.name, p, b)
    if nrows is not None:
        raws = {n: f.head(nrows) for n, f in raws.items()}
    mapped = map_tables(raws, spec, labels, as_of)
    return Mapped(mapped.data, (*notes, *mapped.notes))


def apply_spec_file(spec_path: str | Path, path: str | Path | None = None) -> Mapped:
    """Load the spec at ``spec_path`` and apply it (relative ``file:`` paths from its folder)."""
    spec = load_spec(spec_path)
    return apply_spec(spec, path, base=Path(spec_path).resolve().parent)
