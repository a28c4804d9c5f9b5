"""Transaction-log protocol: point-in-time churn and next-horizon value at one test cutoff.

The product's normal path (features.pipeline.build at monthly cutoffs, training.fit's time split, models and
baselines) plus the published "buy till you die" baselines fitted on the same history before the
test cutoff: BG/NBD's probability of being alive and of no purchase in the horizon, and BG/NBD +
Gamma-Gamma expected value. The test cutoff's own 5-fold CV gives an in-time reference of what the
features can reach when the model sees labels from the very period it is scored on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from features.config import FeatureConfig
from features.dataset import Dataset
from features.pipeline.btyd import (
    WEEK_DAYS,
    BgNbd,
    GammaGamma,
    expected_purchases,
    expected_spend,
    fit_bgnbd,
    fit_gamma_gamma,
    p_alive,
    p_no_purchase,
    rf_summary,
)
from features.pipeline.build import build_training_set
from training.config import TrainingConfig
from training.evaluation.compare import MODEL
from training.evaluation.metrics import churn_metrics, value_metrics
from training.fit import fit_models
from training.snapshot.models import fit_churn_bundle, group_folds
from training.spec import CHURN_LABEL, VALUE_LABEL, feature_spec
from training.split import CutoffPlan, SplitError, plan_cutoffs

BGNBD_ALIVE = "bgnbd_p_alive"
BGNBD_SILENT = "bgnbd_p_no_purchase"
BTYD_VALUE = "bgnbd_gamma_gamma"


@dataclass(frozen=True)
class LogBenchResult:
    """Test-cutoff metrics of the models and every baseline, and the fitted BTYD parameters."""

    plan: CutoffPlan
    rows: int
    churn_rate: float
    churn: dict[str, dict[str, float]]
    value: dict[str, dict[str, float]]
    bgnbd: BgNbd
    gamma_gamma: GammaGamma
    in_time_cv_roc_auc: float
    label_definition: dict


def candidate_cutoffs(ds: Dataset, test_cutoff: pd.Timestamp, horizon_days: int) -> list:
    """Month ends after the first signup up to the test cutoff whose horizon is in the data."""
    first = ds.tables["customers"]["signup_date"].min()
    ends = pd.date_range(first, test_cutoff, freq="ME")
    h = pd.Timedelta(days=horizon_days)
    cands = [c for c in ends if c + h <= ds.as_of]
    test = pd.Timestamp(test_cutoff)
    if test not in cands and test + h <= ds.as_of:
        cands.append(test)
    if not cands or max(cands) != test:
        raise SplitError(
            f"test cutoff {test.date()} needs its {horizon_days}-day horizon inside the data "
            f"(as-of {ds.as_of.date()})"
        )
    return cands


def btyd_scores(
    ds: Dataset, customer_ids: pd.Series, cutoff: pd.Timestamp, horizon_days: int
) -> tuple[pd.DataFrame, BgNbd, GammaGamma]:
    """BG/NBD and Gamma-Gamma fitted on purchases before ``cutoff``, scored for the given ids.

    A customer with no purchase before the cutoff gets the population's prior (x = 0, T = 0).
    """
    summary = rf_summary(ds.tables["transactions"], cutoff)
    bg = fit_bgnbd(summary["frequency"], summary["recency"], summary["T"])
    gg = fit_gamma_gamma(summary["frequency"], summary["monetary"])
    rows = summary.reindex(pd.Index(customer_ids.astype("str"))).fillna(0.0)
    x, tx, t = (rows[c].to_numpy(np.float64) for c in ("frequency", "recency", "T"))
    weeks = horizon_days / WEEK_DAYS
    purchases = expected_purchases(bg, weeks, x, tx, t)
    out = pd.DataFrame(
        {
            BGNBD_ALIVE: p_alive(bg, x, tx, t),
            BGNBD_SILENT: p_no_purchase(bg, weeks, x, tx, t),
            "expected_purchases": purchases,
            "expected_value": purchases * expected_spend(gg, x, rows["monetary"].to_numpy()),
        },
        index=rows.index,
    )
    return out, bg, gg


def in_time_cv_auc(test: pd.DataFrame, cfg: TrainingConfig, folds: int = 5) -> float:
    """Mean ROC-AUC of the churn model cross-validated within the test cutoff (a reference)."""
    frame = test.reset_index(drop=True)
    spec = feature_spec(frame)
    y = frame[CHURN_LABEL].to_numpy(np.float64)
    rows = np.arange(len(y))
    scores = []
    for k, (train, hold) in enumerate(group_folds(y, rows, folds, cfg.seed)):
        fit, valid = group_folds(y[train], rows[train], folds, cfg.seed + k)[0]
        bundle = fit_churn_bundle(frame, spec, train[fit], train[valid], cfg)
        scores.append(roc_auc_score(y[hold], bundle.raw_predict(frame.iloc[hold])))
    return float(np.mean(scores))


def evaluate_transaction_log(
    ds: Dataset, test_cutoff: pd.Timestamp, features: FeatureConfig, cfg: TrainingConfig
) -> LogBenchResult:
    """Train on earlier monthly cutoffs, test at ``test_cutoff``; add the BTYD baselines."""
    horizon = features.labels.horizon_days
    plan = plan_cutoffs(
        candidate_cutoffs(ds, test_cutoff, horizon), horizon, cfg.split.train_cutoffs
    )
    frame = build_training_set(ds, list(plan.all), features)
    trained = fit_models(frame, plan, features, cfg)
    ev = trained.evaluation
    test = trained.split.test
    churn, value = dict(ev.churn), dict(ev.value)
    ids = ev.churn_test["customer_id"]
    scores, bg, gg = btyd_scores(ds, ids, plan.test, horizon)
    y = ev.churn_test[CHURN_LABEL].to_numpy(np.float64)
    lost = ev.churn_test["lost_value"].to_numpy(np.float64)
    metric_args: dict[str, Any] = {
        "top_k_shares": cfg.top_k_shares,
        "economics": cfg.campaign,
        "bins": cfg.calibration_bins,
    }
    churn[BGNBD_ALIVE] = churn_metrics(1.0 - scores[BGNBD_ALIVE].to_numpy(), y, lost, **metric_args)
    churn[BGNBD_SILENT] = churn_metrics(scores[BGNBD_SILENT].to_numpy(), y, lost, **metric_args)
    v_scores = scores.reindex(pd.Index(ev.value_test["customer_id"].astype("str")))
    actual = ev.value_test[VALUE_LABEL].to_numpy(np.float64)
    value[BTYD_VALUE] = value_metrics(
        actual, v_scores["expected_value"].to_numpy(), cfg.calibration_bins
    )
    labelled = test[test[CHURN_LABEL].notna()]
    return LogBenchResult(
        plan=plan,
        rows=len(labelled),
        churn_rate=float(y.mean()),
        churn={MODEL: churn.pop(MODEL), **churn},
        value={MODEL: value.pop(MODEL), **value},
        bgnbd=bg,
        gamma_gamma=gg,
        in_time_cv_roc_auc=in_time_cv_auc(labelled, cfg),
        label_definition=frame.attrs.get("label_definition", {}),
    )
