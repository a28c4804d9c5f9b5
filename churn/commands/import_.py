"""``churn import``: adapt a real export (cdnow, telco, iranian, ecommerce) into the product's
inputs. The module is ``import_`` because ``import`` is a keyword."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import typer
from rich.console import Console
from rich.table import Table

from churn.commands._shared import ADAPTER_NAMES

if TYPE_CHECKING:
    from features.adapters.snapshot import SnapshotData
    from features.dataset import Dataset

console = Console()


def import_table(data: Dataset | SnapshotData) -> Table:
    """Rows read, accepted and rejected per imported table (an event log's or a snapshot's)."""
    from features.adapters.snapshot import SnapshotData

    table = Table(title="import")
    for col in ("table", "read", "accepted", "rejected"):
        table.add_column(col, justify="left" if col == "table" else "right")
    reports = [data.report] if isinstance(data, SnapshotData) else list(data.reports.values())
    for r in reports:
        table.add_row(r.table, f"{r.read:,}", f"{r.accepted:,}", f"{r.rejected:,}")
    return table


def import_data(
    name: str = typer.Argument(..., help=f"Adapter: one of {', '.join(ADAPTER_NAMES)}."),
    path: Path = typer.Argument(..., help="The export: its file, or the folder holding it."),
    out: Path = typer.Option(..., "--out", help="Folder to write the adapted data into."),
) -> None:
    """Adapt a real export into the product's inputs (see docs/adapters.md).

    Event logs become a contract data folder (customers.csv, transactions.csv, dataset.yaml)
    for `churn validate`, `churn features` and `churn train`; snapshots become
    snapshot.parquet + snapshot.yaml for the snapshot mode. Bad rows go to rejects/.
    """
    from features.adapters.importer import import_to_folder

    with console.status(f"importing {path} with the {name} adapter"):
        data, written = import_to_folder(name, path, out)
    console.print(import_table(cast("Dataset | SnapshotData", data)))
    for note in getattr(data, "notes", ()):
        console.print(f"  note: {note}")
    for p in written:
        console.print(f"wrote {p}")


def register(app: typer.Typer) -> None:
    """Add ``import`` to the ``churn`` app."""
    app.command("import")(import_data)
