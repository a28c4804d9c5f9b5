"""Who is scored at a cutoff T: the customers active at T (configuration: ``PopulationConfig``).

A customer is active at T when they signed up before T, were not cancelled before T, and either
hold a contract (their activity does not matter) or bought something in the ``active_window_days``
before T or signed up within that window. Only information dated before T is used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.config import PopulationConfig
from features.dataset import Dataset
from features.pipeline.cutoffs import to_days
from features.pipeline.events import customer_index


@dataclass(frozen=True)
class CustomerArrays:
    """Customer-level dates as float days, aligned with the customers table's rows."""

    index: pd.Index  # customer_id by position
    signup: np.ndarray
    cancelled: np.ndarray  # NaN when never cancelled or the column is absent
    has_contract: np.ndarray  # bool: contract_end_date present (a static attribute)
    has_cancellation_column: bool


def prepare_customers(ds: Dataset) -> CustomerArrays:
    """Read the customers table once into the arrays the population and labels need."""
    customers = ds.tables["customers"]
    n = len(customers)
    cancelled = (
        to_days(customers["cancelled_at"], "customers.cancelled_at")
        if "cancelled_at" in customers
        else np.full(n, np.nan)
    )
    has_contract = (
        customers["contract_end_date"].notna().to_numpy()
        if "contract_end_date" in customers
        else np.zeros(n, dtype=bool)
    )
    return CustomerArrays(
        index=customer_index(customers),
        signup=to_days(customers["signup_date"], "customers.signup_date"),
        cancelled=cancelled,
        has_contract=has_contract,
        has_cancellation_column="cancelled_at" in customers,
    )


def active_mask(
    customers: CustomerArrays,
    exempt_from_activity: np.ndarray,
    last_purchase: np.ndarray,
    cutoff_days: float,
    cfg: PopulationConfig,
) -> np.ndarray:
    """Boolean mask of the customers active at the cutoff.

    ``last_purchase`` is each customer's last transaction before T in days (NaN if none);
    ``exempt_from_activity`` marks contractual customers, who stay active until they cancel.
    """
    signed_up = customers.signup < cutoff_days
    not_cancelled = ~(customers.cancelled < cutoff_days)  # NaN (never cancelled) stays active
    since = cutoff_days - cfg.active_window_days
    recent = (last_purchase >= since) | (customers.signup >= since)
    return signed_up & not_cancelled & (exempt_from_activity | recent)
