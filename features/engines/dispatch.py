"""Aggregate engines: where the window aggregates of the feature specs are computed.

``pandas`` (default) prepares numpy arrays once and answers each cutoff with masks and
``bincount``; ``duckdb`` compiles the same specs to SQL (:mod:`features.engines.sql`). Everything after
the aggregates (ratios, scores, labels) is shared, so both give the same features.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from features.config import FeatureConfig
from features.dataset import Dataset
from features.engines.sql import DuckDBEngine
from features.pipeline.aggregate import WindowAgg, aggregate
from features.pipeline.complaints import prepare_complaints
from features.pipeline.events import EventArrays
from features.pipeline.interactions import prepare_interactions
from features.pipeline.population import CustomerArrays
from features.pipeline.rfm import prepare_transactions


class Engine(Protocol):
    def aggregate(
        self, table: str, specs: Sequence[WindowAgg], cutoff_days: float
    ) -> dict[str, np.ndarray]: ...


class PandasEngine:
    """The default engine: event tables prepared once as numpy arrays."""

    def __init__(
        self,
        ds: Dataset,
        customers: CustomerArrays,
        available: dict[str, set[str]],
        cfg: FeatureConfig,
    ) -> None:
        self.events: dict[str, EventArrays] = {"transactions": prepare_transactions(ds, customers)}
        if "interactions" in available:
            self.events["interactions"] = prepare_interactions(ds, customers, cfg)
        if "complaints" in available:
            self.events["complaints"] = prepare_complaints(ds, customers)

    def aggregate(
        self, table: str, specs: Sequence[WindowAgg], cutoff_days: float
    ) -> dict[str, np.ndarray]:
        return aggregate(self.events[table], specs, cutoff_days)


def make_engine(
    ds: Dataset, customers: CustomerArrays, available: dict[str, set[str]], cfg: FeatureConfig
) -> Engine:
    """The engine chosen by ``cfg.engine`` over the tables in ``available``."""
    if cfg.engine == "duckdb":
        return DuckDBEngine(ds, customers.index, available, cfg)
    return PandasEngine(ds, customers, available, cfg)
