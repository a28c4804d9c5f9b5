"""Snapshot tables on a 30% stratified holdout: the model ``churn train-snapshot`` registers
against LightGBM with default settings and logistic regression fitted on the same 70%.

The rows are split once, stratified and with duplicate rows kept together. The 70% is what a user
hands to ``churn train-snapshot``: the job's own fit (:func:`training.snapshot.job.fit_snapshot`,
without MLflow) gives the churn model it registers. All are scored on the 30%, with 95% paired
bootstrap intervals of the differences (:mod:`training.bench.paired`).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import lightgbm as lgb
import numpy as np
from sklearn.model_selection import StratifiedShuffleSplit

from core.bundle import encode_features
from features.adapters.hooks import Rules
from features.adapters.snapshot import LABEL, SnapshotData
from training.bench.paired import auc_differences
from training.config import TrainingConfig
from training.evaluation.baselines import as_sklearn, logistic_pipeline
from training.snapshot.job import SnapshotJobConfig, fit_snapshot
from training.snapshot.models import LR_BOOSTED, churn_shapes, snapshot_spec

OURS = "train-snapshot model"
DEFAULT = "LightGBM defaults"
LOGISTIC = "logistic regression"


def holdout_split(data: SnapshotData, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, holdout) row positions: a stratified share of the duplicate groups held out."""
    y = data.frame[LABEL].to_numpy(np.float64)
    ids, first, inverse = np.unique(data.groups, return_index=True, return_inverse=True)
    split = StratifiedShuffleSplit(n_splits=1, test_size=share, random_state=seed)
    _, held = next(split.split(np.zeros(len(ids)), y[first]))
    out = np.isin(inverse, held)
    rows = np.arange(len(y))
    return rows[~out], rows[out]


def subset(data: SnapshotData, rows: np.ndarray) -> SnapshotData:
    """The snapshot restricted to ``rows`` (a user's file holding only those customers)."""
    return replace(
        data, frame=data.frame.iloc[rows].reset_index(drop=True), groups=data.groups[rows]
    )


def default_lightgbm(seed: int) -> lgb.LGBMClassifier:
    """``LGBMClassifier()`` with default settings (one thread, quiet, seeded)."""
    return lgb.LGBMClassifier(verbosity=-1, random_state=seed, n_jobs=1)


def holdout(
    data: SnapshotData,
    rules: Rules,
    cfg: TrainingConfig,
    share: float,
    seed: int,
    resamples: int,
    job: SnapshotJobConfig | None = None,
) -> dict[str, Any]:
    """Scores of the registered model, LightGBM defaults and logistic regression on the holdout."""
    train, test = holdout_split(data, share, seed)
    t0 = time.perf_counter()
    fitted = fit_snapshot(subset(data, train), rules, cfg, job or SnapshotJobConfig())
    t_ours = time.perf_counter() - t0
    frame, spec = data.frame, snapshot_spec(data)
    y = frame[LABEL].to_numpy(np.float64)
    x = encode_features(frame, spec.names, spec.categories)
    default = default_lightgbm(seed).fit(x.iloc[train], y[train])
    x_lr = as_sklearn(frame, spec)
    lr = logistic_pipeline(spec, cfg.seed).fit(x_lr.iloc[train], y[train])
    model = fitted.registered or fitted.churn
    scores = {
        OURS: model.predict(frame.iloc[test]),
        DEFAULT: np.asarray(default.predict_proba(x.iloc[test]))[:, 1],
        LOGISTIC: lr.predict_proba(x_lr.iloc[test])[:, 1],
    }
    auc, diffs = auc_differences(y[test], scores, OURS, resamples, seed)
    shapes = churn_shapes(cfg, (job or SnapshotJobConfig()).split)
    k = int(model.metadata.get("shape_index", 0))
    shape = shapes[k] if k < len(shapes) else None
    leaves = f", {shape.num_leaves} leaves" if shape is not None else ""
    return {
        "rows": len(y),
        "holdout_rows": len(test),
        "churn_rate": float(y.mean()),
        "roc_auc": auc,
        "ours_minus": diffs,
        "fit_seconds": t_ours,
        "registered": (
            "LightGBM boosted from a logistic regression"
            if model.metadata.get("candidate") == LR_BOOSTED
            else f"LightGBM, tree shape {k + 1} of {len(shapes)}{leaves}"
        ),
    }
