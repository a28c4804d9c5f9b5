"""Portfolio, outcome and activity figures of one month, hand-computed on a tiny data set."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.dataset import Dataset
from kpi.activity import activity_ratios, sales_metrics, service_metrics
from kpi.config import KpiConfig, KpiError, OutcomeConfig, RetentionWeights
from kpi.portfolio import (
    active_portfolio,
    manager_roster,
    portfolio_metrics,
    prepare_predictions,
    retention_weights,
)
from kpi.scorecard import NO_CUSTOMERS, scorecard

JUNE = pd.Timestamp("2024-06-01")
JULY = pd.Timestamp("2024-07-01")
NO_RESCALE = OutcomeConfig(prediction_horizon_days=None)
BY_MONTH = OutcomeConfig(horizon_days=None, weights=RetentionWeights(method="value"))


def _dates(values: list[str | None]) -> pd.Series:
    return pd.Series(pd.to_datetime(values), dtype="datetime64[us]")


def _text(values: list[str | None]) -> pd.Series:
    return pd.Series(values, dtype="str")


def _frame(rows: list[tuple], columns: str, dates: str, texts: str) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns.split())
    for col in dates.split():
        frame[col] = _dates(frame[col].tolist())
    for col in texts.split():
        frame[col] = _text(frame[col].tolist())
    return frame


def tiny_dataset(as_of: str = "2024-08-31") -> Dataset:
    """Managers A1 (4 customers at June 1st), A2 (1) and A3 (none); see each customer's note."""
    customers = _frame(
        [
            ("c1", "2023-01-01", "A1", "2025-01-01", "2024-06-15"),  # contract, cancels in June
            ("c2", "2023-01-01", "A1", "2025-01-01", None),  # contract, stays
            ("c3", "2023-05-01", "A1", None, None),  # buys in May and June: stays
            ("c4", "2023-02-01", "A1", None, None),  # bought in March only: churns in June
            ("c5", "2021-06-01", "A2", None, None),  # last bought 2022: not active
            ("c6", "2023-01-01", "A2", "2025-01-01", "2024-05-20"),  # cancelled before June
            ("c7", "2023-03-01", "A2", None, None),  # buys in February and June: stays
            ("c8", "2024-06-10", "A2", None, None),  # new customer in June
            ("c9", "2023-01-01", None, None, None),  # no manager: ignored
        ],
        "customer_id signup_date account_manager_id contract_end_date cancelled_at",
        dates="signup_date contract_end_date cancelled_at",
        texts="customer_id account_manager_id",
    )
    tx = _frame(
        [
            ("c3", "2024-05-10", 50.0, "purchase"),
            ("c3", "2024-06-20", 1000.0, "purchase"),
            ("c4", "2024-03-01", 70.0, "purchase"),
            ("c5", "2022-01-01", 10.0, "purchase"),
            ("c7", "2024-02-01", 20.0, "purchase"),
            ("c7", "2024-06-03", 2000.0, "renewal"),
            ("c8", "2024-06-10", 5000.0, "new"),
            ("c8", "2024-06-20", 100.0, "upsell"),  # not an existing customer: no retention
            ("c2", "2024-06-05", 3000.0, "upsell"),
            ("c1", "2024-06-01", 400.0, "renewal"),
            ("c9", "2024-06-02", 9.0, "purchase"),
        ],
        "customer_id ts amount kind",
        dates="ts",
        texts="customer_id kind",
    )
    complaints = _frame(
        [
            ("c1", "2024-06-02", "2024-06-05", 5.0),
            ("c3", "2024-05-20", "2024-06-04", 2.0),  # resolved (and rated) in June
            ("c2", "2024-06-25", None, np.nan),  # still open
            ("c3", "2024-04-10", "2024-04-12", 4.0),  # earlier in the quarter
        ],
        "customer_id opened_at resolved_at satisfaction",
        dates="opened_at resolved_at",
        texts="customer_id",
    )
    managers = _frame(
        [("A1", "north", 100_000.0), ("A2", "north", 50_000.0), ("A3", "south", 20_000.0)],
        "account_manager_id team monthly_quota",
        dates="",
        texts="account_manager_id team",
    )
    tables = {"customers": customers, "transactions": tx, "complaints": complaints}
    return Dataset(tables={**tables, "account_managers": managers}, as_of=pd.Timestamp(as_of))


def tiny_predictions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c4", "c7", "c5"],
            "churn_probability": [0.5, 0.2, 0.1, 0.6, 0.3, 0.9],
            "predicted_value": [1000.0, 2000.0, 500.0, 300.0, 800.0, 50.0],
        }
    )


def test_active_portfolio_follows_the_population_rule():
    book = active_portfolio(tiny_dataset(), JUNE, NO_RESCALE)
    assert sorted(book["customer_id"]) == ["c1", "c2", "c3", "c4", "c7"]
    assert dict(zip(book["customer_id"], book["contractual"], strict=True)) == {
        "c1": True, "c2": True, "c3": False, "c4": False, "c7": False,
    }  # fmt: skip


def test_portfolio_metrics_by_hand():
    # the default: the 90 days from June 1st (to August 29th, the model's horizon: P as given),
    # values capped at the median value of the book (300, 500, 800, 1000, 2000 -> 800)
    m = portfolio_metrics(tiny_dataset(), tiny_predictions(), JUNE, OutcomeConfig())
    a1, a2, a3 = m.loc["A1"], m.loc["A2"], m.loc["A3"]
    assert (a1["portfolio_start"], a1["churned"]) == (4, 2)  # c1 cancelled, c4 bought nothing
    assert a1["starting_value"] == pytest.approx(3800)  # money: uncapped
    assert a1["retained_value"] == pytest.approx(2500)
    assert a1["weight_start"] == pytest.approx(800 + 800 + 500 + 300)  # c1 and c2 capped
    assert a1["weight_retained"] == pytest.approx(800 + 500)  # c2 + c3
    assert a1["weight_expected_retained"] == pytest.approx(
        0.5 * 800 + 0.8 * 800 + 0.9 * 500 + 0.4 * 300
    )
    assert a1["value_weighted_retention"] == pytest.approx(1300 / 2400)
    assert a1["risk_adjusted_retention"] == pytest.approx(1300 / 1610)
    assert a2["risk_adjusted_retention"] == pytest.approx(800 / (0.7 * 800))
    assert a3["portfolio_start"] == 0 and np.isnan(a3["risk_adjusted_retention"])


def test_retention_weights_of_each_method():
    v = np.array([300.0, 500.0, 800.0, 1000.0, 2000.0, np.nan])
    capped = retention_weights(v, RetentionWeights(cap_quantile=0.9))
    assert capped[:5].tolist() == pytest.approx([300, 500, 800, 1000, 1600])  # 1000 + 0.6 x 1000
    assert np.isnan(capped[5])
    assert retention_weights(v, RetentionWeights(method="log_value"))[0] == pytest.approx(
        np.log(301)
    )
    counts = retention_weights(v, RetentionWeights(method="head_count"))
    assert counts[:5].tolist() == [1.0] * 5 and np.isnan(counts[5])


def test_portfolio_metrics_by_value_and_the_month_window_by_hand():
    m = portfolio_metrics(
        tiny_dataset(),
        tiny_predictions(),
        JUNE,
        NO_RESCALE.model_copy(
            update={"horizon_days": None, "weights": RetentionWeights(method="value")}
        ),
    )
    a1, a2, a3 = m.loc["A1"], m.loc["A2"], m.loc["A3"]
    assert (a1["portfolio_start"], a1["churned"]) == (4, 2)  # c1 cancelled, c4 bought nothing
    assert a1["churn_rate"] == pytest.approx(0.5) and a1["retention_rate"] == pytest.approx(0.5)
    assert a1["starting_value"] == pytest.approx(3800)
    assert a1["retained_value"] == pytest.approx(2500)  # c2 + c3
    assert a1["expected_retained_value"] == pytest.approx(
        0.5 * 1000 + 0.8 * 2000 + 0.9 * 500 + 0.4 * 300
    )
    assert a1["value_weighted_retention"] == pytest.approx(2500 / 3800)
    assert a1["risk_adjusted_retention"] == pytest.approx(2500 / 2670)
    assert (a2["portfolio_start"], a2["churned"]) == (1, 0)
    assert a2["risk_adjusted_retention"] == pytest.approx(800 / 560)
    assert a3["portfolio_start"] == 0 and np.isnan(a3["risk_adjusted_retention"])


def test_probability_is_rescaled_to_the_month():
    m = portfolio_metrics(tiny_dataset(), tiny_predictions(), JUNE, BY_MONTH)
    keep = lambda p: (1 - p) ** (30 / 90)  # noqa: E731  June has 30 days; predictions 90
    expected = keep(0.5) * 1000 + keep(0.2) * 2000 + keep(0.1) * 500 + keep(0.6) * 300
    assert m.loc["A1", "expected_retained_value"] == pytest.approx(expected)


def test_customers_without_prediction_are_counted_not_valued():
    preds = tiny_predictions().query("customer_id != 'c2'")
    m = portfolio_metrics(tiny_dataset(), preds, JUNE, BY_MONTH)
    assert m.loc["A1", "customers_without_prediction"] == 1
    assert m.loc["A1", "portfolio_start"] == 4
    assert m.loc["A1", "starting_value"] == pytest.approx(1800)


def test_service_and_sales_figures_by_hand():
    ds = tiny_dataset()
    cfg = KpiConfig()
    index = manager_roster(ds).index
    service = service_metrics(ds, JUNE, JULY, index, cfg.scorecard, pd.Timestamp("2024-04-01"))
    sales = sales_metrics(ds, JUNE, JULY, cfg.commission)
    book = pd.Series({"A1": 4, "A2": 1, "A3": 0}, name="portfolio_start")
    r = activity_ratios(sales.drop(columns="notes").join(service.drop(columns="notes")).join(book))
    a1, a2 = r.loc["A1"], r.loc["A2"]
    assert a1["complaints"] == 2 and a1["complaints_per_100"] == pytest.approx(50)
    assert a1["mean_resolution_days"] == pytest.approx((3 + 15) / 2)
    assert a1["satisfaction"] == pytest.approx(0.5)  # ratings 5 and 2 handled in June
    assert a1["quarter_satisfaction"] == pytest.approx(2 / 3)  # plus the 4 of April
    assert a1["sales"] == pytest.approx(1000 + 3000 + 400)
    assert a1["retention_sales"] == pytest.approx(3000 + 400)
    assert a1["sales_vs_quota"] == pytest.approx(4400 / 100_000)
    assert a2["sales"] == pytest.approx(2000 + 5000 + 100)
    assert a2["retention_sales"] == pytest.approx(2000)  # c8's upsell: not an existing customer
    assert (a2["renewals"], a2["upsells"], a2["new_customers"]) == (2000, 100, 1)
    assert a2["complaints"] == 0 and np.isnan(a2["satisfaction"])


def test_month_scorecard_rows_commission_and_flags():
    sc = scorecard(tiny_dataset(), tiny_predictions(), "2024-06", KpiConfig(outcome=NO_RESCALE))
    managers = sc[sc["level"] == "manager"].set_index("account_manager_id")
    assert list(managers.index) == ["A1", "A2", "A3"]
    assert managers.loc["A1", "commission"] == pytest.approx(4400 * 0.03 + 3400 * 0.05)
    assert managers.loc["A2", "commission"] == pytest.approx(7100 * 0.03 + 2000 * 0.05)
    assert np.isnan(managers.loc["A3", "score"]) and NO_CUSTOMERS in managers.loc["A3", "notes"]
    assert set(managers["rank"].dropna()) == {1, 2}
    assert managers["improvement_plan"].sum() == 2  # two scored managers: both in the bottom two
    teams = sc[sc["level"] == "team"].set_index("team")
    assert teams.loc["north", "portfolio_start"] == 5
    # pooled capped weights: A1 kept 1300 of 1610 expected, A2 800 of 560
    assert teams.loc["north", "risk_adjusted_retention"] == pytest.approx(2100 / (1610 + 560))
    # the team's score: the mean of its scored managers' scores (A3 has none), not the pooled one
    scored = managers.loc[managers["team"] == "north", "score"].dropna()
    assert len(scored) == 2
    assert teams.loc["north", "score"] == pytest.approx(round(scored.mean(), 2))
    assert 0 <= teams.loc["north", "pooled_score"] <= 100


def test_missing_complaints_table_is_reported_not_fatal():
    ds = tiny_dataset()
    ds = Dataset({k: v for k, v in ds.tables.items() if k != "complaints"}, as_of=ds.as_of)
    sc = scorecard(ds, tiny_predictions(), "2024-06", KpiConfig(outcome=NO_RESCALE))
    a1 = sc.set_index("account_manager_id").loc["A1"]
    assert "no complaints table" in a1["notes"] and "missing: satisfaction" in a1["notes"]
    assert 0 <= a1["score"] <= 100


def test_manager_with_no_customers_is_a_clear_error():
    with pytest.raises(KpiError, match=r"A3 have no customers at the start of 2024-06"):
        scorecard(tiny_dataset(), tiny_predictions(), "2024-06", managers=["A3"])
    with pytest.raises(KpiError, match=r"unknown account manager\(s\) ZZ"):
        scorecard(tiny_dataset(), tiny_predictions(), "2024-06", managers=["ZZ"])


def test_period_with_no_data_is_a_clear_error():
    with pytest.raises(KpiError, match=r"outcome window runs to 2024-10-29 but the data runs to "):
        scorecard(tiny_dataset(), tiny_predictions(), "2024-08")  # 90 days from August 1st
    by_month = KpiConfig(outcome=OutcomeConfig(horizon_days=None))
    with pytest.raises(KpiError, match=r"outcome window runs to 2024-09-30 but the data runs to "):
        scorecard(tiny_dataset(), tiny_predictions(), "2024-09", by_month)
    with pytest.raises(KpiError, match=r"no data for the period starting 2020-01-01: no assigned"):
        scorecard(tiny_dataset(), tiny_predictions(), "2020-01")


def test_bad_predictions_name_the_column_and_customer():
    bad = tiny_predictions().assign(churn_probability=[0.5, 1.5, 0.1, 0.6, 0.3, 0.9])
    with pytest.raises(KpiError, match=r"churn_probability must be a number from 0 to 1.*c2"):
        prepare_predictions(bad)
    with pytest.raises(KpiError, match=r"lack column\(s\) predicted_value"):
        prepare_predictions(tiny_predictions().drop(columns="predicted_value"))
    with pytest.raises(KpiError, match=r"repeat customer_id\(s\) c1"):
        prepare_predictions(pd.concat([tiny_predictions(), tiny_predictions().head(1)]))


def test_predictions_of_several_dates_use_the_period_start():
    june = tiny_predictions().assign(as_of="2024-06-01")
    may = tiny_predictions().assign(as_of="2024-05-01", churn_probability=0.99)
    picked = prepare_predictions(pd.concat([may, june]), as_of=JUNE)
    assert picked["churn_probability"].max() == pytest.approx(0.9)
    with pytest.raises(
        KpiError, match=r"no rows made at 2024-07-01 \(found: 2024-05-01, 2024-06-01"
    ):
        prepare_predictions(pd.concat([may, june]), as_of=JULY)


def test_a_refund_in_the_month_is_not_a_purchase_that_keeps_a_customer():
    ds = tiny_dataset()
    refund = pd.DataFrame(
        {
            "customer_id": _text(["c4"]),
            "ts": _dates(["2024-06-12"]),
            "amount": [-70.0],
            "kind": _text(["refund"]),
        }
    )
    tx = pd.concat([ds.tables["transactions"], refund], ignore_index=True)
    with_refund = Dataset(tables={**ds.tables, "transactions": tx}, as_of=ds.as_of)
    m = portfolio_metrics(with_refund, tiny_predictions(), JUNE, NO_RESCALE)
    assert m.loc["A1", "churned"] == 2  # c4 only returned what it bought: still churned
