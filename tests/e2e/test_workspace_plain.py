"""The workspace on a plain purchase log, in a real browser: customers (with name, phone and email)
and transactions only, no account managers, segments or plans, amounts in CNY.

A lead reads the at-risk list (no manager or segment column or filter, ¥ amounts, how to reach
each customer and when they were last contacted), leaves out customers contacted recently, opens
a customer page, builds a campaign with one team-wide capacity and reads why the managers' page
is empty, in English and Chinese; screenshots of the list, a customer and the campaign go to
``CHURN_SHOTS``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import yaml
from test_workspace import PASSWORD, UNLABELLED, Watch, _churn, _context, _rows, browser  # noqa: F401

from features.contract import CONTRACT_VERSION
from serving.launch import (
    die_with_parent,
    free_port,
    serve_command,
    serve_env,
    stop_service,
    wait_until_up,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("workspace-browser")]

SHOTS = Path(os.environ.get("CHURN_SHOTS", "/tmp/shots31"))
WORDS = {
    "en": {"team": "one team-wide capacity", "none": "no account managers", "skip": "Contacted"},
    "zh": {"team": "全团队的联系人数上限", "none": "没有客户经理", "skip": "近期已联系"},
}


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, str]]:
    """A trained registry, one scoring of a plain purchase log and the service (no API key)."""
    from features.loaders import load_dataset
    from features.synthetic.generator import generate
    from training.config import (
        BoosterParams,
        ChurnModelConfig,
        SelectionConfig,
        SplitConfig,
        TrainingConfig,
        ValueModelConfig,
    )
    from training.job import train

    root = tmp_path_factory.mktemp("plain")
    generated = generate(500, seed=23)
    data = root / "data"
    data.mkdir()
    tables = generated.dataset.tables
    customers = tables["customers"][["customer_id", "signup_date"]].copy()
    tail = customers["customer_id"].astype(str).str[-4:]
    customers["name"] = "Customer " + tail
    customers["phone"] = "138 0000 " + tail
    customers["email"] = "c" + tail + "@example.com"
    customers.to_parquet(data / "customers.parquet", index=False)
    tables["transactions"].to_parquet(data / "transactions.parquet", index=False)
    contacts = tables["contacts"].drop(columns=["account_manager_id"])
    contacts.to_parquet(data / "contacts.parquet", index=False)
    asof = f"{generated.dataset.as_of:%Y-%m-%d}"
    manifest = {"as_of": asof, "contract_version": CONTRACT_VERSION}
    (data / "dataset.yaml").write_text(yaml.safe_dump(manifest))
    uri = f"sqlite:///{root / 'mlflow.db'}"
    small = BoosterParams(max_rounds=20, num_leaves=7, min_data_in_leaf=30)
    cfg = TrainingConfig(
        split=SplitConfig(train_cutoffs=2),
        churn=ChurnModelConfig(params=small),
        value=ValueModelConfig(params=small),
        shap_sample=100,
        early_stopping_rounds=10,
        selection=SelectionConfig(validation_cutoffs=1, candidates=("lightgbm",)),  # not under test
    )
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    train(load_dataset(data), cfg, tracking_uri=uri, progress=False)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    store = f"sqlite:///{root / 'serving.db'}"
    config = root / "serving.yaml"
    serving = {"tracking_uri": uri, "store_url": store, "poll_interval_s": 0, "currency": "CNY"}
    config.write_text(yaml.safe_dump({"serving": {**serving, "at_risk_page_size": 15}}))
    csv = root / "at_risk.csv"
    _churn("score", "--data", str(data), "--asof", asof, "--config", str(config),
           "--out", str(csv), "--win-back-out", str(root / "win_back.csv"))  # fmt: skip
    port = free_port()
    env = serve_env(config)
    env.pop("CHURN_API_KEY", None)
    env["CHURN_HOME"] = str(root / "home")
    log = root / "service.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            serve_command("127.0.0.1", port), env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=die_with_parent,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(proc, url, 120, log)
        yield url, csv, asof
    finally:
        stop_service(proc)


def test_a_plain_purchase_log_in_the_workspace_in_both_languages(browser, plain):  # noqa: F811
    url, csv, _ = plain
    batch = pd.read_csv(csv, dtype=str)
    assert {"name", "phone", "email", "days_since_contact"} <= set(batch.columns)
    assert batch["account_manager_id"].isna().all()
    contacted = pd.to_numeric(batch["days_since_contact"])
    watch = Watch([], [])
    SHOTS.mkdir(parents=True, exist_ok=True)
    context, page = _context(browser, SimpleNamespace(url=url), watch)
    for lang in ("en", "zh"):
        words = WORDS[lang]
        page.goto(f"{url}/ui/?lang={lang}")
        assert page.evaluate(UNLABELLED) == []
        head = page.locator("thead").inner_text()
        assert "Manager" not in head and "客户经理" not in head  # no column the data cannot fill
        assert page.locator("#f-manager").count() == 0 and page.locator("#f-segment").count() == 0
        assert page.get_by_role("link", name="Managers").count() == 0
        first = page.locator("tr[data-customer]").first
        row = batch.iloc[0]
        assert _rows(page)[0] == row["customer_id"]
        assert row["phone"] in first.inner_text() and row["email"] in first.inner_text()
        assert "¥" in first.locator("p.why").inner_text()
        assert first.locator("small.contacted").inner_text().strip()
        page.screenshot(path=str(SHOTS / f"plain_{lang}_list.png"), full_page=False)
        # leave out the customers contacted within 30 days: the list is the CSV's without them
        page.get_by_label(words["skip"]).select_option("30")
        page.locator("form.filters button[type=submit]").click()
        page.wait_for_url("**skip_contacted=30*")
        kept = batch[~(contacted < 30)]["customer_id"].head(15).tolist()
        assert len(kept) and _rows(page) == kept
        page.goto(f"{url}/ui/customers/{row['customer_id']}?lang={lang}")
        profile = page.locator("dl.profile").inner_text()
        assert row["name"] in profile and row["phone"] in profile and "¥" in profile
        page.screenshot(path=str(SHOTS / f"plain_{lang}_customer.png"), full_page=True)
        page.goto(f"{url}/ui/campaign?lang={lang}")
        assert page.locator("#team-wide").is_visible()
        assert words["team"] in page.locator("#team-wide").inner_text()
        assert "¥" in page.locator("#selection").inner_text()
        page.screenshot(path=str(SHOTS / f"plain_{lang}_campaign.png"), full_page=False)
        page.goto(f"{url}/ui/managers?lang={lang}")
        assert words["none"] in page.locator("#no-managers").inner_text()
        assert "account_manager_id" in page.locator("#no-managers").inner_text()
    context.close()
    assert watch.errors == [] and watch.outside == [], watch.errors
