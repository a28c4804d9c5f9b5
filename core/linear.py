"""Exact linear terms a churn bundle adds to its booster's raw score (LightGBM boosted from a
logistic regression's score: the trees correct a linear model).

Each feature contributes one term, computed from the bundle's encoded matrix: a numeric feature
``coef x (clip(slog(x), low, high) - centre)`` (``missing`` when the value is missing), a
categorical feature the term of its level code (0 for a missing or unknown level). The raw score
is ``intercept + sum(terms) + booster raw score``; the terms are the linear part's exact reasons.
Stored as JSON in ``bundle.json`` (key ``linear``); nothing is pickled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


def signed_log(x: np.ndarray) -> np.ndarray:
    """sign(x) log(1 + |x|): tames heavy tails and keeps the order."""
    return np.sign(x) * np.log1p(np.abs(x))


@dataclass(frozen=True)
class NumericTerm:
    coef: float
    centre: float
    low: float
    high: float
    missing: float


@dataclass(frozen=True)
class LinearTerms:
    """The linear part of a raw score: per-feature terms over the bundle's feature order."""

    intercept: float
    numeric: dict[str, NumericTerm] = field(default_factory=dict)
    levels: dict[str, tuple[float, ...]] = field(default_factory=dict)

    def terms(self, x: np.ndarray, feature_names: tuple[str, ...]) -> np.ndarray:
        """One column per feature (zero for features without a term), rows as ``x``."""
        x = np.asarray(x, dtype=np.float64)
        out = np.zeros((len(x), len(feature_names)), dtype=np.float64)
        for i, name in enumerate(feature_names):
            col = x[:, i]
            if name in self.numeric:
                t = self.numeric[name]
                z = np.clip(signed_log(col), t.low, t.high) - t.centre
                out[:, i] = np.where(np.isnan(col), t.missing, t.coef * np.nan_to_num(z))
            elif name in self.levels:
                table = np.append(np.asarray(self.levels[name], dtype=np.float64), 0.0)
                codes = np.where(np.isnan(col), -1, col).astype(np.int64)
                codes[(codes < 0) | (codes >= len(table) - 1)] = len(table) - 1
                out[:, i] = table[codes]
        return out

    def score(self, x: np.ndarray, feature_names: tuple[str, ...]) -> np.ndarray:
        """The linear raw score of every row: intercept plus the sum of the terms."""
        return self.intercept + self.terms(x, feature_names).sum(axis=1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "intercept": self.intercept,
            "numeric": {k: vars(v) for k, v in self.numeric.items()},
            "levels": {k: list(v) for k, v in self.levels.items()},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> LinearTerms | None:
        if not d:
            return None
        return cls(
            float(d["intercept"]),
            {
                k: NumericTerm(**{a: float(b) for a, b in v.items()})
                for k, v in d["numeric"].items()
            },
            {k: tuple(float(t) for t in v) for k, v in d["levels"].items()},
        )
