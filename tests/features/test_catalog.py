"""The feature registry covers every column the pipeline can emit, for any windows, and turns a
value into an English or Chinese sentence."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from features.catalog import describe, is_known, level, patterns, sentence
from features.config import FeatureConfig
from features.pipeline.build import build_features, feature_columns
from features.pipeline.cutoffs import FeatureError

DOCS = Path(__file__).resolve().parents[2] / "docs" / "features.md"


@pytest.mark.parametrize(
    ("drop", "cfg"),
    [
        (None, FeatureConfig()),
        (None, FeatureConfig(windows_days=(7, 60, 400), trend_recent_days=14, trend_base_days=28)),
        ({"interactions": ["direction"]}, FeatureConfig(windows_days=(45,))),
    ],
)
def test_registry_covers_every_emitted_feature(make_ds, cutoff, drop, cfg):
    frame = build_features(make_ds(drop=drop), cutoff, cfg)
    cols = feature_columns(frame)
    assert [c for c in cols if not is_known(c)] == []
    for col in cols:
        info = describe(col)
        assert info.group in ("rfm", "interaction", "complaint", "profile")
        assert info.description and "{" not in info.description
        assert "{value}" in info.template_en and "{value}" in info.template_zh
        assert sentence(col, frame[col].iloc[0], "en") and sentence(col, frame[col].iloc[0], "zh")


def test_groups_match_the_feature_families():
    assert describe("txn_count_90d").group == "rfm"
    assert describe("int_call_inbound_30d").group == "interaction"
    assert describe("complaint_open_90d").group == "complaint"
    assert describe("segment").group == "profile"


@pytest.mark.parametrize(
    ("name", "value", "en", "zh"),
    [
        ("complaint_open_90d", 3, "3 unresolved complaints in the last 90 days", "近90天有3次未解决投诉"),
        ("complaint_open_90d", 1, "1 unresolved complaint in the last 90 days", "近90天有1次未解决投诉"),
        ("txn_count_30d", 0.0, "0 purchases in the last 30 days", "近30天消费0次"),
        ("recency_days", 45.0, "Last purchase 45 days ago", "最近一次消费在45天前"),
        ("inbound_share_365d", 0.25, "25% of contacts in the last 365 days were started by the customer",
         "近365天25%的互动由客户发起"),
        ("int_call_outbound_90d", 2.0, "2 outbound call contacts in the last 90 days",
         "近90天公司发起的电话2次"),
        ("revenue_90d", 1234.5, "Spent 1,234.50 in the last 90 days", "近90天消费金额1,234.50"),
        ("rfm_score", 3.4, "Weighted RFM score 3.4 of 5", "RFM加权价值分3.4分（满分5分）"),
        ("segment", "smb", "Segment: smb", "客户细分：中小企业"),
        ("plan", "annual", "Plan: annual", "套餐：包年"),
        ("region", "atlantis", "Region: atlantis", "地区：atlantis"),  # a level with no name
    ],
)  # fmt: skip
def test_sentences(name, value, en, zh):
    assert sentence(name, value, "en") == en
    assert sentence(name, value, lang="zh") == zh


def test_category_levels_have_chinese_names():
    for p in patterns():
        assert (p.kind == "category") or not p.levels_zh, p.pattern  # levels only on categories
        assert all(name and name != key for key, name in p.levels_zh.items()), p.pattern
    assert level("plan", "payg", "zh") == "按量付费" and level("plan", "payg", "en") == "payg"
    assert level("segment", "startup", "zh") == "startup"


def test_missing_values_have_their_own_sentence():
    assert sentence("recency_days", math.nan) == "No purchase before the cutoff"
    assert sentence("recency_days", None, "zh") == "截止日前没有消费记录"
    assert sentence("txn_trend_30_90d", math.nan) == "Nothing in the 90 days before to compare with"
    assert sentence("segment", math.nan) == "Segment unknown"


def test_unknown_feature_and_language_are_errors():
    with pytest.raises(FeatureError, match="unknown feature 'shoe_size'"):
        describe("shoe_size")
    with pytest.raises(FeatureError, match="unknown language"):
        sentence("txn_count_30d", 1, "fr")
    assert not is_known("int_fax_inbound_30d")


def test_docs_list_every_feature_pattern():
    text = DOCS.read_text(encoding="utf-8")
    assert [p.pattern for p in patterns() if f"`{p.pattern}`" not in text] == []
