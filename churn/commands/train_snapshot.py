"""``churn train-snapshot``: train, log, register and gate models on a snapshot data set."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from churn.commands._shared import CHURN_SHOWN, SNAPSHOT_ADAPTER_NAMES, VALUE_SHOWN, metrics_table

console = Console()


def train_snapshot(
    name: str = typer.Argument(
        ..., help=f"Snapshot adapter: one of {', '.join(SNAPSHOT_ADAPTER_NAMES)}."
    ),
    path: Path = typer.Argument(..., help="The export: its file, or the folder holding it."),
    config: Path | None = typer.Option(
        None, "--config", help="YAML file; reads its training: and snapshot: sections."
    ),
    tracking_uri: str | None = typer.Option(
        None, help="MLflow tracking URI (default: MLFLOW_TRACKING_URI, else SQLite in home)."
    ),
    register_models: bool = typer.Option(
        True,
        "--register/--no-register",
        help="Register the models as <name>-churn-model / <name>-value-model and gate them.",
    ),
) -> None:
    """Train the churn (and value) model on a snapshot data set with an 80/20 holdout, log
    to MLflow, register under the data set's own model names and run the promotion gate."""
    from training.config import load_training_config
    from training.snapshot.job import load_snapshot_job_config
    from training.snapshot.job import train_snapshot as run_snapshot

    cfg = load_training_config(config)
    job = load_snapshot_job_config(config)
    result = run_snapshot(name, path, cfg, job, tracking_uri=tracking_uri, register=register_models)
    for kind, columns in (("churn", CHURN_SHOWN), ("value", VALUE_SHOWN)):
        if getattr(result.evaluation, kind):
            table = metrics_table(result.evaluation, kind, columns)
            table.title = f"{result.name}: {kind} model vs baselines (holdout)"
            console.print(table)
    console.print(f"MLflow run {result.run_id} at {result.tracking_uri}")


def register(app: typer.Typer) -> None:
    """Add ``train-snapshot`` to the ``churn`` app."""
    app.command("train-snapshot")(train_snapshot)
