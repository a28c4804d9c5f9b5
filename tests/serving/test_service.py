"""The API against real ``bentoml serve`` processes on loopback (see conftest.py).

One service with champions and no API key answers the endpoint, bad-input and swap tests; a
second one, with an API key and no champion at start, answers the auth and readiness tests.
"""

from __future__ import annotations

import json
import random
import re
import socket
import string
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from io import StringIO
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from features.pipeline.build import build_features
from scoring.champions import Champions, load_champions
from training.tracking import using_store

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("serving-api")]


@pytest.fixture(scope="module")
def local(world) -> Champions:
    """The champions loaded in this process, for in-process predictions of the same models."""
    return load_champions(world.cfg.models, world.tracking_uri)


@pytest.fixture(scope="module")
def frame(world, local: Champions) -> pd.DataFrame:
    return build_features(world.ds, world.asof, local.feature_config(), labels=False)


def records_of(frame: pd.DataFrame, champions: Champions) -> list[dict]:
    """Feature rows as a client sends them: text categoricals, null for missing values."""
    plain = frame[["customer_id", *champions.feature_names]].astype(object)
    return plain.where(plain.notna(), None).to_dict("records")


@pytest.fixture(scope="module")
def records(frame: pd.DataFrame, local: Champions) -> list[dict]:
    return records_of(frame.head(30), local)


def versions(svc) -> tuple[str, str]:
    status = svc.client.get("/models").json()
    return status["churn_model"]["version"], status["value_model"]["version"]


# ---- happy paths --------------------------------------------------------------------------------


def test_probes_metrics_models_and_openapi(service, local: Champions):
    c = service.client
    assert c.get("/livez").status_code == 200
    assert c.get("/readyz").status_code == 200
    status = c.get("/models").json()
    assert status["ready"] and status["problem"] is None
    # the worker started on the pair fetched beside BentoML's start (it warns when it cannot)
    assert "fetched beside the start" not in service.log.read_text("utf-8", errors="replace")
    assert status["feature_names"] == list(local.feature_names)
    assert set(status["categories"]) == set(local.categories)
    paths = c.get("/docs.json").json()["paths"]
    for path in (
        "/predict",
        "/predict_by_id",
        "/explain",
        "/reload",
        "/at_risk",
        "/win_back",
        "/models",
    ):
        assert path in paths
    metrics = c.get("/metrics")
    assert metrics.status_code == 200 and "bentoml_service_request_total" in metrics.text


def test_predict_equals_in_process_prediction(service, frame, local, records):
    resp = service.client.post("/predict", json={"records": records[:20]})
    assert resp.status_code == 200, resp.text
    got = pd.DataFrame(resp.json())
    want = frame.head(20)
    p, v = local.churn.predict(want), local.value.predict(want)
    assert list(got["customer_id"]) == list(want["customer_id"])
    assert np.array_equal(got["churn_probability"].to_numpy(), p)
    assert np.array_equal(got["predicted_value"].to_numpy(), v)
    assert np.array_equal(got["expected_value_at_risk"].to_numpy(), p * v)
    bands = np.select([p >= 0.5, p >= 0.2], ["high", "medium"], "low")
    assert list(got["risk_band"]) == list(bands)
    pairs = zip(got["churn_model_version"], got["value_model_version"], strict=True)
    assert set(pairs) == {versions(service)}


def test_concurrent_single_records_are_exact(service, frame, local, records):
    def one(i: int) -> dict:
        r = service.client.post("/predict", json={"records": [records[i]]})
        assert r.status_code == 200, r.text
        return r.json()[0]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(one, range(24)))
    p = local.churn.predict(frame.head(24))
    assert [a["customer_id"] for a in answers] == list(frame["customer_id"].head(24))
    assert np.array_equal([a["churn_probability"] for a in answers], p)


def test_predict_by_id_uses_the_stored_features(service, world):
    batch = pd.read_csv(world.csv, dtype={"customer_id": str})
    ids = [*batch["customer_id"].iloc[[0, 5, 9]], "NOBODY"]
    resp = service.client.post("/predict_by_id", json={"customer_ids": ids})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["asof"] == world.asof
    assert [r["customer_id"] for r in body["results"]] == ids
    for item, (_, row) in zip(body["results"][:3], batch.iloc[[0, 5, 9]].iterrows(), strict=True):
        assert item["error"] is None
        pred = item["prediction"]  # the lists round to 4 decimals (probability) and 2 (values)
        assert round(pred["churn_probability"], 4) == row["churn_probability_90d"]
        assert round(pred["expected_value_at_risk"], 2) == row["expected_value_at_risk_90d"]
    last = body["results"][3]
    assert last["prediction"] is None and "unknown customer id" in last["error"]


def test_uplift_scores_stored_customers_with_the_uplift_champion(service, world):
    from core.uplift import load_uplift
    from scoring.uplift import champion_uplift

    batch = pd.read_csv(world.csv, dtype={"customer_id": str})
    ids = [*batch["customer_id"].iloc[[0, 5]], "NOBODY"]
    resp = service.client.post("/uplift", json={"customer_ids": ids})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    _, version = load_uplift("uplift-model", "champion", world.tracking_uri)
    assert body["asof"] == world.asof and body["uplift_model_version"] == version
    assert [r["customer_id"] for r in body["results"]] == ids
    expected, _ = champion_uplift(world.ds, pd.Timestamp(world.asof), world.tracking_uri)
    effect = expected.set_index("customer_id")["uplift"]
    for item, (_, row) in zip(body["results"][:2], batch.iloc[[0, 5]].iterrows(), strict=True):
        u = item["uplift"]
        assert item["error"] is None and u["effect"] == pytest.approx(effect[item["customer_id"]])
        assert round(u["value_if_retained"], 2) == row["value_if_retained_90d"]
        assert u["expected_incremental_value"] == pytest.approx(
            u["effect"] * u["value_if_retained"]
        )
    assert body["results"][2]["uplift"] is None and "unknown" in body["results"][2]["error"]


def test_explain_records_and_ids(service, frame, local, records):
    resp = service.client.post("/explain", json={"records": records[:2], "lang": "zh", "top_k": 3})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["lang"] == "zh" and body["churn_model_version"] == versions(service)[0]
    contrib = local.churn.contributions(frame.head(2))
    for item, (_, row) in zip(body["explanations"], contrib.iterrows(), strict=True):
        assert len(item["reasons"]) == 3
        features = [r["feature"] for r in item["reasons"]]
        assert [row[f] for f in features] == [r["contribution"] for r in item["reasons"]]
        top = row.drop("bias").abs().sort_values(ascending=False, kind="stable")
        assert features == list(top.index[:3])
        assert all(any("\u4e00" <= ch <= "\u9fff" for ch in r["sentence"]) for r in item["reasons"])
    ids = [records[0]["customer_id"], "NOBODY"]
    resp = service.client.post("/explain", json={"customer_ids": ids})
    body = resp.json()
    assert resp.status_code == 200 and body["asof"] is not None
    first, unknown = body["explanations"]
    assert len(first["reasons"]) == 4  # the config's top_k
    assert first["reasons"][0]["sentence"] and first["error"] is None
    assert unknown["reasons"] == [] and "unknown customer id" in unknown["error"]


CLI_ONLY = ["name", "phone", "email", "days_since_contact"]
"""Columns the CLI lists take from the data folder (docs/lists.md); the API's lists lack them."""


def _cli_list(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype={"customer_id": str, "account_manager_id": str})
    assert "days_since_contact" in frame  # the generated book has contacts
    return frame.drop(columns=[c for c in CLI_ONLY if c in frame])


def test_at_risk_lists_sort_filter_page_and_export_csv(service, world):
    batch = _cli_list(world.csv)
    c = service.client
    body = c.get("/at_risk", params={"limit": 10}).json()
    assert body["asof"] == world.asof and body["total"] == len(batch)
    assert [i["customer_id"] for i in body["items"]] == list(batch["customer_id"].head(10))
    assert list(body["items"][0]) == list(batch.columns)
    page = c.get("/at_risk", params={"limit": 5, "offset": 5}).json()
    assert [i["rank"] for i in page["items"]] == [6, 7, 8, 9, 10]
    manager = batch["account_manager_id"].dropna().iloc[0]
    mine = c.get(
        "/at_risk", params={"account_manager_id": manager, "segment": "smb", "min_probability": 0.1}
    ).json()
    want = batch[
        (batch["account_manager_id"] == manager)
        & (batch["segment"] == "smb")
        & (batch["churn_probability_90d"] >= 0.1)
    ]
    assert mine["total"] == len(want)
    assert [i["customer_id"] for i in mine["items"]] == list(want["customer_id"].head(100))
    for query, headers in (
        ({"format": "csv", "limit": 7}, {}),
        ({"limit": 7}, {"Accept": "text/csv"}),
    ):
        resp = c.get("/at_risk", params=query, headers=headers)
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
        table = pd.read_csv(StringIO(resp.text), dtype={"customer_id": str})
        assert list(table.columns) == list(batch.columns)
        assert list(table["customer_id"]) == list(batch["customer_id"].head(7))
        assert resp.headers["x-total-count"] == str(len(batch))


def test_win_back_list_holds_the_lapsed_customers_like_the_cli(service, world):
    cli = _cli_list(world.win_back)
    assert len(cli) > 0 and set(cli["lifecycle_status"]) == {"lapsed"}
    body = service.client.get("/win_back", params={"limit": 1000}).json()
    assert body["total"] == len(cli)
    api = pd.DataFrame(body["items"])
    assert list(api.columns) == list(cli.columns)
    assert list(api["customer_id"]) == list(cli["customer_id"])
    assert api["reason_1"].tolist() == cli["reason_1"].tolist()
    assert (api["recommended_action"] == "win-back offer").all()
    resp = service.client.get("/win_back", params={"format": "csv", "limit": 1000})
    table = pd.read_csv(StringIO(resp.text), dtype={"customer_id": str, "account_manager_id": str})
    assert table.astype(str).equals(cli.astype(str))
    at_risk = pd.read_csv(world.csv, dtype={"customer_id": str})
    assert not set(at_risk["customer_id"]) & set(cli["customer_id"])


# ---- bad input: 4xx JSON naming the field and the reason, never a 500 ---------------------------


def _body(records: list[dict], **change: object) -> dict:
    first = {**records[0], **change}
    return {"records": [first]}


def _bad_cases(records: list[dict]) -> list[tuple[str, str, object, int, str]]:
    """(name, path, body, status, text that must appear in the response)."""
    no_recency = {k: v for k, v in records[0].items() if k != "recency_days"}
    nan_text = json.dumps(_body(records, recency_days=1.5)).replace("1.5", "NaN")
    inf_text = json.dumps(_body(records, recency_days=1.5)).replace("1.5", "Infinity")
    return [
        ("empty list", "/predict", {"records": []}, 400, "at least one"),
        ("missing field", "/predict", {"records": [no_recency]}, 400, "recency_days"),
        ("extra field", "/predict", _body(records, shoe_size=44), 400, "shoe_size"),
        (
            "extra top-level",
            "/predict_by_id",
            {"customer_ids": ["a"], "x": 1},
            400,
            "extra_forbidden",
        ),
        ("text for number", "/predict", _body(records, recency_days="12"), 400, "recency_days"),
        ("number for text", "/predict", _body(records, segment=5), 400, "segment"),
        ("bool for number", "/predict", _body(records, tenure_days=True), 400, "tenure_days"),
        ("NaN", "/predict", nan_text, 400, "finite"),
        ("infinity", "/predict", inf_text, 400, "finite"),
        ("unknown category", "/predict", _body(records, segment="martian"), 400, "martian"),
        ("over the batch size", "/predict", {"records": records[:1] * 51}, 400, "at most 50"),
        ("malformed JSON", "/predict", '{"records": [{"recency_days": 1', 400, "Invalid JSON"),
        ("not an object", "/predict", "[1, 2]", 400, "object"),
        ("no ids", "/predict_by_id", {"customer_ids": []}, 400, "at least one"),
        ("ids not text", "/predict_by_id", {"customer_ids": [7]}, 400, "string"),
        ("too many ids", "/predict_by_id", {"customer_ids": ["a"] * 51}, 400, "at most 50"),
        (
            "records and ids",
            "/explain",
            {**_body(records), "customer_ids": ["a"]},
            400,
            "exactly one",
        ),
        ("neither", "/explain", {"lang": "en"}, 400, "exactly one"),
        ("language", "/explain", {"customer_ids": ["a"], "lang": "fr"}, 400, "lang"),
        ("top_k", "/explain", {"customer_ids": ["a"], "top_k": 0}, 400, "top_k"),
        ("reload with a location", "/reload", {"model_uri": "file:///tmp/x"}, 400, "model_uri"),
        ("oversized body", "/predict", {"records": [], "pad": "x" * 400_000}, 413, "300,000 bytes"),
    ]


def test_bad_input_gets_a_4xx_json_answer(service, records):
    for name, path, body, status, text in _bad_cases(records):
        content = body if isinstance(body, str) else json.dumps(body)
        resp = service.client.post(
            path, content=content, headers={"Content-Type": "application/json"}
        )
        assert resp.status_code == status, (name, resp.status_code, resp.text[:500])
        assert text in resp.text, (name, resp.text[:500])
        assert "error" in resp.json(), name


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "text"),
    [
        (
            "POST",
            "/predict",
            {"content": "{}", "headers": {"Content-Type": "text/plain"}},
            415,
            "application/json",
        ),
        ("POST", "/predict", {"files": {"records": ("a.json", b"[]")}}, 415, "multipart"),
        ("GET", "/predict", {}, 405, "method not allowed"),
        ("GET", "/nowhere", {}, 404, "no such endpoint"),
        ("GET", "/at_risk", {"params": {"min_probability": 2}}, 400, "min_probability"),
        ("GET", "/at_risk", {"params": {"min_probability": "nan"}}, 400, "min_probability"),
        ("GET", "/at_risk", {"params": {"limit": 0}}, 400, "limit"),
        ("GET", "/at_risk", {"params": {"limit": 1001}}, 400, "maximum of 1000"),
        ("GET", "/at_risk", {"params": {"asof": "June"}}, 400, "asof"),
        ("GET", "/win_back", {"params": {"min_probability": -1}}, 400, "min_probability"),
        ("GET", "/win_back", {"params": {"limit": 1001}}, 400, "maximum of 1000"),
        ("GET", "/win_back", {"params": {"format": "xml"}}, 400, "format"),
        ("GET", "/win_back", {"params": {"asof": "1999-01-01"}}, 404, "no batch scoring"),
        (
            "GET",
            "/at_risk",
            {"params": {"asof": "1999-01-31"}},
            404,
            "no batch scoring as of 1999-01-31",
        ),
    ],
)
def test_bad_requests_of_other_kinds(service, method, path, kwargs, status, text):
    resp = service.client.request(method, path, **kwargs)
    assert resp.status_code == status, resp.text
    assert text in resp.json()["error"] + json.dumps(resp.json()["detail"])


# ---- KPI scorecards from the store (GET /scorecards) ---------------------------------------------


@pytest.fixture(scope="module")
def month_start(world, tmp_path_factory) -> str:
    """``churn score`` at the first day of the latest month whose KPI outcome window the data
    covers (before the latest as-of date, so /at_risk still reads the latest); returns the
    period, ``YYYY-MM``."""
    from typer.testing import CliRunner

    from churn.cli import app, register_commands
    from kpi.config import KpiConfig
    from kpi.periods import latest_complete_month

    start = latest_complete_month(pd.Timestamp(world.asof), KpiConfig().outcome.horizon_days)
    assert f"{start:%Y-%m-%d}" < world.asof
    register_commands()
    out = tmp_path_factory.mktemp("month-start") / "at_risk.csv"
    args = ["score", "--data", str(world.data), "--asof", f"{start:%Y-%m-%d}"]
    run = CliRunner().invoke(app, [*args, "--config", str(world.config), "--out", str(out)])
    assert run.exit_code == 0, run.output
    return f"{start:%Y-%m}"


def test_scorecards_of_a_month_equal_the_in_process_scorecards(service, world, month_start):
    from features.loaders import load_dataset
    from kpi.config import KpiConfig
    from kpi.inputs import read_predictions
    from kpi.scorecard import scorecard
    from scoring.store.predictions import PredictionStore

    resp = service.client.get("/scorecards", params={"period": month_start})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["period"] == month_start and body["kind"] == "month"
    assert [p["asof"] for p in body["predictions"]] == [f"{month_start}-01"]
    assert "data" not in body  # the server's data folder is not the client's business
    store = PredictionStore(world.cfg.resolved_store_url())
    stored = read_predictions(store, [pd.Timestamp(f"{month_start}-01")])
    store.close()
    want = scorecard(load_dataset(world.data), stored.predictions, month_start, KpiConfig())
    got = pd.DataFrame(body["rows"])
    assert (
        got[["level", "account_manager_id", "team"]]
        .fillna("")
        .equals(want[["level", "account_manager_id", "team"]].fillna(""))
    )
    for col in ("score", "risk_adjusted_retention", "value_weighted_retention", "payout"):
        assert got[col].to_numpy(dtype=float) == pytest.approx(
            want[col].to_numpy(dtype=float), nan_ok=True
        ), col
    assert got["score"].dropna().between(0, 100).all() and got["grade"].notna().any()
    assert "/scorecards" in service.client.get("/docs.json").json()["paths"]


def test_scorecards_filter_by_team_and_manager_and_export_csv(service, month_start):
    c = service.client
    rows = pd.DataFrame(c.get("/scorecards", params={"period": month_start}).json()["rows"])
    managers = rows[rows["level"] == "manager"]
    team = managers["team"].dropna().iloc[0]
    mine = pd.DataFrame(
        c.get("/scorecards", params={"period": month_start, "team": team}).json()["rows"]
    )
    assert set(mine["team"]) == {team}
    assert len(mine) == (managers["team"] == team).sum() + 1
    who = managers.loc[managers["team"] == team, "account_manager_id"].iloc[0]
    one = c.get("/scorecards", params={"period": month_start, "manager": who}).json()["rows"]
    assert [(r["level"], r["account_manager_id"]) for r in one] == [
        ("manager", who),
        ("team", None),
    ]
    for query, headers in (
        ({"period": month_start, "format": "csv"}, {}),
        ({"period": month_start}, {"Accept": "text/csv"}),
    ):
        resp = c.get("/scorecards", params=query, headers=headers)
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
        table = pd.read_csv(StringIO(resp.text), dtype={"account_manager_id": str})
        assert table["score"].to_numpy() == pytest.approx(
            rows["score"].to_numpy(dtype=float), nan_ok=True
        )


def test_scorecards_refuse_bad_requests_with_4xx_json(service, world, month_start):
    year, month = map(int, month_start.split("-"))
    earlier = f"{year}-{month - 1:02d}" if month > 1 else f"{year - 1}-12"
    after = f"{year}-{month + 1:02d}" if month < 12 else f"{year + 1}-01"
    cases = [
        ({}, 400, "period"),
        ({"period": "June"}, 400, "period"),
        ({"period": "2024-13"}, 400, "period"),
        ({"period": ""}, 400, "period"),
        ({"period": "x" * 30}, 400, "period"),
        (
            {"period": earlier},
            404,
            f"no predictions made at {earlier}-01",
        ),
        ({"period": after}, 422, f"no data for the period starting {after}-01"),
        ({"period": month_start, "team": "nobody"}, 404, "unknown team 'nobody'"),
        ({"period": month_start, "manager": "AM999"}, 404, "unknown account manager 'AM999'"),
        ({"period": month_start, "format": "xml"}, 400, "format"),
    ]
    for params, status, text in cases:
        resp = service.client.get("/scorecards", params=params)
        assert resp.status_code == status, (params, resp.status_code, resp.text[:300])
        body = resp.json()
        assert text in body["error"] + json.dumps(body["detail"]), (params, body)


# ---- auth and readiness (a second service: API key set, no champion at start) --------------------


def _copy_champions(world, names: dict[str, str]) -> None:
    """Register the current champions again under new names and give them the alias."""
    with using_store(world.tracking_uri):
        client = MlflowClient(world.tracking_uri, world.tracking_uri)
        for source, target in names.items():
            mv = client.get_model_version_by_alias(source, "champion")
            client.create_registered_model(target)
            new = client.create_model_version(target, mv.source, run_id=mv.run_id)
            client.set_registered_model_alias(target, "champion", new.version)


def test_api_key_and_not_ready_until_a_champion_appears(locked_service, world, records, api_key):
    c = locked_service.client
    key = {"X-API-Key": api_key}
    assert c.get("/livez").status_code == 200
    ready = c.get("/readyz")
    assert ready.status_code == 503 and "churn-model-b" in ready.json()["error"]
    body = {"records": records[:1]}
    for headers in ({}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer wrong"}):
        resp = c.post("/predict", json=body, headers=headers)
        assert resp.status_code == 401 and "API key" in resp.json()["error"]
    for path in ("/metrics", "/at_risk", "/models", "/docs.json"):
        assert c.get(path).status_code == 401, path
        assert c.get(path, headers=key).status_code == 200, path
    not_ready = c.post("/predict", json=body, headers={"Authorization": f"Bearer {api_key}"})
    assert not_ready.status_code == 503 and "churn-model-b" in not_ready.json()["error"]

    _copy_champions(world, {"churn-model": "churn-model-b", "value-model": "value-model-b"})
    deadline = time.monotonic() + 30
    while c.get("/readyz").status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.25)  # the service polls the registry every 0.5 s
    resp = c.post("/predict", json=body, headers=key)
    assert resp.status_code == 200, resp.text
    assert resp.json()[0]["churn_model_version"] == "1"


# ---- a customer's stored row and example records ---------------------------------------------------


def test_a_customer_is_served_with_the_features_and_scores_batch_scoring_stored(service, world):
    from scoring.store.predictions import PredictionStore

    store = PredictionStore(world.cfg.resolved_store_url())
    ids = list(pd.read_csv(world.csv, dtype={"customer_id": str})["customer_id"].iloc[[0, 7]])
    _, stored = store.feature_records(ids)
    run = store.run()
    store.close()
    for cid in ids:
        resp = service.client.get(f"/customers/{cid}")
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert list(body) == ["customer_id", "asof", "features", "scores"]
        assert body["customer_id"] == cid and body["asof"] == world.asof
        assert list(body["features"]) == list(run.feature_names)
        assert body["features"] == {f: stored[cid][f] for f in run.feature_names}
        assert isinstance(body["scores"]["reasons"], list) and body["scores"]["reasons"]
        # the features are a ready /predict record and score as the batch scored them
        again = service.client.post("/predict", json={"records": [body["features"]]}).json()[0]
        assert again["churn_probability"] == body["scores"]["churn_probability"]
        assert again["risk_band"] == body["scores"]["risk_band"]
        by_id = service.client.post("/predict_by_id", json={"customer_ids": [cid]}).json()
        assert by_id["results"][0]["prediction"]["churn_probability"] == again["churn_probability"]
    unknown = service.client.get("/customers/NOBODY")
    assert unknown.status_code == 404 and "NOBODY" in unknown.json()["error"]
    never = service.client.get("/customers/C0000001", params={"asof": "1999-01-31"})
    assert never.status_code == 404 and "1999-01-31" in never.json()["error"]
    assert (
        service.client.get("/customers/C0000001", params={"asof": "31.01.1999"}).status_code == 400
    )
    assert service.client.get("/customers/C0000001", params={"as_of": "x"}).status_code == 400


def test_models_carry_an_example_record_per_model_that_predict_accepts(service, local):
    examples = service.client.get("/models").json()["example_records"]
    assert set(examples) == {"churn-model", "value-model"}
    assert set(examples["churn-model"]) == {"customer_id", *local.churn.feature_names}
    assert set(examples["value-model"]) == {"customer_id", *local.value.feature_names}
    record = {**examples["value-model"], **examples["churn-model"]}
    resp = service.client.post("/predict", json={"records": [record]})
    assert resp.status_code == 200, resp.text
    assert resp.json()[0]["customer_id"] == record["customer_id"] is not None


# ---- model swap under load (last: it moves the champion alias) ------------------------------------


def _new_versions(world) -> dict[str, str]:
    """A new version of each champion (same artifacts) that takes the alias."""
    out = {}
    with using_store(world.tracking_uri):
        client = MlflowClient(world.tracking_uri, world.tracking_uri)
        for name in ("churn-model", "value-model"):
            mv = client.get_model_version_by_alias(name, "champion")
            new = client.create_model_version(name, mv.source, run_id=mv.run_id)
            client.set_registered_model_alias(name, "champion", new.version)
            out[name] = str(new.version)
    return out


def test_champion_swap_under_load_fails_no_request(service, world, records):
    old = versions(service)
    seen: list[tuple[int, tuple[str, str] | None]] = []
    stop = threading.Event()
    deadline = time.monotonic() + 90

    def loop(i: int) -> None:
        with httpx.Client(base_url=service.url, timeout=30) as client:
            for _ in range(500):  # bounded in count and in time
                if stop.is_set() or time.monotonic() > deadline:
                    return
                r = client.post("/predict", json={"records": [records[i]]})
                got = r.json()[0] if r.status_code == 200 else None
                seen.append(
                    (
                        r.status_code,
                        got and (got["churn_model_version"], got["value_model_version"]),
                    )
                )

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    while len(seen) < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    new = _new_versions(world)
    swapped = service.client.post("/reload").json()
    assert swapped["churn_model"]["version"] == new["churn-model"]
    at_swap = len(seen)
    while len(seen) < at_swap + 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    statuses = {s for s, _ in seen}
    answered = [v for _, v in seen]
    assert statuses == {200}, f"failed requests during the swap: {statuses}"
    assert answered[0] == old and answered[-1] == (new["churn-model"], new["value-model"])
    assert set(answered) == {old, (new["churn-model"], new["value-model"])}


def _sweep(client: httpx.Client, n: int, seed: int, key: dict[str, str]) -> list[str]:
    """GET ``n`` random paths, every other one with the key; the random tokens sent."""
    rng = random.Random(seed)
    tokens = []
    for i in range(n):
        token = "".join(rng.choices(string.ascii_lowercase + string.digits, k=14))
        tokens.append(token)
        shapes = [f"/{token}", f"/x/{token}/y", f"/customers/{token}", f"/ui/customers/{token}"]
        client.get(shapes[i % len(shapes)], headers=key if (i // len(shapes)) % 2 else {})
    return tokens


def _series(text: str) -> set[str]:
    """The metric names and label sets exported, without their values."""
    return {line.rsplit(" ", 1)[0] for line in text.splitlines() if line and line[0] != "#"}


def test_metrics_labels_are_route_templates_and_stay_bounded(locked_service, api_key):
    c = locked_service.client
    key = {"X-API-Key": api_key}
    _sweep(c, 200, 1, key)  # every kind of answer: the series random paths may create exist now
    first = c.get("/metrics", headers=key).text
    tokens = _sweep(c, 2000, 2, key)
    text = c.get("/metrics", headers=key).text
    before, after = len(first.encode()), len(text.encode())
    print(f"/metrics: {before:,} bytes before 2,000 random paths, {after:,} after")
    assert _series(text) - _series(first) == set()  # no path makes a new series
    assert after <= 1.2 * before
    assert not [t for t in tokens if t in text]
    endpoints = set(re.findall(r'endpoint="([^"]*)"', text))
    assert "/ui/customers/{customer_id}" in endpoints and "/customers/{customer_id}" in endpoints


def test_no_key_is_401_whatever_the_query(locked_service, api_key):
    c = locked_service.client
    assert c.get("/at_risk", params={"bogus": "1"}).status_code == 401
    assert (
        c.get("/at_risk", params={"bogus": "1"}, headers={"X-API-Key": api_key}).status_code == 400
    )


def _raw_post(url: str, content_type: str, length: int) -> bytes:
    """POST ``length`` bytes in slow chunks over a plain socket; the whole answer read back."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        head = (
            f"POST /predict HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {length}\r\nConnection: close\r\n\r\n"
        )
        sock.sendall(head.encode())
        chunk = b"x" * 16_384
        for start in range(0, length, len(chunk)):
            sock.sendall(chunk[: length - start])
            time.sleep(0.002)  # the answer is ready long before the body has arrived
        answer = b""
        while part := sock.recv(65_536):
            answer += part
    return answer


def test_415_and_413_come_after_the_body_so_the_client_reads_the_reason(service):
    refused = _raw_post(service.url, "text/plain", 290_000)
    assert refused.startswith(b"HTTP/1.1 415") and b"send application/json" in refused
    too_large = _raw_post(service.url, "application/json", 600_000)
    assert too_large.startswith(b"HTTP/1.1 413") and b"300,000 bytes" in too_large
