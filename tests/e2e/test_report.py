"""The analysts' report, end to end: generated data -> train -> batch score -> `churn explain`
and `churn report`; the HTML is then opened in headless Chromium (Debian's, installed by
``scripts/ensure_chromium.sh``) driven by Playwright through ``executable_path``: it renders,
every image loads, nothing is fetched from outside the file and the console stays free of
errors."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest
from typer.testing import CliRunner

from churn.cli import register_commands
from core.errors import ChurnError
from features.loaders import load_dataset
from features.synthetic.generator import generate, write_dataset
from scoring.batch.job import run_batch
from scoring.config import ServingConfig
from training.config import SelectionConfig, TrainingConfig
from training.job import train

if TYPE_CHECKING:
    from playwright.sync_api import ConsoleMessage, Page

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps",
    "--disable-extensions",
]  # fmt: skip
ASOF = "2024-03-01"  # a month start whose 90-day KPI window the data covers


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A project home with trained champions and one batch scoring at ``ASOF``."""
    root = tmp_path_factory.mktemp("report-home")
    saved = os.environ.get("CHURN_HOME")
    os.environ["CHURN_HOME"] = str(root)
    data = generate(1500, seed=11)
    write_dataset(data, root / "demo")
    uri_vars = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    light = SelectionConfig(validation_cutoffs=1, candidates=("lightgbm",))  # not under test
    train(data.dataset, TrainingConfig(num_threads=2, selection=light), progress=False)
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


# ---- headless Chromium through Playwright --------------------------------------------------


@dataclass
class Loaded:
    """A page loaded in headless Chromium, with the errors it logged and every URL it asked for."""

    page: Page
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@contextmanager
def open_page(url: str, width: int = 1280, height: int = 720) -> Iterator[Loaded]:
    """``url`` loaded (load event fired) in Debian's Chromium driven by Playwright; console
    errors, uncaught exceptions and requests are recorded from before the navigation on."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            loaded = Loaded(context.new_page())

            def console(msg: ConsoleMessage) -> None:
                if msg.type in ("error", "assert"):
                    loaded.errors.append(f"{msg.type}: {msg.text} ({msg.location})")

            context.on("request", lambda req: loaded.requests.append(req.url))
            loaded.page.on("console", console)
            loaded.page.on("pageerror", lambda exc: loaded.errors.append(f"pageerror: {exc}"))
            loaded.page.goto(url, wait_until="load")
            yield loaded
        finally:
            browser.close()


@pytest.mark.skipif(
    shutil.which(CHROMIUM) is None, reason="run scripts/ensure_chromium.sh (make test does)"
)
def test_report_renders_in_headless_chromium(report: Path):
    with open_page(report.resolve().as_uri()) as loaded:
        page = loaded.page.evaluate(
            """() => ({title: document.title, h2: document.querySelectorAll('h2').length,
                rows: document.querySelectorAll('tr').length, images: Array.from(document.images)
                .map(i => [i.complete, i.naturalWidth, i.naturalHeight])})"""
        )
        loaded.page.wait_for_timeout(500)  # late console messages
    assert page["title"].startswith("Churn report")
    assert page["h2"] == 6 and page["rows"] >= 54  # six sections: the trends are the sixth
    assert len(page["images"]) >= 6
    for complete, width, height in page["images"]:
        assert complete and width > 0 and height > 0
    assert loaded.errors == []
    outside = [u for u in loaded.requests if not u.startswith(("file:", "data:"))]
    assert outside == []
