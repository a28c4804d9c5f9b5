"""The feature table's shape and metadata, multi-cutoff training sets, the SQL aggregates' parity
with pandas, the Parquet file and the ``churn features`` command."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from churn.commands.features import register
from features.config import FeatureConfig
from features.engines.dispatch import use_engine
from features.feature_io import read_features, write_features
from features.pipeline.build import (
    CATEGORICAL_FEATURES,
    build_features,
    build_training_set,
    feature_columns,
    monthly_cutoffs,
)
from features.pipeline.cutoffs import FeatureError
from features.synthetic.generator import generate, write_dataset


def on_sql(ds, cutoff, cfg: FeatureConfig | None = None):
    """The same build with the aggregates run as SQL (``features.engines.sql``, by DuckDB): the
    Spark engine's SQL, checked here without Spark."""
    with use_engine("duckdb"):
        return build_features(ds, cutoff, cfg or FeatureConfig())


def cli() -> typer.Typer:
    """A typer app with only ``churn features`` (the full app imports every stage: slow)."""
    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    return app


def test_columns_dtypes_and_attrs(ds, cfg, cutoff):
    frame = build_features(ds, cutoff, cfg)
    assert list(frame.columns[:6]) == [
        "customer_id", "cutoff", "account_manager_id", "segment", "region", "plan"
    ]  # fmt: skip
    assert frame["customer_id"].dtype == "str"
    assert frame["cutoff"].dtype == "datetime64[ns]" and (frame["cutoff"] == cutoff).all()
    assert all(isinstance(frame[c].dtype, pd.CategoricalDtype) for c in CATEGORICAL_FEATURES)
    numeric = [c for c in feature_columns(frame) if c not in CATEGORICAL_FEATURES]
    assert all(frame[c].dtype == "float64" for c in numeric)
    assert frame.attrs["feature_names"] == feature_columns(frame)
    assert list(frame.columns[-2:]) == ["churned", "future_value"]
    assert frame.attrs["notes"] == []  # the fixture has every table and column


def test_categories_come_from_the_whole_customers_table(ds, cfg, cutoff):
    frame = build_features(ds, cutoff, cfg)
    # "public" belongs to C, who is not in the population
    assert list(frame["segment"].cat.categories) == ["consumer", "enterprise", "public", "smb"]


def test_feature_columns_exclude_keys_and_labels(ds, cfg, cutoff):
    cols = feature_columns(build_features(ds, cutoff, cfg))
    assert not {"customer_id", "cutoff", "account_manager_id", "churned", "future_value"} & set(
        cols
    )
    assert cols[:3] == ["segment", "region", "plan"]


@pytest.mark.parametrize("bad", ["2024-13-45", "soon", "2030-01-01"])
def test_bad_cutoff_is_a_clear_error(ds, cfg, bad):
    with pytest.raises(FeatureError, match="cutoff"):
        build_features(ds, bad, cfg)


def test_events_of_unknown_customers_are_ignored(make_ds, cfg, cutoff):
    ds = make_ds()
    tx = ds.tables["transactions"]
    extra = pd.DataFrame(
        {"customer_id": pd.Series(["ZZ"], dtype="str"), "ts": tx["ts"].iloc[:1], "amount": [1.0]}
    )
    ds.tables["transactions"] = pd.concat([tx, extra], ignore_index=True)
    pd.testing.assert_frame_equal(
        build_features(ds, cutoff, cfg), build_features(make_ds(), cutoff, cfg)
    )


def test_training_set_stacks_cutoffs_with_shared_categories(ds, cfg):
    cutoffs = monthly_cutoffs(ds, 3, 90)
    frame = build_training_set(ds, cutoffs, cfg)
    assert sorted(frame["cutoff"].unique()) == cutoffs
    assert not frame.duplicated(["customer_id", "cutoff"]).any()
    for cut in cutoffs:
        single = build_features(ds, cut, cfg)
        part = frame[frame["cutoff"] == cut].reset_index(drop=True)
        pd.testing.assert_frame_equal(part, single)
    assert frame["segment"].dtype == build_features(ds, cutoffs[0], cfg)["segment"].dtype
    assert frame.attrs["label_definition"]["horizon_days"] == 90
    assert frame["churned"].notna().all()


def test_training_set_needs_cutoffs(ds, cfg):
    with pytest.raises(FeatureError, match="no cutoffs"):
        build_training_set(ds, [], cfg)


def assert_same_features(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    for col in a.columns:
        if a[col].dtype == "float64":
            np.testing.assert_allclose(a[col], b[col], rtol=1e-9, atol=1e-9, err_msg=col)
        else:
            pd.testing.assert_series_equal(a[col], b[col])


def test_duckdb_engine_matches_pandas_on_the_fixture(ds, cfg, cutoff):
    assert_same_features(build_features(ds, cutoff, cfg), on_sql(ds, cutoff, cfg))


@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_duckdb_engine_matches_pandas_on_random_books(data, books):
    ds = books.build(data.draw(books.books()))
    cut = pd.Timestamp("2024-04-01")
    assert_same_features(build_features(ds, cut, FeatureConfig()), on_sql(ds, cut))


@pytest.fixture(scope="module")
def generated():
    return generate(1500, seed=7)


def test_generated_data_builds_and_engines_agree(generated):
    ds = generated.dataset
    cut = monthly_cutoffs(ds, 1, 90)[0]
    frame = build_features(ds, cut, FeatureConfig())
    assert len(frame) > 300
    assert 0.02 < frame["churned"].mean() < 0.8
    assert_same_features(frame, on_sql(ds, cut))


def test_parquet_keeps_label_definition_and_categories(ds, cfg, cutoff, tmp_path):
    frame = build_features(ds, cutoff, cfg)
    back = read_features(write_features(frame, tmp_path / "f.parquet"))
    assert back.attrs["label_definition"] == frame.attrs["label_definition"]
    assert back.attrs["feature_names"] == frame.attrs["feature_names"]
    assert list(back["segment"].cat.categories) == list(frame["segment"].cat.categories)
    np.testing.assert_array_equal(back["churned"], frame["churned"])


def test_cli_writes_features(generated, tmp_path):
    write_dataset(generated, tmp_path / "data")
    out = tmp_path / "f.parquet"
    config = tmp_path / "churn.yaml"
    config.write_text("training: {ignored: true}\nfeatures:\n  windows_days: [30, 90]\n")
    args = ["features", "--data", str(tmp_path / "data"), "--cutoff", "2024-01-01"]
    result = CliRunner().invoke(
        cli(), [*args, "--horizon", "60", "--config", str(config), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "customers active at 2024-01-01" in " ".join(result.output.split())
    frame = read_features(out)
    assert frame.attrs["label_definition"]["horizon_days"] == 60
    assert "txn_count_90d" in frame.columns and "txn_count_365d" not in frame.columns


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--cutoff", "2031-01-01"], "after the data's as-of"),
        (["--cutoff", "someday"], "not a date"),
    ],
)
def test_cli_user_errors_exit_2(generated, tmp_path, extra, message):
    write_dataset(generated, tmp_path / "data")
    args = ["features", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "f.parquet")]
    result = CliRunner().invoke(cli(), [*args, *extra])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_cli_bad_config_exits_2(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("features:\n  windows_days: [90, 30]\n")
    args = ["features", "--data", str(tmp_path), "--cutoff", "2024-01-01"]
    result = CliRunner().invoke(cli(), [*args, "--config", str(config), "--out", "x.parquet"])
    assert result.exit_code == 2
    assert "windows_days" in result.output


def test_empty_event_tables_build_with_both_engines(make_ds, cfg, cutoff):
    ds = make_ds()
    for table in ("transactions", "interactions", "complaints"):
        ds.tables[table] = ds.tables[table].iloc[:0]
    frame = build_features(ds, cutoff, cfg)
    assert frame["customer_id"].tolist() == ["E", "G", "H"]  # contracts and a recent signup
    assert (frame["txn_count_365d"] == 0).all() and frame["recency_days"].isna().all()
    assert_same_features(frame, on_sql(ds, cutoff, cfg))


def test_duckdb_is_no_longer_an_engine_option_but_old_configs_still_read():
    assert FeatureConfig.model_validate({"engine": "duckdb"}).engine == "pandas"
    result = CliRunner().invoke(cli(), ["features", "--engine", "duckdb"])
    assert result.exit_code == 2 and "duckdb" in result.output
