"""Render the analysts' report: one self-contained HTML file (inline styles, PNGs as base64 data
URIs, no script, nothing fetched) from :class:`reports.inputs.ReportInputs`."""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from core.lang import Lang
from reports.i18n import category, has_levels, tr
from reports.inputs import ReportInputs
from reports.template import REPORT_TEMPLATE, TEXT

Formatter = Callable[[object], str]

METRIC_COLUMNS = {
    "roc_auc": "ROC-AUC",
    "roc_auc_live": "ROC-AUC, live",
    "pr_auc": "PR-AUC",
    "pr_auc_live": "PR-AUC, live",
    "top_decile_lift": "lift, top 10%",
    "brier": "Brier",
    "ece": "ECE",
    "lost_value_captured_top_decile": "lost value in top 10%",
    "campaign_profit": "best campaign profit",
}
AT_RISK_COLUMNS = {
    "rank": "#",
    "customer_id": "customer",
    "account_manager_id": "manager",
    "segment": "segment",
    "lifecycle_status": "lifecycle",
    "churn_probability": "P(churn)",
    "predicted_value": "value if retained",
    "expected_value_at_risk": "value at risk",
    "risk_band": "band",
    "reasons": "top reasons",
}
SCORECARD_COLUMNS = {
    "account_manager_id": "manager",
    "team": "team",
    "portfolio_start": "book",
    "churn_rate": "churn",
    "value_weighted_retention": "value-weighted retention",
    "risk_adjusted_retention": "risk-adjusted retention",
    "satisfaction": "satisfaction",
    "sales_vs_quota": "sales / quota",
    "score": "score",
    "grade": "grade",
    "rank": "rank",
    "payout": "payout",
}
MANAGER_COLUMN = "account_manager_id"
CAMPAIGN_COLUMNS = {
    "account_manager_id": "manager",
    "contacted": "contacted",
    "control": "control group",
    "churn_rate_contacted": "churn, contacted",
    "churn_rate_control": "churn, control",
    "incremental_retained_value": "incremental retained value",
}
CAMPAIGN_NOTE = (
    "Retention campaigns of the period against their control groups: the control group's churn "
    "rate minus the contacted customers' churn rate, times the contacted customers' value. "
    "Reported beside the 100 points, not inside them."
)
PERCENT = ("churn_rate", "satisfaction", "sales_vs_quota", "lost_value_captured_top_decile")
PERCENT += ("churn_rate_contacted", "churn_rate_control")
FORMATS = {"churn_probability": ".3f", "rank": ",.0f", "portfolio_start": ",.0f"}
FORMATS |= {c: ",.0f" for c in ("predicted_value", "expected_value_at_risk", "payout")}
FORMATS |= {"campaign_profit": ",.0f", "incremental_retained_value": ",.0f"}
FORMATS |= {"contacted": ",.0f", "control": ",.0f"}


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _number(fmt: str, scale: float = 1.0, suffix: str = "") -> Formatter:
    def show(v: object) -> str:
        x = pd.to_numeric(v, errors="coerce")  # stored rows may hold numbers as objects
        return "-" if pd.isna(x) else format(scale * float(x), fmt) + suffix

    return show


def _text(value: object) -> str:
    if _missing(value):
        return "-"
    if isinstance(value, list | tuple):
        items = "".join(f"<li>{html.escape(str(v))}</li>" for v in value)
        return f'<ul class="reasons">{items}</ul>'
    return html.escape(str(value))


def _formatter(column: str, series: pd.Series, lang: Lang = "en") -> tuple[Formatter, bool]:
    """How a column's cells are written, and whether they are numbers (right-aligned)."""
    if lang != "en" and has_levels(column):
        return (lambda v: _text(v if _missing(v) else category(column, v, lang))), False
    if column in PERCENT:
        return _number(".1f", 100.0, "%"), True
    if column in FORMATS:
        return _number(FORMATS[column]), True
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return _number(".3f"), True
    return _text, False


def html_table(
    frame: pd.DataFrame,
    columns: Mapping[str, str],
    index: str | None = None,
    highlight: str | None = None,
    row_class: Callable[[pd.Series], str] | None = None,
    lang: Lang = "en",
) -> str:
    """A plain HTML table of the named columns (those present), escaped and formatted; headers
    and category values in ``lang``."""
    shown = [c for c in columns if c in frame.columns]
    cells = {c: _formatter(c, frame[c], lang) for c in shown}
    head = f"<th>{html.escape(tr(index, lang))}</th>" if index else ""
    head += "".join(
        f'<th class="{"num" if cells[c][1] else ""}">{html.escape(tr(columns[c], lang))}</th>'
        for c in shown
    )
    body = []
    for key, row in frame.iterrows():  # a few dozen rows of a report, not a hot path
        css = "model" if highlight is not None and key == highlight else ""
        if row_class is not None:
            css = f"{css} {row_class(row)}".strip()
        tds = f"<td>{html.escape(str(key))}</td>" if index else ""
        for c in shown:
            fmt, numeric = cells[c]
            value = fmt(row[c])
            if c == "risk_band" and not _missing(row[c]):
                value = f'<span class="band-{html.escape(str(row[c]))}">{value}</span>'
            tds += f'<td class="{"num" if numeric else ""}">{value}</td>'
        body.append(f'<tr class="{css}">{tds}</tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def figure(png: bytes, caption: str) -> str:
    """An ``<img>`` with the PNG inline as a base64 data URI, and its caption."""
    data = base64.b64encode(png).decode("ascii")
    alt = html.escape(caption, quote=True)
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{alt}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _figures(images: Mapping[str, bytes], lang: Lang) -> str:
    return "".join(figure(png, tr(caption, lang)) for caption, png in images.items())


def _notes(notes: Sequence[str], lang: Lang) -> str:
    if not notes:
        return ""
    items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    return f'<div class="notes"><b>{tr("Notes", lang)}</b><ul>{items}</ul></div>'


def _quality(r: ReportInputs) -> str:
    if r.metrics is None and not r.quality_images:
        return f"<p>{tr('Not available (see the notes above).', r.lang)}</p>"
    parts = []
    if r.metrics is not None:
        about = (
            "Test-cutoff metrics of the champion (first row) and of the baselines it must beat; "
            "live: on the customers not lapsed at the test cutoff, the ones a retention contact "
            "can still save."
        )
        parts.append(f"<p>{tr(about, r.lang)}</p>")
        parts.append(
            html_table(r.metrics, METRIC_COLUMNS, "scorer", highlight="lightgbm", lang=r.lang)
        )
    return "".join(parts) + _figures(r.quality_images, r.lang)


def _kpi(r: ReportInputs) -> str:
    if r.scorecard is None:
        return f"<p>{tr('Not available (see the notes above).', r.lang)}</p>"
    managers = r.scorecard[r.scorecard["level"] == "manager"].sort_values("rank")
    teams = r.scorecard[r.scorecard["level"] == "team"]
    parts = [f"<h3>{tr('Account managers', r.lang)}</h3>"]
    parts.append(html_table(managers, SCORECARD_COLUMNS, lang=r.lang))
    if len(teams):
        team_columns = {k: v for k, v in SCORECARD_COLUMNS.items() if k != "account_manager_id"}
        parts += [f"<h3>{tr('Teams', r.lang)}</h3>", html_table(teams, team_columns, lang=r.lang)]
    return "".join(parts) + _campaigns(managers, r.lang)


def _campaigns(managers: pd.DataFrame, lang: Lang) -> str:
    """Incremental retained value of the period's campaigns per manager, with the total."""
    if "incremental_retained_value" not in managers.columns:
        return ""
    rows = managers[managers["contacted"].fillna(0) > 0].sort_values(MANAGER_COLUMN)
    if rows.empty:
        return ""
    total = rows["incremental_retained_value"].sum(min_count=1)
    head = f"<h3>{tr('Retention campaigns', lang)}</h3><p>{tr(CAMPAIGN_NOTE, lang)}</p>"
    line = tr("Incremental retained value, all managers: {total}", lang)
    shown = "n/a" if pd.isna(total) else f"{total:,.0f}"
    return (
        head + html_table(rows, CAMPAIGN_COLUMNS, lang=lang) + f"<p>{line.format(total=shown)}</p>"
    )


def render_report(r: ReportInputs) -> str:
    """The whole HTML document, in the report's language."""

    def text(key: str, **values: str) -> str:
        return tr(TEXT[key], r.lang).format(**values)

    models = ", ".join(f"{html.escape(k)} {html.escape(v)}" for k, v in r.models.items())
    period = tr("for {period}", r.lang).format(period=r.period) if r.period else ""
    drivers = {"mean_abs_shap": "mean |SHAP|", "mean_shap": "mean SHAP"}
    return REPORT_TEMPLATE.substitute(
        lang=r.lang,
        title=text("title", asof=html.escape(r.asof)),
        meta=text(
            "meta",
            asof=html.escape(r.asof),
            customers=f"{r.total_customers:,}",
            models=models,
            generated=html.escape(r.generated_at),
        ),
        label=text("label", label=html.escape(r.label_definition or tr("not recorded", r.lang))),
        notes=_notes(r.notes, r.lang),
        h_quality=text("h_quality"),
        quality=_quality(r),
        h_at_risk=text("h_at_risk", top_n=str(len(r.at_risk))),
        at_risk_note=text("at_risk_note"),
        at_risk=html_table(r.at_risk, AT_RISK_COLUMNS, lang=r.lang),
        h_drivers=text("h_drivers"),
        drivers_note=text("drivers_note", explained=f"{r.explained:,}"),
        drivers=html_table(r.importance, drivers, "feature", lang=r.lang)
        + _figures(r.driver_images, r.lang),
        h_kpi=text("h_kpi", period=html.escape(period)),
        kpi=_kpi(r),
        footer=text("footer"),
    )


def write_report(r: ReportInputs, path: str | Path) -> Path:
    """Write the report as UTF-8 HTML (parent folders created); returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(r), encoding="utf-8")
    return out
