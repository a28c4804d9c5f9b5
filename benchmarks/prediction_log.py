"""The API's prediction log measured in one process: what a request pays to log its answers, and
how fast a flush counts and writes them, against a floor and a peer run here.

- request path: ``PredictionLog.add`` of one single-record answer against a bare
  ``deque.append`` of the same tuple (the floor: what any in-memory buffer pays);
- flush: ``PredictionLog.flush`` of ``--rows`` buffered answers (frame, histogram, bulk insert and
  trim in one transaction) into a fresh SQLite store, against ``pandas.DataFrame.to_sql`` of the
  same frame (the peer: the usual way to write a frame) and the store's bulk insert alone.

    .venv/bin/python benchmarks/prediction_log.py [--rows 100000] [--requests 200000]
"""

# ruff: noqa: E402 - the sys.path fix below must run before the project imports

from __future__ import annotations

import sys
from pathlib import Path

# Run as ``python benchmarks/prediction_log.py``, this folder is first on sys.path and its
# ``features.py`` / ``training.py`` would shadow the project's packages.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse
import tempfile
import time
from collections import deque
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import sqlalchemy as sa
from prometheus_client import CollectorRegistry

from scoring.config import PredictionLogConfig
from scoring.store.predictions import PredictionStore, bulk_insert
from scoring.store.schema import API_PREDICTIONS
from serving.metrics import ServiceMetrics
from serving.prediction_log import PredictionLog
from serving.schemas import Prediction


def answers(n: int, seed: int = 0) -> list[Prediction]:
    rng = np.random.default_rng(seed)
    p = rng.beta(1, 4, n)
    return [
        Prediction.model_construct(
            customer_id=f"C{i:07d}",
            churn_probability=float(q),
            predicted_value=float(v),
            expected_value_at_risk=float(q * v),
            risk_band="high" if q >= 0.5 else ("medium" if q >= 0.2 else "low"),
            churn_model_version="3",
            value_model_version="4",
        )
        for i, (q, v) in enumerate(zip(p, rng.gamma(2, 150, n), strict=True))
    ]


def per_call_us(fn, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000, help="rows per flush")
    parser.add_argument("--requests", type=int, default=200_000, help="add() calls timed")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="churn-bench-log-"))

    one = answers(1)
    cfg = PredictionLogConfig(buffer_rows=10 * args.requests)
    log = PredictionLog(cfg, None, None)
    floor: deque = deque()
    add = per_call_us(lambda: log.add("predict", one), args.requests)
    bare = per_call_us(
        lambda: floor.append((datetime.now(UTC), "predict", None, one, None)), args.requests
    )
    print(f"request path, one answer: add {add:.2f} us, bare deque.append {bare:.2f} us")

    preds = answers(args.rows)
    managers = ["AM1"] * args.rows
    store = PredictionStore(f"sqlite:///{scratch / 'log.db'}")
    log = PredictionLog(
        PredictionLogConfig(buffer_rows=args.rows),
        store.append_api_predictions,
        ServiceMetrics(CollectorRegistry()),
    )
    for start in range(0, args.rows, 100):  # as 1,000 requests of 100 answers each
        log.add("predict_by_id", preds[start : start + 100], "2024-06-30", managers[:100])
    t = time.perf_counter()
    written = log.flush()
    flush_s = time.perf_counter() - t
    assert written == args.rows

    with store.engine.connect() as conn:
        frame = pd.read_sql(sa.select(API_PREDICTIONS), conn).drop(columns="id")
    store.close()

    peer = sa.create_engine(f"sqlite:///{scratch / 'peer.db'}")
    t = time.perf_counter()
    frame.to_sql("api_predictions", peer, index=False, chunksize=50_000)
    to_sql_s = time.perf_counter() - t
    peer.dispose()

    bare_store = PredictionStore(f"sqlite:///{scratch / 'bare.db'}")
    t = time.perf_counter()
    with bare_store.engine.begin() as conn:
        bulk_insert(conn, API_PREDICTIONS, frame)
    insert_s = time.perf_counter() - t
    bare_store.close()

    n = args.rows
    print(f"flush of {n:,} answers (frame, histogram, insert, trim): {n / flush_s:,.0f} rows/s")
    print(f"  the store's bulk insert alone: {n / insert_s:,.0f} rows/s")
    print(f"  pandas DataFrame.to_sql (peer): {n / to_sql_s:,.0f} rows/s")
    print(f"  flush / to_sql: {to_sql_s / flush_s:.2f}x the peer's rate")


if __name__ == "__main__":
    main()
