"""The window aggregates on Apache Spark: the SQL of :mod:`features.engines.sql` run by Spark SQL.

The contract-checked event tables are staged as Parquet (timestamps as UTC instants), Spark reads
them, prepares the event views once (cached) and answers each cutoff with one aggregate query per
table. Every :class:`~features.pipeline.aggregate.WindowAgg` spec compiles the same way, so a new
spec runs here with no change. Local mode by default; a cluster takes ``--spark-master`` and
Spark configuration, and a staging folder every executor can read (``spark.churn.staging.dir``).
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.errors import ChurnError
from features.config import FeatureConfig
from features.dataset import Dataset
from features.engines.sql import VIEWS, aggregate_sql, prepared_sql
from features.pipeline.aggregate import WindowAgg

STAGING_CONF = "spark.churn.staging.dir"
"""Spark configuration key of the folder the event tables are staged in (default: a temporary
folder, which only a local session can read)."""

LOCAL_DEFAULTS: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.adaptive.enabled": "true",
    "spark.ui.showConsoleProgress": "false",
}
"""Settings of the session :func:`spark_session` starts; ``conf`` given to it wins."""


class SparkError(ChurnError):
    """Spark cannot start or run (no Java, a master that does not answer, a failed query)."""


def spark_session(master: str | None = None, conf: Mapping[str, str] | None = None) -> Any:
    """The process's Spark session: started on ``master`` (default ``local[*]``) with
    :data:`LOCAL_DEFAULTS` and ``conf``, or the one already running (Spark keeps one per process).
    Python workers run this interpreter, so UDFs see the same packages."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise SparkError(
            "the Spark engine needs pyspark: pip install 'churn-service[spark]'"
        ) from exc
    # pyspark 4 warns on every pandas conversion that it does not yet fully support pandas 3; the
    # engines' equality tests cover what this project converts
    warnings.filterwarnings("ignore", "PySpark does not yet fully support", FutureWarning)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    if (master or "local").startswith("local"):  # a host name that may not resolve is not needed
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.appName("churn").master(master or "local[*]")
    for key, value in {**LOCAL_DEFAULTS, **dict(conf or {})}.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # py4j and Java report start-up failures with many types
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SparkError(
            f"Spark did not start on {master or 'local[*]'} (is Java 17+ installed? "
            f"scripts/ensure_java.sh installs it): {reason}"
        ) from exc
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def stage_parquet(frame: pd.DataFrame, path: Path) -> str:
    """Write a contract table where Spark reads it: naive timestamps as UTC instants in
    microseconds (Spark reads no nanoseconds), text as strings."""
    out = frame.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].dt.tz_convert("UTC")
        elif pd.api.types.is_datetime64_dtype(out[col].dtype):
            out[col] = out[col].dt.tz_localize("UTC")
        elif isinstance(out[col].dtype, pd.CategoricalDtype):
            out[col] = out[col].astype("str").where(out[col].notna(), None)
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_parquet(path, index=False, coerce_timestamps="us", allow_truncated_timestamps=True)
    return str(path)


def align(
    result: pd.DataFrame, index: pd.Index, specs: Sequence[WindowAgg]
) -> dict[str, np.ndarray]:
    """Per-customer aggregates (one row per customer with events) as arrays in customer order:
    customers without events get 0 for count and sum, NaN for max and min, like the pandas engine."""
    pos = index.get_indexer(result["customer_id"].astype("str"))
    known = pos >= 0  # events of customers outside the customers table are ignored
    out = {}
    for spec in specs:
        fill = 0.0 if spec.fn in ("count", "sum") else np.nan
        col = np.full(len(index), fill)
        values = pd.to_numeric(result[spec.name]).to_numpy(dtype=np.float64, na_value=np.nan)
        values = values[known]
        col[pos[known]] = np.where(np.isnan(values), fill, values)
        out[spec.name] = col
    return out


class SparkEngine:
    """Runs the aggregate specs as Spark SQL over the data set's event tables, staged as Parquet."""

    def __init__(
        self,
        ds: Dataset,
        index: pd.Index,
        available: dict[str, set[str]],
        cfg: FeatureConfig,
        spark: Any | None = None,
    ) -> None:
        self.index = index
        shared = spark if spark is not None else spark_session()
        root = shared.conf.get(STAGING_CONF, None)
        if root is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="churn-spark-")
            root = self._tmp.name
        staged = Path(root) / uuid.uuid4().hex  # one folder per engine: runs never collide
        self.spark = shared.newSession()  # its own temporary views, the same Spark context
        self.cached: list[Any] = []
        for table, cols in available.items():
            location = stage_parquet(ds.tables[table], staged / f"{table}.parquet")
            self.spark.read.parquet(location).createOrReplaceTempView(table)
            prepared = self.spark.sql(prepared_sql(table, cols, cfg, "spark")).cache()
            prepared.createOrReplaceTempView(VIEWS[table])
            self.cached.append(prepared)

    def aggregate(
        self, table: str, specs: Sequence[WindowAgg], cutoff_days: float
    ) -> dict[str, np.ndarray]:
        """Every spec for every customer, aligned with the customers table like the pandas engine."""
        sql = aggregate_sql(VIEWS[table], specs, cutoff_days, "spark")
        return align(self.spark.sql(sql).toPandas(), self.index, specs)

    def close(self) -> None:
        """Free the cached event views (the staged files go with the engine's temporary folder)."""
        for frame in self.cached:
            frame.unpersist()
        self.cached = []
