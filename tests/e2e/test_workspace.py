"""The retention workspace in a real browser: headless Chromium (Debian's, installed by
``scripts/ensure_chromium.sh``) driven by Playwright through ``executable_path``, against a real
``bentoml serve`` of the service with the workspace, on a small generated book that was trained
and scored here.

First the open workspace (no key, no users, loopback: lead rights); then, with users added by
``churn users add``, a manager and a lead sign in, filter, page, open a customer and export; the
manager cannot reach another manager's book by URL, filter or export. Every page is checked for
console errors, requests to other hosts and form controls without a label.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from serving.launch import (
    die_with_parent,
    free_port,
    serve_command,
    serve_env,
    stop_service,
    wait_until_up,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("workspace-browser")]

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "browser-test-password"
PAGE = 15

UNLABELLED = """() => Array.from(document.querySelectorAll('input, select, textarea, button'))
  .filter(e => e.type !== 'hidden')
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
               && !(e.tagName === 'BUTTON' && e.textContent.trim()))
  .map(e => e.outerHTML.slice(0, 120))"""


@dataclass(frozen=True)
class Site:
    url: str
    store: str
    csv: Path
    manager: str
    other: str
    log: Path


def _churn(*args: str, stdin: str | None = None) -> str:
    from churn.cli import app, register_commands

    register_commands()
    result = CliRunner().invoke(app, list(args), input=stdin)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A trained registry, one scoring and the service with the workspace (no API key)."""
    from features.synthetic.generator import generate, write_dataset
    from training.config import (
        BoosterParams,
        ChurnModelConfig,
        SplitConfig,
        TrainingConfig,
        ValueModelConfig,
    )
    from training.job import train

    root = tmp_path_factory.mktemp("workspace")
    generated = generate(600, seed=21)
    write_dataset(generated, root / "data", "parquet")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    small = BoosterParams(max_rounds=30, num_leaves=7, min_data_in_leaf=30)
    cfg = TrainingConfig(
        split=SplitConfig(train_cutoffs=2),
        churn=ChurnModelConfig(params=small),
        value=ValueModelConfig(params=small),
        shap_sample=100,
        early_stopping_rounds=10,
    )
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    train(generated.dataset, cfg, tracking_uri=uri, progress=False)
    for key, value in saved.items():  # training may leave MLflow's URI variables behind
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    store = f"sqlite:///{root / 'serving.db'}"
    config = root / "serving.yaml"
    serving = {"tracking_uri": uri, "store_url": store, "poll_interval_s": 0}
    config.write_text(yaml.safe_dump({"serving": {**serving, "at_risk_page_size": PAGE}}))
    asof = f"{generated.dataset.as_of:%Y-%m-%d}"
    csv = root / "at_risk.csv"
    _churn("score", "--data", str(root / "data"), "--asof", asof, "--config", str(config),
           "--out", str(csv), "--win-back-out", str(root / "win_back.csv"))  # fmt: skip
    books = pd.read_csv(csv, dtype=str)["account_manager_id"].dropna().value_counts()
    port = free_port()
    command = serve_command("127.0.0.1", port)
    env = serve_env(config)
    env.pop("CHURN_API_KEY", None)
    log = root / "service.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=die_with_parent,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(proc, url, 120, log)
        yield Site(url, store, csv, str(books.index[0]), str(books.index[1]), log)
    finally:
        stop_service(proc)


@dataclass
class Watch:
    """What the browser saw go wrong: console errors, page errors, requests to other hosts."""

    errors: list[str]
    outside: list[str]
    refused: set[str] = field(default_factory=set)
    """URLs the test opens knowing they are refused (their 403/404 is logged as an error)."""


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    if shutil.which(CHROMIUM) is None:
        pytest.fail("no /usr/bin/chromium: run scripts/ensure_chromium.sh (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-default-apps",
                  "--no-sandbox"],
        )  # fmt: skip
        yield browser
        browser.close()


def _context(browser, site: Site, watch: Watch):
    context = browser.new_context(accept_downloads=True)
    host = urlparse(site.url).netloc

    def request(req) -> None:
        parsed = urlparse(req.url)
        if parsed.scheme not in ("data", "about") and parsed.netloc != host:
            watch.outside.append(req.url)

    def console(msg) -> None:
        if msg.location.get("url") in watch.refused and "status of 40" in msg.text:
            return
        if msg.type in ("error", "assert"):
            watch.errors.append(f"{msg.type}: {msg.text} ({msg.location})")

    context.on("request", request)
    page = context.new_page()
    page.on("console", console)
    page.on("pageerror", lambda exc: watch.errors.append(f"pageerror: {exc}"))
    return context, page


def _rows(page) -> list[str]:
    return page.eval_on_selector_all("tr[data-customer]", "rs => rs.map(r => r.dataset.customer)")


def _managers(page) -> set[str]:
    return set(
        page.eval_on_selector_all(
            "tbody tr td:nth-child(3)", "cs => cs.map(c => c.textContent.trim())"
        )
    )


def _sign_in(page, site: Site, name: str) -> None:
    page.goto(f"{site.url}/ui/")
    assert "/ui/login" in page.url
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{site.url}/ui/")


def test_open_workspace_on_loopback_without_users(browser, site):
    watch = Watch([], [])
    context, page = _context(browser, site, watch)
    page.goto(f"{site.url}/ui/")
    assert "Open workspace" in page.content()
    batch = pd.read_csv(site.csv, dtype=str)
    assert _rows(page) == list(batch["customer_id"].head(PAGE))  # rendered on the server
    assert page.evaluate(UNLABELLED) == []
    page.get_by_role("link", name="Win back").click()
    assert page.locator("h1").inner_text().startswith("Win back")
    assert page.evaluate(UNLABELLED) == []
    context.close()
    assert watch.errors == [] and watch.outside == []


def test_manager_and_lead_sign_in_filter_page_open_and_export(browser, site, tmp_path):
    _churn("users", "add", "mia", "--role", "manager", "--manager-id", site.manager,
           "--password-stdin", "--store", site.store, stdin=PASSWORD + "\n")  # fmt: skip
    _churn("users", "add", "leo", "--role", "lead", "--password-stdin", "--store", site.store,
           stdin=PASSWORD + "\n")  # fmt: skip
    batch = pd.read_csv(site.csv, dtype=str)
    watch = Watch([], [])

    # a manager: their own book only
    context, page = _context(browser, site, watch)
    _sign_in(page, site, "mia")
    assert page.evaluate(UNLABELLED) == []
    mine = batch[batch["account_manager_id"] == site.manager]
    assert _rows(page) == list(mine["customer_id"].head(PAGE))
    segment = mine["segment"].value_counts().index[0]
    page.get_by_label("Segment").select_option(segment)
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**segment=*")
    want = mine[mine["segment"] == segment]
    assert _rows(page) == list(want["customer_id"].head(PAGE))
    page.get_by_label("Segment").select_option("")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_load_state()
    if len(mine) > PAGE:
        page.get_by_role("link", name="Next page").click()
        page.wait_for_url("**page=2*")
        assert _rows(page) == list(mine["customer_id"].iloc[PAGE : 2 * PAGE])
    first = _rows(page)[0]
    page.get_by_role("link", name=first, exact=True).click()
    page.wait_for_url(f"**/ui/customers/{first}")
    assert page.locator("svg[role=img] rect").count() >= 3  # the waterfall
    assert page.get_by_role("heading", name="Score history").is_visible()
    page.go_back()
    with page.expect_download() as info:
        page.get_by_role("link", name="Export CSV").click()
    exported = pd.read_csv(info.value.path(), dtype=str)
    assert set(exported["account_manager_id"]) == {site.manager}
    assert len(exported) == len(mine)
    theirs = batch[batch["account_manager_id"] == site.other]["customer_id"].iloc[0]
    watch.refused |= {f"{site.url}/ui/customers/{theirs}", f"{site.url}/ui/?manager={site.other}"}
    page.goto(f"{site.url}/ui/customers/{theirs}")
    assert page.locator("h1").inner_text() == "Not found"
    page.goto(f"{site.url}/ui/?manager={site.other}")
    assert page.locator("h1").inner_text() == "Not allowed"
    refused = page.request.get(f"{site.url}/ui/export.csv?list=at_risk&manager={site.other}")
    assert refused.status == 403
    page.goto(f"{site.url}/ui/")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/ui/login")
    context.close()

    # a lead: everyone, in Chinese when asked
    context, page = _context(browser, site, watch)
    _sign_in(page, site, "leo")
    assert _rows(page) == list(batch["customer_id"].head(PAGE))
    page.get_by_label("Account manager").select_option(site.other)
    page.get_by_label("Risk band").select_option("high")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**band=high*")
    theirs_high = batch[
        (batch["account_manager_id"] == site.other) & (batch["risk_band"] == "high")
    ]
    assert _rows(page) == list(theirs_high["customer_id"].head(PAGE))
    assert _managers(page) <= {site.other}
    page.get_by_role("link", name="中文").click()
    page.wait_for_url("**lang=zh*")
    assert "客户挽留工作台" in page.content()
    page.get_by_role("link", name="赢回").click()
    assert "赢回" in page.locator("h1").inner_text()  # the language is remembered
    assert page.evaluate(UNLABELLED) == []
    context.close()
    assert watch.errors == [], watch.errors
    assert watch.outside == [], watch.outside
