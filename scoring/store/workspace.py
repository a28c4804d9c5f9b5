"""Read-only queries the workspace pages need beyond :class:`PredictionStore`'s own: a list page
with band filter and other sort orders, the filter choices, and a customer's score history.

Rows come out as the store's ``at_risk`` gives them (``rank`` and ``asof`` first), so
:func:`scoring.lists.present` turns them into the lists' columns. The default orders (at risk:
expected benefit of a contact, then value at risk; win-back: value at risk; customer id last) and
the filters' meaning are those of ``GET /at_risk``: the first page of the workspace shows the
API's customers in the API's order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd
import sqlalchemy as sa

from scoring.store.errors import StoreError
from scoring.store.predictions import (
    KEY_COLUMNS,
    LIST_COLUMNS,
    PREDICTION_COLUMNS,
    PredictionStore,
    ScoringRun,
)
from scoring.store.schema import PREDICTIONS, RUNS

SortKey = Literal["benefit", "value_at_risk", "probability", "value", "days", "customer"]
SORT_COLUMNS: dict[str, str] = {
    "benefit": "benefit",
    "value_at_risk": "expected_value_at_risk",
    "probability": "churn_probability",
    "value": "predicted_value",
    "days": "days_since_last_purchase",
    "customer": "customer_id",
}
HISTORY_COLUMNS = (
    "asof",
    "churn_probability",
    "predicted_value",
    "expected_value_at_risk",
    "risk_band",
    "lifecycle_status",
    "churn_model_version",
)


@dataclass(frozen=True)
class ListSelection:
    """What one list page shows: the list's lifecycles, filters, order and page."""

    lifecycle: tuple[str, ...]
    asof: str | None = None
    account_manager_id: str | None = None
    segment: str | None = None
    risk_band: str | None = None
    rfm_segment: str | None = None
    sort: SortKey = "value_at_risk"
    descending: bool = True
    limit: int | None = 100
    offset: int = 0
    exclude: frozenset[str] = frozenset()
    """Customers left out (those contacted within the days a lead asked to skip)."""


def _where(run: ScoringRun, sel: ListSelection) -> list:
    p = PREDICTIONS.c
    statuses = p.lifecycle_status.in_(sel.lifecycle)
    where = [
        p.asof == run.asof,
        # rows stored before lifecycles existed are listed with the at-risk rows (as the API does)
        sa.or_(statuses, p.lifecycle_status.is_(None)) if "active" in sel.lifecycle else statuses,
    ]
    if sel.account_manager_id is not None:
        where.append(p.account_manager_id == sel.account_manager_id)
    if sel.segment is not None:
        where.append(p.segment == sel.segment)
    if sel.risk_band is not None:
        where.append(p.risk_band == sel.risk_band)
    if sel.rfm_segment is not None:
        where.append(p.rfm_segment == sel.rfm_segment)
    if sel.exclude:
        where.append(p.customer_id.not_in(sorted(sel.exclude)))
    return where


def list_rows(store: PredictionStore, sel: ListSelection) -> tuple[ScoringRun, int, pd.DataFrame]:
    """The scoring run, the number of rows the filters select and the selected page."""
    run = store.run(sel.asof)
    p = PREDICTIONS.c
    where = _where(run, sel)
    column = p[SORT_COLUMNS[sel.sort]]
    first = column.desc() if sel.descending else column.asc()
    if sel.sort in ("days", "benefit"):
        first = first.nulls_last()
    order = [first] if sel.sort == "customer" else [first, p.customer_id]
    if sel.sort == "benefit":  # rows without a benefit (scored before it) by value at risk
        order.insert(
            1, p.expected_value_at_risk.desc() if sel.descending else p.expected_value_at_risk.asc()
        )
    select = (
        sa.select(*[p[c] for c in (*KEY_COLUMNS, *PREDICTION_COLUMNS, *LIST_COLUMNS)])
        .where(*where)
        .order_by(*order)
        .offset(sel.offset)
    )
    if sel.limit is not None:
        select = select.limit(sel.limit)
    count = sa.select(sa.func.count()).select_from(PREDICTIONS).where(*where)
    with store.reading() as conn:
        total = int(conn.execute(count).scalar_one())
        rows = pd.read_sql(select, conn)
    rows = rows.astype(object).where(rows.notna(), None)
    rows.insert(0, "rank", range(sel.offset + 1, sel.offset + 1 + len(rows)))
    rows.insert(1, "asof", run.asof)
    return run, total, rows


def choices(store: PredictionStore, asof: str) -> dict[str, list[str]]:
    """The managers, segments and risk bands scored at ``asof`` (the filters' choices)."""
    p = PREDICTIONS.c
    out: dict[str, list[str]] = {}
    with store.reading() as conn:
        for key, col in (
            ("manager", p.account_manager_id),
            ("segment", p.segment),
            ("band", p.risk_band),
        ):
            query = sa.select(col).where(p.asof == asof, col.is_not(None)).distinct()
            found: list[object] = list(conn.execute(query).scalars())
            out[key] = sorted(str(v) for v in found)
    return out


def scoring_dates(store: PredictionStore) -> list[str]:
    """Every scored as-of date, latest first."""
    with store.reading() as conn:
        return list(conn.execute(sa.select(RUNS.c.asof).order_by(RUNS.c.asof.desc())).scalars())


def customer_history(store: PredictionStore, customer_id: str, dates: list[str]) -> pd.DataFrame:
    """The customer's prediction rows at every date of ``dates`` (oldest first), with the list
    columns; empty when the customer was never scored. Looks up by the (asof, customer_id) key."""
    p = PREDICTIONS.c
    query = (
        sa.select(*[p[c] for c in (*KEY_COLUMNS, *PREDICTION_COLUMNS, *LIST_COLUMNS, "asof")])
        .where(p.asof.in_(dates), p.customer_id == customer_id)
        .order_by(p.asof)
    )
    with store.reading() as conn:
        rows = pd.read_sql(query, conn)
    return rows.astype(object).where(rows.notna(), None)


def features_row(store: PredictionStore, customer_id: str, asof: str) -> pd.DataFrame:
    """The stored feature row of one customer at ``asof`` (empty when that date or customer
    was not scored), read by :meth:`PredictionStore.features_for`."""
    try:
        return store.features_for([customer_id], asof)[1]
    except StoreError:  # no scoring at that date
        return pd.DataFrame()


def book_risk_rows(store: PredictionStore, asof: str, listed: tuple[str, ...]) -> pd.DataFrame:
    """Per account manager scored at ``asof``: customers scored, those on the list (lifecycle in
    ``listed``, or unknown as the API counts it), of them in the high band, their mean P(churn),
    value if retained and expected value at risk; one grouped query, one row per manager."""
    p = PREDICTIONS.c
    on = sa.or_(p.lifecycle_status.in_(listed), p.lifecycle_status.is_(None))
    query = (
        sa.select(
            p.account_manager_id,
            sa.func.count().label("customers"),
            sa.func.sum(sa.case((on, 1), else_=0)).label("at_risk"),
            sa.func.sum(sa.case((sa.and_(on, p.risk_band == "high"), 1), else_=0)).label("high"),
            sa.func.avg(sa.case((on, p.churn_probability))).label("mean_probability"),
            sa.func.sum(sa.case((on, p.predicted_value))).label("value"),
            sa.func.sum(sa.case((on, p.expected_value_at_risk))).label("value_at_risk"),
        )
        .where(p.asof == asof, p.account_manager_id.is_not(None))
        .group_by(p.account_manager_id)
    )
    with store.reading() as conn:
        return pd.read_sql(query, conn)


def run_stamps(store: PredictionStore, dates: list[str]) -> dict[str, tuple[object, str]]:
    """``scored_at`` and data folder of each scoring among ``dates`` the store holds."""
    query = sa.select(RUNS.c.asof, RUNS.c.scored_at, RUNS.c.source).where(RUNS.c.asof.in_(dates))
    with store.reading() as conn:
        return {r.asof: (r.scored_at, r.source) for r in conn.execute(query)}


def has_managers(store: PredictionStore, asof: str) -> bool:
    """Whether any customer scored at ``asof`` has an account manager (a plain purchase log
    has none: the workspace then hides the managers' views and columns)."""
    p = PREDICTIONS.c
    query = (
        sa.select(p.customer_id).where(p.asof == asof, p.account_manager_id.is_not(None)).limit(1)
    )
    with store.reading() as conn:
        return conn.execute(query).first() is not None
