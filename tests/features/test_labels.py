"""Churn and value labels over [T, T+H): hand-computed, boundary days, definitions recorded."""

from __future__ import annotations

import pandas as pd
import pytest

from features.config import FeatureConfig, LabelConfig
from features.pipeline.build import build_features
from features.pipeline.cutoffs import monthly_cutoffs


def labels_of(frame) -> dict[str, tuple[float, float]]:
    return {
        r.customer_id: (r.churned, r.future_value)
        for r in frame[["customer_id", "churned", "future_value"]].itertuples()
    }


def test_labels_by_hand_with_boundary_days(ds, cfg, cutoff):
    assert labels_of(build_features(ds, cutoff, cfg)) == {
        "A": (0.0, 20.0),  # bought exactly at T: inside [T, T+H)
        "B": (1.0, 0.0),  # bought exactly at T+H: outside, so churned
        "E": (0.0, 0.0),  # contractual, cancelled exactly at T+H: outside
        "G": (1.0, 0.0),  # non-contractual, no purchase
        "H": (1.0, 0.0),  # contractual, cancelled exactly at T: inside
    }


def test_label_columns_are_float(ds, cfg, cutoff):
    frame = build_features(ds, cutoff, cfg)
    assert frame["churned"].dtype == "float64" and frame["future_value"].dtype == "float64"


def test_horizon_past_as_of_gives_no_label(ds, cfg):
    frame = build_features(ds, "2024-04-02", cfg)  # T + 90 days = 2024-07-01 > as-of
    assert frame["churned"].isna().all() and frame["future_value"].isna().all()
    assert any("horizon ends after" in n for n in frame.attrs["notes"])


def test_shorter_horizon_is_configuration(ds, cutoff):
    cfg = FeatureConfig(labels=LabelConfig(horizon_days=30))
    frame = build_features(ds, "2024-05-31", cfg)  # T + 30 = 2024-06-30 = as-of
    assert frame["churned"].notna().all()
    assert frame.attrs["label_definition"]["horizon_days"] == 30
    assert labels_of(frame)["B"] == (1.0, 0.0)  # its 06-30 purchase is at T+H: outside


def test_forced_contractual_uses_cancellations_only(ds, cutoff):
    cfg = FeatureConfig(labels=LabelConfig(churn_definition="contractual"))
    got = labels_of(build_features(ds, cutoff, cfg))
    assert got["B"] == (0.0, 0.0)  # no cancellation, even without purchases
    assert got["H"] == (1.0, 0.0)
    assert "C" in got  # no activity rule: not cancelled, so active


def test_label_definition_is_recorded(ds, cfg, cutoff):
    definition = build_features(ds, cutoff, cfg).attrs["label_definition"]
    assert definition["configured"] == "auto"
    assert definition["churn_definition"] == "mixed"
    assert definition["horizon_days"] == 90
    assert (definition["contractual_customers"], definition["non_contractual_customers"]) == (3, 5)
    assert "[T, T+90d)" in definition["text"]


def test_labels_false_leaves_them_out(ds, cfg, cutoff):
    frame = build_features(ds, cutoff, cfg, labels=False)
    assert "churned" not in frame.columns and "future_value" not in frame.columns
    assert "label_definition" in frame.attrs


@pytest.mark.parametrize(
    ("horizon", "expected"),
    [
        (90, ["2024-02-01", "2024-03-01", "2024-04-01"]),
        (91, ["2024-01-01", "2024-02-01", "2024-03-01"]),
    ],
)
def test_monthly_cutoffs_end_with_the_last_labelled_month(ds, horizon, expected):
    got = monthly_cutoffs(ds, 3, horizon)
    assert got == [pd.Timestamp(d) for d in expected]
    assert all(c + pd.Timedelta(days=horizon) <= ds.as_of for c in got)


def test_monthly_cutoffs_stop_at_the_first_signup(ds):
    got = monthly_cutoffs(ds, 100, 90)
    assert got[0] == pd.Timestamp("2021-02-01")  # first signup 2021-01-01
    assert len(got) == 39
