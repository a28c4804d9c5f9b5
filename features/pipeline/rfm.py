"""RFM features from transactions before T (business rule 2): recency, frequency and monetary value
per look-back window, purchase rhythm and trend, quintile scores and the weighted RFM score.

Refunds (a negative amount or ``kind: refund``) net into the revenue sums but are not purchases:
recency, counts and gaps read ``purchase_t``, the time of purchases only (NaN for refunds).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from features.config import FeatureConfig
from features.contract import REFUND
from features.dataset import Dataset
from features.pipeline.aggregate import WindowAgg
from features.pipeline.cutoffs import to_days
from features.pipeline.events import EventArrays, make_events, positions, previous_gap
from features.pipeline.population import CustomerArrays

LAST_PURCHASE = "_last_t"  # needed by the population as well
PURCHASE_T = "purchase_t"


def is_refund(tx: pd.DataFrame) -> np.ndarray:
    """Refund rows: a negative amount, or ``kind: refund`` where the column exists."""
    refund = tx["amount"].to_numpy(dtype=np.float64) < 0
    if "kind" in tx:
        refund |= (tx["kind"] == REFUND).fillna(False).to_numpy(dtype=bool)
    return refund


def prepare_transactions(ds: Dataset, customers: CustomerArrays) -> EventArrays:
    """Transactions as arrays: time ``t``, ``amount``, ``purchase_t`` (``t`` of purchases, NaN for
    refunds) and ``gap`` (days since the customer's previous purchase; NaN for refunds)."""
    tx = ds.tables["transactions"]
    cust = positions(customers.index, tx["customer_id"])
    t = to_days(tx["ts"], "transactions.ts")
    columns = {
        "t": t,
        "amount": tx["amount"].to_numpy(dtype=np.float64),
        PURCHASE_T: np.where(is_refund(tx), np.nan, t),
    }
    events = make_events("transactions", len(customers.index), cust, columns, "t", sort=True)
    purchase = ~np.isnan(events.columns[PURCHASE_T])
    gap = np.full(len(events), np.nan)
    gap[purchase] = previous_gap(events.customer[purchase], events.columns[PURCHASE_T][purchase])
    return replace(events, columns={**events.columns, "gap": gap, "gap_sq": gap * gap})


def trend_name(prefix: str, cfg: FeatureConfig) -> str:
    return f"{prefix}_trend_{cfg.trend_recent_days}_{cfg.trend_base_days}d"


def rfm_specs(cfg: FeatureConfig) -> list[WindowAgg]:
    """Window aggregates of transactions; names starting with ``_`` are intermediate.

    Counts and the last purchase read ``purchase_t`` (purchases only); sums read ``amount``
    (net of refunds).
    """
    a, b = cfg.trend_recent_days, cfg.trend_base_days
    p = PURCHASE_T
    specs = [WindowAgg(LAST_PURCHASE, "max", value=p)]
    specs += [
        WindowAgg(f"txn_count_{w}d", "count", value=p, window_days=w) for w in cfg.windows_days
    ]
    specs += [
        WindowAgg(f"revenue_{w}d", "sum", value="amount", window_days=w) for w in cfg.windows_days
    ]
    specs += [
        WindowAgg("txn_count_total", "count", value=p),
        WindowAgg("revenue_total", "sum", value="amount"),
        WindowAgg("_txn_recent", "count", value=p, window_days=a),
        WindowAgg("_txn_base", "count", value=p, window_days=b, offset_days=a),
        WindowAgg("_rev_recent", "sum", value="amount", window_days=a),
        WindowAgg("_rev_base", "sum", value="amount", window_days=b, offset_days=a),
        WindowAgg("_gap_sum", "sum", value="gap"),
        WindowAgg("_gap_sq", "sum", value="gap_sq"),
        WindowAgg("_gap_n", "count", value="gap"),
    ]
    return specs


def safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, NaN where the denominator is zero or missing."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def baseline_ratio(
    recent: np.ndarray, window: int, base: np.ndarray, base_window: int
) -> np.ndarray:
    """Rate per day in the last ``window`` days over the customer's own rate over the longest
    window (``base_window`` days): 1 is as usual, towards 0 is fading out; NaN with no baseline."""
    return safe_ratio(recent / window, base / base_window)


def rate_trend(recent: np.ndarray, base: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """Rate per day in the recent period over the rate in the base period before it."""
    return safe_ratio(recent / cfg.trend_recent_days, base / cfg.trend_base_days)


def rfm_features(
    aggs: dict[str, np.ndarray], cutoff_days: float, signup: np.ndarray, cfg: FeatureConfig
) -> dict[str, np.ndarray]:
    """Per-customer RFM features except the population-relative scores (see :func:`rfm_scores`).

    ``aggs`` and ``signup`` (days) are aligned on the same customers.
    """
    recency = cutoff_days - aggs[LAST_PURCHASE]
    gap_mean = safe_ratio(aggs["_gap_sum"], aggs["_gap_n"])
    gap_var = safe_ratio(aggs["_gap_sq"], aggs["_gap_n"]) - gap_mean**2
    top = cfg.windows_days[-1]
    out = {"recency_days": recency, "tenure_days": cutoff_days - signup}
    out.update({f"txn_count_{w}d": aggs[f"txn_count_{w}d"] for w in cfg.windows_days})
    out.update({f"revenue_{w}d": aggs[f"revenue_{w}d"] for w in cfg.windows_days})
    out.update(
        {
            "txn_count_total": aggs["txn_count_total"],
            "revenue_total": aggs["revenue_total"],
            "avg_order_value": safe_ratio(aggs["revenue_total"], aggs["txn_count_total"]),
            trend_name("txn", cfg): rate_trend(aggs["_txn_recent"], aggs["_txn_base"], cfg),
            trend_name("revenue", cfg): rate_trend(aggs["_rev_recent"], aggs["_rev_base"], cfg),
            "gap_mean_days": gap_mean,
            "gap_std_days": np.sqrt(np.clip(gap_var, 0.0, None)),
            "overdue_ratio": safe_ratio(recency, gap_mean),
            "purchases_missed": recency * aggs[f"txn_count_{top}d"] / top,
        }
    )
    for w in cfg.windows_days[:-1]:
        out[f"txn_vs_baseline_{w}d"] = baseline_ratio(
            aggs[f"txn_count_{w}d"], w, aggs[f"txn_count_{top}d"], top
        )
    return out


def quintile_score(values: np.ndarray) -> np.ndarray:
    """Scores 1 to 5 by rank within the population: higher values score higher, missing lowest,
    ties share the lowest score of their rank (SQL ``RANK()``), so all-zero groups score 1."""
    if len(values) == 0:
        return np.zeros(0)
    filled = np.where(np.isnan(values), -np.inf, values)
    rank = pd.Series(filled).rank(method="min").to_numpy()
    return 1.0 + np.floor(5.0 * (rank - 1.0) / len(values))


def rfm_scores(rows: dict[str, np.ndarray], cfg: FeatureConfig) -> dict[str, np.ndarray]:
    """R, F, M quintile scores among the population at T and the weighted RFM score.

    F and M use the longest look-back window; R scores recent buyers high.
    """
    w = cfg.windows_days[-1]
    r = quintile_score(-rows["recency_days"])
    f = quintile_score(rows[f"txn_count_{w}d"])
    m = quintile_score(rows[f"revenue_{w}d"])
    wt = cfg.rfm_weights
    total = wt.recency + wt.frequency + wt.monetary
    score = (wt.recency * r + wt.frequency * f + wt.monetary * m) / total
    return {"r_score": r, "f_score": f, "m_score": m, "rfm_score": score}
