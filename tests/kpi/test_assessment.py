"""Document 000's assessment rules and document 003's survey, by hand on small books: probation
(listed, not ranked, not penalised), the satisfaction bonus from a survey (or complaint ratings,
saying which), the annual assessment with ratings out of range quarantined."""

from __future__ import annotations

import pandas as pd
import pytest
from test_scorecard import random_book

from features.contract import TABLES
from features.dataset import Dataset
from features.loaders import load_dataset
from kpi.assessment import (
    COMPLAINTS,
    SURVEY,
    annual_assessment,
    base_month,
    big_customers,
    probation,
    survey_counts,
    with_big_customers,
)
from kpi.config import AnnualConfig, BigCustomerConfig, KpiConfig, RankingConfig, ScorecardConfig
from kpi.scorecard import PROBATION, rank_managers, scorecard

T = pd.Timestamp
MAY = T("2024-05-01")


def _managers(**hired: str | None) -> Dataset:
    frame = pd.DataFrame(
        {
            "account_manager_id": pd.Series(list(hired), dtype="str"),
            "hire_date": [T(v) if v else pd.NaT for v in hired.values()],
        }
    )
    return Dataset(tables={"account_managers": frame}, as_of=T("2024-12-31"))


def test_probation_is_hired_less_than_three_months_before_the_period():
    ds = _managers(A="2024-02-01", B="2024-02-02", C="2024-06-01", D=None)
    got = probation(ds, MAY, pd.Index(["A", "B", "C", "D", "E"]), RankingConfig())
    # A: exactly 3 months before May: assessed; B: a day later: on probation; C: hired after
    # the period start: on probation; D: no hire date and E: not in the table: assessed
    assert got.to_dict() == {"A": False, "B": True, "C": True, "D": False, "E": False}
    off = probation(ds, MAY, pd.Index(["B"]), RankingConfig(probation_months=0))
    assert not off.any()
    longer = probation(ds, MAY, pd.Index(["A"]), RankingConfig(probation_months=4))
    assert longer.all()


def test_a_manager_on_probation_is_neither_ranked_nor_penalised():
    score = pd.Series([90.0, 80.0, 55.0, 40.0], index=list("ABCD"))
    trial = pd.Series([False, False, False, True], index=list("ABCD"))
    got = rank_managers(score, RankingConfig(), trial)
    # D has the lowest score but is on probation: C is last and B and C owe plans
    assert got["rank"].tolist()[:3] == [1, 2, 3] and pd.isna(got.loc["D", "rank"])
    assert got["improvement_plan"].tolist() == [False, True, True, False]
    assert got["ranking_adjustment"].tolist() == [100.0, 0.0, -100.0, 0.0]


def test_the_scorecard_lists_a_manager_on_probation_unranked():
    ds, preds = random_book()
    managers = ds.tables["account_managers"].assign(
        hire_date=[T("2020-01-01")] * 5 + [T("2024-06-15")]
    )
    ds = Dataset(tables={**ds.tables, "account_managers": managers}, as_of=ds.as_of)
    card = scorecard(ds, preds, "2024-09").set_index("account_manager_id")
    f = card.loc["F"]
    assert f["probation"] and pd.notna(f["score"]) and pd.isna(f["rank"])
    assert not f["improvement_plan"] and f["ranking_adjustment"] == 0.0
    assert PROBATION in f["notes"]
    ranked = card[(card["level"] == "manager") & ~card["probation"].astype(bool)]
    assert sorted(ranked["rank"].astype(int)) == [1, 2, 3, 4, 5]
    # from October, three months after the hire, F is assessed like the others
    later = scorecard(ds, preds, "2024-10").set_index("account_manager_id")
    assert not later.loc["F", "probation"] and pd.notna(later.loc["F", "rank"])


def _survey_book(surveys: pd.DataFrame | None) -> Dataset:
    customers = pd.DataFrame(
        {"customer_id": ["a", "b", "c", "d"], "account_manager_id": ["M1", "M1", "M1", "M2"]}
    )
    tables = {"customers": customers}
    if surveys is not None:
        tables["surveys"] = surveys
    return Dataset(tables=tables, as_of=T("2024-12-31"))


def test_survey_answers_decide_the_quarter_share():
    surveys = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "c", "d", "d"],
            "ts": [T("2024-04-10"), T("2024-05-02"), T("2024-06-20"), T("2024-03-30"),
                   T("2024-05-05"), T("2024-06-01")],
            "satisfied": [1.0, None, 0.0, 1.0, None, None],
            "score": [2.0, 4.0, 5.0, 5.0, 3.0, None],
        }
    )  # fmt: skip
    got = survey_counts(
        _survey_book(surveys), T("2024-04-01"), T("2024-07-01"), pd.Index(["M1", "M2"]),
        ScorecardConfig(),
    )  # fmt: skip
    # M1: a satisfied (the flag wins over score 2), b satisfied by score 4, c not (flag 0);
    # c's March answer is outside the quarter. M2: d's score 3 is not satisfied, the last row
    # has neither and is no answer
    assert got.loc["M1"].tolist() == [3.0, 2.0] and got.loc["M2"].tolist() == [1.0, 0.0]
    assert survey_counts(_survey_book(None), MAY, MAY, pd.Index(["M1"]), ScorecardConfig()) is None


def test_the_bonus_comes_from_the_survey_when_there_is_one_and_says_which():
    ds, preds = random_book()
    plain = scorecard(ds, preds, "2024-06")
    assert set(plain["satisfaction_source"].dropna()) == {COMPLAINTS}
    customers = ds.tables["customers"]
    mine = customers.loc[customers["account_manager_id"] == "A", "customer_id"]
    surveys = pd.DataFrame(
        {"customer_id": mine.to_numpy(), "ts": T("2024-05-15"), "satisfied": 1.0, "score": None}
    )
    with_survey = Dataset(tables={**ds.tables, "surveys": surveys}, as_of=ds.as_of)
    card = scorecard(with_survey, preds, "2024-06").set_index("account_manager_id")
    managers = card[card["level"] == "manager"]
    assert set(managers["satisfaction_source"]) == {SURVEY}
    a = managers.loc["A"]
    assert a["quarter_satisfaction"] == 1.0
    assert a["satisfaction_bonus"] == pytest.approx(round(0.02 * a["sales"], 2))
    others = managers.drop(index="A")
    assert others["quarter_satisfaction"].isna().all() and (others["satisfaction_bonus"] == 0).all()


def test_annual_assessment_by_hand():
    reviews = pd.DataFrame(
        {
            "account_manager_id": ["A", "B", "A"],
            "year": [2024, 2024, 2023],
            "ability": [80.0, 50.0, 10.0],
            "attitude": [90.0, None, 10.0],
        }
    )
    ds = Dataset(tables={"manager_reviews": reviews}, as_of=T("2024-12-31"))
    perf = pd.Series([70.0, 60.0, 50.0], index=["A", "B", "C"])
    got, note = annual_assessment(ds, 2024, perf, AnnualConfig())
    assert got.loc["A", "annual_score"] == pytest.approx(0.6 * 70 + 0.2 * 80 + 0.2 * 90)
    # B has no attitude rating: its weight is spread over the others
    assert got.loc["B", "annual_score"] == pytest.approx((0.6 * 60 + 0.2 * 50) / 0.8)
    assert got.loc["C", "annual_score"] == 50.0 and "B, C" in note
    none, note = annual_assessment(Dataset(tables={}, as_of=T("2024-12-31")), 2024, perf,
                                   AnnualConfig())  # fmt: skip
    assert none["annual_score"].tolist() == [70.0, 60.0, 50.0] and "no manager_reviews" in note


def test_review_ratings_out_of_range_are_quarantined_with_the_reason(tmp_path):
    raw = pd.DataFrame(
        {
            "account_manager_id": ["A", "B", "C"],
            "year": [2024.0, 2024.0, 2024.0],
            "ability": [80.0, 120.0, 50.0],
            "attitude": [90.0, 70.0, -5.0],
        }
    )
    raw.to_csv(tmp_path / "manager_reviews.csv", index=False)
    (tmp_path / "customers.csv").write_text("customer_id,signup_date\nc1,2024-01-01\n")
    (tmp_path / "transactions.csv").write_text("customer_id,ts,amount\nc1,2024-02-01,5\n")
    ds = load_dataset(tmp_path, as_of="2024-12-31", max_bad_row_share=None)
    assert ds.tables["manager_reviews"]["account_manager_id"].tolist() == ["A"]
    reasons = ds.rejects["manager_reviews"]["reason"].tolist()
    assert any("ability" in r for r in reasons) and any("attitude" in r for r in reasons)
    assert TABLES["manager_reviews"].column("ability").max == 100.0


def test_a_year_joins_the_reviews_with_the_mean_monthly_score():
    ds, preds = random_book(n=150)  # twelve months: a small book keeps it quick
    reviews = pd.DataFrame(
        {"account_manager_id": list("ABCDEF"), "year": 2023, "ability": 100.0, "attitude": 0.0}
    )
    ds = Dataset(tables={**ds.tables, "manager_reviews": reviews}, as_of=ds.as_of)
    year = scorecard(ds, preds, "2023", KpiConfig()).set_index("account_manager_id")
    a = year.loc["A"]
    assert a["performance"] == a["score"]
    assert a["annual_score"] == pytest.approx(round(0.6 * a["score"] + 0.2 * 100, 2), abs=0.01)
    assert isinstance(a["annual_grade"], str) and a["annual_grade"]


def _big_book(first_day: str = "2024-01-01") -> Dataset:
    customers = pd.DataFrame(
        {"customer_id": list("abcd"), "account_manager_id": ["M1", "M1", "M2", "M3"]}
    )
    tx = pd.DataFrame(
        {
            "customer_id": list("abcd") + ["a", "a", "c", "b"],
            "ts": [T(first_day), T("2024-01-10"), T("2024-01-11"), T("2024-01-12"),
                   T("2024-03-02"), T("2024-03-20"), T("2024-03-05"), T("2024-03-06")],
            "amount": [100.0, 50.0, 80.0, 10.0, 60.0, 55.0, 85.0, 500.0],
        }
    )  # fmt: skip
    return Dataset(tables={"customers": customers, "transactions": tx}, as_of=T("2024-12-31"))


def test_big_customer_item_by_hand():
    cfg = BigCustomerConfig(enabled=True, top_n=2)
    assert base_month(_big_book(), cfg) == T("2024-01-01")
    assert base_month(_big_book("2024-01-03"), cfg) == T("2024-02-01")  # first full month
    got = big_customers(_big_book(), T("2024-03-01"), T("2024-04-01"), pd.Index(["M1", "M2", "M3"]),
                        cfg)  # fmt: skip
    # January's top two: a (100, M1) and c (80, M2); b (50) is not big, so its March 500 counts
    # for nothing. March: a 60 + 55 = 115 >= 110% of 100: earned; c 85 < 88: not; M3 has none
    assert got.loc["M1", "big_customer_revenue"] == 115.0
    assert got["points_big_customers"].tolist()[:2] == [100.0, 0.0]
    assert pd.isna(got.loc["M3", "points_big_customers"])
    scored = got.assign(score=[80.0, 70.0, 60.0])
    assert with_big_customers(scored, cfg).tolist() == [81.0, 66.5, 60.0]  # 95% + 5 of 100


def test_big_customer_item_is_off_by_default_and_changes_only_big_managers_when_on():
    ds, preds = random_book()
    plain = scorecard(ds, preds, "2024-06").set_index("account_manager_id")
    on = KpiConfig(big_customers=BigCustomerConfig(enabled=True, top_n=5))
    card = scorecard(ds, preds, "2024-06", on).set_index("account_manager_id")
    assert "points_big_customers" not in plain.columns
    managers = card[card["level"] == "manager"]
    for mid, row in managers.iterrows():
        before = plain.loc[mid, "score"]
        if pd.isna(row["points_big_customers"]):
            assert row["score"] == before
        else:
            assert row["score"] == pytest.approx(0.95 * before + row["points_big_customers"] / 20,
                                                 abs=0.01)  # fmt: skip
    assert managers["points_big_customers"].notna().sum() >= 1
