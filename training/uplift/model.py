"""Fitting the uplift model's learners (the fitted model and how it predicts are
``core.uplift.UpliftModel``, whose docstring describes each learner).

Every learner is fitted here on an encoded matrix ``x``, an outcome ``y`` and the treatment ``t``
and learns the reduction of ``y`` by the treatment (control minus treated); the churn model's
contacts use it as is (``y`` = churned), a campaign file's outcome with ``sign = -1``.
:func:`fit_uplift` is the ``churn train`` stage (contact rows, churn label),
:func:`fit_learner` any outcome, binary (``binary`` objective) or numeric (``regression``).
"""

from __future__ import annotations

from typing import Any, Literal

import lightgbm as lgb
import numpy as np
import pandas as pd

from core.bundle import encode_features
from core.uplift import TREATED, UpliftError, UpliftModel
from training.boosting import fit_booster
from training.spec import CHURN_LABEL, FeatureSpec
from training.uplift.config import UpliftConfig

Learner = Literal["s", "t", "x", "to", "linear"]
Objective = Literal["binary", "regression"]
RIDGE_ALPHA = 1.0
"""Penalty of the linear learner's ridge regression on standardised features."""


def _params(cfg: UpliftConfig, objective: str, seed: int) -> dict[str, Any]:
    return {
        **cfg.params.model_dump(exclude={"max_rounds"}),
        "objective": objective,
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": 1,
        "verbosity": -1,
    }


def _fit(x, y, valid, objective, categorical: list[str], cfg: UpliftConfig, seed: int):
    return fit_booster(
        x[~valid],
        y[~valid],
        x[valid],
        y[valid],
        _params(cfg, objective, seed),
        categorical,
        cfg.params.max_rounds,
        cfg.early_stopping_rounds,
    ).booster


def transformed_outcome(y: np.ndarray, t: np.ndarray, e: float) -> np.ndarray:
    """``-y (t - e) / (e (1 - e))``: its mean given the features is the reduction of ``y``."""
    return -y * (t - e) / (e * (1 - e))


def fit_learner(
    x: pd.DataFrame,
    y: np.ndarray,
    t: np.ndarray,
    valid: np.ndarray,
    learner: Learner,
    objective: Objective,
    categories: dict[str, tuple[str, ...]],
    cfg: UpliftConfig,
    seed: int,
) -> tuple[dict[str, lgb.Booster], dict[str, Any]]:
    """The boosters (or the linear coefficients) of ``learner`` on encoded ``x``; ``valid``
    marks the rows that stop boosting early."""
    cats = [c for c in x.columns if c in categories]
    e = float(t.mean())
    if learner == "linear":
        return {}, fit_linear(x, transformed_outcome(y, t, e), categories)
    if learner == "to":
        z = transformed_outcome(y, t, e)
        return {"transformed": _fit(x, z, valid, "regression", cats, cfg, seed)}, {}
    if learner == "s":
        xs = x.assign(**{TREATED: t.astype(float)})
        return {"single": _fit(xs, y, valid, objective, cats, cfg, seed)}, {}
    arms = {"treated": t == 1, "control": t == 0}
    mu = {n: _fit(x[m], y[m], valid[m], objective, cats, cfg, seed) for n, m in arms.items()}
    if learner == "t":
        return mu, {}
    m1, m0 = arms["treated"], arms["control"]
    d1 = mu["control"].predict(x[m1]) - y[m1]
    d0 = y[m0] - mu["treated"].predict(x[m0])
    return {
        "tau_treated": _fit(x[m1], d1, valid[m1], "regression", cats, cfg, seed),
        "tau_control": _fit(x[m0], d0, valid[m0], "regression", cats, cfg, seed),
    }, {}


def fit_linear(
    x: pd.DataFrame, z: np.ndarray, categories: dict[str, tuple[str, ...]]
) -> dict[str, Any]:
    """Ridge regression of ``z`` on standardised numerics and one-hot levels, as the JSON
    coefficients :func:`core.uplift.linear_predict` applies."""
    from sklearn.linear_model import Ridge

    blocks: list[np.ndarray] = []
    numeric: dict[str, list[float]] = {}
    for col in x.columns:
        v = x[col].to_numpy(np.float64)
        if col in categories:
            codes = np.where(np.isnan(v), -1, v).astype(np.int64)
            blocks.append((codes[:, None] == np.arange(len(categories[col]))).astype(np.float64))
        else:
            mean = float(np.nanmean(v)) if np.isfinite(v).any() else 0.0
            scale = float(np.nanstd(v)) or 1.0
            numeric[col] = [mean, scale]
            blocks.append(((np.where(np.isnan(v), mean, v) - mean) / scale)[:, None])
    fit = Ridge(alpha=RIDGE_ALPHA).fit(np.hstack(blocks), z)
    coef, k = fit.coef_, 0
    out: dict[str, Any] = {"intercept": float(fit.intercept_), "numeric": {}, "levels": {}}
    for col in x.columns:
        if col in categories:
            n = len(categories[col])
            out["levels"][col] = [float(b) for b in coef[k : k + n]]
            k += n
        else:
            out["numeric"][col] = [*numeric[col], float(coef[k])]
            k += 1
    return out


def fit_uplift(rows: pd.DataFrame, spec: FeatureSpec, cfg: UpliftConfig, seed: int) -> UpliftModel:
    """Fit the configured learner on labelled contact rows (``treated``, ``churned``)."""
    t = rows[TREATED].to_numpy(int)
    n_t, n_c = int(t.sum()), int((1 - t).sum())
    if len(rows) < cfg.min_rows or min(n_t, n_c) < 20:
        raise UpliftError(
            f"too few labelled contacts to learn from: {n_t} contacted and {n_c} control rows "
            f"(need {cfg.min_rows} in all and 20 of each)"
        )
    y = rows[CHURN_LABEL].to_numpy(float)
    x = encode_features(rows, spec.names, spec.categories)
    ids = rows["customer_id"].astype("str")
    # early stopping on a random share of customers (all of a customer's rows on one side)
    u = pd.util.hash_pandas_object(ids, index=False).to_numpy() % 10_000 / 10_000
    valid = u < cfg.validation_share
    boosters, linear = fit_learner(
        x, y, t, valid, cfg.learner, "binary", dict(spec.categories), cfg, seed
    )
    meta = {"rows": len(rows), "contacted": n_t, "control": n_c}
    return UpliftModel(
        cfg.learner, boosters, spec.names, spec.categories, n_t / len(rows), meta, linear=linear
    )
