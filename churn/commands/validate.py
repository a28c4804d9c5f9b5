"""``churn validate``: check a data folder against the data contract and quarantine bad rows."""

from __future__ import annotations

from pathlib import Path

import typer

from churn.commands._inputs import load_folder
from churn.commands._options import MaxBadRowShareOpt
from churn.commands._output import (
    Fmt,
    FormatOpt,
    Section,
    emit,
    messages,
    report_frame,
    report_table,
)
from core.paths import home


def validate(
    data: Path = typer.Argument(..., help="Data folder: one CSV or Parquet file per table."),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        "--asof",
        help="As-of date YYYY-MM-DD (default: dataset.yaml's as_of, else the last event's day).",
    ),
    encoding: str = typer.Option("utf-8", help="Text encoding of CSV files."),
    rejects: Path | None = typer.Option(
        None, help="Where to write <table>.rejects.csv (default: $CHURN_HOME/rejects/<folder>)."
    ),
    strict: bool = typer.Option(False, help="Exit with code 1 when any row is rejected."),
    max_bad_row_share: MaxBadRowShareOpt = None,
    fmt: FormatOpt = Fmt.table,
) -> None:
    """Check DATA against the data contract; report N read = M accepted + K rejected."""
    from features.dataset import Dataset
    from features.loaders import BadRowShareError, write_rejects

    console = messages(fmt)

    def show(ds: Dataset) -> int:
        table = report_table(ds, f"{data} (as of {ds.as_of:%Y-%m-%d})")
        emit([Section("tables", report_frame(ds), table)], fmt)
        total = sum(r.rejected for r in ds.reports.values())
        if total:
            out = rejects or home() / "rejects" / Path(data).resolve().name
            for path in write_rejects(ds, out):
                console.print(f"rejected rows with their reason: {path}")
            for name, frame in ds.rejects.items():
                for reason, n in frame["reason"].value_counts().head(5).items():
                    console.print(f"  {name}: {n:,} x {reason}", highlight=False)
        return total

    try:
        share = max_bad_row_share
        ds = load_folder(data, console, as_of=as_of, encoding=encoding, max_bad_row_share=share)
    except BadRowShareError as exc:  # still show and write what was rejected, then stop
        console.print(exc.dataset.as_of_text(), highlight=False)
        show(exc.dataset)
        raise
    total = show(ds)
    ok = f"[green]contract OK[/green] ({ds.as_of_text()})"
    console.print(ok if not total else f"{total:,} row(s) rejected", highlight=False)
    if strict and total:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``validate`` to the ``churn`` app."""
    app.command("validate")(validate)
