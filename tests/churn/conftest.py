"""Fixtures of the CLI output tests: a small generated book, tiny models trained once into a tmp
MLflow registry, and ``churn score`` run once at the start of the latest month the data can
judge (so that ``churn kpi`` has the predictions of its period start)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from churn.cli import register_commands
from features.synthetic.generator import generate, write_dataset
from kpi.config import KpiConfig
from kpi.periods import latest_complete_month


@dataclass(frozen=True)
class Scored:
    """A data folder, a registry with champion models, a scored store and their config."""

    root: Path
    data: Path
    config: Path
    asof: str  # the period start the store holds predictions of
    period: str
    output: str  # what ``churn score`` printed (CliRunner: not a terminal)


@pytest.fixture(scope="session")
def scored(tmp_path_factory: pytest.TempPathFactory) -> Scored:
    from training.config import (
        BoosterParams,
        ChurnModelConfig,
        SelectionConfig,
        SplitConfig,
        TrainingConfig,
        ValueModelConfig,
    )
    from training.job import train

    root = tmp_path_factory.mktemp("cli-output")
    generated = generate(800, seed=5)
    write_dataset(generated, root / "data", "parquet")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    small = BoosterParams(max_rounds=30, num_leaves=7, min_data_in_leaf=20)
    cfg = TrainingConfig(
        split=SplitConfig(train_cutoffs=2),
        churn=ChurnModelConfig(params=small),
        value=ValueModelConfig(params=small),
        shap_sample=100,
        early_stopping_rounds=10,
        selection=SelectionConfig(validation_cutoffs=1, candidates=("lightgbm",)),  # not under test
    )
    train(generated.dataset, cfg, tracking_uri=uri, progress=False)
    config = root / "churn.yaml"
    serving = {"tracking_uri": uri, "store_url": f"sqlite:///{root / 'serving.db'}"}
    config.write_text(yaml.safe_dump({"serving": serving}), "utf-8")
    start = latest_complete_month(generated.dataset.as_of, KpiConfig().outcome.horizon_days)
    asof = f"{start:%Y-%m-%d}"
    args = ["score", "--data", str(root / "data"), "--asof", asof, "--config", str(config)]
    args += ["--out", str(root / "at_risk.csv"), "--win-back-out", str(root / "win_back.csv")]
    run = CliRunner().invoke(register_commands(), args, prog_name="churn")
    assert run.exit_code == 0, run.output
    return Scored(root, root / "data", config, asof, f"{start:%Y-%m}", run.output)


@pytest.fixture(scope="session")
def cli() -> CliRunner:
    register_commands()
    return CliRunner()
