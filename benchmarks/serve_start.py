"""Cold start of ``churn serve`` to a 200 on ``/readyz`` against a minimal BentoML service around
the same two boosters, started the same way, in one run on this machine.

    .venv/bin/python benchmarks/serve_start.py                     # builds a small project in a tmp dir
    .venv/bin/python benchmarks/serve_start.py --home /tmp/demo    # a project `churn demo` built
    .venv/bin/python benchmarks/serve_start.py --runs 5 --profile  # + where the worker's start goes

Both sides are ``python -m bentoml serve`` under :func:`serving.launch.start_service`'s
environment (one worker, no usage tracking): the product is ``serving.service:ChurnService``
(registry lookup, both champions downloaded and loaded, the store opened and its schema checked,
the KPI configuration, the background threads), the peer is ``benchmarks/serving.py``'s minimal
BentoML service loading the champions' two LightGBM files. Each start is timed from ``Popen`` to
the first 200 on ``/readyz`` (polled every 50 ms); the sides alternate ``--runs`` times (3) and the
table gives each run, the median and the ratio of the medians.

``--profile`` also times, in a fresh interpreter, ``import serving.service`` and the steps of the
worker's ``ChurnService.__init__``, the champions split into the prefetch process's fetch and the
worker's load of what it fetched.
"""

# ruff: noqa: E402 - the sys.path fix below must run before the project imports

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse
import http.client
import importlib.util
import os
import statistics
import subprocess
import tempfile
import time

PROFILE = """\
import time
t0 = time.perf_counter()
import serving.service as s
t1 = time.perf_counter()
from kpi.config import service_kpi_config
from scoring.champions import ModelHolder
from scoring.config import config_path_from_env, serving_config_from_env
from scoring.store.predictions import PredictionStore
cfg = serving_config_from_env()
t2 = time.perf_counter()
service_kpi_config(config_path_from_env())
t3 = time.perf_counter()
import tempfile
from pathlib import Path
from scoring.prefetch import fetch, take
folder = Path(tempfile.mkdtemp())
fetch(cfg.models, cfg.resolved_tracking_uri(), folder)  # what the prefetch process does
t3b = time.perf_counter()
holder = ModelHolder(cfg.models, cfg.resolved_tracking_uri())
holder.adopt(take(cfg.models, cfg.resolved_tracking_uri(), folder))
t4 = time.perf_counter()
store = PredictionStore(cfg.resolved_store_url())
t5 = time.perf_counter()
heavy = sorted(m for m in ("mlflow", "sqlalchemy", "alembic", "fastapi", "pandera", "sklearn",
    "scipy", "matplotlib", "shap", "pyspark", "duckdb") if m in __import__("sys").modules)
print(f"import serving.service {t1 - t0:.2f} s; KPI config {t3 - t2:.2f} s; champions "
      f"fetched {t3b - t3:.2f} s (the prefetch process, beside the start), loaded "
      f"{t4 - t3b:.2f} s; store open {t5 - t4:.2f} s; loaded: {', '.join(heavy)}")
"""


def _bench_serving():  # type: ignore[no-untyped-def]
    """``benchmarks/serving.py`` as a module (its peer service and project builder)."""
    spec = importlib.util.spec_from_file_location("bench_serving", _HERE / "serving.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def ready_after(command: list[str], env: dict[str, str], port: int, log: Path) -> float:
    """Seconds from starting ``command`` to its first 200 on ``/readyz``."""
    from serving.launch import die_with_parent, stop_service

    start = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
    try:
        while time.perf_counter() - start < 600:
            if proc.poll() is not None:
                break
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/readyz")
                if conn.getresponse().status == 200:
                    return time.perf_counter() - start
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"no 200 on /readyz:\n{log.read_text(errors='replace')[-2000:]}")
    finally:
        stop_service(proc)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--home", type=Path, help="CHURN_HOME with champions and a scored store")
    parser.add_argument("--customers", type=int, default=2000, help="book size when building one")
    parser.add_argument("--runs", type=int, default=3, help="starts per side (alternating)")
    parser.add_argument("--profile", action="store_true", help="time the worker's start steps")
    parser.add_argument(
        "--baseline", type=Path, help="another checkout (e.g. main) started as a third side"
    )
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="churn-start-")
    scratch = Path(tmp.name)
    home = args.home.resolve() if args.home else scratch / "home"
    os.environ["CHURN_HOME"] = str(home)
    bench = _bench_serving()
    from scoring.champions import load_champions
    from scoring.config import ServingConfig
    from serving.launch import free_port, serve_command, serve_env

    if args.home is None:
        print(f"building a {args.customers:,}-customer project in {home} ...", flush=True)
        bench.build_project(home, args.customers)
    cfg = ServingConfig()
    champions = load_champions(cfg.models, cfg.resolved_tracking_uri())
    champions.churn.save(scratch / "churn")
    champions.value.save(scratch / "value")
    (scratch / "peer.py").write_text(bench.PEER, encoding="utf-8")

    env = serve_env(None)
    peer_env = env | {"PYTHONPATH": str(scratch)}
    py = sys.executable
    times: dict[str, list[float]] = {"churn serve": [], "bentoml peer": []}
    envs = {"churn serve": env, "bentoml peer": peer_env}
    if args.baseline is not None:
        times["baseline"] = []
        envs["baseline"] = env | {"PYTHONPATH": str(args.baseline.resolve())}
    for r in range(args.runs):
        for name in times:
            port = free_port()
            if name == "churn serve":
                command = serve_command("127.0.0.1", port)
            elif name == "baseline":
                command = serve_command("127.0.0.1", port)[:-1] + [str(args.baseline.resolve())]
            else:
                command = [py, "-m", "bentoml", "serve", "peer:Peer", "--working-dir"]
                command += [str(scratch), "--port", str(port)]
            seconds = ready_after(
                command,
                envs[name],
                port,
                scratch / f"{name.split()[0]}-{r}.log",
            )
            times[name].append(seconds)
            print(f"run {r + 1}: {name:<13} {seconds:6.2f} s to /readyz 200", flush=True)
    load = os.getloadavg()
    median = {name: statistics.median(t) for name, t in times.items()}
    print(
        f"\n{os.cpu_count()} cores, load average {load[0]:.1f} at the end; churn-model "
        f"v{champions.churn_version}, value-model v{champions.value_version}"
    )
    for name, t in times.items():
        runs = " ".join(f"{x:.2f}" for x in t)
        print(f"{name:<13} median {median[name]:6.2f} s  (runs: {runs})")
    print(
        f"ratio churn serve / bentoml peer: {median['churn serve'] / median['bentoml peer']:.2f}x"
    )
    if args.profile:
        print("\nworker start, in a fresh interpreter:", flush=True)
        subprocess.run([py, "-c", PROFILE], env=env, check=True)
    tmp.cleanup()


if __name__ == "__main__":
    main()
