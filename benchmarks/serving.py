"""Single-record ``/predict`` of the product against a minimal BentoML service and a bare
Starlette endpoint around the same two boosters, measured in one run on this machine.

    .venv/bin/python benchmarks/serving.py                      # builds a small project in a tmp dir
    .venv/bin/python benchmarks/serving.py --home /tmp/demo     # a project `churn demo` built

Three sides answer the same body, ``{"records": [<record.json>]}`` (the record ``churn demo``
writes, else the first stored feature row), each around the champion's churn and value boosters
with one LightGBM thread:

- ``product``: ``churn serve``'s service, API key required, guard and validation on;
- ``bentoml``: a minimal BentoML 1.4 service (a sync API taking ``list[dict]``; no validation,
  no key, no batching, no calibration);
- ``starlette``: a bare Starlette endpoint under uvicorn (the floor).

Per side and concurrency: p50 and p99 latency and answered (200) requests per second. Concurrency 1 is 400
sequential keep-alive calls after 30 warm-ups; concurrency 8 and 32 are that many threads, one
keep-alive connection each, for ``--seconds`` (8). The sides are interleaved ``--rounds`` times
(2) and each figure is the mean over the rounds. Then the product with BentoML's adaptive
batching on against off (p50 at c=1, req/s at c=32) and ``/predict_by_id`` of the record's
customer. Clients and servers share the machine's cores, as the issue's method does.
"""

# ruff: noqa: E402 - the sys.path fix below must run before the project imports

from __future__ import annotations

import sys
from pathlib import Path

# Run as ``python benchmarks/serving.py``, this folder is first on sys.path and its
# ``features.py`` / ``training.py`` would shadow the project's packages.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse
import http.client
import json
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

CONCURRENCY = (1, 8, 32)
API_KEY = "benchmark-key-0123456789"

PEER = '''\
"""A minimal BentoML 1.4 service around the same boosters: no validation, no batching."""
import json
from pathlib import Path

import bentoml
import lightgbm as lgb
import numpy as np

HERE = Path(__file__).parent


def load(d):
    meta = json.loads((d / "bundle.json").read_text())
    booster = lgb.Booster(model_file=str(d / "model.txt"))
    cats = {c: {v: float(i) for i, v in enumerate(levels)} for c, levels in meta["categories"].items()}
    return booster, meta["feature_names"], cats


def matrix(records, names, cats):
    return np.array(
        [[cats[f].get(r.get(f)) if f in cats else r.get(f) for f in names] for r in records],
        dtype=np.float64,
    )


@bentoml.service(http={"host": "127.0.0.1"})
class Peer:
    def __init__(self):
        self.churn = load(HERE / "churn")
        self.value = load(HERE / "value")

    @bentoml.api
    def predict(self, records: list[dict]) -> list[dict]:
        b, names, cats = self.churn
        p = b.predict(matrix(records, names, cats), num_threads=1)
        b, names, cats = self.value
        v = b.predict(matrix(records, names, cats), num_threads=1)
        return [
            {"customer_id": r.get("customer_id"), "churn_probability": float(a),
             "predicted_value": float(c)}
            for r, a, c in zip(records, p, v)
        ]
'''

FLOOR = '''\
"""A bare Starlette endpoint around the same boosters (the floor)."""
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from peer import HERE, load, matrix

CHURN = load(HERE / "churn")
VALUE = load(HERE / "value")


async def predict(request):
    records = (await request.json())["records"]
    b, names, cats = CHURN
    p = b.predict(matrix(records, names, cats), num_threads=1)
    b, names, cats = VALUE
    v = b.predict(matrix(records, names, cats), num_threads=1)
    return JSONResponse([
        {"customer_id": r.get("customer_id"), "churn_probability": float(a),
         "predicted_value": float(c)}
        for r, a, c in zip(records, p, v)
    ])


app = Starlette(routes=[Route("/predict", predict, methods=["POST"])])
'''


@dataclass(frozen=True)
class Side:
    """One server to measure: its port, path, body and headers."""

    name: str
    port: int
    path: str
    body: bytes
    headers: dict[str, str]


@dataclass
class Figures:
    p50: float
    p99: float
    rate: float
    failed: int


def _call(conn: http.client.HTTPConnection, side: Side) -> int:
    conn.request("POST", side.path, side.body, side.headers)
    response = conn.getresponse()
    response.read()
    return response.status


def sequential(side: Side, n: int, warmup: int = 30) -> Figures:
    """p50/p99 of ``n`` sequential keep-alive calls after ``warmup`` calls; req/s over them."""
    conn = http.client.HTTPConnection("127.0.0.1", side.port, timeout=60)
    for _ in range(warmup):
        _call(conn, side)
    samples, failed = [], 0
    start = time.perf_counter()
    for _ in range(n):
        t = time.perf_counter()
        failed += _call(conn, side) != 200
        samples.append(time.perf_counter() - t)
    elapsed = time.perf_counter() - start
    conn.close()
    ms = np.asarray(samples) * 1000
    return Figures(float(np.percentile(ms, 50)), float(np.percentile(ms, 99)), n / elapsed, failed)


def concurrent(side: Side, threads: int, seconds: float) -> Figures:
    """``threads`` clients, one keep-alive connection each, calling for ``seconds``."""
    samples: list[list[float]] = [[] for _ in range(threads)]
    failures = [0] * threads
    go = threading.Event()
    stop_at = [0.0]

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", side.port, timeout=60)
        _call(conn, side)
        go.wait()
        out = samples[i]
        while (t := time.perf_counter()) < stop_at[0]:
            failures[i] += _call(conn, side) != 200
            out.append(time.perf_counter() - t)
        conn.close()

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    time.sleep(0.5)
    start = time.perf_counter()
    stop_at[0] = start + seconds
    go.set()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - start
    ms = np.concatenate([np.asarray(s) for s in samples]) * 1000
    return Figures(
        float(np.percentile(ms, 50)),
        float(np.percentile(ms, 99)),
        (len(ms) - sum(failures)) / elapsed,
        sum(failures),
    )


def measure(side: Side, requests: int, seconds: float) -> dict[int, Figures]:
    out = {1: sequential(side, requests)}
    for c in CONCURRENCY[1:]:
        out[c] = concurrent(side, c, seconds)
    return out


def mean(runs: list[dict[int, Figures]]) -> dict[int, Figures]:
    return {
        c: Figures(
            float(np.mean([r[c].p50 for r in runs])),
            float(np.mean([r[c].p99 for r in runs])),
            float(np.mean([r[c].rate for r in runs])),
            sum(r[c].failed for r in runs),
        )
        for c in runs[0]
    }


def build_project(home: Path, customers: int) -> None:
    """Generate a book, train small models, score it: what ``churn demo`` does, smaller."""
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
    train(generated.dataset, cfg, tracking_uri=tracking_uri(), progress=False)
    register_commands()
    asof = f"{generated.dataset.as_of:%Y-%m-%d}"
    try:
        app(["score", "--data", str(home / "data"), "--asof", asof], standalone_mode=False)
    except SystemExit as exc:  # typer exits 0 after a command
        if exc.code:
            raise


def sample_record(home: Path, given: Path | None) -> dict:
    """``record.json`` as ``churn demo`` writes it (the demo's file when there is one)."""
    for path in (given, home / "demo-run" / "record.json"):
        if path is not None and path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
    from scoring.champions import load_champions
    from scoring.config import ServingConfig
    from scoring.store.predictions import PredictionStore

    cfg = ServingConfig()
    champions = load_champions(cfg.models, cfg.resolved_tracking_uri())
    store = PredictionStore(cfg.resolved_store_url())
    try:
        (first,) = store.first_records(1)
    finally:
        store.close()
    return {k: first.get(k) for k in ("customer_id", *champions.feature_names)}


@contextmanager
def running(command: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[None]:
    from serving.launch import stop_service, wait_until_up

    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_until_up(proc, f"http://127.0.0.1:{port}", 180, log) if "bentoml" in command else (
            _wait_port(proc, port, log)
        )
        yield
    finally:
        stop_service(proc)


def _wait_port(proc: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server on {port} did not start:\n{log.read_text()[-2000:]}")


def table(title: str, figures: dict[str, dict[int, Figures]]) -> None:
    print(f"\n{title}")
    print(f"{'side':<22}{'c':>4}{'p50 ms':>9}{'p99 ms':>9}{'req/s':>9}{'failed':>8}")
    for name, by_c in figures.items():
        for c, f in by_c.items():
            print(f"{name:<22}{c:>4}{f.p50:>9.2f}{f.p99:>9.2f}{f.rate:>9.0f}{f.failed:>8}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--home", type=Path, help="CHURN_HOME with champions and a scored store")
    parser.add_argument("--record", type=Path, help="record.json (default: the demo's)")
    parser.add_argument("--customers", type=int, default=3000, help="book size when building one")
    parser.add_argument("--requests", type=int, default=400, help="sequential calls (c=1)")
    parser.add_argument("--seconds", type=float, default=8.0, help="seconds per c=8/32 load")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds")
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="churn-bench-")
    scratch = Path(tmp.name)
    home = args.home.resolve() if args.home else scratch / "home"
    os.environ["CHURN_HOME"] = str(home)
    from scoring.champions import load_champions
    from scoring.config import ServingConfig
    from serving.launch import free_port, serve_command, serve_env

    if args.home is None:
        print(f"building a {args.customers:,}-customer project in {home} ...", flush=True)
        build_project(home, args.customers)
    cfg = ServingConfig()
    champions = load_champions(cfg.models, cfg.resolved_tracking_uri())
    record = sample_record(home, args.record)
    champions.churn.save(scratch / "churn")
    champions.value.save(scratch / "value")
    (scratch / "peer.py").write_text(PEER, encoding="utf-8")
    (scratch / "floor.py").write_text(FLOOR, encoding="utf-8")
    body = json.dumps({"records": [record]}).encode()
    by_id = json.dumps({"customer_ids": [record["customer_id"]]}).encode()
    plain = {"Content-Type": "application/json"}
    keyed = {**plain, "X-API-Key": API_KEY}

    env = serve_env(None) | {"CHURN_API_KEY": API_KEY}
    batching_env = env | {"CHURN_ADAPTIVE_BATCHING": "1"}
    peer_env = serve_env(None) | {"PYTHONPATH": str(scratch)}
    ports = {n: free_port() for n in ("product", "batching", "bentoml", "starlette")}
    py = sys.executable
    peer_cmd = [py, "-m", "bentoml", "serve", "peer:Peer", "--working-dir", str(scratch)]
    floor_cmd = [py, "-m", "uvicorn", "floor:app", "--app-dir", str(scratch), "--no-access-log"]
    floor_cmd += ["--log-level", "warning", "--host", "127.0.0.1"]
    sides = {
        "product": Side("product", ports["product"], "/predict", body, keyed),
        "bentoml": Side("bentoml", ports["bentoml"], "/predict", body, plain),
        "starlette": Side("starlette", ports["starlette"], "/predict", body, plain),
    }
    batching = Side("product+batching", ports["batching"], "/predict", body, keyed)
    by_id_side = Side("product /predict_by_id", ports["product"], "/predict_by_id", by_id, keyed)
    runs: dict[str, list[dict[int, Figures]]] = {}
    with (
        running(
            serve_command("127.0.0.1", ports["product"]),
            env,
            ports["product"],
            scratch / "product.log",
        ),
        running(
            serve_command("127.0.0.1", ports["batching"]),
            batching_env,
            ports["batching"],
            scratch / "batching.log",
        ),
        running(
            [*peer_cmd, "--port", str(ports["bentoml"])],
            peer_env,
            ports["bentoml"],
            scratch / "peer.log",
        ),
        running(
            [*floor_cmd, "--port", str(ports["starlette"])],
            peer_env,
            ports["starlette"],
            scratch / "floor.log",
        ),
    ):
        for r in range(args.rounds):
            for side in (*sides.values(), batching, by_id_side):
                print(f"round {r + 1}: {side.name} ...", flush=True)
                runs.setdefault(side.name, []).append(measure(side, args.requests, args.seconds))
    means = {name: mean(r) for name, r in runs.items()}
    load = os.getloadavg()
    print(
        f"\nmodels: churn-model v{champions.churn_version}, value-model v{champions.value_version}"
        f"; {len(champions.feature_names)} features; body {len(body):,} bytes; "
        f"{os.cpu_count()} cores; load average {load[0]:.1f} at the end; {args.rounds} rounds"
    )
    table("/predict, one record (mean of rounds)", {n: means[n] for n in sides})
    prod, peer, floor = means["product"], means["bentoml"], means["starlette"]
    print(f"\n{'ratio':<30}{'c=1 p50':>9}{'c=8 req/s':>11}{'c=32 req/s':>12}")
    for name, other in (("product / bentoml", peer), ("product / starlette", floor)):
        print(
            f"{name:<30}{prod[1].p50 / other[1].p50:>9.2f}"
            f"{prod[8].rate / other[8].rate:>11.2f}{prod[32].rate / other[32].rate:>12.2f}"
        )
    on = means["product+batching"]
    table("adaptive batching (product)", {"batching off": prod, "batching on": on})
    print(
        f"batching on / off: p50 at c=1 {on[1].p50 / prod[1].p50:.2f}x, "
        f"req/s at c=32 {on[32].rate / prod[32].rate:.2f}x"
    )
    table("/predict_by_id, one id (product)", {"product": means["product /predict_by_id"]})
    tmp.cleanup()


if __name__ == "__main__":
    main()
