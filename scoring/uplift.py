"""Score customers with a registered uplift model: the effect of a contact at a date."""

from __future__ import annotations

import threading
from pathlib import Path

import pandas as pd

from core.uplift import OUTPUT_COLUMN, UPLIFT_MODEL, UpliftError, UpliftModel, load_uplift
from features.config import FeatureConfig
from features.dataset import Dataset
from features.pipeline.build import build_features


def uplift_at(
    ds: Dataset, cutoff: pd.Timestamp, model: UpliftModel, features: FeatureConfig | None = None
) -> pd.DataFrame:
    """``customer_id`` and ``uplift`` of every customer active at ``cutoff``, from the features
    the model was trained on (its recorded feature configuration unless ``features`` is given)."""
    recorded = model.metadata.get("feature_config")
    cfg = features or (
        FeatureConfig.model_validate(recorded) if isinstance(recorded, dict) else FeatureConfig()
    )
    rows = build_features(ds, cutoff, cfg, labels=False)
    return pd.DataFrame(
        {
            "customer_id": rows["customer_id"].astype("str").to_numpy(),
            OUTPUT_COLUMN: model.predict(rows),
        }
    )


def champion_uplift(
    ds: Dataset, cutoff: pd.Timestamp, tracking_uri: str, model_name: str = UPLIFT_MODEL
) -> tuple[pd.DataFrame, str]:
    """:func:`uplift_at` with ``uplift-model@champion``; (scores, version). Raises
    :class:`core.uplift.UpliftError` when no champion exists."""
    model, version = load_uplift(model_name, "champion", tracking_uri)
    return uplift_at(ds, cutoff, model), version


class UpliftChampion:
    """``uplift-model@champion`` for the API: the alias is read on each call, the model loaded
    only when it moved (one at a time); an :class:`core.uplift.UpliftError` says why there is none."""

    def __init__(self, tracking_uri: str, model_name: str = UPLIFT_MODEL) -> None:
        self.tracking_uri = tracking_uri
        self.model_name = model_name
        self._lock = threading.Lock()
        self._loaded: tuple[UpliftModel, str] | None = None

    def get(self) -> tuple[UpliftModel, str]:
        """(model, version) of the current champion."""
        from core.registry import CHAMPION, alias_version, client_for

        with self._lock:
            version = None
            if (
                not self.tracking_uri.startswith("sqlite:///")
                or Path(self.tracking_uri.removeprefix("sqlite:///")).is_file()
            ):
                version = alias_version(client_for(self.tracking_uri), self.model_name, CHAMPION)
            if version is None:
                raise UpliftError(
                    f"no uplift model champion ({self.model_name!r}@{CHAMPION}): train one with "
                    "`churn train` on data with a contacts table"
                )
            if self._loaded is None or self._loaded[1] != version:
                try:
                    self._loaded = load_uplift(self.model_name, version, self.tracking_uri)
                except (UpliftError, OSError, ValueError, KeyError) as exc:
                    # the reason goes to API clients: name the model, not the files or paths
                    raise UpliftError(
                        f"{self.model_name} v{version} cannot be loaded ({type(exc).__name__})"
                    ) from exc
            return self._loaded
