"""A LightGBM model dump as flat arrays for the compiled TreeSHAP kernel (``scoring.treeshap.kernel``).

Internal nodes are numbered in pre-order within each tree (a parent before its children); a
child index >= 0 is an internal node of the same tree, ``~leaf`` a leaf. For every leaf we keep
its distinct path features, in first-split order, and the share of the training rows that each
of them lets through (the product of child count / parent count over the splits on it): the
"zero fractions" of path-dependent TreeSHAP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

MISSING_TYPES = {"None": 0, "Zero": 1, "NaN": 2}
NODE_FIELDS: tuple[str, ...] = ("feat", "thr", "kind", "miss", "dleft", "left", "right", "catoff")
NODE_FIELDS += ("catlen", "pos", "isnew")
LEAF_FIELDS = ("d", "off", "value", "taboff")
MAX_PATH_FEATURES = 62  # the kernel keeps a leaf's satisfied features in an int64 bit mask


class UnsupportedModel(ValueError):
    """The dump is not a single-output additive tree model of constant leaves."""


@dataclass
class FlatTrees:
    """Node and leaf arrays of all trees (lists while parsing, numpy after :meth:`arrays`)."""

    nodes: dict[str, list] = field(default_factory=lambda: {k: [] for k in NODE_FIELDS})
    leaves: dict[str, list] = field(default_factory=lambda: {k: [] for k in LEAF_FIELDS})
    cats: list[int] = field(default_factory=list)
    leaf_feats: list[int] = field(default_factory=list)
    leaf_r: list[float] = field(default_factory=list)
    tree_first: list[int] = field(default_factory=list)
    tree_nint: list[int] = field(default_factory=list)
    entries: int = 0
    bias: float = 0.0

    def add_leaf(self, node: dict, path: list[int], ratio: list[float], total: float, cap: int):
        """Record a leaf; it gets a table of 2^d x d entries when d <= cap."""
        if "leaf_coeff" in node:
            raise UnsupportedModel("linear trees are not supported")
        d = len(path)
        if d > MAX_PATH_FEATURES:
            raise UnsupportedModel(f"a leaf has {d} distinct path features (bit mask of 63)")
        lv = self.leaves
        lv["d"].append(d)
        lv["off"].append(len(self.leaf_feats))
        lv["value"].append(float(node["leaf_value"]))
        lv["taboff"].append(self.entries if d <= cap else -1)
        if d <= cap:
            self.entries += (1 << d) * d
        self.leaf_feats.extend(path)
        self.leaf_r.extend(ratio)
        self.bias += node["leaf_value"] * node["leaf_count"] / total
        return ~(len(lv["d"]) - 1)

    def add_node(self, node: dict, path: list[int]) -> tuple[int, bool, int]:
        """Record an internal node; returns its id, whether its feature is new on the path and
        the feature's position in the path."""
        n = self.nodes
        f = int(node["split_feature"])
        categorical = node["decision_type"] == "=="
        levels = [int(c) for c in str(node["threshold"]).split("||")] if categorical else []
        new = f not in path
        pos = len(path) if new else path.index(f)
        values = {
            "feat": f,
            "thr": 0.0 if categorical else float(node["threshold"]),
            "kind": int(categorical),
            "miss": MISSING_TYPES[node["missing_type"]],
            "dleft": bool(node["default_left"]),
            "left": 0,
            "right": 0,
            "catoff": len(self.cats),
            "catlen": len(levels),
            "pos": pos,
            "isnew": new,
        }
        for key, value in values.items():
            n[key].append(value)
        self.cats.extend(levels)
        return len(n["feat"]) - 1, new, pos

    def arrays(self) -> dict[str, np.ndarray]:
        """Everything as typed numpy arrays, keyed by field name."""
        out: dict[str, np.ndarray] = {
            k: np.asarray(v, dtype=_dtype(k)) for k, v in self.nodes.items()
        }
        out.update({f"leaf_{k}": np.asarray(v, dtype=_dtype(k)) for k, v in self.leaves.items()})
        out["cats"] = np.asarray(self.cats, dtype=np.int64)
        out["leaf_feats"] = np.asarray(self.leaf_feats, dtype=np.int64)
        out["leaf_r"] = np.asarray(self.leaf_r, dtype=np.float64)
        out["tree_first"] = np.asarray(self.tree_first, dtype=np.int64)
        out["tree_nint"] = np.asarray(self.tree_nint, dtype=np.int64)
        return out


def _dtype(name: str) -> type:
    if name in ("thr", "value"):
        return np.float64
    if name in ("dleft", "isnew"):
        return np.bool_
    return np.int64


def _visit(
    flat: FlatTrees, node: dict, path: list[int], ratio: list[float], total: float, cap: int
):
    if "split_index" not in node:
        return flat.add_leaf(node, path, ratio, total, cap)
    nid, new, pos = flat.add_node(node, path)
    children = []
    for side in ("left_child", "right_child"):
        child = node[side]
        share = child.get("internal_count", child.get("leaf_count", 0)) / node["internal_count"]
        if new:
            sub_path, sub_ratio = [*path, flat.nodes["feat"][nid]], [*ratio, share]
        else:
            sub_path, sub_ratio = path, [*ratio[:pos], ratio[pos] * share, *ratio[pos + 1 :]]
        children.append(_visit(flat, child, sub_path, sub_ratio, total, cap))
    flat.nodes["left"][nid], flat.nodes["right"][nid] = children
    return nid


def flatten(dump: dict[str, Any], table_depth: int) -> FlatTrees:
    """Flat arrays of ``Booster.dump_model()``; leaves with more than ``table_depth`` distinct
    path features are marked to be computed per row (``taboff`` -1) instead of tabulated."""
    if dump.get("num_tree_per_iteration", 1) != 1:
        raise UnsupportedModel("multi-output models (multiclass) are not supported")
    if dump.get("average_output"):
        raise UnsupportedModel("random-forest mode (average_output) is not supported")
    flat = FlatTrees()
    for tree in dump["tree_info"]:
        root = tree["tree_structure"]
        flat.tree_first.append(len(flat.nodes["feat"]))
        if "split_index" in root:
            _visit(flat, root, [], [], float(root["internal_count"]), table_depth)
        else:  # a single-leaf tree only shifts the bias
            flat.bias += float(root["leaf_value"])
        flat.tree_nint.append(len(flat.nodes["feat"]) - flat.tree_first[-1])
    return flat
