"""Drift statistics between a reference population and the current one, one per feature type.

- Numbers: the Jensen-Shannon distance (base 2, in [0, 1]; scipy's ``jensenshannon``) between the
  shares of the two populations in the reference's quantile bins, missing values in a bin of
  their own. Bounded and symmetric, and heavy tails (money) do not dominate it as they do a
  Wasserstein distance; Evidently uses the same distance for large samples.
- Categories: the population stability index (PSI, Siddiqi's credit-scoring form
  ``sum((c - r) * ln(c / r))``) over the levels of both populations, missing values a level of
  their own; shares are floored at 1e-4 so an empty level stays finite.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon

JS = "jensen_shannon"
PSI = "psi"
_FLOOR = 1e-4


@dataclass(frozen=True)
class Drift:
    """One drift measurement: what was measured, its value, the threshold and the flag."""

    name: str
    statistic: str
    value: float
    threshold: float

    @property
    def drifted(self) -> bool:
        """Above the threshold (a feature empty on either side cannot be judged: not drifted)."""
        return bool(np.isfinite(self.value) and self.value > self.threshold)

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "statistic": self.statistic,
            "value": round(float(self.value), 6) if np.isfinite(self.value) else None,
            "threshold": self.threshold,
            "drifted": self.drifted,
        }


def _numbers(values: pd.Series | np.ndarray) -> np.ndarray:
    return pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=np.float64)


def quantile_edges(reference: np.ndarray, bins: int) -> np.ndarray:
    """Inner edges of the reference's quantile bins (ties merged, so a point mass is one bin)."""
    known = reference[~np.isnan(reference)]
    if not len(known):
        return np.array([])
    return np.unique(np.quantile(known, np.linspace(0, 1, bins + 1)[1:-1]))


def binned_shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Shares of ``values`` per bin of ``edges`` (len(edges) + 1 bins) plus one for missing."""
    missing = np.isnan(values)
    codes = np.searchsorted(edges, values[~missing], side="right")
    counts = np.bincount(codes, minlength=len(edges) + 1).astype(np.float64)
    counts = np.append(counts, missing.sum())
    return counts / max(counts.sum(), 1.0)


def js_distance(reference: np.ndarray, current: np.ndarray, bins: int) -> float:
    """Jensen-Shannon distance (base 2) of two numeric samples over the reference's bins."""
    ref, cur = _numbers(reference), _numbers(current)
    if not len(ref) or not len(cur):
        return float("nan")
    edges = quantile_edges(ref, bins)
    return float(jensenshannon(binned_shares(ref, edges), binned_shares(cur, edges), base=2))


def psi(reference: pd.Series, current: pd.Series) -> float:
    """Population stability index of two categorical samples (missing is a level)."""
    if not len(reference) or not len(current):
        return float("nan")
    ref = pd.Series(reference).astype(object).where(pd.Series(reference).notna(), "(missing)")
    cur = pd.Series(current).astype(object).where(pd.Series(current).notna(), "(missing)")
    ref_s = ref.astype(str).value_counts(normalize=True)
    cur_s = cur.astype(str).value_counts(normalize=True)
    levels = ref_s.index.union(cur_s.index)
    r = np.maximum(ref_s.reindex(levels, fill_value=0.0).to_numpy(), _FLOOR)
    c = np.maximum(cur_s.reindex(levels, fill_value=0.0).to_numpy(), _FLOOR)
    return float(np.sum((c - r) * np.log(c / r)))


def is_categorical(frame: pd.DataFrame, column: str, categorical: Sequence[str]) -> bool:
    """A feature is categorical when the model treats it so, or its dtype is not numeric."""
    return column in categorical or not pd.api.types.is_numeric_dtype(frame[column].dtype)


def feature_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    names: Sequence[str],
    categorical: Sequence[str],
    bins: int,
    numeric_threshold: float,
    categorical_threshold: float,
) -> list[Drift]:
    """Drift of every feature in ``names`` that both frames hold, in ``names`` order."""
    out = []
    for name in names:
        if name not in reference.columns or name not in current.columns:
            continue
        if is_categorical(reference, name, categorical):
            out.append(Drift(name, PSI, psi(reference[name], current[name]), categorical_threshold))
        else:
            value = js_distance(reference[name].to_numpy(), current[name].to_numpy(), bins)
            out.append(Drift(name, JS, value, numeric_threshold))
    return out
