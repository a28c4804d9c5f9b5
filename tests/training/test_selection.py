"""Rolling-origin selection: folds fit only on earlier cutoffs, exact reasons of every candidate,
the choice by validation log loss, and the refit on every labelled cutoff."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.bundle import ModelBundle
from features.adapters.snapshot import infer_spec
from features.config import FeatureConfig
from features.pipeline.build import build_training_set
from features.synthetic.generator import generate
from scoring.treeshap.kernel import FastExplainer
from training.config import SelectionConfig, TrainingConfig
from training.fit import Trained, fit_models
from training.job import plan_for
from training.promotion import reaches
from training.selection import fold_rows
from training.split import plan_cutoffs

MONTHS = list(pd.date_range("2022-01-01", periods=24, freq="MS"))


def test_every_fold_fits_on_earlier_cutoffs_only_and_the_last_is_the_test_fold():
    plan = plan_cutoffs(MONTHS, horizon_days=90, n_train=6, n_validation=4)
    h = pd.Timedelta(days=90)
    assert [f.validation for f in plan.rolling] == MONTHS[-4:]
    for fold in plan.rolling:
        assert fold.early_stop + h <= fold.validation
        assert all(c + h <= fold.early_stop for c in fold.train)
        assert len(fold.train) == 6
    last = plan.rolling[-1]
    assert (last.train, last.early_stop, last.validation) == (
        plan.train,
        plan.calibration,
        plan.test,
    )
    assert plan.test in plan.refit_cutoffs and set(plan.refit_cutoffs) <= set(plan.all)
    assert min(plan.refit_cutoffs) == min(plan.rolling[0].train)


def test_a_short_history_validates_on_the_folds_that_fit():
    plan = plan_cutoffs(MONTHS[:9], horizon_days=90, n_train=1, n_validation=4)
    assert plan.rolling[-1].validation == MONTHS[8]
    assert 1 <= len(plan.rolling) < 4


@pytest.fixture(scope="module")
def small() -> Trained:
    ds = generate(700, seed=11).dataset
    features = FeatureConfig()
    cfg = TrainingConfig(selection=SelectionConfig(validation_cutoffs=2))
    plan = plan_for(ds, features, cfg)
    frame = build_training_set(ds, plan.all, features)
    return fit_models(frame, plan, features, cfg)


def test_the_lowest_validation_log_loss_is_chosen_and_the_table_has_every_scorer(small):
    sel = small.selection
    assert sel is not None
    table = sel.table()
    assert set(table.index) == {
        "lightgbm",
        "monotone",
        "regularised",
        "lr_boosted",
        "logistic_regression",
        "recency_rule",
        "rfm_score",
    }
    assert sel.auc.shape[1] == 2
    candidates = table.loc[["lightgbm", "monotone", "regularised", "lr_boosted"]]
    assert sel.chosen == candidates["mean log loss"].idxmin()
    assert sel.reaches == (
        table.loc[sel.chosen, "mean ROC-AUC"]
        >= table.loc[["logistic_regression", "recency_rule", "rfm_score"], "mean ROC-AUC"].max()
    )
    text = sel.sentence(True)
    assert (
        text.startswith("On your data") and "over 2 cutoff(s)" in text or sel.chosen == "lightgbm"
    )
    assert ("does not reach" in text) != sel.reaches
    assert small.churn.metadata["selection"]["candidate"] == sel.chosen
    assert reaches(small.churn) == sel.reaches


def test_the_registered_model_is_refitted_on_every_labelled_cutoff(small):
    registered, evaluated = small.churn, small.churn_evaluated
    assert evaluated is not None
    assert registered.metadata["fitted_on"].startswith("every labelled cutoff")
    assert f"{small.plan.test:%Y-%m-%d}" in registered.metadata["fitted_on"]
    rows = small.split.test.head(300)
    assert not np.allclose(registered.raw_predict(rows), evaluated.raw_predict(rows))


def test_a_model_boosted_from_a_logistic_regression_keeps_exact_reasons(small, tmp_path):
    ds = generate(500, seed=5).dataset
    features = FeatureConfig()
    cfg = TrainingConfig(
        selection=SelectionConfig(validation_cutoffs=1, candidates=("lr_boosted",))
    )
    plan = plan_for(ds, features, cfg)
    trained = fit_models(build_training_set(ds, plan.all, features), plan, features, cfg)
    bundle = trained.churn
    assert bundle.linear is not None and bundle.linear.numeric
    rows = trained.split.test.head(200)
    contrib = bundle.contributions(rows)
    margin = contrib.sum(axis=1).to_numpy()
    raw = bundle.raw_predict(rows)
    np.testing.assert_allclose(1 / (1 + np.exp(-margin)), raw, atol=1e-10)
    # the linear part is not a constant: without it the raw score changes
    trees_only = bundle.booster.predict(bundle.matrix(rows), raw_score=True)
    assert np.abs(trees_only - np.log(raw / (1 - raw))).max() > 0.1
    loaded = ModelBundle.load(bundle.save(tmp_path / "b"))
    np.testing.assert_allclose(loaded.predict(rows), bundle.predict(rows))
    np.testing.assert_allclose(FastExplainer(loaded).contributions(rows), contrib, atol=1e-9)


def test_the_gate_reads_whether_a_model_reached_the_references(small):
    meta = small.churn.metadata
    assert reaches(small.churn) is meta["selection"]["reaches_references"]
    no = {**meta, "selection": {**meta["selection"], "reaches_references": False}}
    from dataclasses import replace

    assert not reaches(replace(small.churn, metadata=no))
    assert reaches(replace(small.churn, metadata={}))  # bundles trained before the selection


def test_snapshot_drop_leaves_columns_out_and_positive_takes_text():
    raw = pd.DataFrame(
        {
            "id": [f"c{i}" for i in range(40)],
            "flag": ["Attrited Customer", "Existing Customer"] * 20,
            "age": np.arange(40.0),
            "leak": [0.9, 0.1] * 20,
        }
    )
    spec, infos = infer_spec(
        raw,
        name="t",
        label="flag",
        source="t.csv",
        id_column="id",
        positive="Attrited Customer",
        drop=("leak",),
    )
    assert spec.positive == ("Attrited Customer",)
    roles = {i.column: (i.role, i.note) for i in infos}
    assert roles["leak"] == ("dropped", "left out by --drop")
    assert roles["age"][0] == "feature"


def test_early_stopping_on_customers_trains_one_horizon_before_the_validated_cutoff():
    plan = plan_cutoffs(MONTHS[:9], horizon_days=90, n_train=1, n_validation=4)
    # a short history: the folds use one cutoff in three, the refit every one from the first
    assert plan.refit_cutoffs == tuple(MONTHS[min(plan.rolling[0].train).month - 1 : 9])
    assert len(plan.refit_cutoffs) > len({*plan.train, plan.calibration, plan.test})
    ids = [f"c{i}" for i in range(400)]
    frame = pd.DataFrame(
        [
            {"customer_id": c, "cutoff": m, "churned": float(i % 3 == 0)}
            for m in MONTHS[:9]
            for i, c in enumerate(ids)
        ]
    )
    fold = plan.rolling[-1]
    h = pd.Timedelta(days=90)
    train, stop = fold_rows(frame, fold, plan, TrainingConfig())  # the default
    used = set(pd.to_datetime(train["cutoff"])) | set(pd.to_datetime(stop["cutoff"]))
    assert used == {c for c in plan.refit_cutoffs if c + h <= fold.validation}  # 1 to 6: all
    assert fold.early_stop in used and len(used) > len(fold.train)  # no purged gap to stop on
    assert not set(train["customer_id"]) & set(stop["customer_id"])
    assert 0.1 < stop["customer_id"].nunique() / len(ids) < 0.3
    two = TrainingConfig.model_validate({"split": {"train_cutoffs": 2}})
    train, stop = fold_rows(frame, fold, plan, two)
    assert set(pd.to_datetime(train["cutoff"])) == set(sorted(used)[-2:])
    later = TrainingConfig(selection=SelectionConfig(early_stop="later_cutoff"))
    train, stop = fold_rows(frame, fold, plan, later)
    assert set(pd.to_datetime(stop["cutoff"])) == {fold.early_stop}
