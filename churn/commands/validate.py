"""``churn validate``: check a data folder against the data contract and quarantine bad rows."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from churn.commands._shared import report_table
from core.paths import home

console = Console()


def validate(
    data: Path = typer.Argument(..., help="Data folder: one CSV or Parquet file per table."),
    as_of: str | None = typer.Option(
        None, help="As-of date YYYY-MM-DD (default: dataset.yaml's as_of, else today)."
    ),
    encoding: str = typer.Option("utf-8", help="Text encoding of CSV files."),
    rejects: Path | None = typer.Option(
        None, help="Where to write <table>.rejects.csv (default: $CHURN_HOME/rejects/<folder>)."
    ),
    strict: bool = typer.Option(False, help="Exit with code 1 when any row is rejected."),
) -> None:
    """Check DATA against the data contract; report N read = M accepted + K rejected."""
    from features.loaders import load_dataset, write_rejects

    with console.status(f"validating {data}"):
        ds = load_dataset(data, as_of=as_of, encoding=encoding)
    console.print(report_table(ds, f"{data} (as of {ds.as_of:%Y-%m-%d})"))
    total = sum(r.rejected for r in ds.reports.values())
    if total:
        out = rejects or home() / "rejects" / Path(data).resolve().name
        for path in write_rejects(ds, out):
            console.print(f"rejected rows with their reason: {path}")
        for name, frame in ds.rejects.items():
            for reason, n in frame["reason"].value_counts().head(5).items():
                console.print(f"  {name}: {n:,} x {reason}")
    console.print("[green]contract OK[/green]" if not total else f"{total:,} row(s) rejected")
    if strict and total:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``validate`` to the ``churn`` app."""
    app.command("validate")(validate)
