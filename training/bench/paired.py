"""Paired bootstrap comparisons of the product with its references on the same customers.

:func:`auc_differences`: each scorer's ROC-AUC and the product's difference to each, with a 95%
interval from resampling the customers (the same resamples for every scorer).
:func:`capture`: the share of the lost value caught by the first ``top`` of customers in an order,
and :func:`capture_difference` the difference of two orders with its interval.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

from training.selection import auc_samples

TOP = 0.1
"""The share of customers a retention team contacts first (the top 10% of the list)."""


def auc_differences(
    y: np.ndarray, scores: dict[str, np.ndarray], ours: str, resamples: int, seed: int
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """ROC-AUC of every scorer, and ``ours`` minus each other scorer with its 95% interval."""
    auc = {k: float(roc_auc_score(y, s)) for k, s in scores.items()}
    boot = auc_samples(y, scores, resamples, np.random.default_rng(seed))
    diffs = {}
    for name in scores:
        if name == ours:
            continue
        lo, hi = np.percentile(boot[ours] - boot[name], [2.5, 97.5])
        diffs[name] = {"diff": auc[ours] - auc[name], "lo": float(lo), "hi": float(hi)}
    return auc, diffs


def capture(
    score: np.ndarray, lost: np.ndarray, weights: np.ndarray | None = None, top: float = TOP
) -> np.ndarray:
    """Share of the lost value in the first ``top`` of customers by ``score`` (ties by position),
    for each row of ``weights`` (bootstrap multiplicities) or once without."""
    order = np.argsort(-score, kind="stable")
    w = np.ones((1, len(score))) if weights is None else weights
    w = w[:, order]
    cum = np.cumsum(w, axis=1)
    first = cum <= top * cum[:, -1:]
    lost_o = lost[order][None, :]
    return (w * lost_o * first).sum(axis=1) / np.maximum((w * lost_o).sum(axis=1), 1e-12)


def capture_difference(
    ours: np.ndarray, other: np.ndarray, lost: np.ndarray, resamples: int, seed: int
) -> dict[str, float]:
    """Captured share of ``ours`` minus ``other``'s, with a 95% bootstrap interval."""
    rng = np.random.default_rng(seed)
    n = len(lost)
    weights = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(resamples)])
    d = capture(ours, lost, weights) - capture(other, lost, weights)
    lo, hi = np.percentile(d, [2.5, 97.5])
    diff = float(capture(ours, lost)[0] - capture(other, lost)[0])
    return {"diff": diff, "lo": float(lo), "hi": float(hi)}
