"""Snapshot mode: folds never split duplicates, and cross-validation measures a real signal."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from core.economics import CampaignEconomics
from features.adapters.snapshot import (
    COST,
    REASON,
    SOURCE_ROW,
    AdapterError,
    SnapshotSpec,
    infer_spec,
    read_snapshot,
)
from training.config import BoosterParams, TrainingConfig
from training.evaluation.metrics import churn_metrics
from training.snapshot.models import (
    CARRY_FORWARD,
    LOGISTIC,
    LR_BOOSTED,
    MODEL,
    SnapshotConfig,
    campaign_with_costs,
    cross_validate,
    fit_churn_crossfit,
    group_folds,
    refit_churn,
    snapshot_spec,
)
from training.spec import TrainingDataError

SPEC = SnapshotSpec(
    name="synthetic",
    id_column="id",
    label="left",
    positive=("yes",),
    negative=("no",),
    numeric=("usage", "complaints", "spend"),
    categorical=("plan",),
    value="spend",
)
FAST = TrainingConfig(num_threads=1, early_stopping_rounds=20)
SNAP = SnapshotConfig(folds=3, inner_folds=3, churn_candidates=())


def synthetic(n: int, seed: int, duplicates: int = 0) -> pd.DataFrame:
    """A raw text snapshot whose churn depends on an interaction (complaints x low usage)."""
    rng = np.random.default_rng(seed)
    usage = rng.gamma(2.0, 50.0, n)
    complaints = rng.poisson(0.5, n)
    plan = rng.choice(["basic", "plus", "pro"], n)
    spend = rng.gamma(2.0, 30.0, n) * np.where(plan == "pro", 2.0, 1.0)
    logit = -2.0 + 2.5 * ((complaints > 0) & (usage < 60)) + 1.0 * (plan == "basic")
    left = rng.random(n) < 1 / (1 + np.exp(-logit))
    raw = pd.DataFrame(
        {
            "id": [f"c{i}" for i in range(n)],
            "left": np.where(left, "yes", "no"),
            "usage": usage.round(1).astype(str),
            "complaints": complaints.astype(str),
            "spend": spend.round(2).astype(str),
            "plan": plan,
        }
    )
    if duplicates:
        copies = raw.sample(duplicates, random_state=seed).assign(id=lambda f: f["id"] + "-dup")
        raw = pd.concat([raw, copies], ignore_index=True)
    raw.insert(0, SOURCE_ROW, np.arange(len(raw)) + 2)
    return raw.astype({c: "str" for c in raw.columns if c != SOURCE_ROW})


def test_group_folds_keep_duplicates_together_and_stratify():
    rng = np.random.default_rng(0)
    y = (rng.random(1000) < 0.2).astype(float)
    groups = np.arange(1000)
    groups[900:] = groups[:100]  # rows 900.. repeat rows 0..99
    y[900:] = y[:100]
    folds = group_folds(y, groups, 5, seed=1)
    seen = np.zeros(1000, dtype=int)
    for train, test in folds:
        assert not set(groups[train]) & set(groups[test])
        assert abs(y[test].mean() - y.mean()) < 0.03
        seen[test] += 1
    assert (seen == 1).all()


def test_group_folds_fall_back_for_mixed_label_groups():
    y = np.array([0, 1] * 50, dtype=float)
    groups = np.repeat(np.arange(25), 4)  # every group holds both labels
    for train, test in group_folds(y, groups, 5, seed=0):
        assert not set(groups[train]) & set(groups[test])


def test_single_label_is_refused():
    with pytest.raises(TrainingDataError, match="single value"):
        group_folds(np.zeros(50), np.arange(50), 5, seed=0)


def test_cross_validation_measures_the_signal_and_the_value_model():
    data = read_snapshot(synthetic(1500, seed=4, duplicates=60), SPEC, "synthetic.csv")
    assert data.duplicate_rows == 60

    def rules(frame: pd.DataFrame) -> dict[str, np.ndarray]:
        return {"complained": frame["complaints"].to_numpy(float)}

    res = cross_validate(data, rules, FAST, SNAP)
    assert res.rows == 1560 and res.folds == 3
    assert set(res.churn) == {MODEL, LOGISTIC, "complained"}
    model, rule = res.churn[MODEL], res.churn["complained"]
    f = data.frame
    true_logit = 2.5 * ((f["complaints"] > 0) & (f["usage"] < 60)) + 1.0 * (f["plan"] == "basic")
    oracle = roc_auc_score(f["churned"], true_logit)
    assert model["roc_auc"] > oracle - 0.03
    assert model["roc_auc"] > res.churn[LOGISTIC]["roc_auc"] + 0.01  # the interaction
    assert model["roc_auc"] > rule["roc_auc"] + 0.05
    assert model["top_decile_lift"] > rule["top_decile_lift"]
    assert res.churn_std[MODEL]["roc_auc"] < 0.05
    assert res.value[MODEL]["spearman"] > res.value[CARRY_FORWARD]["spearman"]
    oof = res.out_of_fold
    assert (oof["fold"] >= 0).all() and oof[f"p_{MODEL}"].between(0, 1).all()
    dup = oof["customer_id"].str.endswith("-dup")
    originals = oof.set_index("customer_id").loc[oof.loc[dup, "customer_id"].str[:-4], "fold"]
    assert (originals.to_numpy() == oof.loc[dup, "fold"].to_numpy()).all()
    assert any("kept inside one fold" in n for n in res.notes)


def test_cross_validation_is_reproducible():
    data = read_snapshot(synthetic(600, seed=5), SPEC, "synthetic.csv")
    first = cross_validate(data, lambda f: {}, FAST, SNAP)
    second = cross_validate(data, lambda f: {}, FAST, SNAP)
    assert first.churn == second.churn and first.value == second.value


def test_a_snapshot_with_no_accepted_row_says_so_with_the_commonest_reasons():
    raw = synthetic(30, seed=6).assign(left="maybe")
    raw.loc[:4, "usage"] = "lots"
    with pytest.raises(AdapterError) as err:
        read_snapshot(raw, SPEC, "all_bad.csv")
    text = str(err.value)
    assert "all_bad.csv: no rows accepted: all 30 rows were rejected" in text
    assert "\"left: label must be one of 'yes', 'no'\" (30 rows, first at row 2)" in text
    assert "'usage: not a number' (5 rows, first at row 2)" in text
    with pytest.raises(AdapterError, match="no rows to read"):
        read_snapshot(raw.head(0), SPEC, "empty.csv")


def _layout(n: int = 60) -> pd.DataFrame:
    """A text snapshot of an unknown layout: ids, a text label, numbers, text, junk columns."""
    raw = synthetic(n, seed=7).rename(columns={"id": "Cust ID", "left": "Status"})
    raw["Status"] = np.where(raw["Status"] == "yes", "Churned", "Active")
    raw["Monthly Fee"] = raw["spend"]
    raw["country"] = "NL"
    raw["note"] = [f"free text {i}" for i in range(n)]
    raw["blank"] = ""
    raw["Unnamed: 0"] = [str(i) for i in range(n)]
    raw["cost"] = "2.5"
    raw.loc[3, "usage"] = "n/a"  # one bad number: the row is rejected, the column stays numeric
    return raw


def test_infer_spec_types_columns_drops_ids_and_constants_and_says_why():
    raw = _layout()
    spec, columns = infer_spec(
        raw,
        name="acme",
        label="Status",
        source="acme.csv",
        id_column="Cust ID",
        positive="churned",
        value="spend",
        cost="cost",
    )
    assert spec.numeric == ("usage", "complaints", "spend", "Monthly Fee")
    assert spec.categorical == ("plan",)
    assert (spec.positive, spec.negative) == (("Churned",), ("Active",))
    roles = {c.column: (c.role, c.note) for c in columns}
    assert roles["Cust ID"][0] == "id" and roles["Status"][0] == "label"
    assert roles["cost"][0] == "cost" and roles["spend"][0] == "value"
    assert roles["country"] == ("dropped", "one value only")
    assert roles["blank"] == ("dropped", "no values")
    assert roles["note"] == ("dropped", "every value differs: an id or free text")
    assert roles["Unnamed: 0"] == ("dropped", "named like a row id and every value differs")
    data = read_snapshot(raw, spec, "acme.csv")
    assert data.report.rejected == 1 and "usage: not a number" in data.rejects[REASON].iloc[0]
    assert data.cost == COST and (data.frame[COST] == 2.5).all()
    assert COST not in data.features and "monthly_fee" in data.features
    assert data.source_columns["monthly_fee"] == "Monthly Fee"


def test_infer_spec_guesses_the_positive_label_or_asks_for_it():
    raw = _layout()
    one_zero = raw.assign(Status=np.where(raw["Status"] == "Churned", "1", "0"))
    spec, _ = infer_spec(one_zero, name="a", label="Status", source="a.csv")
    assert spec.positive == ("1",)
    assert infer_spec(raw, name="a", label="Status", source="a.csv")[0].positive == ("Churned",)
    gone = raw.assign(Status=raw["Status"].replace({"Churned": "Gone"}))
    with pytest.raises(AdapterError, match="give --positive VALUE"):
        infer_spec(gone, name="a", label="Status", source="a.csv")
    three = raw.assign(Status=np.resize(["a", "b", "c"], len(raw)))
    with pytest.raises(AdapterError, match="3 distinct values"):
        infer_spec(three, name="a", label="Status", source="a.csv")
    with pytest.raises(AdapterError, match="'gone' is not a value"):
        infer_spec(raw, name="a", label="Status", source="a.csv", positive="gone")
    with pytest.raises(AdapterError, match="--value column 'plan' is not numeric"):
        infer_spec(raw, name="a", label="Status", source="a.csv", positive="Churned", value="plan")
    with pytest.raises(AdapterError, match="missing column"):
        infer_spec(raw, name="a", label="Churn", source="a.csv")


def test_feature_names_stay_unique_and_off_reserved_names():
    spec = SnapshotSpec(
        name="x",
        label="y",
        positive=("1",),
        negative=("0",),
        numeric=("Value", "value ", "Churned", "customer id", "Contact Cost"),
    )
    names = ["value", "value_2", "churned_2", "customer_id_2", "contact_cost"]
    assert list(spec.feature_names().values()) == names
    with_value = replace(spec, value="Value", cost="Contact Cost")
    names = ["value_2", "value_3", "churned_2", "customer_id_2", "contact_cost_2"]
    assert list(with_value.feature_names().values()) == names


def test_per_customer_costs_follow_the_saved_value_rule():
    rng = np.random.default_rng(8)
    p, y = rng.random(400), (rng.random(400) < 0.3).astype(float)
    value = rng.gamma(2.0, 50.0, 400)
    econ = CampaignEconomics(cost_per_contact=5.0, success_rate=0.3)
    flat = churn_metrics(p, y, value, top_k_shares=(0.1,), economics=econ)
    same = campaign_with_costs(p, y, value, np.full(400, 5.0), econ)
    assert same["campaign_profit"] == pytest.approx(flat["campaign_profit"])
    assert same["campaign_contact_share"] == flat["campaign_contact_share"]
    dear = campaign_with_costs(p, y, value, np.full(400, 5.0) + 20 * (value > 80), econ)
    assert dear["campaign_profit"] < same["campaign_profit"]


def _linear(n: int, seed: int) -> pd.DataFrame:
    """A raw snapshot whose churn log-odds are smooth and additive in usage and spend."""
    raw = synthetic(n, seed)
    usage, spend = raw["usage"].astype(float), raw["spend"].astype(float)
    rng = np.random.default_rng(seed + 1)
    logit = 1.0 - 1.2 * np.log1p(usage / 50.0) * 2.0 + 0.8 * (spend - spend.mean()) / spend.std()
    raw["left"] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return raw


@pytest.mark.parametrize(("make", "chosen"), [(_linear, LR_BOOSTED), (synthetic, "lightgbm")])
def test_the_cross_fit_boosts_from_a_regression_where_churn_is_additive(make, chosen):
    data = read_snapshot(make(2000, seed=6), SPEC, "synthetic.csv")
    frame, spec = data.frame, snapshot_spec(data)
    train = np.arange(1500)
    snap = SnapshotConfig(inner_folds=3, churn_candidates=(BoosterParams(num_leaves=7),))
    bundle = fit_churn_crossfit(frame, spec, train, data.groups, FAST, snap, seed=1)
    assert bundle.metadata["candidate"] == chosen
    assert (bundle.linear is not None) == (chosen == LR_BOOSTED)
    held = frame.iloc[1500:]
    margin = np.asarray(bundle.raw_predict(held), dtype=float)
    contrib = bundle.contributions(held).to_numpy().sum(axis=1)
    np.testing.assert_allclose(contrib, np.log(margin / (1 - margin)), atol=1e-9)  # exact reasons
    every = refit_churn(bundle, frame, spec, np.arange(2000), len(train), FAST, snap)
    assert every.metadata["candidate"] == chosen and (every.linear is None) == (
        bundle.linear is None
    )
    assert every.booster.current_iteration() >= bundle.booster.current_iteration()
