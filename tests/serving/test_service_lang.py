"""The API in Chinese (issue 32): one scoring's lists read in either language, the CSV with
every fixed value named, the JSON with its schema's enums; refusals in Chinese keep their keys,
``loc`` and ``type``."""

from __future__ import annotations

import re
from io import StringIO

import pandas as pd


def test_lists_and_refusals_in_chinese_keep_their_keys(service, world):
    """Issue 32: one scoring reads in either language; keys stay English identifiers."""
    c = service.client
    en = c.get("/at_risk", params={"limit": 20}).json()["items"]
    zh = c.get("/at_risk", params={"limit": 20, "lang": "zh"}).json()["items"]
    by_header = c.get("/at_risk", params={"limit": 20}, headers={"Accept-Language": "zh-CN"})
    assert by_header.json()["items"] == zh and [list(r) for r in zh] == [list(r) for r in en]
    assert [r["customer_id"] for r in zh] == [r["customer_id"] for r in en]
    assert all(re.search("[\u4e00-\u9fff]", r["reason_1"]) for r in zh)
    assert all(not re.search("[\u4e00-\u9fff]", r["reason_1"]) for r in en)
    assert [r["lifecycle_status"] for r in zh] == [r["lifecycle_status"] for r in en]  # enums
    assert all(re.search("[\u4e00-\u9fff]", r["recommended_action"] or "中") for r in zh)
    table = pd.read_csv(StringIO(c.get("/at_risk", params={"format": "csv", "lang": "zh"}).text))
    assert set(table["lifecycle_status"]) <= {"活跃", "临近到期/沉默"}
    cid = en[0]["customer_id"]
    reasons = c.get(f"/customers/{cid}", params={"lang": "zh"}).json()["scores"]["reasons"]
    assert reasons and all(re.search("[\u4e00-\u9fff]", r) for r in reasons)
    refused = c.get("/at_risk", params={"min_probability": 2, "lang": "zh"})
    body = refused.json()
    assert refused.status_code == 400 and body["error"] == "查询参数无效"
    assert body["detail"][0]["loc"] == ["query", "min_probability"]
    assert body["detail"][0]["msg"] == "应小于或等于 1" and body["detail"][0]["type"]
    english = c.get("/at_risk", params={"min_probability": 2}).json()
    assert english["error"] == "invalid query parameters"
    assert c.get("/at_risk", params={"lang": "fr"}).status_code == 400
