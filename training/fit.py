"""Train and evaluate both models on a multi-cutoff training set (pure: no files, no MLflow)."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
from threadpoolctl import threadpool_limits

from core.bundle import ModelBundle
from features.config import FeatureConfig
from features.contract import CONTRACT_VERSION
from training.boosting import Fitted
from training.churn_model import fit_churn_selected
from training.config import TrainingConfig
from training.evaluation.compare import MODEL, Evaluation, evaluate
from training.selection import Selection, fold_rows
from training.spec import FeatureSpec, feature_spec
from training.split import CutoffPlan, Split, split_frame
from training.value_model import fit_value, refit_value


@dataclass(frozen=True)
class Trained:
    """Both bundles (test metrics in their metadata), the split and the evaluation."""

    spec: FeatureSpec
    plan: CutoffPlan
    split: Split
    churn: ModelBundle
    value: ModelBundle
    churn_fit: Fitted
    value_fit: Fitted
    evaluation: Evaluation
    timings: dict[str, float]  # seconds: churn model, value model, evaluation with baselines
    churn_evaluated: ModelBundle | None = None
    """The chosen churn candidate as fitted on the test fold (test metrics and the gate are its);
    ``churn`` is the same candidate refitted on every labelled cutoff, the one registered."""
    value_evaluated: ModelBundle | None = None
    selection: Selection | None = None

    @property
    def evaluated(self) -> dict[str, ModelBundle]:
        """Kind -> the out-of-sample bundle the test metrics describe."""
        return {
            "churn": self.churn_evaluated or self.churn,
            "value": self.value_evaluated or self.value,
        }


def base_metadata(
    frame: pd.DataFrame, plan: CutoffPlan, features: FeatureConfig, cfg: TrainingConfig
) -> dict[str, Any]:
    """What every bundle records about its data: label definition, contract, window, configs."""
    return {
        "label_definition": frame.attrs.get("label_definition", "unknown"),
        "contract_version": CONTRACT_VERSION,
        "horizon_days": plan.horizon_days,
        "training_window": plan.describe(),
        "feature_config": features.model_dump(mode="json"),
        "seed": cfg.seed,
    }


def fit_models(
    frame: pd.DataFrame, plan: CutoffPlan, features: FeatureConfig, cfg: TrainingConfig
) -> Trained:
    """Split by time, fit the churn and value models, evaluate them and the baselines on test.

    BLAS and OpenMP pools are held to ``cfg.num_threads`` like LightGBM (see docs/training.md).
    """
    with threadpool_limits(limits=cfg.num_threads):
        return _fit_models(frame, plan, features, cfg)


def _fit_models(
    frame: pd.DataFrame, plan: CutoffPlan, features: FeatureConfig, cfg: TrainingConfig
) -> Trained:
    spec = feature_spec(frame)
    split = split_frame(frame, plan)
    meta = base_metadata(frame, plan, features, cfg)
    t0 = time.perf_counter()
    churn, churn_ev, churn_fit, sel = fit_churn_selected(frame, plan, spec, cfg, meta)
    t1 = time.perf_counter()
    value_ev, value_fit = fit_value(split, spec, cfg, meta)
    cutoffs = plan.refit_cutoffs
    value = refit_value(frame, cutoffs, spec, cfg, value_ev, value_fit.best_iteration)
    t2 = time.perf_counter()
    # the test-cutoff baselines learn and are calibrated as the evaluated churn model was
    ev = evaluate(
        split, spec, churn_ev, value_ev, cfg, plan.horizon_days,
        fold_rows(frame, plan.rolling[-1], plan, cfg),
    )  # fmt: skip
    timings = {"churn": t1 - t0, "value": t2 - t1, "evaluation": time.perf_counter() - t2}
    churn, churn_ev = (
        replace(b, metadata={**b.metadata, "test_metrics": ev.churn[MODEL]})
        for b in (churn, churn_ev)
    )
    value, value_ev = (
        replace(b, metadata={**b.metadata, "test_metrics": ev.value[MODEL]})
        for b in (value, value_ev)
    )
    return Trained(
        spec, plan, split, churn, value, churn_fit, value_fit, ev, timings, churn_ev, value_ev, sel
    )
