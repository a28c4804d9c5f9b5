"""Rows per second of exact SHAP explanations for a customer base, per method, against
``shap.TreeExplainer`` on the same model (ratio > 1 is faster).

Models: the project's churn model (``TrainingConfig`` tree shape, early stopping) trained on
generated demo data, and a reference shape (300 trees of 31 leaves, no depth limit)
trained on the same rows. The base is ``--rows`` customers drawn with replacement from the test
cutoff's feature rows. Every method's values are compared with the reference (max |diff|).

    .venv/bin/python benchmarks/explain.py [--rows 100000] [--customers 5000] [--threads 2]
"""

# ruff: noqa: E402 - the sys.path fix below must run before the project imports

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

# Run as ``python benchmarks/explain.py``, this folder is first on sys.path and its
# ``features.py`` / ``training.py`` would shadow the project's packages.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import lightgbm as lgb
import numpy as np
import pandas as pd
import shap

from core.bundle import BIAS_COLUMN, ModelBundle
from features.config import FeatureConfig
from features.pipeline.build import build_training_set
from features.synthetic.generator import generate
from scoring.treeshap.kernel import FastExplainer, compile_booster, tree_shap
from training.boosting import lgb_params
from training.config import BoosterParams, TrainingConfig
from training.fit import fit_models
from training.job import plan_for
from training.spec import CHURN_LABEL, labelled

warnings.filterwarnings("ignore", message=".*LightGBM binary classifier.*")


def _timed(fn: Callable[[], np.ndarray]) -> tuple[np.ndarray, float, float]:
    """Result, wall seconds and CPU seconds of this process."""
    cpu, wall = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def _reference_shape(trained, cfg: TrainingConfig) -> ModelBundle:
    """The reference shape: 300 trees of 31 leaves, no depth limit, no early stopping."""
    bundle = trained.churn
    train = labelled(trained.split.train, CHURN_LABEL)
    shape = BoosterParams(num_leaves=31, max_depth=-1, max_rounds=300)
    params = lgb_params(shape, {"objective": "binary"}, cfg)
    data = lgb.Dataset(
        bundle.matrix(train),
        train[CHURN_LABEL].to_numpy(float),
        categorical_feature=list(bundle.categorical_features),
    )
    booster = lgb.train(params, data, num_boost_round=300)
    return ModelBundle("churn", booster, bundle.feature_names, bundle.categories)


def _shape(bundle: ModelBundle, test: pd.DataFrame) -> str:
    """Tree count, mean leaves and the test cutoff's ROC-AUC (what the shape costs in quality)."""
    from sklearn.metrics import roc_auc_score

    dump = bundle.booster.dump_model()["tree_info"]
    leaves = np.mean([t["num_leaves"] for t in dump])
    rows = labelled(test, CHURN_LABEL)
    auc = roc_auc_score(rows[CHURN_LABEL], bundle.raw_predict(rows))
    return f"{len(dump)} trees, {leaves:.1f} leaves on average, test ROC-AUC {auc:.4f}"


def bench_model(
    name: str, bundle: ModelBundle, x: np.ndarray, threads: int, test: pd.DataFrame
) -> list[dict]:
    """Every method on the same rows; the first row is the reference."""
    rows: list[dict] = []
    reference: np.ndarray | None = None
    base_rate = 0.0

    def record(method: str, fn: Callable[[], np.ndarray], note: str = "") -> np.ndarray:
        nonlocal reference, base_rate
        out, wall, cpu = _timed(fn)
        if reference is None:
            reference, base_rate = out, len(x) / wall
        rate = len(x) / wall
        rows.append(
            {
                "model": name,
                "method": method,
                "rows/s": round(rate),
                "ms/row (cpu)": round(1000 * cpu / len(x), 4),
                "vs TreeExplainer": round(rate / base_rate, 2),
                "max |diff|": float(np.abs(out - reference).max()),
                "note": note,
            }
        )
        print(f"  {method:<44} {rate:>10,.0f} rows/s  {rate / base_rate:6.2f}x  {note}")
        return out

    booster = bundle.booster
    print(f"{name}: {_shape(bundle, test)}; {len(x):,} rows, {x.shape[1]} features")
    explainer = shap.TreeExplainer(booster)
    record(
        "shap.TreeExplainer (tree_path_dependent)",
        lambda: np.c_[explainer.shap_values(x), np.full(len(x), explainer.expected_value)],
        "calls LightGBM pred_contrib",
    )
    for t in sorted({1, threads}):
        record(
            f"lightgbm pred_contrib, {t} thread(s)",
            lambda t=t: booster.predict(x, pred_contrib=True, num_threads=t),
        )
    internal = shap.TreeExplainer(booster)
    internal.model.model_type = "internal"  # shap's own C++ TreeSHAP, not LightGBM's
    cats = ", wrong on categorical splits" if bundle.categorical_features else ""
    record(
        "shap C++ TreeSHAP (own parser)",
        lambda: np.c_[
            internal.shap_values(x, check_additivity=False),
            np.full(len(x), float(np.ravel(internal.expected_value)[0])),
        ],
        f"single thread{cats}",
    )
    started = time.perf_counter()
    trees = compile_booster(booster)
    if trees is None:
        print("  tabulated TreeSHAP: model too deep to tabulate; FastExplainer uses pred_contrib")
        return rows
    tree_shap(trees, x[:8])  # compiled (or loaded from numba's cache) outside the timing
    setup = time.perf_counter() - started
    note = f"setup {setup:.2f} s, tables {trees.table.nbytes / 1e6:.1f} MB"
    for t in sorted({1, threads}):
        record(
            f"tabulated TreeSHAP (numba), {t} thread(s)", lambda t=t: tree_shap(trees, x, t), note
        )
    return rows


def bench_asked_and_cached(bundle: ModelBundle, frame: pd.DataFrame, threads: int) -> list[str]:
    """Explaining only the asked rows (the at-risk list) and reading cached explanations."""
    lines: list[str] = []
    fast = FastExplainer(bundle, threads)
    p = bundle.predict(frame)
    top = frame.iloc[np.argsort(-p, kind="stable")[: max(1, len(frame) // 20)]]
    _, wall, _ = _timed(lambda: fast.contributions(top))
    lines.append(
        f"top 5% at-risk list only: {len(top):,} of {len(frame):,} rows in {wall:.2f} s "
        f"({len(frame) / wall:,.0f} base rows/s equivalent)"
    )
    contrib, wall_all, _ = _timed(lambda: fast.contributions(frame))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "contributions.parquet"
        contrib.assign(customer_id=frame["customer_id"].to_numpy()).to_parquet(path)
        back, wall_read, _ = _timed(lambda: pd.read_parquet(path))
    diff = np.abs(back.drop(columns="customer_id").to_numpy() - contrib.to_numpy()).max()
    lines.append(
        f"cache hit (model version, as-of) from Parquet: {len(frame) / wall_read:,.0f} rows/s "
        f"vs computing {len(frame) / wall_all:,.0f} rows/s (max |diff| {diff:.1e})"
    )
    one = frame.iloc[[0]]
    _, wall_one, _ = _timed(lambda: bundle.contributions(one))
    lines.append(f"one customer with pred_contrib: {1000 * wall_one:.2f} ms")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000, help="customers to explain")
    ap.add_argument("--customers", type=int, default=5000, help="demo customers to train on")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    print(f"training on {args.customers:,} generated customers ...")
    ds = generate(args.customers, seed=args.seed).dataset
    features, cfg = FeatureConfig(), TrainingConfig(num_threads=args.threads)
    plan = plan_for(ds, features, cfg)
    trained = fit_models(build_training_set(ds, plan.all, features), plan, features, cfg)
    test = trained.split.test
    rng = np.random.default_rng(args.seed)
    base = test.iloc[rng.integers(0, len(test), args.rows)].reset_index(drop=True)
    base["customer_id"] = [f"B{i:07d}" for i in range(len(base))]
    x = trained.churn.matrix(base).to_numpy(np.float64)
    print(f"{os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.1f}\n")

    reference = _reference_shape(trained, cfg)
    results = bench_model("project shape", trained.churn, x, args.threads, test)
    results += bench_model("issue-7 reference", reference, x, args.threads, test)
    print()
    print(pd.DataFrame(results).to_string(index=False))
    print()
    for line in bench_asked_and_cached(trained.churn, base, args.threads):
        print(line)
    contrib = FastExplainer(trained.churn).contributions(base.head(1000))
    raw = trained.churn.raw_predict(base.head(1000))
    err = np.abs(contrib.sum(axis=1) - np.log(raw / (1 - raw))).max()
    print(f"contributions sum to the raw log-odds within {err:.1e}; bias column {BIAS_COLUMN!r}")


if __name__ == "__main__":
    main()
