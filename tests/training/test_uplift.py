"""The uplift model: Qini and AUUC, learners that find who a contact changes, and its place in
the training run (logged, registered and gated with the churn and value models)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from core.registry import CHAMPION, alias_version, pair_versions
from core.uplift import UpliftModel, load_uplift
from features.config import FeatureConfig
from features.pipeline.build import build_features
from features.synthetic.generator import generate
from training.job import train
from training.uplift.campaign_job import CrossValidation
from training.uplift.config import UpliftConfig, UpliftError
from training.uplift.data import contact_rows, split_rows
from training.uplift.metrics import auuc, qini_coefficient, qini_curve, uplift_at
from training.uplift.model import fit_uplift


def test_qini_curve_counts_the_customers_kept():
    y = np.array([1, 0, 1, 1, 0, 0, 1, 0], dtype=float)  # 1: stayed
    t = np.array([1, 1, 0, 1, 0, 1, 0, 0])
    score = np.arange(8, 0, -1, dtype=float)
    k, q = qini_curve(y, t, score)
    # brute force: top k, treated successes minus control successes scaled by N_t / N_c
    for i in range(1, 9):
        yt, tt = y[:i], t[:i]
        nc = (tt == 0).sum()
        want = yt[tt == 1].sum() - (yt[tt == 0].sum() * (tt == 1).sum() / nc if nc else 0.0)
        assert q[i] == pytest.approx(want)
    assert k[-1] == 8 and q[0] == 0


def test_perfect_ranking_scores_one_and_reversed_below_random():
    rng = np.random.default_rng(0)
    y, t = (rng.random(400) < 0.5).astype(float), (rng.random(400) < 0.8).astype(int)
    perfect = y * t - y * (1 - t)
    assert qini_coefficient(y, t, perfect) == pytest.approx(1.0)
    assert auuc(y, t, perfect) == pytest.approx(1.0)
    assert qini_coefficient(y, t, -perfect) < 0
    randoms = [qini_coefficient(y, t, rng.random(400)) for _ in range(30)]
    assert abs(np.mean(randoms)) < 0.05
    assert uplift_at(y, t, perfect, 0.6) > uplift_at(y, t, -perfect, 0.6)
    with pytest.raises(ValueError, match="both"):
        qini_coefficient(y, np.ones(400), perfect)


def test_cross_validation_keeps_each_folds_qini_and_its_standard_error():
    cv = CrossValidation({"x": (0.01, 0.05, 0.03), "linear": (0.02, 0.02, 0.02)})
    assert cv.mean == pytest.approx({"x": 0.03, "linear": 0.02})
    # the folds' sample std (ddof 1) over sqrt(folds): 0.02 / sqrt(3); identical folds: none
    assert cv.standard_error == pytest.approx({"x": 0.02 / np.sqrt(3), "linear": 0.0})


@pytest.fixture(scope="module")
def generated(prepared):
    """The training conftest's book again (3,000 customers, seed 7), with its hidden truth."""
    data = generate(3000, 7)
    pd.testing.assert_frame_equal(data.dataset.tables["customers"], prepared.ds.tables["customers"])
    return data


def test_contact_rows_are_point_in_time_and_split_by_campaign(prepared, trained):
    rows = contact_rows(prepared.ds, prepared.features, prepared.plan.horizon_days, prepared.frame)
    assert {"treated", "churned", "cutoff"} <= set(rows.columns)
    assert (rows["cutoff"].dt.day == 1).all() and rows["churned"].notna().all()
    split = split_rows(rows, prepared.plan.test, prepared.plan.horizon_days)
    h = pd.Timedelta(days=prepared.plan.horizon_days)
    assert (split.train["cutoff"] + h <= prepared.plan.test).all()
    assert (split.holdout["cutoff"] + h > prepared.plan.test).all()
    assert split.holdout["treated"].nunique() == 2


def test_contact_rows_taken_from_the_training_set_are_those_built_afresh(prepared):
    """Only the contacted customers' rows are copied out of the training set: the same rows
    (features, label, treatment) as building the contact months alone."""
    args = (prepared.ds, prepared.features, prepared.plan.horizon_days)
    reused, fresh = contact_rows(*args, prepared.frame), contact_rows(*args)
    assert len(reused) == len(fresh) > 0
    assert reused["cutoff"].isin(prepared.frame["cutoff"]).any()  # some rows came from it
    key = ["cutoff", "customer_id"]
    cols = [c for c in fresh.columns if c in reused.columns]
    a, b = (f[cols].sort_values(key).reset_index(drop=True) for f in (reused, fresh))
    pd.testing.assert_frame_equal(a, b, check_dtype=False, check_categorical=False)


def test_x_learner_ranks_persuadables_above_the_rest(prepared, trained, generated, tmp_path):
    """On this small book (3,000 customers) the X-learner already separates the persuadables;
    the S-learner needs more contacts (benchmarks/uplift.py measures it on 10,000)."""
    rows = contact_rows(prepared.ds, prepared.features, prepared.plan.horizon_days, prepared.frame)
    split = split_rows(rows, prepared.plan.test, prepared.plan.horizon_days)
    model = fit_uplift(split.train, trained.spec, UpliftConfig(learner="x"), seed=1)
    now = build_features(prepared.ds, prepared.ds.as_of, prepared.features, labels=False)
    effect = pd.Series(model.predict(now), index=now["customer_id"].astype("str"))
    truth = generated.truth["customers"].set_index("customer_id")
    kind = truth["treatment_type"].reindex(effect.index)
    by_kind = effect.groupby(kind.to_numpy()).mean()
    persuadable = (kind == "persuadable").to_numpy()
    assert by_kind["persuadable"] > by_kind["sure_thing"]
    assert effect[persuadable].mean() > 1.2 * effect[~persuadable].mean()
    again = UpliftModel.load(model.save(tmp_path / "m"))  # text + JSON round trip
    np.testing.assert_allclose(again.predict(now), effect.to_numpy())


def test_too_few_contacts_is_a_clear_error(prepared, trained):
    rows = contact_rows(prepared.ds, prepared.features, prepared.plan.horizon_days, prepared.frame)
    with pytest.raises(UpliftError, match="too few labelled contacts"):
        fit_uplift(rows.head(50), trained.spec, UpliftConfig(), seed=1)


@pytest.mark.slow
def test_training_run_registers_uplift_model_with_the_pair(prepared, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = train(prepared.ds, prepared.cfg, prepared.features, tracking_uri=uri, progress=False)
    name = UpliftConfig().model_name
    assert name in result.versions and result.decisions[name].outcome == "champion"
    client = MlflowClient(uri)
    churn_name = prepared.cfg.churn_model_name
    pair = pair_versions(client, churn_name, result.versions[churn_name])
    assert pair[name] == result.versions[name]  # moves with the pair on promote and rollback
    assert alias_version(client, name, CHAMPION) == result.versions[name]
    metrics = client.get_run(result.run_id).data.metrics
    assert {"uplift/uplift_model/qini", "uplift/risk/qini", "uplift/random/auuc"} <= set(metrics)
    model, version = load_uplift(name, CHAMPION, uri)
    assert version == result.versions[name] and model.metadata["run_id"] == result.run_id
    now = build_features(prepared.ds, prepared.ds.as_of, FeatureConfig(), labels=False)
    effect = model.predict(now)
    assert np.isfinite(effect).all() and np.ptp(effect) > 0 and np.abs(effect).max() < 1
