"""Realized performance: past scorings whose horizon has ended, joined with what happened.

The store's scorings (``scoring_runs`` and ``predictions``, and the API's prediction log
``api_predictions``; read-only here) are joined on the customer id with the churn labels that the
data set gives at each scoring date, computed with the data cut at the monitoring date, so no
outcome after it is used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.pipeline.build import FeaturePlan, features_at, plan_features
from monitoring import cbpe
from scoring.store.history import api_log_until, churn_probabilities, run_horizons
from scoring.store.predictions import DEFAULT_HORIZON_DAYS, PredictionStore

BATCH = "batch"
API = "api"


@dataclass(frozen=True)
class StoredScoring:
    """One stored scoring: its date, horizon, model version and churn probabilities."""

    asof: pd.Timestamp
    horizon_days: int
    model_version: str
    predictions: pd.DataFrame  # customer_id, account_manager_id, churn_probability
    source: str = BATCH


def stored_runs(store: PredictionStore) -> list[tuple[str, int, str]]:
    """(as-of date, horizon days, churn model version) of every stored batch scoring, oldest first."""
    return [
        (a, h if isinstance(h, int) and h > 0 else DEFAULT_HORIZON_DAYS, v)
        for a, h, v in run_horizons(store)
    ]


def matured_scorings(store: PredictionStore, asof: pd.Timestamp) -> list[StoredScoring]:
    """Every stored batch scoring whose horizon has ended by ``asof`` (T + horizon <= asof)."""
    out = []
    for day, horizon, version in stored_runs(store):
        when = pd.Timestamp(day)
        if when + pd.Timedelta(days=horizon) > asof:
            continue
        frame = churn_probabilities(store, day)
        frame["customer_id"] = frame["customer_id"].astype("str")
        out.append(StoredScoring(when, horizon, version, frame))
    return out


def api_scorings(
    store: PredictionStore, asof: pd.Timestamp, horizon_days: int
) -> list[StoredScoring]:
    """The API's logged predictions whose horizon has ended by ``asof``, one scoring per as-of
    date and churn model version; a customer asked about more than once counts with the last
    answer of that date. Predictions of records without a customer id cannot be joined."""
    last = (pd.Timestamp(asof) - pd.Timedelta(days=horizon_days)).strftime("%Y-%m-%d")
    logged = api_log_until(store, last)
    if logged.empty:
        return []
    logged["customer_id"] = logged["customer_id"].astype("str")
    keys = ["asof", "churn_model_version", "customer_id"]
    logged = logged.drop_duplicates(keys, keep="last")
    columns = ["customer_id", "account_manager_id", "churn_probability"]
    return [
        StoredScoring(
            pd.Timestamp(day),
            horizon_days,
            str(version),
            group[columns].reset_index(drop=True),
            API,
        )
        for (day, version), group in logged.groupby(["asof", "churn_model_version"], sort=True)
    ]


def labels_at(plan: FeaturePlan, cutoff: pd.Timestamp, horizon_days: int) -> pd.Series:
    """Churn label (1/0) per customer id active at ``cutoff`` over ``horizon_days``, from the
    plan's data (cut at the monitoring date by the caller); unlabelled rows are dropped."""
    if plan.cfg.labels.horizon_days != horizon_days:
        labels_cfg = plan.cfg.labels.model_copy(update={"horizon_days": horizon_days})
        plan = plan_features(plan.ds, plan.cfg.model_copy(update={"labels": labels_cfg}))
    frame = features_at(plan, cutoff, labels=True)
    churned = frame.set_index(frame["customer_id"].astype("str"))["churned"]
    return churned.dropna()


def realized_performance(
    scoring: StoredScoring, labels: pd.Series, capacity: int
) -> dict[str, object]:
    """Realized ROC-AUC and friends of one stored scoring, next to what CBPE estimated then."""
    joined = scoring.predictions.join(labels.rename("y"), on="customer_id", how="inner")
    p = joined["churn_probability"].to_numpy(dtype=np.float64)
    y = joined["y"].to_numpy(dtype=np.float64)
    done = cbpe.realized(p, y, capacity)
    then = cbpe.estimate(p, capacity)
    se = cbpe.auc_standard_error(done.roc_auc, int(y.sum()), int(len(y) - y.sum()))
    return {
        "asof": f"{scoring.asof:%Y-%m-%d}",
        "roc_auc": done.as_dict()["roc_auc"],
        "n": done.n,
        "source": scoring.source,
        "estimated_roc_auc": then.as_dict()["roc_auc"],
        "precision_at_capacity": done.as_dict()["precision_at_capacity"],
        "estimated_precision_at_capacity": then.as_dict()["precision_at_capacity"],
        "capacity": done.capacity,
        "ece": done.as_dict()["ece"],
        "expected_ece": then.as_dict()["ece"],
        "roc_auc_se": None if not np.isfinite(se) else round(se, 6),
        "churn_rate": round(float(y.mean()), 6) if len(y) else None,
        "mean_probability": round(float(p.mean()), 6) if len(p) else None,
        "horizon_days": scoring.horizon_days,
        "churn_model_version": scoring.model_version,
        "unlabelled": int(len(scoring.predictions) - len(joined)),
    }
