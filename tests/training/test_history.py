"""Any history length: the as-of date of a historic event log comes from its last event, the
history a time split needs follows the split rules, and a short history says what would work."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from churn.cli import register_commands
from features.config import FeatureConfig
from features.dataset import Dataset
from features.pipeline.cutoffs import monthly_cutoffs
from training.config import ConfigError, TrainingConfig, with_overrides
from training.split import (
    HistoryError,
    SplitError,
    earliest_as_of,
    longest_horizon,
    months_needed,
    plan_cutoffs,
)

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
CDNOW = DATA / "cdnow_half" / "cdnow_transactions.csv"
needs_data = pytest.mark.skipif(not CDNOW.is_file(), reason=f"{CDNOW} not present")

TINY = """\
training:
  num_threads: 1
  early_stopping_rounds: 5
  shap_sample: 100
  churn: {params: {num_leaves: 4, max_rounds: 20, min_data_in_leaf: 20}}
  value: {params: {num_leaves: 4, max_rounds: 20, min_data_in_leaf: 20}}
"""


def _plan(first: pd.Timestamp, as_of: pd.Timestamp, horizon: int, n_train: int):
    """The split the training job would choose, from the split rules themselves."""
    customers = pd.DataFrame({"customer_id": pd.Series(["a"], dtype="str"), "signup_date": [first]})
    ds = Dataset(tables={"customers": customers}, as_of=as_of)
    candidates = monthly_cutoffs(ds, months_needed(horizon, n_train), horizon)
    return plan_cutoffs(candidates, horizon, n_train)


@settings(max_examples=40, deadline=None)
@given(
    first=st.dates(pd.Timestamp("1995-01-01").date(), pd.Timestamp("2030-12-31").date()),
    horizon=st.integers(1, 200),
    n_train=st.integers(1, 8),
)
def test_earliest_as_of_is_exactly_where_the_split_starts_to_fit(first, horizon, n_train):
    first = pd.Timestamp(first)
    need = earliest_as_of(first, horizon, n_train)
    plan = _plan(first, need, horizon, n_train)
    assert len(plan.train) == n_train and plan.test + pd.Timedelta(days=horizon) == need
    try:  # one day earlier: fewer training cutoffs, or none at all
        earlier = _plan(first, need - pd.Timedelta(days=1), horizon, n_train)
    except SplitError:
        return
    assert n_train > 1 and len(earlier.train) < n_train


def test_minimum_history_with_the_defaults():
    # as docs/training.md says: 272 to 333 days with a 90-day horizon, 425 to 486 for all six
    # training cutoffs, depending on where the first sign-up falls in its month
    for first in pd.date_range("2023-01-01", "2024-12-31", freq="D"):
        assert 272 <= (earliest_as_of(first, 90) - first).days <= 333, first
        assert 425 <= (earliest_as_of(first, 90, 6) - first).days <= 486, first
    assert earliest_as_of(pd.Timestamp("1997-01-01"), 90) == pd.Timestamp("1997-11-30")
    assert longest_horizon(pd.Timestamp("1997-01-01"), pd.Timestamp("1997-11-30")) >= 90
    assert longest_horizon(pd.Timestamp("1997-01-01"), pd.Timestamp("1997-03-31")) == 0


def test_train_options_override_the_config_and_are_validated():
    features, cfg = with_overrides(FeatureConfig(), TrainingConfig(), 30, 2)
    assert features.labels.horizon_days == 30 and cfg.split.train_cutoffs == 2
    assert with_overrides(FeatureConfig(), TrainingConfig())[1] == TrainingConfig()
    with pytest.raises(ConfigError, match="train_cutoffs"):
        with_overrides(FeatureConfig(), TrainingConfig(), None, 0)


def _event_log(out: Path, last: str, n_rows: int = 2000) -> Path:
    """A contract folder from the head of the CDNOW log (1997-01 to 1998-06), with a refund and
    one unparsable date, events up to ``last``; no dataset.yaml, no optional tables."""
    raw = pd.read_csv(CDNOW, dtype=str, nrows=n_rows)
    tx = pd.DataFrame(
        {
            "customer_id": raw["customer_id"],
            "ts": pd.to_datetime(raw["date"], format="%Y%m%d").dt.strftime("%Y-%m-%d"),
            "amount": raw["dollar_value"],
        }
    )
    tx = tx[tx["ts"] <= last]
    refund = {"customer_id": tx["customer_id"].iloc[0], "ts": "1997-02-03", "amount": "-5.5"}
    bad = {"customer_id": tx["customer_id"].iloc[1], "ts": "1997-02-31", "amount": "3"}
    tx = pd.concat([tx, pd.DataFrame([refund, bad])], ignore_index=True)
    first = tx[tx["ts"] != "1997-02-31"].groupby("customer_id")["ts"].min()
    out.mkdir()
    first.rename("signup_date").reset_index().to_csv(out / "customers.csv", index=False)
    tx.to_csv(out / "transactions.csv", index=False)
    return out


@pytest.mark.slow
@needs_data
def test_a_historic_event_log_trains_from_its_last_event(tmp_path, monkeypatch):
    monkeypatch.setenv("CHURN_HOME", str(tmp_path / "home"))
    folder = _event_log(tmp_path / "cdnow", last="1998-06-30")
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    args = ["--data", str(folder), "--config", str(config), "--tracking-uri", uri]
    done = CliRunner().invoke(
        register_commands(), ["train", *args, "--horizon", "60", "--train-cutoffs", "2"]
    )
    assert done.exit_code == 0, done.output
    assert "as-of date 1998-06-30: the last event in the data (no dataset.yaml, no --asof)" in (
        done.output
    )
    assert "MLflow run" in done.output
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    scored = CliRunner().invoke(register_commands(), ["score", "--data", str(folder)])
    assert scored.exit_code == 0, scored.output
    assert "as-of date 1998-06-30: the last event" in scored.output
    assert "batch scoring as of 1998-06-30" in scored.output
    later = ["score", "--data", str(folder), "--asof", "1998-07-15"]
    scored = CliRunner().invoke(register_commands(), later)
    assert scored.exit_code == 0, scored.output
    assert "as-of date 1998-07-15: given with --asof (after the last event" in scored.output
    checked = CliRunner().invoke(register_commands(), ["validate", str(folder)])
    assert checked.exit_code == 0, checked.output
    assert "as-of date 1998-06-30: the last event" in checked.output
    assert "1 x ts: not a date (got 1997-02-31)" in checked.output


@needs_data
def test_a_short_history_says_its_range_and_what_would_work(tmp_path, monkeypatch):
    monkeypatch.setenv("CHURN_HOME", str(tmp_path / "home"))
    folder = _event_log(tmp_path / "cdnow", last="1997-06-30")
    done = CliRunner().invoke(register_commands(), ["train", "--data", str(folder)])
    # a ChurnError: the churn entry point prints its message without a traceback
    assert isinstance(done.exception, HistoryError), done.output
    assert "as-of date 1997-06-30: the last event in the data" in done.output
    text = str(done.exception)
    assert "too short to train with a 90-day horizon" in text
    assert "events from 1997-01-01 to 1997-06-30" in text
    assert "as-of date 1997-06-30: the last event in the data" in text
    assert "needs an as-of date on or after 1997-11-30" in text
    assert "all 6 training cutoffs need 1998-04-01" in text
    longest = longest_horizon(pd.Timestamp("1997-01-01"), pd.Timestamp("1997-06-30"))
    assert f"Use --horizon {longest} (the longest horizon this history allows)" in text
    assert isinstance(done.exception, SplitError)
