"""The lists' presentation and the recommended-action rules."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from scoring.config import DEFAULT_ACTIONS, ActionRule
from scoring.lists import list_columns, present, recommended_actions, split_lists

T = pd.Timestamp("2024-06-30")


def _rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["gone", "complaint", "renewal", "risky", "watch", "fine"],
            "lifecycle_status": ["lapsed", "active", "lapsing", "lapsing", "active", "active"],
            "risk_band": ["high", "high", "high", "high", "medium", "low"],
            "contract_end_date": pd.to_datetime([None, None, "2024-08-01", None, None, None]),
            "complaint_open_total": [1, 2, 0, 0, np.nan, 0],
        }
    )


def test_the_first_rule_that_applies_gives_the_action():
    got = recommended_actions(_rows(), T, DEFAULT_ACTIONS)
    assert got.tolist() == [
        "win-back offer",
        "service recovery: resolve the open complaint",
        "renewal call before the contract ends",
        "retention call",
        "check-in contact",
        "no contact: monitor",
    ]


def test_rules_are_configuration_and_rows_no_rule_covers_get_none():
    rules = (ActionRule(action="call now", risk_band=("high",), lifecycle=("lapsing",)),)
    got = recommended_actions(_rows().drop(columns="complaint_open_total"), T, rules)
    assert got.tolist() == ["", "", "call now", "call now", "", ""]


def test_present_names_scores_after_the_horizon_rounds_and_explains_low_rows():
    rows = pd.DataFrame(
        {
            "rank": [1, 2],
            "asof": ["2024-06-30"] * 2,
            "customer_id": ["A", "B"],
            "account_manager_id": ["AM1", None],
            "segment": ["smb", "smb"],
            "plan": ["payg", "annual"],
            "lifecycle_status": ["lapsing", "active"],
            "last_purchase_date": pd.to_datetime(["2024-05-01", None]),
            "days_since_last_purchase": [60.0, np.nan],
            "contract_end_date": [None, "2025-01-31"],
            "churn_probability": [0.123456, 0.05],
            "predicted_value": [1000.004, 90000.0],
            "expected_value_at_risk": [123.45678, 4500.0],
            "risk_band": ["medium", "low"],
            "reasons": [json.dumps(["r1", "r2"]), json.dumps(["only one"])],
            "recommended_action": ["check-in contact", "no contact: monitor"],
            "churn_model_version": ["3", "3"],
            "value_model_version": ["4", "4"],
        }
    )
    out = present(rows, 30)
    assert list(out.columns) == list(list_columns(30))
    assert out["churn_probability_30d"].tolist() == [0.1235, 0.05]
    assert out["value_if_retained_30d"].tolist() == [1000.0, 90000.0]
    assert out["last_purchase_date"].tolist() == ["2024-05-01", None]
    assert out["days_since_last_purchase"].tolist()[0] == 60
    assert out.loc[0, ["reason_1", "reason_2", "reason_3"]].tolist() == ["r1", "r2", ""]
    assert out.loc[1, "reason_1"].startswith("listed for its value: 90,000 over 30 days")
    assert out.loc[1, "reason_2"] == "only one"


def test_split_lists_ranks_each_list_from_one():
    rows = pd.DataFrame(
        {
            "customer_id": list("abcd"),
            "lifecycle_status": ["lapsed", "active", "lapsing", "lapsed"],
            "expected_value_at_risk": [5.0, 1.0, 3.0, 9.0],
        }
    )
    lists = split_lists(rows)
    assert lists["at_risk"]["customer_id"].tolist() == ["c", "b"]
    assert lists["win_back"]["customer_id"].tolist() == ["d", "a"]
    assert lists["win_back"]["rank"].tolist() == [1, 2]
