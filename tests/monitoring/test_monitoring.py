"""The monitoring statistics: CBPE recovers the realized ROC-AUC of calibrated probabilities (and
cannot see a concept shift), and the drift statistics separate a shift from sampling noise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from monitoring import cbpe
from monitoring.drift import JS, PSI, feature_drift, js_distance, psi


@pytest.fixture(scope="module")
def calibrated() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    p = rng.beta(1.2, 6.0, 20_000)
    return p, (rng.random(len(p)) < p).astype(float)


def test_cbpe_estimates_the_realized_performance_of_calibrated_probabilities(calibrated):
    p, y = calibrated
    est, done = cbpe.estimate(p, 1000), cbpe.realized(p, y, 1000)
    assert abs(est.roc_auc - roc_auc_score(y, p)) < 0.01
    assert done.roc_auc == pytest.approx(roc_auc_score(y, p))
    assert abs(est.precision_at_capacity - done.precision_at_capacity) < 0.03
    assert est.capacity == done.capacity == 1000 and est.n == len(p)
    # a calibrated model's realized ECE is sampling noise, which the expected ECE predicts
    assert done.ece < 2.5 * est.ece and est.ece < 0.02


def test_cbpe_is_blind_to_a_concept_shift_that_realized_labels_show(calibrated):
    p, _ = calibrated
    rng = np.random.default_rng(1)
    y = (rng.random(len(p)) < rng.permutation(p)).astype(float)  # risk no longer follows p
    assert cbpe.estimate(p, 500).roc_auc > 0.7
    assert abs(cbpe.realized(p, y, 500).roc_auc - 0.5) < 0.03


def test_estimated_roc_auc_handles_ties_and_extremes():
    assert cbpe.estimated_roc_auc(np.array([1.0, 0.0])) == pytest.approx(1.0)
    assert cbpe.estimated_roc_auc(np.full(50, 0.3)) == pytest.approx(0.5)
    assert np.isnan(cbpe.estimated_roc_auc(np.zeros(10)))  # no expected churner
    # with two distinct values the expected curve has one corner: exact AUC by hand
    p = np.array([0.8, 0.8, 0.2, 0.2])
    tpr, fpr = 1.6 / 2.0, 0.4 / 2.0
    assert cbpe.estimated_roc_auc(p) == pytest.approx(0.5 * fpr * tpr + (1 - fpr) * (1 + tpr) / 2)


def test_drift_statistics_flag_a_shift_and_not_noise():
    rng = np.random.default_rng(2)
    ref = rng.lognormal(5.0, 1.0, 20_000)
    same = rng.lognormal(5.0, 1.0, 5_000)
    dearer = rng.lognormal(5.0 + np.log(1.5), 1.0, 5_000)
    assert js_distance(ref, same, 10) < 0.03
    assert js_distance(ref, dearer, 10) > 0.1
    with_missing = np.where(rng.random(5_000) < 0.3, np.nan, same)
    assert js_distance(ref, with_missing, 10) > 0.1  # missing values count as their own bin
    levels = pd.Series(rng.choice(["a", "b", "c"], 20_000, p=[0.6, 0.3, 0.1]))
    stable = pd.Series(rng.choice(["a", "b", "c"], 5_000, p=[0.6, 0.3, 0.1]))
    moved = pd.Series(rng.choice(["a", "b", "c", "new"], 5_000, p=[0.3, 0.3, 0.1, 0.3]))
    assert psi(levels, stable) < 0.01
    assert psi(levels, moved) > 0.25


def test_feature_drift_picks_the_statistic_by_type():
    ref = pd.DataFrame({"x": np.arange(1000.0), "s": pd.Categorical(["a", "b"] * 500)})
    cur = pd.DataFrame({"x": np.arange(1000.0) + 600, "s": pd.Categorical(["a"] * 1000)})
    got = {d.name: d for d in feature_drift(ref, cur, ["x", "s", "absent"], ["s"], 10, 0.1, 0.1)}
    assert set(got) == {"x", "s"}
    assert got["x"].statistic == JS and got["x"].drifted
    assert got["s"].statistic == PSI and got["s"].drifted
    row = got["x"].as_dict()
    assert set(row) == {"name", "statistic", "value", "threshold", "drifted"}
