"""The API under faults, against the real served process of conftest.py: a corrupt, missing and
restored store, an unreadable registry, hostile bodies, a mismatched model pair, error bodies that
carry request ids and no internals, and a docs page that loads nothing from other hosts."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import time
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient

from features.pipeline.build import build_features
from scoring.champions import Champions, load_champions
from scoring.config import ServingConfig
from serving.middleware import json_depth
from serving.schemas import PRODUCT
from training.tracking import using_store

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("serving-api")]


@pytest.fixture(scope="module")
def local(world) -> Champions:
    return load_champions(world.cfg.models, world.tracking_uri)


@pytest.fixture(scope="module")
def frame(world, local: Champions) -> pd.DataFrame:
    return build_features(world.ds, world.asof, local.feature_config(), labels=False)


@pytest.fixture(scope="module")
def records(frame: pd.DataFrame, local: Champions) -> list[dict]:
    plain = frame.head(3)[["customer_id", *local.feature_names]].astype(object)
    return plain.where(plain.notna(), None).to_dict("records")


def _is_error(resp, status: int) -> dict:
    """The response is ``status`` with the one error body and the header's request id."""
    assert resp.status_code == status, resp.text[:500]
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"error", "detail", "request_id"}, body
    assert body["request_id"] == resp.headers["x-request-id"]
    return body


def _wait_ready(client, timeout_s: float = 30) -> float:
    start = time.monotonic()
    while client.get("/readyz").status_code != 200:
        assert time.monotonic() - start < timeout_s, "not ready again within 30 s"
        time.sleep(0.2)
    return time.monotonic() - start


def _replace(path: Path, content_from: Path) -> None:
    """Replace ``path`` the way an operator restores a backup (a new file moved in place)."""
    tmp = path.with_suffix(".restoring")
    shutil.copyfile(content_from, tmp)
    os.replace(tmp, path)


def test_store_trouble_is_503_with_a_reason_and_heals_without_restart(service, world, tmp_path):
    c = service.client
    store = world.root / "serving.db"
    backup = tmp_path / "serving.db"
    shutil.copyfile(store, backup)
    ids = {"customer_ids": ["C0000005"]}
    requests = [
        ("GET", "/at_risk", {}),
        ("GET", "/win_back", {}),
        ("GET", "/scorecards", {"params": {"period": "2024-05"}}),
        ("POST", "/predict_by_id", {"json": ids}),
        ("POST", "/explain", {"json": ids}),
    ]
    try:
        (tmp_path / "garbage").write_bytes(os.urandom(8192))
        _replace(store, tmp_path / "garbage")
        for method, path, kwargs in requests:
            body = _is_error(c.request(method, path, **kwargs), 503)
            assert "store is corrupt" in body["error"], (path, body)
        ready = _is_error(c.get("/readyz"), 503)
        assert ready["detail"][0]["loc"] == ["store"] and "corrupt" in ready["error"]
        store.unlink()
        missing = _is_error(c.get("/at_risk"), 503)
        assert "missing" in missing["error"]
        assert not store.exists()  # a read never creates an empty store in its place
        assert c.post("/predict", json={"records": []}).status_code == 400  # still answers
    finally:
        _replace(store, backup)
    assert _wait_ready(c) < 30
    assert c.get("/at_risk", params={"limit": 2}).status_code == 200
    assert c.post("/predict_by_id", json=ids).status_code == 200


def test_registry_trouble_is_503_and_the_champions_keep_serving(service, world, records):
    c = service.client
    registry = world.root / "mlflow.db"
    good = registry.read_bytes()
    try:  # corrupted in place: MLflow keeps its connections to the file open
        with registry.open("r+b") as f:
            f.write(os.urandom(4096))
        body = _is_error(c.post("/reload", json={}), 503)
        assert "registry cannot be read" in body["error"]
        assert str(world.root) not in body["error"]
        assert c.post("/predict", json={"records": records[:1]}).status_code == 200
    finally:
        with registry.open("r+b") as f:
            f.write(good)
    assert c.post("/reload", json={}).json()["problem"] is None


def test_a_mismatched_pair_is_not_loaded_and_is_named(service, world, records):
    c = service.client
    before = c.get("/models").json()
    with using_store(world.tracking_uri):
        client = MlflowClient(world.tracking_uri, world.tracking_uri)
        old = client.get_model_version_by_alias("churn-model", "champion")
        lone = client.create_model_version(
            "churn-model", old.source, run_id=old.run_id, tags={"run_id": "another-run"}
        )
        client.set_registered_model_alias("churn-model", "champion", lone.version)
    try:
        body = _is_error(c.post("/reload", json={}), 409)
        assert "mismatched pair" in body["error"] and f"v{lone.version}" in body["error"]
        status = c.get("/models").json()
        assert status["churn_model"] == before["churn_model"] and status["ready"]
        assert "mismatched pair" in status["problem"]
        ready = c.get("/readyz")
        assert ready.status_code == 200 and "mismatched pair" in ready.json()["warnings"][0]
        resp = c.post("/predict", json={"records": records[:1]})
        assert resp.json()[0]["churn_model_version"] == before["churn_model"]["version"]
    finally:
        with using_store(world.tracking_uri):
            client.set_registered_model_alias("churn-model", "champion", old.version)
    assert c.post("/reload", json={}).json()["problem"] is None


def test_hostile_bodies_and_pages_get_4xx_fast(service):
    c = service.client
    deep = "[" * 1000 + "]" * 1000
    for path, text in (
        ("/predict", deep),
        ("/explain", '{"records": ' + deep + "}"),
        ("/reload", '{"a": ' + '{"a": ' * 999 + "1" + "}" * 1000),
    ):
        start = time.monotonic()
        resp = c.post(path, content=text, headers={"Content-Type": "application/json"})
        assert time.monotonic() - start < 1.0
        assert re.search(r"nests 10\d\d levels deep", _is_error(resp, 400)["error"])
    for params, field in (
        ({"offset": 2**63}, "offset"),
        ({"offset": 2**31}, "offset"),
        ({"limit": 10**7}, "limit"),
        ({"limit": 2000}, "limit"),
    ):
        body = _is_error(c.get("/at_risk", params=params), 400)
        assert field in json.dumps(body), (params, body)
    assert c.get("/at_risk", params={"offset": 2**31 - 1}).json()["items"] == []


def _read_response(sock: socket.socket) -> str:
    """One whole HTTP response: the head, then as many body bytes as Content-Length says
    (the server may send them in separate packets)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data.decode()
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = re.search(rb"(?i)content-length:\s*(\d+)", head)
    while length and len(body) < int(length.group(1)):
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return (head + b"\r\n\r\n" + body).decode()


def test_a_body_that_does_not_arrive_gets_408_and_frees_its_slot(service):
    """Headers, then a trickle of a body that never completes: 408 with the JSON reason once the
    configured 4 s have passed, while a whole request from another client is answered at once."""
    host, port = service.url.removeprefix("http://").split(":")
    head = (
        "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 10000\r\n\r\n["
    )
    start = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=30) as slow:
        slow.sendall(head.encode())
        for _ in range(3):  # a chunk every second resets no clock
            time.sleep(1)
            slow.sendall(b" ")
            assert service.client.get("/readyz").status_code == 200
        answer = _read_response(slow)
    took = time.monotonic() - start
    assert answer.startswith("HTTP/1.1 408"), answer[:200]
    assert "did not arrive within 4 s" in answer and 3.5 < took < 30


def test_headers_that_do_not_arrive_get_408_and_the_connection_closes(service):
    """A client that trickles its headers, and one that sends nothing: 408 with the JSON reason
    once the configured 4 s have passed, then the connection is closed."""
    host, port = service.url.removeprefix("http://").split(":")
    start = time.monotonic()
    with (
        socket.create_connection((host, int(port)), timeout=30) as slow,
        socket.create_connection((host, int(port)), timeout=30) as silent,
    ):
        slow.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\n")
        for _ in range(3):  # a header line every second resets no clock
            time.sleep(1)
            slow.sendall(b"X-Slow: 1\r\n")
        answers = [_read_response(s) for s in (slow, silent)]
        assert [s.recv(1) for s in (slow, silent)] == [b"", b""]  # closed
    took = time.monotonic() - start
    for answer in answers:
        assert answer.startswith("HTTP/1.1 408"), answer[:200]
        body = json.loads(answer.split("\r\n\r\n", 1)[1])
        assert body["error"] == "the request headers did not arrive within 4 s"
    assert 3.5 < took < 30
    assert service.client.get("/livez").status_code == 200  # whole requests are served


def test_json_depth_ignores_brackets_inside_strings():
    assert json_depth(b'{"a": [1, {"b": "[[[[{{{"}]}') == 3
    assert json_depth(b'"\\"[[["') == 0
    assert json_depth(b"") == 0


def test_the_body_limit_holds_a_full_batch_of_records(frame, local):
    """The default max_body_bytes takes max_batch_size records at full float precision."""
    cfg = ServingConfig()
    rows = frame[["customer_id", *local.feature_names]].sample(
        cfg.max_batch_size, replace=True, random_state=0
    )
    plain = rows.astype(object).where(rows.notna(), None).to_dict("records")
    for r in plain:  # every number with 17 significant digits
        r.update({k: v * (1 + 1e-13) for k, v in r.items() if isinstance(v, float)})
        r["customer_id"] = "C" + "9" * 20
    size = len(json.dumps({"records": plain}).encode())
    assert size <= cfg.max_body_bytes, (size, cfg.max_body_bytes)


def test_errors_carry_request_ids_and_no_internals(service, world):
    c = service.client
    ok = c.get("/models")
    assert re.fullmatch(r"[0-9a-f]{32}", ok.headers["x-request-id"])
    mine = c.get("/nowhere", headers={"X-Request-ID": "client-chosen-42"})
    assert _is_error(mine, 404)["request_id"] == "client-chosen-42"
    cases = [
        c.get("/scorecards", params={"period": "2021-01"}),  # never scored: store, command, data
        c.get("/at_risk", params={"asof": "1999-01-31"}),
        c.post("/predict", content="{", headers={"Content-Type": "application/json"}),
        c.get("/at_risk", params={"limit": "x"}),
    ]
    log = service.log.read_text(encoding="utf-8", errors="replace")
    deadline = time.monotonic() + 5
    for resp in cases:
        body = _is_error(resp, resp.status_code)
        assert 400 <= resp.status_code < 500
        text = json.dumps(body)
        for secret in (str(world.root), "sqlite", "SELECT", "churn score", "--data", "/tmp"):
            assert secret not in text, (secret, text)
        while f"request_id={body['request_id']}" not in log and time.monotonic() < deadline:
            time.sleep(0.1)
            log = service.log.read_text(encoding="utf-8", errors="replace")
        assert f"request_id={body['request_id']}" in log
    scorecard = cases[0].json()
    assert scorecard["error"].startswith("the prediction store")  # still says what is missing
    assert "2021-01-01" in scorecard["error"]


def test_docs_page_names_the_product_and_loads_nothing_from_other_hosts(service):
    c = service.client
    page = c.get("/docs")
    assert page.status_code == 200
    spec = c.get("/docs.json").json()
    assert spec["info"]["title"] == PRODUCT and spec["info"]["version"] not in ("", "None")
    title = re.search(r"<title>(.*?)</title>", page.text)
    assert title and title.group(1) == f"{PRODUCT} {spec['info']['version']}"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    links = re.findall(r"""(?:src|href|url)\s*[:=]\s*["']([^"']+)["']""", page.text)
    assert links and all(not re.match(r"(https?:)?//", u) for u in links), links
    assert "googletagmanager" not in page.text and "bentoml" not in page.text.lower()
    for link in links:
        assert c.get("/" + link.removeprefix("./")).status_code == 200, link
    assert c.get("/").text == page.text
