"""The retention workspace in a real browser: headless Chromium (Debian's, installed by
``scripts/ensure_chromium.sh``) driven by Playwright through ``executable_path``, against a real
``bentoml serve`` of the service with the workspace, on a small generated book that was trained
and scored here.

First the open workspace (no key, no users, loopback: lead rights); then, with users added by
``churn users add``, a manager and a lead sign in, filter, page, open a customer and export; the
manager cannot reach another manager's book by URL, filter or export. The manager logs a retention
contact (a bad one is refused with a message first), finds it in the contacts export, and
``churn export contacts`` writes it as a contacts table the loader accepts; the lead sees every
manager's scorecard, builds a campaign and exports it, and reads the ``churn monitor`` result.
Every page is checked for console errors, requests to other hosts and form controls without a
label.
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

from kpi.config import KpiConfig
from kpi.periods import latest_complete_month
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
    data: Path
    asof: str
    config: Path


def _churn(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> str:
    from churn.cli import app, register_commands

    register_commands()
    result = CliRunner().invoke(app, list(args), input=stdin, env=env)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A trained registry, one scoring and the service with the workspace (no API key)."""
    from features.synthetic.generator import generate, write_dataset
    from training.config import (
        BoosterParams,
        ChurnModelConfig,
        SelectionConfig,
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
        selection=SelectionConfig(validation_cutoffs=1, candidates=("lightgbm",)),  # not under test
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
    month = latest_complete_month(generated.dataset.as_of, KpiConfig().outcome.horizon_days)
    _churn("score", "--data", str(root / "data"), "--asof", f"{month:%Y-%m-%d}",
           "--config", str(config), "--out", str(root / "month.csv"))  # fmt: skip
    home = root / "home"  # the service's CHURN_HOME, where churn monitor leaves its result
    _churn("monitor", "--data", str(root / "data"), "--asof", asof, "--config", str(config),
           "--out", str(root / "monitor.json"), env={"CHURN_HOME": str(home)})  # fmt: skip
    port = free_port()
    command = serve_command("127.0.0.1", port)
    env = serve_env(config)
    env.pop("CHURN_API_KEY", None)
    env["CHURN_HOME"] = str(home)
    log = root / "service.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=die_with_parent,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(proc, url, 120, log)
        yield Site(url, store, csv, str(books.index[0]), str(books.index[1]), log,
                   root / "data", asof, config)  # fmt: skip
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
        if (
            msg.location.get("url") in watch.refused
            and "the server responded with a status of 4" in msg.text
        ):
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
    # the open workspace's forms carry a double-submit token; the form exactly as rendered is
    # a valid contact, and a control row is its own explicit choice
    theirs = batch[batch["account_manager_id"] == site.other]["customer_id"].iloc[0]
    page.goto(f"{site.url}/ui/customers/{theirs}")
    page.get_by_role("button", name="Save contact").click()
    page.wait_for_url("**logged=ws-*")
    made = page.locator("tr[data-contact]")
    assert made.count() == 1 and "reached" in made.inner_text() and site.asof in made.inner_text()
    page.get_by_label("held back as control (not contacted)").check()
    page.get_by_role("button", name="Save contact").click()
    page.wait_for_url("**logged=ws-*")
    assert "held back as control" in page.locator("tr[data-contact]").first.inner_text()
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
    page.get_by_label("Segment", exact=True).select_option(segment)
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**segment=*")
    want = mine[mine["segment"] == segment]
    assert _rows(page) == list(want["customer_id"].head(PAGE))
    page.get_by_label("Segment", exact=True).select_option("")
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

    # the manager logs a contact: a bad one is refused with a message, the form keeps its values
    mine_first = mine["customer_id"].iloc[0]
    page.goto(f"{site.url}/ui/customers/{mine_first}")
    assert page.evaluate(UNLABELLED) == []
    # the form's defaults are a valid contact: an ISO date input, a contact made, an outcome
    assert page.get_by_label("Date of the contact").get_attribute("type") == "date"
    assert page.get_by_label("Date of the contact").input_value() == site.asof  # a past book
    assert page.get_by_label("Outcome").input_value() == "reached"
    page.get_by_label("held back as control (not contacted)").check()
    assert not page.get_by_label("Outcome").is_visible()  # asked only for a contact made
    page.get_by_label("contacted", exact=True).check()
    page.get_by_label("Date of the contact").fill("2999-01-01")
    page.get_by_label("Channel").select_option("visit")
    page.get_by_label("Offer").select_option("discount")
    page.get_by_label("Campaign (optional)").fill("summer-save")
    watch.refused.add(f"{site.url}/ui/customers/{mine_first}/contacts")
    page.get_by_role("button", name="Save contact").click()
    page.wait_for_load_state()
    alert = page.locator(".problems")
    assert "ts" in alert.inner_text() and "is in the future" in alert.inner_text()
    assert page.get_by_label("Campaign (optional)").input_value() == "summer-save"
    assert page.get_by_label("Channel").input_value() == "visit"
    page.get_by_label("Date of the contact").fill(site.asof)
    page.get_by_label("Outcome").select_option("accepted")
    page.get_by_role("button", name="Save contact").click()
    page.wait_for_url("**logged=ws-*")
    assert "Contact ws-" in page.locator("#contacts").inner_text()
    logged = page.locator("tr[data-contact]")
    assert logged.count() == 1 and "summer-save" in logged.inner_text()
    with page.expect_download() as info:
        page.get_by_role("link", name="Export logged contacts").click()
    contacts = pd.read_csv(info.value.path(), dtype=str)
    assert list(contacts["customer_id"]) == [mine_first]
    assert contacts["outcome"].tolist() == ["accepted"] and contacts["logged_by"].tolist() == [
        "mia"
    ]
    # their own scorecard only
    page.get_by_role("link", name="Managers").click()
    page.wait_for_url("**/ui/managers")
    shown = page.eval_on_selector_all("tr[data-manager]", "rs => rs.map(r => r.dataset.manager)")
    assert shown == [site.manager]
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/ui/login")
    context.close()

    # the export: a contacts table the product's loader accepts
    out = tmp_path / "contacts.csv"
    _churn("export", "contacts", "--out", str(out), "--config", str(site.config))
    folder = tmp_path / "data"
    shutil.copytree(site.data, folder)
    for old in folder.glob("contacts.*"):
        old.unlink()
    shutil.copy(out, folder / "contacts.csv")
    from features.loaders import load_dataset

    ds = load_dataset(folder, as_of=site.asof)
    assert ds.reports["contacts"].rejected == 0
    table = ds.tables["contacts"].set_index("logged_by")
    local = table.loc[table.index == "local"]  # the open workspace's rows, when that test ran
    if len(local):
        assert sorted(local["treated"]) == [0, 1]
        assert local.loc[local["treated"] == 0, "outcome"].isna().all()
    assert ds.reports["contacts"].read == 1 + len(local)
    row = table.loc["mia"]
    assert (row["customer_id"], row["channel"], row["treated"]) == (mine_first, "visit", 1)
    assert row["account_manager_id"] == site.manager and row["campaign_id"] == "summer-save"

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

    # every manager's scorecard, then one manager's page
    page.get_by_role("link", name="Managers").click()
    page.wait_for_url("**/ui/managers")
    assert page.evaluate(UNLABELLED) == []
    shown = page.eval_on_selector_all("tr[data-manager]", "rs => rs.map(r => r.dataset.manager)")
    assert set(shown) == set(batch["account_manager_id"].dropna())
    graded = page.eval_on_selector_all(
        "tr[data-manager] td:nth-child(5)", "cs => cs.map(c => c.textContent.trim())"
    )
    assert all(graded), "every manager has a grade"
    page.get_by_role("link", name=site.other, exact=True).click()
    page.wait_for_url(f"**/ui/managers/{site.other}*")
    assert page.locator("[data-field=score]").inner_text().strip()
    assert page.locator("[data-field=payout]").inner_text().strip()

    # a campaign: three contacts per manager by churn probability, previewed and exported
    page.get_by_role("link", name="Campaign").click()
    page.wait_for_url("**/ui/campaign")
    assert page.evaluate(UNLABELLED) == []
    page.get_by_label("Contacts per manager").fill("3")
    page.get_by_label("Whom first").select_option("risk")
    page.get_by_role("button", name="Preview").click()
    page.wait_for_url("**by=risk*")
    previewed = _rows(page)
    assert 0 < len(previewed) <= 3 * len(shown)
    with page.expect_download() as info:
        page.get_by_role("link", name="Export CSV").click()
    campaign = pd.read_csv(info.value.path(), dtype={"customer_id": str})
    assert list(campaign["customer_id"]) == previewed
    assert campaign.groupby("account_manager_id").size().max() <= 3
    probabilities = campaign.groupby("account_manager_id")["churn_probability"]
    assert probabilities.apply(lambda p: p.is_monotonic_decreasing).all()

    # the latest churn monitor result
    page.get_by_role("link", name="Monitoring").click()
    page.wait_for_url("**/ui/monitoring")
    assert page.locator("h1").inner_text().startswith(f"Model monitoring as of {site.asof}")
    assert page.locator("tr[data-scoring=now]").count() == 1
    assert "features drifted" in page.locator("#main").inner_text()

    page.get_by_role("link", name="中文").click()
    page.wait_for_url("**lang=zh*")
    assert "客户挽留工作台" in page.content() and "模型监控" in page.content()
    page.get_by_role("link", name="召回").click()
    assert "召回" in page.locator("h1").inner_text()  # the language is remembered
    assert page.evaluate(UNLABELLED) == []
    context.close()
    assert watch.errors == [], watch.errors
    assert watch.outside == [], watch.outside


SHOTS = Path(os.environ.get("CHURN_SHOTS", "/tmp/shots31"))
"""Where the first page, a customer page and the campaign page are saved as screenshots."""
HEADINGS = {
    "en": ("Why this customer is at risk", "What keeps them", "Expected benefit of a contact"),
    "zh": ("该客户的流失风险原因", "留住该客户的因素", "联系的预期收益"),
}


CONTACTED = {"en": "contact", "zh": "联系"}


def test_first_page_customer_and_campaign_read_by_lead_and_manager_in_both_languages(browser, site):
    watch = Watch([], [])
    SHOTS.mkdir(parents=True, exist_ok=True)
    for user in ("leo", "mia"):
        context, page = _context(browser, site, watch)
        _sign_in(page, site, user)
        for lang in ("en", "zh"):
            why, keeps, benefit = HEADINGS[lang]
            page.goto(f"{site.url}/ui/?lang={lang}")
            # whom to call first: by the benefit of a contact, each row saying why in one line
            assert benefit in page.locator("thead").inner_text()
            first = page.locator("tr[data-customer]").first
            assert first.locator("p.why").inner_text().strip()
            # when each customer was last contacted, and the filter that leaves them out
            assert CONTACTED[lang] in first.locator("small.contacted").inner_text()
            assert page.locator("#f-skip option").count() == 5
            page.screenshot(path=str(SHOTS / f"{user}_{lang}_list.png"), full_page=False)
            customer = _rows(page)[0]
            page.goto(f"{site.url}/ui/customers/{customer}?lang={lang}")
            assert page.get_by_role("heading", name=why).is_visible()
            assert page.get_by_role("heading", name=keeps).is_visible()
            assert CONTACTED[lang] in page.locator("dd.contacted").inner_text()
            assert "e+" not in (page.locator("svg[role=img]").text_content() or "")
            page.screenshot(path=str(SHOTS / f"{user}_{lang}_customer.png"), full_page=True)
            page.goto(f"{site.url}/ui/campaign?lang={lang}")
            assert page.locator("h1").inner_text().strip()
            page.screenshot(path=str(SHOTS / f"{user}_{lang}_campaign.png"), full_page=False)
        context.close()
    assert watch.errors == [] and watch.outside == [], watch.errors


def test_every_page_in_chinese_has_no_english_words(browser, site):
    """Issue 32: a Chinese reader meets no word of 3+ Latin letters on any page, outside the
    allowed names, ids, typed commands and the customer's own data values."""
    from english import VISIBLE_TEXT, data_values, english_words

    values = data_values(site.data) | {"leo"}  # the signed-in user's own name
    watch = Watch([], [])
    found: dict[str, list[str]] = {}

    def read(name: str, path: str) -> None:
        page.goto(f"{site.url}/ui{path}")
        found[name] = english_words(page.evaluate(VISIBLE_TEXT), values)

    context, page = _context(browser, site, watch)
    read("sign-in", "/login?lang=zh")  # its own context: the language is kept in a cookie
    context.close()
    context, page = _context(browser, site, watch)
    _sign_in(page, site, "leo")
    read("at risk", "/?lang=zh")
    customer = _rows(page)[0]
    read("win back", "/win-back?lang=zh")
    lapsed = _rows(page)
    read("customer", f"/customers/{customer}?lang=zh")
    if lapsed:
        read("lapsed customer", f"/customers/{lapsed[0]}?lang=zh")
    read("managers", "/managers?lang=zh")
    read("manager", f"/managers/{site.manager}?lang=zh")
    read("campaign", "/campaign?lang=zh")
    read("monitoring", "/monitoring?lang=zh")
    context.close()
    assert {name: words for name, words in found.items() if words} == {}
    assert len(found) >= 9 and watch.errors == [] and watch.outside == [], watch.errors
