"""``churn import``: adapt a real export into the product's inputs, with a named adapter (cdnow,
telco, iranian, ecommerce) or a mapping spec (``--spec``). The module is ``import_`` because
``import`` is a keyword."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from churn.commands._options import ADAPTER_NAMES, LangOpt, reasons_language
from churn.commands._output import Fmt, FormatOpt, Section, emit, fail, messages, shown_value
from core.lang import Lang, catalogue
from core.notes import say

t = catalogue("cli").t

if TYPE_CHECKING:
    import pandas as pd

    from features.adapters.snapshot import SnapshotData
    from features.dataset import Dataset

console = Console()
"""Messages and progress: stdout with ``--format table``, stderr with csv or json."""


def import_table(data: Dataset | SnapshotData, lang: Lang = "en") -> Table:
    """Rows read, accepted and rejected per imported table (an event log's or a snapshot's)."""
    table = Table(title=t("import_title", lang))
    for col in ("table", "read", "accepted", "rejected"):
        table.add_column(t(f"h_{col}", lang), justify="left" if col == "table" else "right")
    for r in _reports(data):
        name = shown_value("table", r.table, lang)
        table.add_row(name, f"{r.read:,}", f"{r.accepted:,}", f"{r.rejected:,}")
    return table


def import_frame(data: Dataset | SnapshotData) -> pd.DataFrame:
    """Rows read, accepted and rejected per imported table, as data."""
    import pandas as pd

    rows = [(r.table, r.read, r.accepted, r.rejected) for r in _reports(data)]
    return pd.DataFrame(rows, columns=["table", "read", "accepted", "rejected"])


def _reports(data: Dataset | SnapshotData) -> list:
    from features.adapters.snapshot import SnapshotData

    return [data.report] if isinstance(data, SnapshotData) else list(data.reports.values())


def import_data(
    name: str | None = typer.Argument(
        None, help=f"Adapter: one of {', '.join(ADAPTER_NAMES)} (leave out with --spec)."
    ),
    path: Path | None = typer.Argument(
        None,
        help="The export: its file, or the folder holding it. With --spec: optional, the folder "
        "its relative file: paths start from (default: the spec's folder) or the one file it reads.",
    ),
    spec: Path | None = typer.Option(
        None, "--spec", help="A mapping spec (YAML) for your own export; see docs/mapping.md."
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Folder to write the adapted data into (with --spec: default the spec's out:, "
        "else $CHURN_HOME/imports/<name>).",
    ),
    fmt: FormatOpt = Fmt.table,
    lang: LangOpt = "en",
) -> None:
    """Adapt a real export into the product's inputs (see docs/adapters.md, docs/mapping.md).

    Contract data become a data folder (customers.csv, transactions.csv, ..., dataset.yaml)
    for `churn validate`, `churn features` and `churn train`; snapshots become
    snapshot.parquet + snapshot.yaml for the snapshot mode. Bad rows go to rejects/.
    """
    from core.errors import ChurnError

    global console
    console = messages(fmt)
    language = reasons_language(lang)
    if spec is not None:
        if name is not None and path is not None:
            raise fail(ChurnError(t("import_spec_one_path", language)), language)
        source = path or (Path(name) if name is not None else None)
        from features.adapters.importer import import_spec

        with console.status(t("importing_spec", language, spec=spec)):
            mapped, written = import_spec(spec, source, out)
    else:
        if name is None or path is None or out is None:
            raise fail(ChurnError(t("import_usage", language)), language)
        from features.adapters.importer import import_named

        with console.status(t("importing_named", language, path=path, name=name)):
            mapped, written = import_named(name, path, out)
    imported = mapped.data
    emit([Section("tables", import_frame(imported), import_table(imported, language))], fmt)
    for note in mapped.notes:
        said = say(note, language)
        console.print(f"  {t('note_prefix', language)} {said}", highlight=False, markup=False)
    for p in written:
        console.print(t("wrote", language, path=p), highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``import`` to the ``churn`` app."""
    app.command("import")(import_data)
