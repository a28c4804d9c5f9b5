"""Campaign economics by segment, plan and customer, and the savings of each decision rule,
hand-computed on a few customers."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from churn.commands import campaign as campaign_command
from churn.commands import kpi as kpi_command
from core.economics import ContactCost, SuccessRate
from features.dataset import Dataset
from kpi.campaign import (
    campaign_candidates,
    candidate_economics,
    observed_churn,
    rule_savings,
    select_campaign,
    select_profitable,
)
from kpi.config import KpiError, OutcomeConfig, kpi_config_from_dict

JUNE = pd.Timestamp("2024-06-01")
COST = ContactCost(default=10.0, by_segment={"smb": 20.0}, by_plan={"gold": 50.0})
RATE = SuccessRate(default=0.5, by_segment={"smb": 0.25})


def _text(values: list) -> pd.Series:
    return pd.Series(values, dtype="str")


def test_a_figure_is_its_default_then_the_segments_then_the_plans():
    segment = _text(["smb", "smb", "retail", None])
    plan = _text(["basic", "gold", "gold", None])
    assert COST.resolve(segment, plan).tolist() == [20.0, 50.0, 50.0, 10.0]
    assert RATE.resolve(segment, plan).tolist() == [0.25, 0.25, 0.5, 0.5]
    assert ContactCost(default=3.0).resolve(None, None).tolist() == [3.0]


def test_yaml_takes_a_number_or_a_default_with_overrides_and_names_bad_ones():
    cfg = kpi_config_from_dict(
        {"campaign": {"cost_per_contact": 7, "success_rate": {"default": 0.3, "by_plan": {"x": 1}}}}
    ).campaign
    assert cfg.cost_per_contact == ContactCost(default=7.0)
    assert cfg.success_rate.resolve(None, _text(["x", "y"])).tolist() == [1.0, 0.3]
    with pytest.raises(KpiError, match=r"kpi.campaign.success_rate: must be a share from 0 to 1: "):
        kpi_config_from_dict(
            {"campaign": {"success_rate": {"default": 0.2, "by_segment": {"a": 2}}}}
        )
    with pytest.raises(
        KpiError, match=r"campaign.cost_per_contact: must be a number >= 0: by_plan.gold = -1"
    ):
        kpi_config_from_dict(
            {"campaign": {"contact_cost": {"default": 5, "by_plan": {"gold": -1}}}}
        )


def _candidates() -> pd.DataFrame:
    """Two managers; P x V: a 400, b 100, c 300, d 60, e 1000."""
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "account_manager_id": ["m1", "m1", "m1", "m2", "m2"],
            "churn_probability": [0.5, 0.1, 0.6, 0.2, 0.5],
            "predicted_value": [800.0, 1000.0, 500.0, 300.0, 2000.0],
            "segment": _text(["smb", "retail", "retail", "retail", "smb"]),
            "plan": _text(["basic", "basic", "gold", "basic", "basic"]),
            "contact_cost": [np.nan, np.nan, np.nan, 1.0, np.nan],
        }
    )


def test_each_customer_gets_own_cost_else_plan_else_segment_else_default():
    cost, rate = candidate_economics(_candidates(), COST, RATE)
    assert cost.tolist() == [20.0, 10.0, 50.0, 1.0, 20.0]  # d has its own cost
    assert rate.tolist() == [0.25, 0.5, 0.5, 0.5, 0.25]
    flat, _ = candidate_economics(_candidates(), 5.0, 0.5)
    assert flat.tolist() == [5.0, 5.0, 5.0, 1.0, 5.0]  # a number replaces the rule, not d's own


def test_rules_against_nobody_and_everybody_by_hand():
    # expected profit P x V x s - c: a 400x.25-20=80, b 100x.5-10=40, c 300x.5-50=100,
    # d 60x.5-1=29, e 1000x.25-20=230; all positive
    chosen = select_campaign(_candidates(), 1, COST, RATE)
    assert chosen["customer_id"].tolist() == ["c", "e"]
    assert chosen["expected_saved_value"].tolist() == pytest.approx([100.0, 230.0])
    assert select_profitable(_candidates(), COST, RATE)["customer_id"].tolist() == list("cabed")
    churned = pd.Series([True, False, False, True, True], index=list("abcde"))
    table = rule_savings(_candidates(), 1, COST, RATE, churned).set_index("rule")
    everybody = 80 + 40 + 100 + 29 + 230
    top = table.loc["top 1 per manager by expected profit"]
    assert (top["contacts"], top["cost"]) == (2, 70.0)
    assert top["expected_kept_value"] == pytest.approx(150 + 250)
    assert top["saving_vs_nobody"] == pytest.approx(330)
    assert top["saving_vs_everybody"] == pytest.approx(330 - everybody)
    naive = table.loc["top 1 per manager by probability"]  # c (0.6) and e (0.5)
    assert naive["saving_vs_nobody"] == pytest.approx(330)
    assert table.loc["everybody", "saving_vs_nobody"] == pytest.approx(everybody)
    assert table.loc["nobody", "saving_vs_everybody"] == pytest.approx(-everybody)
    # realised: V x s of the contacted who did churn (c stayed, e churned), less the cost
    assert top["realised_saving_vs_nobody"] == pytest.approx(2000 * 0.25 - 70)
    realised_all = 800 * 0.25 + 300 * 0.5 + 2000 * 0.25 - (20 + 10 + 50 + 1 + 20)
    assert table.loc["everybody", "realised_saving_vs_nobody"] == pytest.approx(realised_all)
    assert table.loc["nobody", "realised_saving_vs_everybody"] == pytest.approx(-realised_all)


def test_expected_profit_rule_drops_those_not_worth_their_cost():
    costly = ContactCost(default=10.0, by_plan={"gold": 200.0})
    kept = select_profitable(_candidates(), costly, RATE)["customer_id"].tolist()
    assert "c" not in kept and set(kept) == {"a", "b", "d", "e"}  # c: 150 - 200 < 0


def _book(costs: list) -> Dataset:
    customers = pd.DataFrame(
        {
            "customer_id": _text(["a", "b", "c"]),
            "signup_date": pd.to_datetime(["2023-01-01"] * 3),
            "account_manager_id": _text(["m1", "m1", "m2"]),
            "segment": _text(["smb", "retail", "smb"]),
            "plan": _text(["basic", "gold", "basic"]),
            "contact_cost": costs,
        }
    )
    tx = pd.DataFrame(
        {
            "customer_id": _text(["a", "b", "c", "a"]),
            "ts": pd.to_datetime(["2024-05-01", "2024-05-02", "2024-05-03", "2024-07-01"]),
            "amount": [10.0, 10.0, 10.0, 10.0],
        }
    )
    return Dataset(
        tables={"customers": customers, "transactions": tx}, as_of=pd.Timestamp("2024-09-30")
    )


def _predictions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "churn_probability": [0.5, 0.5, 0.5],
            "predicted_value": [400.0, 400.0, 400.0],
            "my_cost": [3.0, None, "n/a"],
        }
    )


def test_candidates_carry_segment_plan_and_own_costs_with_a_note_for_bad_ones():
    notes: list[str] = []
    ds = _book([7.0, -2.0, np.nan])
    got = campaign_candidates(ds, _predictions(), JUNE, OutcomeConfig(), notes=notes)
    got = got.set_index("customer_id")
    assert got["segment"].tolist() == ["smb", "retail", "smb"] and got["plan"].iloc[1] == "gold"
    assert got["contact_cost"].iloc[0] == 7.0 and got["contact_cost"].iloc[1:].isna().all()
    assert notes == [
        "customers table, column contact_cost: 1 customer(s) have a contact cost that is not a "
        "number >= 0 (b: -2.0); their configured cost applies"
    ]
    notes.clear()
    got = campaign_candidates(ds, _predictions(), JUNE, OutcomeConfig(), "my_cost", notes)
    own = got.set_index("customer_id")["contact_cost"]
    assert own["a"] == 3.0 and own[["b", "c"]].isna().all()  # the column beats the table
    assert notes[0].startswith("customers table, column contact_cost: 1 customer(s)")
    assert (
        notes[1].startswith("predictions, column my_cost: 1 customer(s)") and "c: n/a" in notes[1]
    )
    with pytest.raises(KpiError, match=r"predictions have no column 'cost' for the contact cost"):
        campaign_candidates(ds, _predictions(), JUNE, OutcomeConfig(), "cost")


def _cli(tmp_path, *extra: str):
    folder = tmp_path / "data"
    folder.mkdir(exist_ok=True)
    for name, frame in _book([7.0, np.nan, np.nan]).tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    (folder / "dataset.yaml").write_text("as_of: 2024-09-30\n", encoding="utf-8")
    _predictions().to_csv(tmp_path / "preds.csv", index=False)
    app = typer.Typer()
    campaign_command.register(app)
    kpi_command.register(app)  # two commands: the app takes the command's name
    args = ["campaign", "--asof", "2024-06-01", "--data", str(folder), "--capacity", "1"]
    args += ["--predictions", str(tmp_path / "preds.csv"), "--out", str(tmp_path / "list.csv")]
    return CliRunner().invoke(app, [*args, *extra])


def test_churn_campaign_reports_the_savings_of_each_rule(tmp_path):
    result = _cli(tmp_path, "--cost", "my_cost", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    savings = {r["rule"]: r for r in data["savings"]}
    # P x V x s = 50 each; costs a 3 (column), b 25 (default), c 25 (default: "n/a" noted)
    assert savings["everybody"]["saving_vs_nobody"] == pytest.approx(150 - 53)
    top = savings["top 1 per manager by expected profit"]  # a (47) for m1, c (25) for m2
    assert top["contacts"] == 2 and top["saving_vs_nobody"] == pytest.approx(47 + 25)
    written = pd.read_csv(tmp_path / "list.csv")
    assert written["contact_cost"].tolist() == [3.0, 25.0]
    result = _cli(tmp_path, "--cost", "40", "--format", "csv")
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(io.StringIO(result.stdout))
    assert set(frame["table"]) == {"managers", "savings"}
    result = _cli(tmp_path, "--cost", "nope")
    assert result.exit_code == 2 and "predictions have no column 'nope'" in result.output
    assert "Traceback" not in result.output


def test_observed_churn_once_the_data_reaches_the_horizon():
    ds = _book([np.nan] * 3)
    seen = observed_churn(ds, JUNE, OutcomeConfig(), 90)
    assert seen is not None and seen.to_dict() == {"a": False, "b": True, "c": True}
    assert observed_churn(ds, JUNE, OutcomeConfig(), 200) is None  # to Dec 17th: not in the data


def test_the_recommended_rule_keeps_to_the_capacity_and_the_unbounded_one_is_the_bound():
    from kpi.campaign import UPPER_BOUND_RULE, recommended_rule

    savings = pd.DataFrame(
        {
            "rule": [
                "top 3 by profit",
                "top 3 by probability",
                UPPER_BOUND_RULE,
                "everybody",
                "nobody",
            ],
            "saving_vs_nobody": [100.0, 120.0, 500.0, 900.0, 0.0],
        }
    )
    assert recommended_rule(savings) == ("top 3 by probability", UPPER_BOUND_RULE)
