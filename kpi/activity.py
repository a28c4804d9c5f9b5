"""Per-manager service and sales figures for one month: complaints, resolution time, satisfaction,
sales against quota, new customers, renewals and upsells. Events belong to the manager the customer
is assigned to; a missing optional table or column leaves its figures missing and says so in
``notes``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.dataset import Dataset
from kpi.config import CommissionConfig, ScorecardConfig
from kpi.portfolio import MANAGER, assigned_customers, manager_roster

_DAY = pd.Timedelta(days=1)


def _by_manager(ds: Dataset, events: pd.DataFrame) -> pd.DataFrame:
    owners = assigned_customers(ds).set_index("customer_id")[MANAGER]
    return events.assign(**{MANAGER: events["customer_id"].astype("str").map(owners)}).dropna(
        subset=[MANAGER]
    )


def _count(mask: pd.Series, keys: pd.Series, index: pd.Index) -> pd.Series:
    return mask.astype(float).groupby(keys).sum().reindex(index, fill_value=0.0)


SERVICE_COUNTS = (
    "_resolved",
    "_resolution_days",
    "_rated",
    "_satisfied",
    "_rated_q",
    "_satisfied_q",
)


def service_metrics(
    ds: Dataset,
    start: pd.Timestamp,
    end: pd.Timestamp,
    index: pd.Index,
    cfg: ScorecardConfig,
    survey_start: pd.Timestamp,
) -> pd.DataFrame:
    """Counts behind the service figures of ``[start, end)``: complaints opened; complaints
    resolved in the month and their total days to resolve; rated and satisfied complaints (CSAT)
    handled in the month and in ``[survey_start, end)``, the quarter so far for the bonus."""
    out = pd.DataFrame(index=index)
    complaints = ds.table("complaints")
    if complaints is None:
        out[["complaints", *SERVICE_COUNTS]] = np.nan
        out["notes"] = "no complaints table: complaint and satisfaction figures missing"
        return out
    frame = _by_manager(ds, complaints)
    keys = frame[MANAGER]
    opened = (frame["opened_at"] >= start) & (frame["opened_at"] < end)
    out["complaints"] = _count(opened, keys, index).astype(int)
    notes = []
    if "resolved_at" in frame.columns:
        handled_at = frame["resolved_at"]
        done = (handled_at >= start) & (handled_at < end)
        days = ((frame["resolved_at"] - frame["opened_at"]) / _DAY).where(done, 0.0)
        out["_resolved"] = _count(done, keys, index)
        out["_resolution_days"] = days.groupby(keys).sum().reindex(index, fill_value=0.0)
    else:
        handled_at = frame["opened_at"]
        out[["_resolved", "_resolution_days"]] = np.nan
        notes.append("no resolved_at column: resolution time missing")
    if "satisfaction" in frame.columns:
        rated = frame["satisfaction"].notna()
        happy = frame["satisfaction"] >= cfg.satisfied_min_score
        month = rated & (handled_at >= start) & (handled_at < end)
        quarter = rated & (handled_at >= survey_start) & (handled_at < end)
        out["_rated"], out["_satisfied"] = (
            _count(month, keys, index),
            _count(month & happy, keys, index),
        )
        out["_rated_q"] = _count(quarter, keys, index)
        out["_satisfied_q"] = _count(quarter & happy, keys, index)
    else:
        out[["_rated", "_satisfied", "_rated_q", "_satisfied_q"]] = np.nan
        notes.append("no satisfaction column: satisfaction missing")
    out["notes"] = "; ".join(notes)
    return out


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    return (num / den.where(den > 0)).astype(float)


def activity_ratios(frame: pd.DataFrame) -> pd.DataFrame:
    """Complaints per 100 portfolio customers, mean resolution days, CSAT of the month and of the
    quarter so far, sales against quota; from the count and sum columns (managers or teams)."""
    out = frame.copy()
    out["complaints_per_100"] = 100 * _ratio(out["complaints"], out["portfolio_start"])
    out["mean_resolution_days"] = _ratio(out["_resolution_days"], out["_resolved"])
    out["satisfaction"] = _ratio(out["_satisfied"], out["_rated"])
    out["quarter_satisfaction"] = _ratio(out["_satisfied_q"], out["_rated_q"])
    out["sales_vs_quota"] = _ratio(out["sales"], out["monthly_quota"])
    return out


def sales_metrics(
    ds: Dataset, start: pd.Timestamp, end: pd.Timestamp, cfg: CommissionConfig
) -> pd.DataFrame:
    """Sales in ``[start, end)`` (every transaction kind) and the monthly quota; new
    customers; renewals and upsells; ``retention_sales``: the commission's renewal and upsell
    kinds bought by customers who signed up before ``start``."""
    roster = manager_roster(ds)
    customers = assigned_customers(ds).set_index("customer_id")
    tx = _by_manager(ds, ds.table("transactions"))
    month = tx[(tx["ts"] >= start) & (tx["ts"] < end)]
    out = roster.copy()
    out["sales"] = month.groupby(MANAGER)["amount"].sum().reindex(roster.index, fill_value=0.0)
    signups = customers["signup_date"]
    new = customers[(signups >= start) & (signups < end)]
    out["new_customers"] = new.groupby(MANAGER).size().reindex(roster.index, fill_value=0)
    notes = (
        "" if ds.has("account_managers", "monthly_quota") else "no quotas: sales_vs_quota missing"
    )
    if "kind" in month.columns:
        amount_by = month.groupby([MANAGER, "kind"])["amount"].sum().unstack(fill_value=0.0)
        for kind, col in (("renewal", "renewals"), ("upsell", "upsells")):
            found = amount_by[kind] if kind in amount_by.columns else pd.Series(dtype=float)
            out[col] = found.reindex(roster.index, fill_value=0.0)
        existing = month["customer_id"].astype("str").map(signups) < start
        kept = month[month["kind"].isin(cfg.retention_kinds) & existing.to_numpy()]
        out["retention_sales"] = (
            kept.groupby(MANAGER)["amount"].sum().reindex(roster.index, fill_value=0.0)
        )
    else:
        out[["renewals", "upsells", "retention_sales"]] = np.nan
        notes = "; ".join(
            filter(None, [notes, "no transaction kind: retention commission missing"])
        )
    out["notes"] = notes
    return out
