"""``churn validate``: check a data folder against the data contract and quarantine bad rows."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from churn.commands._inputs import load_folder
from churn.commands._options import LangOpt, MaxBadRowShareOpt, reasons_language
from churn.commands._output import (
    Fmt,
    FormatOpt,
    Section,
    emit,
    fail,
    messages,
    report_frame,
    report_table,
    shown_value,
)
from core.errors import ChurnError
from core.lang import Lang, catalogue, show_date
from core.paths import home

if TYPE_CHECKING:
    from features.dataset import Dataset

t = catalogue("cli").t


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
    lang: LangOpt = "en",
) -> None:
    """Check DATA against the data contract; report N read = M accepted + K rejected."""
    from features.loaders import BadRowShareError, write_rejects
    from features.reject_reasons import reason_in

    console = messages(fmt)
    language = reasons_language(lang)

    def as_of_line(ds: Dataset) -> str:
        source = t(f"as_of_{ds.as_of_source}", language)
        return t("as_of_date", language, date=show_date(ds.as_of, language), source=source)

    def show(ds: Dataset) -> int:
        title = t("folder_title", language, data=data, date=show_date(ds.as_of, language))
        table = report_table(ds, title, language)
        emit([Section("tables", report_frame(ds), table)], fmt)
        total = sum(r.rejected for r in ds.reports.values())
        if total:
            out = rejects or home() / "rejects" / Path(data).resolve().name
            for path in write_rejects(ds, out):
                console.print(t("rejects_written", language, path=path), highlight=False)
            for name, frame in ds.rejects.items():
                for reason, n in frame["reason"].value_counts().head(5).items():
                    shown = reason_in(str(reason), language)
                    table_name = shown_value("table", name, language)
                    line = t("reject_count", language, table=table_name, n=n, reason=shown)
                    console.print(line, highlight=False, markup=False)
        return total

    try:
        share = max_bad_row_share
        ds = load_folder(
            data,
            console,
            as_of=as_of,
            encoding=encoding,
            max_bad_row_share=share,
            lang=language,
        )
    except BadRowShareError as exc:  # still show and write what was rejected, then stop
        console.print(as_of_line(exc.dataset), highlight=False)
        show(exc.dataset)
        if language == "en":
            raise
        raise fail(ChurnError(too_many_bad_rows(exc.dataset, max_bad_row_share, language)),
                   language) from None  # fmt: skip
    total = show(ds)
    ok = t("contract_ok", language, as_of=as_of_line(ds))
    console.print(ok if not total else t("rows_rejected", language, n=total), highlight=False)
    if strict and total:
        raise typer.Exit(1)


def too_many_bad_rows(ds: Dataset, option: float | None, lang: Lang) -> str:
    """Why the loader stopped (too many bad rows in a table), in ``lang``; the reasons are the
    lines ``validate`` printed above."""
    from features.config import load_data_config

    share = option if option is not None else load_data_config(None).max_bad_row_share
    over = [r for r in ds.reports.values() if r.rejected > 1 and r.rejected > share * r.read]
    lines = [
        t(
            "bad_share_table",
            lang,
            source=r.source,
            bad=r.rejected,
            read=r.read,
            rate=r.rejected / r.read,
            share=share,
        )  # fmt: skip
        for r in over
    ]
    return t("sel_and", lang).join(lines) + t("bad_share_next", lang)


def register(app: typer.Typer) -> None:
    """Add ``validate`` to the ``churn`` app."""
    app.command("validate")(validate)
