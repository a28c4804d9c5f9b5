"""The analysts' report, end to end: generated data -> train -> batch score -> `churn explain`
and `churn report`; the HTML is then opened in headless Chromium (Debian's, installed by
``scripts/ensure_chromium.sh``) through the DevTools protocol: it renders, every image loads,
nothing is fetched from outside the file and the console stays free of errors."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from churn.cli import register_commands
from core.errors import ChurnError
from features.loaders import load_dataset
from features.synthetic.generator import generate, write_dataset
from scoring.batch.job import run_batch
from scoring.config import ServingConfig
from training.config import TrainingConfig
from training.job import train

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
ASOF = "2024-03-01"  # a month start whose 90-day KPI window the data covers


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project home with trained champions and one batch scoring at ``ASOF``."""
    root = tmp_path_factory.mktemp("report-home")
    saved = os.environ.get("CHURN_HOME")
    os.environ["CHURN_HOME"] = str(root)
    data = generate(1500, seed=11)
    write_dataset(data, root / "demo")
    uri_vars = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    train(data.dataset, TrainingConfig(num_threads=2), progress=False)
    for key, value in uri_vars.items():  # training may leave MLflow's URI variables behind
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    demo = root / "demo"
    run_batch(load_dataset(demo), pd.Timestamp(ASOF), ServingConfig(), str(demo.resolve()))
    yield root
    if saved is None:
        os.environ.pop("CHURN_HOME", None)
    else:
        os.environ["CHURN_HOME"] = saved


def _churn(*args: str):
    result = CliRunner().invoke(register_commands(), list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def report(home: Path) -> Path:
    path = home / "out" / "report.html"
    _churn("report", "--out", str(path), "--data", str(home / "demo"), "--sample", "500")
    return path


def test_report_is_one_self_contained_file(report: Path):
    text = report.read_text(encoding="utf-8")
    for section in ("Model quality", "at-risk customers", "drives churn", "KPI scorecards"):
        assert section in text
    assert "Not available" not in text and "Account managers" in text  # every section filled
    assert text.count('src="data:image/png;base64,') >= 6
    assert "http://" not in text and "https://" not in text and "<script" not in text
    assert text.count("<tr") >= 50 + 4  # the top 50 and the scorecards


def test_explain_customer_and_global(home: Path, report: Path):
    import pandas as pd

    top = pd.read_csv(home / "at_risk" / f"at_risk_{ASOF}.csv", dtype={"customer_id": str})
    customer = top["customer_id"].iloc[0]
    out = _churn("explain", "--customer-id", customer, "--lang", "zh", "--out", str(home / "w.png"))
    assert customer in out.output and (home / "w.png").read_bytes()[:4] == b"\x89PNG"
    _churn("explain", "--global", "--sample", "300", "--out", str(home / "global"))
    assert (home / "global" / "shap_beeswarm.png").is_file()
    assert (home / "global" / "drivers_by_account_manager_id.csv").is_file()


def test_unknown_customer_is_a_user_error(home: Path):
    result = CliRunner().invoke(register_commands(), ["explain", "--customer-id", "NOPE"])
    assert isinstance(result.exception, ChurnError)  # churn's main prints it and exits 2
    assert "NOPE" in str(result.exception)


# ---- headless Chromium through the DevTools protocol ----------------------------------------


def _start_chromium(profile: Path) -> tuple[subprocess.Popen, int]:
    args = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--disable-default-apps", "--disable-extensions", f"--user-data-dir={profile}",
        "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1", "about:blank",
    ]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if port_file.is_file() and port_file.read_text().strip():
            return proc, int(port_file.read_text().split()[0])
        if proc.poll() is not None:
            raise RuntimeError(f"chromium exited with {proc.returncode}")
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("chromium did not open its DevTools port within 60 s")


async def _inspect(port: int, url: str) -> dict:
    """Load ``url`` in the page target; return console errors, requests and image states."""
    import aiohttp

    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/json/list") as resp:
            targets = await resp.json()
        ws_url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        async with http.ws_connect(ws_url, max_msg_size=0) as ws:
            counter, errors, requests = 0, [], []

            async def call(method: str, **params) -> dict:
                nonlocal counter
                counter += 1
                await ws.send_json({"id": counter, "method": method, "params": params})
                while True:
                    msg = json.loads((await ws.receive(timeout=60)).data)
                    if msg.get("id") == counter:
                        return msg.get("result", {})
                    note(msg)

            def note(msg: dict) -> None:
                method, p = msg.get("method"), msg.get("params", {})
                if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                    errors.append(str(p.get("args")))
                elif method == "Runtime.exceptionThrown":
                    errors.append(str(p.get("exceptionDetails")))
                elif method == "Log.entryAdded" and p["entry"].get("level") == "error":
                    errors.append(p["entry"].get("text", ""))
                elif method == "Network.requestWillBeSent":
                    requests.append(p["request"]["url"])
                elif method == "Page.loadEventFired":
                    loaded.append(True)

            loaded: list[bool] = []
            for domain in ("Page", "Runtime", "Log", "Network"):
                await call(f"{domain}.enable")
            await call("Page.navigate", url=url)
            while not loaded:
                note(json.loads((await ws.receive(timeout=60)).data))
            script = (
                "JSON.stringify({title: document.title, h2: document.querySelectorAll('h2').length,"
                " rows: document.querySelectorAll('tr').length, images: Array.from(document.images)"
                ".map(i => [i.complete, i.naturalWidth, i.naturalHeight])})"
            )
            result = await call("Runtime.evaluate", expression=script, returnByValue=True)
            await asyncio.sleep(0.5)  # late console messages
            while True:
                try:
                    note(json.loads((await ws.receive(timeout=0.2)).data))
                except TimeoutError:
                    break
    page = json.loads(result["result"]["value"])
    return {**page, "errors": errors, "requests": requests}


@pytest.mark.skipif(
    shutil.which(CHROMIUM) is None, reason="run scripts/ensure_chromium.sh (make test does)"
)
def test_report_renders_in_headless_chromium(report: Path, tmp_path: Path):
    proc, port = _start_chromium(tmp_path / "profile")
    try:
        page = asyncio.run(_inspect(port, report.resolve().as_uri()))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert page["title"].startswith("Churn report")
    assert page["h2"] == 4 and page["rows"] >= 54
    assert len(page["images"]) >= 6
    for complete, width, height in page["images"]:
        assert complete and width > 0 and height > 0
    assert page["errors"] == []
    outside = [u for u in page["requests"] if not u.startswith(("file:", "data:"))]
    assert outside == []
