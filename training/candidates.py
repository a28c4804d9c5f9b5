"""The churn model's candidates, all LightGBM-based and all explainable exactly.

- ``lightgbm``: today's configuration (``training.churn.params``);
- ``monotone``: the same, with P(churn) non-decreasing in recency-like features;
- ``regularised``: shallower, stronger-regularised trees (``training.selection.regularised``);
- ``lr_boosted``: a regularised logistic regression's log-odds as LightGBM's ``init_score``,
  trees of the regularised shape correcting it. Its bundle carries the regression as exact
  linear terms (:mod:`core.linear`): prediction adds them to the trees' raw score, reasons add
  them to TreeSHAP. No ``linear_tree``: every candidate compiles like a plain booster.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from core.linear import LinearTerms, NumericTerm, signed_log
from training.boosting import lgb_params
from training.config import BoosterParams, CandidateName, TrainingConfig
from training.spec import FeatureSpec

DESCRIPTIONS: dict[str, str] = {
    "lightgbm": "plain LightGBM",
    "monotone": "LightGBM monotone in recency",
    "regularised": "regularised LightGBM",
    "lr_boosted": "LightGBM boosted from a logistic regression",
}
Z_MARGIN = 1.0
"""A numeric term's input is clipped to its training range widened by this many standard
deviations (in signed-log units): the linear part extrapolates a little, never wildly."""


@dataclass(frozen=True)
class CandidateFit:
    """A fitted candidate: the booster (cut to its rounds) and the linear start, if any."""

    name: str
    booster: lgb.Booster
    linear: LinearTerms | None
    rounds: int

    def raw(self, x: pd.DataFrame) -> np.ndarray:
        """Uncalibrated P(churn) of an encoded matrix, linear part included."""
        margin = np.asarray(self.booster.predict(x, raw_score=True), dtype=np.float64)
        if self.linear is not None:
            margin = margin + self.linear.score(x.to_numpy(np.float64), tuple(x.columns))
        return 1.0 / (1.0 + np.exp(-margin))


def fit_linear(
    x: pd.DataFrame, y: np.ndarray, spec: FeatureSpec, c: float, seed: int
) -> LinearTerms:
    """L2-regularised logistic regression on signed-log, standardised numerics (missing values
    imputed at the mean, with an indicator) and one-hot levels, folded into per-feature terms."""
    columns: list[np.ndarray] = []
    layout: list[tuple[str, str, Any]] = []  # (feature, part, detail) per design column
    stats: dict[str, tuple[float, float, float, float]] = {}
    for name in spec.names:
        col = x[name].to_numpy(np.float64)
        if name in spec.categories:
            for code in range(len(spec.categories[name])):
                hit = (col == code).astype(np.float64)
                if hit.any():
                    columns.append(hit)
                    layout.append((name, "level", code))
            continue
        s = signed_log(col)
        present = ~np.isnan(s)
        if present.sum() < 2 or np.nanstd(s) == 0:
            continue
        mu, sd = float(np.nanmean(s)), float(np.nanstd(s))
        low, high = float(np.nanmin(s)) - Z_MARGIN * sd, float(np.nanmax(s)) + Z_MARGIN * sd
        stats[name] = (mu, sd, low, high)
        columns.append(np.where(present, (s - mu) / sd, 0.0))
        layout.append((name, "z", None))
        if not present.all():
            columns.append((~present).astype(np.float64))
            layout.append((name, "missing", None))
    design = np.column_stack(columns) if columns else np.zeros((len(x), 0))
    lr = LogisticRegression(C=c, max_iter=2000, random_state=seed).fit(design, y)
    coef: dict[tuple[str, str, Any], float] = dict(
        zip(layout, map(float, lr.coef_[0]), strict=True)
    )
    numeric = {
        name: NumericTerm(
            coef=coef[(name, "z", None)] / sd,
            centre=mu,
            low=low,
            high=high,
            missing=coef.get((name, "missing", None), 0.0),
        )
        for name, (mu, sd, low, high) in stats.items()
    }
    levels = {}
    for name in spec.categorical:
        table = [coef.get((name, "level", code), 0.0) for code in range(len(spec.categories[name]))]
        if any(table):
            levels[name] = tuple(table)
    return LinearTerms(float(lr.intercept_[0]), numeric, levels)


def candidate_params(name: CandidateName, spec: FeatureSpec, cfg: TrainingConfig) -> dict[str, Any]:
    """LightGBM parameters of a candidate (objective binary, reproducible settings)."""
    sel = cfg.selection
    shape: BoosterParams = (
        sel.regularised if name in ("regularised", "lr_boosted") else cfg.churn.params
    )
    params = lgb_params(shape, {"objective": "binary", "metric": "binary_logloss"}, cfg)
    if name == "monotone":
        up, down = set(sel.monotone_increasing), set(sel.monotone_decreasing)
        params["monotone_constraints"] = [
            1 if n in up else -1 if n in down else 0 for n in spec.names
        ]
        params["monotone_constraints_method"] = "advanced"
    return params


def fit_candidate(
    name: CandidateName,
    spec: FeatureSpec,
    cfg: TrainingConfig,
    train: tuple[pd.DataFrame, np.ndarray],
    early_stop: tuple[pd.DataFrame, np.ndarray] | None = None,
    rounds: int | None = None,
) -> CandidateFit:
    """Fit on ``train`` (an encoded matrix and labels), early-stopping on ``early_stop``'s log
    loss, or for exactly ``rounds`` rounds when no early-stopping set is given (the refit)."""
    x, y = train
    params = candidate_params(name, spec, cfg)
    linear = None
    if name == "lr_boosted":
        linear = fit_linear(x, y, spec, cfg.selection.linear_c, cfg.seed)
    init = None if linear is None else linear.score(x.to_numpy(np.float64), spec.names)
    train_set = lgb.Dataset(
        x,
        y,
        init_score=init,
        categorical_feature=spec.categorical,
        free_raw_data=True,
        params=params,
    )
    shape = cfg.selection.regularised if name in ("regularised", "lr_boosted") else cfg.churn.params
    if early_stop is None:
        booster = lgb.train(params, train_set, num_boost_round=max(int(rounds or 1), 1))
        best = booster.current_iteration()
    else:
        xe, ye = early_stop
        init_e = None if linear is None else linear.score(xe.to_numpy(np.float64), spec.names)
        valid = lgb.Dataset(
            xe, ye, init_score=init_e, reference=train_set, categorical_feature=spec.categorical
        )
        booster = lgb.train(
            params,
            train_set,
            num_boost_round=shape.max_rounds,
            valid_sets=[valid],
            valid_names=["calibration"],
            callbacks=[lgb.early_stopping(cfg.early_stopping_rounds, verbose=False)],
        )
        best = booster.best_iteration or booster.current_iteration()
    text = booster.model_to_string(num_iteration=best)
    return CandidateFit(name, lgb.Booster(model_str=text), linear, int(best))
