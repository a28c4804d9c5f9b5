"""``churn explain`` (one customer's reasons and waterfall, or the global drivers) and
``churn report`` (the self-contained HTML report for analysts)."""

from __future__ import annotations

import re
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from core.paths import home

console = Console()

EXPLAIN_HELP = (
    "Why a customer is at risk (--customer-id: top reasons and a SHAP waterfall PNG), or what "
    "drives churn across the base (--global: beeswarm, bar, dependence and driver plots). Rows "
    "come from the batch-scoring store, or from --data DIR at --asof DATE."
)
REPORT_HELP = (
    "Write one self-contained HTML report: model quality against baselines, the top at-risk "
    "customers with reasons, global drivers and the month's KPI scorecards (with --data)."
)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name) or "customer"


def _value(v: object) -> str:
    if v is None:
        return "missing"
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 1e4 else f"{v:.4g}"
    return str(v)


def _reasons_table(e, lang: str) -> Table:
    title = (
        f"customer {e.customer_id}: P(churn) {e.probability:.3f} "
        f"(log-odds {e.raw_score:+.3f} = base {e.base_value:+.3f} + contributions)"
    )
    table = Table(title=title, header_style="bold")
    for col in ("#", "reason" if lang == "en" else "原因", "feature", "value", "log-odds"):
        table.add_column(col, justify="right" if col in ("#", "log-odds") else "left")
    for rank, r in enumerate(e.reasons, start=1):
        value = _value(r.value)
        colour = "red" if r.contribution > 0 else "green"
        table.add_row(
            str(rank), r.sentence, r.feature, value, f"[{colour}]{r.contribution:+.3f}[/{colour}]"
        )
    return table


def _explain_one(customer_id, lang, top, data, asof, out, cfg) -> None:
    from reports.explain_local import explain_customers, select_customers, write_waterfall
    from reports.sources import (
        champions_for,
        rows_from_data,
        rows_from_store,
        version_note,
    )

    with console.status("loading the champion model and the customer's features") as status:
        champions = champions_for(cfg)
        if data is not None:
            status.update(f"building features from {data}")
            rows = rows_from_data(data, asof, champions, cfg)
        else:
            rows = rows_from_store(cfg, asof, customer_ids=[customer_id])
        found = select_customers(rows.features, [customer_id])
        e = explain_customers(champions.churn, found, k=top, lang=lang)[0]
    note = version_note(rows, champions)
    if note:
        console.print(f"[yellow]note:[/] {note}")
    console.print(_reasons_table(e, lang))
    path = out or home() / "explain" / rows.asof / f"{_safe(customer_id)}.png"
    if path.suffix.lower() != ".png":
        path = path / f"{_safe(customer_id)}.png"
    write_waterfall(e, path)
    console.print(f"as of {rows.asof} ({rows.source}); waterfall: {path}")


def _explain_global(data, asof, sample, out, cfg) -> None:
    from reports.explain_global import global_explanation, importance, write_global
    from reports.sources import champions_for, rows_from_data, rows_from_store

    with console.status("loading the champion model and the customers' features") as status:
        champions = champions_for(cfg)
        if data is not None:
            status.update(f"building features from {data}")
            rows = rows_from_data(data, asof, champions, cfg)
        else:
            rows = rows_from_store(cfg, asof, sample=sample)
        status.update("computing SHAP values")
        g = global_explanation(champions.churn, rows.features, sample=sample)
        target = out or home() / "explain" / f"global_{rows.asof}"
        status.update(f"drawing plots into {target}")
        written = write_global(g, target)
    table = Table(title=f"what drives churn, {len(g.contributions):,} customers as of {rows.asof}")
    for col in ("feature", "mean |SHAP|", "mean SHAP"):
        table.add_column(col, justify="left" if col == "feature" else "right")
    for name, r in importance(g).head(10).iterrows():
        table.add_row(str(name), f"{r['mean_abs_shap']:.3f}", f"{r['mean_shap']:+.3f}")
    console.print(table)
    console.print(f"{len(written)} files written to {target} (SHAP by {g.method}, log-odds)")


def register(app: typer.Typer) -> None:
    @app.command("explain", help=EXPLAIN_HELP)
    def explain(
        customer_id: str | None = typer.Option(
            None, "--customer-id", help="Explain this customer's score."
        ),
        global_: bool = typer.Option(
            False, "--global", help="Explain the whole base: global plots and drivers."
        ),
        lang: str = typer.Option("en", "--lang", help="Language of the reasons: en or zh."),
        top: int = typer.Option(5, "--top", min=1, max=50, help="Reasons to show."),
        data: Path | None = typer.Option(
            None, "--data", help="Build features from this data folder instead of the store."
        ),
        asof: str | None = typer.Option(
            None, "--asof", help="As-of date YYYY-MM-DD (default: latest scoring / data's)."
        ),
        sample: int = typer.Option(
            2000, "--sample", min=100, help="Customers sampled for --global plots."
        ),
        out: Path | None = typer.Option(
            None, "--out", help="Waterfall PNG file, or folder for --global plots."
        ),
        config: Path | None = typer.Option(
            None, "--config", help="YAML file; reads its serving: section (models, store)."
        ),
    ) -> None:
        from reports.explain_global import ExplainError
        from serving.config import load_serving_config

        if (customer_id is None) == (not global_):
            raise ExplainError("give exactly one of --customer-id ID or --global")
        if lang not in ("en", "zh"):
            raise ExplainError(f"--lang must be en or zh, got {lang!r}")
        cfg = load_serving_config(config)
        if global_:
            _explain_global(data, asof, sample, out, cfg)
        else:
            _explain_one(customer_id, lang, top, data, asof, out, cfg)

    @app.command("report", help=REPORT_HELP)
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
        lang: str = typer.Option("en", "--lang", help="Language of the reasons: en or zh."),
        sample: int = typer.Option(2000, "--sample", min=100, help="Customers for global SHAP."),
        config: Path | None = typer.Option(
            None, "--config", help="YAML file; reads its serving: and kpi: sections."
        ),
    ) -> None:
        from kpi.config import load_kpi_config
        from reports.explain_global import ExplainError
        from reports.html import write_report
        from reports.inputs import gather_report_inputs
        from serving.config import load_serving_config

        if lang not in ("en", "zh"):
            raise ExplainError(f"--lang must be en or zh, got {lang!r}")
        if period is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", period):
            raise ExplainError(f"--period must be a month YYYY-MM, got {period!r}")
        cfg, kpi = load_serving_config(config), load_kpi_config(config)
        with console.status("gathering the report") as status:
            inputs = gather_report_inputs(
                cfg, kpi, asof=asof, data=data, period=period, lang=lang, sample=sample,
                say=status.update,
            )  # fmt: skip
            path = write_report(inputs, out)
        for note in inputs.notes:
            console.print(f"[yellow]note:[/] {note}")
        console.print(f"report written to {path} ({path.stat().st_size / 1e6:.1f} MB)")
