"""``churn train``: train, evaluate, log, register and gate the churn and value models."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from churn.commands._shared import CHURN_SHOWN, VALUE_SHOWN, metrics_table

console = Console()


def train(
    data: Path = typer.Option(..., "--data", help="Data folder (one file per table)."),
    config: Path | None = typer.Option(
        None, "--config", help="YAML file; reads its features: and training: sections."
    ),
    as_of: str | None = typer.Option(
        None, help="As-of date YYYY-MM-DD (default: dataset.yaml's as_of, else today)."
    ),
    tracking_uri: str | None = typer.Option(
        None, help="MLflow tracking URI (default: MLFLOW_TRACKING_URI, else SQLite in home)."
    ),
) -> None:
    """Train the churn and value models, log them to MLflow, register and gate them."""
    from features.loaders import load_dataset
    from training.config import load_feature_config, load_training_config
    from training.job import train as run_training

    features = load_feature_config(config)
    cfg = load_training_config(config)
    with console.status(f"loading {data}"):
        ds = load_dataset(data, as_of=as_of)
    result = run_training(ds, cfg, features, tracking_uri=tracking_uri, progress=True)
    console.print(metrics_table(result.evaluation, "churn", CHURN_SHOWN))
    console.print(metrics_table(result.evaluation, "value", VALUE_SHOWN))
    console.print(f"MLflow run {result.run_id} at {result.tracking_uri}")


def register(app: typer.Typer) -> None:
    """Add ``train`` to the ``churn`` app."""
    app.command("train")(train)
