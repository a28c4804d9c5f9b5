"""RFM features of the hand-made fixture, computed by hand (see conftest for the dates)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from features.config import FeatureConfig, RfmWeights
from features.pipeline.build import build_features
from features.pipeline.rfm import quintile_score


@pytest.fixture
def frame(ds, cfg, cutoff):
    return build_features(ds, cutoff, cfg)


def test_window_counts_and_revenue_with_boundary_days(frame, row):
    a = row(frame, "A")
    # 2024-03-02 is exactly T-30 (in), 2024-01-02 exactly T-90 (in), 2024-04-01 is T (out)
    assert (a.txn_count_30d, a.txn_count_90d, a.txn_count_180d, a.txn_count_365d) == (1, 2, 2, 3)
    assert (a.revenue_30d, a.revenue_90d, a.revenue_180d, a.revenue_365d) == (30, 80, 80, 180)
    assert (a.txn_count_total, a.revenue_total, a.avg_order_value) == (3, 180, 60)


def test_recency_tenure_and_rhythm(frame, row):
    a = row(frame, "A")
    assert a.recency_days == 30
    assert a.tenure_days == 456  # 2023-01-01 .. 2024-04-01
    # gaps 2023-06-01 -> 2024-01-02 = 215 days, -> 2024-03-02 = 60 days
    assert a.gap_mean_days == pytest.approx(137.5)
    assert a.gap_std_days == pytest.approx(77.5)
    assert a.overdue_ratio == pytest.approx(30 / 137.5)


def test_trend_ratios_compare_rates_per_day(frame, row):
    a = row(frame, "A")
    # last 30 days: 1 purchase (30); the 90 days before: 1 purchase (50)
    assert a.txn_trend_30_90d == pytest.approx((1 / 30) / (1 / 90))
    assert a.revenue_trend_30_90d == pytest.approx((30 / 30) / (50 / 90))
    assert math.isnan(row(frame, "B").txn_trend_30_90d)  # nothing in the base period


def test_no_purchase_gives_missing_recency_and_zero_counts(frame, row):
    g = row(frame, "G")
    assert math.isnan(g.recency_days) and math.isnan(g.gap_mean_days)
    assert g.txn_count_365d == 0 and g.revenue_total == 0
    assert math.isnan(g.avg_order_value)


def test_quintile_scores_rank_the_population(frame, row):
    scores = {c: (row(frame, c).r_score, row(frame, c).f_score) for c in "ABEGH"}
    # recency: A 30 < B 213 < E 701 < G, H none (lowest)
    assert scores == {"A": (5, 5), "B": (4, 4), "E": (3, 1), "G": (1, 1), "H": (1, 1)}
    a = row(frame, "A")
    assert a.rfm_score == pytest.approx(0.4 * 5 + 0.3 * 5 + 0.3 * 5)


def test_rfm_weights_come_from_configuration(ds, cutoff, row):
    cfg = FeatureConfig(rfm_weights=RfmWeights(recency=1, frequency=0, monetary=0))
    frame = build_features(ds, cutoff, cfg)
    assert (frame["rfm_score"] == frame["r_score"]).all()
    e = row(frame, "E")
    assert e.rfm_score == 3


def test_quintile_score_properties():
    assert quintile_score(np.arange(10.0)).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert quintile_score(np.zeros(7)).tolist() == [1] * 7  # ties share the lowest score
    assert quintile_score(np.array([np.nan, 1.0])).tolist() == [1, 3]
    assert quintile_score(np.zeros(0)).tolist() == []


def test_windows_and_trend_periods_are_configuration(ds, cutoff, row):
    cfg = FeatureConfig(windows_days=(7, 60), trend_recent_days=60, trend_base_days=60)
    frame = build_features(ds, cutoff, cfg)
    assert {"txn_count_7d", "txn_count_60d", "txn_trend_60_60d"} <= set(frame.columns)
    assert "txn_count_30d" not in frame.columns
    a = row(frame, "A")
    assert (a.txn_count_7d, a.txn_count_60d) == (0, 1)
    # F and M use the longest window (60 days): only A and nobody else bought in it
    assert a.f_score == 5 and row(frame, "B").f_score == 1
