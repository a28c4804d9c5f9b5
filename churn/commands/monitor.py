"""``churn monitor``: drift, estimated and realized performance of the champion, and alerts."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from churn.commands._inputs import load_folder
from churn.commands._options import MaxBadRowShareOpt
from churn.commands._output import print_table, wide_console


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
) -> None:
    """Score the as-of population with the champion and report feature and prediction drift,
    population change, CBPE-estimated performance, realized performance of past scorings whose
    horizon has ended, and alerts (docs/monitoring.md).

    Writes OUT and $CHURN_HOME/monitoring/latest.json (read by the service's /metrics)."""
    from churn.commands._inputs import serving_config
    from kpi.config import load_kpi_config
    from monitoring.config import load_monitor_config
    from monitoring.run import parse_date, run_monitor, write_result

    console = wide_console()
    serving = serving_config(config, store)
    cfg = load_monitor_config(config)
    per_manager = load_kpi_config(config).campaign.capacity_per_manager
    wanted = None if asof is None else parse_date(asof, "--asof")
    ref = None if reference is None else parse_date(reference, "--reference")
    ds = load_folder(data, console, max_bad_row_share=max_bad_row_share, config=config)
    when = ds.as_of if wanted is None else wanted
    with console.status("monitoring") as status:
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
    print_table(summary_table(result), console)
    alerts = result["alerts"]
    for line in alerts:
        console.print(f"[bold red]alert:[/] {line}", highlight=False)
    if not alerts:
        console.print("no alert: every measure is within its threshold", highlight=False)
    console.print("written: " + ", ".join(str(p) for p in written), highlight=False)
    if alerts and fail_on_alert:
        raise typer.Exit(1)


def summary_table(result: dict) -> Table:
    """Drift counts, estimated and realized performance as a two-column table."""

    def num(x: object) -> str:
        return "-" if x is None else f"{x:.3f}" if isinstance(x, float) else str(x)

    table = Table(title=f"monitoring as of {result['asof']}", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    model = result["model"]
    ref = result["reference"]
    drifted = sum(f["drifted"] for f in result["features"])
    pred = result["prediction_drift"]
    est = result["estimated"]
    rows = [
        ("champion", f"{model['name']} v{model['version']}"),
        ("reference", f"{ref['source']}: {', '.join(ref['cutoffs'])}"),
        ("customers scored", f"{est['n']:,}"),
        ("features drifted", f"{drifted} of {len(result['features'])}"),
        ("prediction drift", f"{pred['value']:.3f} ({'drifted' if pred['drifted'] else 'ok'})"),
        ("estimated ROC-AUC (CBPE)", num(est["roc_auc"])),
        (f"estimated precision, top {est['capacity']:,}", num(est["precision_at_capacity"])),
        ("expected ECE if calibrated", num(est["ece"])),
        ("champion test ROC-AUC", num(model["test_roc_auc"])),
    ]
    for r in result["realized"]:
        rows.append(
            (
                f"realized ROC-AUC {r['asof']} ({r['source']})",
                f"{num(r['roc_auc'])} (estimated {num(r['estimated_roc_auc'])}, n {r['n']:,})",
            )
        )
    for what, value in rows:
        table.add_row(what, value)
    return table


def register(app: typer.Typer) -> None:
    """Add ``monitor`` to the ``churn`` app."""
    app.command("monitor")(monitor)
