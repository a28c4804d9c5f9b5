"""Batch scoring on Spark: the registered champion pyfuncs as Spark UDFs give the scores of
:func:`scoring.frame.score_frame`, written as Parquet partitioned by as-of date.

Tiny bundles (the ``champions`` fixture) are logged to a temporary MLflow registry as the
training job logs them; one local Spark session per test worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest

from core.registry import client_for, make_champion
from features.config import FeatureConfig
from features.engines.spark import spark_session
from features.pipeline.build import build_features
from scoring.batch.spark import run_spark_batch
from scoring.champions import Champions
from scoring.config import ServingConfig
from scoring.frame import score_frame
from training.tracking import ensure_experiment, log_bundle, using_store

pytestmark = [pytest.mark.xdist_group("spark"), pytest.mark.slow]

TEST_CONF = {
    "spark.sql.shuffle.partitions": "1",
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.codegen.wholeStage": "false",
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
    "spark.python.worker.reuse": "true",
}


@pytest.fixture(scope="session")
def spark_scoring() -> Iterator[Any]:
    session = spark_session("local[1]", TEST_CONF)
    yield session
    session.stop()


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory, champions: Champions, book) -> ServingConfig:
    """The ``champions`` bundles registered as champions of a temporary MLflow store."""
    root = tmp_path_factory.mktemp("spark-scoring")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    example = build_features(book, "2024-03-01", FeatureConfig(), labels=False)
    client = client_for(uri)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CHURN_HOME", str(root / "home"))
        with using_store(uri):
            experiment = ensure_experiment(client, "spark-scoring", uri)
            with mlflow.start_run(experiment_id=experiment):  # one run: a pair, as training logs it
                for bundle, name in (
                    (champions.churn, "churn-model"),
                    (champions.value, "value-model"),
                ):
                    _, version = log_bundle(bundle, example, name)
                    make_champion(client, name, version, "spark scoring test")
    return ServingConfig.model_validate({"tracking_uri": uri, "store_url": "sqlite://"})


def test_spark_scores_equal_pandas_scores_in_asof_partitions(
    spark_scoring, registry, champions, book, tmp_path
):
    out = tmp_path / "scores"
    asof = pd.Timestamp(book.as_of)
    earlier = asof - pd.Timedelta(days=31)
    stale, kept = (out / f"asof={d:%Y-%m-%d}" / "part.parquet" for d in (asof, earlier))
    for path in (stale, kept):  # what earlier runs left
        path.parent.mkdir(parents=True)
        pd.DataFrame({"customer_id": ["old"]}).to_parquet(path)
    result = run_spark_batch(book, asof, registry, spark_scoring, out)
    assert not stale.exists() and kept.exists()  # only the as-of date's partition is replaced

    got = pd.read_parquet(out / f"asof={asof:%Y-%m-%d}").sort_values("customer_id")
    features = build_features(book, asof, FeatureConfig(), labels=False)
    expected = pd.concat(
        [features[["customer_id"]], score_frame(features, champions, registry.risk_bands)], axis=1
    ).sort_values("customer_id")
    assert len(got) == len(expected) == result.n_customers
    assert got["customer_id"].astype(str).tolist() == expected["customer_id"].tolist()
    for col in ("churn_probability", "predicted_value", "expected_value_at_risk"):
        np.testing.assert_allclose(got[col], expected[col], rtol=1e-9, atol=1e-12, err_msg=col)
    assert got["risk_band"].tolist() == expected["risk_band"].tolist()
    assert set(got["risk_band"]) > {"low"}  # the bands are exercised, not all low
    assert (got["churn_model_version"] == "1").all() and (got["value_model_version"] == "1").all()
    assert result.versions == {"churn_model_version": "1", "value_model_version": "1"}


def test_missing_champion_is_a_batch_error(spark_scoring, registry, book, tmp_path):
    from scoring.batch.job import BatchError

    cfg = registry.model_copy(
        update={"models": registry.models.model_copy(update={"churn": "nope"})}
    )
    with pytest.raises(BatchError, match="nope"):
        run_spark_batch(book, pd.Timestamp(book.as_of), cfg, spark_scoring, tmp_path / "out")
    assert not (tmp_path / "out").exists()
