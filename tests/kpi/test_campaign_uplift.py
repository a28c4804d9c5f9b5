"""Campaign strategies (``--by uplift | value-at-risk | risk``) and campaign results against
their control groups beside the scorecard."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

import churn.commands.campaign as campaign_command
import churn.commands.kpi as kpi_command
from features.synthetic.generator import generate, write_dataset
from kpi.campaign import INCREMENTAL, STRATEGIES, select_by
from kpi.campaign_results import month_results
from kpi.config import KpiConfig, KpiError, OutcomeConfig
from kpi.scorecard import scorecard

COST, RATE = 25.0, 0.25


def _candidates() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e", "f"],
            "account_manager_id": ["m1", "m1", "m1", "m2", "m2", "m2"],
            "churn_probability": [0.9, 0.5, 0.1, 0.8, 0.3, 0.2],
            "predicted_value": [1000.0, 4000.0, 9000.0, 500.0, 600.0, 3000.0],
            "uplift": [0.0, 0.05, 0.02, -0.1, 0.2, 0.01],
        }
    )


def test_every_strategy_contacts_the_same_number_per_manager():
    picks = {by: select_by(_candidates(), 2, by, COST, RATE) for by in STRATEGIES}
    for chosen in picks.values():
        assert chosen.groupby("account_manager_id").size().to_dict() == {"m1": 2, "m2": 2}
    ids = {by: set(c["customer_id"]) for by, c in picks.items()}
    assert ids["risk"] == {"a", "b", "d", "e"}
    assert ids["value-at-risk"] == {"b", "a", "f", "d"}  # P x V x s - c
    assert ids["uplift"] == {"b", "c", "e", "f"}  # uplift x V - c; d is a sleeping dog


def test_each_row_gives_its_expected_incremental_value():
    chosen = select_by(_candidates(), 3, "uplift", COST, RATE).set_index("customer_id")
    assert chosen.loc["b", INCREMENTAL] == pytest.approx(0.05 * 4000 - COST)
    assert chosen.loc["d", INCREMENTAL] == pytest.approx(-0.1 * 500 - COST)
    assert list(chosen.loc[chosen["account_manager_id"] == "m1", "priority"]) == [1, 2, 3]
    flat = select_by(_candidates().drop(columns="uplift"), 1, "risk", COST, RATE)
    assert (flat[INCREMENTAL] == flat["expected_saved_value"]).all()  # no model: P x V x s - c


def test_uplift_needs_estimates_and_strategies_are_checked():
    with pytest.raises(KpiError, match="needs each candidate's estimated effect"):
        select_by(_candidates().drop(columns="uplift"), 2, "uplift", COST, RATE)
    with pytest.raises(KpiError, match="must be one of"):
        select_by(_candidates(), 2, "profit", COST, RATE)


@pytest.fixture(scope="module")
def generated():
    data = generate(n_customers=2500, seed=9)
    truth = data.truth["customers"]
    preds = pd.DataFrame(
        {
            "customer_id": truth["customer_id"],
            "churn_probability": truth["mean_monthly_hazard"].fillna(0.05).clip(0, 1),
            "predicted_value": 3 * truth["initial_monthly_value"],
        }
    )
    return data, preds


def test_month_results_against_the_control_group(generated):
    data, _ = generated
    month = pd.Timestamp("2024-01-01")
    got = month_results(data.dataset, month, OutcomeConfig()).set_index("account_manager_id")
    contacts = data.dataset.tables["contacts"]
    in_month = contacts[contacts["ts"].dt.to_period("M") == "2024-01"]
    assert 0 < got["contacted"].sum() + got["control"].sum() <= len(in_month)
    assert got["control"].sum() < got["contacted"].sum()
    row = got.dropna().iloc[0]
    gap = row["churn_rate_control"] - row["churn_rate_contacted"]
    assert row["incremental_retained_value"] == pytest.approx(gap * row["contacted_value"])


def test_scorecard_reports_campaigns_beside_the_score(generated):
    data, preds = generated
    card = scorecard(data.dataset, preds, "2024-01", KpiConfig())
    tables = {k: v for k, v in data.dataset.tables.items() if k != "contacts"}
    plain = scorecard(type(data.dataset)(tables=tables, as_of=data.dataset.as_of), preds, "2024-01")
    assert "incremental_retained_value" in card and "incremental_retained_value" not in plain
    np.testing.assert_array_equal(card["score"], plain["score"])  # not inside the 100 points
    managers = card[card["level"] == "manager"]
    teams = card[card["level"] == "team"]
    assert teams["contacted"].sum() == managers["contacted"].sum() > 0
    assert list(card.columns)[-1] == "notes"


def test_churn_campaign_by_strategy(generated, tmp_path):
    data, preds = generated
    write_dataset(data, tmp_path / "data", fmt="parquet")
    preds.to_parquet(tmp_path / "preds.parquet")
    app = typer.Typer()
    campaign_command.register(app)
    kpi_command.register(app)  # two commands: typer keeps the command names
    base = ["campaign", "--asof", "2024-04-01", "--capacity", "5", "--data", str(tmp_path / "data")]
    base += ["--predictions", str(tmp_path / "preds.parquet")]
    sizes = {}
    for by in ("risk", "value-at-risk"):
        out = tmp_path / f"{by}.csv"
        result = CliRunner().invoke(app, [*base, "--by", by, "--out", str(out)])
        assert result.exit_code == 0, result.output
        written = pd.read_csv(out)
        assert INCREMENTAL in written.columns
        sizes[by] = written.groupby("account_manager_id").size().to_dict()
    assert sizes["risk"] == sizes["value-at-risk"]
    result = CliRunner().invoke(app, [*base, "--by", "uplift", "--out", str(tmp_path / "u.csv")])
    assert result.exit_code != 0 and "--by uplift" in result.output
    assert "Traceback" not in result.output
