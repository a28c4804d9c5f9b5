"""Score customers with a registered uplift model: the effect of a contact at a date."""

from __future__ import annotations

import pandas as pd

from core.uplift import OUTPUT_COLUMN, UPLIFT_MODEL, UpliftModel, load_uplift
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
