"""``churn report``: the self-contained HTML report for analysts."""

from __future__ import annotations

import re
from pathlib import Path

import typer
from rich.console import Console

from churn.commands._options import LangOpt, reasons_language
from core.lang import catalogue

t = catalogue("cli").t

console = Console()

REPORT_HELP = (
    "Write one self-contained HTML report: model quality against baselines, the top at-risk "
    "customers with reasons, global drivers and the month's KPI scorecards (with --data)."
)


def report(
    out: Path = typer.Option(Path("report.html"), "--out", help="HTML file to write."),
    data: Path | None = typer.Option(
        None, "--data", help="Data folder: needed for the month's KPI scorecards."
    ),
    asof: str | None = typer.Option(
        None, "--asof", help="Scoring date YYYY-MM-DD in the store (default: the latest)."
    ),
    period: str | None = typer.Option(
        None,
        "--period",
        help="KPI month YYYY-MM (default: the scoring date's month); uses the predictions "
        "stored at its first day (churn score --asof YYYY-MM-01).",
    ),
    lang: LangOpt = "en",
    sample: int = typer.Option(2000, "--sample", min=100, help="Customers for global SHAP."),
    config: Path | None = typer.Option(
        None, "--config", help="YAML file; reads its serving: and kpi: sections."
    ),
) -> None:
    from kpi.config import load_kpi_config
    from reports.explain_global import ExplainError
    from reports.html import write_report
    from reports.inputs import gather_report_inputs
    from scoring.config import load_serving_config

    language = reasons_language(lang)
    if period is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", period):
        raise ExplainError(f"--period must be a month YYYY-MM, got {period!r}")
    cfg, kpi = load_serving_config(config), load_kpi_config(config)
    with console.status("gathering the report") as status:
        inputs = gather_report_inputs(
            cfg, kpi, asof=asof, data=data, period=period, lang=language, sample=sample,
            say=status.update,
        )  # fmt: skip
        path = write_report(inputs, out)
    for note in inputs.notes:
        console.print(f"[yellow]{t('note', language)}:[/] {note}")
    console.print(t("report_written", language, path=path, mb=path.stat().st_size / 1e6))


def register(app: typer.Typer) -> None:
    """Add ``report`` to the ``churn`` app."""
    app.command("report", help=REPORT_HELP)(report)
