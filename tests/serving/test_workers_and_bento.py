"""The service shipped as a Bento and run with two workers: ``bentoml build`` from the locked
requirements under a temporary ``BENTOML_HOME``, ``bentoml serve <tag>`` of the built Bento (its
own copy of the code, started outside the source tree) with two workers, the trained registry
and the scored store of conftest.py's world; then a moved alias reaches both workers within ``RELOAD_WITHIN_S``
of one ``POST /reload``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mlflow import MlflowClient

from scoring.champions import load_champions
from scoring.frame import score_records
from serving.launch import PROJECT_ROOT, free_port, start_service, stop_service, wait_until_up
from training.tracking import using_store

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("serving-api")]

WORKERS = 2
RELOAD_WITHIN_S = 15.0  # 1 s watch interval plus a model load on a loaded 2-core machine


@pytest.fixture(scope="module")
def bento(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """The Bento built from bentofile.yaml: its tag and the BENTOML_HOME holding it."""
    home = tmp_path_factory.mktemp("bentoml-home")
    env = {**os.environ, "BENTOML_HOME": str(home), "BENTOML_DO_NOT_TRACK": "True"}
    build = subprocess.run(
        [sys.executable, "-m", "bentoml", "build", "--output", "tag", str(PROJECT_ROOT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    tag = re.search(r"__tag__:(\S+)", build.stdout)
    assert tag, build.stdout[-2000:]
    return tag.group(1), home


@pytest.fixture(scope="module")
def served(world, bento, tmp_path_factory) -> Iterator[tuple[httpx.Client, Path]]:
    tag, home = bento
    outside = tmp_path_factory.mktemp("outside-the-tree")
    port = free_port()
    log = world.root / "bento.log"
    proc = start_service(
        port,
        world.config,
        log,
        extra_env={"BENTOML_HOME": str(home), "CHURN_API_KEY": None},
        workers=WORKERS,
        target=tag,
        cwd=outside,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(proc, url, 180, log)
        with httpx.Client(base_url=url, timeout=30) as client:
            yield client, log
    finally:
        stop_service(proc)


def test_the_bento_holds_code_and_configuration_and_no_models(bento):
    tag, home = bento
    name, version = tag.split(":")
    src = home / "bentos" / name / version / "src"
    assert (src / "serving" / "service.py").is_file() and (src / "configs").is_dir()
    assert (src / "features" / "catalog.yaml").is_file()
    assert not list(src.rglob("model.txt")) and not (src / "tests").exists()
    requirements = (home / "bentos" / name / version / "env/python/requirements.txt").read_text()
    assert "lightgbm==" in requirements and "bentoml==" in requirements


def _fresh(client: httpx.Client, path: str, **kwargs) -> httpx.Response:
    """A request on a new connection, so the workers take turns answering."""
    with httpx.Client(base_url=str(client.base_url), timeout=30) as one:
        return one.request("POST" if "json" in kwargs else "GET", path, **kwargs)


def test_the_served_bento_is_ready_and_predicts_like_the_models(served, world):
    client, log = served
    assert "churn:" in log.read_text()
    assert client.get("/readyz").status_code == 200
    local = load_champions(world.cfg.models, world.tracking_uri)
    record = client.get("/models").json()["example_records"]["churn-model"]
    want = score_records([record], local, world.cfg.risk_bands)[0]
    for _ in range(2 * WORKERS):
        got = _fresh(client, "/predict", json={"records": [record]})
        assert got.status_code == 200, got.text
        assert got.json()[0]["churn_probability"] == want["churn_probability"]


def _move_champions(world, to: dict[str, str] | None = None) -> dict[str, str]:
    """Point the champion alias at new versions of the same artifacts (or at ``to``); returns
    the versions it pointed at before."""
    before = {}
    with using_store(world.tracking_uri):
        client = MlflowClient(world.tracking_uri, world.tracking_uri)
        for name in ("churn-model", "value-model"):
            mv = client.get_model_version_by_alias(name, "champion")
            before[name] = str(mv.version)
            target = (to or {}).get(name) or client.create_model_version(
                name, mv.source, run_id=mv.run_id
            ).version
            client.set_registered_model_alias(name, "champion", str(target))
    return before


def _predict_lines(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if "path=/predict," in line]


def _answering(client: httpx.Client, record: dict) -> set[str]:
    return {
        _fresh(client, "/predict", json={"records": [record]}).json()[0]["churn_model_version"]
        for _ in range(4 * WORKERS)
    }


def test_every_worker_serves_a_moved_alias_soon_after_one_reload(served, world):
    client, log = served
    record = client.get("/models").json()["example_records"]["churn-model"]
    old = _answering(client, record)
    assert len(old) == 1
    before = _move_champions(world)
    try:
        moved = client.post("/reload")
        assert moved.status_code == 200, moved.text
        new = moved.json()["churn_model"]["version"]
        assert {new} != old
        deadline = time.monotonic() + RELOAD_WITHIN_S
        while _answering(client, record) != {new} and time.monotonic() < deadline:
            time.sleep(0.2)
        # from here on every answer is the new version, and the access log shows both workers
        # giving such answers (which worker a fresh connection reaches is the kernel's choice)
        workers: set[str] = set()
        wait = time.monotonic() + RELOAD_WITHIN_S
        while len(workers) < WORKERS and time.monotonic() < wait:
            seen = len(_predict_lines(log))
            assert _answering(client, record) == {new}  # 4 x WORKERS fresh connections
            time.sleep(0.3)  # a request's access-log line follows its answer
            answered = "".join(_predict_lines(log)[seen:])
            workers |= set(re.findall(r"\[entry_service:churn:(\d+)\]", answered))
        assert len(workers) == WORKERS, log.read_text()[-3000:]
    finally:
        _move_champions(world, before)
        client.post("/reload")
