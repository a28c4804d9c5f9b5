"""``churn monitor``: drift, estimated and realized performance of the champion, and alerts."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from churn.commands._inputs import load_folder
from churn.commands._options import LangOpt, MaxBadRowShareOpt, reasons_language
from churn.commands._output import print_table, wide_console
from core.lang import Lang, catalogue

t = catalogue("monitor").t


def monitor(
    data: Path = typer.Option(..., "--data", help="Data folder (one file per table)."),
    asof: str | None = typer.Option(
        None,
        "--asof",
        help="Monitor the customers active on this date YYYY-MM-DD (default: the data's as-of "
        "date). No event after it is read.",
    ),
    reference: str | None = typer.Option(
        None,
        "--reference",
        help="Reference date YYYY-MM-DD to compare with (default: the champion's training "
        "cutoffs, rebuilt from --data).",
    ),
    out: Path = typer.Option(..., "--out", help="JSON result file."),
    html: Path | None = typer.Option(None, "--html", help="Also write an HTML page here."),
    config: Path | None = typer.Option(
        None, "--config", help="YAML file; reads its monitoring:, serving: and kpi: sections."
    ),
    store: str | None = typer.Option(
        None,
        "--store",
        help="SQLAlchemy URL of the prediction store (default: config, else SQLite).",
    ),
    max_bad_row_share: MaxBadRowShareOpt = None,
    fail_on_alert: bool = typer.Option(
        False,
        "--fail-on-alert",
        help="Exit with status 1 when an alert is raised (for schedulers).",
    ),
    lang: LangOpt = "en",
) -> None:
    """Score the as-of population with the champion and report feature and prediction drift,
    population change, CBPE-estimated performance, realized performance of past scorings whose
    horizon has ended, and alerts (docs/monitoring.md).

    Writes OUT and $CHURN_HOME/monitoring/latest.json (read by the service's /metrics)."""
    from churn.commands._inputs import serving_config
    from kpi.config import load_kpi_config
    from monitoring.alerts import alert_text
    from monitoring.config import load_monitor_config
    from monitoring.run import parse_date, run_monitor, write_result

    console = wide_console()
    language = reasons_language(lang)
    serving = serving_config(config, store)
    cfg = load_monitor_config(config)
    per_manager = load_kpi_config(config).campaign.capacity_per_manager
    wanted = None if asof is None else parse_date(asof, "--asof")
    ref = None if reference is None else parse_date(reference, "--reference")
    ds = load_folder(
        data, console, max_bad_row_share=max_bad_row_share, config=config, lang=language
    )
    when = ds.as_of if wanted is None else wanted
    with console.status(t("monitoring", language)) as status:
        result = run_monitor(
            ds,
            when,
            serving,
            cfg,
            reference=ref,
            capacity_per_manager=per_manager,
            say=status.update,
        )
    written = write_result(result, out)
    if html is not None:
        from monitoring.html import write_html

        written.append(write_html(result, html))
    print_table(summary_table(result, language), console)
    alerts = result["alerts"]
    for item in result["alert_items"]:
        console.print(f"[bold red]{t('alert', language)}[/] {alert_text(item, language)}")
    if not alerts:
        console.print(t("no_alert", language), highlight=False)
    paths = ", ".join(str(p) for p in written)
    console.print(t("written", language, paths=paths), highlight=False)
    if alerts and fail_on_alert:
        raise typer.Exit(1)


def summary_table(result: dict, lang: Lang = "en") -> Table:
    """Drift counts, estimated and realized performance as a two-column table."""

    def num(x: object) -> str:
        return "-" if x is None else f"{x:.3f}" if isinstance(x, float) else str(x)

    table = Table(title=t("summary_title", lang, asof=result["asof"]), show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    model = result["model"]
    ref = result["reference"]
    drifted = sum(f["drifted"] for f in result["features"])
    pred = result["prediction_drift"]
    est = result["estimated"]
    state = t("drifted" if pred["drifted"] else "ok", lang)
    rows = [
        (t("row_champion", lang), f"{model['name']} v{model['version']}"),
        (t("row_reference", lang), f"{ref['source']}: {', '.join(ref['cutoffs'])}"),
        (t("row_customers", lang), f"{est['n']:,}"),
        (t("row_drifted", lang), t("drifted_of", lang, n=drifted, total=len(result["features"]))),
        (t("row_prediction_drift", lang), f"{pred['value']:.3f} ({state})"),
        (t("row_estimated_auc", lang), num(est["roc_auc"])),
        (t("row_precision", lang, n=f"{est['capacity']:,}"), num(est["precision_at_capacity"])),
        (t("row_ece", lang), num(est["ece"])),
        (t("row_test_auc", lang), num(model["test_roc_auc"])),
    ]
    for r in result["realized"]:
        shown = t(
            "realized_value",
            lang,
            auc=num(r["roc_auc"]),
            est=num(r["estimated_roc_auc"]),
            n=f"{r['n']:,}",
        )
        rows.append((t("row_realized", lang, asof=r["asof"], source=r["source"]), shown))
    for what, value in rows:
        table.add_row(what, value)
    return table


def register(app: typer.Typer) -> None:
    """Add ``monitor`` to the ``churn`` app."""
    app.command("monitor")(monitor)
