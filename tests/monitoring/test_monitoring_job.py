"""``churn monitor`` end to end on the serving world's trained registry: the JSON shape, drift
flagged on an injected price change and not on the same book without it, realized performance
of a stored scoring and of the API's prediction log, the latest result for /metrics, the HTML page and bad input."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
import typer
from typer.testing import CliRunner

import churn.commands.monitor as monitor_command
import churn.commands.score as score_command
from core.paths import home
from features.synthetic.drift import DriftConfig
from features.synthetic.generator import GeneratorConfig, generate, write_dataset
from monitoring.run import latest_path
from scoring.store.predictions import PredictionStore
from scoring.store.schema import API_LOG_COLUMNS, PREDICTIONS

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("serving-api")]

SEED, N = 11, 2000  # the serving world's book (tests/conftest.py)
ASOF = "2024-06-30"
SCORED = "2024-03-01"
DRIFT_FROM = date(2024, 1, 1)


def _app() -> typer.Typer:
    app = typer.Typer()
    monitor_command.register(app)
    score_command.register(app)
    return app


@pytest.fixture(scope="module")
def store(world, tmp_path_factory) -> str:
    """A store of its own holding one batch scoring whose horizon has ended by ASOF."""
    url = f"sqlite:///{tmp_path_factory.mktemp('monitor-store') / 'store.db'}"
    args = ["score", "--data", str(world.data), "--asof", SCORED, "--config", str(world.config)]
    out = tmp_path_factory.mktemp("monitor-lists")
    run = CliRunner().invoke(
        _app(),
        [*args, "--store", url, "--out", str(out / "a.csv"), "--win-back-out", str(out / "w.csv")],
    )
    assert run.exit_code == 0, run.output
    _log_api_answers(url)
    return url


API_LOGGED = 600


def _log_api_answers(url: str) -> None:
    """Log, as the API would have answered /predict_by_id on SCORED, the first API_LOGGED
    stored customers (their batch scores), twice for one of them."""
    made = PredictionStore(url)
    try:
        with made.engine.connect() as conn:
            scored = pd.read_sql(
                sa.select(PREDICTIONS).where(PREDICTIONS.c.asof == SCORED).limit(API_LOGGED), conn
            )
        rows = scored.assign(
            logged_at=pd.Timestamp("2024-03-01 10:00"), endpoint="predict_by_id"
        ).reindex(columns=list(API_LOG_COLUMNS))
        made.append_api_predictions(pd.concat([rows, rows.head(1)]), keep=1_000_000)
    finally:
        made.close()


def monitor(world, data: Path, store: str, out: Path, *extra: str) -> tuple[int, str, dict]:
    args = ["monitor", "--data", str(data), "--asof", ASOF, "--out", str(out)]
    run = CliRunner().invoke(
        _app(), [*args, "--config", str(world.config), "--store", store, *extra]
    )
    body = json.loads(out.read_text("utf-8")) if out.exists() else {}
    return run.exit_code, run.output, body


@pytest.fixture(scope="module")
def control_dir(world, store, tmp_path_factory) -> Path:
    """The world's own book monitored at ASOF (result.json and page.html)."""
    folder = tmp_path_factory.mktemp("monitor-control")
    args = ("--html", str(folder / "page.html"))
    code, output, _ = monitor(world, world.data, store, folder / "result.json", *args)
    assert code == 0, output
    return folder


@pytest.fixture(scope="module")
def control(control_dir) -> dict:
    return json.loads((control_dir / "result.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def priced(world, store, tmp_path_factory) -> dict:
    """The world's book with a price rise from DRIFT_FROM (the same seed, so the same history)."""
    folder = tmp_path_factory.mktemp("monitor-priced")
    drift = DriftConfig(kind="price", start=DRIFT_FROM, strength=1.0)
    write_dataset(generate(N, SEED, GeneratorConfig(drift=drift)), folder / "data")
    code, output, body = monitor(world, folder / "data", store, folder / "result.json")
    assert code == 0, output
    return body


def test_the_result_has_the_documented_shape(control, world):
    assert control["asof"] == ASOF
    keys = {"name", "statistic", "value", "threshold", "drifted"}
    assert control["features"] and all(set(f) == keys for f in control["features"])
    assert {f["statistic"] for f in control["features"]} == {"jensen_shannon", "psi"}
    assert "segment" in {f["name"] for f in control["features"]}
    assert set(control["prediction_drift"]) == keys
    assert control["prediction_drift"]["name"] == "churn_probability"
    assert {"roc_auc", "precision_at_capacity", "ece", "n"} <= set(control["estimated"])
    assert 0.5 < control["estimated"]["roc_auc"] <= 1 and control["estimated"]["n"] > 100
    assert all({"asof", "roc_auc", "n", "source"} <= set(r) for r in control["realized"])
    assert isinstance(control["alerts"], list) and all(
        isinstance(a, str) for a in control["alerts"]
    )
    assert control["reference"]["source"] == "champion training cutoffs"
    assert control["population"]["current_size"] == control["estimated"]["n"]


def test_realized_performance_of_the_stored_scoring(control):
    (row,) = [r for r in control["realized"] if r["source"] == "batch"]  # ASOF's is not matured
    assert row["asof"] == SCORED and row["source"] == "batch" and row["n"] > 100
    assert 0.6 < row["roc_auc"] <= 1
    assert abs(row["roc_auc"] - row["estimated_roc_auc"]) < 0.1
    assert 0 <= row["churn_rate"] <= 1 and row["unlabelled"] < 0.05 * row["n"]


def test_realized_performance_of_the_api_prediction_log(control):
    batch, api = control["realized"]
    assert api["source"] == "api" and api["asof"] == SCORED
    assert api["n"] + api["unlabelled"] == API_LOGGED  # each customer once
    assert 0.6 < api["roc_auc"] <= 1 and api["churn_model_version"] == batch["churn_model_version"]


def test_an_injected_price_change_is_flagged_and_the_control_is_not(control, priced):
    def spend(body: dict) -> set[str]:
        return {
            f["name"]
            for f in body["features"]
            if f["drifted"] and f["name"].startswith(("revenue_", "avg_order_value"))
        }

    assert spend(control) == set()
    assert {"revenue_30d", "revenue_90d", "revenue_180d"} <= spend(priced)
    assert any(a.startswith("feature drift") and "revenue_" in a for a in priced["alerts"])


def test_latest_result_and_html_are_written(control, control_dir):
    latest = latest_path()
    assert latest.parent.parent == home()
    assert json.loads(latest.read_text("utf-8"))["asof"] == ASOF
    page = (control_dir / "page.html").read_text("utf-8")
    assert f"monitoring as of {ASOF}" in page and "Feature drift" in page
    assert "<script" not in page


def test_bad_dates_are_named_without_a_traceback(world, store, tmp_path):
    for extra, words in (
        (["--reference", "someday"], "--reference 'someday' is not a date"),
        (["--reference", "2030-01-01"], "after --asof"),
    ):
        args = ["monitor", "--data", str(world.data), "--asof", ASOF, "--out", str(tmp_path / "x")]
        run = CliRunner().invoke(
            _app(), [*args, "--config", str(world.config), "--store", store, *extra]
        )
        assert run.exit_code != 0
        assert words in str(run.exception)
