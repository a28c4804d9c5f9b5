"""Snapshot data: one row per customer with a churn flag, read and validated like every loader.

A :class:`SnapshotSpec` names the source's label, its positive and negative values, its numeric and
categorical columns and, when it has one, a customer-value column. :func:`read_snapshot` checks the
columns (a missing one is a schema error naming it), types every column, and moves rows that break a
rule (unknown label value, unparsable number, duplicate customer id) to ``rejects`` with a reason,
so that ``read = accepted + rejected``. Blank numbers are kept as missing and counted in ``notes``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import ChurnError
from core.notes import note, note_text
from features.dataset import TableReport
from features.reject_reasons import Reason

CUSTOMER_ID = "customer_id"
LABEL = "churned"
VALUE = "value"
COST = "contact_cost"
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
    cost: str | None = None
    """A numeric column holding the cost of contacting each customer (not a feature)."""

    @property
    def columns(self) -> tuple[str, ...]:
        ids = (self.id_column,) if self.id_column else ()
        cost = (self.cost,) if self.cost else ()
        return (*ids, self.label, *self.numeric, *self.categorical, *cost)

    def feature_names(self) -> dict[str, str]:
        """Source column -> feature name: :func:`snake`, made unique and kept off the column names
        the typed frame uses (``customer_id``, ``churned``; ``value`` and ``contact_cost`` when
        the spec has them) by a suffix."""
        taken = {CUSTOMER_ID, LABEL, SOURCE_ROW}
        taken |= {name for name, used in ((VALUE, self.value), (COST, self.cost)) if used}
        names: dict[str, str] = {}
        for col in (*self.numeric, *self.categorical):
            base = snake(col) or "column"
            name, k = base, 2
            while name in taken:
                name, k = f"{base}_{k}", k + 1
            taken.add(name)
            names[col] = name
        return names


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
    cost: str | None = None
    """``contact_cost`` when the source has a per-customer contact cost column (missing = blank)."""
    spec: SnapshotSpec | None = None
    """The spec it was read with: where each feature comes from in the source file."""

    @property
    def source_columns(self) -> dict[str, str]:
        """Feature -> the source file's column it was read from (empty without a spec)."""
        if self.spec is None:
            return {}
        return {f: c for c, f in self.spec.feature_names().items()}

    @property
    def label(self) -> np.ndarray:
        return self.frame[LABEL].to_numpy(dtype=np.float64)

    @property
    def duplicate_rows(self) -> int:
        """Rows that repeat an earlier row's features and label."""
        return int(len(self.groups) - len(np.unique(self.groups)))


def read_text_csv(path: str | Path, delimiter: str = ",") -> pd.DataFrame:
    """A CSV as text columns (names as in the file, stripped), with a ``source_row`` line number.

    Blank cells are empty strings, as :func:`read_snapshot` expects; the reading itself
    (encoding detection included) is :func:`features.adapters.sources.read_file`'s.
    """
    from features.adapters.sources import read_file

    frame = read_file(path, delimiter=delimiter)
    text = [c for c in frame.columns if c != SOURCE_ROW]
    frame[text] = frame[text].fillna("")
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


def rejection_summary(rejects: pd.DataFrame, top: int = 3) -> str:
    """The ``top`` most common reasons of rejected rows (values left out), each with its count
    and the first row it happened on: ``"'age: not a number' (40 rows, first at row 2)"``."""
    rows = rejects[SOURCE_ROW] if SOURCE_ROW in rejects else pd.Series(rejects.index + 1)
    each = pd.DataFrame({"reason": rejects[REASON].str.split("; "), "row": rows.to_numpy()})
    each = each.explode("reason")
    each["reason"] = each["reason"].str.replace(r"\s*\(got .*\)$", "", regex=True)
    counts = each.groupby("reason", sort=False)["row"].agg(["size", "min"])
    counts = counts.sort_values("size", ascending=False, kind="stable").head(top)
    said = [
        note(
            "rejected_one" if n == 1 else "rejected_many",
            n=n,
            first=first,
            reason=Reason(str(reason), quoted=True),
        )  # fmt: skip
        for reason, (n, first) in counts.iterrows()
    ]
    return note_text(note("rejected_top", reasons=said))


def read_snapshot(raw: pd.DataFrame, spec: SnapshotSpec, source: str) -> SnapshotData:
    """Type and validate a raw text snapshot; bad rows go to ``rejects`` with their reason.

    An AdapterError when the source has no rows, or when every row is rejected (it names the
    most common reasons).
    """
    require_columns(raw, spec.columns, source, spec.name)
    if SOURCE_ROW not in raw.columns:
        raw = raw.assign(**{SOURCE_ROW: np.arange(len(raw)) + 2})
    if raw.empty:
        raise AdapterError(f"{source}: no rows to read (only a header, or an empty file)")
    text = {c: raw[c].astype("str").fillna("") for c in dict.fromkeys(spec.columns)}
    reasons = pd.Series("", index=raw.index, dtype="str")
    notes: list[str] = []
    out = pd.DataFrame(index=raw.index)
    if spec.id_column:
        ids = text[spec.id_column].str.strip()
        _add(reasons, ids == "", f"{spec.id_column}: required value is empty")
        dup = (ids != "") & ids.duplicated(keep="first")
        _add(reasons, dup, f"duplicate {spec.id_column}")
        out[CUSTOMER_ID] = ids.astype("str")
    else:
        out[CUSTOMER_ID] = ("row-" + raw[SOURCE_ROW].astype("str")).astype("str")
        notes.append(note_text(note("snapshot_no_id", source=source)))
    names = spec.feature_names()
    for col in spec.numeric:
        out[names[col]] = _numbers(text[col], col, reasons)
    for col in spec.categorical:
        out[names[col]] = _categories(text[col], spec.merge_levels.get(col, {}))
    out[LABEL] = _label(text[spec.label], spec, reasons)
    if spec.value:
        out[VALUE] = out[names[spec.value]]
    if spec.cost:
        out[COST] = _numbers(text[spec.cost], spec.cost, reasons)
        _add(reasons, out[COST] < 0, f"{spec.cost}: contact cost must be >= 0")
        blank = int((out[COST].isna() & (reasons == "")).sum())
        if blank:
            notes.append(note_text(note("snapshot_blank_costs", column=spec.cost, n=blank)))
    if spec.fix is not None:
        out, fixed = spec.fix(out)
        notes.extend(fixed)
    for col in spec.numeric:
        blank = int((out[names[col]].isna() & (reasons == "")).sum())
        if blank:
            notes.append(note_text(note("snapshot_blank_values", column=col, n=blank)))
    if spec.value:
        negative = out[VALUE] < 0
        _add(reasons, negative, f"{spec.value}: customer value must be >= 0")
        _add(reasons, out[VALUE].isna(), f"{spec.value}: customer value is missing")
    bad = (reasons != "").to_numpy()
    rejects = raw[bad].assign(**{REASON: reasons[bad]}).reset_index(drop=True)
    if bad.all():
        said = rejection_summary(rejects)
        raise AdapterError(note("snapshot_none_accepted", source=source, n=len(raw), reasons=said))
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
        cost=COST if spec.cost else None,
        spec=spec,
    )


# ---- a snapshot file of any layout: the spec inferred from its columns --------------------------

POSITIVE_WORDS = ("1", "yes", "y", "true", "t", "churn", "churned", "left", "exited", "lost")
"""Label values read as "churned" when ``--positive`` is not given (compared case-insensitively)."""
NUMERIC_SHARE = 0.95
"""A column is numeric when at least this share of its non-blank values are numbers; the rows of
the others are rejected with their reason."""
MAX_LEVELS = 1000
"""A text column with more distinct values than this is not used as a category."""
MIN_ROWS_FOR_ID = 20
"""A text column whose values all differ is taken for an id only from this many rows on."""
_ID_NAMES = re.compile(r"^(id|index|row|row_?id|row_?number|unnamed_\d+)$|_id$")


@dataclass(frozen=True)
class ColumnInfo:
    """What :func:`infer_spec` made of one source column, for the printed summary."""

    column: str
    role: str  # id, label, feature, value, cost or dropped
    kind: str  # numeric, categorical or text
    distinct: int
    missing: int
    note: str = ""


def _label_values(
    text: pd.Series, label: str, positive: str | None
) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """(positive, negative) label values and a note of their counts."""
    counts = text[text != ""].value_counts()
    values = [str(v) for v in counts.index]
    shown = ", ".join(f"{v!r}" for v in values[:10]) + (" ..." if len(values) > 10 else "")
    if not values:
        raise AdapterError(f"label column {label!r} is empty")
    if positive is not None:
        matches = [v for v in values if v == positive.strip()] or [
            v for v in values if v.casefold() == positive.strip().casefold()
        ]
        if len(matches) != 1:
            raise AdapterError(
                f"--positive {positive!r} is not a value of label column {label!r}; "
                f"its values: {shown}"
            )
        pos = matches[0]
    else:
        if len(values) != 2:
            raise AdapterError(
                f"label column {label!r} has {len(values)} distinct values ({shown}); "
                "give --positive VALUE, the value that means churned"
            )
        numeric = pd.to_numeric(pd.Series(values), errors="coerce")
        guess = [
            v
            for v, x in zip(values, numeric, strict=True)
            if v.casefold() in POSITIVE_WORDS or x == 1
        ]
        if len(guess) != 1:
            raise AdapterError(
                f"cannot tell which value of label column {label!r} means churned ({shown}); "
                "give --positive VALUE"
            )
        pos = guess[0]
    negative = tuple(v for v in values if v != pos)
    if not negative:
        raise AdapterError(f"label column {label!r} holds only {pos!r}: nothing to learn from")
    others = ", ".join(f"{v!r} ({int(counts[v]):,})" for v in negative[:5])
    said = note("snapshot_label", positive=repr(pos), n=int(counts[pos]), others=others)
    return (pos,), negative, note_text(said)


def _numeric_share(text: pd.Series) -> float:
    filled = text[text != ""]
    if filled.empty:
        return 0.0
    return float(pd.to_numeric(filled, errors="coerce").notna().mean())


def infer_spec(
    raw: pd.DataFrame,
    *,
    name: str,
    label: str,
    source: str,
    id_column: str | None = None,
    positive: str | None = None,
    value: str | None = None,
    cost: str | None = None,
    drop: tuple[str, ...] = (),
) -> tuple[SnapshotSpec, list[ColumnInfo]]:
    """A :class:`SnapshotSpec` for a text snapshot of any layout, and what was made of each column.

    Columns whose non-blank values are (at least :data:`NUMERIC_SHARE`) numbers are numeric
    features, other columns categorical. Dropped, with the reason: columns with one value or
    none, text columns whose values all differ (an id or free text), text with more than
    :data:`MAX_LEVELS` levels and numeric columns named like a row id whose values all differ.
    The label's churned value is ``positive``, else guessed from two values (1, yes, true, churn).
    Columns named in ``drop`` (``--drop COL``, e.g. a column that leaks the label) are left out.
    """
    roles = {"--label": label, "--id": id_column, "--value": value, "--cost": cost}
    given = {flag: col for flag, col in roles.items() if col}
    require_columns(raw, tuple(dict.fromkeys((*given.values(), *drop))), source, "snapshot")
    clash = sorted(set(drop) & set(given.values()))
    if clash:
        raise AdapterError(f"--drop names {clash}, which --label/--id/--value/--cost also name")
    seen: dict[str, str] = {}
    for flag, col in given.items():
        if col in seen:
            raise AdapterError(f"{seen[col]} and {flag} both name column {col!r}")
        seen[col] = flag
    text = {c: raw[c].astype("str").fillna("").str.strip() for c in raw.columns if c != SOURCE_ROW}
    infos: list[ColumnInfo] = []

    def info(col: str, role: str, kind: str, why: str = "") -> None:
        t = text[col]
        filled = t[t != ""]
        infos.append(ColumnInfo(col, role, kind, int(filled.nunique()), len(t) - len(filled), why))

    numeric: list[str] = []
    categorical: list[str] = []
    for col in text:
        t = text[col]
        filled = t[t != ""]
        distinct = int(filled.nunique())
        is_number = _numeric_share(t) >= NUMERIC_SHARE
        kind = "numeric" if is_number else "text"
        if col in drop:
            info(col, "dropped", kind, note_text(note("column_dropped_by_option")))
        elif col == id_column:
            info(col, "id", kind, note_text(note("column_id")))
        elif col == label:
            pos, neg, counted = _label_values(t, label, positive)
            info(col, "label", kind, counted)
        elif col == cost:
            if not is_number:
                raise AdapterError(f"--cost column {col!r} is not numeric: {_example(t, col, raw)}")
            info(col, "cost", "numeric", note_text(note("column_cost")))
        elif col == value:
            if not is_number:
                raise AdapterError(
                    f"--value column {col!r} is not numeric: {_example(t, col, raw)}"
                )
            numeric.append(col)
            info(col, "value", "numeric", note_text(note("column_value")))
        elif distinct <= 1:
            info(
                col,
                "dropped",
                kind,
                note_text(note("column_empty" if distinct == 0 else "column_one")),
            )
        elif is_number:
            if _ID_NAMES.search(snake(col)) and distinct == len(filled):
                info(col, "dropped", kind, note_text(note("column_row_id")))
            else:
                numeric.append(col)
                info(col, "feature", "numeric")
        elif distinct == len(filled) and len(filled) >= MIN_ROWS_FOR_ID:
            info(col, "dropped", kind, note_text(note("column_all_differ")))
        elif distinct > MAX_LEVELS:
            info(col, "dropped", kind, note_text(note("column_too_many", n=distinct)))
        else:
            categorical.append(col)
            info(col, "feature", "categorical")
    if not numeric and not categorical:
        raise AdapterError(f"{source}: no usable feature columns (see the dropped columns)")
    spec = SnapshotSpec(
        name=name,
        label=label,
        positive=pos,
        negative=neg,
        numeric=tuple(numeric),
        categorical=tuple(categorical),
        id_column=id_column,
        value=value,
        cost=cost,
    )
    return spec, infos


def _example(text: pd.Series, col: str, raw: pd.DataFrame) -> str:
    """The first value of ``col`` that is not a number, and its row."""
    bad = (text != "") & pd.to_numeric(text, errors="coerce").isna()
    first = bad.to_numpy().argmax()
    row = raw[SOURCE_ROW].iloc[first] if SOURCE_ROW in raw.columns else first + 2
    return f"{text.iloc[first]!r} at row {row}"
