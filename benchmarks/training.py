"""Training time and peak memory of ``churn train`` at 100,000 and 1,000,000 customer-cutoff rows,
and its overhead against a bare ``lightgbm.train`` on the same matrix.

    .venv/bin/python benchmarks/training.py                       # both sizes
    .venv/bin/python benchmarks/training.py --rows 100000         # one size

For each size: generate a data set whose training set has about that many rows and write it as
Parquet (not timed); then, in a fresh process, load it and run the whole training job (features,
both models, baselines, MLflow logging, registration, gate) into a temporary store, recording
wall time per step and the process's peak RSS; finally train the churn booster again with bare
``lightgbm.train`` on the job's own training matrix for the same number of rounds (the rounds
the job trained, early stopping included). Ratio = whole job / bare churn booster.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROWS_PER_CUSTOMER_PROBE = 3000  # customers in the probe that estimates rows per customer


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def customers_for(rows: int, seed: int) -> int:
    """Customers whose training set has about ``rows`` customer-cutoff rows (from a probe)."""
    from features.config import FeatureConfig
    from features.pipeline.build import build_training_set
    from features.synthetic.generator import generate
    from training.config import TrainingConfig
    from training.job import plan_for

    ds = generate(ROWS_PER_CUSTOMER_PROBE, seed=seed).dataset
    features, cfg = FeatureConfig(), TrainingConfig()
    frame = build_training_set(ds, plan_for(ds, features, cfg).all, features)
    return max(100, round(rows * ROWS_PER_CUSTOMER_PROBE / len(frame)))


def child(data: Path, home: Path, threads: int | None) -> dict:
    """Run in a fresh process: load, train (whole job), then bare lightgbm on the same matrix."""
    os.environ["CHURN_HOME"] = str(home)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    import lightgbm as lgb

    from core.bundle import encode_features
    from features.loaders import load_dataset
    from training.boosting import lgb_params
    from training.config import TrainingConfig
    from training.job import train
    from training.spec import CHURN_LABEL, labelled

    cfg = TrainingConfig() if threads is None else TrainingConfig(num_threads=threads)
    t0 = time.perf_counter()
    ds = load_dataset(data)
    t1 = time.perf_counter()
    result = train(ds, cfg, progress=False)
    t2 = time.perf_counter()
    peak_job = _peak_mb()

    trained = result.trained
    rows = labelled(trained.split.train, CHURN_LABEL)
    x = encode_features(rows, trained.spec.names, trained.spec.categories)
    y = rows[CHURN_LABEL].to_numpy(float)
    params = lgb_params(cfg.churn.params, {"objective": "binary"}, cfg)
    rounds = min(
        trained.churn_fit.best_iteration + cfg.early_stopping_rounds, cfg.churn.params.max_rounds
    )
    t3 = time.perf_counter()
    lgb.train(
        params,
        lgb.Dataset(x, y, categorical_feature=trained.spec.categorical, params=params),
        num_boost_round=rounds,
    )
    bare = time.perf_counter() - t3
    n_rows = len(trained.split.train) + len(trained.split.calibration) + len(trained.split.test)
    return {
        "rows": n_rows,
        "train_rows": len(rows),
        "features": len(trained.spec.names),
        "customers": len(ds.tables["customers"]),
        "load_s": t1 - t0,
        "job_s": t2 - t1,
        "steps_s": {**result.timings, **{f"models.{k}": v for k, v in trained.timings.items()}},
        "bare_lightgbm_s": bare,
        "bare_rounds": rounds,
        "overhead_ratio": (t2 - t1) / bare,
        "peak_rss_mb": peak_job,
        "threads": cfg.num_threads,
        "test_metrics": {
            "churn": {k: v["roc_auc"] for k, v in trained.evaluation.churn.items()},
            "value": {k: v["spearman"] for k, v in trained.evaluation.value.items()},
        },
    }


def run_size(rows: int, seed: int, threads: int | None) -> dict:
    """Generate the data (untimed), then time the job in a fresh process."""
    from features.synthetic.generator import generate, write_dataset

    n = customers_for(rows, seed)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        write_dataset(generate(n, seed=seed), data)
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(data), str(Path(tmp) / "home")]
            + ([] if threads is None else ["--threads", str(threads)]),
            capture_output=True,
            text=True,
            cwd=tmp,
            check=False,
        )
    if out.returncode != 0:
        raise SystemExit(f"benchmark child failed for {rows:,} rows:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(r: dict) -> str:
    steps = ", ".join(f"{k} {v:.1f}s" for k, v in r["steps_s"].items())
    return (
        f"{r['rows']:>9,} customer-cutoff rows ({r['customers']:,} customers, "
        f"{r['train_rows']:,} training rows x {r['features']} features)\n"
        f"  load {r['load_s']:.1f}s; whole training job {r['job_s']:.1f}s ({steps})\n"
        f"  bare lightgbm.train, same matrix, {r['bare_rounds']} rounds, "
        f"{r['threads']} thread(s): "
        f"{r['bare_lightgbm_s']:.1f}s -> overhead ratio {r['overhead_ratio']:.1f}x\n"
        f"  peak RSS {r['peak_rss_mb']:,.0f} MB\n"
        f"  test ROC-AUC {json.dumps(r['test_metrics']['churn'])}\n"
        f"  test Spearman {json.dumps(r['test_metrics']['value'])}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--threads", type=int, help="LightGBM threads (default: the training config's)."
    )
    parser.add_argument("--json", type=Path, help="Also write the results to this JSON file.")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(Path(args.child[0]), Path(args.child[1]), args.threads)))
        return
    print(f"cpus: {os.cpu_count()}; load average {os.getloadavg()[0]:.1f} at start")
    results = []
    for rows in args.rows:
        r = run_size(rows, args.seed, args.threads)
        results.append(r)
        print(report(r), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
