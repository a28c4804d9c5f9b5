"""A book growing older: a model trained on the first half of a generated history, when the book
was young, still ranks churners at the end of the history (a year and a half on, tenures and
silences longer than any it saw) at least as well as a logistic regression on recency, log
frequency and log monetary trained on the same half."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from features.config import FeatureConfig
from features.loaders import load_dataset
from features.pipeline.build import build_features, build_training_set
from features.synthetic.generator import generate, write_dataset
from training.bench.as_of import rfm_columns
from training.config import SelectionConfig, TrainingConfig
from training.fit import fit_models
from training.job import plan_for
from training.live import with_lifecycle
from training.spec import CHURN_LABEL, labelled

pytestmark = pytest.mark.slow


def test_a_model_trained_on_a_young_book_still_ranks_churners_when_it_is_older(tmp_path):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    write_dataset(generate(1500, seed=11), tmp_path)
    full = load_dataset(tmp_path)
    features, h = FeatureConfig(), pd.Timedelta(days=90)
    first = pd.Timestamp(full.tables["customers"]["signup_date"].min())
    mid = (first + (full.as_of - first) / 2).normalize()
    # what `churn train --as-of mid` sees: the events after mid are set aside
    young = load_dataset(tmp_path, as_of=f"{mid:%Y-%m-%d}", max_bad_row_share=None)
    cfg = TrainingConfig(selection=SelectionConfig(validation_cutoffs=1))
    plan = plan_for(young, features, cfg)
    frame = with_lifecycle(
        build_training_set(young, plan.all, features), young, plan.test, features, cfg.live
    )
    churn = fit_models(frame, plan, features, cfg).churn

    end = full.as_of - h  # the last date whose horizon is in the data
    assert (end - mid).days > 365
    at = labelled(build_features(full, end, features), CHURN_LABEL).reset_index(drop=True)
    before = labelled(build_features(young, mid - h, features), CHURN_LABEL)
    y = at[CHURN_LABEL].to_numpy(np.float64)
    lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    lr.fit(rfm_columns(before, features), before[CHURN_LABEL].to_numpy(np.float64))
    ours = roc_auc_score(y, churn.predict(at))
    theirs = roc_auc_score(y, lr.predict_proba(rfm_columns(at, features))[:, 1])
    assert ours >= theirs, (ours, theirs)
