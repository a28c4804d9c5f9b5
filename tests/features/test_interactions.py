"""Interaction features of the hand-made fixture, and what a missing table or column removes."""

from __future__ import annotations

import math

import pytest

from features.pipeline.build import build_features


@pytest.fixture
def frame(ds, cfg, cutoff):
    return build_features(ds, cutoff, cfg)


def test_counts_per_window_channel_and_direction(frame, row):
    a = row(frame, "A")
    # 03-20 call in, 03-25 campaign out, 02-01 call out; 04-01 (= T) and 2023-01-15 excluded
    assert (a.int_count_30d, a.int_count_90d, a.int_count_365d) == (2, 3, 3)
    assert (a.int_call_inbound_30d, a.int_campaign_outbound_30d) == (1, 1)
    assert (a.int_call_outbound_30d, a.int_call_outbound_90d) == (0, 1)
    assert a.int_email_inbound_30d == 0  # the email exactly at T is not a feature input
    assert row(frame, "E").int_visit_outbound_30d == 1


def test_recency_share_trend_response_and_unanswered(frame, row):
    a = row(frame, "A")
    assert a.int_recency_days == 7
    assert a.inbound_share_365d == pytest.approx(1 / 3)
    assert a.int_trend_30_90d == pytest.approx((2 / 30) / (1 / 90))
    assert a.campaign_response_rate_365d == 1.0  # the unanswered campaign is older than 365 days
    assert (a.unanswered_outbound_30d, a.unanswered_outbound_90d) == (0, 1)
    b = row(frame, "B")
    assert math.isnan(b.int_recency_days) and math.isnan(b.campaign_response_rate_365d)
    assert b.int_count_365d == 0


def test_missing_table_removes_interaction_features(make_ds, cfg, cutoff):
    frame = build_features(make_ds(drop={"interactions": None}), cutoff, cfg)
    assert not [c for c in frame.columns if c.startswith(("int_", "inbound_", "campaign_"))]
    assert "interactions table absent: interaction features removed" in frame.attrs["notes"]


def test_missing_direction_counts_per_channel_only(make_ds, cfg, cutoff, row):
    frame = build_features(make_ds(drop={"interactions": ["direction"]}), cutoff, cfg)
    assert row(frame, "A").int_call_90d == 2
    assert "int_call_inbound_90d" not in frame.columns
    assert "inbound_share_365d" not in frame.columns
    assert "unanswered_outbound_90d" not in frame.columns
    assert "campaign_response_rate_365d" in frame.columns
    assert any(n.startswith("interactions.direction absent") for n in frame.attrs["notes"])


def test_missing_outcome_removes_response_and_unanswered(make_ds, cfg, cutoff):
    frame = build_features(make_ds(drop={"interactions": ["outcome"]}), cutoff, cfg)
    assert "campaign_response_rate_365d" not in frame.columns
    assert "unanswered_outbound_30d" not in frame.columns
    assert "inbound_share_365d" in frame.columns
    assert any(n.startswith("interactions.outcome absent") for n in frame.attrs["notes"])


def test_outcome_lists_are_configuration(ds, cutoff, row):
    from features.config import FeatureConfig

    cfg = FeatureConfig(response_outcomes=("RESPONDED",), unanswered_outcomes=("answered",))
    a = row(build_features(ds, cutoff, cfg), "A")
    assert a.campaign_response_rate_365d == 1.0  # compared case-insensitively
    assert a.unanswered_outbound_90d == 0  # the only "answered" contact was inbound
