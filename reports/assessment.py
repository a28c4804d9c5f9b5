"""The report's parts for document 000's assessment rules (issue 34): who is on probation, who
owes an improvement plan and its status, where the satisfaction bonus came from, and each
manager's trends over the last 12 months as inline SVG line charts (``kpi.trends.line_chart``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from core.lang import Lang
from kpi.trends import Chart, Trends, line_chart
from reports.i18n import tr

MANAGER = "account_manager_id"
TREND_SHOWN = ("score", "churn_rate", "repeat_purchase_rate", "complaint_rate")
"""The measures the report's trend table draws (the workspace's manager page draws them all)."""
TREND_TITLES = {
    "score": "Score (100 points)",
    "churn_rate": "Churn rate",
    "repeat_purchase_rate": "Repeat-purchase rate",
    "complaint_rate": "Complaint rate",
}
PLAN_STATUS = {"open": "open", "overdue": "overdue", "submitted": "submitted"}
SOURCE = {"survey": "satisfaction survey", "complaint ratings": "complaint ratings"}


@dataclass(frozen=True)
class AssessmentRow:
    manager: str
    team: str
    score: str
    rank: str
    probation: str
    plan: str
    due: str
    status: str
    source: str


@dataclass(frozen=True)
class Assessment:
    """Document 000's rules for the month: one row per manager."""

    rows: tuple[AssessmentRow, ...]
    note: str


@dataclass(frozen=True)
class TrendRow:
    manager: str
    charts: tuple[Chart, ...]
    latest: tuple[str, ...]


@dataclass(frozen=True)
class TrendSection:
    """Each manager's trend charts, the measures' titles, and which months had no scorecards."""

    titles: tuple[str, ...]
    rows: tuple[TrendRow, ...]
    gaps: str


def _text(x: object, fmt: str) -> str:
    return "" if x is None or pd.isna(x) else format(float(x), fmt)  # type: ignore[arg-type]


def assessment(card: pd.DataFrame, plans: pd.DataFrame | None, lang: Lang) -> Assessment:
    """The managers of a month's scorecards with their probation, plan and bonus source."""
    managers = card[card["level"] == "manager"].sort_values(["rank", MANAGER], na_position="last")
    by = plans.set_index(MANAGER) if plans is not None and len(plans) else pd.DataFrame()
    yes, no = tr("yes", lang), tr("no", lang)
    rows = []
    for r in managers.to_dict("records"):
        mid = str(r[MANAGER])
        plan = by.loc[mid] if mid in by.index else None
        rows.append(
            AssessmentRow(
                manager=mid,
                team="" if pd.isna(r.get("team")) else str(r["team"]),
                score=_text(r.get("score"), ".2f"),
                rank=_text(r.get("rank"), ".0f"),
                probation=yes if bool(r.get("probation")) else no,
                plan=yes if bool(r.get("improvement_plan")) else no,
                due="" if plan is None else str(plan["due_on"]),
                status="" if plan is None else tr(PLAN_STATUS[str(plan["status"])], lang),
                source=tr(SOURCE.get(str(r.get("satisfaction_source")), ""), lang),
            )
        )
    note = tr(
        "Document 000: a manager hired less than the probation before the month is listed but "
        "neither ranked nor penalised; the bottom two of the ranking owe an improvement plan "
        "within a week of the scorecards (churn plans). The satisfaction bonus comes from the "
        "satisfaction survey when the data has one, from complaint ratings otherwise.",
        lang,
    )
    return Assessment(tuple(rows), note)


def trend_section(trends: Trends, lang: Lang) -> TrendSection | None:
    """One row of small charts per manager (None when no month had scorecards)."""
    frame = trends.frame[trends.frame["level"] == "manager"]
    if frame.empty:
        return None
    labels = list(trends.months)
    rows = []
    for mid in sorted(frame[MANAGER].astype("str").unique()):
        mine = trends.of(mid)
        charts, latest = [], []
        for m in TREND_SHOWN:
            values = mine[m].astype(float).tolist()
            charts.append(line_chart(values, labels, share=m != "score", width=170, height=60))
            known = [v for v in values if v == v]
            last = known[-1] if known else None
            latest.append(_text(last, ".1f") if m == "score" else _text(last, ".1%"))
        rows.append(TrendRow(mid, tuple(charts), tuple(latest)))
    gaps = ""
    if trends.missing:
        gaps = tr("No scorecards for {months}.", lang).format(months=", ".join(trends.missing))
    return TrendSection(tuple(tr(TREND_TITLES[m], lang) for m in TREND_SHOWN), tuple(rows), gaps)
