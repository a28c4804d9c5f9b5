"""The Spark engine against the pandas and DuckDB engines on the same generated book, and the peak
memory of ``churn train`` (training stays on one machine).

Engines: each builds the same multi-cutoff feature table in a fresh process; the script prints
feature rows per second (the build, and for Spark also without its start-up) and the peak memory
of the process and its children (Spark's JVM included), sampled every 50 ms.

    .venv/bin/python benchmarks/spark.py engines --customers 20000 --cutoffs 3
    .venv/bin/python benchmarks/spark.py train-memory --customers 130000

``train-memory`` runs ``churn train`` (the pandas engine, 6 training cutoffs) on a generated book
into a temporary MLflow store and prints the customer-cutoff rows and the peak memory.
"""

# ruff: noqa: E402 - the sys.path fix below must run before the project imports

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import psutil

ENGINES = ("pandas", "duckdb", "spark")


def peak_rss(cmd: list[str], env: dict[str, str] | None = None) -> tuple[int, float, str]:
    """Run ``cmd``; (peak RSS in bytes of it and its descendants, wall seconds, its stdout)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        root = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in procs if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.05)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    out, _ = proc.communicate()
    done.set()
    thread.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} ... failed with exit code {proc.returncode}")
    return peak, time.perf_counter() - start, out


def child(data: str, engine: str, cutoffs: int) -> None:
    """In a fresh process: build the training table with ``engine``; print timings as JSON."""
    import warnings

    warnings.simplefilter("ignore", FutureWarning)
    from features.config import FeatureConfig
    from features.engines.dispatch import use_engine
    from features.loaders import load_dataset
    from features.pipeline.build import build_training_set, monthly_cutoffs

    ds = load_dataset(data)
    cuts = monthly_cutoffs(ds, cutoffs, 90)
    t0 = time.perf_counter()
    session = None
    if engine == "spark":
        from features.engines.spark import spark_session

        session = spark_session("local[*]", {"spark.driver.memory": "4g"})
    t1 = time.perf_counter()
    with use_engine(engine, session):  # type: ignore[arg-type]
        frame = build_training_set(ds, cuts, FeatureConfig())
    t2 = time.perf_counter()
    print(json.dumps({"rows": len(frame), "start_s": t1 - t0, "build_s": t2 - t1}))


def engines(args: argparse.Namespace) -> None:
    from features.synthetic.generator import generate, write_dataset

    data = Path(args.work) / f"book_{args.customers}"
    if not data.exists():
        write_dataset(generate(args.customers, seed=args.seed), data, "parquet")
    print(f"book: {args.customers:,} customers, {args.cutoffs} monthly cutoffs, {data}")
    print(f"{'engine':<8} {'rows':>9} {'start s':>8} {'build s':>8} {'rows/s':>9} {'peak MB':>8}")
    for engine in args.engines:
        cmd = [sys.executable, __file__, "_child", str(data), engine, str(args.cutoffs)]
        peak, _, out = peak_rss(cmd)
        r = json.loads(out.strip().splitlines()[-1])
        print(
            f"{engine:<8} {r['rows']:>9,} {r['start_s']:>8.1f} {r['build_s']:>8.1f} "
            f"{r['rows'] / r['build_s']:>9,.0f} {peak / 2**20:>8,.0f}"
        )


def train_memory(args: argparse.Namespace) -> None:
    import os

    import pandas as pd

    from features.synthetic.generator import generate, write_dataset

    data = Path(args.work) / f"book_{args.customers}"
    if not data.exists():
        write_dataset(generate(args.customers, seed=args.seed), data, "parquet")
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        env = {**os.environ, "CHURN_HOME": tmp, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp}/m.db"}
        churn = str(Path(sys.executable).parent / "churn")
        cmd = [churn, "train", "--data", str(data), "--train-cutoffs", "6", "--format", "json"]
        cmd += ["--max-train-rows", str(10**9)]
        peak, wall, _ = peak_rss(cmd, env)
    customers = pd.read_parquet(data / "customers.parquet", columns=["customer_id"])
    rows = rows_of(data)
    print(
        f"churn train: {len(customers):,} customers, {rows:,} customer-cutoff rows, "
        f"{wall:.0f} s, peak {peak / 2**20:,.0f} MB ({peak / rows:,.0f} bytes per row)"
    )


def rows_of(data: Path) -> int:
    """Customer-cutoff rows of the training table ``churn train`` builds (its time split)."""
    from features.config import FeatureConfig
    from features.loaders import load_dataset
    from features.pipeline.build import build_training_set
    from training.config import TrainingConfig
    from training.job import plan_for

    ds = load_dataset(data)
    plan = plan_for(ds, FeatureConfig(), TrainingConfig())
    return len(build_training_set(ds, list(plan.all), FeatureConfig()))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    eng = sub.add_parser("engines", help="pandas vs DuckDB vs Spark on one book")
    eng.add_argument("--customers", type=int, default=20000)
    eng.add_argument("--cutoffs", type=int, default=3)
    eng.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    mem = sub.add_parser("train-memory", help="peak memory of churn train")
    mem.add_argument("--customers", type=int, default=130000)
    for p in (eng, mem):
        p.add_argument("--seed", type=int, default=7)
        p.add_argument("--work", default=tempfile.gettempdir(), help="where books are written")
    args = parser.parse_args()
    (engines if args.what == "engines" else train_memory)(args)


if __name__ == "__main__":
    main()
