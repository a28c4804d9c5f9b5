"""``churn score`` (batch scoring to the store and an at-risk CSV) and ``churn serve`` (the API)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from serving.batch.job import BatchResult

console = Console()


def _summary(result: BatchResult) -> Table:
    """Who scored what, the risk bands and the top of the at-risk list."""
    preds = result.batch.predictions
    run = result.run
    table = Table(title=f"batch scoring as of {run.asof}", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("customers scored", f"{run.n_customers:,}")
    table.add_row("churn model", f"{run.churn_model} v{run.churn_model_version}")
    table.add_row("value model", f"{run.value_model} v{run.value_model_version}")
    for band in ("high", "medium", "low"):
        table.add_row(f"risk band {band}", f"{int((preds['risk_band'] == band).sum()):,}")
    table.add_row("expected value at risk", f"{preds['expected_value_at_risk'].sum():,.2f}")
    table.add_row("store", result.store)
    table.add_row("at-risk CSV", str(result.csv))
    return table


def _top(result: BatchResult, n: int = 10) -> Table:
    table = Table(title=f"top {n} by expected value at risk")
    cols = ("rank", "customer_id", "account_manager_id", "segment", "churn_probability")
    for col in (*cols, "predicted_value", "expected_value_at_risk", "risk_band"):
        table.add_column(col, justify="right" if col != "customer_id" else "left")
    for row in result.batch.predictions.head(n).itertuples(index=False):
        table.add_row(
            str(row.rank),
            str(row.customer_id),
            str(row.account_manager_id or "-"),
            str(row.segment or "-"),
            f"{row.churn_probability:.3f}",
            f"{row.predicted_value:,.2f}",
            f"{row.expected_value_at_risk:,.2f}",
            row.risk_band,
        )
    return table


def register(app: typer.Typer) -> None:
    @app.command()
    def score(
        data: Path = typer.Option(..., "--data", help="Data folder (one file per table)."),
        asof: str = typer.Option(
            ..., "--asof", help="As-of date YYYY-MM-DD: score every customer active then."
        ),
        config: Path | None = typer.Option(
            None, "--config", help="YAML file; reads its serving: section."
        ),
        store: str | None = typer.Option(
            None, "--store", help="SQLAlchemy URL of the store (default: config, else SQLite)."
        ),
        out: Path | None = typer.Option(
            None, "--out", help="At-risk CSV (default: $CHURN_HOME/at_risk/at_risk_<asof>.csv)."
        ),
    ) -> None:
        """Score every active customer with the champion models; write the store and the CSV."""
        from serving.batch.job import run_batch
        from serving.config import load_serving_config

        cfg = load_serving_config(config)
        if store:
            cfg = cfg.model_copy(update={"store_url": store})
        with console.status("batch scoring") as status:
            result = run_batch(data, asof, cfg, out, say=status.update)
        console.print(_summary(result))
        console.print(_top(result))

    @app.command()
    def serve(
        host: str | None = typer.Option(
            None, "--host", help="Interface to bind (default: config, else 127.0.0.1)."
        ),
        port: int | None = typer.Option(None, "--port", help="Port (default: config, else 3000)."),
        config: Path | None = typer.Option(
            None, "--config", help="YAML file; the service reads its serving: section."
        ),
    ) -> None:
        """Start the prediction API (BentoML) until interrupted."""
        from serving.batch.store import PredictionStore
        from serving.config import load_serving_config
        from serving.launch import base_url, is_loopback, serve_command, serve_env

        cfg = load_serving_config(config)  # a bad file or store fails here, not in the server
        PredictionStore(cfg.resolved_store_url()).close()
        bind = host or cfg.host
        command = serve_command(bind, port or cfg.port)
        env = serve_env(config)
        url = base_url(cfg, host, port)
        if not is_loopback(bind):
            console.print(
                f"[yellow]warning:[/yellow] binding {bind} exposes the API beyond this machine; "
                f"set {cfg.api_key_env} to require an API key."
            )
        key = f' -H "X-API-Key: ${cfg.api_key_env}"' if env.get(cfg.api_key_env) else ""
        console.print(f"starting the churn API on {url} (Ctrl+C stops it)")
        console.print(f"  readiness:  curl {url}/readyz")
        console.print(
            f"  sample:     curl -X POST {url}/predict_by_id{key} "
            "-H 'Content-Type: application/json' -d '{\"customer_ids\": [\"C0000005\"]}'"
        )
        try:
            code = subprocess.call(command, env=env)
        except KeyboardInterrupt:
            code = 0
        raise typer.Exit(code)
