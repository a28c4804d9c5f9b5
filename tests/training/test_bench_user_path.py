"""``churn bench --protocol user``: the as-of protocol on a CDNOW slice, the snapshot holdout, the
horizon rule, lost-value capture and the rendered section."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from churn.commands import bench as bench_commands
from features.adapters import cdnow
from features.adapters.event_log import events_to_dataset
from features.adapters.importer import write_mapped
from features.adapters.snapshot import read_text_csv
from features.config import FeatureConfig
from training.bench.as_of import OURS, PXV, RXM, as_of_and_horizon, run_as_of
from training.bench.paired import capture
from training.bench.suite import cache_dir
from training.bench.user_markdown import section
from training.bench.user_path import discover
from training.config import TrainingConfig
from training.split import longest_horizon

DATA = Path(__file__).parents[2].parent / "shared" / "data"
SPECS = Path(__file__).parents[2] / "docs" / "examples" / "specs"
needs_data = pytest.mark.skipif(
    not DATA.is_dir(), reason=f"real data sets not found at {DATA} (../shared/data)"
)
FAST = TrainingConfig(num_threads=1, early_stopping_rounds=20)
SMALL = TrainingConfig.model_validate(
    {
        "num_threads": 1,
        "early_stopping_rounds": 20,
        "shap_sample": 100,
        "split": {"train_cutoffs": 2},
        "selection": {"validation_cutoffs": 2, "candidates": ["lightgbm", "lr_boosted"]},
    }
)


def _app() -> typer.Typer:
    app = typer.Typer()
    app.callback()(lambda: None)
    bench_commands.register(app)
    return app


def test_horizon_is_the_configured_one_unless_the_history_to_the_as_of_date_is_short():
    h, t = as_of_and_horizon(pd.Timestamp("1997-01-01"), pd.Timestamp("1998-06-30"), 90)
    assert (h, t) == (90, "1998-04-01")
    first, end = pd.Timestamp("2017-01-01"), pd.Timestamp("2017-12-31")
    h, t = as_of_and_horizon(first, end, 90)
    assert h < 90 and pd.Timestamp(t) + pd.Timedelta(days=h) == end
    assert longest_horizon(first, pd.Timestamp(t)) >= h  # trains at T with horizon H
    assert longest_horizon(first, end - pd.Timedelta(days=h + 1)) < h + 1  # the longest that does


def test_capture_counts_the_lost_value_in_the_first_tenth():
    lost = np.array([0.0] * 18 + [5.0, 15.0])
    first_two = np.arange(20, dtype=float)  # the two last rows score highest
    assert capture(first_two, lost)[0] == pytest.approx(1.0)
    assert capture(-first_two, lost)[0] == pytest.approx(0.0)
    weights = np.ones((3, 20))
    assert np.allclose(capture(first_two, lost, weights), 1.0)


@needs_data
def test_as_of_protocol_on_a_cdnow_slice_scores_a_horizon_training_never_saw(tmp_path):
    raw = read_text_csv(DATA / cdnow.FOLDER / cdnow.FILE)
    raw = raw[raw["customer_id"].isin(raw["customer_id"].unique()[:800])]
    folder = tmp_path / "slice"
    write_mapped(events_to_dataset(raw, cdnow.SPEC, cdnow.AS_OF, "slice"), folder)
    (folder / "dataset.yaml").unlink(missing_ok=True)
    res = run_as_of(folder, SMALL, FeatureConfig(), resamples=200, seed=7, register=False)
    assert (res["as_of"], res["horizon_days"], res["data_end"]) == ("1998-04-01", 90, "1998-06-30")
    last_label_end = pd.Timestamp(
        res["train_plan"]["refit_cutoffs"].split(", ")[-1]
    ) + pd.Timedelta(days=90)
    assert last_label_end <= pd.Timestamp(res["as_of"])  # no training label reads past T
    assert list(res["roc_auc"]) == [
        OURS,
        "LightGBM defaults",
        "logistic regression (R, log F, log M)",
        "recency",
        "RFM score",
    ]
    assert 0.65 < res["roc_auc"][OURS] < 0.95
    for d in res["ours_minus"].values():
        assert d["lo"] <= d["diff"] <= d["hi"]
    assert res["registered"] in {"lightgbm", "lr_boosted"}
    assert 0.0 <= res["lost_value_capture"][PXV] <= 1.0 and res["lost_value"] > 0
    text = "\n".join(
        section(
            [{"name": "cdnow", "title": "slice", "kind": "event_log", "protocol": "as-of", **res}],
            [],
        )
    )
    assert "| slice |" in text and "P x V catches" in text and RXM in text


@needs_data
def test_bench_user_protocol_runs_a_snapshot_on_its_holdout_and_writes_the_section(tmp_path):
    found, skipped = discover(DATA, SPECS)
    names = {a.name for a in found}
    assert {"cdnow", "telco", "iranian", "ecommerce", "bankchurners", "completejourney"} <= names
    assert all("no adapter or mapping spec" in s for s in skipped)
    out = tmp_path / "benchmarks.md"
    args = ["bench", "--protocol", "user", "--only", "iranian", "--out", str(out)]
    result = CliRunner().invoke(_app(), [*args, "--data-root", str(DATA), "--specs", str(SPECS)])
    assert result.exit_code == 0, result.output
    res = json.loads((cache_dir() / "iranian.user.json").read_text())
    assert res["holdout_rows"] == pytest.approx(0.3 * res["rows"], rel=0.03)
    assert set(res["roc_auc"]) == {
        "train-snapshot model",
        "LightGBM defaults",
        "logistic regression",
    }
    assert res["roc_auc"]["train-snapshot model"] > 0.9  # published logistic regression ~0.93
    assert res["registered"].startswith("LightGBM, tree shape")
    text = out.read_text()
    assert "## The product against the references, as a user runs it" in text
    assert "| UCI Iranian Churn | 30% stratified holdout" in text
    assert (
        "iranian" in result.output and f"{res['roc_auc']['LightGBM defaults']:.4f}" in result.output
    )
