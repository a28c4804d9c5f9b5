"""Metrics on the live population (not lapsed at the cutoff) beside everyone's, and churn
probabilities that are never certain."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from core.economics import CampaignEconomics
from training.calibration import fit_calibrator
from training.evaluation.compare import MODEL
from training.evaluation.metrics import churn_metrics
from training.live import STATUS, live_mask, with_lifecycle
from training.spec import feature_spec


def test_live_metrics_are_the_metrics_of_the_live_rows():
    rng = np.random.default_rng(3)
    y = (rng.random(400) < 0.3).astype(float)
    p = np.clip(0.3 + 0.4 * (y - 0.3) + 0.2 * rng.standard_normal(400), 0.01, 0.99)
    live = rng.random(400) < 0.7
    args = {"top_k_shares": (0.1,), "economics": CampaignEconomics()}
    out = churn_metrics(p, y, np.ones(400), live=live, **args)
    assert out["roc_auc_live"] == pytest.approx(roc_auc_score(y[live], p[live]))
    assert out["roc_auc"] == pytest.approx(roc_auc_score(y, p))
    assert out["live_share"] == pytest.approx(live.mean())
    alone = churn_metrics(p[live], y[live], np.ones(live.sum()), **args)
    for name in ("pr_auc", "brier", "ece", "top_decile_lift", "base_rate"):
        assert out[f"{name}_live"] == pytest.approx(alone[name])
    everyone = churn_metrics(p, y, np.ones(400), **args)
    assert everyone["roc_auc_live"] == everyone["roc_auc"] and everyone["live_share"] == 1.0


@pytest.mark.parametrize("method", ["isotonic", "platt", "none"])
def test_probabilities_are_never_certain(method):
    raw = np.r_[np.zeros(50), np.linspace(0, 1, 300), np.ones(50)]
    y = np.r_[np.zeros(60), (np.linspace(0, 1, 280) > 0.5).astype(float), np.ones(60)]
    out = fit_calibrator(raw, y, method, 0.001).apply(np.r_[raw, -1.0, 2.0])
    assert out.min() >= 0.001 and out.max() <= 0.999
    assert np.all(np.diff(out[np.argsort(np.r_[raw, -1.0, 2.0], kind="stable")]) >= 0)


def test_lifecycle_status_marks_the_test_cutoff_and_is_never_a_feature(prepared, trained):
    frame = with_lifecycle(
        prepared.frame, prepared.ds, prepared.plan.test, prepared.features, prepared.cfg.live
    )
    at_test = pd.to_datetime(frame["cutoff"]) == prepared.plan.test
    assert frame.loc[at_test, STATUS].isin(["active", "lapsing", "lapsed"]).all()
    assert frame.loc[~at_test, STATUS].isna().all()
    assert 0 < (frame.loc[at_test, STATUS] == "lapsed").mean() < 0.5
    assert STATUS not in feature_spec(frame).names
    assert live_mask(frame[~at_test]).all()
    assert live_mask(frame).sum() == len(frame) - (frame[STATUS] == "lapsed").sum()
    metrics = trained.evaluation.churn[MODEL]
    assert metrics["roc_auc_live"] == metrics["roc_auc"]  # no status recorded: live is everyone
    probabilities = trained.evaluation.churn_test["p_churn"]
    assert probabilities.between(0.001, 0.999).all()
