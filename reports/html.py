"""Render the analysts' report: one self-contained HTML file (inline styles, PNGs as base64 data
URIs, no script, nothing fetched) from :class:`reports.inputs.ReportInputs`.

The page is the Jinja2 template ``reports/templates/report.html`` (autoescaped); this module turns
the inputs into what it shows: translated texts, formatted tables and the inline images.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from markupsafe import Markup

from core.lang import Lang
from core.money import currency_prefix, format_money
from features.pipeline.segments import SEGMENT_TITLES
from reports.assessment import assessment, trend_section
from reports.i18n import category, has_levels, tr
from reports.inputs import ReportInputs
from reports.template import ENV, TEXT


@dataclass(frozen=True)
class Column:
    """A table header; ``css`` None writes no class (the index column)."""

    label: str
    css: str | None


@dataclass(frozen=True)
class Cell:
    """A table cell: its text, or a list (``items``, the reasons); ``band`` wraps it in the
    risk band's style."""

    text: str
    css: str | None
    items: tuple[str, ...] | None = None
    band: str | None = None


@dataclass(frozen=True)
class Row:
    """A table row and its style (``model`` for the champion's row of the metrics)."""

    css: str
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Table:
    """A table as the template writes it: headers and formatted, unescaped cells."""

    columns: tuple[Column, ...]
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class Figure:
    """A PNG shown inline: its base64 data and its caption."""

    caption: str
    data: str


@dataclass(frozen=True)
class Quality:
    """Section 1: the metrics table (when the run has metrics) and the quality plots."""

    metrics: Table | None
    images: tuple[Figure, ...]


@dataclass(frozen=True)
class Campaigns:
    """The period's retention campaigns per manager and the line with their total."""

    table: Table
    total: str


@dataclass(frozen=True)
class Kpi:
    """Section 4: the managers' and teams' scorecards and the campaigns, each when present."""

    managers: Table
    teams: Table | None
    campaigns: Campaigns | None
    indicators: Table | None = None


Shown = str | tuple[str, ...]
"""A cell's content: text, or a list of items."""
Formatter = Callable[[object], Shown]

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
INDICATOR_COLUMNS = {
    "account_manager_id": "manager",
    "team": "team",
    "repeat_purchase_rate": "repeat purchase",
    "contact_response_rate": "contact response",
    "contact_conversion_rate": "contact conversion",
    "avg_contact_cost": "cost per contact",
    "upsell_rate": "upsell",
    "new_customers": "new customers",
    "complaint_rate": "complaint rate",
    "satisfaction": "satisfaction",
}
"""The CRM indicators (``kpi.indicators``), shown beside the 100 points."""
RFM_COLUMNS = {
    "customers": "customers",
    "share_of_customers": "share of customers",
    "value_if_retained": "value if retained",
    "churn_rate": "churn",
    "expected_value_at_risk": "value at risk",
    "share_of_value_at_risk": "share of value at risk",
}
CAMPAIGN_COLUMNS = {
    "account_manager_id": "manager",
    "contacted": "contacted",
    "control": "control group",
    "churn_rate_contacted": "churn, contacted",
    "churn_rate_control": "churn, control",
    "incremental_retained_value": "incremental retained value",
}
METRICS_NOTE = (
    "Test-cutoff metrics of the champion (first row) and of the baselines it must beat; "
    "live: on the customers not lapsed at the test cutoff, the ones a retention contact "
    "can still save."
)
CAMPAIGN_NOTE = (
    "Retention campaigns of the period against their control groups: the control group's churn "
    "rate minus the contacted customers' churn rate, times the contacted customers' value. "
    "Reported beside the 100 points, not inside them."
)
INDICATOR_NOTE = (
    "Indicators of documents 001 and 004, reported beside the 100 points, not inside them; "
    "a dash: the data lacks what the rate needs."
)
PERCENT = ("churn_rate", "satisfaction", "sales_vs_quota", "lost_value_captured_top_decile",
           "churn_rate_contacted", "churn_rate_control", "share_of_customers",
           "share_of_value_at_risk", "repeat_purchase_rate", "contact_response_rate",
           "contact_conversion_rate", "upsell_rate", "complaint_rate")  # fmt: skip
FORMATS = {"churn_probability": ".3f", "rank": ",.0f", "portfolio_start": ",.0f"}
FORMATS |= {c: ",.0f" for c in ("predicted_value", "expected_value_at_risk", "payout")}
FORMATS |= {"campaign_profit": ",.0f", "incremental_retained_value": ",.0f"}
FORMATS |= {"contacted": ",.0f", "control": ",.0f", "customers": ",.0f"}
FORMATS |= {"value_if_retained": ",.0f", "avg_contact_cost": ",.2f", "new_customers": ",.0f"}


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _number(fmt: str, scale: float = 1.0, suffix: str = "") -> Formatter:
    def show(v: object) -> str:
        x = pd.to_numeric(v, errors="coerce")  # stored rows may hold numbers as objects
        return "-" if pd.isna(x) else format(scale * float(x), fmt) + suffix

    return show


def _text(value: object) -> Shown:
    if _missing(value):
        return "-"
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value)
    return str(value)


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


def _cell(shown: Shown, numeric: bool, band: str | None = None) -> Cell:
    css = "num" if numeric else ""
    if isinstance(shown, tuple):
        return Cell("", css, items=shown, band=band)
    return Cell(shown, css, band=band)


def report_table(
    frame: pd.DataFrame,
    columns: Mapping[str, str],
    index: str | None = None,
    highlight: str | None = None,
    row_class: Callable[[pd.Series], str] | None = None,
    lang: Lang = "en",
) -> Table:
    """The named columns (those present) of ``frame``, formatted, with headers and category
    values in ``lang``; the row whose index is ``highlight`` is marked as the model's."""
    shown = [c for c in columns if c in frame.columns]
    cells = {c: _formatter(c, frame[c], lang) for c in shown}
    head = [Column(tr(index, lang), None)] if index else []
    head += [Column(tr(columns[c], lang), "num" if cells[c][1] else "") for c in shown]
    rows = []
    for key, row in frame.iterrows():  # a few dozen rows of a report, not a hot path
        css = "model" if highlight is not None and key == highlight else ""
        if row_class is not None:
            css = f"{css} {row_class(row)}".strip()
        tds = [Cell(str(key), None)] if index else []
        for c in shown:
            fmt, numeric = cells[c]
            band = str(row[c]) if c == "risk_band" and not _missing(row[c]) else None
            tds.append(_cell(fmt(row[c]), numeric, band))
        rows.append(Row(css, tuple(tds)))
    return Table(tuple(head), tuple(rows))


def _figures(images: Mapping[str, bytes], lang: Lang) -> tuple[Figure, ...]:
    return tuple(
        Figure(tr(caption, lang), base64.b64encode(png).decode("ascii"))
        for caption, png in images.items()
    )


def _quality(r: ReportInputs) -> Quality | None:
    if r.metrics is None and not r.quality_images:
        return None
    metrics = None
    if r.metrics is not None:
        metrics = report_table(r.metrics, METRIC_COLUMNS, "scorer", "lightgbm", lang=r.lang)
    return Quality(metrics, _figures(r.quality_images, r.lang))


def _kpi(r: ReportInputs) -> Kpi | None:
    if r.scorecard is None:
        return None
    managers = r.scorecard[r.scorecard["level"] == "manager"].sort_values("rank")
    teams = r.scorecard[r.scorecard["level"] == "team"]
    team_columns = {k: v for k, v in SCORECARD_COLUMNS.items() if k != MANAGER_COLUMN}
    return Kpi(
        managers=report_table(managers, SCORECARD_COLUMNS, lang=r.lang),
        teams=report_table(teams, team_columns, lang=r.lang) if len(teams) else None,
        campaigns=_campaigns(managers, r.lang, r.currency),
        indicators=_indicators(pd.concat([managers, teams]), r.lang),
    )


def _indicators(rows: pd.DataFrame, lang: Lang) -> Table | None:
    """The CRM indicators of managers and teams, when the scorecards hold them."""
    if "repeat_purchase_rate" not in rows.columns:
        return None
    return report_table(rows, INDICATOR_COLUMNS, lang=lang)


def _rfm(r: ReportInputs) -> Table | None:
    """Section 5: the book by RFM segment, one row per segment titled in the report's language."""
    if r.rfm_segments is None:
        return None
    lang_index = 0 if r.lang == "en" else 1
    titles = [SEGMENT_TITLES[s][lang_index] for s in r.rfm_segments["rfm_segment"]]
    frame = r.rfm_segments.set_index(pd.Index(titles))
    return report_table(frame, RFM_COLUMNS, "RFM segment", lang=r.lang)


def _currency_note(currency: str | None, lang: Lang) -> tuple[str, ...]:
    """The report's note on the currency of its amounts (none without a currency)."""
    if not currency:
        return ()
    sign = currency_prefix(currency).strip()
    if lang == "zh":
        return (f"金额单位：{currency.upper()}（{sign}）。",)
    return (f"Amounts are in {currency.upper()} ({sign}).",)


def _campaigns(managers: pd.DataFrame, lang: Lang, currency: str | None = None) -> Campaigns | None:
    """Incremental retained value of the period's campaigns per manager, with the total."""
    if "incremental_retained_value" not in managers.columns:
        return None
    rows = managers[managers["contacted"].fillna(0) > 0].sort_values(MANAGER_COLUMN)
    if rows.empty:
        return None
    total = rows["incremental_retained_value"].sum(min_count=1)
    line = tr("Incremental retained value, all managers: {total}", lang)
    shown = "n/a" if pd.isna(total) else format_money(total, currency)
    return Campaigns(report_table(rows, CAMPAIGN_COLUMNS, lang=lang), line.format(total=shown))


def _context(r: ReportInputs) -> dict[str, Any]:
    """Everything the template shows, translated and formatted; values stay unescaped (the
    template escapes them) except the report's own texts, which are trusted markup."""

    def text(key: str, **values: str) -> Markup:
        return Markup(tr(TEXT[key], r.lang)).format(**values)

    models = ", ".join(f"{k} {v}" for k, v in r.models.items())
    period = tr("for {period}", r.lang).format(period=r.period) if r.period else ""
    drivers = {"mean_abs_shap": "mean |SHAP|", "mean_shap": "mean SHAP"}
    return {
        "lang": r.lang,
        "t": lambda words: tr(words, r.lang),
        "title": text("title", asof=r.asof),
        "meta": text(
            "meta",
            asof=r.asof,
            customers=f"{r.total_customers:,}",
            models=models,
            generated=r.generated_at,
        ),
        "label": text("label", label=r.label_definition or tr("not recorded", r.lang)),
        "notes": (*_currency_note(r.currency, r.lang), *r.notes),
        "h_quality": text("h_quality"),
        "metrics_note": tr(METRICS_NOTE, r.lang),
        "quality": _quality(r),
        "h_at_risk": text("h_at_risk", top_n=str(len(r.at_risk))),
        "at_risk_note": text("at_risk_note"),
        "at_risk": report_table(r.at_risk, AT_RISK_COLUMNS, lang=r.lang),
        "h_drivers": text("h_drivers"),
        "drivers_note": text("drivers_note", explained=f"{r.explained:,}"),
        "drivers": report_table(r.importance, drivers, "feature", lang=r.lang),
        "driver_images": _figures(r.driver_images, r.lang),
        "h_kpi": text("h_kpi", period=period),
        "kpi": _kpi(r),
        "campaign_note": tr(CAMPAIGN_NOTE, r.lang),
        "indicator_note": tr(INDICATOR_NOTE, r.lang),
        "h_rfm": text("h_rfm"),
        "rfm_note": text("rfm_note"),
        "rfm": _rfm(r),
        "assessment": None if r.scorecard is None else assessment(r.scorecard, r.plans, r.lang),
        "h_trends": text("h_trends"),
        "trends_note": text("trends_note"),
        "trends": None if r.trends is None else trend_section(r.trends, r.lang),
        "footer": text("footer"),
    }


def render_report(r: ReportInputs) -> str:
    """The whole HTML document, in the report's language."""
    return ENV.get_template("report.html").render(_context(r))


def write_report(r: ReportInputs, path: str | Path) -> Path:
    """Write the report as UTF-8 HTML (parent folders created); returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(r), encoding="utf-8")
    return out
