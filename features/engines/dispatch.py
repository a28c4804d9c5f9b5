"""Aggregate engines: where the window aggregates of the feature specs are computed.

``pandas`` (default) prepares numpy arrays once and answers each cutoff with masks and
``bincount``; ``spark`` compiles the same specs to SQL (:mod:`features.engines.sql`) and runs it
on Spark (:mod:`features.engines.spark`). ``duckdb`` runs that SQL in process: no longer a user
option (slower than pandas, README), it is the SQL's quick reference for tests and benchmarks.
Everything after the aggregates (ratios, scores, labels) is shared, so all give the same features.

The engine is where the features are computed, not what they are: :func:`use_engine` picks one
for the builds inside it without changing the :class:`FeatureConfig` a model records.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal, Protocol

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

EngineName = Literal["pandas", "duckdb", "spark"]


@dataclass(frozen=True)
class EngineChoice:
    """An engine chosen for the builds inside :func:`use_engine` (``spark``: its session)."""

    name: EngineName
    spark: Any | None = None


_CHOICE: ContextVar[EngineChoice | None] = ContextVar("feature_engine", default=None)


@contextmanager
def use_engine(name: EngineName, spark: Any | None = None) -> Iterator[EngineChoice]:
    """Build features with engine ``name`` inside the block (``spark``: a session to run on,
    default :func:`features.engines.spark.spark_session`'s), whatever ``FeatureConfig.engine`` says."""
    choice = EngineChoice(name, spark)
    token = _CHOICE.set(choice)
    try:
        yield choice
    finally:
        _CHOICE.reset(token)


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
    """The engine chosen by :func:`use_engine`, else by ``cfg.engine``, over the tables in
    ``available``."""
    choice = _CHOICE.get() or EngineChoice(cfg.engine)
    if choice.name == "spark":
        from features.engines.spark import SparkEngine  # optional: needs pyspark and Java

        return SparkEngine(ds, customers.index, available, cfg, choice.spark)
    if choice.name == "duckdb":
        return DuckDBEngine(ds, customers.index, available, cfg)
    return PandasEngine(ds, customers, available, cfg)
