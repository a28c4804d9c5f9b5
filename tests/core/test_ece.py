"""The one ECE: training and monitoring report the same calibration error for the same scores."""

from __future__ import annotations

import numpy as np
import pytest

from core.economics import CampaignEconomics
from core.metrics import calibration_bins, calibration_table, expected_calibration_error
from monitoring.cbpe import realized
from training.evaluation.metrics import churn_metrics


def test_ece_by_hand() -> None:
    # bins {0.1, 0.2} and {0.3, 0.4}: |0.15 - 0| and |0.35 - 1|, each over half the rows
    p, y = np.array([0.1, 0.2, 0.3, 0.4]), np.array([0, 0, 1, 1])
    assert expected_calibration_error(p, y, bins=2) == pytest.approx(0.4)
    table = calibration_table(p, y, bins=2)
    assert table["n"].tolist() == [2, 2]
    assert table["observed"].tolist() == [0.0, 1.0]


def test_tied_predictions_share_a_bin_whatever_the_order() -> None:
    assert calibration_bins(np.array([0.2, 0.2, 0.2, 0.9]), bins=2).tolist() == [0, 0, 0, 1]
    assert calibration_bins(np.array([0.9, 0.2, 0.2, 0.2]), bins=2).tolist() == [1, 0, 0, 0]


def test_no_predictions_is_nan() -> None:
    assert np.isnan(expected_calibration_error(np.array([]), np.array([])))


def test_training_and_monitoring_report_the_same_ece() -> None:
    rng = np.random.default_rng(7)
    p = rng.beta(2, 8, 2_000).round(3)  # rounded: many ties
    y = (rng.random(2_000) < p * 1.2).astype(float)
    ece = expected_calibration_error(p, y)
    trained = churn_metrics(
        p, y, np.ones_like(p), top_k_shares=(0.1,), economics=CampaignEconomics()
    )
    assert trained["ece"] == ece
    assert realized(p, y, capacity=100).ece == ece
    assert ece > 0.01
