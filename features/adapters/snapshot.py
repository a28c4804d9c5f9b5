"""Snapshot data: one row per customer with a churn flag, read and validated like every loader.

A :class:`SnapshotSpec` names the source's label, its positive and negative values, its numeric and
categorical columns and, when it has one, a customer-value column. :func:`read_snapshot` checks the
columns (a missing one is a schema error naming it), types every column, and moves rows that break a
rule (unknown label value, unparsable number, duplicate customer id) to ``rejects`` with a reason,
so that ``read = accepted + rejected``. Blank numbers are kept as missing and counted in ``notes``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import ChurnError
from features.dataset import TableReport

CUSTOMER_ID = "customer_id"
LABEL = "churned"
VALUE = "value"
SOURCE_ROW = "source_row"
REASON = "reason"


class AdapterError(ChurnError):
    """A source file cannot be adapted: unreadable, or lacking a column (names it and why)."""


def snake(name: str) -> str:
    """Feature name from a source column: ``'Call  Failure'`` -> ``'call_failure'``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    return re.sub(r"[^0-9a-zA-Z]+", "_", spaced).strip("_").lower()


@dataclass(frozen=True)
class SnapshotSpec:
    """How one snapshot export maps to features, label and value (source column names)."""

    name: str
    label: str
    positive: tuple[str, ...]
    negative: tuple[str, ...]
    numeric: tuple[str, ...]
    categorical: tuple[str, ...] = ()
    id_column: str | None = None
    value: str | None = None
    """A numeric column holding the customer's value; also kept as a feature."""
    merge_levels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Per categorical column, spellings merged into one level (``{'CC': 'Credit Card'}``)."""
    fix: Callable[[pd.DataFrame], tuple[pd.DataFrame, list[str]]] | None = None
    """A data-set-specific repair of the typed frame, returning notes of what it changed."""

    @property
    def columns(self) -> tuple[str, ...]:
        ids = (self.id_column,) if self.id_column else ()
        return (*ids, self.label, *self.numeric, *self.categorical)


@dataclass(frozen=True)
class SnapshotData:
    """A typed snapshot: ``customer_id``, features, ``churned`` (0/1) and optionally ``value``.

    Numeric features are float64, categorical features pandas ``category`` (sorted levels).
    ``groups`` numbers rows with identical features and label: exact duplicates share a group, so a
    cross-validation can keep each group inside one fold.
    """

    name: str
    frame: pd.DataFrame
    features: tuple[str, ...]
    categorical: tuple[str, ...]
    value: str | None
    groups: np.ndarray
    report: TableReport
    rejects: pd.DataFrame
    notes: tuple[str, ...] = ()

    @property
    def label(self) -> np.ndarray:
        return self.frame[LABEL].to_numpy(dtype=np.float64)

    @property
    def duplicate_rows(self) -> int:
        """Rows that repeat an earlier row's features and label."""
        return int(len(self.groups) - len(np.unique(self.groups)))


def read_text_csv(path: str | Path, delimiter: str = ",") -> pd.DataFrame:
    """A CSV as text columns (names as in the file, stripped), with a ``source_row`` line number."""
    p = Path(path)
    if not p.is_file():
        raise AdapterError(f"{p}: no such file")
    try:
        frame = pd.read_csv(
            p,
            dtype=str,
            keep_default_na=False,
            na_values=[],
            encoding="utf-8-sig",
            sep=delimiter,
            quoting=csv.QUOTE_MINIMAL,
        )
    except UnicodeDecodeError as exc:
        raise AdapterError(f"{p.name}: not valid UTF-8 text (offset {exc.start})") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise AdapterError(f"{p.name}: cannot be read as CSV: {exc}") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    frame.insert(0, SOURCE_ROW, np.arange(len(frame)) + 2)  # line numbers count the header
    return frame


def require_columns(raw: pd.DataFrame, needed: tuple[str, ...], source: str, what: str) -> None:
    """Raise AdapterError naming every column of ``needed`` that the file lacks."""
    missing = [c for c in needed if c not in raw.columns]
    if missing:
        found = ", ".join(repr(c) for c in raw.columns if c != SOURCE_ROW)
        raise AdapterError(
            f"{source}: missing column(s) {', '.join(repr(c) for c in missing)} of the {what} "
            f"layout; found: {found}"
        )


def _add(reasons: pd.Series, mask: pd.Series, text: pd.Series | str) -> None:
    if isinstance(text, pd.Series):
        text = text[mask]
    current = reasons[mask]
    reasons[mask] = current.where(current == "", current + "; ") + text


def _numbers(raw: pd.Series, col: str, reasons: pd.Series) -> pd.Series:
    text = raw.str.strip()
    blank = text == ""
    parsed = pd.to_numeric(text.where(~blank), errors="coerce").astype("float64")
    bad = ~blank & parsed.isna()
    _add(reasons, bad, f"{col}: not a number (got " + raw.map(repr) + ")")
    bad_inf = np.isinf(parsed)
    _add(reasons, bad_inf, f"{col}: must be a finite number")
    return parsed


def _label(raw: pd.Series, spec: SnapshotSpec, reasons: pd.Series) -> pd.Series:
    text = raw.str.strip()
    pos, neg = text.isin(spec.positive), text.isin(spec.negative)
    allowed = ", ".join(repr(v) for v in (*spec.positive, *spec.negative))
    _add(
        reasons,
        ~(pos | neg),
        f"{spec.label}: label must be one of {allowed} (got " + raw.map(repr) + ")",
    )
    return pos.astype("float64")


def _categories(raw: pd.Series, merge: Mapping[str, str]) -> pd.Series:
    text = raw.str.strip().replace(dict(merge))
    text = text.where(text != "")
    levels = sorted(text.dropna().unique())
    return text.astype(pd.CategoricalDtype(levels))


def duplicate_groups(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Group number per row; rows equal on ``columns`` (missing equals missing) share one."""
    return frame.groupby(columns, dropna=False, sort=False, observed=True).ngroup().to_numpy()


def read_snapshot(raw: pd.DataFrame, spec: SnapshotSpec, source: str) -> SnapshotData:
    """Type and validate a raw text snapshot; bad rows go to ``rejects`` with their reason."""
    require_columns(raw, spec.columns, source, spec.name)
    reasons = pd.Series("", index=raw.index, dtype="str")
    notes: list[str] = []
    out = pd.DataFrame(index=raw.index)
    if spec.id_column:
        ids = raw[spec.id_column].str.strip()
        _add(reasons, ids == "", f"{spec.id_column}: required value is empty")
        dup = (ids != "") & ids.duplicated(keep="first")
        _add(reasons, dup, f"duplicate {spec.id_column}")
        out[CUSTOMER_ID] = ids.astype("str")
    else:
        out[CUSTOMER_ID] = ("row-" + raw[SOURCE_ROW].astype("str")).astype("str")
        notes.append(f"no customer id column: customer_id is 'row-<line number in {source}>'")
    names = {c: snake(c) for c in (*spec.numeric, *spec.categorical)}
    for col in spec.numeric:
        out[names[col]] = _numbers(raw[col], col, reasons)
    for col in spec.categorical:
        out[names[col]] = _categories(raw[col], spec.merge_levels.get(col, {}))
    out[LABEL] = _label(raw[spec.label], spec, reasons)
    if spec.value:
        out[VALUE] = out[names[spec.value]]
    if spec.fix is not None:
        out, fixed = spec.fix(out)
        notes.extend(fixed)
    for col in spec.numeric:
        blank = int((out[names[col]].isna() & (reasons == "")).sum())
        if blank:
            notes.append(f"{col}: {blank} blank value(s) kept as missing")
    if spec.value:
        negative = out[VALUE] < 0
        _add(reasons, negative, f"{spec.value}: customer value must be >= 0")
        _add(reasons, out[VALUE].isna(), f"{spec.value}: customer value is missing")
    bad = (reasons != "").to_numpy()
    rejects = raw[bad].assign(**{REASON: reasons[bad]}).reset_index(drop=True)
    frame = out[~bad].reset_index(drop=True)
    features = tuple(names.values())
    report = TableReport(spec.name, source, len(raw), int((~bad).sum()), int(bad.sum()))
    return SnapshotData(
        name=spec.name,
        frame=frame,
        features=features,
        categorical=tuple(names[c] for c in spec.categorical),
        value=VALUE if spec.value else None,
        groups=duplicate_groups(frame, [*features, LABEL]),
        report=report,
        rejects=rejects,
        notes=tuple(notes),
    )
