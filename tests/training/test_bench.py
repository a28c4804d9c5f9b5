"""``churn bench`` on the smallest real data set, the event-log protocol on a slice of CDNOW, and
the report's rendering."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from churn.commands import bench as bench_commands
from core.errors import ChurnError
from features.adapters import cdnow
from features.adapters.event_log import events_to_dataset
from features.adapters.snapshot import read_text_csv
from features.config import FeatureConfig, PopulationConfig
from training.bench.suite import cache_dir
from training.bench.transaction_log import BGNBD_ALIVE, BGNBD_SILENT, evaluate_transaction_log
from training.config import TrainingConfig

DATA = Path(__file__).parents[2].parent / "shared" / "data"
needs_data = pytest.mark.skipif(
    not DATA.is_dir(), reason=f"real data sets not found at {DATA} (../shared/data)"
)
FAST_CONFIG = """
training:
  early_stopping_rounds: 20
bench:
  snapshot:
    folds: 3
    inner_folds: 3
    churn_candidates: []
features:
  windows_days: [30, 90, 365]
"""


def _app() -> typer.Typer:
    app = typer.Typer()
    app.callback()(lambda: None)  # a command group, as in the churn app
    bench_commands.register(app)
    return app


@needs_data
def test_bench_command_on_iranian_writes_the_report_row(tmp_path):
    config = tmp_path / "bench.yaml"
    config.write_text(FAST_CONFIG)
    out = tmp_path / "benchmarks.md"
    args = ["bench", "--data-root", str(DATA), "--only", "iranian", "--out", str(out)]
    args += ["--protocol", "cv"]
    result = CliRunner().invoke(_app(), [*args, "--config", str(config)])
    assert result.exit_code == 0, result.output
    cached = json.loads((cache_dir() / "iranian.json").read_text())
    auc = cached["churn"]["lightgbm"]["roc_auc"]
    assert 0.85 < auc < 1.0  # published logistic regression ~0.93; the model must not be broken
    assert cached["import"]["iranian"] == {"read": 3150, "accepted": 3150, "rejected": 0}
    assert "3-fold CV" in cached["protocol"]
    doc = out.read_text()
    row = next(line for line in doc.splitlines() if "churn ROC-AUC" in line and "Iranian" in line)
    assert f"{auc:.4f}" in row
    assert "logistic regression" in row and "complained" in row
    assert "~0.93 (logistic regression)" in row and "`churn bench --only iranian`" in row
    assert re.search(r"value Spearman \| [0-9.]+ ± [0-9.]+ \| carry-forward", doc)
    assert "300 row(s) repeat another row" in doc
    assert "## Not run" in doc and "telco: no result yet" in doc


@needs_data
def test_bench_errors_are_clear(tmp_path):
    result = CliRunner().invoke(_app(), ["bench", "--data-root", str(tmp_path / "nowhere")])
    assert isinstance(result.exception, ChurnError)
    assert "does not exist" in str(result.exception)
    result = CliRunner().invoke(_app(), ["bench", "--data-root", str(DATA), "--only", "netflix"])
    assert "known adapters" in str(result.exception)


@needs_data
def test_event_log_protocol_on_a_cdnow_slice():
    raw = read_text_csv(DATA / cdnow.FOLDER / cdnow.FILE)
    raw = raw[raw["customer_id"].isin(raw["customer_id"].unique()[:1200])]
    ds = events_to_dataset(raw, cdnow.SPEC, cdnow.AS_OF, "slice")
    features = FeatureConfig(population=PopulationConfig(active_window_days=3650))
    res = evaluate_transaction_log(
        ds, cdnow.CUTOFF, features, TrainingConfig(num_threads=1, early_stopping_rounds=20)
    )
    assert res.plan.test == cdnow.CUTOFF
    assert all(t + pd.Timedelta(days=90) <= res.plan.test for t in res.plan.train)
    assert res.rows == 1200 and 0.75 < res.churn_rate < 0.95
    assert list(res.churn)[:4] == ["lightgbm", "recency_rule", "rfm_score", "logistic_regression"]
    assert res.churn["lightgbm"]["roc_auc"] > 0.75
    assert res.churn[BGNBD_SILENT]["roc_auc"] > 0.75
    # P(alive) = 1 for customers without repeat purchases: a poor churn ranking on CDNOW
    assert res.churn[BGNBD_ALIVE]["roc_auc"] < 0.6
    assert set(res.value) == {"lightgbm", "carry_forward", "bgnbd_gamma_gamma"}
    assert 0.1 < res.bgnbd.r < 1.0 and res.gamma_gamma.q > 1.0
    assert 0.7 < res.in_time_cv_roc_auc < 0.95
