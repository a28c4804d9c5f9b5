"""Benchmark of the feature pipeline: build time, events per second and peak memory on generated
data, against the same feature definitions run as DuckDB SQL in the same process.

    python benchmarks/features.py                      # 100,000 customers
    python benchmarks/features.py --sizes 100000 1000000

Two comparisons, both on one cutoff (the last labelled month start):
- RFM core: the transaction window aggregates (counts, revenue, last purchase, gaps) from the raw
  transactions table, pandas/numpy engine against the SQL of ``features.engines.sql`` run by DuckDB;
- full build: ``build_features`` with ``engine=pandas`` against ``engine=duckdb`` (the same specs
  as SQL; ratios, scores and labels are shared code).
Ratios above 1 mean pandas is slower. Peak memory is the process's resident set size sampled
every 10 ms while a step runs, and in brackets what the step added to the data set's own RSS.
"""

# ruff: noqa: E402 - the sys.path fix below must run before the project imports

from __future__ import annotations

import argparse
import gc
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

# Run as ``python benchmarks/features.py``, this folder is first on sys.path and this file's
# name would shadow the ``features`` package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import duckdb
import numpy as np

from features.config import FeatureConfig
from features.dataset import Dataset
from features.engines.sql import aggregate_sql, prepared_sql
from features.pipeline.aggregate import aggregate
from features.pipeline.build import features_at, monthly_cutoffs, plan_features
from features.pipeline.cutoffs import timestamp_days
from features.pipeline.population import prepare_customers
from features.pipeline.rfm import prepare_transactions, rfm_specs
from features.synthetic.generator import generate


def rss_mb() -> float:
    """Resident set size of this process in MiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(step: Callable[[], object]) -> tuple[float, float, object]:
    """(seconds, peak RSS MiB, result) of one call, RSS sampled every 10 ms."""
    gc.collect()
    peak = [rss_mb()]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.01):
            peak[0] = max(peak[0], rss_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    result = step()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    return seconds, max(peak[0], rss_mb()), result


def rfm_pandas(ds: Dataset, cfg: FeatureConfig, day: float) -> dict[str, np.ndarray]:
    customers = prepare_customers(ds)
    return aggregate(prepare_transactions(ds, customers), rfm_specs(cfg), day)


def rfm_duckdb(ds: Dataset, cfg: FeatureConfig, day: float) -> int:
    con = duckdb.connect()
    con.register("transactions", ds.tables["transactions"])
    prep = prepared_sql("transactions", {"t", "amount", "gap", "gap_sq"}, cfg, "duckdb")
    sql = aggregate_sql(f"({prep})", rfm_specs(cfg), day)
    rows = len(con.execute(sql).df())
    con.close()
    return rows


def full_build(ds: Dataset, cfg: FeatureConfig, cutoff) -> int:
    return len(features_at(plan_features(ds, cfg), cutoff))


def run(n: int, seed: int) -> None:
    t0 = time.perf_counter()
    ds = generate(n, seed).dataset
    gen_s = time.perf_counter() - t0
    events = sum(len(ds.tables[t]) for t in ("transactions", "interactions", "complaints"))
    n_tx = len(ds.tables["transactions"])
    cutoff = monthly_cutoffs(ds, 1, 90)[-1]
    day = timestamp_days(cutoff)
    pandas_cfg, duck_cfg = FeatureConfig(), FeatureConfig(engine="duckdb")
    print(
        f"\n== {n:,} customers, {events:,} events ({n_tx:,} transactions), cutoff {cutoff.date()}"
    )
    gc.collect()
    data_mb = rss_mb()
    print(f"   generated in {gen_s:.1f} s; process RSS with the data set: {data_mb:,.0f} MiB")

    results = {}
    for name, step, count in (
        ("RFM core, pandas", lambda: rfm_pandas(ds, pandas_cfg, day), n_tx),
        ("RFM core, DuckDB SQL", lambda: rfm_duckdb(ds, pandas_cfg, day), n_tx),
        ("full build, pandas", lambda: full_build(ds, pandas_cfg, cutoff), events),
        ("full build, DuckDB SQL", lambda: full_build(ds, duck_cfg, cutoff), events),
    ):
        seconds, peak, _ = measure(step)
        results[name] = seconds
        print(
            f"   {name:<24} {seconds:8.2f} s  {count / seconds:14,.0f} events/s  "
            f"peak RSS {peak:,.0f} MiB (+{peak - data_mb:,.0f})"
        )
    rfm = results["RFM core, pandas"] / results["RFM core, DuckDB SQL"]
    full = results["full build, pandas"] / results["full build, DuckDB SQL"]
    print(f"   ratio pandas / DuckDB: RFM core {rfm:.2f}x, full build {full:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000], help="customers")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    threads = duckdb.connect().execute("SELECT current_setting('threads')").fetchone()[0]
    print(f"feature pipeline benchmark (DuckDB {duckdb.__version__}, {threads} threads)")
    for n in args.sizes:
        run(n, args.seed)
        gc.collect()


if __name__ == "__main__":
    main()
