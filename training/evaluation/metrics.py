"""Test metrics of churn scores and value predictions (pure numpy; higher score = ranked first).

Ranking metrics treat tied scores fairly: the top ``k`` of a list whose boundary falls inside a
group of equal scores counts that group pro rata (the expectation over random tie-breaking), so a
coarse score such as the RFM quintile sum is neither flattered nor punished by row order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import average_precision_score, roc_auc_score

from core.economics import CampaignEconomics, saved_value
from core.metrics import calibration_table, expected_calibration_error

_EPS = 1e-12


def gains_curve(score: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative weight at the end of each group of equal scores, best first, starting at 0.

    Returns (counts, cumulative weights); linear interpolation between points is the expected
    cumulative weight of a top-k list under random tie-breaking.
    """
    order = np.argsort(-score, kind="stable")
    s, w = score[order], weight[order]
    ends = np.r_[np.flatnonzero(s[1:] != s[:-1]), len(s) - 1]
    cum = np.cumsum(w)
    return np.r_[0, ends + 1].astype(float), np.r_[0.0, cum[ends]]


def top_sum(score: np.ndarray, weight: np.ndarray, k: float) -> float:
    """Expected sum of ``weight`` over the ``k`` highest scores (ties pro rata)."""
    counts, cum = gains_curve(np.asarray(score, float), np.asarray(weight, float))
    return float(np.interp(k, counts, cum))


def _core_metrics(p: np.ndarray, y: np.ndarray, score: np.ndarray, bins: int) -> dict[str, float]:
    """ROC-AUC, PR-AUC, log loss, Brier, ECE, base rate and top-decile lift of one population
    (NaN where it has no rows or one outcome only)."""
    n, positives = len(y), float(y.sum())
    if n == 0:
        names = ("roc_auc", "pr_auc", "log_loss", "brier", "ece", "base_rate", "top_decile_lift")
        return dict.fromkeys(names, float("nan"))
    both = 0 < positives < n
    pc = np.clip(p, 1e-7, 1 - 1e-7)
    top_decile = top_sum(score, y, 0.1 * n) / (0.1 * n)
    return {
        "roc_auc": float(roc_auc_score(y, score)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, score)) if both else float("nan"),
        "log_loss": float(-np.mean(y * np.log(pc) + (1 - y) * np.log(1 - pc))),
        "brier": float(np.mean((p - y) ** 2)),
        "ece": expected_calibration_error(p, y, bins),
        "base_rate": positives / n,
        "top_decile_lift": top_decile / max(positives / n, _EPS),
    }


def churn_metrics(
    p: np.ndarray,
    y: np.ndarray,
    value: np.ndarray,
    *,
    top_k_shares: tuple[float, ...],
    economics: CampaignEconomics,
    bins: int = 10,
    rank_score: np.ndarray | None = None,
    live: np.ndarray | None = None,
) -> dict[str, float]:
    """ROC-AUC, PR-AUC, log loss, Brier, ECE, top-decile lift, precision/recall at k, best campaign
    profit and the share of value lost to churn that the top decile captures.

    ``p`` are probabilities; ``rank_score`` (default ``p``) orders the list for the churn ranking
    metrics. ``value`` is each customer's value known at the cutoff: a churner takes it away.
    The campaign and the value capture use the at-risk list of business rule 3, ordered by expected
    value at risk ``p x value``.

    ``live`` (bool per row, default every row) marks the customers who can still be saved (not
    lapsed at the cutoff): the ranking and calibration metrics are repeated on them with the
    suffix ``_live``, with ``live_share`` the share of rows they are.
    """
    p, y = np.asarray(p, float), np.asarray(y, float)
    score = p if rank_score is None else np.asarray(rank_score, float)
    n, positives = len(y), float(y.sum())
    out = _core_metrics(p, y, score, bins)
    keep = np.ones(n, dtype=bool) if live is None else np.asarray(live, dtype=bool)
    out.update(
        {f"{k}_live": v for k, v in _core_metrics(p[keep], y[keep], score[keep], bins).items()}
    )
    out["live_share"] = float(keep.mean()) if n else float("nan")
    for share in top_k_shares:
        k = share * n
        hits = top_sum(score, y, k)
        tag = f"{share * 100:g}pct"
        out[f"precision_at_{tag}"] = hits / k
        out[f"recall_at_{tag}"] = hits / max(positives, _EPS)
    v = np.nan_to_num(np.asarray(value, float))
    lost = np.where(y > 0, v, 0.0)
    at_risk = p * v
    profit, share = best_campaign(at_risk, lost, economics)
    out["campaign_profit"] = profit
    out["campaign_contact_share"] = share
    out["lost_value_captured_top_decile"] = top_sum(at_risk, lost, 0.1 * n) / max(lost.sum(), _EPS)
    return out


def best_campaign(
    score: np.ndarray, lost_value: np.ndarray, economics: CampaignEconomics
) -> tuple[float, float]:
    """Highest expected profit over contact-list sizes and the share contacted to get it.

    Contacting the top n: profit = :func:`core.economics.saved_value` of the value lost by the
    churners among them, n contacts. Contacting nobody (profit 0) is allowed.
    """
    counts, saved = gains_curve(np.asarray(score, float), np.asarray(lost_value, float))
    profit = saved_value(saved, economics.success_rate, economics.cost_per_contact * counts)
    best = int(np.argmax(profit))
    return float(profit[best]), float(counts[best] / max(len(score), 1))


def normalised_gini(actual: np.ndarray, pred: np.ndarray) -> float:
    """Gini of the value ranked by prediction over the Gini of the perfect ranking (1 = perfect)."""

    def gini(score: np.ndarray) -> float:
        counts, cum = gains_curve(score, actual)
        x, yv = counts / len(actual), cum / max(actual.sum(), _EPS)
        return float(2 * np.trapezoid(yv, x) - 1)

    actual = np.asarray(actual, float)
    perfect = gini(actual)
    return gini(np.asarray(pred, float)) / perfect if perfect > 0 else float("nan")


def value_deciles(actual: np.ndarray, pred: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Per equal-count bin of the prediction: rows, mean predicted and mean actual value."""
    table = calibration_table(pred, actual, bins)
    return table.rename(columns={"observed": "actual"})


def value_metrics(actual: np.ndarray, pred: np.ndarray, bins: int = 10) -> dict[str, float]:
    """MAE, RMSE, Spearman, normalised Gini, top-decile value capture and decile calibration
    error (sum over deciles of |mean predicted - mean actual| x rows, over total actual)."""
    a, p = np.asarray(actual, float), np.asarray(pred, float)
    deciles = value_deciles(a, p, bins)
    rho = spearmanr(a, p).statistic if np.ptp(p) > 0 else 0.0
    return {
        "mae": float(np.mean(np.abs(a - p))),
        "rmse": float(np.sqrt(np.mean((a - p) ** 2))),
        "spearman": float(rho),
        "gini": normalised_gini(a, p),
        "top_decile_value_capture": top_sum(p, a, 0.1 * len(a)) / max(a.sum(), _EPS),
        "decile_calibration_error": float(
            (deciles["n"] * (deciles["predicted"] - deciles["actual"]).abs()).sum()
            / max(a.sum(), _EPS)
        ),
        "mean_actual": float(a.mean()),
        "mean_predicted": float(p.mean()),
    }
