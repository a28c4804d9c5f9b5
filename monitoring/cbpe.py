"""Performance estimated before labels exist: confidence-based performance estimation (CBPE), the
method of NannyML (``nannyml.performance_estimation.confidence_based``).

If the probabilities are calibrated, customer ``i`` churns with probability ``p_i``; so the
expected confusion matrix at every threshold is known without a label. Sorting by ``p``:
expected true positives above a threshold are ``sum(p)``, false positives ``sum(1 - p)``; the
expected ROC curve joins those points and its area is the estimated ROC-AUC (NannyML's
``estimate_roc_auc``). Precision of the top ``k`` is the mean ``p`` among them.

CBPE assumes the probabilities stay calibrated: it follows covariate shift (new mixes of
customers the model knows) but cannot see a concept shift (the same features now meaning
another churn risk). Only realized labels show that (``monitoring.realized``).

The calibration error a calibrated model is expected to show follows from the same assumption:
within each of the equal-count bins of the realized ECE, the observed rate is a sum of Bernoulli
draws, so ``|observed - predicted|`` averages ``sqrt(2 / pi) * sd`` (the normal approximation).
That expected ECE is the floor a realized ECE is compared with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from core.metrics import calibration_bins, expected_calibration_error


@dataclass(frozen=True)
class Performance:
    """ROC-AUC, precision of the top ``capacity`` and calibration error of one population."""

    roc_auc: float
    precision_at_capacity: float
    ece: float
    n: int
    capacity: int

    def as_dict(self) -> dict[str, float | int | None]:
        def num(x: float) -> float | None:
            return None if not np.isfinite(x) else round(float(x), 6)

        return {
            "roc_auc": num(self.roc_auc),
            "precision_at_capacity": num(self.precision_at_capacity),
            "ece": num(self.ece),
            "n": int(self.n),
            "capacity": int(self.capacity),
        }


def estimated_roc_auc(p: np.ndarray) -> float:
    """CBPE's ROC-AUC: the area under the expected ROC curve of calibrated probabilities ``p``.

    Tied probabilities form one threshold (one diagonal step), as for a realized ROC curve."""
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    if len(p) < 2:
        return float("nan")
    order = np.argsort(-p, kind="stable")
    sp = p[order]
    last = np.r_[np.flatnonzero(np.diff(sp) != 0), len(sp) - 1]  # end of each tie group
    tp = np.r_[0.0, np.cumsum(sp)[last]]
    fp = np.r_[0.0, np.cumsum(1.0 - sp)[last]]
    if tp[-1] <= 0 or fp[-1] <= 0:
        return float("nan")
    return float(np.trapezoid(tp / tp[-1], fp / fp[-1]))


def auc_standard_error(auc: float, positives: int, negatives: int) -> float:
    """Standard error of a ROC-AUC (Hanley and McNeil, 1982), from the counts of each class."""
    if not np.isfinite(auc) or positives < 1 or negatives < 1:
        return float("nan")
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    var = (auc * (1 - auc) + (positives - 1) * (q1 - auc**2) + (negatives - 1) * (q2 - auc**2)) / (
        positives * negatives
    )
    return float(np.sqrt(max(var, 0.0)))


def top_k(p: np.ndarray, capacity: int) -> np.ndarray:
    """Indices of the ``capacity`` highest probabilities (ties: the earlier row first)."""
    k = int(min(max(capacity, 0), len(p)))
    return np.argsort(-np.asarray(p, dtype=np.float64), kind="stable")[:k]


def expected_ece(p: np.ndarray, bins: int = 10) -> float:
    """The ECE a calibrated model shows from sampling noise alone (normal approximation)."""
    p = np.asarray(p, dtype=np.float64)
    if not len(p):
        return float("nan")
    frame = pd.DataFrame({"b": calibration_bins(p, bins), "v": p * (1 - p)})
    per = frame.groupby("b")["v"].agg(["sum", "size"])
    sd = np.sqrt(per["sum"]) / per["size"]
    return float((per["size"] * np.sqrt(2 / np.pi) * sd).sum() / len(p))


def estimate(p: np.ndarray, capacity: int) -> Performance:
    """CBPE of calibrated probabilities ``p``: estimated ROC-AUC, precision at capacity, ECE."""
    p = np.asarray(p, dtype=np.float64)
    top = top_k(p, capacity)
    precision = float(p[top].mean()) if len(top) else float("nan")
    return Performance(estimated_roc_auc(p), precision, expected_ece(p), len(p), len(top))


def realized(p: np.ndarray, y: np.ndarray, capacity: int) -> Performance:
    """The same measures from outcomes ``y`` (1 churned, 0 stayed)."""
    p, y = np.asarray(p, dtype=np.float64), np.asarray(y, dtype=np.float64)
    auc = float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else float("nan")
    top = top_k(p, capacity)
    precision = float(y[top].mean()) if len(top) else float("nan")
    return Performance(auc, precision, expected_calibration_error(p, y), len(p), len(top))
