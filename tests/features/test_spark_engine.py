"""The Spark engine gives the pandas engine's features: the same customers and columns, numbers
within 1e-9 (missing equal to missing), text equal, on the fixture, random books, a generated book
over several cutoffs and through ``churn features --engine spark``.

One local Spark session per test worker (starting Spark takes seconds), with small settings.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from churn.commands.features import register
from features.config import FeatureConfig
from features.engines.dispatch import use_engine
from features.engines.spark import spark_session
from features.feature_io import read_features
from features.pipeline.build import build_features, build_training_set, monthly_cutoffs
from features.pipeline.interactions import interaction_specs
from features.synthetic.generator import generate, write_dataset

pytestmark = [pytest.mark.xdist_group("spark"), pytest.mark.slow]

TEST_CONF = {
    "spark.sql.shuffle.partitions": "1",
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.codegen.wholeStage": "false",  # tiny tables: compiling costs more than it saves
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
}


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    session = spark_session("local[1]", TEST_CONF)
    yield session
    session.stop()


def on_spark(spark: Any, build, *args, **kwargs) -> pd.DataFrame:
    with use_engine("spark", spark):
        return build(*args, **kwargs)


def assert_same_features(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    assert a["customer_id"].tolist() == b["customer_id"].tolist()
    for col in a.columns:
        if a[col].dtype == "float64":
            np.testing.assert_array_equal(a[col].isna(), b[col].isna(), err_msg=col)
            np.testing.assert_allclose(a[col], b[col], rtol=1e-9, atol=1e-9, err_msg=col)
        else:
            pd.testing.assert_series_equal(a[col], b[col])
    assert a.attrs == b.attrs


def test_spark_matches_pandas_on_the_fixture(spark, ds, cfg, cutoff):
    expected = build_features(ds, cutoff, cfg)
    assert expected["complaint_open_total"].gt(0).any()  # the fixture exercises every table
    assert_same_features(expected, on_spark(spark, build_features, ds, cutoff, cfg))


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_spark_matches_pandas_on_random_books(spark, data, books):
    ds = books.build(data.draw(books.books()))
    cut = pd.Timestamp("2024-04-01")
    expected = build_features(ds, cut, FeatureConfig())
    assert_same_features(expected, on_spark(spark, build_features, ds, cut, FeatureConfig()))


def test_spark_training_set_over_cutoffs_matches_pandas(spark):
    ds = generate(500, seed=5).dataset
    cuts = monthly_cutoffs(ds, 2, 90)
    cfg = FeatureConfig(windows_days=(30, 90))
    expected = build_training_set(ds, cuts, cfg)
    got = on_spark(spark, build_training_set, ds, cuts, cfg)
    assert expected["cutoff"].nunique() == 2 and expected["churned"].notna().all()
    assert_same_features(expected, got)


def test_a_new_spec_runs_on_spark_without_engine_changes(spark, ds, cfg, cutoff, monkeypatch):
    """A spec added to a family reaches Spark as SQL: the engine knows no spec by name."""
    from features.pipeline import build
    from features.pipeline.aggregate import WindowAgg

    def more(cols, c):
        extra = WindowAgg("int_email_max_t_90d", "max", "t", window_days=90)
        return [*interaction_specs(cols, c), extra]

    monkeypatch.setattr(build, "interaction_specs", more)
    plan = build.plan_features(ds, cfg)
    with use_engine("spark", spark):
        spark_plan = build.plan_features(ds, cfg)
    day = (cutoff - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
    specs = spark_plan.specs["interactions"]
    a = plan.engine.aggregate("interactions", specs, day)
    b = spark_plan.engine.aggregate("interactions", specs, day)
    assert np.isfinite(a["int_email_max_t_90d"]).any()
    for name in a:
        np.testing.assert_allclose(a[name], b[name], rtol=1e-9, atol=1e-9, err_msg=name)


def test_cli_features_on_spark_equal_pandas(spark, tmp_path):
    write_dataset(generate(300, seed=9), tmp_path / "data")
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # two commands: typer keeps the command name
    outs = {}
    for engine in ("pandas", "spark"):
        outs[engine] = tmp_path / f"{engine}.parquet"
        args = ["features", "--data", str(tmp_path / "data"), "--cutoff", "2024-03-01"]
        result = CliRunner().invoke(app, [*args, "--engine", engine, "--out", str(outs[engine])])
        assert result.exit_code == 0, result.output
    assert_same_features(read_features(outs["pandas"]), read_features(outs["spark"]))


def test_cli_bad_spark_conf_is_a_clear_error(tmp_path):
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)
    args = ["features", "--data", str(tmp_path), "--cutoff", "2024-03-01", "--out", "x.parquet"]
    result = CliRunner().invoke(app, [*args, "--engine", "spark", "--spark-conf", "no-equals"])
    assert result.exit_code == 2
    assert "KEY=VALUE" in result.output and "Traceback" not in result.output


def test_training_cutoffs_shrink_to_fit_the_row_limit():
    from churn.commands.train import cutoffs_within

    assert cutoffs_within(100_000, 6, 2_000_000) == 6  # 100,000 x 8 fits
    assert cutoffs_within(300_000, 6, 2_000_000) == 4  # 300,000 x (4 + 2) = 1.8 M
    assert cutoffs_within(5_000_000, 6, 2_000_000) == 1  # never fewer than one
