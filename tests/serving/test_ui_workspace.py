"""The retention workspace over HTTP (no browser): a real ``bentoml serve`` with the workspace in
front of its request guard, an API key set and users added with ``churn users add``, on a copy of
the scored store that also holds an earlier scoring date.

The list pages show the API's customers in the API's order for the same filters; a manager
reaches only their own book by URL, filter or export; sign-in and sign-out need the CSRF token;
sign-ins, exports and refusals are audited; sessions open the pages only, the API key the API only.
Part 2: contacts logged on the customer page are checked, CSRF-protected, audited and exported by
``churn export contacts`` as a contacts table the loader accepts; the managers' pages show the
scorecards ``kpi.scorecard`` computes and the book risk the API lists; the campaign builder picks
the customers ``churn campaign`` picks; the monitoring page says when there is no result.
"""

from __future__ import annotations

import html
import io
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd
import pytest
import sqlalchemy as sa
import yaml
from typer.testing import CliRunner

from kpi.config import KpiConfig
from kpi.periods import latest_complete_month
from serving.launch import free_port, serve_command, serve_env, stop_service, wait_until_up

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("serving-api")]

PASSWORD = "correct-horse-battery"
PAGE = 20
EARLIER = "2024-01-31"
KEY = "ui-test-key-0a9b8c7d6e"
PROXY_HEADER = "X-Test-Proxy-User"


@dataclass(frozen=True)
class Served:
    url: str
    store: str
    manager: str
    other: str
    log: Path
    config: Path
    home: Path
    month: str


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr data-customer="([^"]+)"', html)


def start(config: Path, log: Path, env: dict[str, str | None]):
    """``bentoml serve`` of the service, with the given environment changes (None: unset)."""
    import subprocess

    from serving.launch import die_with_parent

    port = free_port()
    command = serve_command("127.0.0.1", port)
    full = serve_env(config)
    for name, value in env.items():
        if value is None:
            full.pop(name, None)
        else:
            full[name] = value
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, env=full, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=die_with_parent,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_until_up(proc, url, 120, log)
    return proc, url


def churn(*args: str, stdin: str | None = None) -> str:
    from churn.cli import app, register_commands

    register_commands()
    run = CliRunner().invoke(app, list(args), input=stdin)
    assert run.exit_code == 0, run.output
    return run.output


def add_user(store: str, *args: str) -> None:
    churn("users", "add", *args, "--password-stdin", "--store", store, stdin=PASSWORD + "\n")


@pytest.fixture(scope="module")
def served(world, tmp_path_factory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("ui")
    db = root / "ui.db"
    shutil.copy(world.root / "serving.db", db)
    store = f"sqlite:///{db}"
    engine = sa.create_engine(store)
    with engine.begin() as conn:  # an earlier scoring date: the score history has two points
        conn.execute(
            sa.text(
                "INSERT INTO scoring_runs SELECT :early, scored_at, n_customers, churn_model, "
                "churn_model_version, value_model, value_model_version, feature_table, "
                "feature_names, source, horizon_days FROM scoring_runs WHERE asof = :asof"
            ),
            {"early": EARLIER, "asof": world.asof},
        )
        columns = [c["name"] for c in sa.inspect(conn).get_columns("predictions")]
        picked = ", ".join(
            ":early"
            if c == "asof"
            else "churn_probability * 0.5"
            if c == "churn_probability"
            else c
            for c in columns
        )
        conn.execute(
            sa.text(f"INSERT INTO predictions SELECT {picked} FROM predictions WHERE asof = :asof"),
            {"early": EARLIER, "asof": world.asof},
        )
    engine.dispose()
    batch = pd.read_csv(world.csv, dtype={"customer_id": str, "account_manager_id": str})
    managers = batch["account_manager_id"].dropna().value_counts().index
    manager, other = str(managers[0]), str(managers[1])
    add_user(store, "mona", "--role", "manager", "--manager-id", manager)
    add_user(store, "lee", "--role", "lead")
    config = root / "serving.yaml"
    serving = {
        "tracking_uri": world.tracking_uri,
        "store_url": store,
        "poll_interval_s": 0,
        "at_risk_page_size": PAGE,
        "top_k": 4,
    }
    config.write_text(yaml.safe_dump({"serving": serving}), "utf-8")
    # the scorecards judge the latest month the data covers by the predictions made at its start
    month = latest_complete_month(pd.Timestamp(world.asof), KpiConfig().outcome.horizon_days)
    churn("score", "--data", str(world.data), "--asof", f"{month:%Y-%m-%d}",
          "--config", str(config), "--out", str(root / "month.csv"))  # fmt: skip
    home = root / "home"  # the service's CHURN_HOME: no monitoring result yet
    env = {
        "CHURN_API_KEY": KEY,
        "CHURN_UI_TRUSTED_USER_HEADER": PROXY_HEADER,
        "CHURN_HOME": str(home),
    }
    proc, url = start(config, root / "ui.log", env)
    try:
        yield Served(url, store, manager, other, root / "ui.log", config, home, f"{month:%Y-%m}")
    finally:
        stop_service(proc)


def sign_in(url: str, name: str, password: str = PASSWORD) -> httpx.Client:
    """A client with a session of ``name`` (the caller closes it)."""
    client = httpx.Client(base_url=url, timeout=30)
    page = client.get("/ui/login")
    assert page.status_code == 200
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    done = client.post("/ui/login", data={"csrf": token, "name": name, "password": password})
    assert done.status_code == 303, done.text
    return client


@pytest.fixture(scope="module")
def lead(served) -> Iterator[httpx.Client]:
    client = sign_in(served.url, "lee")
    yield client
    client.close()


@pytest.fixture(scope="module")
def manager(served) -> Iterator[httpx.Client]:
    client = sign_in(served.url, "mona")
    yield client
    client.close()


@pytest.fixture(scope="module")
def api(served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.url, timeout=30, headers={"X-API-Key": KEY}) as client:
        yield client


def test_list_pages_show_the_apis_customers_in_its_order(served, lead, api):
    segment = api.get("/at_risk").json()["items"][0]["segment"]
    for ui, query in (
        ({}, {}),
        ({"page": 2}, {"offset": PAGE}),
        ({"manager": served.other}, {"account_manager_id": served.other}),
        ({"segment": segment, "manager": served.manager},
         {"segment": segment, "account_manager_id": served.manager}),
    ):  # fmt: skip
        page = lead.get("/ui/", params=ui)
        assert page.status_code == 200, page.text
        want = api.get("/at_risk", params=query).json()
        assert want["items"], query
        assert _rows(page.text) == [i["customer_id"] for i in want["items"]], (ui, query)
        assert f"of {want['total']}" in page.text
    rfm = api.get("/at_risk").json()["items"][0]["rfm_segment"]
    by_rfm = api.get("/at_risk", params={"rfm_segment": rfm}).json()
    assert {i["rfm_segment"] for i in by_rfm.get("items", [])} == {rfm}, (rfm, by_rfm)
    page = lead.get("/ui/", params={"rfm": rfm, "lang": "zh"})
    assert _rows(page.text) == [i["customer_id"] for i in by_rfm["items"]]
    assert "RFM 客户类型" in page.text and "客户</option>" in page.text
    assert lead.get("/ui/", params={"rfm": "vip"}).status_code == 400
    win = lead.get("/ui/win-back")
    assert _rows(win.text) == [i["customer_id"] for i in api.get("/win_back").json()["items"]]
    everything = pd.DataFrame(api.get("/at_risk", params={"limit": 1000}).json()["items"])
    high = lead.get("/ui/", params={"band": "high"})
    assert (
        _rows(high.text)
        == list(everything[everything["risk_band"] == "high"]["customer_id"])[:PAGE]
    )
    lapsing = lead.get("/ui/", params={"lifecycle": "lapsing", "sort": "probability"})
    part = everything[everything["lifecycle_status"] == "lapsing"].sort_values(
        ["churn_probability_90d", "customer_id"], ascending=[False, True], kind="stable"
    )
    shown = _rows(lapsing.text)
    assert set(shown) <= set(part["customer_id"]) and len(shown) == min(PAGE, len(part))
    probabilities = everything.set_index("customer_id").loc[shown, "churn_probability_90d"]
    assert probabilities.is_monotonic_decreasing


def test_export_is_the_apis_csv_of_the_whole_selection(served, lead, api):
    resp = lead.get("/ui/export.csv", params={"list": "at_risk", "manager": served.other})
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    got = pd.read_csv(io.StringIO(resp.text), dtype=str, keep_default_na=False)
    want_text = api.get(
        "/at_risk", params={"account_manager_id": served.other, "limit": 1000, "format": "csv"}
    ).text
    want = pd.read_csv(io.StringIO(want_text), dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(got, want)


def test_a_manager_sees_only_their_own_book(served, manager, lead, api):
    mine = api.get("/at_risk", params={"account_manager_id": served.manager}).json()
    page = manager.get("/ui/")
    assert _rows(page.text) == [i["customer_id"] for i in mine["items"]]
    assert "mona (manager)" in page.text
    # another manager's book: by filter, by export, by a customer's URL
    assert manager.get("/ui/", params={"manager": served.other}).status_code == 403
    refused = manager.get("/ui/export.csv", params={"list": "at_risk", "manager": served.other})
    assert refused.status_code == 403
    theirs = api.get("/at_risk", params={"account_manager_id": served.other}).json()["items"][0]
    page = manager.get(f"/ui/customers/{theirs['customer_id']}")
    assert page.status_code == 404 and theirs["customer_id"] in page.text
    assert "expected_value_at_risk" not in page.text and "%" not in page.text.split("<main")[1]
    assert lead.get(f"/ui/customers/{theirs['customer_id']}").status_code == 200
    own = manager.get("/ui/export.csv", params={"list": "win_back"})
    frame = pd.read_csv(io.StringIO(own.text), dtype=str)
    assert set(frame["account_manager_id"]) == {served.manager}
    assert int(own.headers["x-total-count"]) == len(frame)
    from scoring.store.predictions import PredictionStore
    from scoring.store.users import UserStore

    log = UserStore(PredictionStore(served.store).engine).audit_log(50)
    denied = [(e["action"], e["outcome"], e["target"]) for e in log if e["user_name"] == "mona"]
    assert ("denied", "customer", theirs["customer_id"]) in denied
    assert ("denied", "filter", f"manager={served.other}") in denied
    assert any(a == "export" and o == "ok" for a, o, _ in denied)


def test_customer_page_profile_history_waterfall_timeline(served, lead, api, world):
    first = api.get("/at_risk").json()["items"][0]
    page = lead.get(f"/ui/customers/{first['customer_id']}")
    assert page.status_code == 200
    html = page.text
    history = html.split('id="h-history"')[1].split("</table>")[0]
    assert EARLIER in history and world.asof in history
    assert "<svg" in html and html.count("<rect") >= 5  # the waterfall, drawn server-side
    why = html.split('id="h-why"')[1].split("<figure")[0]
    keeps = html.split('id="h-keeps"')[1].split("</section>")[0]
    assert 'class="lowers"' not in why and 'class="raises"' not in keeps
    assert why.count('class="raises"') + keeps.count('class="lowers"') >= 1
    labels = re.findall(r'text-anchor="end"[^>]*>([^<]+)<', html.split("<svg")[1])
    assert labels and not any(re.search(r"\de[+-]\d", x) for x in labels)  # no 1.2e+05
    assert not any(" = " in x for x in labels[:-1]), "the catalogue's sentences, not feature ids"
    assert first["account_manager_id"] in html
    assert (first["contract_end_date"] or "no contract") in html
    timeline = html.split('id="h-timeline"')[1]
    assert timeline.count("<tr>") >= 2, "purchases and contacts from the data folder"
    zh = lead.get(f"/ui/customers/{first['customer_id']}", params={"lang": "zh"})
    assert "评分历史" in zh.text and zh.cookies.get("churn_lang") == "zh"
    assert "评分历史" in lead.get(f"/ui/customers/{first['customer_id']}").text  # remembered
    lead.get("/ui/", params={"lang": "en"})
    assert lead.get(f"/ui/customers/{first['customer_id']}?asof={EARLIER}").status_code == 200
    assert lead.get("/ui/customers/NOPE").status_code == 404


def test_sign_in_and_out_need_the_csrf_token_and_are_audited(served):
    from scoring.store.predictions import PredictionStore
    from scoring.store.users import UserStore

    with httpx.Client(base_url=served.url, timeout=30) as c:
        assert c.get("/ui/").status_code == 303  # users exist: sign in first
        assert c.get("/ui/").headers["location"].startswith("/ui/login")
        c.get("/ui/login")
        forged = c.post("/ui/login", data={"csrf": "forged", "name": "lee", "password": PASSWORD})
        assert forged.status_code == 403 and "churn_session" not in c.cookies
        token = re.search(r'name="csrf" value="([^"]+)"', c.get("/ui/login").text).group(1)
        other_site = c.post(
            "/ui/login",
            data={"csrf": token, "name": "lee", "password": PASSWORD},
            headers={"Origin": "http://evil.example"},
        )
        assert other_site.status_code == 403
        wrong = c.post(
            "/ui/login", data={"csrf": token, "name": "lee", "password": "nope-nope-nope"}
        )
        assert wrong.status_code == 401 and "Wrong user name or password" in wrong.text
    c = sign_in(served.url, "lee")
    try:
        assert c.get("/ui/").status_code == 200
        assert c.post("/ui/logout", data={"csrf": "forged"}).status_code == 403
        token = re.search(r'name="csrf" value="([^"]+)"', c.get("/ui/").text).group(1)
        assert c.post("/ui/logout", data={"csrf": token}).status_code == 303
        assert c.get("/ui/").status_code == 303  # the session is gone
    finally:
        c.close()
    log = UserStore(PredictionStore(served.store).engine).audit_log(50, ["sign_in", "sign_out"])
    outcomes = {(e["action"], e["outcome"]) for e in log if e["user_name"] == "lee"}
    assert {("sign_in", "csrf"), ("sign_in", "failed"), ("sign_in", "ok")} <= outcomes
    assert {("sign_out", "csrf"), ("sign_out", "ok")} <= outcomes


def test_sessions_open_pages_only_and_the_api_key_the_api_only(served, lead):
    assert lead.get("/at_risk").status_code == 401  # a session is no API key
    with httpx.Client(base_url=served.url, timeout=30, headers={"X-API-Key": KEY}) as c:
        assert c.get("/ui/").status_code == 303  # an API key is no session
    bad = lead.get("/ui/", params={"band": "huge"})
    assert bad.status_code == 400 and "band" in bad.text and "Traceback" not in bad.text
    assert lead.get("/ui/", params={"color": "red"}).status_code == 400
    assert lead.get("/ui/", params={"page": "x"}).status_code == 400
    css = lead.get("/ui/static/workspace.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    page = lead.get("/ui/")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert not re.search(r'(src|href)="(https?:)?//', page.text)  # nothing from other hosts


def test_a_trusted_proxys_header_names_a_known_user(served, api):
    with httpx.Client(base_url=served.url, timeout=30) as c:
        page = c.get("/ui/", headers={PROXY_HEADER: "mona"})
        assert page.status_code == 200 and "mona (manager)" in page.text
        mine = api.get("/at_risk", params={"account_manager_id": served.manager}).json()
        assert _rows(page.text) == [i["customer_id"] for i in mine["items"]]
        assert c.get("/ui/", headers={PROXY_HEADER: "nobody"}).status_code == 303


# ---- part 2: contacts, managers, campaign builder, monitoring -----------------------------------


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def _everything(api) -> pd.DataFrame:
    """Every row of the API's at-risk list."""
    pages, offset = [], 0
    while True:
        body = api.get("/at_risk", params={"limit": 1000, "offset": offset}).json()
        pages.append(pd.DataFrame(body["items"]))
        offset += len(body["items"])
        if offset >= body["total"] or not body["items"]:
            return pd.concat(pages, ignore_index=True)


def _book(api, manager: str) -> pd.DataFrame:
    rows = api.get("/at_risk", params={"account_manager_id": manager, "limit": 1000}).json()
    return pd.DataFrame(rows["items"])


def test_contacts_are_checked_protected_audited_and_exported_as_the_contract(
    served, manager, lead, api, world, tmp_path
):
    from features.loaders import load_dataset
    from scoring.store.predictions import PredictionStore
    from scoring.store.users import UserStore

    mine = _book(api, served.manager)["customer_id"].iloc[0]
    theirs = _book(api, served.other)["customer_id"].iloc[0]
    page = manager.get(f"/ui/customers/{mine}")
    assert 'action="/ui/customers/' in page.text and "Log a retention contact" in page.text
    token = _csrf(page.text)
    good = {"csrf": token, "ts": world.asof, "treated": "1", "channel": "call",
            "offer": "discount", "outcome": "accepted", "campaign_id": "spring-push"}  # fmt: skip
    url = f"/ui/customers/{mine}/contacts"
    assert manager.post(url, data={**good, "csrf": "forged"}).status_code == 403
    other_site = manager.post(url, data=good, headers={"Origin": "http://evil.example"})
    assert other_site.status_code == 403
    # a refused field: 422, named with its reason, what was typed shown again
    for changes, field, why in (
        ({"outcome": ""}, "outcome", "empty is not one of reached, no_answer, accepted, declined"),
        ({"ts": "2999-01-01"}, "ts", "2999-01-01 is in the future"),
        ({"ts": "31/12/2024"}, "ts", "is not a date YYYY-MM-DD"),
        ({"treated": "2"}, "treated", "'2' is not 0 (control) or 1"),
        ({"campaign_id": "x" * 201}, "campaign_id", "longer than 200 characters"),
    ):
        refused = manager.post(url, data={**good, **changes})
        assert refused.status_code == 422, (changes, refused.text[:300])
        problems = html.unescape(refused.text.split('class="message problems"')[1])
        problems = problems.split("</div>")[0]
        assert f'data-field="{field}"' in problems and why in problems, (changes, problems)
        assert "Traceback" not in refused.text
        kept = changes.get("ts", world.asof)
        assert f'value="{kept}"' in refused.text  # nothing typed is lost
    # another manager's customer: as unknown as a missing one, and audited
    assert manager.post(f"/ui/customers/{theirs}/contacts", data=good).status_code == 404
    done = manager.post(url, data=good)
    assert done.status_code == 303 and "logged=ws-" in done.headers["location"]
    # a control row keeps no channel or outcome, whatever the form sent along
    control = manager.post(url, data={**good, "treated": "0", "offer": "none"})
    assert control.status_code == 303
    shown = manager.get(done.headers["location"]).text
    assert "Contact ws-" in shown and "spring-push" in shown.split('id="h-contacts"')[1]
    # the lead logs one for another manager's customer; the manager's export lacks it
    lead_token = _csrf(lead.get(f"/ui/customers/{theirs}").text)
    lead_done = lead.post(
        f"/ui/customers/{theirs}/contacts", data={**good, "csrf": lead_token, "channel": "email"}
    )
    assert lead_done.status_code == 303
    own = pd.read_csv(io.StringIO(manager.get("/ui/contacts.csv").text), dtype=str)
    assert set(own["customer_id"]) == {mine} and len(own) == 2
    assert set(own["account_manager_id"]) == {served.manager}
    everyone = pd.read_csv(io.StringIO(lead.get("/ui/contacts.csv").text), dtype=str)
    assert set(everyone["customer_id"]) == {mine, theirs}

    log = UserStore(PredictionStore(served.store).engine).audit_log(200, ["contact"])
    seen = {(e["user_name"], e["outcome"]) for e in log}
    assert {("mona", "ok"), ("mona", "invalid"), ("mona", "csrf"), ("lee", "ok")} <= seen
    denied = UserStore(PredictionStore(served.store).engine).audit_log(200, ["denied"])
    assert any(e["outcome"] == "contact" and e["target"] == theirs for e in denied)

    # churn export contacts: the contract's contacts table, which the loader accepts
    out = tmp_path / "contacts.csv"
    assert "3 contact(s) written" in churn("export", "contacts", "--out", str(out),
                                            "--store", served.store)  # fmt: skip
    folder = tmp_path / "data"
    shutil.copytree(world.data, folder)
    for old in folder.glob("contacts.*"):
        old.unlink()
    shutil.copy(out, folder / "contacts.csv")
    ds = load_dataset(folder, as_of=world.asof)
    report = ds.reports["contacts"]
    assert (report.read, report.rejected) == (3, 0), report
    table = ds.tables["contacts"].set_index("customer_id")
    ours = table.loc[mine].sort_values("treated")
    assert ours["treated"].tolist() == [0, 1] and ours["outcome"].iloc[1] == "accepted"
    assert ours["outcome"].isna().iloc[0] and (ours["ts"] == pd.Timestamp(world.asof)).all()
    assert table.loc[theirs, "logged_by"] == "lee"
    assert table.loc[theirs, "account_manager_id"] == served.other


def test_managers_pages_show_the_scorecards_and_the_books_risk(served, manager, lead, api, world):
    from features.loaders import load_dataset
    from kpi.inputs import read_predictions
    from kpi.scorecard import scorecard
    from scoring.store.predictions import PredictionStore

    page = lead.get("/ui/managers")
    assert page.status_code == 200, page.text
    assert f"Scorecards {served.month}" in page.text
    store = PredictionStore(served.store)
    stored = read_predictions(store, [pd.Timestamp(f"{served.month}-01")])
    store.close()
    want = scorecard(load_dataset(world.data), stored.predictions, served.month, KpiConfig())
    want = want[want["level"] == "manager"].set_index("account_manager_id")
    rows = re.findall(r'<tr data-manager="([^"]+)">(.*?)</tr>', page.text, re.S)
    assert {m for m, _ in rows} >= set(want.index)
    cells = {m: re.findall(r"<td[^>]*>(.*?)</td>", body, re.S) for m, body in rows}
    for mid, card in want.iterrows():
        shown = cells[mid]
        assert shown[3] == f"{card['score']:,.2f}" and shown[4] == card["grade"], mid
        rank = "" if pd.isna(card["rank"]) else f"{card['rank']:.0f}"  # probation: unranked
        assert shown[2] == rank and shown[5] == f"{card['commission']:,.0f}"
    ranks = [float(c[2]) for c in cells.values() if c[2]]
    assert ranks == sorted(ranks)  # best first
    # the book's expected value at risk: the API's at-risk list summed
    everything = _everything(api)
    books = everything.groupby("account_manager_id")["expected_value_at_risk_90d"]
    for mid, value in books.sum().items():
        # the API rounds each customer to cents; the page sums the stored values, then rounds
        slack = 0.5 + 0.005 * books.size()[mid]
        assert abs(float(cells[mid][10].replace(",", "")) - value) <= slack, mid

    detail = lead.get(f"/ui/managers/{served.other}")
    assert detail.status_code == 200
    card = want.loc[served.other]
    assert f'data-field="payout">{card["payout"]:,.2f}<' in detail.text
    assert f'data-field="score">{card["score"]:,.2f}<' in detail.text
    for key in ("repeat_purchase_rate", "upsell_rate", "complaint_rate"):
        shown = "" if pd.isna(card[key]) else f"{card[key]:.1%}"
        assert f'data-field="{key}">{shown}<' in detail.text, key
    assert "CRM indicators" in detail.text
    assert (
        "Risk-adjusted retention" in detail.text and "Highest expected value at risk" in detail.text
    )
    assert "客户经理" in lead.get("/ui/managers", params={"lang": "zh"}).text
    lead.get("/ui/managers", params={"lang": "en"})

    # a manager: their own row and page only
    own = manager.get("/ui/managers")
    assert re.findall(r'<tr data-manager="([^"]+)"', own.text) == [served.manager]
    assert manager.get(f"/ui/managers/{served.manager}").status_code == 200
    refused = manager.get(f"/ui/managers/{served.other}")
    assert refused.status_code == 403 and "Traceback" not in refused.text
    # a period nobody scored is a note, a malformed one a 400 naming it
    earlier = lead.get("/ui/managers", params={"period": "2021-01"})
    assert earlier.status_code == 200 and "churn score --asof 2021-01-01" in earlier.text
    assert "/tmp" not in earlier.text and "sqlite" not in earlier.text
    bad = lead.get("/ui/managers", params={"period": "June"})
    assert bad.status_code == 400 and "period" in bad.text
    assert lead.get("/ui/managers/AM999").status_code == 404


def test_plans_and_trends_on_a_managers_page(served, manager, lead):
    """The bottom two of the month owe a plan (issued when the scorecards are shown), a lead
    records one (CSRF, refusals shown again), a manager may not; the trend charts are SVG."""
    import sqlalchemy as sa

    lead.get("/ui/managers")  # shows the month's scorecards: the plans are issued
    engine = sa.create_engine(served.store)
    with engine.connect() as conn:
        owed = conn.execute(
            sa.text("SELECT account_manager_id, due_on, issued_on FROM improvement_plans "
                    "WHERE period = :p ORDER BY account_manager_id"), {"p": served.month}
        ).fetchall()  # fmt: skip
    engine.dispose()
    assert len(owed) == 2
    mid = owed[0][0]
    days = (pd.Timestamp(owed[0][1]) - pd.Timestamp(owed[0][2])).days
    assert days == KpiConfig().ranking.improvement_plan_days
    page = lead.get(f"/ui/managers/{mid}")
    assert page.status_code == 200, page.text[:500]
    assert f'data-period="{served.month}" data-status="open"' in page.text
    assert "Record a submitted plan" in page.text
    url = f"/ui/managers/{mid}/plans"
    token = _csrf(page.text)
    good = {"csrf": token, "period": served.month, "text": "Call every lapsing customer weekly"}
    assert lead.post(url, data={**good, "csrf": "forged"}).status_code == 403
    empty = lead.post(url, data={**good, "text": "  "})
    assert empty.status_code == 422 and 'data-field="plan"' in empty.text
    wrong = lead.post(url, data={**good, "period": "2001-01", "text": "kept text"})
    assert wrong.status_code == 422 and "no improvement plan for 2001-01" in wrong.text
    assert "kept text" in wrong.text  # nothing typed is lost
    own = manager.get(f"/ui/managers/{served.manager}")
    assert "Record a submitted plan" not in own.text
    refused = manager.post(f"/ui/managers/{served.manager}/plans", data={
        **good, "csrf": _csrf(own.text)})  # fmt: skip
    assert refused.status_code == 403
    done = lead.post(url, data=good)
    assert done.status_code == 303 and f"plan={served.month}" in done.headers["location"]
    shown = lead.get(done.headers["location"]).text
    assert f'data-period="{served.month}" data-status="submitted"' in shown
    assert "Call every lapsing customer weekly" in shown
    # trends: the scored month's score drawn as an inline SVG, months without scorecards named
    assert '<figure class="trend" data-measure="score">' in shown and "<polyline" in shown
    assert 'data-field="trend_gaps"' in shown
    zh = lead.get(f"/ui/managers/{mid}", params={"lang": "zh"}).text
    assert "提交整改方案" in zh and "近 12 个月趋势" in zh and "已提交" in zh
    lead.get("/ui/managers", params={"lang": "en"})


def test_the_campaign_builder_picks_what_churn_campaign_picks(
    served, manager, lead, api, world, tmp_path
):
    from kpi.campaign_builder import AVAILABLE

    assert set(AVAILABLE) == {"uplift", "value-at-risk", "risk"}
    key = ["account_manager_id", "priority", "customer_id"]
    chosen = {}
    for by in AVAILABLE:
        out = tmp_path / f"{by}.csv"
        churn("campaign", "--asof", world.asof, "--capacity", "5", "--by", by, "--no-reasons",
              "--config", str(served.config), "--out", str(out), "--format", "json")  # fmt: skip
        cli = pd.read_csv(out, dtype={"customer_id": str, "account_manager_id": str})
        got = lead.get("/ui/campaign.csv", params={"capacity": 5, "by": by})
        assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
        ui = pd.read_csv(
            io.StringIO(got.text), dtype={"customer_id": str, "account_manager_id": str}
        )
        assert len(ui) > 0
        pd.testing.assert_frame_equal(ui[key], cli[key])
        chosen[by] = ui
        assert ui["expected_saved_value"].to_numpy() == pytest.approx(
            cli["expected_saved_value"].to_numpy()
        )
        assert ui["reasons"].notna().all()  # explained by the champion
        preview = lead.get("/ui/campaign", params={"capacity": 5, "by": by})
        assert preview.status_code == 200, preview.text[:300]
        assert _rows(preview.text) == list(ui["customer_id"].head(50))
        total = f"{ui['expected_saved_value'].sum():,.0f}"
        assert f"{len(ui)} contacts, expected saved value {total}" in preview.text
    # by uplift, the page, the CLI and POST /uplift give each customer the same effect
    ranked = chosen["uplift"]
    effects = api.post("/uplift", json={"customer_ids": list(ranked["customer_id"])}).json()
    assert [r["uplift"]["effect"] for r in effects["results"]] == pytest.approx(
        ranked["uplift"].to_list(), abs=1e-9
    )
    # the page recommends the capacity rule that saves most, the no-capacity rule its bound
    page = html.unescape(lead.get("/ui/campaign", params={"capacity": 5}).text)
    rule = re.search(r'data-rule="([^"]+)"', page).group(1)
    assert rule.startswith("top 5 per manager") and f"Recommended: {rule}." in page
    assert "the upper bound, not a plan" in page and 'class="upper-bound"' in page
    # a manager builds only for their own book: the lead's rows of that book
    theirs = pd.read_csv(io.StringIO(manager.get("/ui/campaign.csv?capacity=5").text), dtype=str)
    assert set(theirs["account_manager_id"]) == {served.manager}
    lead_rows = chosen["value-at-risk"]
    mine = lead_rows.loc[lead_rows["account_manager_id"] == served.manager, "customer_id"]
    assert list(theirs["customer_id"]) == list(mine)
    assert manager.get("/ui/campaign", params={"capacity": 5}).status_code == 200
    for params, name in (
        ({"capacity": "-1"}, "capacity"),
        ({"capacity": "many"}, "capacity"),
        ({"by": "luck"}, "by"),
        ({"cost": "-3"}, "cost"),
        ({"success_rate": "1.5"}, "success_rate"),
        ({"asof": "1999-01-01"}, "asof"),
        ({"colour": "red"}, "colour"),
    ):
        bad = lead.get("/ui/campaign", params=params)
        assert bad.status_code in (400, 404) and name in bad.text, (params, bad.status_code)
    from scoring.store.predictions import PredictionStore
    from scoring.store.users import UserStore

    log = UserStore(PredictionStore(served.store).engine).audit_log(100, ["export"])
    assert any((e["target"] or "").startswith("campaign ") for e in log)


def test_the_monitoring_page_says_when_there_is_no_result(served, lead):
    from monitoring.run import LATEST

    page = lead.get("/ui/monitoring")
    assert page.status_code == 200 and "No monitoring result yet" in page.text
    # what the page will show, and the command that fills it for the latest scoring
    assert "drifted since training" in page.text
    asof = re.search(r"--asof (\d{4}-\d{2}-\d{2}) --out", page.text)
    assert asof and "churn monitor --data DATA_FOLDER" in page.text
    zh = lead.get("/ui/monitoring", params={"lang": "zh"}).text
    assert "尚无监控结果" in zh and f"--asof {asof.group(1)}" in zh
    lead.get("/ui/", params={"lang": "en"})
    broken = served.home / "monitoring" / LATEST
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_text("{not json", "utf-8")
    try:
        page = lead.get("/ui/monitoring")
        assert page.status_code == 200 and "cannot be read" in page.text
    finally:
        broken.unlink()
