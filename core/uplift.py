"""The uplift model at run time: an S-, T- or X-learner's LightGBM boosters, or a transformed-outcome
learner (a LightGBM regression or a linear one), saved as LightGBM text and JSON (no pickles),
loaded and applied here; fitted by ``training.uplift.model``.

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
- Transformed outcome (``to`` on LightGBM, ``linear`` a ridge regression): one regression of
  ``-y (t - e) / (e (1 - e))``, whose expectation given the features is the same reduction.

Every learner computes the reduction of its outcome ``y`` (control minus treated); a model's
``sign`` turns it round (-1) for an outcome a campaign is meant to raise (a visit, a spend), so
:meth:`UpliftModel.predict` is treated minus control there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core.bundle import SOURCE_KEY, encode_features, source_frame
from core.errors import ChurnError

if TYPE_CHECKING:
    import lightgbm as lgb

UPLIFT_MODEL = "uplift-model"
"""Registered name of the uplift model ``churn train`` fits (the ``uplift.model_name`` default)."""

TREATED = "treated"
"""Column of contact rows: 1 for a customer contacted, 0 for the control group."""


class UpliftError(ChurnError):
    """Contacts or a configuration the uplift model cannot learn from, or no uplift model to use
    (names what and why)."""


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
    sign: float = 1.0
    """1: the effect is the reduction of the outcome (churn); -1: its rise (a campaign's outcome)."""
    linear: dict[str, Any] = field(default_factory=dict)
    """The ``linear`` learner: ``intercept``, per numeric feature ``[mean, scale, coef]``
    (``numeric``), per categorical feature one coefficient per level (``levels``)."""

    def matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        return encode_features(frame, self.feature_names, self.categories)

    def from_source(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A frame named and typed as the source file the model was trained on, made scorable
        (see :func:`core.bundle.source_frame`); unchanged for models of the feature pipeline."""
        src = self.metadata.get(SOURCE_KEY)
        if not isinstance(src, dict):
            return frame
        return source_frame(frame, src, self.feature_names, self.categories)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Each row's effect of the treatment: on P(churn within the horizon) as a reduction
        (``sign`` 1), on a campaign's outcome as a rise (``sign`` -1)."""
        return self.sign * self._reduction(self.matrix(frame))

    def _reduction(self, x: pd.DataFrame) -> np.ndarray:
        def p(name: str, frame: pd.DataFrame = x) -> np.ndarray:
            return np.asarray(self.boosters[name].predict(frame), dtype=np.float64)

        if self.learner == "linear":
            return linear_predict(self.linear, x, self.categories)
        if self.learner == "to":
            return p("transformed")
        if self.learner == "t":
            return p("control") - p("treated")
        if self.learner == "s":
            return p("single", x.assign(**{TREATED: 0.0})) - p("single", x.assign(**{TREATED: 1.0}))
        e = self.treated_share
        return e * p("tau_control") + (1 - e) * p("tau_treated")

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
            "sign": self.sign,
            "linear": self.linear,
        }
        (out / META_FILE).write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
        return out

    @classmethod
    def load(cls, directory: str | Path) -> UpliftModel:
        d = Path(directory)
        meta = json.loads((d / META_FILE).read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise UpliftError(f"{d / META_FILE}: unknown uplift model format {meta.get('format')}")
        import lightgbm as lgb

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
            float(meta.get("sign", 1.0)),
            meta.get("linear", {}),
        )


def linear_predict(
    coef: dict[str, Any], x: pd.DataFrame, categories: dict[str, tuple[str, ...]]
) -> np.ndarray:
    """The linear learner on an encoded matrix: standardised numerics (missing at the mean) and
    one coefficient per categorical level (missing or unknown: 0)."""
    out = np.full(len(x), float(coef.get("intercept", 0.0)))
    for col, (mean, scale, b) in coef.get("numeric", {}).items():
        v = x[col].to_numpy(np.float64)
        out += b * (np.where(np.isnan(v), mean, v) - mean) / scale
    for col, betas in coef.get("levels", {}).items():
        table = np.append(np.asarray(betas, np.float64), 0.0)
        codes = x[col].to_numpy(np.float64)
        idx = np.where(np.isnan(codes), len(categories[col]), codes).astype(np.int64)
        out += table[idx]
    return out


def load_uplift(name: str, alias_or_version: str, tracking_uri: str) -> tuple[UpliftModel, str]:
    """Download the uplift model carrying ``alias_or_version`` (an alias, or a version number)."""
    if tracking_uri.startswith("sqlite:///") and not Path(tracking_uri[10:]).is_file():
        raise UpliftError(f"no model registry yet ({name!r} has never been trained)")
    import mlflow.artifacts  # MLflow costs seconds to import: only where a model is loaded
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(tracking_uri)
    try:
        if alias_or_version.isdigit():
            mv = client.get_model_version(name, alias_or_version)
        else:
            mv = client.get_model_version_by_alias(name, alias_or_version)
        location = client.get_model_version_download_uri(name, str(mv.version))
        local = Path(
            mlflow.artifacts.download_artifacts(artifact_uri=location, tracking_uri=tracking_uri)
        )
    except MlflowException as exc:
        raise UpliftError(
            f"no version {alias_or_version!r} of registered model {name!r} (train one with "
            f"`churn train` on data with a contacts table): {exc.message}"
        ) from None
    found = next(iter(local.rglob("uplift.json")), None)
    if found is None:
        raise UpliftError(f"version {mv.version} of {name!r} holds no uplift model files")
    return UpliftModel.load(found.parent), str(mv.version)


PYFUNC_SCRIPT = """\
# Loads the uplift model (LightGBM text + JSON) logged beside this file; see core/uplift.py.
from mlflow.models import set_model

from core.uplift import UpliftPyfunc

set_model(UpliftPyfunc())
"""


def __getattr__(name: str) -> Any:
    """``UpliftPyfunc`` (in :mod:`core.uplift_pyfunc`: it imports MLflow, seconds at start) is
    loaded on first use, so importing this module stays light and logged models' scripts work."""
    if name == "UpliftPyfunc":
        from core.uplift_pyfunc import UpliftPyfunc

        return UpliftPyfunc
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
