"""Exact TreeSHAP for LightGBM boosters, compiled with numba: LightGBM's own values, faster.

``Booster.predict(pred_contrib=True)`` runs path-dependent TreeSHAP at O(leaves x depth^2) per
tree and row. For a leaf, the share of each of its path features depends only on which of them
the row "satisfies" (goes the leaf's way at every split on the feature): 2^d patterns. We
tabulate them once per model (Fast TreeSHAP v2, Yang 2021), so a row costs one pass over the
nodes plus a table read per leaf, O(leaves x depth); leaves too deep to tabulate are computed
per row. Values equal LightGBM's to ~1e-14 (tests/scoring/test_treeshap.py,
tests/reports/test_explain_shap.py); speed in docs/explain.md.

Multiclass, linear-tree and random-forest models are left to LightGBM (``FastExplainer``). The
first call on a machine compiles the kernels (seconds; numba caches them in ``__pycache__``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numba as nb
import numpy as np
import pandas as pd

from core.bundle import BIAS_COLUMN, ModelBundle
from scoring.treeshap.trees import NODE_FIELDS, UnsupportedModel, flatten

if TYPE_CHECKING:
    import lightgbm as lgb

TABLE_DEPTHS = (10, 8, 6, 4, 0)
"""Leaves with up to this many distinct path features get a table: the largest cap whose tables
fit in ``MAX_TABLE_ENTRIES``. Deeper leaves are computed per row (O(d^2)), still exactly."""
MAX_TABLE_ENTRIES = 1 << 23  # 64 MB of float64
_ROWS_PER_TASK = 512
KERNEL_ARRAYS = (
    *NODE_FIELDS, "cats", "tree_first", "tree_nint", "leaf_d", "leaf_off", "leaf_feats", "leaf_r",
    "leaf_value", "leaf_taboff",
)  # fmt: skip


@dataclass(frozen=True, eq=False)
class CompiledTrees:
    """Flat node and leaf arrays of every tree, the per-leaf tables and the Shapley weights."""

    arrays: tuple[np.ndarray, ...]  # KERNEL_ARRAYS, in the kernel's order
    table: np.ndarray
    weight: np.ndarray  # weight[d, m] = m! (d - m - 1)! / d!
    bias: float
    n_features: int
    table_depth: int


def shapley_weights(depth: int) -> np.ndarray:
    """``w[d, m] = m! (d - m - 1)! / d!``: the weight of a coalition of m among d features."""
    w = np.zeros((depth + 1, depth + 1))
    for d in range(1, depth + 1):
        for m in range(d):
            w[d, m] = math.exp(math.lgamma(m + 1) + math.lgamma(d - m) - math.lgamma(d + 1))
    return w


def compile_booster(booster: lgb.Booster) -> CompiledTrees | None:
    """Flatten and tabulate a booster for :func:`tree_shap`; None for a model it does not
    support (multiclass, linear trees, random-forest mode): use LightGBM's own TreeSHAP then."""
    dump = booster.dump_model()
    try:
        for cap in TABLE_DEPTHS:
            flat = flatten(dump, cap)
            if flat.entries <= MAX_TABLE_ENTRIES:
                break
    except UnsupportedModel:
        return None
    a = flat.arrays()
    depth = int(a["leaf_d"].max()) if a["leaf_d"].size else 0
    weight = shapley_weights(max(depth, 1))
    table = _fill_table(
        a["leaf_d"], a["leaf_off"], a["leaf_value"], a["leaf_r"], a["leaf_taboff"], weight,
        flat.entries,
    )  # fmt: skip
    arrays = tuple(a[k] for k in KERNEL_ARRAYS)
    return CompiledTrees(arrays, table, weight, flat.bias, booster.num_feature(), cap)


@nb.njit(cache=True)
def _leaf_phi(mask, d, r, off, weight, poly, q, out):  # pragma: no cover - compiled
    """phi_j / leaf value for each path feature j of a leaf, given the satisfied mask:
    (s_j - r_j) * prod_{k unsatisfied, k != j} r_k * sum_m w[d, m] e_m(satisfied k != j),
    where e_m are the coefficients of prod_{k satisfied, k != j} (r_k + t)."""
    poly[: d + 1] = 0.0
    poly[0] = 1.0
    deg = 0
    for k in range(d):
        if (mask >> k) & 1:
            for m in range(deg + 1, 0, -1):
                poly[m] = poly[m] * r[off + k] + poly[m - 1]
            poly[0] *= r[off + k]
            deg += 1
    for j in range(d):
        rj = r[off + j]
        rest = 1.0
        for k in range(d):
            if k != j and not (mask >> k) & 1:
                rest *= r[off + k]
        s = 0.0
        if (mask >> j) & 1:  # divide (t + r_j) out of the polynomial, top coefficient first
            q[deg - 1] = poly[deg]
            for m in range(deg - 1, 0, -1):
                q[m - 1] = poly[m] - rj * q[m]
            for m in range(deg):
                s += weight[d, m] * q[m]
            out[j] = (1.0 - rj) * rest * s
        else:
            for m in range(deg + 1):
                s += weight[d, m] * poly[m]
            out[j] = -rj * rest * s


@nb.njit(cache=True)
def _fill_table(d, off, value, r, taboff, weight, entries):  # pragma: no cover - compiled
    """The tabulated leaves' phi for every satisfied mask: table[taboff + mask * d + j]."""
    table = np.zeros(entries)
    top = weight.shape[0]
    poly, q, phi = np.zeros(top + 1), np.zeros(top + 1), np.zeros(top + 1)
    for leaf in range(d.size):
        if taboff[leaf] < 0:
            continue
        n = d[leaf]
        for mask in range(1 << n):
            _leaf_phi(mask, n, r, off[leaf], weight, poly, q, phi)
            for j in range(n):
                table[taboff[leaf] + mask * n + j] = value[leaf] * phi[j]
    return table


@nb.njit(inline="always")
def _goes_left(x, kind, miss, dleft, thr, catoff, catlen, cats):  # pragma: no cover - compiled
    """LightGBM's decision rule (tree.h NumericalDecision / CategoricalDecision)."""
    if kind == 1:
        if np.isnan(x) or x < 0:
            return False
        level = int(x)
        for c in range(catoff, catoff + catlen):  # noqa: SIM110 - numba, no generators
            if cats[c] == level:
                return True
        return False
    if miss != 2 and np.isnan(x):
        x = 0.0
    if (miss == 1 and -1e-35 <= x <= 1e-35) or (miss == 2 and np.isnan(x)):
        return dleft
    return x <= thr


@nb.njit(parallel=True, cache=True)
def _explain(x, feat, thr, kind, miss, dleft, left, right, catoff, catlen, pos, isnew, cats,
             tree_first, tree_nint, leaf_d, leaf_off, leaf_feats, leaf_r, leaf_value, leaf_taboff,
             table, weight, bias, out):  # fmt: skip  # pragma: no cover - compiled
    n, nf = x.shape
    widest = 1
    for t in range(tree_first.size):
        widest = max(widest, tree_nint[t])
    top = weight.shape[0]
    # Rows in blocks, trees outer within a block: a tree's tables stay in cache for the block.
    for task in nb.prange((n + _ROWS_PER_TASK - 1) // _ROWS_PER_TASK):
        masks = np.zeros(widest, np.int64)
        poly, q, phi_leaf = np.zeros(top + 1), np.zeros(top + 1), np.zeros(top + 1)
        lo, hi = task * _ROWS_PER_TASK, min(n, (task + 1) * _ROWS_PER_TASK)
        for i in range(lo, hi):
            out[i, nf] = bias
        for t in range(tree_first.size):
            first = tree_first[t]
            for i in range(lo, hi):
                row, phi = x[i], out[i]
                masks[0] = 0
                for k in range(tree_nint[t]):
                    node = first + k
                    m = masks[k]
                    gl = _goes_left(row[feat[node]], kind[node], miss[node], dleft[node],
                                    thr[node], catoff[node], catlen[node], cats)  # fmt: skip
                    bit = np.int64(1) << pos[node]
                    if isnew[node]:
                        ml, mr = (m | bit, m) if gl else (m, m | bit)
                    else:
                        ml, mr = (m, m & ~bit) if gl else (m & ~bit, m)
                    for child, cm in ((left[node], ml), (right[node], mr)):
                        if child >= 0:
                            masks[child - first] = cm
                            continue
                        leaf = ~child
                        d, fo = leaf_d[leaf], leaf_off[leaf]
                        if leaf_taboff[leaf] >= 0:
                            base = leaf_taboff[leaf] + cm * d
                            for j in range(d):
                                phi[leaf_feats[fo + j]] += table[base + j]
                        else:
                            _leaf_phi(cm, d, leaf_r, fo, weight, poly, q, phi_leaf)
                            for j in range(d):
                                phi[leaf_feats[fo + j]] += leaf_value[leaf] * phi_leaf[j]
    return out


def tree_shap(trees: CompiledTrees, x: np.ndarray, threads: int | None = None) -> np.ndarray:
    """SHAP values of rows ``x`` (n x features), plus the bias as the last column: raw-score
    units, each row sums to the raw score, as LightGBM's ``pred_contrib``."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != trees.n_features:
        raise ValueError(f"expected a matrix with {trees.n_features} columns, got {x.shape}")
    out = np.zeros((x.shape[0], x.shape[1] + 1))
    if threads is None:
        return _explain(x, *trees.arrays, trees.table, trees.weight, trees.bias, out)  # type: ignore[call-arg]
    before = nb.get_num_threads()
    nb.set_num_threads(min(threads, nb.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
    try:
        return _explain(x, *trees.arrays, trees.table, trees.weight, trees.bias, out)  # type: ignore[call-arg]
    finally:
        nb.set_num_threads(before)


class FastExplainer:
    """Exact SHAP contributions of a bundle's raw score; same frame as ``bundle.contributions``.

    Tabulates the booster once (tens of ms to a second for a few hundred trees); falls back to
    LightGBM's own TreeSHAP for models it does not support (``method`` says which is used).
    """

    def __init__(self, bundle: ModelBundle, threads: int | None = None) -> None:
        self.bundle = bundle
        self.threads = threads
        self.trees = compile_booster(bundle.booster)

    @property
    def method(self) -> str:
        return "tabulated-treeshap" if self.trees is not None else "lightgbm-pred_contrib"

    def values(self, x: np.ndarray) -> np.ndarray:
        """Contributions of an encoded matrix (``bundle.matrix`` output as an array)."""
        if self.trees is None:
            params: dict[str, Any] = {} if self.threads is None else {"num_threads": self.threads}
            out = np.asarray(self.bundle.booster.predict(x, pred_contrib=True, **params))
        else:
            out = tree_shap(self.trees, x, self.threads)
        if self.bundle.linear is not None:  # exact linear terms
            out += self.bundle.linear_contributions(x)
        return out

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Per feature plus ``bias``, raw-score units; rows sum to the raw score."""
        x = self.bundle.matrix(frame).to_numpy(dtype=np.float64)
        cols = [*self.bundle.feature_names, BIAS_COLUMN]
        return pd.DataFrame(self.values(x), index=frame.index, columns=cols)
