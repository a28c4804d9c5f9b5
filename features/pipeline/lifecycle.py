"""Lifecycle status of customers at a cutoff T: ``active``, ``lapsing`` or ``lapsed``.

Business rule 9 keeps two lists apart: active customers at risk (still savable) and lapsed
customers to win back. Only information dated before T is used.

- Contractual customers (a contract on file, not cancelled before T) are ``lapsing`` when the
  contract ends within ``renewal_window_days`` after T (or ended before T without a
  cancellation), else ``active``. A cancelled customer is not in the scored population.
- Pay-as-you-go customers are judged by the days since their last purchase (their signup when
  they never bought) against their own purchase rhythm, the mean gap between their purchases:
  ``lapsed`` beyond ``max(lapsed_gaps x gap, lapsed_min_days)``, ``lapsing`` beyond
  ``max(lapsing_gaps x gap, lapsing_min_days)``. A customer with one purchase has no rhythm yet,
  so only the day floors apply. Refunds are not purchases. A repeat buyer is also ``lapsed``
  when the BG/NBD model, fitted at T on the purchases of every pay-as-you-go customer, gives
  them a probability of still being a customer below ``lapsed_p_alive``: a long silence counts
  for more from a customer who used to buy often.

The defaults were chosen on generated data against its hidden truth; docs/lists.md gives the
figures.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from core.config import Frozen
from features.arrow import is_in
from features.config import FeatureConfig
from features.dataset import Dataset
from features.pipeline.btyd import BtydError, fit_bgnbd_quick, p_alive, rf_summary
from features.pipeline.labels import churn_basis
from features.pipeline.population import prepare_customers
from features.pipeline.rfm import is_refund

LIFECYCLE_COLUMNS = (
    "lifecycle_status",
    "last_purchase_date",
    "days_since_last_purchase",
    "contract_end_date",
)
STATUSES = ("active", "lapsing", "lapsed")


class LifecycleConfig(Frozen):
    """Thresholds of the lifecycle rules (see the module docstring)."""

    lapsing_gaps: float = Field(1.0, gt=0)
    lapsing_min_days: int = Field(30, ge=0)
    lapsed_gaps: float = Field(1.5, gt=0)
    lapsed_min_days: int = Field(45, ge=0)
    renewal_window_days: int = Field(90, ge=0)
    """A contract ending within this many days after T is up for renewal: ``lapsing``."""
    lapsed_p_alive: float = Field(0.5, ge=0, le=1)
    """A repeat buyer whose BG/NBD probability of being alive is below this is ``lapsed``; 0: off."""

    @model_validator(mode="after")
    def _ordered(self) -> LifecycleConfig:
        if self.lapsed_gaps < self.lapsing_gaps or self.lapsed_min_days < self.lapsing_min_days:
            raise ValueError("the lapsed thresholds must not be below the lapsing thresholds")
        return self


def _purchases(transactions: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Purchases strictly before the cutoff (refunds, negative amounts, excluded)."""
    keep = (transactions["ts"] < cutoff).to_numpy() & ~is_refund(transactions)
    out = transactions.loc[keep, ["customer_id", "ts", "amount"]]
    return out.assign(customer_id=out["customer_id"].astype(str))


def _p_alive(bought: pd.DataFrame, cutoff: pd.Timestamp, ids: pd.Index) -> np.ndarray:
    """BG/NBD probability that each customer of ``ids`` is still alive at the cutoff, fitted on
    ``bought``; NaN for customers without a repeat purchase and for every customer when the book
    is too small to fit."""
    summary = rf_summary(bought, cutoff)
    x, tx, t = (summary[c].to_numpy() for c in ("frequency", "recency", "T"))
    try:
        params = fit_bgnbd_quick(x, tx, t)
    except BtydError:
        return np.full(len(ids), np.nan)
    alive = pd.Series(np.where(x > 0, p_alive(params, x, tx, t), np.nan), index=summary.index)
    return alive.reindex(ids).to_numpy()


def lifecycle(
    customers: pd.DataFrame,
    transactions: pd.DataFrame,
    cutoff: pd.Timestamp,
    contractual: pd.Series,
    cfg: LifecycleConfig,
) -> pd.DataFrame:
    """The lifecycle columns of ``customers`` (indexed by customer_id) at ``cutoff``.

    ``contractual`` (bool, indexed by customer_id) says which customers are judged by their
    contract; the others by their purchases.
    """
    ids = pd.Index(customers["customer_id"].astype(str), name="customer_id")
    bought = _purchases(transactions, cutoff)
    by_customer = bought.groupby("customer_id")["ts"]
    last = by_customer.max().reindex(ids)
    first = by_customer.min().reindex(ids)
    count = by_customer.size().reindex(ids).fillna(0).to_numpy()
    signup = pd.to_datetime(customers["signup_date"]).set_axis(ids)
    seen = last.where(last.notna(), signup)
    since = ((cutoff - seen).dt.total_seconds() / 86400.0).to_numpy()
    span = ((last - first).dt.total_seconds() / 86400.0).to_numpy()
    gap = np.where(count > 1, span / np.maximum(count - 1, 1), np.nan)
    lapsing_after = np.fmax(cfg.lapsing_gaps * gap, cfg.lapsing_min_days)
    lapsed_after = np.fmax(cfg.lapsed_gaps * gap, cfg.lapsed_min_days)
    is_contractual = contractual.reindex(ids).fillna(False).to_numpy(dtype=bool)
    gone = since > lapsed_after
    if cfg.lapsed_p_alive > 0:
        payg = is_in(bought["customer_id"], ids[~is_contractual])
        gone |= _p_alive(bought.loc[payg], cutoff, ids) < cfg.lapsed_p_alive
    by_purchase = np.select([gone, since > lapsing_after], ["lapsed", "lapsing"], "active")
    end = (
        pd.to_datetime(customers["contract_end_date"]).set_axis(ids)
        if "contract_end_date" in customers
        else pd.Series(pd.NaT, index=ids, dtype="datetime64[us]")
    )
    days_to_end = ((end - cutoff).dt.total_seconds() / 86400.0).to_numpy()
    by_contract = np.where(days_to_end < cfg.renewal_window_days, "lapsing", "active")
    return pd.DataFrame(
        {
            "lifecycle_status": np.where(is_contractual, by_contract, by_purchase),
            "last_purchase_date": last.dt.normalize(),
            "days_since_last_purchase": np.round((cutoff - last).dt.total_seconds() / 86400.0),
            "contract_end_date": end.dt.normalize(),
        },
        index=ids,
    )


def lifecycle_at(
    ds: Dataset, cutoff: pd.Timestamp, features: FeatureConfig, cfg: LifecycleConfig
) -> pd.DataFrame:
    """:func:`lifecycle` of every customer of ``ds``, judging contracts as the labels do (the
    ``churn_definition`` of ``features``, with only the contracts on file at the cutoff)."""
    customers = ds.tables["customers"]
    basis = churn_basis(prepare_customers(ds), features.labels)
    contractual = pd.Series(
        basis.exempt_from_activity, index=customers["customer_id"].astype(str).to_numpy()
    )
    return lifecycle(customers, ds.tables["transactions"], cutoff, contractual, cfg)
