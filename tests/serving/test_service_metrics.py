"""The served process's own metrics and prediction log (a real ``bentoml serve`` with its own
home and a copy of the world's store): ``/metrics`` exports the latest ``churn monitor`` result
and the distribution of the scores it answered, the answers reach ``api_predictions`` in bulk,
bounded, and a store that cannot be written fails no prediction and loses no logged row."""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pandas as pd
import pytest
import sqlalchemy as sa
import yaml
from prometheus_client.parser import text_string_to_metric_families

from features.pipeline.build import build_features
from scoring.champions import load_champions
from scoring.store.schema import API_PREDICTIONS
from serving.launch import free_port, start_service, stop_service, wait_until_up

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("serving-api")]

MAX_ROWS = 25
WAIT_S = 20.0


@dataclass(frozen=True)
class Served:
    client: httpx.Client
    home: Path
    store: Path
    log: Path


@pytest.fixture(scope="module")
def served(world, tmp_path_factory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("metrics-service")
    home = root / "home"
    store = root / "serving.db"
    shutil.copyfile(world.root / "serving.db", store)
    settings = yaml.safe_load(world.config.read_text("utf-8"))
    settings["serving"].update(
        store_url=f"sqlite:///{store}",
        prediction_log={"max_rows": MAX_ROWS, "flush_s": 0.2},
        monitoring_check_s=0.2,
    )
    config = root / "serving.yaml"
    config.write_text(yaml.safe_dump(settings), "utf-8")
    port, log = free_port(), root / "service.log"
    proc = start_service(
        port, config, log, extra_env={"CHURN_HOME": str(home), "CHURN_API_KEY": None}
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(proc, url, 120, log)
        with httpx.Client(base_url=url, timeout=30) as client:
            yield Served(client, home, store, log)
    finally:
        stop_service(proc)


@pytest.fixture(scope="module")
def frame(world) -> pd.DataFrame:
    local = load_champions(world.cfg.models, world.tracking_uri)
    built = build_features(world.ds, world.asof, local.feature_config(), labels=False)
    return built.head(20)[["customer_id", "account_manager_id", *local.feature_names]]


@pytest.fixture(scope="module")
def records(frame) -> list[dict]:
    plain = frame.drop(columns="account_manager_id").astype(object)
    return plain.where(plain.notna(), None).to_dict("records")


def _metrics(client: httpx.Client) -> dict[tuple[str, tuple], float]:
    text = client.get("/metrics").text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _until(check: Callable[[], object], what: str) -> object:
    deadline = time.monotonic() + WAIT_S
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, f"not within {WAIT_S} s: {what}"
        time.sleep(0.2)


def _logged(store: Path) -> pd.DataFrame:
    engine = sa.create_engine(f"sqlite:///{store}")
    try:
        with engine.connect() as conn:
            return pd.read_sql(sa.select(API_PREDICTIONS).order_by(API_PREDICTIONS.c.id), conn)
    finally:
        engine.dispose()


def _count(client: httpx.Client) -> float:
    return _metrics(client).get(("churn_prediction_churn_probability_count", ()), 0.0)


def test_metrics_export_the_latest_monitoring_result(served):
    before = _metrics(served.client)
    assert math.isnan(before[("churn_monitor_drifted_features", ())])  # no result yet: NaN, not 0
    assert math.isnan(before[("churn_monitor_estimated_roc_auc", ())])
    features = [
        {"name": f"f{i}", "statistic": "psi", "value": 0.5, "threshold": 0.2, "drifted": i < 3}
        for i in range(10)
    ]
    result = {
        "asof": "2024-06-30",
        "features": features,
        "prediction_drift": {"value": 0.02},
        "estimated": {"roc_auc": 0.7731},
        "alerts": ["feature drift: f0, f1, f2"],
    }
    latest = served.home / "monitoring" / "latest.json"
    latest.parent.mkdir(parents=True, exist_ok=True)
    tmp = latest.with_suffix(".tmp")
    tmp.write_text(json.dumps(result), "utf-8")
    os.replace(tmp, latest)  # as `churn monitor` writes it
    now = _until(
        lambda: (m := _metrics(served.client))[("churn_monitor_drifted_features", ())] == 3 and m,
        "the monitoring result on /metrics",
    )
    assert now[("churn_monitor_estimated_roc_auc", ())] == 0.7731
    assert now[("churn_monitor_features", ())] == 10
    assert now[("churn_monitor_alerts", ())] == 1


def test_answers_are_counted_and_logged_in_bulk_bounded(served, world, frame, records):
    c = served.client
    start = _count(c)
    answered = c.post("/predict", json={"records": records})
    assert answered.status_code == 200, answered.text
    ids = [r["customer_id"] for r in records[:10]]
    by_id = c.post("/predict_by_id", json={"customer_ids": ids})
    assert by_id.status_code == 200, by_id.text
    _until(lambda: _count(c) == start + 30, "30 answers in the score histogram")

    predicted = answered.json()
    stored = [item["prediction"] for item in by_id.json()["results"]]
    answers = predicted + stored
    m = _metrics(c)
    for band in ("high", "medium", "low"):
        key = ("churn_predictions_total", (("endpoint", "predict"), ("risk_band", band)))
        assert m.get(key, 0) >= sum(p["risk_band"] == band for p in predicted)
    low = sum(p["churn_probability"] <= 0.1 for p in answers)
    assert m[("churn_prediction_churn_probability_bucket", (("le", "0.1"),))] >= low

    _until(lambda: len(_logged(served.store)) == MAX_ROWS, "the log trimmed to its bound")
    logged = _logged(served.store)
    newest = answers[-MAX_ROWS:]  # 30 answered, the table keeps the newest 25
    assert list(logged["customer_id"]) == [p["customer_id"] for p in newest]
    assert logged["churn_probability"].tolist() == [p["churn_probability"] for p in newest]
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert list(logged["asof"]) == [today] * 15 + [world.asof] * 10
    assert list(logged["endpoint"]) == ["predict"] * 15 + ["predict_by_id"] * 10
    managers = frame.set_index("customer_id")["account_manager_id"]  # known for stored ids only
    assert list(logged["account_manager_id"].tail(10)) == list(managers[ids])
    assert logged["account_manager_id"].head(15).isna().all()


def test_a_store_that_cannot_be_written_fails_no_prediction_and_loses_no_row(served, records):
    c = served.client
    backup = served.store.with_suffix(".backup")
    os.replace(served.store, backup)
    served.store.write_bytes(b"this is not a database" * 100)
    try:
        start = _count(c)
        for record in records[:3]:
            one = c.post("/predict", json={"records": [record]})
            assert one.status_code == 200, one.text
        _until(lambda: _count(c) == start + 3, "the answers counted while the store is down")
        failures = ("churn_prediction_log_write_failures_total", ())
        _until(lambda: _metrics(c).get(failures, 0) > 0, "a failed log write counted")
    finally:
        os.replace(backup, served.store)
    wanted = [r["customer_id"] for r in records[:3]]
    _until(
        lambda: list(_logged(served.store)["customer_id"].tail(3)) == wanted,
        "the rows held during the outage written once the store is back",
    )
