"""Loading a data set folder against a bare pandas read of the same files, in one run.

    python benchmarks/loading.py                         # 100,000 generated customers, Parquet
    python benchmarks/loading.py --customers 30000 --format csv
    python benchmarks/loading.py --data DIR              # a folder you already have

The product's side is :func:`features.loaders.load_dataset` (read, parse every column to the
contract's type, check every row, quarantine the bad ones, resolve the as-of date). The floor is
``pd.read_parquet`` (or ``pd.read_csv``) of each table file and nothing else. Each side runs
``--runs`` times (3), alternating, after one untimed warm-up of each that fills the disk cache;
the table gives the medians, the ratio (goal: at most 2x) and the product's time per table.
"""

# ruff: noqa: E402 - the sys.path fix below must run before the project imports

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

# Run as ``python benchmarks/loading.py``, this folder is first on sys.path and its
# ``features.py`` would shadow the project's package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from core.process import set_process_defaults

set_process_defaults()  # the allocator churn's commands use, for both sides

import pandas as pd

from features.contract import TABLES
from features.loaders import find_table_files, load_dataset, parse_table, read_raw

GOAL = 2.0


def bare_read(files: dict[str, Path]) -> None:
    """The floor: each file read by pandas, nothing checked."""
    for path in files.values():
        if path.suffix == ".parquet":
            pd.read_parquet(path)
        else:
            pd.read_csv(path)


def per_table(files: dict[str, Path]) -> dict[str, tuple[int, float, float]]:
    """Per table: rows, bare read seconds and the product's read-and-parse seconds."""
    out = {}
    for name, path in files.items():
        start = time.perf_counter()
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
        bare = time.perf_counter() - start
        start = time.perf_counter()
        parse_table(read_raw(path, "utf-8"), TABLES[name], path.name)
        out[name] = (len(frame), bare, time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    parser.add_argument("--data", type=Path, help="A data set folder (default: generate one).")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.data
        if folder is None:
            from features.synthetic.generator import generate, write_dataset

            folder = Path(tmp) / "data"
            print(f"generating {args.customers:,} customers ({args.format}) ...", flush=True)
            write_dataset(generate(args.customers, seed=7), folder, fmt=args.format)
        files = find_table_files(folder)
        sides = {"pandas read (floor)": lambda: bare_read(files), "load_dataset": None}
        sides["load_dataset"] = lambda: load_dataset(folder)
        times: dict[str, list[float]] = {k: [] for k in sides}
        for run in sides.values():
            run()  # warm-up: disk cache
        for _ in range(args.runs):
            for name, run in sides.items():
                start = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - start)
        tables = per_table(files)
    floor = statistics.median(times["pandas read (floor)"])
    ours = statistics.median(times["load_dataset"])
    print(f"\n{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; {folder}")
    for name, ts in times.items():
        runs = " ".join(f"{t:.2f}" for t in ts)
        print(f"{name:22s} median {statistics.median(ts):7.2f} s  (runs: {runs})")
    verdict = "met" if ours <= GOAL * floor else "NOT met"
    print(f"ratio load_dataset / pandas read: {ours / floor:.2f}x (goal <= {GOAL:g}x: {verdict})")
    print("\nper table: rows, pandas read s, read + parse s (the rest is the row checks)")
    for name, (rows, bare, parsed) in tables.items():
        print(f"  {name:18s} {rows:>10,}  {bare:6.2f}  {parsed:6.2f}")


if __name__ == "__main__":
    main()
