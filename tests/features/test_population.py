"""Who is in the population at a cutoff: signed up before T, not cancelled before T, and active
(a contract on file, a purchase in the active window, or a recent signup)."""

from __future__ import annotations

import pytest

from features.config import FeatureConfig, LabelConfig, PopulationConfig
from features.pipeline.build import build_features
from features.pipeline.cutoffs import FeatureError


def members(frame) -> set[str]:
    return set(frame["customer_id"])


def test_population_at_cutoff(ds, cfg, cutoff):
    assert members(build_features(ds, cutoff, cfg)) == {"A", "B", "E", "G", "H"}


def test_churned_or_cancelled_before_cutoff_are_out(ds, cfg, cutoff):
    got = members(build_features(ds, cutoff, cfg))
    assert "C" not in got  # last purchase more than 365 days before T
    assert "D" not in got  # cancelled before T
    assert "F" not in got  # signed up exactly at T: not yet a customer
    assert "H" in got  # cancelled exactly at T: still a customer at T


def test_active_window_is_configuration(ds, cutoff):
    cfg = FeatureConfig(population=PopulationConfig(active_window_days=200))
    got = members(build_features(ds, cutoff, cfg))
    assert "B" not in got  # last purchase 213 days before T
    assert "G" in got  # signed up 17 days before T


def test_forced_non_contractual_applies_activity_rule_to_everyone(ds, cutoff):
    cfg = FeatureConfig(labels=LabelConfig(churn_definition="non_contractual"))
    assert members(build_features(ds, cutoff, cfg)) == {"A", "B", "G"}


def test_auto_without_contract_columns_is_non_contractual(make_ds, cfg, cutoff):
    ds = make_ds(drop={"customers": ["contract_end_date", "cancelled_at"]})
    frame = build_features(ds, cutoff, cfg)
    # D's cancellation is unknown now and it bought 152 days before T; E and H have no purchase
    assert members(frame) == {"A", "B", "D", "G"}
    assert frame.attrs["label_definition"]["churn_definition"] == "non_contractual"
    assert any("every customer is non-contractual" in n for n in frame.attrs["notes"])


def test_forced_contractual_needs_cancellations(make_ds, cutoff):
    ds = make_ds(drop={"customers": ["cancelled_at"]})
    cfg = FeatureConfig(labels=LabelConfig(churn_definition="contractual"))
    with pytest.raises(FeatureError, match="cancelled_at"):
        build_features(ds, cutoff, cfg)


def test_earlier_cutoff_has_earlier_population(ds, cfg):
    # At 2024-02-01 D (cancelled that day) is still in, G has not signed up yet.
    got = members(build_features(ds, "2024-02-01", cfg))
    assert "D" in got and "G" not in got
