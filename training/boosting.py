"""Fit one LightGBM booster with early stopping, deterministically, on a bundle-encoded matrix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from training.config import BoosterParams, TrainingConfig


@dataclass(frozen=True)
class Fitted:
    """A booster cut to its best iteration, and how training went."""

    booster: lgb.Booster
    best_iteration: int
    best_score: float
    metric: str


def lgb_params(
    shape: BoosterParams, objective: dict[str, Any], cfg: TrainingConfig
) -> dict[str, Any]:
    """LightGBM parameters: tree shape + objective + the settings that make runs reproducible."""
    return {
        **shape.model_dump(exclude={"max_rounds"}),
        **objective,
        "seed": cfg.seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": cfg.num_threads,
        "verbosity": -1,
    }


def fit_booster(
    x_train: pd.DataFrame,
    y_train: np.ndarray,
    x_valid: pd.DataFrame,
    y_valid: np.ndarray,
    params: dict[str, Any],
    categorical: list[str],
    max_rounds: int,
    early_stopping_rounds: int,
) -> Fitted:
    """Train with early stopping on the validation set; the returned booster has only the best trees.

    The booster is re-read from its model text so that what is evaluated is exactly what is saved.
    """
    train_set = lgb.Dataset(
        x_train, y_train, categorical_feature=categorical, free_raw_data=True, params=params
    )
    valid_set = lgb.Dataset(x_valid, y_valid, reference=train_set, categorical_feature=categorical)
    booster = lgb.train(
        params,
        train_set,
        num_boost_round=max_rounds,
        valid_sets=[valid_set],
        valid_names=["calibration"],
        callbacks=[lgb.early_stopping(early_stopping_rounds, verbose=False)],
    )
    best = booster.best_iteration or booster.current_iteration()
    metric, score = next(iter(booster.best_score["calibration"].items()))
    text = booster.model_to_string(num_iteration=best)
    return Fitted(lgb.Booster(model_str=text), int(best), float(score), metric)
