"""The value model: LightGBM regressor of revenue over the horizon (tweedie by default)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from core.bundle import Calibrator, ModelBundle, encode_features
from training.boosting import Fitted, fit_booster, lgb_params
from training.calibration import fit_isotonic
from training.config import TrainingConfig
from training.spec import CHURN_LABEL, VALUE_LABEL, FeatureSpec, TrainingDataError, labelled
from training.split import Split, rows_at

ORDER_COLUMN = "avg_order_value"
_WINDOW = re.compile(r"^revenue_\d+d$")


def _objective(cfg: TrainingConfig) -> dict[str, Any]:
    v = cfg.value
    if v.objective == "tweedie":
        return {
            "objective": "tweedie",
            "tweedie_variance_power": v.tweedie_variance_power,
            "metric": "tweedie",
        }
    return {"objective": v.objective, "metric": "l1" if v.objective == "huber" else "l2"}


def value_rows(frame: pd.DataFrame, cfg: TrainingConfig) -> pd.DataFrame:
    """The rows the value model learns from and is tested on: labelled rows, and with the
    ``if_retained`` target only the customers who did not churn in the horizon."""
    rows = labelled(frame, VALUE_LABEL)
    if cfg.value.target == "if_retained":
        rows = rows[rows[CHURN_LABEL] == 0]
    return rows


def value_cap(spec: FeatureSpec, cfg: TrainingConfig, horizon_days: int) -> dict[str, Any] | None:
    """The bundle's ``value_cap`` metadata (see :meth:`core.bundle.ModelBundle.value_cap`), or
    None when the cap is off or the features lack the order value or a revenue window."""
    windows = {int(c[len("revenue_") : -1]): c for c in spec.names if _WINDOW.match(c)}
    if cfg.value.cap_multiple is None or not windows or ORDER_COLUMN not in spec.names:
        return None
    w = max(windows)
    return {
        "multiple": cfg.value.cap_multiple,
        "horizon_days": horizon_days,
        "window_days": w,
        "window_column": windows[w],
        "order_column": ORDER_COLUMN,
    }


def fit_value(
    split: Split, spec: FeatureSpec, cfg: TrainingConfig, metadata: dict[str, Any]
) -> tuple[ModelBundle, Fitted]:
    """Train on the training cutoffs' :func:`value_rows`, stopping early on the calibration
    cutoff's: the prediction is revenue over the horizon if retained (or unconditional)."""
    train, cal = value_rows(split.train, cfg), value_rows(split.calibration, cfg)
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
    calibrator = Calibrator()
    if cfg.value.calibration == "isotonic" and len(cal):
        raw = fitted.booster.predict(encode_features(cal, spec.names, spec.categories))
        calibrator = fit_isotonic(np.asarray(raw, float), cal[VALUE_LABEL].to_numpy(float), None)
    bundle = ModelBundle(
        kind="value",
        booster=fitted.booster,
        calibrator=calibrator,
        feature_names=spec.names,
        categories=spec.categories,
        metadata={
            **metadata,
            "objective": cfg.value.objective,
            "best_iteration": fitted.best_iteration,
            "target": cfg.value.target,
            "value_cap": value_cap(spec, cfg, int(metadata.get("horizon_days", 0))),
            "output": (
                "expected revenue over the horizon if the customer stays, >= 0"
                if cfg.value.target == "if_retained"
                else "expected revenue over the horizon (churn included), >= 0"
            ),
        },
    )
    return bundle, fitted


def refit_value(
    frame: pd.DataFrame,
    cutoffs: tuple[pd.Timestamp, ...],
    spec: FeatureSpec,
    cfg: TrainingConfig,
    evaluated: ModelBundle,
    rounds: int,
) -> ModelBundle:
    """The evaluated value model's configuration refitted on the :func:`value_rows` of every
    labelled cutoff (the test cutoff included) for ``rounds`` rounds (its early-stopped count)."""
    rows = value_rows(rows_at(frame, cutoffs), cfg)
    params = lgb_params(cfg.value.params, _objective(cfg), cfg)
    train_set = lgb.Dataset(
        encode_features(rows, spec.names, spec.categories),
        rows[VALUE_LABEL].to_numpy(float),
        categorical_feature=spec.categorical,
        params=params,
    )
    booster = lgb.train(params, train_set, num_boost_round=max(rounds, 1))
    booster = lgb.Booster(model_str=booster.model_to_string())
    meta = {**evaluated.metadata, "best_iteration": rounds, "fitted_on": "every labelled cutoff"}
    return replace(evaluated, booster=booster, metadata=meta)
