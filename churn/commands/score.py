"""``churn score``: batch-score every active customer into the store and write the two lists:
customers at risk (active or lapsing) and lapsed customers to win back."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from churn.commands._shared import MaxBadRowShareOpt, load_folder

if TYPE_CHECKING:
    import pandas as pd

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
    stages = preds["lifecycle_status"].value_counts()
    for stage in ("active", "lapsing", "lapsed"):
        table.add_row(f"lifecycle {stage}", f"{int(stages.get(stage, 0)):,}")
    table.add_row("store", result.store)
    table.add_row("at-risk CSV", str(result.csv))
    table.add_row("win-back CSV", str(result.win_back_csv))
    return table


def top_table(rows: pd.DataFrame, title: str, n: int = 10) -> Table:
    """The first ``n`` rows of a list, as a retention lead reads them."""
    h = next(c for c in rows.columns if c.startswith("churn_probability_")).removeprefix(
        "churn_probability"
    )
    shown = (
        "rank",
        "customer_id",
        "account_manager_id",
        "lifecycle_status",
        f"churn_probability{h}",
        f"value_if_retained{h}",
        f"expected_value_at_risk{h}",
        "reason_1",
        "recommended_action",
    )
    table = Table(title=title)
    for col in shown:
        table.add_column(col, justify="right" if rows[col].dtype.kind in "fiu" else "left")
    for row in rows.head(n)[list(shown)].itertuples(index=False):
        cells = [str(v) for v in row]
        cells[4] = f"{row[4]:.4f}"  # the probability as the CSV has it (a band edge stays readable)
        cells[5:7] = [f"{row[5]:,.2f}", f"{row[6]:,.2f}"]
        table.add_row(*cells)
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
    win_back_out: Path | None = typer.Option(
        None,
        "--win-back-out",
        help="Win-back CSV of lapsed customers (default: $CHURN_HOME/win_back/win_back_<asof>.csv).",
    ),
    max_bad_row_share: MaxBadRowShareOpt = None,
) -> None:
    """Score every active customer with the champion models; write the store and the two lists."""
    from dataclasses import replace

    from serving.batch.job import parse_asof, run_batch
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
        result = run_batch(
            ds, when, cfg, str(Path(data).resolve()), out, win_back_out, say=status.update
        )
    console.print(summary_table(result))
    lists = result.batch.lists()
    console.print(top_table(lists["at_risk"], "top 10 at risk (active or lapsing)"))
    console.print(top_table(lists["win_back"], "top 10 to win back (lapsed)"))


def register(app: typer.Typer) -> None:
    """Add ``score`` to the ``churn`` app."""
    app.command("score")(score)
