"""The uplift model at run time: an S-, T- or X-learner's LightGBM boosters, saved as LightGBM text
and JSON (no pickles), loaded and applied here; fitted by ``training.uplift.model``.

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
import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import PythonModel

from core.bundle import encode_features
from core.errors import ChurnError

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


def load_uplift(name: str, alias_or_version: str, tracking_uri: str) -> tuple[UpliftModel, str]:
    """Download the uplift model carrying ``alias_or_version`` (an alias, or a version number)."""
    if tracking_uri.startswith("sqlite:///") and not Path(tracking_uri[10:]).is_file():
        raise UpliftError(f"no model registry yet ({name!r} has never been trained)")
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
