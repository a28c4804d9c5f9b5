"""``churn train-snapshot``: train, log, register and gate models on a snapshot file (one row per
customer with a churn label), of any layout, of a named data set or described by a snapshot
mapping file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from churn.commands._options import (
    ADAPTER_NAMES,
    SNAPSHOT_ADAPTER_NAMES,
    LangOpt,
    reasons_language,
)
from churn.commands._output import (
    Fmt,
    FormatOpt,
    Section,
    emit,
    fail,
    load_snippet,
    messages,
    metrics_sections,
    shown_value,
)
from core.errors import ChurnError
from core.lang import Lang, catalogue
from core.notes import say

t = catalogue("cli").t

if TYPE_CHECKING:
    import pandas as pd

    from features.adapters.hooks import Rules
    from features.adapters.snapshot import ColumnInfo, SnapshotData

console = Console()
"""Messages and progress: stdout with ``--format table``, stderr with csv or json."""


def columns_table(columns: list[ColumnInfo], title: str, lang: Lang = "en") -> Table:
    """What was made of each column of the file: role, type, distinct values, blanks, why (roles,
    types and notes in ``lang``)."""
    table = Table(title=title)
    for col in ("column", "role", "type", "distinct", "blank", "note"):
        right = col in ("distinct", "blank")
        table.add_column(t(f"h_{col}", lang), justify="right" if right else "left")
    for c in columns:
        said = shown_value("snapshot_role", c.role, lang)
        role = f"[dim]{said}[/dim]" if c.role == "dropped" else said
        kind = shown_value("snapshot_kind", c.kind, lang)
        table.add_row(c.column, role, kind, f"{c.distinct:,}", f"{c.missing:,}", say(c.note, lang))
    return table


def columns_frame(columns: list[ColumnInfo]) -> pd.DataFrame:
    """What was made of each column of the file, as data."""
    import pandas as pd

    rows = [(c.column, c.role, c.kind, c.distinct, c.missing, str(c.note)) for c in columns]
    return pd.DataFrame(rows, columns=["column", "role", "type", "distinct", "blank", "note"])


def _print_read(data: SnapshotData, lang: Lang = "en") -> None:
    from features.adapters.snapshot import rejection_summary

    r = data.report
    console.print(
        t(
            "snapshot_read",
            lang,
            source=r.source,
            read=r.read,
            accepted=r.accepted,
            rejected=r.rejected,
            features=len(data.features),
            categorical=len(data.categorical),
            rate=data.label.mean(),
        ),
        highlight=False,
    )
    if r.rejected:
        said = say(rejection_summary(data.rejects), lang)
        console.print(f"[yellow]{t('rejected', lang)}[/yellow] {said}", highlight=False)
    for note in data.notes:
        said = say(note, lang)
        console.print(f"[yellow]{t('note_prefix', lang)}[/yellow] {said}", highlight=False)


def train_snapshot(
    file: str | None = typer.Argument(
        None,
        metavar="FILE",
        help="The snapshot file: CSV, TSV or whitespace text, Parquet or .xlsx (with --spec: the "
        "file or the folder holding it; optional for a mapping file, whose file: it replaces).",
        show_default=False,
    ),
    legacy_path: Path | None = typer.Argument(
        None,
        metavar="[PATH]",
        help=f"Old form `train-snapshot NAME PATH`, NAME one of {', '.join(SNAPSHOT_ADAPTER_NAMES)}.",
        show_default=False,
    ),
    spec: str | None = typer.Option(
        None,
        "--spec",
        help=f"Instead of --id/--label: a shipped data set's name ({', '.join(SNAPSHOT_ADAPTER_NAMES)}) "
        "or the path of a snapshot mapping file (kind: snapshot, see docs/mapping.md), as for "
        "`churn import --spec`.",
    ),
    id_column: str | None = typer.Option(
        None, "--id", help="Customer id column (without it, customers are numbered by row)."
    ),
    label: str | None = typer.Option(None, "--label", help="Churn label column."),
    positive: str | None = typer.Option(
        None,
        "--positive",
        help="Label value meaning churned, a number or text such as 'Attrited Customer' "
        "(default: guessed from two values: 1, yes, true, ...).",
    ),
    drop: list[str] | None = typer.Option(
        None,
        "--drop",
        help="Leave this column out (repeatable), e.g. a column computed from the label.",
    ),
    value: str | None = typer.Option(
        None, "--value", help="Customer value column: also trains <name>-value-model."
    ),
    cost: str | None = typer.Option(
        None,
        "--cost",
        help="Per-customer contact cost column, used in the campaign profit (needs --value).",
    ),
    name: str | None = typer.Option(
        None, "--name", help="Data set name; models are <name>-churn-model (default: file name)."
    ),
    encoding: str | None = typer.Option(None, help="Text encoding (default: detected)."),
    delimiter: str | None = typer.Option(
        None, help="Text delimiter: a character, comma, semicolon, tab, pipe, whitespace."
    ),
    sheet: str | None = typer.Option(None, help="Excel sheet name or 0-based index."),
    config: Path | None = typer.Option(
        None, "--config", help="YAML file; reads its training: and snapshot: sections."
    ),
    tracking_uri: str | None = typer.Option(
        None, help="MLflow tracking URI (default: MLFLOW_TRACKING_URI, else SQLite in home)."
    ),
    register_models: bool = typer.Option(
        True,
        "--register/--no-register",
        help="Register the models as <name>-churn-model / <name>-value-model and gate them.",
    ),
    fmt: FormatOpt = Fmt.table,
    lang: LangOpt = "en",
) -> None:
    """Train the churn (and value) model on a snapshot file with an 80/20 holdout, log to MLflow,
    register it under the data set's own model names and run the promotion gate. Column types
    are inferred (numbers or categorical text); ids and constant columns are dropped; a table
    says what was made of every column.
    """
    global console
    console = messages(fmt)
    try:
        _run(
            file,
            legacy_path,
            spec=spec,
            id_column=id_column,
            label=label,
            positive=positive,
            value=value,
            cost=cost,
            drop=tuple(drop or ()),
            name=name,
            encoding=encoding,
            delimiter=delimiter,
            sheet=sheet,
            config=config,
            tracking_uri=tracking_uri,
            register_models=register_models,
            fmt=fmt,
            lang=reasons_language(lang),
        )
    except ChurnError as exc:
        raise fail(exc, reasons_language(lang)) from None


def _run(
    file: str | None,
    legacy_path: Path | None,
    *,
    spec: str | None,
    id_column: str | None,
    label: str | None,
    positive: str | None,
    value: str | None,
    cost: str | None,
    drop: tuple[str, ...],
    name: str | None,
    encoding: str | None,
    delimiter: str | None,
    sheet: str | None,
    config: Path | None,
    tracking_uri: str | None,
    register_models: bool,
    fmt: Fmt = Fmt.table,
    lang: Lang = "en",
) -> None:
    from dataclasses import replace

    from features.adapters.snapshot import AdapterError
    from training.config import load_training_config
    from training.snapshot.job import (
        check_name,
        load_snapshot_job_config,
        no_rules,
        read_snapshot_file,
        train_snapshot_data,
    )

    if legacy_path is not None:
        if spec is not None or (file or "").strip().lower() not in SNAPSHOT_ADAPTER_NAMES:
            raise AdapterError(
                f"one file only: `churn train-snapshot FILE --id COL --label COL`, or "
                f"`churn train-snapshot PATH --spec NAME` ({', '.join(SNAPSHOT_ADAPTER_NAMES)})"
            )
        spec, file = file, str(legacy_path)
    layout = {"--id": id_column, "--label": label, "--positive": positive, "--value": value}
    given = [flag for flag, v in {**layout, "--cost": cost, "--drop": drop}.items() if v]
    cfg = load_training_config(config)
    job = load_snapshot_job_config(config)
    sections: list[Section] = []
    if spec is not None:
        if given:
            raise AdapterError(
                f"--spec {spec} reads that data set's own columns; {', '.join(given)} describe "
                "a file of another layout (leave out --spec)"
            )
        data, rules = _load_spec(spec, file)
        if name:
            data = replace(data, name=check_name(name))
        _print_read(data, lang)
    else:
        if label is None:
            raise AdapterError(
                "--label COL is needed (the churn label column), with --id COL for the customer "
                f"id; or --spec with a named data set ({', '.join(SNAPSHOT_ADAPTER_NAMES)}) or a "
                "snapshot mapping file"
            )
        if file is None:
            raise AdapterError("give the snapshot FILE (or --spec NAME or --spec MAPPING.yaml)")
        if cost and not value:
            raise AdapterError(
                "--cost needs --value: the campaign profit weighs each contact's cost against "
                "the value a churner takes away"
            )
        sheet_arg: str | int | None = int(sheet) if sheet and sheet.isdigit() else sheet
        with console.status(t("reading", lang, path=file)):
            data, columns = read_snapshot_file(
                file,
                label=label,
                id_column=id_column,
                positive=positive,
                value=value,
                cost=cost,
                name=name,
                encoding=encoding,
                delimiter=delimiter,
                sheet=sheet_arg,
                drop=drop,
            )
        shown = columns_table(columns, t("columns_title", lang, file=Path(file).name), lang)
        sections.append(Section("columns", columns_frame(columns), shown))
        if fmt is Fmt.table:  # people read it before the training's progress
            emit(sections, fmt)
            sections = []
        _print_read(data, lang)
        rules = no_rules
    result = train_snapshot_data(
        lambda: (data, rules),
        cfg,
        job,
        tracking_uri=tracking_uri,
        register=register_models,
        what=file or str(spec),
        lang=lang,
    )
    title = t("metrics_title_holdout", lang, name=result.name, kind="{kind}")
    emit([*sections, *metrics_sections(result.evaluation, title, lang)], fmt)
    run = t("mlflow_run", lang, run=result.run_id, uri=result.tracking_uri)
    console.print(run, highlight=False)
    for model, version in result.versions.items():
        outcome = result.decisions[model].outcome
        said = shown_value("promotion", outcome, lang)
        console.print(t("registered_as", lang, model=model, version=version, outcome=said),
                      highlight=False)  # fmt: skip
        if outcome == "champion":
            console.print(
                t("snapshot_snippet", lang)
                + "\n"
                + load_snippet(result.tracking_uri, model, t("snapshot_frame", lang)),
                highlight=False,
                soft_wrap=True,
            )


def _load_spec(spec: str, file: str | None) -> tuple[SnapshotData, Rules]:
    """The snapshot that ``--spec`` describes, with its rule baselines: a shipped data set's
    name reads ``file`` (required); a mapping file reads ``file`` when given, else its own
    ``file:``/``query:`` (relative paths from the spec's folder), like ``churn import --spec``."""
    from features.adapters.mapping import apply_spec
    from features.adapters.mapping_spec import SnapshotMapping, load_spec, spec_rules
    from features.adapters.snapshot import AdapterError, SnapshotData
    from training.snapshot.job import load_snapshot, no_rules

    if spec.strip().lower() in ADAPTER_NAMES:
        if file is None:
            raise AdapterError(f"--spec {spec} needs the data set's FILE or the folder holding it")
        return load_snapshot(spec, file)
    path = Path(spec).expanduser()
    if not path.is_file():
        raise AdapterError(
            f"--spec {spec}: neither a shipped data set ({', '.join(SNAPSHOT_ADAPTER_NAMES)}) "
            "nor a mapping file"
        )
    mapping = load_spec(path)
    if not isinstance(mapping, SnapshotMapping):
        raise AdapterError(
            f"{path}: a contract mapping (an event log, not one row per customer): import it "
            f"with `churn import --spec {path}` and train with `churn train --data DIR`"
        )
    data = apply_spec(mapping, file, base=path.resolve().parent).data
    assert isinstance(data, SnapshotData)
    return data, spec_rules(mapping) or no_rules


def register(app: typer.Typer) -> None:
    """Add ``train-snapshot`` to the ``churn`` app."""
    app.command("train-snapshot")(train_snapshot)
