"""Capacity-aware campaign selection: optimal under the capacity, better than sorting by probability."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from churn.commands import campaign as campaign_command
from churn.commands import kpi as kpi_command
from features.synthetic.generator import generate, write_dataset
from kpi.campaign import campaign_candidates, select_by_probability, select_campaign
from kpi.config import KpiError, OutcomeConfig

COST, SUCCESS = 25.0, 0.25


def _candidates(n: int = 3000, managers: int = 6, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "account_manager_id": rng.choice([f"m{i}" for i in range(managers)], n),
            "churn_probability": rng.beta(1.2, 4, n),
            "predicted_value": rng.lognormal(5, 1.3, n),  # heavy-tailed, business rule 3
            "reasons": [f"reason {i}" for i in range(n)],
        }
    )


@pytest.fixture(scope="module")
def generated():
    """A small generated book, and stand-in predictions from its hidden mean hazard and value."""
    data = generate(n_customers=1500, seed=5)
    truth = data.truth["customers"]
    hazard = truth["mean_monthly_hazard"].fillna(truth["mean_monthly_hazard"].median())
    preds = pd.DataFrame(
        {
            "customer_id": truth["customer_id"],
            "churn_probability": 1 - np.exp(-3 * hazard),
            "predicted_value": 3 * truth["initial_monthly_value"],
        }
    )
    return data, preds


def test_campaign_beats_sorting_by_probability_on_generated_data(generated):
    data, preds = generated
    asof = pd.Timestamp("2024-04-01")
    candidates = campaign_candidates(data.dataset, preds, asof, OutcomeConfig())
    assert candidates["account_manager_id"].nunique() >= 6
    for capacity in (5, 20):
        chosen = select_campaign(candidates, capacity, COST, SUCCESS)
        naive = select_by_probability(candidates, capacity, COST, SUCCESS)
        best, baseline = chosen["expected_saved_value"].sum(), naive["expected_saved_value"].sum()
        assert best > baseline * 1.1, (capacity, best, baseline)
        assert chosen.groupby("account_manager_id").size().max() <= capacity


def test_selection_is_optimal_per_manager_by_brute_force():
    small = _candidates(n=24, managers=2, seed=3)
    chosen = select_campaign(small, 3, COST, SUCCESS)
    for mid, group in small.groupby("account_manager_id"):
        esv = group["churn_probability"] * group["predicted_value"] * SUCCESS - COST
        best = max(
            sum(max(v, 0) for v in combo) for combo in itertools.combinations(esv.tolist(), 3)
        )
        got = chosen.loc[chosen["account_manager_id"] == mid, "expected_saved_value"].sum()
        assert got == pytest.approx(best)


def test_only_positive_expected_saved_value_in_priority_order_with_reasons():
    chosen = select_campaign(_candidates(), 50, cost=200.0, success_rate=0.2)
    assert (chosen["expected_saved_value"] > 0).all()
    assert chosen.groupby("account_manager_id").size().max() <= 50
    for _, group in chosen.groupby("account_manager_id"):
        assert group["priority"].tolist() == list(range(1, len(group) + 1))
        assert group["expected_saved_value"].is_monotonic_decreasing
    assert chosen["reasons"].str.startswith("reason ").all()
    row = chosen.iloc[0]
    p, v = row["churn_probability"], row["predicted_value"]
    assert row["value_at_risk"] == pytest.approx(p * v)
    assert row["expected_saved_value"] == pytest.approx(p * v * 0.2 - 200.0)


def test_zero_capacity_or_prohibitive_cost_selects_nobody():
    assert select_campaign(_candidates(), 0, COST, SUCCESS).empty
    assert select_campaign(_candidates(), 10, cost=1e12, success_rate=SUCCESS).empty


def test_bad_arguments_give_a_clear_message():
    with pytest.raises(KpiError, match="capacity per manager must be 0 or more, got -1"):
        select_campaign(_candidates(), -1, COST, SUCCESS)
    with pytest.raises(KpiError, match="success rate must be between 0 and 1, got 1.5"):
        select_campaign(_candidates(), 5, COST, 1.5)
    with pytest.raises(KpiError, match=r"lack column\(s\) account_manager_id"):
        select_campaign(_candidates().drop(columns="account_manager_id"), 5, COST, SUCCESS)


def test_no_active_customer_is_a_clear_message(generated):
    data, preds = generated
    with pytest.raises(KpiError, match="no assigned customer is active at 2020-01-01"):
        campaign_candidates(data.dataset, preds, pd.Timestamp("2020-01-01"), OutcomeConfig())


def test_churn_campaign_writes_the_list(generated, tmp_path):
    data, preds = generated
    write_dataset(data, tmp_path / "data", fmt="parquet")
    preds.assign(reasons=[["few recent purchases", "open complaint"]] * len(preds)).to_parquet(
        tmp_path / "preds.parquet"
    )
    out = tmp_path / "campaign.csv"
    app = typer.Typer()
    kpi_command.register(app)
    campaign_command.register(app)
    args = ["campaign", "--asof", "2024-04-01", "--capacity", "7", "--data", str(tmp_path / "data")]
    args += ["--predictions", str(tmp_path / "preds.parquet"), "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "highest probabilities per manager" in result.output
    written = pd.read_csv(out)
    assert written.groupby("account_manager_id").size().max() <= 7
    assert (written["reasons"] == "few recent purchases; open complaint").all()
    result = CliRunner().invoke(app, [*args, "--success-rate", "2"])
    assert result.exit_code == 2 and "success rate must be between 0 and 1" in result.output


def test_a_book_without_managers_is_one_team_with_one_capacity(generated):
    from dataclasses import replace

    from kpi.campaign_job import TEAM_WIDE, CampaignInputs, run_campaign
    from kpi.config import KpiConfig

    data, preds = generated
    ds = data.dataset
    plain = replace(
        ds,
        tables={
            **ds.tables,
            "customers": ds.tables["customers"].drop(columns=["account_manager_id"]),
        },
    )
    when = pd.Timestamp("2024-04-01")
    with pytest.raises(KpiError, match="no account_manager_id column"):
        campaign_candidates(plain, preds, when, OutcomeConfig())  # scorecards still need them
    result = run_campaign(CampaignInputs(plain, preds, when, capacity=15), KpiConfig())
    assert result.team_wide and len(result.chosen) == 15
    assert set(result.chosen["account_manager_id"]) == {TEAM_WIDE}
    managed = run_campaign(CampaignInputs(ds, preds, when, capacity=15), KpiConfig())
    assert not managed.team_wide and len(managed.chosen) > 15  # 15 per manager
