"""Snapshot mode: folds never split duplicates, and cross-validation measures a real signal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from features.adapters.snapshot import SOURCE_ROW, SnapshotSpec, read_snapshot
from training.config import TrainingConfig
from training.snapshot.models import (
    CARRY_FORWARD,
    LOGISTIC,
    MODEL,
    SnapshotConfig,
    cross_validate,
    group_folds,
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
