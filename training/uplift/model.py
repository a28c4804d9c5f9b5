"""The uplift model: an S-, T- or X-learner on LightGBM, saved as LightGBM text and JSON (no pickles).

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

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel

from core.bundle import encode_features
from training.boosting import fit_booster
from training.spec import CHURN_LABEL, FeatureSpec
from training.uplift.config import UpliftConfig, UpliftError
from training.uplift.data import TREATED

FORMAT = 1
META_FILE = "uplift.json"
ARTIFACT_KEY = "uplift"
OUTPUT_COLUMN = "uplift"


@dataclass(frozen=True)
class UpliftModel:
    """Boosters of a fitted learner and how to combine them."""

    learner: str
    boosters: dict[str, lgb.Booster]
    feature_names: tuple[str, ...]
    categories: dict[str, tuple[str, ...]]
    treated_share: float
    metadata: dict[str, Any] = field(default_factory=dict)

    def matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        return encode_features(frame, self.feature_names, self.categories)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Each row's effect of a contact on P(churn within the horizon) (reduction)."""
        x = self.matrix(frame)
        if self.learner == "t":
            return _predict(self.boosters["control"], x) - _predict(self.boosters["treated"], x)
        if self.learner == "s":
            single = self.boosters["single"]
            return _predict(single, x.assign(**{TREATED: 0.0})) - _predict(
                single, x.assign(**{TREATED: 1.0})
            )
        e = self.treated_share
        tau_c, tau_t = (
            _predict(self.boosters["tau_control"], x),
            _predict(self.boosters["tau_treated"], x),
        )
        return e * tau_c + (1 - e) * tau_t

    def save(self, directory: str | Path) -> Path:
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        for name, booster in self.boosters.items():
            (out / f"{name}.txt").write_text(booster.model_to_string(), encoding="utf-8")
        meta = {
            "format": FORMAT,
            "learner": self.learner,
            "boosters": sorted(self.boosters),
            "feature_names": list(self.feature_names),
            "categories": {k: list(v) for k, v in self.categories.items()},
            "treated_share": self.treated_share,
            "metadata": self.metadata,
        }
        (out / META_FILE).write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
        return out

    @classmethod
    def load(cls, directory: str | Path) -> UpliftModel:
        d = Path(directory)
        meta = json.loads((d / META_FILE).read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise UpliftError(f"{d / META_FILE}: unknown uplift model format {meta.get('format')}")
        boosters = {
            n: lgb.Booster(model_str=(d / f"{n}.txt").read_text(encoding="utf-8"))
            for n in meta["boosters"]
        }
        return cls(
            meta["learner"],
            boosters,
            tuple(meta["feature_names"]),
            {k: tuple(v) for k, v in meta["categories"].items()},
            float(meta["treated_share"]),
            meta.get("metadata", {}),
        )


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


PYFUNC_SCRIPT = """\
# Loads the uplift model (LightGBM text + JSON) logged beside this file; see training/uplift/model.py.
from mlflow.models import set_model

from training.uplift.model import UpliftPyfunc

set_model(UpliftPyfunc())
"""


class UpliftPyfunc(PythonModel):
    """MLflow pyfunc wrapper: the effect of a contact per input row (``uplift`` column, with
    ``customer_id`` first when the input has it)."""

    model: UpliftModel | None = None

    def load_context(self, context: Any) -> None:
        self.model = UpliftModel.load(context.artifacts[ARTIFACT_KEY])

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None):
        if self.model is None:
            raise UpliftError("UpliftPyfunc.predict called before load_context")
        frame = pd.DataFrame(model_input)
        out = pd.DataFrame({OUTPUT_COLUMN: self.model.predict(frame)}, index=frame.index)
        if "customer_id" in frame.columns:
            out.insert(0, "customer_id", frame["customer_id"].astype("str").to_numpy())
        return out


def _predict(booster: lgb.Booster, x: pd.DataFrame) -> np.ndarray:
    """A booster's predictions as a float array (LightGBM's own return type is wider)."""
    return np.asarray(booster.predict(x), dtype=float)
