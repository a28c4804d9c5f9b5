"""Calibration bins and the expected calibration error (ECE), shared by the training evaluation
and the monitoring of live predictions so both report the same number for the same scores.

Bins hold equal counts of predictions, and tied predictions share a bin whatever the row order, so
a coarse score is binned the same way however its rows are sorted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import rankdata


def calibration_bins(p: np.ndarray, bins: int = 10) -> np.ndarray:
    """Equal-count bin (0 to ``bins - 1``) of each prediction, tied predictions kept together."""
    rank = rankdata(np.asarray(p, float), method="average") - 1
    return np.minimum((rank * bins / max(len(p), 1)).astype(int), bins - 1)


def calibration_table(p: np.ndarray, y: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Per equal-count bin of the prediction: ``bin``, rows ``n``, mean ``predicted`` and mean
    ``observed`` outcome."""
    p, y = np.asarray(p, float), np.asarray(y, float)
    frame = pd.DataFrame({"bin": calibration_bins(p, bins), "p": p, "y": y})
    out = frame.groupby("bin").agg(n=("p", "size"), predicted=("p", "mean"), observed=("y", "mean"))
    return out.reset_index()


def expected_calibration_error(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Mean |mean predicted - observed rate| over equal-count bins of ``p``, weighted by bin
    size; NaN when there are no predictions."""
    if not len(p):
        return float("nan")
    table = calibration_table(p, y, bins)
    return float((table["n"] * (table["predicted"] - table["observed"]).abs()).sum() / len(p))
