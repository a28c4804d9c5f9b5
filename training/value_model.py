"""The value model: LightGBM regressor of revenue over the horizon (tweedie by default)."""

from __future__ import annotations

from typing import Any

import numpy as np

from core.bundle import ModelBundle, encode_features
from training.boosting import Fitted, fit_booster, lgb_params
from training.config import TrainingConfig
from training.spec import VALUE_LABEL, FeatureSpec, TrainingDataError, labelled
from training.split import Split


def _objective(cfg: TrainingConfig) -> dict[str, Any]:
    v = cfg.value
    if v.objective == "tweedie":
        return {
            "objective": "tweedie",
            "tweedie_variance_power": v.tweedie_variance_power,
            "metric": "tweedie",
        }
    return {"objective": v.objective, "metric": "l1" if v.objective == "huber" else "l2"}


def fit_value(
    split: Split, spec: FeatureSpec, cfg: TrainingConfig, metadata: dict[str, Any]
) -> tuple[ModelBundle, Fitted]:
    """Train on all active customers of the training cutoffs (churners have ~zero future revenue),
    stopping early on the calibration cutoff: the prediction is unconditional expected revenue."""
    train, cal = labelled(split.train, VALUE_LABEL), labelled(split.calibration, VALUE_LABEL)
    y_train = train[VALUE_LABEL].to_numpy(float)
    if (y_train < 0).any():
        raise TrainingDataError(f"{VALUE_LABEL} has negative values; revenue must be >= 0")
    if not np.any(y_train > 0):
        raise TrainingDataError(f"{VALUE_LABEL} is zero for every training row")
    fitted = fit_booster(
        encode_features(train, spec.names, spec.categories),
        y_train,
        encode_features(cal, spec.names, spec.categories),
        cal[VALUE_LABEL].to_numpy(float),
        lgb_params(cfg.value.params, _objective(cfg), cfg),
        spec.categorical,
        cfg.value.params.max_rounds,
        cfg.early_stopping_rounds,
    )
    bundle = ModelBundle(
        kind="value",
        booster=fitted.booster,
        feature_names=spec.names,
        categories=spec.categories,
        metadata={
            **metadata,
            "objective": cfg.value.objective,
            "best_iteration": fitted.best_iteration,
            "output": "expected revenue over the horizon (churn included), >= 0",
        },
    )
    return bundle, fitted
