"""Point-in-time feature tables: one row per customer active at a cutoff T, with labels.

Features read events before T only; labels read ``[T, T + H)`` (see ``docs/features.md``).
:func:`build_features` answers one cutoff; :func:`build_training_set` stacks several cutoffs
(rolling origin) and prepares the data once for all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.notes import note, note_text
from features.config import FeatureConfig
from features.dataset import Dataset
from features.engines.dispatch import Engine, make_engine
from features.pipeline.aggregate import WindowAgg
from features.pipeline.complaints import complaint_columns, complaint_features, complaint_specs
from features.pipeline.cutoffs import (
    FeatureError,
    is_labelled,
    monthly_cutoffs,
    parse_cutoff,
    timestamp_days,
)
from features.pipeline.interactions import (
    interaction_columns,
    interaction_features,
    interaction_specs,
)
from features.pipeline.labels import (
    LABEL_COLUMNS,
    ChurnBasis,
    churn_basis,
    compute_labels,
    label_definition,
    label_specs,
)
from features.pipeline.lifecycle import LIFECYCLE_COLUMNS
from features.pipeline.population import CustomerArrays, active_mask, prepare_customers
from features.pipeline.profile import (
    CATEGORICAL_FEATURES,
    KEY_COLUMNS,
    profile_dtypes,
    profile_frame,
)
from features.pipeline.renewal import ContractTerms, prepare_terms, renewal_features
from features.pipeline.rfm import LAST_PURCHASE, rfm_features, rfm_scores, rfm_specs
from features.pipeline.rhythm import bgnbd_features, rhythm_features, rhythm_specs

__all__ = [
    "CATEGORICAL_FEATURES",
    "build_features",
    "build_training_set",
    "feature_columns",
    "monthly_cutoffs",
    "plan_features",
]

TRANSACTION_COLUMNS = {"t", "amount", "purchase_t", "gap", "gap_sq"}


@dataclass(frozen=True)
class FeaturePlan:
    """Everything about a data set that does not depend on the cutoff, prepared once."""

    ds: Dataset
    cfg: FeatureConfig
    customers: CustomerArrays
    basis: ChurnBasis
    dtypes: dict[str, pd.CategoricalDtype]
    specs: dict[str, list[WindowAgg]]
    engine: Engine
    notes: tuple[str, ...]
    terms: ContractTerms | None = None


def plan_features(ds: Dataset, cfg: FeatureConfig) -> FeaturePlan:
    """Resolve the churn rule, the available features and the engine's prepared events."""
    customers = prepare_customers(ds)
    basis = churn_basis(customers, cfg.labels)
    dtypes, notes = profile_dtypes(ds)
    tx_kind = {"kind"} if ds.has("transactions", "kind") else set()
    available = {"transactions": TRANSACTION_COLUMNS | tx_kind}
    specs = {"transactions": rfm_specs(cfg) + rhythm_specs()}
    for table, columns, make_specs in (
        ("interactions", interaction_columns, interaction_specs),
        ("complaints", complaint_columns, complaint_specs),
    ):
        cols, table_notes = columns(ds)
        notes += table_notes
        if cols is not None:
            available[table] = cols
            specs[table] = make_specs(cols, cfg)
    engine = make_engine(ds, customers, available, cfg)
    every_note = (*basis.notes, *notes)
    terms = prepare_terms(ds)
    return FeaturePlan(ds, cfg, customers, basis, dtypes, specs, engine, every_note, terms)


def _take(arrays: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[rows] for k, v in arrays.items()}


def features_at(plan: FeaturePlan, cutoff: pd.Timestamp | str, labels: bool = True) -> pd.DataFrame:
    """The feature table of one cutoff from a prepared plan (see :func:`build_features`)."""
    cfg, ds = plan.cfg, plan.ds
    cut = parse_cutoff(cutoff, ds)
    day = timestamp_days(cut)
    horizon = cfg.labels.horizon_days
    tx_specs = plan.specs["transactions"] + (label_specs(horizon) if labels else [])
    tx = plan.engine.aggregate("transactions", tx_specs, day)
    active = active_mask(
        plan.customers, plan.basis.exempt_from_activity, tx[LAST_PURCHASE], day, cfg.population
    )
    rows = np.flatnonzero(active)
    tx_rows = _take(tx, rows)
    numeric = rfm_features(tx_rows, day, plan.customers.signup[rows], cfg)
    numeric.update(rfm_scores(numeric, cfg))
    numeric.update(rhythm_features(tx_rows, day, cfg))
    if cfg.bgnbd.enabled:
        numeric.update(_take(bgnbd_features(tx, day, cfg), rows))
    for table, derive in (
        ("interactions", interaction_features),
        ("complaints", complaint_features),
    ):
        if table in plan.specs:
            aggs = plan.engine.aggregate(table, plan.specs[table], day)
            numeric.update(derive(_take(aggs, rows), day, cfg))
    numeric.update(renewal_features(plan.terms, rows, day))

    frame = profile_frame(ds, rows, plan.dtypes)
    frame.insert(1, "cutoff", np.full(len(frame), cut.to_datetime64(), dtype="datetime64[ns]"))
    values = pd.DataFrame({k: v.astype(np.float64) for k, v in numeric.items()}, index=frame.index)
    frame = pd.concat([frame, values], axis=1)
    notes = list(plan.notes)
    if labels:
        labelled = is_labelled(cut, horizon, ds.as_of)
        if not labelled:
            said = note("cutoff_unlabelled", cutoff=cut.date(), h=horizon, as_of=ds.as_of.date())
            notes.append(note_text(said))
        found = compute_labels(plan.customers, plan.basis, tx, day, horizon, labelled)
        for name in LABEL_COLUMNS:
            frame[name] = found[name][rows]
    frame.attrs = {
        "label_definition": label_definition(plan.basis, cfg.labels),
        "notes": notes,
        "feature_names": [c for c in CATEGORICAL_FEATURES if c in plan.dtypes] + list(numeric),
    }
    return frame


def build_features(
    ds: Dataset, cutoff: pd.Timestamp | str, cfg: FeatureConfig, *, labels: bool = True
) -> pd.DataFrame:
    """One row per customer active at ``cutoff``: keys, profile categoricals, float64 features and
    (``labels=True``) ``churned`` and ``future_value``; ``attrs`` hold the label definition,
    notes on removed features and the feature names."""
    return features_at(plan_features(ds, cfg), cutoff, labels=labels)


def build_training_set(
    ds: Dataset,
    cutoffs: Sequence[pd.Timestamp],
    cfg: FeatureConfig,
    progress: bool = False,
    on_cutoff: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Labelled rows of several cutoffs stacked (rolling origin), keyed by (customer_id, cutoff).

    The data set is prepared once; categoricals share their categories across cutoffs.
    ``on_cutoff(done, total)`` is called after each cutoff (for a status line).
    """
    if len(cutoffs) == 0:
        raise FeatureError("no cutoffs given for the training set")
    plan = plan_features(ds, cfg)
    ordered = sorted({parse_cutoff(c, ds) for c in cutoffs})
    steps: Iterable[pd.Timestamp] = ordered
    if progress:
        from rich.progress import track

        steps = track(ordered, description="Building features per cutoff")
    frames = []
    for c in steps:
        frames.append(features_at(plan, c, labels=True))
        if on_cutoff is not None:
            on_cutoff(len(frames), len(ordered))
    notes = list(dict.fromkeys(n for f in frames for n in f.attrs["notes"]))
    attrs = {**frames[0].attrs, "notes": notes}
    out = pd.concat(frames, ignore_index=True)
    out.attrs = attrs
    return out


def feature_columns(frame: pd.DataFrame) -> list[str]:
    """The model inputs of a feature table: every column but keys, labels and the lifecycle
    columns a list or an evaluation adds, in frame order."""
    skip = set(KEY_COLUMNS) | set(LABEL_COLUMNS) | set(LIFECYCLE_COLUMNS)
    return [c for c in frame.columns if c not in skip]
