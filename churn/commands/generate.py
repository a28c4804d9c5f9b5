"""``churn generate``: write a synthetic demo data set (and its hidden truth) to a folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

import typer
from rich.console import Console
from rich.table import Table

from core.paths import home

if TYPE_CHECKING:
    from features.synthetic.generator import GeneratorConfig

console = Console()
SECTION = "generator"


def read_config(path: Path | None) -> GeneratorConfig:
    """The ``generator:`` section of a YAML file (other sections are ignored); defaults if none."""
    from core.config import load_section
    from features.synthetic.generator import GeneratorConfig, GeneratorError

    return load_section(path, SECTION, GeneratorConfig, GeneratorError)


def with_drift(
    cfg: GeneratorConfig,
    kind: str | None,
    start: str | None,
    segment: str | None,
    strength: float | None,
) -> GeneratorConfig:
    """``cfg`` with the drift the options ask for (none without ``--drift``), validated."""
    from datetime import date

    from pydantic import ValidationError

    from core.config import validation_message
    from features.synthetic.drift import DRIFT_KINDS
    from features.synthetic.generator import GeneratorConfig, GeneratorError

    if kind is None:
        if start is not None or segment is not None or strength is not None:
            raise GeneratorError("--drift-from, --drift-segment and --drift-strength need --drift")
        return cfg
    if kind not in DRIFT_KINDS:
        raise GeneratorError(f"--drift must be one of {', '.join(DRIFT_KINDS)}, got {kind!r}")
    if start is None:
        raise GeneratorError("--drift needs --drift-from YYYY-MM-DD (the first drifted day)")
    try:
        day = date.fromisoformat(start)
    except ValueError:
        raise GeneratorError(f"--drift-from {start!r} is not a date YYYY-MM-DD") from None
    drift = {"kind": kind, "start": day, "segment": segment, "strength": strength}
    try:
        return GeneratorConfig(**{**cfg.model_dump(), "drift": drift})
    except ValidationError as exc:
        raise GeneratorError(f"--drift: {validation_message(exc, SECTION)}") from None


def generate_command(
    customers: int = typer.Option(5000, "--customers", min=1, help="Number of customers."),
    seed: int = typer.Option(42, help="Random seed; the same seed gives the same data."),
    out: Path | None = typer.Option(
        None, help="Output folder (default: $CHURN_HOME/demo). Table files there are replaced."
    ),
    fmt: str = typer.Option("parquet", "--format", help="File format: csv or parquet."),
    config: Path | None = typer.Option(
        None, "--config", help="YAML file; its 'generator:' section sets GeneratorConfig."
    ),
    drift: str | None = typer.Option(
        None,
        "--drift",
        help="Inject drift from --drift-from on: price (amounts rise), behaviour (engagement "
        "and purchases fall) or concept (who churns changes). Off by default.",
    ),
    drift_from: str | None = typer.Option(
        None, "--drift-from", help="First drifted day YYYY-MM-DD (with --drift)."
    ),
    drift_segment: str | None = typer.Option(
        None, "--drift-segment", help="Segment the drift hits (default: every customer)."
    ),
    drift_strength: float | None = typer.Option(
        None,
        "--drift-strength",
        min=0.0,
        help="Size of the drift (default: price 0.5, behaviour 1.5, concept 3.0).",
    ),
    campaigns: bool = typer.Option(
        True,
        "--campaigns/--no-campaigns",
        help="Simulate monthly retention campaigns with a control group (the contacts table).",
    ),
) -> None:
    """Generate a synthetic customer book with a known churn story (see docs/generator.md).

    Writes the tables and dataset.yaml to OUT; the hidden truth goes to OUT/_truth/ (with
    drift.json when --drift injected a change).
    """
    from features.synthetic.generator import TRUTH_DIR, GeneratorError, generate, write_dataset

    if fmt not in ("csv", "parquet"):
        raise GeneratorError(f"--format must be csv or parquet, got {fmt!r}")
    file_format: Literal["csv", "parquet"] = "csv" if fmt == "csv" else "parquet"
    cfg = with_drift(read_config(config), drift, drift_from, drift_segment, drift_strength)
    if not campaigns:
        off = cfg.campaigns.model_copy(update={"enabled": False})
        cfg = cfg.model_copy(update={"campaigns": off})
    folder = out if out is not None else home() / "demo"
    with console.status("generating") as status:
        data = generate(customers, seed, cfg, progress=lambda msg: status.update(msg))
        status.update(f"writing {file_format} files to {folder}")
        write_dataset(data, folder, file_format)
    table = Table(title=f"generated data set (seed {seed})")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, frame in data.dataset.tables.items():
        table.add_row(name, f"{len(frame):,}")
    console.print(table)
    console.print(f"as of {data.dataset.as_of:%Y-%m-%d}, written to {folder}")
    console.print(f"hidden truth (never read by the product): {folder / TRUTH_DIR}")
    if data.drift is not None:
        who = data.drift["segment"] or "every customer"
        console.print(
            f"drift injected from {data.drift['from']} ({who}): {data.drift['description']}",
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    """Add ``generate`` to the ``churn`` app."""
    app.command("generate")(generate_command)
