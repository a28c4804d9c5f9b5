"""Soak test of the prediction API: N minutes at concurrency 32 with a champion swap and a store
fault injected, against a real ``bentoml serve`` process on loopback.

    .venv/bin/python benchmarks/soak.py                      # 10 minutes, builds a small project
    .venv/bin/python benchmarks/soak.py --minutes 2          # a short run
    .venv/bin/python benchmarks/soak.py --home .churn        # trained models + a scored store

The load mixes single-record ``/predict`` (70 %), ``/predict_by_id`` (20 %) and ``/at_risk``
(10 %). At a third of the run both champions move to new versions (a pair) and ``/reload`` swaps
them; at two thirds the store file is replaced by garbage for 5 s, then restored. Prints requests,
errors (any failure outside the fault window, and any answer but 503 inside it), p50 and p99
latency of the first and the last minute (the run's own floor), how long the store took to heal,
and the resident memory of the server's processes at the start and the end.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

# Run as ``python benchmarks/soak.py``, this folder is first on sys.path and its ``features.py``
# / ``training.py`` would shadow the project's packages.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
ROOT = _HERE.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

FAULT_S = 5.0


def _build_project(home: Path, customers: int) -> None:
    """What benchmarks/serving.py builds: a generated book, small models, one batch scoring."""
    spec = importlib.util.spec_from_file_location("bench_serving", _HERE / "serving.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.build_project(home, customers)


def _tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its descendants (the server and its worker), in MB."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            ppid, pages = int(fields[1]), int(fields[21])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
        rss[int(entry.name)] = pages
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo += children.get(p, [])
    return total * os.sysconf("SC_PAGE_SIZE") / 1e6


def _swap_champions(uri: str) -> dict[str, str]:
    """New versions of both champions (same artifacts, one new run tag) take the alias."""
    from mlflow import MlflowClient

    from training.tracking import using_store

    run_tag = f"soak-{time.time():.0f}"
    out = {}
    with using_store(uri):
        client = MlflowClient(uri, uri)
        for name in ("churn-model", "value-model"):
            mv = client.get_model_version_by_alias(name, "champion")
            new = client.create_model_version(
                name, mv.source, run_id=mv.run_id, tags={"run_id": run_tag}
            )
            client.set_registered_model_alias(name, "champion", new.version)
            out[name] = str(new.version)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the run")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--home", type=Path, help="CHURN_HOME with models and a scored store")
    parser.add_argument("--customers", type=int, default=3000, help="book size when building one")
    args = parser.parse_args()

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")
    tmp = tempfile.TemporaryDirectory(prefix="churn-soak-")
    home = args.home.resolve() if args.home else Path(tmp.name)
    os.environ["CHURN_HOME"] = str(home)
    os.environ.pop("CHURN_API_KEY", None)

    import httpx

    from scoring.champions import load_champions
    from scoring.config import ServingConfig
    from scoring.store.predictions import PredictionStore, sqlite_file
    from serving.launch import free_port, start_service, stop_service, wait_until_up

    if args.home is None:
        print(f"building a {args.customers:,}-customer project in {home} ...", flush=True)
        _build_project(home, args.customers)
    cfg = ServingConfig()
    uri = cfg.resolved_tracking_uri()
    champions = load_champions(cfg.models, uri)
    store = PredictionStore(cfg.resolved_store_url())
    run = store.run()
    store.close()
    store_file = sqlite_file(cfg.resolved_store_url())
    assert store_file is not None, "the soak injects its store fault into a SQLite file"
    with PredictionStore(cfg.resolved_store_url()).reading() as conn:
        import pandas as pd
        import sqlalchemy as sa

        ids = pd.read_sql(sa.text("SELECT customer_id FROM predictions LIMIT 2000"), conn)
    customer_ids = ids["customer_id"].astype(str).tolist()
    from features.loaders import load_dataset
    from features.pipeline.build import build_features

    frame = build_features(
        load_dataset(run.source), run.asof, champions.feature_config(), labels=False
    ).head(2000)
    plain = frame[["customer_id", *champions.feature_names]].astype(object)
    records = plain.where(plain.notna(), None).to_dict("records")

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = home / "soak-service.log"
    proc = start_service(port, None, log, extra_env={"CHURN_API_KEY": None})
    samples: list[tuple[float, float, int, str]] = []  # (start, seconds, status, endpoint)
    lock = threading.Lock()
    stop = threading.Event()
    fault: list[float] = []  # start and end of the store fault (monotonic)
    try:
        wait_until_up(proc, url, 300, log)
        with httpx.Client(base_url=url, timeout=30) as warm:
            for r in records[:50]:
                warm.post("/predict", json={"records": [r]})
        rss_start = _tree_rss_mb(proc.pid)
        t0 = time.monotonic()
        length = args.minutes * 60

        def worker(w: int) -> None:
            rnd = random.Random(w)
            with httpx.Client(base_url=url, timeout=30) as client:
                while not stop.is_set():
                    pick = rnd.random()
                    start = time.monotonic()
                    try:
                        if pick < 0.7:
                            what = "/predict"
                            resp = client.post(
                                what, json={"records": [records[rnd.randrange(len(records))]]}
                            )
                        elif pick < 0.9:
                            what = "/predict_by_id"
                            resp = client.post(
                                what, json={"customer_ids": rnd.sample(customer_ids, 3)}
                            )
                        else:
                            what = "/at_risk"
                            resp = client.get(what, params={"limit": 10})
                        status = resp.status_code
                    except httpx.HTTPError:
                        status = -1
                    with lock:
                        samples.append((start - t0, time.monotonic() - start, status, what))

        threads = [threading.Thread(target=worker, args=(w,)) for w in range(args.concurrency)]
        for t in threads:
            t.start()
        time.sleep(length / 3)
        swapped = _swap_champions(uri)
        with httpx.Client(base_url=url, timeout=60) as admin:
            reload = admin.post("/reload", json={})
        print(f"swap at {time.monotonic() - t0:.0f} s -> {swapped}: /reload {reload.status_code}")
        time.sleep(max(0.0, length * 2 / 3 - (time.monotonic() - t0)))
        backup = home / "serving.db.soak-backup"
        shutil.copyfile(store_file, backup)
        garbage = store_file.with_suffix(".garbage")
        garbage.write_bytes(os.urandom(16384))
        fault.append(time.monotonic() - t0)
        os.replace(garbage, store_file)
        time.sleep(FAULT_S)
        restoring = store_file.with_suffix(".restoring")
        shutil.copyfile(backup, restoring)
        os.replace(restoring, store_file)
        fault.append(time.monotonic() - t0)
        healed = None
        with httpx.Client(base_url=url, timeout=30) as admin:
            while healed is None and time.monotonic() - t0 < fault[1] + 30:
                if admin.get("/readyz").status_code == 200:
                    healed = time.monotonic() - t0 - fault[1]
                time.sleep(0.1)
        time.sleep(max(0.0, length - (time.monotonic() - t0)))
        stop.set()
        for t in threads:
            t.join(timeout=60)
        rss_end = _tree_rss_mb(proc.pid)
    finally:
        stop.set()
        stop_service(proc)

    arr = np.array([(s, d, c) for s, d, c, _ in samples], dtype=float)
    starts, secs, codes = arr[:, 0], arr[:, 1], arr[:, 2].astype(int)
    # a request in flight when the file was replaced may meet the fault too
    in_fault = (starts + secs >= fault[0]) & (starts <= fault[1] + 1.0)
    store_endpoint = np.array([w != "/predict" for *_, w in samples])
    expected_503 = in_fault & store_endpoint & (codes == 503)
    errors = int(((codes < 200) | (codes >= 300)).sum() - expected_503.sum())
    minute = min(60.0, args.minutes * 60 / 3)
    first = secs[(starts < minute) & ~in_fault] * 1000
    last = secs[(starts > starts.max() - minute) & ~in_fault] * 1000
    total = len(samples)
    elapsed = float(starts.max()) if total else 0.0
    print(f"\nsoak: {args.minutes:g} min at concurrency {args.concurrency}")
    print(f"requests                {total:,} ({total / max(elapsed, 1e-9):,.0f}/s)")
    print(
        f"errors                  {errors} (503 during the {FAULT_S:.0f} s store fault: "
        f"{int(expected_503.sum())}, expected)"
    )
    print(
        f"statuses                {dict(zip(*np.unique(codes, return_counts=True), strict=True))}"
    )
    print(
        f"latency p50 / p99 (ms)  all {np.percentile(secs * 1000, 50):.1f} / "
        f"{np.percentile(secs * 1000, 99):.1f}"
    )
    print(
        f"  first minute          {np.percentile(first, 50):.1f} / {np.percentile(first, 99):.1f}"
    )
    print(f"  last minute           {np.percentile(last, 50):.1f} / {np.percentile(last, 99):.1f}")
    print(f"store healed after      {healed if healed is None else round(healed, 2)} s")
    print(
        f"server memory (MB)      start {rss_start:.0f}, end {rss_end:.0f}, "
        f"growth {rss_end - rss_start:+.0f}"
    )


if __name__ == "__main__":
    main()
