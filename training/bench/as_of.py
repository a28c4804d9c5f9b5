"""Purchase logs scored at an as-of date that training never saw past.

What a user does: import the export (adapter or mapping spec), ``churn train`` with defaults on
the data up to the as-of date T (``load_dataset(folder, as_of=T)``: later events are rejected),
then ``churn features --cutoff T`` on the whole data and the registered champions' predictions.
T is the data's last day less the horizon, so the H days after T are all in the data; H is the
configured horizon unless the history up to T is too short for it, then the longest that fits
(what ``churn train --horizon auto`` picks). One rule for every log: no setting per data set.

References, all on the same customers at T: LightGBM with default settings on the product's
features and logistic regression on recency, log frequency and log monetary, both fitted at
T - H (labels from T - H to T, inside what training saw); the recency rule and the RFM score.
Lost value: each churner's revenue in the H days before T; the share of it caught by the first
10% of customers by expected value at risk (P x V, the list's order) against recency x monetary.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.bundle import ModelBundle, encode_features
from core.errors import ChurnError
from core.registry import load_registered_bundle
from features.config import FeatureConfig
from features.dataset import Dataset
from features.loaders import load_dataset
from features.pipeline.build import build_features, build_training_set
from training.bench.holdout import default_lightgbm
from training.bench.paired import auc_differences, capture, capture_difference
from training.config import TrainingConfig
from training.evaluation.baselines import RECENCY, RFM_SCORE, _rule_score, trailing_revenue
from training.fit import Trained, fit_models
from training.job import plan_for, train
from training.live import with_lifecycle
from training.spec import CHURN_LABEL, feature_spec, labelled
from training.split import longest_horizon
from training.value_refs import with_value_references

OURS = "product (registered champion)"
DEFAULT = "LightGBM defaults"
LOGISTIC = "logistic regression (R, log F, log M)"
RECENCY_RULE = "recency"
RFM = "RFM score"
PXV = "P x V (expected value at risk)"
RXM = "recency x monetary"


def as_of_and_horizon(first: pd.Timestamp, end: pd.Timestamp, wanted: int) -> tuple[int, str]:
    """(H, T): the longest horizon up to ``wanted`` for which the history from ``first`` to
    T = ``end`` - H trains, and T as YYYY-MM-DD."""
    for h in range(wanted, 0, -1):
        t = end - pd.Timedelta(days=h)
        if longest_horizon(first, t) >= h:
            return h, f"{t:%Y-%m-%d}"
    raise ChurnError(f"the history from {first:%Y-%m-%d} to {end:%Y-%m-%d} is too short to train")


def rfm_columns(frame: pd.DataFrame, features: FeatureConfig) -> np.ndarray:
    """Recency, log(1 + frequency), log(1 + monetary) over the longest window (the RFM score's)."""
    w = features.windows_days[-1]
    cols = [
        frame[RECENCY].to_numpy(np.float64, na_value=np.nan),
        np.log1p(frame[f"txn_count_{w}d"].to_numpy(np.float64, na_value=np.nan)),
        np.log1p(frame[f"revenue_{w}d"].to_numpy(np.float64, na_value=np.nan)),
    ]
    x = np.column_stack(cols)
    never = np.isnan(x[:, 0])
    x[:, 0] = np.where(never, np.nanmax(x[:, 0], initial=0.0) + 1.0, x[:, 0])
    return np.nan_to_num(x, nan=0.0)


def _logistic(train_x: np.ndarray, y: np.ndarray, test_x: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed))
    return model.fit(train_x, y).predict_proba(test_x)[:, 1]


def with_horizon(features: FeatureConfig, h: int) -> FeatureConfig:
    labels = features.labels.model_copy(update={"horizon_days": h})
    return features.model_copy(update={"labels": labels})


def _trained(
    seen: Dataset, cfg: TrainingConfig, features: FeatureConfig, register: bool
) -> tuple[ModelBundle, ModelBundle, Trained, dict[str, str]]:
    """(churn champion, value champion, the training, the gate's outcomes) of ``churn train``."""
    if not register:
        plan = plan_for(seen, features, cfg)
        frame = with_lifecycle(
            build_training_set(seen, plan.all, features), seen, plan.test, features, cfg.live
        )
        trained = with_value_references(seen, fit_models(frame, plan, features, cfg), cfg)
        return trained.churn, trained.value, trained, {}
    with tempfile.TemporaryDirectory() as store:
        uri = f"sqlite:///{store}/mlflow.db"
        result = train(seen, cfg, features, tracking_uri=uri, progress=False)
        churn, _ = load_registered_bundle(cfg.churn_model_name, "champion", uri)
        value, _ = load_registered_bundle(cfg.value_model_name, "champion", uri)
    gate = {n: str(d.outcome) for n, d in result.decisions.items()}
    return churn, value, result.trained, gate


def run_as_of(
    folder: Path,
    cfg: TrainingConfig,
    features: FeatureConfig,
    resamples: int,
    seed: int,
    as_of: str | None = None,
    register: bool = True,
) -> dict[str, Any]:
    """Train on the data up to T, score at T, compare on the H days after T (module docstring).

    ``as_of``: another T (its horizon after it must be in the data); default the rule above.
    ``register=False`` skips MLflow: the models are the ones ``churn train`` would register
    (what a fresh registry makes champion), without the registry round trip (for tests).
    """
    started = time.perf_counter()
    full = load_dataset(folder)
    first = pd.Timestamp(full.tables["customers"]["signup_date"].min())
    h, t = as_of_and_horizon(first, full.as_of, features.labels.horizon_days)
    if as_of is not None:
        t = as_of
        h = min(features.labels.horizon_days, int((full.as_of - pd.Timestamp(t)).days))
    features = with_horizon(features, h)
    seen = load_dataset(folder, as_of=t, max_bad_row_share=None)  # later events: rejected
    churn, value, trained, gate = _trained(seen, cfg, features, register)
    trained_s = time.perf_counter() - started
    at = labelled(build_features(full, pd.Timestamp(t), features), CHURN_LABEL)
    at = at.reset_index(drop=True)
    before = labelled(
        build_features(seen, pd.Timestamp(t) - pd.Timedelta(days=h), features), CHURN_LABEL
    )
    y, y0 = at[CHURN_LABEL].to_numpy(np.float64), before[CHURN_LABEL].to_numpy(np.float64)
    spec = feature_spec(before)
    default = default_lightgbm(seed).fit(encode_features(before, spec.names, spec.categories), y0)
    p, v = churn.predict(at), value.predict(at)
    scores = {
        OURS: p,
        DEFAULT: np.asarray(
            default.predict_proba(encode_features(at, spec.names, spec.categories))
        )[:, 1],
        LOGISTIC: _logistic(rfm_columns(before, features), y0, rfm_columns(at, features), seed),
        RECENCY_RULE: _rule_score(at, RECENCY, 1.0),
        RFM: _rule_score(at, RFM_SCORE, -1.0),
    }
    auc, diffs = auc_differences(y, scores, OURS, resamples, seed)
    lost = np.where(y == 1, trailing_revenue(at, h), 0.0)
    w = features.windows_days[-1]
    monetary = np.nan_to_num(at[f"revenue_{w}d"].to_numpy(np.float64, na_value=np.nan))
    orders = {PXV: p * v, RXM: scores[RECENCY_RULE] * monetary}
    sel = trained.selection
    return {
        "as_of": t,
        "horizon_days": h,
        "data_end": f"{full.as_of:%Y-%m-%d}",
        "train_plan": trained.plan.describe(),
        "rows": len(y),
        "churn_rate": float(y.mean()),
        "roc_auc": auc,
        "ours_minus": diffs,
        "registered": str(churn.metadata.get("selection", {}).get("candidate", "lightgbm")),
        "gate": gate,
        "selection_table": sel.table().round(4).to_dict(orient="index") if sel else {},
        "selection_sentence": sel.sentence() if sel else "",
        "lost_value": float(lost.sum()),
        "lost_value_capture": {k: float(capture(s, lost)[0]) for k, s in orders.items()},
        "capture_minus": capture_difference(orders[PXV], orders[RXM], lost, resamples, seed),
        "seconds": round(time.perf_counter() - started, 1),
        "train_seconds": round(trained_s, 1),
    }
