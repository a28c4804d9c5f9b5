"""The compiled TreeSHAP kernel gives LightGBM's own contributions for every kind of split."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

import scoring.treeshap.kernel as ts
from scoring.treeshap.kernel import compile_booster, tree_shap


def _data(n: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8))
    x[rng.random((n, 8)) < 0.08] = np.nan
    x[:, 2] = np.where(rng.random(n) < 0.3, 0.0, x[:, 2])  # exact zeros for zero_as_missing
    x[:, 0] = rng.integers(0, 7, n).astype(float)  # a categorical code
    x[rng.random(n) < 0.05, 0] = np.nan
    signal = x[:, 1] + np.nan_to_num(x[:, 0]) % 3 - 1 + np.nan_to_num(x[:, 2]) * x[:, 3]
    y = (rng.random(n) < 1 / (1 + np.exp(-np.nan_to_num(signal)))).astype(float)
    return x, y


def _check(booster: lgb.Booster, x: np.ndarray) -> None:
    trees = compile_booster(booster)
    assert trees is not None
    got, want = tree_shap(trees, x), booster.predict(x, pred_contrib=True)
    assert got.shape == want.shape
    assert np.abs(got - want).max() < 1e-9
    np.testing.assert_allclose(got.sum(axis=1), booster.predict(x, raw_score=True), atol=1e-9)


def _odd_rows(x: np.ndarray) -> np.ndarray:
    """Negative, unseen and fractional category codes, all-missing and all-zero rows."""
    odd = x[:6].copy()
    odd[:, 0] = [-1.0, 99.0, 2.7, np.nan, 0.0, 6.0]
    odd[4, 1:] = np.nan
    odd[5, 1:] = 0.0
    return np.vstack([odd, x])


@pytest.mark.parametrize(
    "params",
    [
        {"objective": "binary", "num_leaves": 15, "max_depth": 6},
        {"objective": "binary", "num_leaves": 31, "max_cat_to_onehot": 8},  # one-vs-rest splits
        {"objective": "binary", "num_leaves": 15, "zero_as_missing": True},
        {"objective": "binary", "num_leaves": 15, "use_missing": False},
        {"objective": "tweedie", "num_leaves": 7, "max_depth": 3},
    ],
    ids=["depth6", "onehot", "zero-missing", "no-missing", "tweedie"],
)
def test_equals_lightgbm_pred_contrib(params: dict):
    x, y = _data()
    target = y if params["objective"] == "binary" else np.abs(np.nan_to_num(x[:, 1])) * y
    booster = lgb.train(
        {**params, "verbose": -1, "seed": 1, "num_threads": 1, "min_data_in_leaf": 10},
        lgb.Dataset(x, target, categorical_feature=[0]),
        40,
    )
    _check(booster, _odd_rows(x))


def test_deep_leaves_computed_per_row_are_exact(monkeypatch: pytest.MonkeyPatch):
    x, y = _data()
    booster = lgb.train(
        {"objective": "binary", "num_leaves": 63, "verbose": -1, "min_data_in_leaf": 5},
        lgb.Dataset(x, y, categorical_feature=[0]),
        20,
    )
    monkeypatch.setattr(ts, "TABLE_DEPTHS", (2,))
    trees = compile_booster(booster)
    assert trees is not None and trees.table_depth == 2
    assert (trees.arrays[ts.KERNEL_ARRAYS.index("leaf_taboff")] < 0).any()
    _check(booster, _odd_rows(x))


def test_single_leaf_trees_only_move_the_bias():
    x, y = _data(200)
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "min_data_in_leaf": 500}, lgb.Dataset(x, y), 3
    )
    trees = compile_booster(booster)
    assert trees is not None and trees.arrays[0].size == 0  # no internal node at all
    _check(booster, x)


def test_multiclass_is_left_to_lightgbm():
    x, y = _data(600)
    booster = lgb.train(
        {"objective": "multiclass", "num_class": 3, "verbose": -1},
        lgb.Dataset(x, (y + (x[:, 1] > 0)).astype(float)),
        5,
    )
    assert compile_booster(booster) is None


def test_wrong_width_is_an_error():
    x, y = _data(300)
    booster = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(x, y), 3)
    trees = compile_booster(booster)
    with pytest.raises(ValueError, match="8 columns"):
        tree_shap(trees, x[:, :5])
