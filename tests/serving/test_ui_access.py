"""Who may do what in the workspace, over HTTP against a real ``bentoml serve`` on a copy of the
scored SQLite store: guessing a password is slowed, then locked, for the guessing address only
(429 with ``Retry-After``, the reason in English and Chinese, audited); a flood of bad sign-ins
from other addresses leaves the API its speed; analysts read but do not log contacts; twenty
sessions logging contacts at once lose none.

Clients come from different loopback addresses (127.0.0.x) so the throttle tells them apart.
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd
import pytest
import sqlalchemy as sa
import yaml
from typer.testing import CliRunner

from serving.launch import free_port, start_service, stop_service, wait_until_up

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("serving-api")]

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-battery"
KEY = "ui-access-test-key-5f4e3d"


@dataclass(frozen=True)
class Site:
    url: str
    store: str
    log: Path


def _churn(*args: str, stdin: str | None = None) -> str:
    from churn.cli import register_commands

    run = CliRunner().invoke(register_commands(), list(args), input=stdin, prog_name="churn")
    assert run.exit_code == 0, run.output
    return run.output


@pytest.fixture(scope="module")
def site(world, tmp_path_factory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("ui-access")
    db = root / "ui.db"
    shutil.copy(world.root / "serving.db", db)
    store = f"sqlite:///{db}"
    for name, role in (("tia", "lead"), ("lee", "lead"), ("ana", "analyst")):
        _churn("users", "add", name, "--role", role, "--password-stdin", "--store", store,
               stdin=PASSWORD + "\n")  # fmt: skip
    config = root / "serving.yaml"
    serving = {"tracking_uri": world.tracking_uri, "store_url": store, "poll_interval_s": 0}
    config.write_text(yaml.safe_dump({"serving": serving}), "utf-8")
    port, log = free_port(), root / "ui.log"
    env = {"CHURN_API_KEY": KEY, "CHURN_HOME": str(root / "home")}
    proc = start_service(port, config, log, extra_env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(proc, url, 120, log)
        yield Site(url, store, log)
    finally:
        stop_service(proc)


def client(site: Site, address: str = "127.0.0.1", **kwargs) -> httpx.Client:
    """A client whose connections come from ``address``."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=site.url, timeout=60, transport=transport, **kwargs)


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def sign_in(c: httpx.Client, name: str, password: str = PASSWORD, lang: str = "en"):
    """One sign-in post with a fresh form token."""
    token = _csrf(c.get("/ui/login").text)
    return c.post(
        f"/ui/login?lang={lang}", data={"csrf": token, "name": name, "password": password}
    )


def _audit(site: Site, action: str) -> pd.DataFrame:
    from scoring.store.predictions import PredictionStore
    from scoring.store.users import UserStore

    return pd.DataFrame(UserStore(PredictionStore(site.store).engine).audit_log(100_000, [action]))


def test_guessing_is_slowed_then_refused_for_the_guessing_address_only(site):
    statuses = []
    with client(site, "127.0.0.3") as guesser:
        token = _csrf(guesser.get("/ui/login").text)
        for i in range(300):
            wrong = {"csrf": token, "name": "tia", "password": f"guess-number-{i:04d}"}
            answer = guesser.post("/ui/login", data=wrong)
            statuses.append(answer.status_code)
            token = _csrf(answer.text)
            if answer.status_code == 429:
                assert int(answer.headers["retry-after"]) >= 1
                assert "Too many failed sign-ins" in answer.text
        assert set(statuses) == {401, 429} and statuses[:5] == [401] * 5
        assert statuses.count(401) <= 8  # 5 free, then only those made after each delay
        right = guesser.post(
            "/ui/login?lang=zh", data={"csrf": token, "name": "tia", "password": PASSWORD}
        )
        assert right.status_code == 429 and "churn_session" not in guesser.cookies
        assert "登录失败次数过多" in right.text and right.headers["retry-after"]
    with client(site, "127.0.0.4") as owner:  # the account's owner, elsewhere, signs in
        assert sign_in(owner, "tia").status_code == 303
    with client(site, "127.0.0.1", headers={"X-API-Key": KEY}) as api:
        assert api.get("/at_risk").status_code == 200  # the API is not throttled
    audit = _audit(site, "sign_in")
    mine = audit[(audit["user_name"] == "tia") & (audit["client"] == "127.0.0.3")]
    assert {"failed", "throttled"} <= set(mine["outcome"])
    assert (mine["outcome"] == "failed").sum() == statuses.count(401)


def _p50(api: httpx.Client, n: int) -> float:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        assert api.get("/at_risk", params={"limit": 20}).status_code == 200
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def test_a_flood_of_bad_sign_ins_leaves_the_api_its_speed(site):
    # 16 clients, each on its own address and with a new name each time (so no throttle stops
    # them: every post asks for a password check), 5 posts a second, from another process
    command = [sys.executable, str(ROOT / "benchmarks" / "signin_flood.py"), "--flood", site.url]
    with client(site, "127.0.0.1", headers={"X-API-Key": KEY}) as api:
        _p50(api, 5)
        idle = _p50(api, 30)
        flooder = subprocess.Popen([*command, "--seconds", "8", "--spread"], stdout=subprocess.PIPE)
        time.sleep(1.5)
        flooded = _p50(api, 30)
        out, _ = flooder.communicate(timeout=120)
    answered = {int(k): v for k, v in json.loads(out.decode().strip().splitlines()[-1]).items()}
    assert sum(answered.values()) > 16 and set(answered) <= {401, 429}, answered
    bound = max(3 * idle, idle + 0.25)  # looser than the benchmark's goal: a shared test machine
    assert flooded <= bound, f"API p50 {idle * 1e3:.0f} ms idle, {flooded * 1e3:.0f} ms flooded"


def _customers(site: Site, n: int) -> list[str]:
    with client(site, headers={"X-API-Key": KEY}) as api:
        items = api.get("/at_risk", params={"limit": n}).json()["items"]
    return [i["customer_id"] for i in items]


def test_analysts_read_but_do_not_log_contacts(site, world):
    first = _customers(site, 1)[0]
    good = {"ts": world.asof, "treated": "1", "channel": "call", "offer": "none",
            "outcome": "reached", "campaign_id": "analyst-try"}  # fmt: skip
    with client(site) as ana:
        assert sign_in(ana, "ana").status_code == 303
        page = ana.get(f"/ui/customers/{first}")
        assert page.status_code == 200 and "data-read-only" in page.text
        assert f'action="/ui/customers/{first}/contacts"' not in page.text
        refused = ana.post(
            f"/ui/customers/{first}/contacts", data={**good, "csrf": _csrf(page.text)}
        )
        assert refused.status_code == 403 and "do not log contacts" in refused.text
    with client(site) as lee:
        assert sign_in(lee, "lee").status_code == 303
        page = lee.get(f"/ui/customers/{first}").text
        assert f'action="/ui/customers/{first}/contacts"' in page and "data-read-only" not in page
    denied = _audit(site, "denied")
    assert ((denied["user_name"] == "ana") & (denied["outcome"] == "contact")).any()
    with sa.create_engine(site.store).connect() as conn:
        query = "SELECT count(*) FROM ui_contacts WHERE campaign_id = 'analyst-try'"
        assert conn.execute(sa.text(query)).scalar_one() == 0


def test_twenty_sessions_logging_contacts_at_once_lose_none(site, world):
    customers = _customers(site, 20)
    sessions = [client(site) for _ in customers]
    try:
        for c in sessions:
            assert sign_in(c, "lee").status_code == 303
        tokens = [
            _csrf(c.get(f"/ui/customers/{cid}").text)
            for c, cid in zip(sessions, customers, strict=True)
        ]
        start = threading.Barrier(len(sessions))

        def log_one(i: int) -> int:
            form = {"csrf": tokens[i], "ts": world.asof, "treated": "1", "channel": "call",
                    "offer": "discount", "outcome": "accepted", "campaign_id": f"burst-{i}"}  # fmt: skip
            start.wait()
            return sessions[i].post(f"/ui/customers/{customers[i]}/contacts", data=form).status_code

        with ThreadPoolExecutor(len(sessions)) as pool:
            statuses = list(pool.map(log_one, range(len(sessions))))
    finally:
        for c in sessions:
            c.close()
    assert statuses == [303] * 20, statuses
    with sa.create_engine(site.store).connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT customer_id, campaign_id FROM ui_contacts WHERE campaign_id LIKE 'burst-%'"
            )
        ).all()
    assert sorted(rows) == sorted((cid, f"burst-{i}") for i, cid in enumerate(customers))
