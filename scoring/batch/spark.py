"""Batch scoring on Spark (``churn score --engine spark --out-parquet DIR``).

Features come from the Spark engine (:mod:`features.engines.spark`); the registered champion
pyfuncs score them as Spark UDFs (``mlflow.pyfunc.spark_udf``, ``env_manager="local"``: the
executors use this environment), and the scores are written as Parquet partitioned by as-of date.
The columns and numbers are those of :func:`scoring.frame.score_frame`.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd

from core.bundle import BundleError
from core.registry import client_for
from features.dataset import Dataset
from features.engines.dispatch import use_engine
from features.engines.spark import stage_parquet
from features.pipeline.build import build_features
from scoring.batch.job import BatchError
from scoring.champions import Champions, load_champions
from scoring.config import ServingConfig

SCORE_COLUMNS = ("churn_probability", "predicted_value", "expected_value_at_risk", "risk_band")
OUTPUT = {"churn": "churn_probability", "value": "predicted_value"}
"""The prediction column of each pyfunc (``core.registry.OUTPUT_COLUMNS``), renamed as the store
names it."""


@dataclass(frozen=True)
class SparkScoreResult:
    """What a Spark scoring run wrote."""

    asof: pd.Timestamp
    n_customers: int
    out: Path
    versions: dict[str, str]


def model_dir(name: str, version: str, tracking_uri: str, dest: Path) -> str:
    """Download registered model ``name`` version ``version`` (the whole pyfunc) under ``dest``."""
    location = client_for(tracking_uri).get_model_version_download_uri(name, version)
    with contextlib.redirect_stderr(io.StringIO()):  # MLflow draws a progress bar per download
        return mlflow.artifacts.download_artifacts(
            artifact_uri=location, dst_path=str(dest / name), tracking_uri=tracking_uri
        )


def _signature(path: str) -> tuple[list[str], str]:
    """A downloaded pyfunc's input columns and its prediction column (from its signature)."""
    signature = mlflow.models.Model.load(path).signature
    outputs = signature.outputs.input_names()
    return signature.inputs.input_names(), next(c for c in outputs if c != "customer_id")


def spark_scores(
    spark: Any, features: Any, churn_dir: str, value_dir: str, cfg: ServingConfig
) -> Any:
    """Score a Spark frame of feature rows with both pyfuncs: ``customer_id``, the keys it has and
    the four score columns (the risk band by ``cfg.risk_bands``, as :func:`risk_band` does)."""
    from pyspark.sql import functions as F

    scored = features
    for kind, path in (("churn", churn_dir), ("value", value_dir)):
        inputs, column = _signature(path)
        wanted = [c for c in inputs if c in features.columns]
        udf = mlflow.pyfunc.spark_udf(
            spark, path, result_type=f"`{column}` double", env_manager="local"
        )
        scored = scored.withColumn(OUTPUT[kind], udf(*[F.col(c) for c in wanted])[column])
    p, bands = F.col("churn_probability"), cfg.risk_bands
    band = (
        F.when(p >= F.lit(bands.high), "high")
        .when(p >= F.lit(bands.medium), "medium")
        .otherwise("low")
    )
    keys = [c for c in ("customer_id", "account_manager_id", "plan") if c in features.columns]
    return scored.select(
        *keys,
        "churn_probability",
        "predicted_value",
        (F.col("churn_probability") * F.col("predicted_value")).alias("expected_value_at_risk"),
        band.alias("risk_band"),
    )


def run_spark_batch(
    ds: Dataset, asof: pd.Timestamp, cfg: ServingConfig, spark: Any, out: str | Path
) -> SparkScoreResult:
    """Build the as-of date's features on Spark, score them with the champion pyfuncs as Spark
    UDFs and write ``out/asof=YYYY-MM-DD/`` (that date's partition replaced, others kept)."""
    try:
        champions: Champions = load_champions(cfg.models, cfg.resolved_tracking_uri())
    except BundleError as exc:
        raise BatchError(str(exc)) from exc
    with use_engine("spark", spark):
        features = build_features(ds, asof, champions.feature_config(), labels=False)
    try:
        champions.churn.check_columns(features)
        champions.value.check_columns(features)
    except BundleError as exc:
        raise BatchError(f"the data cannot feed the champion models: {exc}") from exc
    uri = cfg.resolved_tracking_uri()
    with tempfile.TemporaryDirectory(prefix="churn-spark-score-") as tmp:
        root = Path(tmp)
        staged = stage_parquet(features, root / "features.parquet")
        churn_dir = model_dir(cfg.models.churn, champions.churn_version, uri, root)
        value_dir = model_dir(cfg.models.value, champions.value_version, uri, root)
        frame = spark.read.parquet(staged)
        scores = spark_scores(spark, frame, churn_dir, value_dir, cfg)
        from pyspark.sql import functions as F

        scores = scores.withColumns(
            {
                "churn_model_version": F.lit(champions.churn_version),
                "value_model_version": F.lit(champions.value_version),
                "asof": F.lit(f"{asof:%Y-%m-%d}"),
            }
        )
        target = Path(out)
        (
            scores.write.mode("overwrite")
            .option("partitionOverwriteMode", "dynamic")
            .partitionBy("asof")
            .parquet(str(target))
        )
    return SparkScoreResult(asof, len(features), target, champions.versions)
