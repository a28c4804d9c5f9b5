"""Reading one export into a text DataFrame: delimited text, Parquet, Excel, or a database query.

Every reader returns the same shape, so the contract's loaders and the snapshot reader type the
values and quarantine bad ones per row: every column is text (pandas ``str``, missing where the
source cell is empty or NULL), names are stripped, and ``source_row`` numbers the rows as the user
sees them (the line of a text file counting its header, the row of a sheet, the row of a result).
What a reader found out that the user should know (the encoding it detected) is in
``frame.attrs["notes"]``.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from core.notes import note, note_text
from features.adapters.snapshot import SOURCE_ROW, AdapterError

TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".dat", ".tab")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
PARQUET_SUFFIXES = (".parquet", ".pq")
SNIFF_CHARS = 64 * 1024
DELIMITERS = ",;\t|"
WHITESPACE = r"\s+"
DELIMITER_NAMES = {
    "comma": ",",
    "semicolon": ";",
    "tab": "\t",
    "\\t": "\t",
    "pipe": "|",
    "whitespace": WHITESPACE,
    "space": WHITESPACE,
    " ": WHITESPACE,
}
GB_FAMILY = ("gb2312", "gbk", "gb18030", "hz")
"""Chinese national encodings; GB18030 is a superset of the others, so it decodes all of them."""


def column_key(name: object) -> str:
    """How header names are compared: case, surrounding and repeated spaces do not matter."""
    return " ".join(str(name).split()).casefold()


def align_columns(frame: pd.DataFrame, wanted: Iterable[str]) -> pd.DataFrame:
    """Rename the frame's columns to the ``wanted`` spellings they match by :func:`column_key`.

    A lower-cased or space-padded export then reads like the layout it copies; an exact match wins
    over a loose one, and columns that match nothing are left as they are.
    """
    present = [c for c in frame.columns if c != SOURCE_ROW]
    by_key: dict[str, list[str]] = {}
    for col in present:
        by_key.setdefault(column_key(col), []).append(col)
    renames: dict[str, str] = {}
    for name in dict.fromkeys(wanted):
        if name in present:
            continue
        candidates = by_key.get(column_key(name), [])
        if len(candidates) == 1 and candidates[0] not in renames:
            renames[candidates[0]] = name
    return frame.rename(columns=renames) if renames else frame


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column as pandas ``str`` (missing stays missing), the way a text file reads."""
    out = pd.DataFrame(index=frame.index)
    for col in frame.columns:
        values = frame[col]
        if isinstance(values.dtype, pd.StringDtype):
            out[col] = values
            continue
        if pd.api.types.is_datetime64_any_dtype(values):
            if values.dt.tz is not None:
                values = values.dt.tz_convert("UTC").dt.tz_localize(None)
            midnight = (values.dropna() == values.dropna().dt.normalize()).all()
            text = values.dt.strftime("%Y-%m-%d" if midnight else "%Y-%m-%dT%H:%M:%S")
        elif pd.api.types.is_float_dtype(values):
            # whole floats (an integer column with a NULL) print without ".0"
            whole = values.notna() & np.isfinite(values) & (values == values.round())
            text = values.astype("str").where(~whole, values.round().astype("Int64").astype("str"))
        else:
            text = values.astype("str")
        out[col] = text.where(values.notna()).astype("str")
    return out


def _finish(frame: pd.DataFrame, first_row: int, notes: list[str]) -> pd.DataFrame:
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = as_text(frame).reset_index(drop=True)
    frame.insert(0, SOURCE_ROW, np.arange(len(frame)) + first_row)
    frame.attrs["notes"] = notes
    return frame


def decode(data: bytes, name: str, encoding: str | None) -> tuple[str, str, list[str]]:
    """The text of a file and the encoding used: ``encoding``, else UTF-8, else detected."""
    if encoding is not None:
        enc = encoding.strip()
        if enc.lower().replace("_", "-") in ("utf-8", "utf8"):
            enc = "utf-8-sig"
        try:
            return data.decode(enc), enc, []
        except LookupError:
            raise AdapterError(f"{name}: unknown encoding {encoding!r}") from None
        except UnicodeDecodeError as exc:
            raise AdapterError(
                f"{name}: not valid {encoding} text (byte {data[exc.start : exc.start + 1]!r} at "
                f"offset {exc.start}); leave the encoding out to detect it, or name the right one"
            ) from None
    try:
        return data.decode("utf-8-sig"), "utf-8", []
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise AdapterError(
            f"{name}: not text in any encoding charset-normalizer recognises; if it is text, "
            "name its encoding (e.g. encoding: gb18030 in the spec)"
        )
    enc = "gb18030" if best.encoding.lower() in GB_FAMILY else best.encoding
    try:
        text = data.decode(enc)
    except UnicodeDecodeError as exc:
        raise AdapterError(
            f"{name}: looks like {enc} text but byte offset {exc.start} is not; name its "
            "encoding (e.g. encoding: gb18030 in the spec)"
        ) from None
    return text, enc, [note_text(note("encoding_detected", name=name, encoding=enc))]


def sniff_delimiter(text: str) -> str:
    """The delimiter of a text sample: one of ``,;<tab>|``, or runs of whitespace."""
    lines = [ln for ln in text[:SNIFF_CHARS].splitlines() if ln.strip()]
    if len(text) > SNIFF_CHARS and len(lines) > 1:
        lines = lines[:-1]  # the sample may cut the last line
    sample = "\n".join(lines[:200])
    if not sample:
        return ","
    if not any(d in sample for d in DELIMITERS):
        widths = {len(ln.split()) for ln in lines[:200]}
        return WHITESPACE if len(widths) == 1 and widths.pop() > 1 else ","
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        counts = {d: sample.count(d) for d in DELIMITERS}
        return max(counts, key=lambda d: counts[d])


def _delimiter(delimiter: str | None) -> str | None:
    if delimiter is None:
        return None
    named = DELIMITER_NAMES.get(delimiter.lower() if len(delimiter) > 1 else delimiter)
    return named or delimiter


def read_text(
    path: Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    header: bool = True,
    names: Iterable[str] | None = None,
) -> pd.DataFrame:
    """A delimited text file as text columns (gzip-compressed when its name ends in ``.gz``);
    see :func:`read_file`."""
    data = path.read_bytes()
    if path.suffix.lower() == ".gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise AdapterError(f"{path.name}: not a readable gzip file: {exc}") from None
    if not data.strip():
        raise AdapterError(f"{path.name}: the file is empty")
    text, _, notes = decode(data, path.name, encoding)
    sep = _delimiter(delimiter) or sniff_delimiter(text)
    given = list(names) if names is not None else None
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            header=0 if header else None,
            names=given,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            quoting=csv.QUOTE_MINIMAL,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        shown = "whitespace" if sep == WHITESPACE else repr(sep)
        raise AdapterError(
            f"{path.name}: cannot be read as text delimited by {shown}: {exc}"
        ) from None
    if not header and given is None:
        frame.columns = [f"column_{i}" for i in range(1, frame.shape[1] + 1)]
    return _finish(frame, 2 if header else 1, notes)


def read_excel(
    path: Path, sheet: str | int | None, header: bool = True, names: Iterable[str] | None = None
) -> pd.DataFrame:
    """One sheet of an ``.xlsx`` workbook as text columns (the first sheet by default)."""
    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except (OSError, ValueError, KeyError) as exc:
        raise AdapterError(f"{path.name}: cannot be read as an Excel workbook: {exc}") from None
    with book:
        if sheet is not None and sheet not in book.sheet_names and not isinstance(sheet, int):
            shown = ", ".join(repr(s) for s in book.sheet_names)
            raise AdapterError(f"{path.name}: no sheet {sheet!r}; the sheets are {shown}")
        frame = book.parse(
            sheet_name=0 if sheet is None else sheet,
            header=0 if header else None,
            names=list(names) if names is not None else None,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
        )
    if not header and names is None:
        frame.columns = [f"column_{i}" for i in range(1, frame.shape[1] + 1)]
    return _finish(frame, 2 if header else 1, [])


def read_source_file(
    path: str | Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | int | None = None,
    header: bool = True,
    names: Iterable[str] | None = None,
) -> pd.DataFrame:
    """:func:`read_file` with header-less text: ``header=False`` and the column ``names``."""
    p = Path(path)
    if not p.is_file():
        raise AdapterError(f"{p}: no such file")
    suffix = p.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        try:
            frame = pd.read_parquet(p)
        except (OSError, ValueError) as exc:
            raise AdapterError(f"{p.name}: cannot be read as Parquet: {exc}") from None
        return _finish(frame, 1, [])
    if suffix in EXCEL_SUFFIXES:
        return read_excel(p, sheet, header, names)
    if suffix == ".xls":
        raise AdapterError(f"{p.name}: old .xls workbooks are not read; save it as .xlsx or CSV")
    return read_text(p, encoding=encoding, delimiter=delimiter, header=header, names=names)


def read_file(
    path: str | Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | int | None = None,
) -> pd.DataFrame:
    """Read one exported file (CSV, TSV or whitespace-separated text, Parquet, ``.xlsx``).

    Text: the encoding is ``encoding``, else UTF-8, else detected by charset-normalizer (GBK is
    read as GB18030; a note in ``attrs["notes"]`` says so); the delimiter is ``delimiter``
    (a character, or ``comma``/``semicolon``/``tab``/``pipe``/``whitespace``), else sniffed.
    ``sheet`` picks a workbook's sheet (name or index; the first by default). Returns text columns
    with ``source_row`` (see the module docstring); an unreadable file is an AdapterError.
    """
    return read_source_file(path, encoding=encoding, delimiter=delimiter, sheet=sheet)


def safe_url(url: str) -> str:
    """The URL as it may be shown: password hidden."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a database URL)"


def _db_reason(exc: BaseException, secrets: tuple[str, ...]) -> str:
    """The driver's own one-line reason: pandas and SQLAlchemy wrap it with the statement, so the
    innermost error of the chain is used, and any secret (password, query) is masked."""
    inner: BaseException = exc
    while True:
        nested = getattr(inner, "orig", None) or inner.__cause__
        if not isinstance(nested, BaseException) or nested is inner:
            break
        inner = nested
    diag = getattr(inner, "diag", None)
    text = getattr(diag, "message_primary", None) or str(inner)
    lines = text.split("[SQL:")[0].strip().splitlines()
    text = lines[0] if lines else type(inner).__name__
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return re.sub(r"\s+", " ", text)


def read_query(url: str, query: str, *, what: str = "the query") -> pd.DataFrame:
    """The result of ``query`` on the database at ``url`` (SQLAlchemy), as text columns.

    ``${VAR}`` in the URL is taken from the environment, so a spec need not hold a password.
    PostgreSQL: ``postgresql+psycopg://user@host:port/db``; SQLite: ``sqlite:///path.db``;
    DuckDB: ``duckdb:///path.duckdb`` (opened read-only). Errors name ``what`` (the spec's table)
    and the URL without its password, never the SQL.
    """
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(os.path.expandvars(url))
    except ArgumentError:
        raise AdapterError(
            f"{what}: url is not a database URL (expected e.g. postgresql+psycopg://user@host/db, "
            "sqlite:///file.db or duckdb:///file.duckdb)"
        ) from None
    shown = parsed.render_as_string(hide_password=True)
    backend = parsed.get_backend_name()
    connect_args: dict[str, object] = {}
    if backend in ("sqlite", "duckdb") and parsed.database not in (None, "", ":memory:"):
        if not Path(str(parsed.database)).is_file():
            raise AdapterError(f"{what}: no database file {parsed.database} ({shown})")
        if backend == "duckdb":
            connect_args["read_only"] = True
    try:
        engine = sa.create_engine(parsed, connect_args=connect_args)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise AdapterError(f"{what}: no database driver for {parsed.drivername} ({exc})") from None
    try:
        with engine.connect() as conn:
            frame = pd.read_sql_query(query, conn)
    except Exception as exc:  # SQLAlchemy's errors, and a driver's own (duckdb raises its own)
        reason = _db_reason(exc, (str(parsed.password or ""), query.strip()))
        raise AdapterError(f"{what}: reading from {shown} failed: {reason}") from None
    finally:
        engine.dispose()
    return _finish(frame, 1, [])
