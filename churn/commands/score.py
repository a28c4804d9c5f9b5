"""``churn score``: batch-score every active customer into the store and write the at-risk CSV."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from serving.batch.job import BatchResult

console = Console()


def summary_table(result: BatchResult) -> Table:
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


def top_table(result: BatchResult, n: int = 10) -> Table:
    """The ``n`` customers with the largest expected value at risk."""
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
    console.print(summary_table(result))
    console.print(top_table(result))


def register(app: typer.Typer) -> None:
    """Add ``score`` to the ``churn`` app."""
    app.command("score")(score)
