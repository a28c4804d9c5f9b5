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

import math
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
WHY_COLUMNS = (
    "contract_end_date",
    "predicted_value",
    "churn_probability",
    "open_complaints",
    "days_since_last_purchase",
    "benefit",
    "benefit_value",
)
"""The store's columns a row's "why" reads (:func:`why_listed`)."""
"""The parts of a row's one-line "why" (``why_*`` in the catalogue's ``lists`` area)."""

SILENT_DAYS = 60
"""Days without a purchase from which the line mentions the silence."""


def _number(value: object) -> float:
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return x


def _days_between(end: str, asof: str) -> float:
    """Whole days from ``asof`` to ``end``: ISO dates read directly (a list asks for every
    row), anything else through pandas."""
    try:
        return (date.fromisoformat(end[:10]) - date.fromisoformat(asof[:10])).days
    except ValueError:
        return (pd.Timestamp(end) - pd.Timestamp(asof)).days


def why_listed(
    row: dict[str, object],
    asof: str,
    horizon_days: int,
    lang: Lang = "en",
    money: str = "{:,.0f}",
) -> str:
    """One line on why a customer is on the at-risk list: a renewal due within the horizon (and
    its amount), else P(churn) with the open complaints and a long silence; then the benefit and
    the value over the horizon it was priced on. ``row`` holds the store's columns; ``money``
    formats amounts (a currency sign, for one)."""
    words = _why_words(lang)
    parts: list[str] = []
    end = row.get("contract_end_date")
    value = _number(row.get("predicted_value"))
    if end and not pd.isna(end):  # NaT is truthy
        days = _days_between(str(end), asof)
        if 0 <= days <= horizon_days and not math.isnan(value):
            day = show_date(str(end), lang)
            parts.append(words["renewal"].format(amount=money.format(value), date=day))
    p = _number(row.get("churn_probability"))
    if not math.isnan(p):
        parts.append(words["probability"].format(pct=f"{p:.0%}"))
    n = _number(row.get("open_complaints"))
    if not math.isnan(n) and n > 0:
        parts.append(words["complaints"].format(n=int(n), s="" if n == 1 else "s"))
    silent = _number(row.get("days_since_last_purchase"))
    if not math.isnan(silent) and silent >= SILENT_DAYS:
        parts.append(words["silent"].format(days=int(silent)))
    benefit = _number(row.get("benefit"))
    if not math.isnan(benefit) and benefit > 0:
        priced = _number(row.get("benefit_value"))
        amount = money.format(benefit)
        parts.append(
            words["lift"].format(amount=amount)
            if math.isnan(priced)
            else words["lift_value"].format(
                amount=amount, value=money.format(priced), days=horizon_days
            )
        )
    return words["separator"].join(parts)


@cache
def _why_words(lang: Lang) -> dict[str, str]:
    """The catalogue's ``why_*`` phrases in ``lang`` (read once: the list asks for every row)."""
    return {k: catalogue("lists").t(f"why_{k}", lang) for k in (*WHY, "separator")}
