"""Fitting the uplift model (an S-, T- or X-learner on LightGBM; the fitted model and how it
predicts are ``core.uplift.UpliftModel``).

- S-learner: one churn classifier on everybody with ``treated`` as a feature; the effect is its
  probability with ``treated = 0`` minus with ``treated = 1`` (the groups share what predicts churn,
  so the small control group is not on its own).

The effect it predicts is the reduction in a customer's probability of churning within the horizon
if contacted: ``P(churn | not contacted) - P(churn | contacted)``; negative for customers a contact
drives away.

- T-learner: one churn classifier on the contacted, one on the control group; the effect is the
  control model's probability minus the contacted model's.
- X-learner: the same two classifiers, then each group's imputed effects (the contacted's
  ``mu_control(x) - churned``, the controls' ``churned - mu_contacted(x)``) regressed on the
  features; the effect is ``e * tau_control + (1 - e) * tau_contacted`` with ``e`` the contacted
  share, so the regression that borrows the larger group's classifier weighs most.
"""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import pandas as pd

from core.bundle import encode_features
from core.uplift import TREATED, UpliftError, UpliftModel
from training.boosting import fit_booster
from training.spec import CHURN_LABEL, FeatureSpec
from training.uplift.config import UpliftConfig


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


def _fit(x, y, valid, objective, spec: FeatureSpec, cfg: UpliftConfig, seed: int) -> lgb.Booster:
    params = _params(cfg, objective, seed)
    return fit_booster(
        x[~valid],
        y[~valid],
        x[valid],
        y[valid],
        params,
        spec.categorical,
        cfg.params.max_rounds,
        cfg.early_stopping_rounds,
    ).booster


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
    arms = {"treated": t == 1, "control": t == 0}
    if cfg.learner == "s":
        xs = x.assign(**{TREATED: t.astype(float)})
        boosters = {"single": _fit(xs, y, valid, "binary", spec, cfg, seed)}
        return _model(cfg, boosters, spec, n_t, n_c, len(rows))
    mu = {name: _fit(x[m], y[m], valid[m], "binary", spec, cfg, seed) for name, m in arms.items()}
    if cfg.learner == "t":
        boosters = mu
    else:
        m1, m0 = arms["treated"], arms["control"]
        d1 = mu["control"].predict(x[m1]) - y[m1]
        d0 = y[m0] - mu["treated"].predict(x[m0])
        boosters = {
            "tau_treated": _fit(x[m1], d1, valid[m1], "regression", spec, cfg, seed),
            "tau_control": _fit(x[m0], d0, valid[m0], "regression", spec, cfg, seed),
        }
    return _model(cfg, boosters, spec, n_t, n_c, len(rows))


def _model(cfg: UpliftConfig, boosters, spec: FeatureSpec, n_t: int, n_c: int, n: int):
    meta = {"rows": n, "contacted": n_t, "control": n_c}
    return UpliftModel(cfg.learner, boosters, spec.names, spec.categories, n_t / n, meta)
