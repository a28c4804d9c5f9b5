"""Calibrators fitted on the calibration cutoff, expressed as x/y thresholds for ``np.interp``."""

from __future__ import annotations

from typing import Literal

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from core.bundle import Calibrator

_EPS = 1e-6


def fit_isotonic(raw: np.ndarray, y: np.ndarray, y_max: float | None = 1.0) -> Calibrator:
    """Isotonic regression of the outcome on the raw probability, interpolated between blocks.

    Each pooled block is represented by its centre, so the map is strictly increasing between the
    first and last block: ranking (ROC-AUC, lift) is the raw model's, probabilities are calibrated.
    ``y_max=None`` for an unbounded outcome (revenue: the value model's calibrator).
    """
    iso = IsotonicRegression(y_min=0.0, y_max=y_max, out_of_bounds="clip").fit(raw, y)
    xs, ys = np.asarray(iso.X_thresholds_), np.asarray(iso.y_thresholds_)
    if len(xs) < 2:
        return Calibrator((0.0, 1.0), (float(ys[0]), float(ys[0]))) if len(xs) else Calibrator()
    new_block = np.r_[True, ys[1:] != ys[:-1]]
    block = np.cumsum(new_block) - 1
    centres = np.bincount(block, weights=xs) / np.bincount(block)  # mean of a block's end points
    values = ys[new_block]
    x = np.r_[xs[0], centres, xs[-1]]
    y_out = np.r_[values[0], values, values[-1]]
    x, keep = np.unique(x, return_index=True)
    return Calibrator(tuple(map(float, x)), tuple(map(float, y_out[keep])))


def fit_platt(raw: np.ndarray, y: np.ndarray, grid: int = 512) -> Calibrator:
    """Logistic regression on the raw log-odds, tabulated on a grid of raw probabilities."""
    p = np.clip(raw, _EPS, 1 - _EPS)
    logit = np.log(p / (1 - p)).reshape(-1, 1)
    lr = LogisticRegression(C=1e6).fit(logit, y)
    qs = np.unique(np.r_[0.0, np.quantile(raw, np.linspace(0, 1, grid)), 1.0])
    q = np.clip(qs, _EPS, 1 - _EPS)
    out = lr.predict_proba(np.log(q / (1 - q)).reshape(-1, 1))[:, 1]
    return Calibrator(tuple(map(float, qs)), tuple(map(float, out)))


def bounded(calibrator: Calibrator, low: float) -> Calibrator:
    """The calibrator with its outputs kept in ``[low, 1 - low]``: no probability is certain
    (an isotonic map's end plateaus would otherwise give exactly 0 or 1)."""
    high = 1.0 - low
    if calibrator.is_identity:
        return Calibrator((0.0, low, high, 1.0), (low, low, high, high))
    ys = np.clip(np.asarray(calibrator.y), low, high)
    return Calibrator(calibrator.x, tuple(map(float, ys)))


def fit_calibrator(
    raw: np.ndarray,
    y: np.ndarray,
    method: Literal["isotonic", "platt", "none"],
    min_probability: float = 0.0,
) -> Calibrator:
    """The configured calibrator (identity for ``none``), its outputs kept in
    ``[min_probability, 1 - min_probability]`` when that is above 0."""
    raw = np.asarray(raw, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if method == "isotonic":
        fitted = fit_isotonic(raw, y)
    elif method == "platt":
        fitted = fit_platt(raw, y)
    else:
        fitted = Calibrator()
    return bounded(fitted, min_probability) if min_probability > 0 else fitted
