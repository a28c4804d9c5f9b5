"""Improvement plans (document 000: the bottom two submit a plan within a week of the monthly
scorecards): issued once, due 7 days later, open, overdue or submitted; ``churn plans`` lists
them and ``churn plans submit`` records one, refusing an unknown manager or a month without a plan.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from churn.commands import plans as plans_command
from features.dataset import Dataset
from kpi.config import RankingConfig
from kpi.plans import issue_plans, owed_plans
from kpi.scorecard import rank_managers
from scoring.store.plans import PlanError, PlanStore
from scoring.store.predictions import PredictionStore, ScoringRun

ISSUED = date(2024, 5, 3)


def _card(period: str = "2024-04") -> pd.DataFrame:
    """Four managers scored 90, 80, 55, 40: C and D are the bottom two."""
    score = pd.Series([90.0, 80.0, 55.0, 40.0], index=["A", "B", "C", "D"])
    ranked = rank_managers(score, RankingConfig())
    card = ranked.assign(score=score).rename_axis("account_manager_id").reset_index()
    team = pd.DataFrame([{"level": "team", "team": "T", "improvement_plan": False}])
    return pd.concat([card.assign(level="manager"), team]).assign(period=period)


@pytest.fixture
def plans(tmp_path: Path) -> PlanStore:
    store = PredictionStore(f"sqlite:///{tmp_path / 'serving.db'}")
    yield PlanStore(store.engine)
    store.close()


def test_the_bottom_two_owe_a_plan_due_a_week_after_the_scorecards(plans: PlanStore):
    owed = owed_plans(_card())
    assert [(o.manager, o.period, o.rank) for o in owed] == [
        ("C", "2024-04", 3),
        ("D", "2024-04", 4),
    ]
    assert owed_plans(_card("2024-Q2")) == []  # a quarter issues none
    assert issue_plans(plans, _card(), RankingConfig(), ISSUED) == 2
    got = plans.frame(date(2024, 5, 10))
    assert list(got["account_manager_id"]) == ["C", "D"]
    assert set(got["issued_on"]) == {"2024-05-03"} and set(got["due_on"]) == {"2024-05-10"}
    assert set(got["status"]) == {"open"}  # due today: not yet overdue
    # produced again a day later: nothing new, the first due date stands
    assert issue_plans(plans, _card(), RankingConfig(), date(2024, 5, 4)) == 0
    assert set(plans.frame(date(2024, 5, 11))["due_on"]) == {"2024-05-10"}
    assert set(plans.frame(date(2024, 5, 11))["status"]) == {"overdue"}


def test_a_submitted_plan_is_recorded_and_mistakes_are_named(plans: PlanStore):
    issue_plans(plans, _card(), RankingConfig(improvement_plan_days=3), ISSUED)
    plans.submit("C", "2024-04", "  call every lapsing customer weekly  ", "lead1",
                 datetime(2024, 5, 5, 9))  # fmt: skip
    got = plans.frame(date(2024, 6, 1)).set_index("account_manager_id")
    assert got.loc["C", "status"] == "submitted" and got.loc["D", "status"] == "overdue"
    assert got.loc["C", "text"] == "call every lapsing customer weekly"
    assert got.loc["C", "submitted_by"] == "lead1" and got.loc["D", "due_on"] == "2024-05-06"
    with pytest.raises(PlanError, match="unknown account manager 'Z'"):
        plans.submit("Z", "2024-04", "x", "lead1")
    with pytest.raises(PlanError, match="'C' has no improvement plan for 2024-03 .*2024-04"):
        plans.submit("C", "2024-03", "x", "lead1")
    with pytest.raises(PlanError, match="empty"):
        plans.submit("D", "2024-04", "   ", "lead1")


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("noop")(lambda: None)
    plans_command.register(app)
    return app


def test_churn_plans_lists_and_submits(plans: PlanStore, tmp_path: Path):
    url = str(plans.engine.url)
    issue_plans(plans, _card(), RankingConfig(), date(2020, 1, 1))
    run = CliRunner().invoke(_app(), ["plans", "--store", url, "--format", "csv"])
    assert run.exit_code == 0, run.output
    listed = pd.read_csv(pd.io.common.StringIO(run.stdout))
    assert list(listed["status"]) == ["overdue", "overdue"]
    ok = CliRunner().invoke(
        _app(), ["plans", "submit", "D", "--period", "2024-04", "--text", "weekly calls",
                 "--by", "lead1", "--store", url]
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert "improvement plan of D for 2024-04 recorded" in ok.output
    shown = CliRunner().invoke(_app(), ["plans", "--store", url, "--status", "submitted"])
    assert shown.exit_code == 0 and "D" in shown.output and "C " not in shown.output
    both = CliRunner().invoke(_app(), ["plans", "--store", url])  # submitted and overdue rows
    assert both.exit_code == 0, both.output
    assert "lead1" in both.output and "overdue" in both.output and "submitted" in both.output
    for args, said in (
        (["NOBODY", "--period", "2024-04"], "unknown account manager 'NOBODY'"),
        (["C", "--period", "2024-02"], "has no improvement plan for 2024-02"),
    ):
        bad = CliRunner().invoke(_app(), ["plans", "submit", *args, "--text", "x", "--store", url])
        text = " ".join(bad.output.split())
        assert bad.exit_code == 2 and said in text and "Traceback" not in text
        assert len(bad.output.strip().splitlines()) == 1


def _scored_store(book: Dataset, root: Path) -> str:
    """The book on disk and its predictions stored at 2024-03-01."""
    folder = root / "data"
    folder.mkdir()
    for name, frame in book.tables.items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    (folder / "dataset.yaml").write_text(f"as_of: {book.as_of:%Y-%m-%d}\n", encoding="utf-8")
    customers = book.tables["customers"]
    p = np.random.default_rng(1).beta(1, 6, len(customers))
    preds = pd.DataFrame(
        {
            "customer_id": customers["customer_id"].astype(object).to_numpy(),
            "account_manager_id": customers["account_manager_id"].astype(object).to_numpy(),
            "segment": None,
            "churn_probability": p,
            "predicted_value": 500.0,
        }
    ).assign(
        expected_value_at_risk=lambda f: f["churn_probability"] * f["predicted_value"],
        risk_band="low", churn_model_version="3", value_model_version="7",
    )  # fmt: skip
    url = f"sqlite:///{root / 'serving.db'}"
    store = PredictionStore(url)
    run = ScoringRun("2024-03-01", datetime(2024, 7, 1), len(preds), "churn-model", "3",
                     "value-model", "7", ("x",), str(folder))  # fmt: skip
    store.write_scores(run, preds[["customer_id", "account_manager_id"]].assign(x=1.0), [], preds)
    store.close()
    return url


def test_churn_plans_for_a_month_issues_the_plans_of_its_scorecards(book: Dataset, tmp_path):
    url = _scored_store(book, tmp_path)
    run = CliRunner().invoke(_app(), ["plans", "--period", "2024-03", "--store", url,
                                      "--format", "json"])  # fmt: skip
    assert run.exit_code == 0, run.output
    import json

    rows = json.loads(run.stdout)["plans"]
    assert len(rows) == 2 and {r["period"] for r in rows} == {"2024-03"}
    assert {r["status"] for r in rows} == {"open"}
    again = CliRunner().invoke(_app(), ["plans", "--period", "2024-03", "--store", url])
    assert again.exit_code == 0 and "0 new improvement plan(s)" in again.output
    quarter = CliRunner().invoke(_app(), ["plans", "--period", "2024-Q1", "--store", url])
    assert quarter.exit_code == 2 and "give a month" in quarter.output
