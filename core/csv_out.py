"""The one CSV writer: every CSV the product writes goes through :func:`write_csv` or
:func:`to_csv_text`.

Files written for people (lists, campaign files, exports, rejects, reports, MLflow artifacts) are
opened in spreadsheets, which run a cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage
return as a formula. Text from a CRM export or a form can start that way, so such text cells get a
leading single quote (the OWASP advice for CSV injection). Numbers stay numbers: numeric, boolean
and date columns are written as they are, and a text cell that is a plain decimal number
(``-12.5``, ``+3``, ``1e-3``) is left alone too, since a spreadsheet reads it as that number and
nothing else. A carriage return inside text is written as a line feed, so the cell is quoted.
Data folders written for the loaders to read back (``churn import``, the generator)
pass ``for_people=False`` and keep the raw value, so an import round-trips.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Hashable
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""The first characters that make a spreadsheet read a cell as a formula."""

_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_MAY_NEED_CHANGE = r"^[=+\-@\t\r]|\r"
"""Text :func:`neutralise_cell` may change: a formula's first character, or a carriage return."""


def neutralise_cell(value: Any) -> Any:
    """``value`` with a leading quote if it is text a spreadsheet would run as a formula.

    A carriage return inside text becomes a line feed: the CSV writer quotes a cell holding a line
    feed but not one holding a lone carriage return, which a spreadsheet reads as a new row whose
    first cell could then start a formula.
    """
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        value = "'" + value
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value


def _is_text(values: pd.Series | pd.Index) -> bool:
    """Whether a column can hold text cells (object, string or categorical of text)."""
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return _is_text(pd.Index(dtype.categories))
    return not (
        pd.api.types.is_numeric_dtype(dtype)
        or pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_datetime64_any_dtype(dtype)
        or pd.api.types.is_timedelta64_dtype(dtype)
        or isinstance(dtype, pd.PeriodDtype | pd.IntervalDtype)
    )


def _neutralise_index(index: pd.Index) -> pd.Index:
    if isinstance(index, pd.MultiIndex) or not _is_text(index):
        return index
    return pd.Index([neutralise_cell(v) for v in index], name=neutralise_cell(index.name))


def _neutralise_column(column: pd.Series) -> pd.Series:
    """A text column through :func:`neutralise_cell`. Cells of plain text are found with one
    Arrow regex pass and only the cells it flags go through Python; other columns (mixed types,
    categories) go cell by cell."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        arr = pa.array(column.array, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        arr = None
    if arr is None or not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return column.astype(object).map(neutralise_cell)
    flagged = pc.fill_null(pc.match_substring_regex(arr, _MAY_NEED_CHANGE), False)
    risky = np.asarray(flagged.to_numpy(zero_copy_only=False), dtype=bool)
    if not risky.any():
        return column
    values = column.to_numpy(dtype=object, copy=True)
    values[risky] = [neutralise_cell(v) for v in values[risky]]
    return pd.Series(values, index=column.index, name=column.name, dtype=object)


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells, column names and text index cannot run as formulas;
    ``frame`` itself is not changed."""
    out = frame.copy(deep=False)  # columns are replaced, never changed in place
    for position in range(frame.shape[1]):
        column = frame.iloc[:, position]
        if _is_text(column):
            out.isetitem(position, _neutralise_column(column))
    out.columns = pd.Index(
        [neutralise_cell(c) for c in frame.columns]
        if not isinstance(frame.columns, pd.MultiIndex)
        else frame.columns
    )
    out.index = _neutralise_index(frame.index)
    return out


def to_csv_text(
    frame: pd.DataFrame,
    *,
    index: bool = False,
    index_label: Hashable | None = None,
    for_people: bool = True,
) -> str:
    """``frame`` as CSV text (UTF-8, comma, header), neutralised unless ``for_people`` is false."""
    shown = neutralise(frame) if for_people else frame
    label = neutralise_cell(index_label) if for_people else index_label
    return shown.to_csv(index=index, index_label=label)


def write_csv(
    frame: pd.DataFrame,
    target: str | Path | IO[str],
    *,
    index: bool = False,
    index_label: Hashable | None = None,
    for_people: bool = True,
) -> None:
    """Write ``frame`` as CSV (UTF-8) to a path or an open text file, neutralised unless
    ``for_people`` is false. A path is written whole or not at all: the rows go to a temporary
    file beside it that replaces it at the end, so a full disk leaves the previous file intact."""
    shown = neutralise(frame) if for_people else frame
    label = neutralise_cell(index_label) if for_people else index_label
    if not isinstance(target, (str, Path)):
        shown.to_csv(target, index=index, index_label=label)
        return
    path = Path(target)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as usual
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            shown.to_csv(out, index=index, index_label=label)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
