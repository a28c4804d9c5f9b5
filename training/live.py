"""The live population of an evaluation: the customers the product does not consider lapsed at
the cutoff (its lifecycle status, docs/lists.md), the ones a retention contact can still save.

Customers who have already gone are easy to rank and inflate every metric on everyone; the
promotion gate decides on the live rows, and every report shows both.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.config import FeatureConfig
from features.dataset import Dataset
from features.pipeline.lifecycle import LifecycleConfig, lifecycle_at

STATUS = "lifecycle_status"
LAPSED = "lapsed"


def with_lifecycle(
    frame: pd.DataFrame,
    ds: Dataset,
    cutoff: pd.Timestamp,
    features: FeatureConfig,
    cfg: LifecycleConfig,
) -> pd.DataFrame:
    """``frame`` with the lifecycle status at ``cutoff`` of its rows at that cutoff (missing on
    the rows of other cutoffs); a key, never a feature."""
    at = pd.to_datetime(frame["cutoff"]) == cutoff
    status = lifecycle_at(ds, cutoff, features, cfg)["lifecycle_status"]
    ids = frame.loc[at, "customer_id"].astype(str)
    out = frame.copy()
    column = pd.Series(pd.NA, index=frame.index, dtype="str")
    column[at] = status.reindex(ids.to_numpy()).to_numpy()
    out[STATUS] = column
    return out


def live_mask(rows: pd.DataFrame) -> np.ndarray:
    """True for the rows not lapsed at their cutoff; every row when no status is recorded."""
    if STATUS not in rows.columns:
        return np.ones(len(rows), dtype=bool)
    return (rows[STATUS] != LAPSED).fillna(True).to_numpy(dtype=bool)
