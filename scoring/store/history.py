"""Reads across the store's past scorings, for KPI inputs and monitoring: which dates were
scored with which data folder and horizon, the predictions made at given dates, and the API's
prediction log up to a date.

Unlike :class:`PredictionStore`'s own reads, database errors pass through as SQLAlchemy's
(``kpi.inputs`` turns them into a KPI error naming the store, monitoring reports them).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import sqlalchemy as sa

from scoring.store.predictions import PredictionStore
from scoring.store.schema import API_PREDICTIONS, PREDICTIONS, RUNS


def run_sources(store: PredictionStore, dates: Sequence[str]) -> dict[str, str]:
    """As-of dates among ``dates`` that the store holds, with the data folder each read."""
    query = sa.select(RUNS.c.asof, RUNS.c.source).where(RUNS.c.asof.in_(list(dates)))
    with store.engine.connect() as conn:
        return {row.asof: row.source for row in conn.execute(query)}


def latest_source(store: PredictionStore) -> str | None:
    """The data folder the latest scoring read (None: nothing scored)."""
    query = sa.select(RUNS.c.source).order_by(RUNS.c.asof.desc()).limit(1)
    with store.engine.connect() as conn:
        return conn.execute(query).scalar_one_or_none()


def run_horizons(store: PredictionStore) -> list[tuple[str, object, str]]:
    """(as-of date, horizon days as stored, churn model version) of every scoring, oldest first."""
    query = sa.select(RUNS.c.asof, RUNS.c.horizon_days, RUNS.c.churn_model_version).order_by(
        RUNS.c.asof
    )
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    return [(str(a), h, str(v)) for a, h, v in rows]


def predictions_at(store: PredictionStore, dates: Sequence[str]) -> pd.DataFrame:
    """``customer_id, asof, churn_probability, predicted_value`` of the scorings of ``dates``."""
    p = PREDICTIONS.c
    query = sa.select(p.customer_id, p.asof, p.churn_probability, p.predicted_value).where(
        p.asof.in_(list(dates))
    )
    with store.engine.connect() as conn:
        return pd.read_sql(query, conn)


def churn_probabilities(store: PredictionStore, asof: str) -> pd.DataFrame:
    """``customer_id, account_manager_id, churn_probability`` of the scoring of ``asof``."""
    p = PREDICTIONS.c
    query = sa.select(p.customer_id, p.account_manager_id, p.churn_probability).where(
        p.asof == asof
    )
    with store.engine.connect() as conn:
        return pd.read_sql(query, conn)


def api_log_until(store: PredictionStore, last: str) -> pd.DataFrame:
    """The API's logged answers about known customers with an as-of date up to ``last``, in the
    order they were logged: ``asof, churn_model_version, customer_id, account_manager_id,
    churn_probability``."""
    a = API_PREDICTIONS.c
    query = (
        sa.select(
            a.asof, a.churn_model_version, a.customer_id, a.account_manager_id, a.churn_probability
        )
        .where(a.asof <= last, a.customer_id.is_not(None))
        .order_by(a.id)
    )
    with store.engine.connect() as conn:
        return pd.read_sql(query, conn)
