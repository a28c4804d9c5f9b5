"""The API's prediction log and the service's own metrics, in process against a real SQLite
store: bulk writes trimmed to the newest rows, rows kept through a failing store and dropped
only past the buffer, the histogram and band counts, the monitoring gauges from latest.json,
and the logged predictions as matured scorings for realized performance."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from prometheus_client import CollectorRegistry

from monitoring.realized import API, api_scorings
from scoring.config import PredictionLogConfig
from scoring.store.predictions import PredictionStore
from scoring.store.schema import API_PREDICTIONS
from serving.metrics import ServiceMetrics
from serving.prediction_log import PredictionLog
from serving.schemas import Prediction


def _answers(n: int, start: int = 0, version: str = "3") -> tuple[list[dict], list[Prediction]]:
    """Request rows and the predictions answered for them (probabilities 0.05 .. 0.95)."""
    rows = [
        {"customer_id": f"C{start + i:03d}", "account_manager_id": f"AM{i % 2}"} for i in range(n)
    ]
    probabilities = np.linspace(0.05, 0.95, n) if n > 1 else np.array([0.5])
    preds = [
        Prediction.model_construct(
            customer_id=r["customer_id"],
            churn_probability=float(q),
            predicted_value=100.0 * (i + 1),
            expected_value_at_risk=float(q) * 100.0 * (i + 1),
            risk_band="high" if q >= 0.5 else ("medium" if q >= 0.2 else "low"),
            churn_model_version=version,
            value_model_version="4",
        )
        for i, (r, q) in enumerate(zip(rows, probabilities, strict=True))
    ]
    return rows, preds


@pytest.fixture
def store(tmp_path: Path) -> Iterator[PredictionStore]:
    made = PredictionStore(f"sqlite:///{tmp_path / 'store.db'}")
    yield made
    made.close()


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def metrics(registry: CollectorRegistry) -> ServiceMetrics:
    return ServiceMetrics(registry)


def _logged(store: PredictionStore) -> pd.DataFrame:
    with store.engine.connect() as conn:
        return pd.read_sql(sa.select(API_PREDICTIONS).order_by(API_PREDICTIONS.c.id), conn)


def test_flush_writes_what_was_answered_and_keeps_the_newest_rows(store, metrics, registry):
    log = PredictionLog(PredictionLogConfig(max_rows=12), store.append_api_predictions, metrics)
    rows, preds = _answers(10)
    log.add("predict", preds, managers=[r["account_manager_id"] for r in rows])
    assert _logged(store).empty  # nothing written on the request path
    assert log.flush() == 10
    first = _logged(store)
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert list(first["customer_id"]) == [r["customer_id"] for r in rows]
    assert list(first["account_manager_id"]) == [r["account_manager_id"] for r in rows]
    assert first["churn_probability"].tolist() == [p.churn_probability for p in preds]
    assert first["predicted_value"].tolist() == [p.predicted_value for p in preds]
    assert set(first["asof"]) == {today} and set(first["endpoint"]) == {"predict"}
    assert set(first["churn_model_version"]) == {"3"}

    more_rows, more = _answers(5, start=100)
    log.add("predict_by_id", more, asof="2024-03-01")
    assert log.flush() == 5
    kept = _logged(store)
    assert len(kept) == 12  # trimmed to max_rows, the oldest gone
    assert list(kept["customer_id"]) == [r["customer_id"] for r in rows[3:] + more_rows]
    assert list(kept["asof"]) == [today] * 7 + ["2024-03-01"] * 5
    assert kept["account_manager_id"].tail(5).isna().all()  # not known for these

    sample = registry.get_sample_value
    assert sample("churn_prediction_churn_probability_count") == 15
    total = sum(p.churn_probability for p in preds + more)
    assert math.isclose(sample("churn_prediction_churn_probability_sum"), total)
    assert sample("churn_prediction_churn_probability_bucket", {"le": "0.2"}) == sum(
        p.churn_probability <= 0.2 for p in preds + more
    )
    high = sum(p.risk_band == "high" for p in preds)
    assert sample("churn_predictions_total", {"endpoint": "predict", "risk_band": "high"}) == high


def test_a_failing_store_loses_nothing_within_the_buffer(store, metrics, registry):
    down = [True]

    def write(frame: pd.DataFrame, keep: int) -> None:
        if down[0]:
            raise sa.exc.OperationalError("INSERT", {}, Exception("database is locked"))
        store.append_api_predictions(frame, keep)

    log = PredictionLog(PredictionLogConfig(buffer_rows=25), write, metrics)
    for start in (0, 10):
        log.add("predict", _answers(10, start=start)[1])
        assert log.flush() == 0  # kept for the next write, nothing raised
    assert registry.get_sample_value("churn_prediction_log_write_failures_total") == 2
    assert registry.get_sample_value("churn_prediction_log_dropped_rows_total") == 0
    log.add("predict", _answers(10, start=20)[1])
    down[0] = False
    assert log.flush() == 25  # 30 waited, the buffer keeps the newest 25
    assert registry.get_sample_value("churn_prediction_log_dropped_rows_total") == 5
    assert list(_logged(store)["customer_id"]) == [f"C{i:03d}" for i in range(5, 30)]
    assert log.flush() == 0  # written once, not again
    # the histogram counted every answer once, whatever the store did
    assert registry.get_sample_value("churn_prediction_churn_probability_count") == 30


def test_without_a_log_the_metrics_still_count(metrics, registry):
    called = []
    log = PredictionLog(PredictionLogConfig(max_rows=0), lambda f, k: called.append(f), metrics)
    log.add("predict", _answers(4)[1])
    assert log.flush() == 0 and called == []
    assert registry.get_sample_value("churn_prediction_churn_probability_count") == 4


def _result(drifted: int, auc: float | None) -> dict:
    features = [
        {
            "name": f"f{i}",
            "statistic": "psi",
            "value": 0.3,
            "threshold": 0.2,
            "drifted": i < drifted,
        }
        for i in range(6)
    ]
    return {
        "asof": "2024-06-30",
        "features": features,
        "prediction_drift": {"name": "churn_probability", "value": 0.04, "drifted": False},
        "estimated": {"roc_auc": auc, "n": 900},
        "alerts": ["feature drift: ..."] * min(drifted, 1),
    }


def test_monitoring_gauges_follow_the_latest_result(tmp_path, metrics, registry):
    path = tmp_path / "monitoring" / "latest.json"
    sample = registry.get_sample_value
    assert not metrics.follow(path)  # none yet: the gauges say so with NaN, not 0
    assert math.isnan(sample("churn_monitor_drifted_features"))
    assert math.isnan(sample("churn_monitor_estimated_roc_auc"))
    path.parent.mkdir()
    path.write_text(json.dumps(_result(2, 0.812)), "utf-8")
    assert metrics.follow(path)
    assert sample("churn_monitor_drifted_features") == 2
    assert sample("churn_monitor_features") == 6
    assert sample("churn_monitor_estimated_roc_auc") == 0.812
    assert sample("churn_monitor_prediction_drift") == 0.04
    assert sample("churn_monitor_alerts") == 1
    assert sample("churn_monitor_asof_timestamp_seconds") == pd.Timestamp("2024-06-30").timestamp()
    assert not metrics.follow(path)  # unchanged file: not read again
    path.write_text(json.dumps(_result(0, None)) + " ", "utf-8")
    assert metrics.follow(path)
    assert sample("churn_monitor_drifted_features") == 0
    assert math.isnan(sample("churn_monitor_estimated_roc_auc"))  # no estimate is not 0
    path.write_text("{not json", "utf-8")
    assert not metrics.follow(path)
    assert sample("churn_monitor_drifted_features") == 0  # an unreadable file changes nothing


def test_logged_predictions_mature_into_scorings_per_date_and_version(store):
    def write(asof: str, version: str, rows: list[dict], preds: list[Prediction]) -> None:
        log = PredictionLog(PredictionLogConfig(), store.append_api_predictions, None)
        log.add(
            "predict_by_id", preds, asof=asof, managers=[r.get("account_manager_id") for r in rows]
        )
        log.flush()

    write("2024-01-01", "3", *_answers(6))
    rows, again = _answers(6)
    again = [p.model_copy(update={"churn_probability": 0.99}) for p in again[:2]]
    write("2024-01-01", "3", rows[:2], again)  # asked twice that day: the last answer counts
    write("2024-01-01", "4", *_answers(3, version="4"))
    write("2024-05-01", "4", *_answers(3, version="4"))  # not matured at the monitoring date
    nameless = [p.model_copy(update={"customer_id": None}) for p in _answers(2)[1]]
    write("2024-01-01", "3", [{}, {}], nameless)  # cannot be joined with outcomes

    found = api_scorings(store, pd.Timestamp("2024-06-30"), 90)
    assert [(f"{s.asof:%Y-%m-%d}", s.model_version, s.source) for s in found] == [
        ("2024-01-01", "3", API),
        ("2024-01-01", "4", API),
    ]
    v3 = found[0].predictions.set_index("customer_id")["churn_probability"]
    assert len(v3) == 6 and v3["C000"] == 0.99 and v3["C001"] == 0.99
    assert set(found[0].predictions.columns) == {
        "customer_id",
        "account_manager_id",
        "churn_probability",
    }
    assert all(s.horizon_days == 90 for s in found)
    assert api_scorings(store, pd.Timestamp("2024-03-30"), 90) == []  # 2024-01-01 + 90 d > then
