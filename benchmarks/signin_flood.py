"""Does a flood of bad sign-ins slow the API? The API's p50 (``GET /at_risk`` with its key, from
its own client on 127.0.0.1) idle and while 16 clients on 127.0.0.2 each post a wrong password to
``/ui/login`` 5 times a second, against a real ``churn serve``. Goal: flooded p50 within
max(2 x idle p50, idle p50 + 50 ms).

Two rounds: ``hashing``, with throttling set out of reach so every bad sign-in reaches the
password check (argon2) and only the bounded checks protect the API (the worst case), and
``throttled``, with the shipped sign-in settings (the flooding address is soon answered 429
before any check). Builds a small project (``churn demo``) unless ``--home`` names one.

    .venv/bin/python benchmarks/signin_flood.py
    .venv/bin/python benchmarks/signin_flood.py --home /tmp/flood --seconds 20
"""

# ruff: noqa: E402 - the sys.path fix below must run before the project imports

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

# Run as ``python benchmarks/signin_flood.py``, this folder is first on sys.path and its
# ``features.py`` / ``training.py`` would shadow the project's packages.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import httpx
import yaml

KEY = "signin-flood-bench-key-7c6b5a"
CLIENTS = 16
PER_SECOND = 5
OUT_OF_REACH = 1_000_000_000


def build(home: Path, customers: int) -> None:
    """A scored project in ``home`` (``churn demo``) and one user, so sign-in is required."""
    env = {**os.environ, "CHURN_HOME": str(home)}
    if not (home / "serving.db").is_file():
        print(f"building a {customers}-customer project in {home} (churn demo) ...", flush=True)
        subprocess.run(
            [sys.executable, "-m", "churn", "demo", "--customers", str(customers)],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    from scoring.store.predictions import PredictionStore
    from scoring.store.users import UserStore

    users = UserStore(PredictionStore(f"sqlite:///{home / 'serving.db'}").engine)
    if users.user("bench") is None:
        users.add("bench", "lead", "a quiet blue lantern")


def p50(api: httpx.Client, n: int) -> float:
    """Median seconds of ``n`` sequential ``GET /at_risk`` calls."""
    times = []
    for _ in range(n):
        started = time.perf_counter()
        api.get("/at_risk", params={"limit": 20}).raise_for_status()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _client(url: str, address: str, stop: threading.Event, answers: Counter, spread: bool):
    """One flooding client from ``address``: a wrong password 5 times a second until ``stop``
    (for one account, or with ``spread`` a new name each time)."""
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=url, timeout=60, transport=transport) as c:
        token = re.search(r'name="csrf" value="([^"]+)"', c.get("/ui/login").text).group(1)
        while not stop.is_set():
            started = time.perf_counter()
            name = f"nobody-{uuid.uuid4().hex[:8]}" if spread else "bench"
            data = {"csrf": token, "name": name, "password": f"wrong-{uuid.uuid4().hex}"}
            r = c.post("/ui/login", data=data)
            answers[r.status_code] += 1
            found = re.search(r'name="csrf" value="([^"]+)"', r.text)
            token = found.group(1) if found else token
            stop.wait(max(0.0, 1 / PER_SECOND - (time.perf_counter() - started)))


def flood(url: str, seconds: float, spread: bool) -> None:
    """16 clients for ``seconds`` (all on 127.0.0.2, or with ``spread`` each on its own
    127.0.0.x); prints the answers' status counts as JSON."""
    stop, answers = threading.Event(), Counter()
    addresses = [f"127.0.0.{20 + i}" if spread else "127.0.0.2" for i in range(CLIENTS)]
    threads = [
        threading.Thread(target=_client, args=(url, a, stop, answers, spread)) for a in addresses
    ]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    print(json.dumps({str(k): v for k, v in answers.items()}), flush=True)


def flooding(url: str, seconds: float, spread: bool = False) -> subprocess.Popen:
    """:func:`flood` in a process of its own, so its clients do not slow the API's timing."""
    command = [sys.executable, str(Path(__file__).resolve()), "--flood", url]
    command += ["--seconds", str(seconds), *(["--spread"] if spread else [])]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


def round_(home: Path, name: str, signin: dict, requests: int, seconds: float) -> None:
    import sqlalchemy as sa

    from serving.launch import free_port, stop_service, wait_until_up

    engine = sa.create_engine(f"sqlite:///{home / 'serving.db'}")
    with engine.begin() as conn:  # each round starts with no failed sign-ins counted
        conn.execute(sa.text("DELETE FROM ui_signin_failures"))
    engine.dispose()
    config = home / f"flood-{name}.yaml"
    config.write_text(yaml.safe_dump({"serving": {"signin": signin}}), "utf-8")
    port = free_port()
    log = home / f"flood-{name}.log"
    env = {**os.environ, "CHURN_HOME": str(home), "CHURN_API_KEY": KEY}
    command = [sys.executable, "-m", "churn", "serve", "--config", str(config), "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(proc, url, 180, log)
        with httpx.Client(base_url=url, timeout=60, headers={"X-API-Key": KEY}) as api:
            p50(api, 20)  # warm
            idle = p50(api, requests)
            flooder = flooding(url, seconds + 2.0)
            time.sleep(1.0)
            deadline = time.monotonic() + seconds
            flooded: list[float] = []
            while time.monotonic() < deadline:
                flooded.append(p50(api, 10))
            out, _ = flooder.communicate()
            answers = json.loads(out.strip().splitlines()[-1])
    finally:
        stop_service(proc)
    under = statistics.median(flooded)
    goal = max(2 * idle, idle + 0.050)
    verdict = "within" if under <= goal else "OVER"
    shown = ", ".join(f"{k}: {v}" for k, v in sorted(answers.items()))
    print(
        f"{name:10s} idle p50 {idle * 1e3:7.1f} ms   flood p50 {under * 1e3:7.1f} ms   "
        f"goal {goal * 1e3:6.1f} ms ({verdict})   sign-ins answered {shown}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--home", type=Path, help="project folder to build into or reuse")
    parser.add_argument("--customers", type=int, default=1000, help="book size when building")
    parser.add_argument("--requests", type=int, default=100, help="API calls for the idle p50")
    parser.add_argument("--seconds", type=float, default=10.0, help="flood duration")
    parser.add_argument("--rounds", choices=["hashing", "throttled", "both"], default="both")
    parser.add_argument("--flood", metavar="URL", help="only flood URL for --seconds")
    parser.add_argument("--spread", action="store_true", help="each client its own address")
    args = parser.parse_args()
    if args.flood:
        flood(args.flood, args.seconds, args.spread)
        return
    home = args.home or Path(tempfile.mkdtemp(prefix="signin-flood-"))
    home.mkdir(parents=True, exist_ok=True)
    os.environ["CHURN_HOME"] = str(home)
    build(home, args.customers)
    print(f"{CLIENTS} clients x {PER_SECOND} bad sign-ins/s from 127.0.0.2 for {args.seconds:g} s")
    out_of_reach = {
        "free_failures": OUT_OF_REACH,
        "address_free_failures": OUT_OF_REACH,
        "account_free_failures": OUT_OF_REACH,
    }
    if args.rounds in ("hashing", "both"):
        round_(home, "hashing", out_of_reach, args.requests, args.seconds)
    if args.rounds in ("throttled", "both"):
        round_(home, "throttled", {}, args.requests, args.seconds)


if __name__ == "__main__":
    main()
