"""The churn model: LightGBM binary classifier, early-stopped and calibrated on the calibration cutoff."""

from __future__ import annotations

from typing import Any

import numpy as np

from core.bundle import ModelBundle, encode_features
from training.boosting import Fitted, fit_booster, lgb_params
from training.calibration import fit_calibrator
from training.config import TrainingConfig
from training.spec import CHURN_LABEL, FeatureSpec, TrainingDataError, labelled
from training.split import Split


def fit_churn(
    split: Split, spec: FeatureSpec, cfg: TrainingConfig, metadata: dict[str, Any]
) -> tuple[ModelBundle, Fitted]:
    """Train on the training cutoffs, stop early on log loss at the calibration cutoff, then fit
    the calibrator on the same cutoff's out-of-sample predictions."""
    train, cal = labelled(split.train, CHURN_LABEL), labelled(split.calibration, CHURN_LABEL)
    for name, part in (("training", train), ("calibration", cal)):
        if part[CHURN_LABEL].nunique() < 2:
            raise TrainingDataError(f"the {name} cutoff(s) have only one churn outcome")
    x_train = encode_features(train, spec.names, spec.categories)
    x_cal = encode_features(cal, spec.names, spec.categories)
    params = lgb_params(cfg.churn.params, {"objective": "binary", "metric": "binary_logloss"}, cfg)
    fitted = fit_booster(
        x_train,
        train[CHURN_LABEL].to_numpy(float),
        x_cal,
        cal[CHURN_LABEL].to_numpy(float),
        params,
        spec.categorical,
        cfg.churn.params.max_rounds,
        cfg.early_stopping_rounds,
    )
    raw_cal = np.asarray(fitted.booster.predict(x_cal), dtype=float)
    calibrator = fit_calibrator(
        raw_cal,
        cal[CHURN_LABEL].to_numpy(float),
        cfg.churn.calibration,
        cfg.churn.min_probability,
    )
    bundle = ModelBundle(
        kind="churn",
        booster=fitted.booster,
        feature_names=spec.names,
        categories=spec.categories,
        calibrator=calibrator,
        metadata={
            **metadata,
            "calibration": cfg.churn.calibration,
            "best_iteration": fitted.best_iteration,
            "output": "calibrated probability of churn within the horizon",
        },
    )
    return bundle, fitted
