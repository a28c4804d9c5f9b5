"""Generated data, its training set and fitted models, built once per test session."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pytest

from features.config import FeatureConfig
from features.dataset import Dataset
from features.pipeline.build import build_training_set
from features.synthetic.generator import generate
from training.config import TrainingConfig
from training.fit import Trained, fit_models
from training.job import plan_for
from training.split import CutoffPlan

N_CUSTOMERS = 3000
SEED = 7


@dataclass(frozen=True)
class Prepared:
    ds: Dataset
    features: FeatureConfig
    cfg: TrainingConfig
    plan: CutoffPlan
    frame: pd.DataFrame


@pytest.fixture(scope="session")
def prepared() -> Prepared:
    """A few thousand generated customers, the time split and the multi-cutoff training set."""
    ds = generate(N_CUSTOMERS, seed=SEED).dataset
    features = FeatureConfig()
    cfg = TrainingConfig(num_threads=1)
    plan = plan_for(ds, features, cfg)
    frame = build_training_set(ds, plan.all, features)
    return Prepared(ds, features, cfg, plan, frame)


@pytest.fixture(scope="session")
def trained(prepared: Prepared) -> Trained:
    """Both models fitted and evaluated with the baselines (no MLflow)."""
    return fit_models(prepared.frame, prepared.plan, prepared.features, prepared.cfg)
