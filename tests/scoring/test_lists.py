"""The lists' presentation and the recommended-action rules."""

from __future__ import annotations

import json
from collections.abc import Mapping

import numpy as np
import pandas as pd

from core.economics import SegmentedEconomics
from core.lang import Lang
from scoring.benefit import contact_benefit, horizon_value, why_lines
from scoring.config import DEFAULT_ACTIONS, ActionRule
from scoring.lists import list_columns, present, recommended_actions, split_lists

T = pd.Timestamp("2024-06-30")


def _rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["gone", "complaint", "renewal", "risky", "worth", "medium", "fine"],
            "lifecycle_status": [
                "lapsed",
                "active",
                "lapsing",
                "lapsing",
                "active",
                "active",
                "active",
            ],
            "risk_band": ["high", "high", "high", "high", "low", "medium", "low"],
            "contract_end_date": pd.to_datetime([None, None, "2024-08-01", None, None, None, None]),
            "complaint_open_total": [1, 2, 0, 0, 0, np.nan, 0],
            "benefit": [-1.0, -1.0, -1.0, -1.0, 250.0, -3.0, np.nan],
        }
    )


def test_the_first_rule_that_applies_gives_the_action():
    got = recommended_actions(_rows(), T, DEFAULT_ACTIONS)
    assert got.tolist() == [
        "win-back offer",
        "service recovery: resolve the open complaint",
        "renewal call before the contract ends",
        "retention call",
        "check-in contact",  # low risk, but a contact pays: the list shows it near the top
        "no contact: monitor",  # medium risk, but a contact costs more than it can save
        "no contact: monitor",  # no benefit known: not worth a contact
    ]


def test_rules_are_configuration_and_rows_no_rule_covers_get_none():
    rules = (ActionRule(action="call now", risk_band=("high",), lifecycle=("lapsing",)),)
    got = recommended_actions(_rows().drop(columns="complaint_open_total"), T, rules)
    assert got.tolist() == ["", "", "call now", "call now", "", "", ""]


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
            "contract_end_date": [None, "2024-07-20"],
            "churn_probability": [0.123456, 0.05],
            "predicted_value": [1000.004, 90000.0],
            "expected_value_at_risk": [123.45678, 4500.0],
            "risk_band": ["medium", "low"],
            "reasons": [json.dumps(["r1", "r2"]), json.dumps(["only one"])],
            "recommended_action": ["check-in contact", "no contact: monitor"],
            "churn_model_version": ["3", "3"],
            "value_model_version": ["4", "4"],
            "benefit": [5.004, 1100.0],
            "open_complaints": [2, 0],
        }
    )
    out = present(rows, 30)
    assert list(out.columns) == list(list_columns(30))
    assert out["churn_probability_30d"].tolist() == [0.1235, 0.05]
    assert out["value_if_retained_30d"].tolist() == [1000.0, 90000.0]
    assert out["last_purchase_date"].tolist() == ["2024-05-01", None]
    assert out["days_since_last_purchase"].tolist()[0] == 60
    assert out.loc[0, ["reason_1", "reason_2", "reason_3"]].tolist() == ["r1", "r2", ""]
    assert out["benefit"].tolist() == [5.0, 1100.0]
    assert out.loc[1, "reason_1"] == "only one"
    # the one line on why a row is listed comes before the model's reasons
    assert out.loc[0, "why_listed"] == (
        "P(churn) 12%, 2 complaints open, no purchase for 60 days, a contact is worth 5"
    )
    assert out.loc[1, "why_listed"].startswith("renewal of 90,000 due 2024-07-20, P(churn) 5%")


def why_line(
    row: Mapping[str, object], horizon_days: int, lang: Lang = "en", money: str = "{:,.0f}"
) -> str:
    """The why-line of one row scored on 2024-06-30."""
    rows = pd.DataFrame([{**row, "asof": "2024-06-30"}])
    return why_lines(rows, horizon_days, lang, money)[0]


def test_why_listed_speaks_chinese_and_leaves_out_a_renewal_past_the_horizon():
    row = {
        "contract_end_date": "2024-12-31",
        "predicted_value": 90000.0,
        "churn_probability": 0.74,
        "open_complaints": 1,
        "benefit": -3.0,
    }
    assert why_line(row, 90) == "P(churn) 74%, 1 complaint open"
    assert why_line(row, 90, "zh") == "流失概率 74%，1 个投诉未解决"
    assert why_line(row, 200, "zh").startswith("合同将于2024年12月31日到期，金额 90,000")


def test_why_listed_names_the_value_the_benefit_was_priced_on():
    """A low P(churn) with a large benefit reads as it is: the customer is worth a lot."""
    row = {"churn_probability": 0.07, "benefit": 1070.0, "benefit_value": 51234.0}
    assert why_line(row, 90) == (
        "P(churn) 7%, a contact is worth 1,070 (they are worth 51,234 per 90 days)"
    )
    assert why_line(row, 90, "zh", "¥{:,.0f}") == (
        "流失概率 7%，一次联系预计挽回 ¥1,070（该客户每90天价值 ¥51,234）"
    )


def test_contact_benefit_prices_with_the_success_rate_or_the_uplift():
    rows = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "segment": ["smb", "enterprise"],
            "plan": ["payg", "annual"],
            "churn_probability": [0.5, 0.1],
            "predicted_value": [1000.0, 100000.0],
        }
    )
    econ = SegmentedEconomics.model_validate(
        {
            "cost_per_contact": {"default": 10, "by_segment": {"enterprise": 100}},
            "success_rate": 0.2,
        }
    )
    assert contact_benefit(rows, econ).tolist() == [90.0, 1900.0]
    # an uplift model prices a contact by its effect on the value if retained; a customer it
    # does not score keeps the success-rate price
    effect = pd.Series({"b": 0.001})
    assert contact_benefit(rows, econ, effect).tolist() == [90.0, 0.0]


def test_benefit_prices_the_horizon_at_the_run_rate_not_a_renewals_lump():
    features = pd.DataFrame(
        {
            "revenue_90d": [0.0, 3000.0, 600.0, np.nan],
            "revenue_365d": [12000.0, 12000.0, 600.0, np.nan],
            "tenure_days": [800.0, 800.0, 20.0, 400.0],
            "contract_term_months": [12.0, np.nan, np.nan, np.nan],
        }
    )
    value = horizon_value(features, 90)
    # a year's payment buys twelve months: a quarter of it falls in a 90-day horizon; a monthly
    # buyer's year at its pace; a new customer's month (at least a month covered); no revenue: 0
    assert np.allclose(value[:3], [12000 / 365 * 90, 12000 / 365 * 90, 600 / 30.4 * 90])
    assert value[3] == 0.0
    assert np.isnan(horizon_value(features[["tenure_days"]], 90)).all()
    rows = pd.DataFrame(
        {
            "customer_id": ["renews", "monthly"],
            "churn_probability": [0.1, 0.3],
            "predicted_value": [100000.0, 5000.0],  # the renewal's whole payment in the horizon
        }
    )
    econ = SegmentedEconomics.model_validate({"cost_per_contact": 0, "success_rate": 0.5})
    by_model = contact_benefit(rows, econ)
    by_horizon = contact_benefit(rows, econ, value=np.array([25000.0, np.nan]))
    assert by_model[0] > by_model[1]  # the lump puts the renewal first ...
    assert by_horizon.tolist() == [1250.0, 750.0]  # ... its horizon's share prices it fairly


def test_the_at_risk_list_puts_the_benefit_first_and_rows_without_one_last():
    rows = pd.DataFrame(
        {
            "customer_id": list("abcd"),
            "lifecycle_status": ["active"] * 4,
            "expected_value_at_risk": [5.0, 1.0, 3.0, 9.0],
            "benefit": [1.0, 50.0, np.nan, -2.0],
        }
    )
    assert split_lists(rows)["at_risk"]["customer_id"].tolist() == ["b", "a", "d", "c"]


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
