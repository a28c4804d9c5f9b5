"""Churn and value labels over the horizon ``[T, T + H)`` (business rule 1; ``LabelConfig``).

``churned``: contractual customers churn when ``cancelled_at`` falls in the horizon; the others
churn when they have no purchase in it (a refund is not one). ``future_value``: revenue in the
horizon net of refunds, floored at 0 (the value model predicts revenue, which is never negative). With
``churn_definition: auto`` a customer is contractual when their ``contract_end_date`` or
``cancelled_at`` is filled. Rows whose horizon runs past the data's as-of date get NaN labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.notes import note, note_text
from features.config import LabelConfig
from features.pipeline.aggregate import WindowAgg
from features.pipeline.cutoffs import FeatureError
from features.pipeline.population import CustomerArrays
from features.pipeline.rfm import PURCHASE_T

LABEL_COLUMNS = ("churned", "future_value")
_COUNT = "_label_txn_count"
_REVENUE = "_label_revenue"


@dataclass(frozen=True)
class ChurnBasis:
    """Which churn rule applies to each customer (arrays aligned with the customers table)."""

    configured: str
    used: str  # contractual, non_contractual or mixed
    label_contractual: np.ndarray  # labelled by cancellation
    exempt_from_activity: np.ndarray  # known contract holders at T: active until they cancel
    notes: tuple[str, ...] = ()


def churn_basis(customers: CustomerArrays, cfg: LabelConfig) -> ChurnBasis:
    """Resolve ``churn_definition`` per customer.

    The population uses only the point-in-time part (a contract on file); the label may also use
    a cancellation that happens later, since labels are about the future by design.
    """
    n = len(customers.signup)
    notes: list[str] = []
    if cfg.churn_definition == "contractual":
        if not customers.has_cancellation_column:
            raise FeatureError(
                "churn_definition is 'contractual' but customers has no cancelled_at column; "
                "use 'non_contractual' or 'auto', or add cancellation dates"
            )
        label = exempt = np.ones(n, dtype=bool)
    elif cfg.churn_definition == "non_contractual":
        label = exempt = np.zeros(n, dtype=bool)
    else:
        exempt = customers.has_contract
        label = exempt | ~np.isnan(customers.cancelled)
        if not label.any():
            notes.append(note_text(note("labels_all_non_contractual")))
    used = "contractual" if label.all() else "non_contractual" if not label.any() else "mixed"
    return ChurnBasis(cfg.churn_definition, used, label, exempt, tuple(notes))


def label_specs(horizon_days: int) -> list[WindowAgg]:
    """Purchases and net revenue in ``[T, T + H)``: forward-looking aggregates, labels only."""
    return [
        WindowAgg(
            _COUNT, "count", value=PURCHASE_T, window_days=horizon_days, offset_days=-horizon_days
        ),
        WindowAgg(
            _REVENUE, "sum", value="amount", window_days=horizon_days, offset_days=-horizon_days
        ),
    ]


def compute_labels(
    customers: CustomerArrays,
    basis: ChurnBasis,
    forward: dict[str, np.ndarray],
    cutoff_days: float,
    horizon_days: int,
    labelled: bool,
) -> dict[str, np.ndarray]:
    """``churned`` (0/1) and ``future_value`` per customer; all NaN when not ``labelled``."""
    n = len(customers.signup)
    if not labelled:
        return {"churned": np.full(n, np.nan), "future_value": np.full(n, np.nan)}
    end = cutoff_days + horizon_days
    cancelled = (customers.cancelled >= cutoff_days) & (customers.cancelled < end)
    inactive = forward[_COUNT] == 0
    churned = np.where(basis.label_contractual, cancelled, inactive).astype(np.float64)
    # refunds exceeding purchases in the horizon give 0: a value to predict and weigh risk by
    value = np.maximum(forward[_REVENUE].astype(np.float64), 0.0)
    return {"churned": churned, "future_value": value}


def label_definition(basis: ChurnBasis, cfg: LabelConfig) -> dict:
    """The label definition recorded with every output (and later in model metadata)."""
    h = cfg.horizon_days
    rules = {
        "contractual": f"churned = cancelled_at in [T, T+{h}d)",
        "non_contractual": f"churned = no purchase in [T, T+{h}d)",
        "mixed": (
            f"churned = cancelled_at in [T, T+{h}d) for customers with a contract "
            f"(contract_end_date or cancelled_at filled), no purchase in [T, T+{h}d) otherwise"
        ),
    }
    return {
        "churn_definition": basis.used,
        "configured": basis.configured,
        "horizon_days": h,
        "window": f"[T, T+{h}d)",
        "contractual_customers": int(basis.label_contractual.sum()),
        "non_contractual_customers": int((~basis.label_contractual).sum()),
        "text": (
            f"{rules[basis.used]} (refunds are not purchases); future_value = revenue net of "
            f"refunds in [T, T+{h}d), at least 0; features use events "
            "before T only; rows whose horizon ends after the data's as-of date are unlabelled"
        ),
    }
