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
    from pydantic import ValidationError

    from core.config import read_section, validation_message
    from features.synthetic.generator import GeneratorConfig, GeneratorError

    section = read_section(path, SECTION, GeneratorError)
    try:
        return GeneratorConfig(**section)
    except ValidationError as exc:
        raise GeneratorError(f"{path}: {validation_message(exc, SECTION)}") from exc


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
) -> None:
    """Generate a synthetic customer book with a known churn story (see docs/generator.md).

    Writes the tables and dataset.yaml to OUT; the hidden truth goes to OUT/_truth/.
    """
    from features.synthetic.generator import TRUTH_DIR, GeneratorError, generate, write_dataset

    if fmt not in ("csv", "parquet"):
        raise GeneratorError(f"--format must be csv or parquet, got {fmt!r}")
    file_format: Literal["csv", "parquet"] = "csv" if fmt == "csv" else "parquet"
    cfg = read_config(config)
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


def register(app: typer.Typer) -> None:
    """Add ``generate`` to the ``churn`` app."""
    app.command("generate")(generate_command)
