"""Qini and uplift curves, the Qini coefficient and the AUUC, in numpy.

For a ranking of a randomised campaign's customers (contacted ``t = 1`` or control ``t = 0``) with
success ``y`` (here: retained, not churned), the Qini curve at the top ``k`` is
``Q(k) = Y_t(k) - Y_c(k) * N_t(k) / N_c(k)``: the customers kept by the contacts among the top k,
the control group's success rate standing in for what the contacted would have done anyway. The
uplift curve is ``U(k) = (Y_t(k) / N_t(k) - Y_c(k) / N_c(k)) * k``. The coefficients are the area
between a curve and the random line (straight from the origin to the last point), divided by the
same area of the perfect ranking (successes among the contacted first, successes among the
controls last), as scikit-uplift's ``qini_auc_score`` and ``uplift_auc_score`` do: 0 is random,
1 perfect, negative worse than random.
"""

from __future__ import annotations

import numpy as np


def _cumulative(y: np.ndarray, t: np.ndarray, score: np.ndarray):
    order = np.argsort(-score, kind="stable")
    y, t, s = y[order], t[order], score[order]
    # one point per distinct score (ties are cut together, so their order does not matter)
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]
    n_t = np.cumsum(t)[last].astype(float)
    n_c = np.cumsum(1 - t)[last].astype(float)
    y_t = np.cumsum(y * t)[last].astype(float)
    y_c = np.cumsum(y * (1 - t))[last].astype(float)
    k = (last + 1).astype(float)
    return k, n_t, n_c, y_t, y_c


def _check(y, t, score) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y, t, s = (np.asarray(a, dtype=float) for a in (y, t, score))
    if not (len(y) == len(t) == len(s)):
        raise ValueError("outcome, treatment and score must have the same length")
    if not set(np.unique(t)) <= {0.0, 1.0} or len(np.unique(t)) < 2:
        raise ValueError("treatment must hold both 1 (contacted) and 0 (control)")
    return y, t.astype(np.int64), s


def qini_curve(y, t, score) -> tuple[np.ndarray, np.ndarray]:
    """Points ``(k, Q(k))`` of the Qini curve, starting at (0, 0)."""
    y, t, s = _check(y, t, score)
    k, n_t, n_c, y_t, y_c = _cumulative(y, t.astype(float), s)
    ratio = np.divide(n_t, n_c, out=np.zeros_like(n_t), where=n_c > 0)
    return np.r_[0.0, k], np.r_[0.0, y_t - y_c * ratio]


def uplift_curve(y, t, score) -> tuple[np.ndarray, np.ndarray]:
    """Points ``(k, U(k))`` of the uplift curve, starting at (0, 0)."""
    y, t, s = _check(y, t, score)
    k, n_t, n_c, y_t, y_c = _cumulative(y, t.astype(float), s)
    rate_t = np.divide(y_t, n_t, out=np.zeros_like(y_t), where=n_t > 0)
    rate_c = np.divide(y_c, n_c, out=np.zeros_like(y_c), where=n_c > 0)
    return np.r_[0.0, k], np.r_[0.0, (rate_t - rate_c) * k]


def _perfect_score(y: np.ndarray, t: np.ndarray) -> np.ndarray:
    return y * t - y * (1 - t)


def _normalised(curve, y, t, score) -> float:
    x, q = curve(y, t, score)
    xp, qp = curve(y, t, _perfect_score(np.asarray(y, float), np.asarray(t, float)))
    random = x[-1] * q[-1] / 2
    best = np.trapezoid(qp, xp) - random
    if best == 0:
        return float("nan")
    return float((np.trapezoid(q, x) - random) / best)


def qini_coefficient(y, t, score) -> float:
    """Area between the Qini curve and the random line over that of the perfect ranking."""
    return _normalised(qini_curve, y, t, score)


def auuc(y, t, score) -> float:
    """Area between the uplift curve and the random line over that of the perfect ranking."""
    return _normalised(uplift_curve, y, t, score)


def uplift_at(y, t, score, share: float) -> float:
    """Observed uplift (contacted minus control success rate) among the top ``share``."""
    y, t, s = _check(y, t, score)
    top = np.argsort(-s, kind="stable")[: max(1, int(round(share * len(s))))]
    yt, tt = y[top], t[top]
    if tt.sum() == 0 or (1 - tt).sum() == 0:
        return float("nan")
    return float(yt[tt == 1].mean() - yt[tt == 0].mean())
