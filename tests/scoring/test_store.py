"""The SQL store: exact round trips, replacement per as-of date, the at-risk query."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from scoring.store.predictions import AtRiskQuery, PredictionStore, ScoringRun, StoreError

FEATURES = ("segment", "recency_days", "spend")


def _run(asof: str, version: str = "1", n: int = 6) -> ScoringRun:
    return ScoringRun(
        asof,
        datetime(2024, 7, 1, 12),
        n,
        "churn-model",
        version,
        "value-model",
        "2",
        FEATURES,
        "test",
    )


def _frames(n: int = 6, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = [f"C{i:03d}" for i in range(n)]
    features = pd.DataFrame(
        {
            "customer_id": pd.array(ids, dtype="str"),
            "account_manager_id": pd.array(
                ["AM1", "AM2", None, "AM1", "AM2", "AM1"][:n], dtype="str"
            ),
            "segment": pd.Categorical(["smb", "enterprise", None, "smb", "consumer", "smb"][:n]),
            "recency_days": rng.exponential(40, n) / 3,  # not representable in few digits
            "spend": np.r_[np.nan, rng.gamma(2.0, 100.0, n - 1)],
        }
    )
    p = rng.uniform(0, 1, n)
    v = rng.gamma(2.0, 500.0, n)
    predictions = pd.DataFrame(
        {
            "customer_id": ids,
            "account_manager_id": features["account_manager_id"].astype(object),
            "segment": features["segment"].astype(object),
            "churn_probability": p,
            "predicted_value": v,
            "expected_value_at_risk": p * v,
            "risk_band": np.where(p >= 0.5, "high", "low"),
            "churn_model_version": "1",
            "value_model_version": "2",
        }
    )
    return features, predictions


@pytest.fixture
def store(tmp_path) -> PredictionStore:
    s = PredictionStore(f"sqlite:///{tmp_path / 'sub' / 'store.db'}")
    yield s
    s.close()


def test_empty_store_says_how_to_fill_it(store):
    with pytest.raises(StoreError, match="churn score"):
        store.run()
    with pytest.raises(StoreError, match="no batch scoring"):
        store.at_risk(AtRiskQuery())


def test_bad_url_is_a_user_error():
    with pytest.raises(StoreError, match="not a usable SQLAlchemy URL"):
        PredictionStore("nosuchdb://x/y")


def test_feature_rows_round_trip_exactly(store):
    features, predictions = _frames()
    store.write_scores(_run("2024-06-30"), features, ["segment"], predictions)
    run, got = store.features_for(["C004", "C000", "nobody"])
    assert run.asof == "2024-06-30" and run.feature_names == FEATURES and run.n_customers == 6
    got = got.set_index("customer_id").loc[["C000", "C004"]]
    want = features.set_index("customer_id").loc[["C000", "C004"]]
    assert np.array_equal(got["recency_days"].to_numpy(), want["recency_days"].to_numpy())
    assert (
        np.isnan(got.loc["C000", "spend"]) and got.loc["C004", "spend"] == want.loc["C004", "spend"]
    )
    assert list(got["segment"]) == ["smb", "consumer"]


def test_scoring_an_asof_again_replaces_it_and_latest_is_default(store):
    features, predictions = _frames()
    store.write_scores(_run("2024-05-31"), features, ["segment"], predictions)
    store.write_scores(_run("2024-06-30"), features, ["segment"], predictions)
    again = predictions.assign(
        churn_probability=0.99, expected_value_at_risk=predictions["predicted_value"] * 0.99
    )
    store.write_scores(_run("2024-06-30", version="9"), features, ["segment"], again)
    assert store.run().churn_model_version == "9"
    page = store.at_risk(AtRiskQuery(limit=100))
    assert page.asof == "2024-06-30" and page.total == 6
    assert (page.rows["churn_probability"] == 0.99).all()
    older = store.at_risk(AtRiskQuery(asof="2024-05-31", limit=100))
    assert older.total == 6 and (older.rows["churn_probability"] < 0.99).any()


def test_at_risk_sorts_filters_and_pages(store):
    features, predictions = _frames()
    store.write_scores(_run("2024-06-30"), features, ["segment"], predictions)
    full = store.at_risk(AtRiskQuery(limit=100)).rows
    assert list(full["expected_value_at_risk"]) == sorted(
        predictions["expected_value_at_risk"], reverse=True
    )
    assert list(full["rank"]) == list(range(1, 7))
    assert full["account_manager_id"].isna().sum() == 1 and None in list(full["account_manager_id"])
    page = store.at_risk(AtRiskQuery(limit=2, offset=2))
    assert page.total == 6 and list(page.rows["customer_id"]) == list(full["customer_id"][2:4])
    assert list(page.rows["rank"]) == [3, 4]
    am1 = store.at_risk(AtRiskQuery(account_manager_id="AM1", limit=100))
    assert am1.total == 3 and set(am1.rows["account_manager_id"]) == {"AM1"}
    smb = store.at_risk(AtRiskQuery(segment="smb", min_probability=0.5, limit=100))
    expected = predictions[
        (predictions["segment"] == "smb") & (predictions["churn_probability"] >= 0.5)
    ]
    assert smb.total == len(expected) and set(smb.rows["customer_id"]) == set(
        expected["customer_id"]
    )


def test_tables_compile_for_postgresql():
    import sqlalchemy as sa
    from sqlalchemy.dialects import postgresql

    from scoring.store.schema import PREDICTIONS, RUNS, feature_table, feature_table_name

    name = feature_table_name(FEATURES, ["segment"])
    assert name == feature_table_name(FEATURES, ["segment"]) and len(name) <= 63
    for table in (RUNS, PREDICTIONS, feature_table(name, FEATURES, ["segment"])):
        ddl = str(sa.schema.CreateTable(table).compile(dialect=postgresql.dialect()))
        assert "DOUBLE PRECISION" in ddl or table is RUNS
    ddl = str(
        sa.schema.CreateTable(feature_table(name, FEATURES, ["segment"])).compile(
            dialect=postgresql.dialect()
        )
    )
    assert "segment TEXT" in ddl and "recency_days DOUBLE PRECISION" in ddl


def test_a_store_from_before_the_lists_is_upgraded_and_keeps_its_rows(tmp_path):
    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = sa.create_engine(url)
    with old.begin() as conn:  # the tables as the previous version wrote them
        conn.execute(sa.text(
            "CREATE TABLE scoring_runs (asof VARCHAR(10) PRIMARY KEY, scored_at DATETIME NOT NULL, "
            "n_customers INTEGER NOT NULL, churn_model VARCHAR(200) NOT NULL, "
            "churn_model_version VARCHAR(50) NOT NULL, value_model VARCHAR(200) NOT NULL, "
            "value_model_version VARCHAR(50) NOT NULL, feature_table VARCHAR(63) NOT NULL, "
            "feature_names TEXT NOT NULL, source TEXT NOT NULL)"
        ))  # fmt: skip
        conn.execute(sa.text(
            "CREATE TABLE predictions (asof VARCHAR(10), customer_id VARCHAR(200), "
            "account_manager_id VARCHAR(200), segment VARCHAR(200), churn_probability FLOAT NOT NULL, "
            "predicted_value FLOAT NOT NULL, expected_value_at_risk FLOAT NOT NULL, "
            "risk_band VARCHAR(10) NOT NULL, churn_model_version VARCHAR(50) NOT NULL, "
            "value_model_version VARCHAR(50) NOT NULL, PRIMARY KEY (asof, customer_id))"
        ))  # fmt: skip
        conn.execute(sa.text(
            "INSERT INTO scoring_runs VALUES ('2024-05-31', '2024-06-01 00:00:00', 1, 'c', '1', "
            "'v', '1', 'features_x', '[]', 'old')"
        ))  # fmt: skip
        conn.execute(sa.text(
            "INSERT INTO predictions VALUES ('2024-05-31', 'C1', 'AM1', 'smb', 0.4, 100.0, 40.0, "
            "'medium', '1', '1')"
        ))  # fmt: skip
    old.dispose()
    store = PredictionStore(url)
    columns = {c["name"] for c in sa.inspect(store.engine).get_columns("predictions")}
    assert {"lifecycle_status", "reasons", "recommended_action", "plan"} <= columns
    page = store.at_risk(AtRiskQuery())
    assert page.total == 1 and page.rows["customer_id"].tolist() == ["C1"]
    assert page.rows["lifecycle_status"].tolist() == [None] and page.horizon_days == 90
    assert store.at_risk(AtRiskQuery(lifecycle=("lapsed",))).total == 0
    store.close()
