"""The churn and value models on generated data: better than the rules people use, calibrated,
reproducible, and behaving sensibly when one input moves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.evaluation.compare import MODEL
from training.fit import fit_models

RULES = ("recency_rule", "rfm_score")


def test_churn_model_beats_the_rules_by_a_wide_margin(trained):
    churn = trained.evaluation.churn
    for rule in RULES:
        assert churn[MODEL]["roc_auc"] >= churn[rule]["roc_auc"] + 0.05, rule
        assert churn[MODEL]["pr_auc"] >= churn[rule]["pr_auc"] + 0.10, rule


def test_churn_model_beats_logistic_regression_on_the_same_features(trained):
    churn = trained.evaluation.churn
    lr = churn["logistic_regression"]
    assert churn[MODEL]["roc_auc"] >= lr["roc_auc"] + 0.003
    assert churn[MODEL]["pr_auc"] >= lr["pr_auc"] + 0.003
    assert churn[MODEL]["log_loss"] < lr["log_loss"]


def test_churn_model_discriminates_and_is_calibrated(trained):
    m = trained.evaluation.churn[MODEL]
    assert m["roc_auc"] > 0.85
    assert m["ece"] < 0.05
    assert m["top_decile_lift"] > 2.5
    p = trained.evaluation.churn_test["p_churn"]
    assert abs(p.mean() - m["base_rate"]) < 0.03


def test_value_model_beats_carry_forward(trained):
    value = trained.evaluation.value
    assert value[MODEL]["spearman"] > value["carry_forward"]["spearman"] + 0.05
    assert value[MODEL]["mae"] < 0.8 * value["carry_forward"]["mae"]
    assert value[MODEL]["gini"] > value["carry_forward"]["gini"]
    assert (trained.evaluation.value_test["value"] >= 0).all()


def test_every_metric_of_the_issue_is_reported(trained):
    churn_keys = {
        "roc_auc",
        "pr_auc",
        "log_loss",
        "brier",
        "ece",
        "top_decile_lift",
        "precision_at_10pct",
        "recall_at_10pct",
        "campaign_profit",
        "campaign_contact_share",
        "lost_value_captured_top_decile",
    }
    value_keys = {"mae", "rmse", "spearman", "gini", "top_decile_value_capture"}
    for scorer in trained.evaluation.churn.values():
        assert churn_keys <= set(scorer)
    for scorer in trained.evaluation.value.values():
        assert value_keys | {"decile_calibration_error"} <= set(scorer)


def test_same_data_config_and_seed_give_the_same_metrics(prepared, trained):
    again = fit_models(prepared.frame, prepared.plan, prepared.features, prepared.cfg)
    assert again.evaluation.churn == trained.evaluation.churn
    assert again.evaluation.value == trained.evaluation.value
    assert again.churn.booster.model_to_string() == trained.churn.booster.model_to_string()


def test_longer_inactivity_raises_churn_probability(trained):
    test = trained.split.test
    bundle = trained.churn
    before = bundle.predict(test)
    later = test.assign(recency_days=test["recency_days"] + 60)
    later["overdue_ratio"] = later["recency_days"] / later["gap_mean_days"]
    later["silence_vs_max_gap"] = later["recency_days"] / later["gap_max_days"]
    after = bundle.predict(later)
    assert after.mean() > before.mean() + 0.05
    assert (after >= before).mean() > 0.85


def test_account_manager_and_keys_are_not_features(trained):
    for bundle in (trained.churn, trained.value):
        assert not {"account_manager_id", "customer_id", "cutoff"} & set(bundle.feature_names)
        assert not {"churned", "future_value"} & set(bundle.feature_names)
    test = trained.split.test
    other = test.assign(account_manager_id="AM999", customer_id=[f"X{i}" for i in range(len(test))])
    assert np.array_equal(trained.churn.predict(other), trained.churn.predict(test))


def test_predictions_do_not_depend_on_row_order_or_batch(trained):
    test = trained.split.test
    p = pd.Series(trained.churn.predict(test), index=test.index)
    shuffled = test.sample(frac=1.0, random_state=1)
    p_shuffled = pd.Series(trained.churn.predict(shuffled), index=shuffled.index)
    pd.testing.assert_series_equal(p_shuffled.sort_index(), p.sort_index())
    one = trained.churn.predict(test.iloc[[5]])
    assert one[0] == p.iloc[5]


def test_bundles_record_label_definition_contract_and_window(trained):
    meta = trained.churn.metadata
    assert "T+90d" in meta["label_definition"]["window"]
    assert meta["contract_version"]
    assert meta["training_window"]["test_cutoff"] == f"{trained.plan.test:%Y-%m-%d}"
    assert meta["test_metrics"]["roc_auc"] == trained.evaluation.churn[MODEL]["roc_auc"]
    assert not trained.churn.calibrator.is_identity
    assert not trained.value.calibrator.is_identity  # isotonic on the calibration cutoff


@pytest.mark.parametrize("method", ["platt", "none"])
def test_other_calibration_methods_train(prepared, method):
    from dataclasses import replace

    from training.churn_model import fit_churn
    from training.spec import feature_spec
    from training.split import split_frame

    cfg = prepared.cfg.model_copy(
        update={"churn": prepared.cfg.churn.model_copy(update={"calibration": method})}
    )
    split = split_frame(prepared.frame, prepared.plan)
    small = replace(split, train=split.train.sample(3000, random_state=0))
    bundle, _ = fit_churn(small, feature_spec(prepared.frame), cfg, {})
    p = bundle.predict(split.test)
    assert ((p >= 0.001) & (p <= 0.999)).all()
    middle = np.linspace(0.01, 0.99, 50)
    # "none" only keeps probabilities off 0 and 1; the others fit a map
    assert np.allclose(bundle.calibrator.apply(middle), middle) == (method == "none")
