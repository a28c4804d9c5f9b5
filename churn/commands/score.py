"""``churn score``: batch-score every active customer into the store and write the at-risk CSV."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from churn.commands._shared import MaxBadRowShareOpt, load_folder

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
    asof: str | None = typer.Option(
        None,
        "--asof",
        help="Score every customer active on this date YYYY-MM-DD (default: the data's as-of "
        "date: dataset.yaml's as_of, else the last event's day).",
    ),
    config: Path | None = typer.Option(
        None, "--config", help="YAML file; reads its serving: and data: sections."
    ),
    store: str | None = typer.Option(
        None, "--store", help="SQLAlchemy URL of the store (default: config, else SQLite)."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="At-risk CSV (default: $CHURN_HOME/at_risk/at_risk_<asof>.csv)."
    ),
    max_bad_row_share: MaxBadRowShareOpt = None,
) -> None:
    """Score every active customer with the champion models; write the store and the CSV."""
    result = _score(data, asof, config, store, out, max_bad_row_share)
    console.print(summary_table(result))
    console.print(top_table(result))


def _score(
    data: Path,
    asof: str | None,
    config: Path | None,
    store: str | None,
    out: Path | None,
    max_bad_row_share: float | None,
) -> BatchResult:
    """Load the data (its as-of date said), score ``asof`` or the data's as-of date, write."""
    from dataclasses import replace

    from core.bundle import BundleError
    from core.paths import home
    from serving.batch.job import (
        BatchError,
        BatchResult,
        parse_asof,
        save_batch,
        score_customers,
        write_at_risk_csv,
    )
    from serving.batch.store import PredictionStore
    from serving.champions import load_champions
    from serving.config import load_serving_config

    cfg = load_serving_config(config)
    if store:
        cfg = cfg.model_copy(update={"store_url": store})
    wanted = None if asof is None else parse_asof(asof)  # a bad date fails before any loading
    ds = load_folder(data, console, max_bad_row_share=max_bad_row_share, config=config)
    when = ds.as_of if wanted is None else wanted
    if when > ds.as_of and ds.as_of_source in ("last event", "today"):
        # the data has no events after its last event's day: --asof dates it, as dataset.yaml would
        ds = replace(ds, as_of=when, as_of_source="argument")
        console.print(f"{ds.as_of_text()} (after the last event in the data)", highlight=False)
    with console.status("batch scoring") as status:
        status.update("loading the champion models")
        try:
            champions = load_champions(cfg.models, cfg.resolved_tracking_uri())
        except BundleError as exc:
            raise BatchError(str(exc)) from exc
        status.update(f"building features and scoring customers active at {when:%Y-%m-%d}")
        batch = score_customers(ds, when, champions, cfg)
        status.update("writing the store")
        prediction_store = PredictionStore(cfg.resolved_store_url())
        try:
            run = save_batch(prediction_store, batch, cfg, source=str(Path(data).resolve()))
        finally:
            prediction_store.close()
        csv = write_at_risk_csv(batch, out or home() / "at_risk" / f"at_risk_{batch.asof_text}.csv")
    return BatchResult(batch, run, prediction_store.safe_url, csv)


def register(app: typer.Typer) -> None:
    """Add ``score`` to the ``churn`` app."""
    app.command("score")(score)
