"""Capacity-aware retention campaign: with each manager able to contact K customers, contact those
with the largest expected saved value p x V x s - c (only where it is positive), not simply the
highest churn probability. Vectorised: one sort and a per-manager running count.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.economics import CampaignEconomics, saved_value
from features.dataset import Dataset
from kpi.config import KpiError, OutcomeConfig
from kpi.portfolio import MANAGER, active_portfolio, prepare_predictions

REQUIRED = ("customer_id", MANAGER, "churn_probability", "predicted_value")


def _check(candidates: pd.DataFrame, capacity: int, cost: float, success_rate: float) -> None:
    missing = [c for c in REQUIRED if c not in candidates.columns]
    if missing:
        raise KpiError(f"campaign candidates lack column(s) {', '.join(missing)}")
    if capacity < 0:
        raise KpiError(f"capacity per manager must be 0 or more, got {capacity}")
    if not np.isfinite(cost) or cost < 0:
        raise KpiError(f"cost per contact must be a number >= 0, got {cost}")
    if not 0 <= success_rate <= 1:
        raise KpiError(f"success rate must be between 0 and 1, got {success_rate}")


def expected_saved_value(
    candidates: pd.DataFrame, cost: float, success_rate: float
) -> pd.DataFrame:
    """Candidates with ``value_at_risk`` = p x V and ``expected_saved_value`` = p x V x s - c."""
    out = candidates.copy()
    out["value_at_risk"] = out["churn_probability"] * out["predicted_value"]
    economics = CampaignEconomics(cost_per_contact=cost, success_rate=success_rate)
    out["expected_saved_value"] = saved_value(out["value_at_risk"].to_numpy(), economics)
    return out


def _first_per_manager(ranked: pd.DataFrame, capacity: int) -> pd.DataFrame:
    ranked = ranked.assign(priority=ranked.groupby(MANAGER, sort=False).cumcount() + 1)
    chosen = ranked[ranked["priority"] <= capacity].sort_values([MANAGER, "priority"])
    lead = [MANAGER, "priority", "customer_id", "churn_probability", "predicted_value"]
    rest = ["value_at_risk", "expected_saved_value"]
    extra = [c for c in chosen.columns if c not in (*lead, *rest)]
    return chosen[[*lead, *rest, *extra]].reset_index(drop=True)


def select_campaign(
    candidates: pd.DataFrame, capacity_per_manager: int, cost: float, success_rate: float
) -> pd.DataFrame:
    """Per manager, up to ``capacity_per_manager`` customers with the largest positive expected
    saved value, in priority order; extra columns (e.g. ``reasons``) are carried along.
    Taking the K largest positive terms maximises the sum of p x V x s - c under the capacity."""
    _check(candidates, capacity_per_manager, cost, success_rate)
    scored = expected_saved_value(candidates, cost, success_rate)
    scored = scored[scored["expected_saved_value"] > 0]
    ranked = scored.sort_values(
        [MANAGER, "expected_saved_value", "customer_id"], ascending=[True, False, True]
    )
    return _first_per_manager(ranked, capacity_per_manager)


def select_by_probability(
    candidates: pd.DataFrame, capacity_per_manager: int, cost: float, success_rate: float
) -> pd.DataFrame:
    """The naive baseline: per manager, the ``capacity_per_manager`` highest churn probabilities."""
    _check(candidates, capacity_per_manager, cost, success_rate)
    scored = expected_saved_value(candidates, cost, success_rate)
    ranked = scored.sort_values(
        [MANAGER, "churn_probability", "customer_id"], ascending=[True, False, True]
    )
    return _first_per_manager(ranked, capacity_per_manager)


def campaign_candidates(
    ds: Dataset, predictions: pd.DataFrame, as_of: pd.Timestamp, cfg: OutcomeConfig
) -> pd.DataFrame:
    """Customers active at ``as_of`` with their manager and their prediction (and ``reasons``
    when the predictions carry them); customers without a prediction are left out."""
    book = active_portfolio(ds, as_of, cfg)
    if book.empty:
        raise KpiError(f"no assigned customer is active at {as_of:%Y-%m-%d}; nothing to contact")
    if "lifecycle_status" in predictions:  # lapsed customers belong to the win-back list
        predictions = predictions[predictions["lifecycle_status"].fillna("active") != "lapsed"]
    preds = prepare_predictions(predictions, as_of=as_of)
    joined = book[["customer_id", MANAGER]].join(preds, on="customer_id", how="inner")
    if joined.empty:
        raise KpiError(
            f"the predictions cover none of the {len(book)} customers active at {as_of:%Y-%m-%d}"
        )
    return joined.reset_index(drop=True)
