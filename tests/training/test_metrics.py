"""Metrics and calibrators on inputs whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from core.economics import CampaignEconomics
from training.calibration import fit_calibrator, fit_isotonic
from training.evaluation.metrics import (
    best_campaign,
    churn_metrics,
    expected_calibration_error,
    normalised_gini,
    top_sum,
    value_metrics,
)


def test_top_sum_counts_a_tied_boundary_group_pro_rata():
    score = np.array([3.0, 2.0, 2.0, 2.0, 1.0])
    weight = np.array([1.0, 1.0, 0.0, 0.0, 1.0])
    assert top_sum(score, weight, 1) == 1.0
    assert top_sum(score, weight, 2) == pytest.approx(1 + 1 / 3)
    assert top_sum(score, weight, 4) == pytest.approx(2.0)
    assert top_sum(score, weight, 5) == 3.0


def test_constant_score_has_lift_one_whatever_the_row_order():
    y = np.array([1.0] * 10 + [0.0] * 90)
    m = churn_metrics(
        np.full(100, 0.1),
        y,
        np.ones(100),
        top_k_shares=(0.1,),
        economics=CampaignEconomics(cost_per_contact=1, success_rate=0.5),
    )
    assert m["top_decile_lift"] == pytest.approx(1.0)
    assert m["precision_at_10pct"] == pytest.approx(0.1)
    assert m["ece"] == pytest.approx(0.0)


def test_perfect_ranking_metrics():
    y = np.array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1], dtype=float)
    p = np.linspace(0.01, 0.99, 10)
    m = churn_metrics(
        p,
        y,
        np.full(10, 100.0),
        top_k_shares=(0.2,),
        economics=CampaignEconomics(cost_per_contact=10, success_rate=0.5),
    )
    assert m["roc_auc"] == 1.0 and m["pr_auc"] == 1.0
    assert m["precision_at_20pct"] == 1.0 and m["recall_at_20pct"] == 1.0
    assert m["top_decile_lift"] == pytest.approx(5.0)
    assert m["campaign_profit"] == pytest.approx(2 * (0.5 * 100 - 10))
    assert m["campaign_contact_share"] == pytest.approx(0.2)
    assert m["lost_value_captured_top_decile"] == pytest.approx(0.5)


def test_campaign_contacts_nobody_when_contacts_cost_more_than_they_save():
    profit, share = best_campaign(
        np.array([0.9, 0.5]),
        np.array([10.0, 0.0]),
        CampaignEconomics(cost_per_contact=100.0, success_rate=0.5),
    )
    assert (profit, share) == (0.0, 0.0)


def test_ece_detects_overconfidence():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 20000)
    y = (rng.uniform(0, 1, 20000) < p).astype(float)
    assert expected_calibration_error(p, y) < 0.02
    assert expected_calibration_error(np.clip(p * 1.5, 0, 1), y) > 0.1


def test_value_metrics_perfect_and_carry_forward_like():
    actual = np.array([0.0, 0.0, 10.0, 50.0, 1000.0])
    perfect = value_metrics(actual, actual, bins=5)
    assert perfect["mae"] == 0 and perfect["spearman"] == pytest.approx(1.0)
    assert perfect["gini"] == pytest.approx(1.0)
    assert perfect["top_decile_value_capture"] == pytest.approx(0.5 * 1000 / 1060)
    assert normalised_gini(actual, actual[::-1]) < 0


def test_isotonic_calibrator_keeps_ranking_and_fixes_bias():
    rng = np.random.default_rng(1)
    raw = rng.uniform(0.0, 1.0, 5000)
    y = (rng.uniform(0, 1, 5000) < raw**2).astype(float)  # raw overstates the risk
    cal = fit_isotonic(raw, y)
    p = cal.apply(raw)
    assert np.all(np.diff(cal.x) > 0) and np.all(np.diff(cal.y) >= 0)
    assert roc_auc_score(y, p) == pytest.approx(roc_auc_score(y, raw), abs=1e-3)
    assert expected_calibration_error(p, y) < expected_calibration_error(raw, y) / 3


def test_platt_calibrator_is_monotone():
    rng = np.random.default_rng(2)
    raw = rng.uniform(0.01, 0.99, 3000)
    y = (rng.uniform(0, 1, 3000) < raw).astype(float)
    cal = fit_calibrator(raw, y, "platt")
    assert np.all(np.diff(cal.apply(np.linspace(0, 1, 50))) >= 0)
