"""``churn features``: point-in-time features and labels of one cutoff, written to Parquet."""

from __future__ import annotations

from pathlib import Path

import typer

from churn.commands._shared import (
    Fmt,
    FormatOpt,
    MaxBadRowShareOpt,
    Section,
    emit,
    load_folder,
    messages,
    report_frame,
    report_table,
)
from core.errors import ChurnError


def features_command(
    data: Path = typer.Option(..., "--data", help="Data folder: one CSV or Parquet per table."),
    cutoff: str = typer.Option(
        ..., "--cutoff", help="Cutoff date T (YYYY-MM-DD): features use events before T."
    ),
    out: Path = typer.Option(..., "--out", help="Output Parquet file."),
    horizon: int | None = typer.Option(
        None, "--horizon", min=1, help="Label horizon H in days (default: config, else 90)."
    ),
    config: Path | None = typer.Option(
        None, "--config", help="YAML file; its 'features:' section sets FeatureConfig."
    ),
    labels: bool = typer.Option(
        True, "--labels/--no-labels", help="Add churned and future_value over [T, T+H)."
    ),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        "--asof",
        help="The data's as-of date YYYY-MM-DD (default: dataset.yaml's as_of, else the last "
        "event's day).",
    ),
    max_bad_row_share: MaxBadRowShareOpt = None,
    fmt: FormatOpt = Fmt.table,
) -> None:
    """Build one row per customer active at the cutoff: RFM, interaction, complaint and
    profile features from events before T, and churn/value labels over [T, T+H)."""
    from features.feature_io import load_feature_config, write_features
    from features.pipeline.build import build_features

    console = messages(fmt)
    try:
        cfg = load_feature_config(config, horizon)
        ds = load_folder(
            data, console, as_of=as_of, max_bad_row_share=max_bad_row_share, config=config
        )
        table = report_table(ds, f"{data} (as of {ds.as_of:%Y-%m-%d})")
        emit([Section("tables", report_frame(ds), table)], fmt)
        with console.status(f"building features at {cutoff}"):
            frame = build_features(ds, cutoff, cfg, labels=labels)
        with console.status(f"writing {out}"):
            write_features(frame, out)
    except ChurnError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    for note in frame.attrs["notes"]:
        console.print(f"[yellow]note:[/yellow] {note}")
    definition = frame.attrs["label_definition"]
    console.print(
        f"{len(frame):,} customers active at {cutoff}, {len(frame.attrs['feature_names'])} features"
    )
    if labels:
        rate = frame["churned"].mean()
        shown = (
            "unlabelled (horizon past as-of)"
            if frame["churned"].isna().all()
            else (f"churn rate {rate:.1%}")
        )
        console.print(f"labels: {definition['text']}; {shown}")
    console.print(f"written to {out} (label definition in the Parquet metadata)")


def register(app: typer.Typer) -> None:
    """Add ``features`` to the ``churn`` app."""
    app.command("features")(features_command)
