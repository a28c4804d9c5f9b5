"""The book by RFM segment, by hand on five customers."""

from __future__ import annotations

import pandas as pd
import pytest

from kpi.rfm import segment_summary


def test_each_segments_size_value_churn_rate_and_value_at_risk():
    preds = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "rfm_segment": ["general_retain", "important_value", "important_value", None, "x"],
            "churn_probability": [0.8, 0.1, 0.3, 0.5, 0.5],
            "predicted_value": [100.0, 1000.0, 500.0, 10.0, 10.0],
        }
    )
    preds["expected_value_at_risk"] = preds["churn_probability"] * preds["predicted_value"]
    got = segment_summary(preds).set_index("rfm_segment")
    assert list(got.index) == ["important_value", "general_retain"]  # most valuable first
    value = got.loc["important_value"]
    assert value["customers"] == 2 and value["share_of_customers"] == pytest.approx(0.4)
    assert value["value_if_retained"] == pytest.approx(1500.0)
    assert value["churn_rate"] == pytest.approx(0.2)
    assert value["expected_value_at_risk"] == pytest.approx(100.0 + 150.0)
    # total at risk: 80 + 100 + 150 + 5 + 5 = 340
    assert value["share_of_value_at_risk"] == pytest.approx(250.0 / 340.0)
    assert got.loc["general_retain", "expected_value_at_risk"] == pytest.approx(80.0)


def test_predictions_without_segments_have_no_summary():
    preds = pd.DataFrame({"customer_id": ["a"], "rfm_segment": [None]})
    assert segment_summary(preds) is None
    assert segment_summary(preds.drop(columns="rfm_segment")) is None
