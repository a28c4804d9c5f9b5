"""``churn train``: train, evaluate, log, register and gate the churn and value models."""

from __future__ import annotations

from pathlib import Path

import typer

from churn.commands._shared import (
    Fmt,
    FormatOpt,
    MaxBadRowShareOpt,
    emit,
    load_folder,
    messages,
    metrics_sections,
)


def train(
    data: Path = typer.Option(..., "--data", help="Data folder (one file per table)."),
    config: Path | None = typer.Option(
        None, "--config", help="YAML file; reads its data:, features: and training: sections."
    ),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        "--asof",
        help="As-of date YYYY-MM-DD (default: dataset.yaml's as_of, else the last event's day).",
    ),
    horizon: int | None = typer.Option(
        None,
        "--horizon",
        min=1,
        help="Label horizon in days (default: the config's features.labels.horizon_days, else 90).",
    ),
    train_cutoffs: int | None = typer.Option(
        None,
        "--train-cutoffs",
        min=1,
        max=60,
        help="Most monthly training cutoffs (default: training.split.train_cutoffs, else 6).",
    ),
    max_bad_row_share: MaxBadRowShareOpt = None,
    tracking_uri: str | None = typer.Option(
        None, help="MLflow tracking URI (default: MLFLOW_TRACKING_URI, else SQLite in home)."
    ),
    fmt: FormatOpt = Fmt.table,
) -> None:
    """Train the churn and value models, log them to MLflow, register and gate them.

    User errors (a bad config, a history too short for the split) propagate as ``ChurnError``:
    the ``churn`` entry point prints them without a traceback.
    """
    from training.config import load_feature_config, load_training_config, with_overrides
    from training.job import train as run_training

    console = messages(fmt)
    features, cfg = with_overrides(
        load_feature_config(config), load_training_config(config), horizon, train_cutoffs
    )
    ds = load_folder(data, console, as_of=as_of, max_bad_row_share=max_bad_row_share, config=config)
    result = run_training(ds, cfg, features, tracking_uri=tracking_uri, progress=True)
    emit(metrics_sections(result.evaluation), fmt)
    console.print(f"MLflow run {result.run_id} at {result.tracking_uri}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``train`` to the ``churn`` app."""
    app.command("train")(train)
