"""Whom to call first: the expected benefit of a retention contact, the at-risk list's order, and
the one line that says why a customer is on the list.

Benefit uses :func:`core.economics.saved_value`, the one pricing rule of the campaign: with an
uplift model, a contact keeps ``uplift`` of the value if retained (``uplift x V - cost``); without
one, it keeps the configured success rate of the value at risk (``P x V x s - cost``). Costs and
success rates come by segment and plan (:class:`core.economics.SegmentedEconomics`).

``V`` here is what the customer brings over the horizon if kept (:func:`horizon_value`): their
recent run rate, a contract's payment spread over the term it pays for. The value model's
``value_if_retained`` counts an annual renewal falling inside the horizon as the whole year's
payment, so ordering by it put quiet annual contracts (a year's money, a small chance that a call
changes anything) above the customers a call keeps; a call made today keeps a customer for the
horizon, not for the year their next payment buys. Where the features lack the revenue columns,
``V`` is the value model's.
"""

from __future__ import annotations

from datetime import date
from functools import cache

import numpy as np
import pandas as pd

from core.economics import SegmentedEconomics, saved_value
from core.lang import Lang, catalogue, show_date

MONTH_DAYS = 30.4


def horizon_value(features: pd.DataFrame, horizon_days: int) -> np.ndarray:
    """Per row of ``features``, the value the customer brings over ``horizon_days`` at their
    recent run rate: revenue of the longest window (``revenue_{w}d``) over the days it covers,
    which are the customer's tenure within the window (at least a month) or, for a contract, at
    least the term its payment buys (``contract_term_months``); NaN without revenue columns."""
    windows = sorted(
        (int(c[len("revenue_") : -1]), c)
        for c in features.columns
        if c.startswith("revenue_") and c.endswith("d") and c[len("revenue_") : -1].isdigit()
    )
    n = len(features)
    if not windows:
        return np.full(n, np.nan)
    days, column = windows[-1]
    revenue = pd.to_numeric(features[column], errors="coerce").fillna(0.0).to_numpy(float)
    tenure = _column(features, "tenure_days", float(days))
    term = _column(features, "contract_term_months", 0.0) * MONTH_DAYS
    covered = np.maximum(np.minimum(tenure, days), np.maximum(term, MONTH_DAYS))
    return np.clip(revenue, 0.0, None) / covered * horizon_days


def _column(frame: pd.DataFrame, name: str, default: float) -> np.ndarray:
    if name not in frame:
        return np.full(len(frame), default)
    return pd.to_numeric(frame[name], errors="coerce").fillna(default).to_numpy(float)


def contact_benefit(
    rows: pd.DataFrame,
    economics: SegmentedEconomics | None = None,
    uplift: pd.Series | None = None,
    value: np.ndarray | None = None,
) -> np.ndarray:
    """Per row of ``rows`` (``customer_id``, ``segment``, ``plan``, ``churn_probability``,
    ``predicted_value``), the expected value a contact saves net of its cost. ``uplift`` holds
    each customer's estimated effect of a contact by ``customer_id``; a customer it lacks is
    priced with the success rate. ``value`` is each row's value over the horizon
    (:func:`horizon_value`); where it is missing, ``predicted_value``."""
    econ = economics or SegmentedEconomics()
    segment = rows.get("segment")
    plan = rows.get("plan")
    cost = econ.cost_per_contact.resolve(segment, plan)
    rate = econ.success_rate.resolve(segment, plan)
    p = rows["churn_probability"].to_numpy(dtype=float)
    v = rows["predicted_value"].to_numpy(dtype=float)
    if value is not None:
        v = np.where(np.isnan(value), v, value)
    flat = saved_value(p * v, rate, cost)
    if uplift is None:
        return flat
    effect = rows["customer_id"].astype(str).map(uplift).to_numpy(dtype=float)
    return np.where(np.isnan(effect), flat, saved_value(v, np.nan_to_num(effect), cost))


WHY = ("renewal", "probability", "complaints", "silent", "lift", "lift_value")
"""The parts of a row's one-line "why" (``why_*`` in the catalogue's ``lists`` area)."""
WHY_COLUMNS = (
    "contract_end_date",
    "predicted_value",
    "churn_probability",
    "open_complaints",
    "days_since_last_purchase",
    "benefit",
    "benefit_value",
)
"""The store's columns a row's "why" reads (:func:`why_lines`)."""

SILENT_DAYS = 60
"""Days without a purchase from which the line mentions the silence."""


def _days_between(end: str, asof: str) -> float:
    """Whole days from ``asof`` to ``end``: ISO dates read directly, anything else through
    pandas."""
    try:
        return (date.fromisoformat(end[:10]) - date.fromisoformat(asof[:10])).days
    except ValueError:
        return (pd.Timestamp(end) - pd.Timestamp(asof)).days


def why_lines(
    rows: pd.DataFrame, horizon_days: int, lang: Lang = "en", money: str = "{:,.0f}"
) -> list[str]:
    """Per row, one line on why a customer is on the at-risk list: a renewal due within the
    horizon (and its amount), else P(churn) with the open complaints and a long silence; then the
    benefit and the value over the horizon it was priced on. ``rows`` hold the store's columns
    and ``asof``; ``money`` formats amounts (a currency sign, for one).

    Column by column: each part is tested for every row at once and worded only where it is said
    (a list asks for tens of thousands of lines)."""
    n = len(rows)
    words = _why_words(lang)

    def number(name: str) -> np.ndarray:
        if name not in rows:
            return np.full(n, np.nan)
        return pd.to_numeric(rows[name], errors="coerce").to_numpy(dtype=np.float64)

    parts: list[list[str]] = [[] for _ in range(n)]
    value = number("predicted_value")
    if "contract_end_date" in rows:
        ends, asofs = rows["contract_end_date"].to_numpy(object), rows["asof"].to_numpy(object)
        for i in np.flatnonzero(pd.notna(ends) & ~np.isnan(value)):
            end = ends[i]
            if end and 0 <= _days_between(str(end), str(asofs[i])) <= horizon_days:
                day = show_date(str(end), lang)
                parts[i].append(words["renewal"].format(amount=money.format(value[i]), date=day))
    p = number("churn_probability")
    for i in np.flatnonzero(~np.isnan(p)):
        parts[i].append(words["probability"].format(pct=f"{p[i]:.0%}"))
    complaints = number("open_complaints")
    for i in np.flatnonzero(complaints > 0):
        c = complaints[i]
        parts[i].append(words["complaints"].format(n=int(c), s="" if c == 1 else "s"))
    silent = number("days_since_last_purchase")
    for i in np.flatnonzero(silent >= SILENT_DAYS):
        parts[i].append(words["silent"].format(days=int(silent[i])))
    benefit, priced = number("benefit"), number("benefit_value")
    for i in np.flatnonzero(benefit > 0):
        amount = money.format(benefit[i])
        parts[i].append(
            words["lift"].format(amount=amount)
            if np.isnan(priced[i])
            else words["lift_value"].format(
                amount=amount, value=money.format(priced[i]), days=horizon_days
            )
        )
    return [words["separator"].join(said) for said in parts]


@cache
def _why_words(lang: Lang) -> dict[str, str]:
    """The catalogue's ``why_*`` phrases in ``lang`` (read once: the list asks for every row)."""
    return {k: catalogue("lists").t(f"why_{k}", lang) for k in (*WHY, "separator")}
