"""What retention campaigns kept, measured against their control groups (the ``contacts`` table).

A campaign contacts some of the customers it picked and holds the others back at random, so the
control group's churn is what the contacted would have done without the contact. Per account
manager and campaign month: the contacted and control customers active at the month's start,
their churn over the outcome window from that day (the scorecard's rule), and the incremental
retained value ``(control churn rate - contacted churn rate) x value of the contacted``, each
customer's value being their revenue in the window's length before the month (what a stayer
keeps bringing). It is reported beside the 100-point score, never inside it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.dataset import Dataset
from kpi.config import OutcomeConfig
from kpi.periods import Period
from kpi.portfolio import MANAGER, active_portfolio, churned_between, outcome_window

RESULT_COLUMNS = (
    "contacted",
    "control",
    "churn_rate_contacted",
    "churn_rate_control",
    "contacted_value",
    "incremental_retained_value",
)


def _value_before(ds: Dataset, ids: pd.Series, start: pd.Timestamp, days: int) -> np.ndarray:
    tx = ds.tables["transactions"]
    window = (tx["ts"] >= start - pd.Timedelta(days=days)) & (tx["ts"] < start)
    revenue = tx.loc[window].groupby(tx.loc[window, "customer_id"].astype("str"))["amount"].sum()
    return revenue.reindex(ids.astype("str").to_numpy()).fillna(0.0).clip(lower=0).to_numpy()


def month_results(ds: Dataset, month: pd.Timestamp, cfg: OutcomeConfig) -> pd.DataFrame:
    """Per manager, the campaign rows of ``month`` judged over the outcome window from its first
    day; empty when the data has no contacts that month."""
    contacts = ds.tables.get("contacts")
    if contacts is None or contacts.empty:
        return pd.DataFrame(columns=[MANAGER, *RESULT_COLUMNS])
    end_month = month + pd.offsets.MonthBegin(1)
    rows = contacts[(contacts["ts"] >= month) & (contacts["ts"] < end_month)]
    rows = rows[rows["treated"].notna()].drop_duplicates("customer_id")
    if rows.empty:
        return pd.DataFrame(columns=[MANAGER, *RESULT_COLUMNS])
    end = outcome_window(ds, month, cfg)
    book = active_portfolio(ds, month, cfg)
    treated = rows.set_index(rows["customer_id"].astype("str"))["treated"]
    book = book[book["customer_id"].isin(treated.index)].reset_index(drop=True)
    days = (end - month).days
    frame = pd.DataFrame(
        {
            MANAGER: book[MANAGER].to_numpy(),
            "t": treated.reindex(book["customer_id"].to_numpy()).to_numpy(float) > 0,
            "churned": churned_between(ds, book, month, end),
            "value": _value_before(ds, book["customer_id"], month, days),
        }
    )
    return _summarise(frame)


def _summarise(frame: pd.DataFrame) -> pd.DataFrame:
    t, c = frame["t"], ~frame["t"]
    g = frame.assign(
        contacted=t.astype(int),
        control=c.astype(int),
        churn_t=frame["churned"] & t,
        churn_c=frame["churned"] & c,
        contacted_value=frame["value"].where(t, 0.0),
    ).groupby(MANAGER, observed=True)
    out = g[["contacted", "control", "churn_t", "churn_c", "contacted_value"]].sum()
    out["churn_rate_contacted"] = out["churn_t"] / out["contacted"].where(out["contacted"] > 0)
    out["churn_rate_control"] = out["churn_c"] / out["control"].where(out["control"] > 0)
    gap = out["churn_rate_control"] - out["churn_rate_contacted"]
    out["incremental_retained_value"] = gap * out["contacted_value"]
    return out.reset_index()[[MANAGER, *RESULT_COLUMNS]]


def period_results(ds: Dataset, period: Period, cfg: OutcomeConfig) -> pd.DataFrame:
    """Per manager, the campaigns of every month of ``period`` (counts and values added up; the
    churn rates are those of all the period's rows)."""
    parts = [month_results(ds, m, cfg) for m in period.months]
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=[MANAGER, *RESULT_COLUMNS])
    frame = pd.concat(parts, ignore_index=True)
    rates = frame[["churn_rate_contacted", "churn_rate_control"]].fillna(0.0)
    frame = frame.assign(
        churn_t=rates["churn_rate_contacted"] * frame["contacted"],
        churn_c=rates["churn_rate_control"] * frame["control"],
    )
    out = frame.groupby(MANAGER, observed=True)[
        [
            "contacted",
            "control",
            "churn_t",
            "churn_c",
            "contacted_value",
            "incremental_retained_value",
        ]
    ].sum(min_count=1)
    out["churn_rate_contacted"] = out["churn_t"] / out["contacted"].where(out["contacted"] > 0)
    out["churn_rate_control"] = out["churn_c"] / out["control"].where(out["control"] > 0)
    return out.reset_index()[[MANAGER, *RESULT_COLUMNS]]
