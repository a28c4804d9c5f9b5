"""Batch scoring at scale: ``churn score``'s steps on a million customers, in rows per second.

    .venv/bin/python benchmarks/batch_scoring.py                          # 1,000,000 rows
    .venv/bin/python benchmarks/batch_scoring.py --customers 200000
    .venv/bin/python benchmarks/batch_scoring.py --home /tmp/demo         # its champions
    .venv/bin/python benchmarks/batch_scoring.py --store postgresql+psycopg://churn@/churn?host=/tmp

The champions of ``--home`` (default: a project built here with the default training
configuration on ``--generate`` customers) score ``--customers`` rows; features come from the
project's data, or from a book of ``--book`` customers generated here. Generating a million
customers' events takes far longer than scoring them, so the feature step is timed on the
generated book (``build_features`` at its as-of date, rows per second at that size) and the
million-row feature frame is synthesised from it: its rows drawn with replacement under new
customer ids, with the stored columns (lifecycle, reasons, action) of the drawn customers.

``score_customers``' own step times on the book (``Phases``) are printed first. Steps timed,
each in rows per second, with the process's peak memory after it:

- ``features``: ``build_features`` on the generated book;
- ``models``: ``score_frame`` (churn model, its calibration, value model, value at risk, band),
  with every core, best of ``--repeat`` runs (3); beside it both boosters' ``predict`` alone on
  the encoded matrix (the floor), likewise;
- ``compiled``: each champion's compiled trees (:mod:`scoring.compiled`) against its bare
  ``Booster.predict`` on the same float matrix with the same threads, best of ``--repeat``, with
  the largest relative difference (goal: 1.5x at 1,000,000 rows);
- ``reasons``: the batch's reasons step (compiled TreeSHAP kernel and the sentences as stored)
  against the bare kernel on the same ``--reason-rows`` rows (default 50,000; goal: 1.3x), the
  kernel warmed first, best of ``--repeat`` alternating runs; and the old per-row path (LightGBM ``pred_contrib``, a sentence per row)
  on ``--old-reason-rows`` (5,000) of them;
- ``store``: ``PredictionStore.write_scores`` (features and predictions in one transaction;
  SQLite by default, ``--store`` for another database).
"""

# ruff: noqa: E402 - the sys.path fix below must run before the project imports

from __future__ import annotations

import sys
from pathlib import Path

# Run as ``python benchmarks/batch_scoring.py``, this folder is first on sys.path and its
# ``features.py`` / ``training.py`` would shadow the project's packages.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse
import os
import resource
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pandas as pd


def peak_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_project(home: Path, customers: int) -> None:
    """Generate a book and train the champions with the default training configuration."""
    from core.paths import tracking_uri
    from features.synthetic.generator import generate, write_dataset
    from training.config import TrainingConfig
    from training.job import train

    generated = generate(customers, seed=5)
    write_dataset(generated, home / "data", "parquet")
    train(generated.dataset, TrainingConfig(), tracking_uri=tracking_uri(), progress=False)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1_000_000, help="rows to score")
    parser.add_argument("--home", type=Path, help="CHURN_HOME with champions and data/")
    parser.add_argument("--generate", type=int, default=20_000, help="book size when building")
    parser.add_argument(
        "--book",
        type=int,
        default=0,
        help="generate a book of this many customers to build "
        "features from (default: the project's data)",
    )
    parser.add_argument("--reason-rows", type=int, default=50_000, help="rows to explain")
    parser.add_argument("--old-reason-rows", type=int, default=5_000, help="rows, per-row path")
    parser.add_argument("--store", help="SQLAlchemy URL (default: SQLite in a tmp dir)")
    parser.add_argument("--no-store", action="store_true", help="skip the store step")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="runs of the models step (best)")
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="churn-batch-bench-")
    scratch = Path(tmp.name)
    home = args.home.resolve() if args.home else scratch / "home"
    os.environ["CHURN_HOME"] = str(home)

    from core.phases import Phases
    from features.loaders import load_dataset
    from features.pipeline.build import build_features
    from scoring.batch.job import churn_contributions, score_customers
    from scoring.champions import load_champions
    from scoring.compiled import compiled_booster
    from scoring.config import ServingConfig
    from scoring.frame import score_frame
    from scoring.reasons import risk_reason_json, risk_reasons
    from scoring.store.predictions import PredictionStore, ScoringRun
    from scoring.treeshap.kernel import compile_booster, tree_shap

    data = home / "data" if (home / "data").is_dir() else home / "demo-run" / "data"
    if args.home is None:
        print(f"building a {args.generate:,}-customer project in {home} ...", flush=True)
        build_project(home, args.generate)
        data = home / "data"
    cfg = ServingConfig()
    champions = load_champions(cfg.models, cfg.resolved_tracking_uri())
    if args.book:
        from features.synthetic.generator import generate

        print(f"generating a {args.book:,}-customer book ...", flush=True)
        ds = generate(args.book, seed=args.seed + 1).dataset
    else:
        ds = load_dataset(data)
    asof = ds.as_of.normalize()
    figures: list[tuple[str, int, float, float]] = []
    spread: list[list[float]] = []

    t = time.perf_counter()
    book = build_features(ds, asof, champions.feature_config(), labels=False)
    figures.append(("features (generated book)", len(book), time.perf_counter() - t, peak_mb()))
    phases = Phases()
    batch = score_customers(ds, asof, champions, cfg, phases)  # the book's stored columns
    print(f"score_customers on the book ({len(book):,} rows), by step:\n{phases.table()}")
    stored = batch.predictions.set_index("customer_id").loc[book["customer_id"]].reset_index()

    rng = np.random.default_rng(args.seed)
    drawn = rng.integers(0, len(book), args.customers)
    ids = pd.array([f"S{i:09d}" for i in range(args.customers)], dtype="str")
    features = book.iloc[drawn].reset_index(drop=True)
    features["customer_id"] = ids
    extra = stored.iloc[drawn].reset_index(drop=True)
    extra["customer_id"] = ids
    print(
        f"{args.customers:,} feature rows drawn from {len(book):,} customers; "
        f"{len(champions.feature_names)} features; churn-model v{champions.churn_version} "
        f"({champions.churn.booster.num_trees()} trees), value-model "
        f"v{champions.value_version} ({champions.value.booster.num_trees()} trees)",
        flush=True,
    )

    runs = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        scores = score_frame(features, champions, cfg.risk_bands)
        runs.append(time.perf_counter() - t)
    figures.append(("models (churn+calib+value)", len(features), min(runs), peak_mb()))
    spread.append(runs)

    x = champions.churn.encoded(features)
    runs = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        champions.churn.booster.predict(x, num_threads=0)
        champions.value.booster.predict(x, num_threads=0)
        runs.append(time.perf_counter() - t)
    figures.append(("  LightGBM predict alone", len(features), min(runs), peak_mb()))
    spread.append(runs)

    threads = os.cpu_count() or 1
    ratios = []
    for bundle, name, version in (
        (champions.churn, cfg.models.churn, champions.churn_version),
        (champions.value, cfg.models.value, champions.value_version),
    ):
        model = compiled_booster(bundle.booster, name, version, x)
        if model is None:
            print(f"{name}: no compiled trees (see the log); LightGBM scores it")
            continue
        bare, fast = [], []
        for _ in range(args.repeat):
            t = time.perf_counter()
            want = bundle.booster.predict(x, num_threads=threads)
            bare.append(time.perf_counter() - t)
            t = time.perf_counter()
            got = model.predict(x)
            fast.append(time.perf_counter() - t)
        rel = float(np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-300)))
        ratios.append(f"{name}: {min(bare) / min(fast):.2f}x (max relative difference {rel:.1e})")
        figures.append((f"  {name} compiled", len(features), min(fast), peak_mb()))
        figures.append((f"  {name} Booster.predict", len(features), min(bare), peak_mb()))
    del x

    sample = features.head(min(args.reason_rows, len(features)))
    trees = compile_booster(champions.churn.booster)
    xs = champions.churn.encoded(sample)
    assert trees is not None
    tree_shap(trees, xs[:100])  # numba loads its compiled kernel once per process
    kernel_runs, reason_runs = [], []
    for _ in range(args.repeat):  # alternating, so both sides meet the same machine
        t = time.perf_counter()
        tree_shap(trees, xs)
        kernel_runs.append(time.perf_counter() - t)
        t = time.perf_counter()
        contributions = churn_contributions(champions, sample)
        risk_reason_json(sample, champions.churn, cfg.lists.reasons, contributions)
        reason_runs.append(time.perf_counter() - t)
    kernel_s, reasons_s = min(kernel_runs), min(reason_runs)
    figures.append(("  TreeSHAP kernel alone", len(sample), kernel_s, peak_mb()))
    figures.append(("reasons (batch step)", len(sample), reasons_s, peak_mb()))
    spread.append(kernel_runs)
    spread.append(reason_runs)
    old = sample.head(min(args.old_reason_rows, len(sample)))
    t = time.perf_counter()
    risk_reasons(old, champions.churn, cfg.lists.reasons, "en")
    figures.append(("  reasons, old per-row path", len(old), time.perf_counter() - t, peak_mb()))

    predictions = extra.drop(columns=scores.columns).join(scores)
    run = ScoringRun(
        asof=f"{asof:%Y-%m-%d}",
        scored_at=datetime.now(UTC).replace(tzinfo=None),
        n_customers=len(predictions),
        churn_model=cfg.models.churn,
        churn_model_version=champions.churn_version,
        value_model=cfg.models.value,
        value_model_version=champions.value_version,
        feature_names=champions.feature_names,
        source=str(data),
    )
    if not args.no_store:
        store = PredictionStore(args.store or f"sqlite:///{scratch / 'serving.db'}")
        categorical = [f for f in champions.feature_names if f in champions.categories]
        t = time.perf_counter()
        store.write_scores(run, features, categorical, predictions)
        figures.append(("store writes", len(features), time.perf_counter() - t, peak_mb()))
        written = store.run(run.asof).n_customers
        store.close()
        assert written == args.customers, written
    load = os.getloadavg()[0]
    print(
        f"\n{os.cpu_count()} cores, load average {load:.1f}; as of {replace(run, source='').asof}"
    )
    print(f"{'step':<30}{'rows':>11}{'seconds':>9}{'rows/s':>11}{'peak MB':>9}")
    for name, rows, seconds, mb in figures:
        print(f"{name:<30}{rows:>11,}{seconds:>9.2f}{rows / seconds:>11,.0f}{mb:>9,.0f}")
    print(f"reasons step / bare kernel on the same rows: {reasons_s / kernel_s:.2f}x (goal 1.3x)")
    for line in ratios:
        print(f"compiled trees / Booster.predict, {threads} threads: {line} (goal 1.5x)")
    names = ("models step", "LightGBM alone", "TreeSHAP kernel", "reasons step")
    for name, runs in zip(names, spread, strict=True):
        shown = ", ".join(f"{t:.2f}" for t in runs)
        print(f"{name}: best of {args.repeat} runs ({shown} s)")
    tmp.cleanup()


if __name__ == "__main__":
    main()
