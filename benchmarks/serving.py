"""Latency and throughput of the prediction API against in-process prediction of the same models.

    .venv/bin/python benchmarks/serving.py                 # builds a small project in a tmp dir
    .venv/bin/python benchmarks/serving.py --home .churn   # uses trained models + a scored store

Prints p50/p95/p99 latency of single-record ``/predict`` and ``/explain`` over HTTP and in
process, the overhead ratio, and ``/predict`` throughput at concurrency 1, 8 and 32 (adaptive
batching on). Every loop is bounded in requests and in seconds; the service runs on loopback.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CONCURRENCY = (1, 8, 32)


def percentiles(samples_s: list[float]) -> dict[str, float]:
    """p50/p95/p99 in milliseconds."""
    ms = np.asarray(samples_s) * 1000
    return {f"p{q}": float(np.percentile(ms, q)) for q in (50, 95, 99)}


def timed(fn: Callable[[], object], n: int, budget_s: float) -> list[float]:
    """Seconds per call of ``fn``: at most ``n`` calls and ``budget_s`` seconds (after 5 warm-ups)."""
    for _ in range(5):
        fn()
    out: list[float] = []
    stop = time.monotonic() + budget_s
    while len(out) < n and time.monotonic() < stop:
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def throughput(
    call: Callable[[int], int], concurrency: int, n: int, budget_s: float
) -> tuple[float, int]:
    """Requests per second with ``concurrency`` workers (at most ``n`` requests, ``budget_s`` s)."""
    stop = time.monotonic() + budget_s
    per_worker = max(1, n // concurrency)

    def worker(w: int) -> tuple[int, int]:
        ok = failed = 0
        for i in range(per_worker):
            if time.monotonic() > stop:
                break
            if call(w * per_worker + i) == 200:
                ok += 1
            else:
                failed += 1
        return ok, failed

    t = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(worker, range(concurrency)))
    elapsed = time.perf_counter() - t
    ok = sum(r[0] for r in results)
    return ok / elapsed, sum(r[1] for r in results)


def build_project(home: Path, customers: int) -> None:
    """Generate a book, train small models, score it: what `churn demo` does, smaller."""
    from churn.cli import app, register_commands
    from core.paths import tracking_uri
    from features.synthetic.generator import generate, write_dataset
    from training.config import (
        BoosterParams,
        ChurnModelConfig,
        SplitConfig,
        TrainingConfig,
        ValueModelConfig,
    )
    from training.job import train

    generated = generate(customers, seed=5)
    write_dataset(generated, home / "data", "parquet")
    small = BoosterParams(max_rounds=150, num_leaves=15)
    cfg = TrainingConfig(
        split=SplitConfig(train_cutoffs=3),
        churn=ChurnModelConfig(params=small),
        value=ValueModelConfig(params=small),
        shap_sample=100,
    )
    uri = tracking_uri()
    train(generated.dataset, cfg, tracking_uri=uri, progress=False)
    register_commands()
    asof = f"{generated.dataset.as_of:%Y-%m-%d}"
    try:
        app(["score", "--data", str(home / "data"), "--asof", asof], standalone_mode=False)
    except SystemExit as exc:  # typer exits 0 after a command
        if exc.code:
            raise


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--home", type=Path, help="CHURN_HOME with trained models and a scored store"
    )
    parser.add_argument("--customers", type=int, default=3000, help="book size when building one")
    parser.add_argument("--requests", type=int, default=400, help="requests per measurement")
    parser.add_argument(
        "--budget-s", type=float, default=30.0, help="seconds per measurement, at most"
    )
    args = parser.parse_args()

    os.environ.setdefault("OMP_NUM_THREADS", "1")  # what the service process runs with
    os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")
    tmp = tempfile.TemporaryDirectory(prefix="churn-bench-")
    home = args.home.resolve() if args.home else Path(tmp.name)
    os.environ["CHURN_HOME"] = str(home)
    sys.path.insert(0, str(ROOT))

    import httpx

    from features.pipeline.build import build_features
    from serving.champions import load_champions
    from serving.config import ServingConfig
    from serving.launch import free_port, start_service, stop_service, wait_until_up
    from serving.reasons import explain_frame
    from serving.scoring import records_frame, score_frame

    if args.home is None:
        print(f"building a {args.customers:,}-customer project in {home} ...", flush=True)
        build_project(home, args.customers)
    cfg = ServingConfig()
    champions = load_champions(cfg.models, cfg.resolved_tracking_uri())
    from features.loaders import load_dataset
    from serving.batch.store import PredictionStore

    store = PredictionStore(cfg.resolved_store_url())
    run = store.run()
    store.close()
    frame = build_features(
        load_dataset(run.source), run.asof, champions.feature_config(), labels=False
    )
    plain = frame[["customer_id", *champions.feature_names]].astype(object)
    records = plain.where(plain.notna(), None).to_dict("records")
    n_rec = len(records)

    # in process: the same scoring code the endpoints run, without HTTP
    i = iter(range(10**9))
    local_predict = timed(
        lambda: score_frame(
            records_frame([records[next(i) % n_rec]], champions), champions, cfg.risk_bands
        ),
        args.requests,
        args.budget_s,
    )

    def local_explain() -> None:
        f = records_frame([records[next(i) % n_rec]], champions)
        score_frame(f, champions, cfg.risk_bands)
        explain_frame(f, champions.churn, cfg.top_k, "en")

    local_explain_s = timed(local_explain, args.requests, args.budget_s)

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = home / "bench-service.log"
    proc = start_service(port, None, log)
    try:
        wait_until_up(proc, url, 180, log)
        client = httpx.Client(base_url=url, timeout=60)
        j = iter(range(10**9))
        http_predict = timed(
            lambda: client.post("/predict", json={"records": [records[next(j) % n_rec]]}),
            args.requests,
            args.budget_s,
        )
        http_explain = timed(
            lambda: client.post("/explain", json={"records": [records[next(j) % n_rec]]}),
            args.requests,
            args.budget_s,
        )
        clients = [httpx.Client(base_url=url, timeout=60) for _ in range(max(CONCURRENCY))]

        def call(k: int) -> int:
            c = clients[k % len(clients)]
            return c.post("/predict", json={"records": [records[k % n_rec]]}).status_code

        rates = {c: throughput(call, c, args.requests, args.budget_s) for c in CONCURRENCY}
        batches = [
            line
            for line in client.get("/metrics").text.splitlines()
            if line.startswith("bentoml_service_adaptive_batch_size_")
            and ("_sum" in line or "_count" in line)
        ]
        for c in clients:
            c.close()
        client.close()
    finally:
        stop_service(proc)
    in_process_rate = 1 / statistics.mean(local_predict)

    print(
        f"\nmodels: churn-model v{champions.churn_version}, value-model v{champions.value_version}; "
        f"{len(champions.feature_names)} features; {n_rec:,} customers as of {run.asof}"
    )
    print(f"{'latency (ms)':<32}{'p50':>9}{'p95':>9}{'p99':>9}{'n':>7}")
    rows = (
        ("/predict  HTTP, 1 record", http_predict),
        ("predict   in process", local_predict),
        ("/explain  HTTP, 1 record", http_explain),
        ("explain   in process", local_explain_s),
    )
    for name, samples in rows:
        p = percentiles(samples)
        print(f"{name:<32}{p['p50']:>9.2f}{p['p95']:>9.2f}{p['p99']:>9.2f}{len(samples):>7}")
    for name, http, local in (
        ("predict", http_predict, local_predict),
        ("explain", http_explain, local_explain_s),
    ):
        ratio = statistics.median(http) / statistics.median(local)
        print(f"overhead ratio {name} (p50 HTTP / p50 in process): {ratio:.1f}x")
    print(f"\n{'throughput /predict':<32}{'req/s':>9}{'failed':>8}")
    for c, (rate, failed) in rates.items():
        print(f"{'concurrency ' + str(c):<32}{rate:>9.1f}{failed:>8}")
    print(f"{'in process, sequential':<32}{in_process_rate:>9.1f}")
    for line in batches:
        print(line.split("{")[0].removeprefix("bentoml_service_"), line.rsplit(" ", 1)[1])
    tmp.cleanup()


if __name__ == "__main__":
    main()
