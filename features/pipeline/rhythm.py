"""Purchase-rhythm features and point-in-time BG/NBD quantities from transactions before T.

Each customer's rhythm is read against their own history: how long they have been buying, their
longest gap so far and today's silence against it, their rate since the first purchase. The BG/NBD
model (:mod:`features.pipeline.btyd`) is fitted once per cutoff, on every customer who bought
before T, from the same window aggregates every engine computes (first and last purchase, number
of purchases), so its probability of being alive and its expected purchases over the label
horizon use nothing dated at or after T.
"""

from __future__ import annotations

import numpy as np

from features.config import FeatureConfig
from features.pipeline.aggregate import WindowAgg
from features.pipeline.btyd import (
    WEEK_DAYS,
    BtydError,
    expected_purchases,
    fit_bgnbd_quick,
    p_alive,
    p_no_purchase,
)
from features.pipeline.rfm import LAST_PURCHASE, PURCHASE_T, safe_ratio

FIRST_PURCHASE = "_first_t"
GAP_MAX = "_gap_max"
PURCHASES = "txn_count_total"
BGNBD_COLUMNS = ("bgnbd_p_alive", "bgnbd_expected_purchases", "bgnbd_p_no_purchase")


def rhythm_specs() -> list[WindowAgg]:
    """Window aggregates the rhythm features add to the RFM ones (which hold the last purchase
    and the purchase count)."""
    return [
        WindowAgg(FIRST_PURCHASE, "min", value=PURCHASE_T),
        WindowAgg(GAP_MAX, "max", value="gap"),
    ]


def _fit_sample(bought: np.ndarray, most: int) -> np.ndarray:
    """Positions of the buyers the BG/NBD fit reads: all, or an evenly spaced ``most`` of them
    (its four parameters need no more, and the fit's time grows with customers)."""
    rows = np.flatnonzero(bought)
    if len(rows) <= most:
        return rows
    return rows[np.linspace(0, len(rows) - 1, most).round().astype(np.int64)]


def bgnbd_features(
    aggs: dict[str, np.ndarray], cutoff_days: float, cfg: FeatureConfig
) -> dict[str, np.ndarray]:
    """P(alive), expected purchases and P(no purchase) over the label horizon, for every customer
    of ``aggs``, from a BG/NBD fitted at the cutoff (time in weeks, a purchase per transaction).

    NaN for customers who never bought, and for everyone when the book is too small to fit.
    """
    first, last, count = aggs[FIRST_PURCHASE], aggs[LAST_PURCHASE], aggs[PURCHASES]
    bought = count > 0
    x = np.where(bought, count - 1.0, 0.0)
    tx = np.where(bought, (last - first) / WEEK_DAYS, 0.0)
    t = np.where(bought, (cutoff_days - first) / WEEK_DAYS, 0.0)
    nan = np.full(len(x), np.nan)
    fit = _fit_sample(bought, cfg.bgnbd.max_fit_customers)
    try:
        params = fit_bgnbd_quick(x[fit], tx[fit], t[fit])
    except BtydError:
        return dict.fromkeys(BGNBD_COLUMNS, nan)
    weeks = cfg.labels.horizon_days / WEEK_DAYS
    with np.errstate(all="ignore"):
        values = (
            p_alive(params, x, tx, t),
            expected_purchases(params, weeks, x, tx, t),
            p_no_purchase(params, weeks, x, tx, t),
        )
    return {
        name: np.where(bought, v, np.nan) for name, v in zip(BGNBD_COLUMNS, values, strict=True)
    }


def rhythm_features(
    aggs: dict[str, np.ndarray], cutoff_days: float, cfg: FeatureConfig
) -> dict[str, np.ndarray]:
    """Per-customer rhythm features (aligned on the customers of ``aggs``) without BG/NBD."""
    since_first = cutoff_days - aggs[FIRST_PURCHASE]
    recency = cutoff_days - aggs[LAST_PURCHASE]
    return {
        "buyer_age_days": since_first,
        "gap_max_days": aggs[GAP_MAX],
        "silence_vs_max_gap": safe_ratio(recency, aggs[GAP_MAX]),
        "purchases_per_30d": safe_ratio(30.0 * aggs[PURCHASES], np.fmax(since_first, 1.0)),
    }
