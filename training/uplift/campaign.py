"""A past randomised campaign read from a file: one row per customer with its treatment arm and an
outcome measured after the campaign (``churn train-uplift``).

The columns left once the treatment, the outcome and the ``--drop`` columns are set aside are
typed by the snapshot reader's own inference (:func:`features.adapters.snapshot.infer_spec` and
:func:`~features.adapters.snapshot.read_snapshot`, as ``churn train-snapshot`` types a file), the
treated flag standing in as its label. Columns measured after the campaign would leak the outcome;
:func:`leak_warnings` names any column that alone predicts it almost perfectly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from core.notes import note, note_text
from core.uplift import TREATED, UpliftError
from features.adapters.snapshot import (
    LABEL,
    SOURCE_ROW,
    VALUE,
    ColumnInfo,
    SnapshotSpec,
    infer_spec,
    read_snapshot,
    require_columns,
)

OUTCOME = "outcome"
MIN_ARM_ROWS = 200
"""Fewest rows of each arm (the control and each treated arm used) to learn from."""
CONTROL_WORDS = ("0", "false", "f", "no", "n", "none", "control", "holdout", "untreated")
BINARY_WORDS = {"0": 0, "1": 1, "false": 0, "true": 1, "no": 0, "yes": 1, "n": 0, "y": 1}
LEAK_AUC = 0.98
"""A feature whose values alone rank a binary outcome with at least this AUC is reported."""
LEAK_R2 = 0.95
"""A feature whose values alone explain at least this share of a numeric outcome's variance."""
_FLAG = "__treated__"


@dataclass(frozen=True)
class Campaign:
    """A campaign typed for learning: ``customer_id``, the features, ``treated`` (0/1) and
    ``outcome`` (0/1 or a number), with what was made of the file's columns."""

    name: str
    frame: pd.DataFrame
    features: tuple[str, ...]
    categories: dict[str, tuple[str, ...]]
    outcome_kind: Literal["binary", "numeric"]
    spec: SnapshotSpec
    columns: list[ColumnInfo]
    treatment: dict[str, object]
    notes: tuple[str, ...] = ()
    value: str | None = None

    @property
    def source(self) -> dict[str, object]:
        """The model's ``source`` metadata: feature -> file column, and the id column."""
        cols = {f: c for c, f in self.spec.feature_names().items()}
        return {"columns": cols, "id_column": self.spec.id_column, "merge_levels": {}}


def _values(raw: pd.DataFrame, col: str) -> pd.Series:
    return raw[col].astype("str").fillna("").str.strip()


def outcome_values(text: pd.Series, col: str) -> tuple[np.ndarray, Literal["binary", "numeric"]]:
    """The outcome as numbers (blank: NaN) and its kind; an UpliftError names the column when it
    is neither binary (two values such as 0/1, yes/no) nor numeric."""
    filled = text[text != ""]
    levels = set(filled.str.casefold().unique())
    if (
        len(levels) == 2
        and levels <= set(BINARY_WORDS)
        and len({BINARY_WORDS[v] for v in levels}) == 2
    ):
        y = text.str.casefold().map(BINARY_WORDS).astype("float64")
        return y.to_numpy(np.float64), "binary"
    numbers = pd.to_numeric(text.where(text != ""), errors="coerce")
    bad = (text != "") & numbers.isna()
    if filled.empty or bad.any():
        got = repr(text[bad].iloc[0]) if bad.any() else "no values"
        raise UpliftError(
            f"outcome column {col!r} is neither binary (two values such as 0/1 or yes/no) nor "
            f"numeric (got {got})"
        )
    if len(levels) < 2:
        raise UpliftError(f"outcome column {col!r} holds one value only: nothing to learn")
    return numbers.to_numpy(np.float64), "numeric"


def _control(values: list[str], col: str, control: str | None) -> str:
    if control is not None:
        if control.strip() not in values:
            raise UpliftError(
                f"--control {control!r} is not a value of treatment column {col!r}; its values: "
                + ", ".join(repr(v) for v in values[:10])
            )
        return control.strip()
    guess = [v for v in values if v.casefold() in CONTROL_WORDS or v.casefold().startswith("no ")]
    if len(guess) != 1:
        raise UpliftError(
            f"cannot tell the control group of treatment column {col!r} ("
            + ", ".join(repr(v) for v in values[:10])
            + "); give --control VALUE"
        )
    return guess[0]


def read_campaign(
    raw: pd.DataFrame,
    *,
    name: str,
    source: str,
    treatment: str,
    outcome: str,
    control: str | None = None,
    arm: str | None = None,
    id_column: str | None = None,
    value: str | None = None,
    drop: tuple[str, ...] = (),
) -> Campaign:
    """Type and check a campaign file read as text (see the module docstring)."""
    needed = (treatment, outcome, *drop, *(c for c in (id_column, value) if c))
    require_columns(raw, tuple(dict.fromkeys(needed)), source, "campaign")
    if treatment == outcome:
        raise UpliftError(f"--treatment and --outcome both name column {treatment!r}")
    if SOURCE_ROW not in raw.columns:
        raw = raw.assign(**{SOURCE_ROW: np.arange(len(raw)) + 2})
    arms_text, y_text = _values(raw, treatment), _values(raw, outcome)
    notes: list[str] = []
    blank = (arms_text == "") | (y_text == "")
    if blank.any():
        notes.append(note_text(note("uplift_blank_rows", n=int(blank.sum()))))
    counts = arms_text[~blank].value_counts()
    values = [str(v) for v in counts.index]
    if len(values) < 2:
        raise UpliftError(
            f"treatment column {treatment!r} holds one value only ({values[0]!r}): no control "
            "group to compare with"
            if values
            else f"treatment column {treatment!r} is empty"
        )
    ctrl = _control(values, treatment, control)
    treated_arms = [v for v in values if v != ctrl]
    if arm is not None:
        if arm.strip() not in treated_arms:
            raise UpliftError(
                f"--arm {arm!r} is not a treated value of treatment column {treatment!r}; "
                "its arms: " + ", ".join(repr(v) for v in treated_arms[:10])
            )
        treated_arms = [arm.strip()]
    for v in (ctrl, *treated_arms):
        if int(counts[v]) < MIN_ARM_ROWS:
            raise UpliftError(
                f"treatment column {treatment!r}: arm {v!r} has {int(counts[v]):,} rows; need at "
                f"least {MIN_ARM_ROWS} in each arm"
            )
    keep = ~blank & arms_text.isin([ctrl, *treated_arms])
    if (~blank & ~keep).any():
        notes.append(note_text(note("uplift_other_arms", n=int((~blank & ~keep).sum()))))
    raw, arms_text, y_text = raw[keep], arms_text[keep], y_text[keep]
    y, kind = outcome_values(y_text, outcome)
    typed_input = raw.drop(columns=list(dict.fromkeys((treatment, outcome, *drop))))
    typed_input[_FLAG] = np.where(arms_text == ctrl, "0", "1")
    spec, columns = infer_spec(
        typed_input,
        name=name,
        label=_FLAG,
        source=source,
        id_column=id_column,
        positive="1",
        value=value,
    )
    data = read_snapshot(typed_input, spec, source)
    accepted = ~raw[SOURCE_ROW].isin(data.rejects[SOURCE_ROW]).to_numpy()
    if len(data.rejects):
        notes.append(note_text(note("uplift_rejected", n=len(data.rejects))))
    frame = data.frame.drop(columns=[LABEL]).assign(
        **{TREATED: data.frame[LABEL].astype(int).to_numpy(), OUTCOME: y[accepted]}
    )
    info = [c for c in columns if c.column != _FLAG]
    described = {
        treatment: f"treatment: control {ctrl!r}, treated " + ", ".join(map(repr, treated_arms)),
        outcome: f"outcome ({kind})",
    }
    extra = [
        ColumnInfo(c, "ignored", "text", int(_values(raw, c).nunique()), 0, note)
        for c, note in described.items()
    ]
    extra += [
        ColumnInfo(c, "dropped", "text", int(_values(raw, c).nunique()), 0, "--drop") for c in drop
    ]
    cats = {f: tuple(str(v) for v in frame[f].cat.categories) for f in data.categorical}
    return Campaign(
        name=name,
        frame=frame,
        features=data.features,
        categories=cats,
        outcome_kind=kind,
        spec=spec,
        columns=[*extra, *info],
        treatment={"column": treatment, "control": ctrl, "arms": treated_arms},
        notes=tuple(raw.attrs.get("notes", ())) + tuple(notes) + data.notes,
        value=VALUE if value else None,
    )


def read_campaign_file(path: str | Path, **kwargs: object) -> Campaign:
    """:func:`read_campaign` on a file of any format the snapshot reader reads."""
    from features.adapters.sources import read_file
    from training.snapshot.job import check_name, default_name

    p = Path(path)
    if p.is_dir():
        raise UpliftError(f"{p.name}: is a folder; give the campaign file")
    raw = read_file(p)
    name = kwargs.pop("name", None)
    data_set = check_name(str(name)) if name else default_name(p)
    return read_campaign(raw, name=data_set, source=p.name, **kwargs)  # type: ignore[arg-type]


def leak_warnings(campaign: Campaign) -> list[str]:
    """A sentence per feature that alone predicts the outcome almost perfectly (measured after
    the campaign, most likely: leave it out with ``--drop``)."""
    frame, y = campaign.frame, campaign.frame[OUTCOME].to_numpy(np.float64)
    out: list[str] = []
    for f in campaign.features:
        s = frame[f]
        if f in campaign.categories:
            key = s.astype("object").where(s.notna(), "<blank>")
        else:
            ranks = s.rank(method="dense")
            key = pd.qcut(ranks, 20, duplicates="drop").astype("object").where(s.notna(), "<blank>")
        score = pd.Series(y).groupby(key.to_numpy()).transform("mean").to_numpy(np.float64)
        if campaign.outcome_kind == "binary":
            strength, what = _auc(y, score), "AUC"
            hit = strength >= LEAK_AUC
        else:
            strength = 1 - float(np.var(y - score)) / max(float(np.var(y)), 1e-12)
            what, hit = "R²", strength >= LEAK_R2
        if hit:
            col = {v: k for k, v in campaign.spec.feature_names().items()}.get(f, f)
            said = note("uplift_leak", column=repr(col), what=what, strength=strength)
            out.append(note_text(said))
    return out


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    pos, neg = y == 1, y == 0
    if not pos.any() or not neg.any():
        return float("nan")
    ranks = pd.Series(score).rank().to_numpy()
    auc = (ranks[pos].sum() - pos.sum() * (pos.sum() + 1) / 2) / (pos.sum() * neg.sum())
    return float(max(auc, 1 - auc))
