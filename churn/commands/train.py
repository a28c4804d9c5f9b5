"""``churn train``, ``churn promote`` and ``churn rollback``: models, registry and aliases."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from features.loaders import load_dataset
from training.config import load_feature_config, load_training_config
from training.evaluation.compare import Evaluation

console = Console()

CHURN_SHOWN = ("roc_auc", "pr_auc", "log_loss", "brier", "ece", "top_decile_lift")
VALUE_SHOWN = ("mae", "rmse", "spearman", "gini", "top_decile_value_capture")


def metrics_table(ev: Evaluation, kind: str, columns: tuple[str, ...]) -> Table:
    """Test metrics of the model and its baselines as a rich table."""
    frame = ev.table(kind)
    table = Table(title=f"{kind} model vs baselines (test cutoff)")
    table.add_column("scorer")
    for c in columns:
        table.add_column(c, justify="right")
    for name, row in frame.iterrows():
        table.add_row(str(name), *(f"{row[c]:,.4f}" for c in columns))
    return table


def register(app: typer.Typer) -> None:
    @app.command()
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
        from training.job import train as run_training

        features = load_feature_config(config)
        cfg = load_training_config(config)
        with console.status(f"loading {data}"):
            ds = load_dataset(data, as_of=as_of)
        result = run_training(ds, cfg, features, tracking_uri=tracking_uri, progress=True)
        console.print(metrics_table(result.evaluation, "churn", CHURN_SHOWN))
        console.print(metrics_table(result.evaluation, "value", VALUE_SHOWN))
        console.print(f"MLflow run {result.run_id} at {result.tracking_uri}")

    @app.command()
    def promote(
        model: str = typer.Option(..., "--model", help="Registered model, e.g. churn-model."),
        version: str = typer.Option(..., "--version", help="Version to make champion."),
        reason: str = typer.Option(..., "--reason", help="Why (recorded on the version)."),
        tracking_uri: str | None = typer.Option(None, help="MLflow tracking URI."),
    ) -> None:
        """Give the champion alias to a version by hand; the reason is recorded."""
        from core.registry import promote as do_promote
        from training.tracking import client_for, resolve_uri

        client = client_for(resolve_uri(tracking_uri))
        previous = do_promote(client, model, version, reason)
        was = f" (was v{previous})" if previous else ""
        console.print(f"{model}: champion is now v{version}{was}")

    @app.command()
    def rollback(
        model: str = typer.Option(..., "--model", help="Registered model, e.g. churn-model."),
        reason: str = typer.Option(..., "--reason", help="Why (recorded on both versions)."),
        tracking_uri: str | None = typer.Option(None, help="MLflow tracking URI."),
    ) -> None:
        """Return the champion alias to the previous champion; the reason is recorded."""
        from core.registry import rollback as do_rollback
        from training.tracking import client_for, resolve_uri

        client = client_for(resolve_uri(tracking_uri))
        old, new = do_rollback(client, model, reason)
        console.print(f"{model}: champion rolled back from v{old} to v{new}")
