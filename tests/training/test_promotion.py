"""The gate's decision rule, without a registry: tolerances, directions and the reason given."""

from __future__ import annotations

from training.config import PromotionConfig
from training.promotion import decide

CFG = PromotionConfig(population="everyone")
CHURN = {"roc_auc": 0.90, "pr_auc": 0.80, "brier": 0.10, "ece": 0.02}
VALUE = {"spearman": 0.60, "gini": 0.80, "mae": 100.0, "rmse": 1000.0}


def test_first_version_becomes_champion():
    d = decide("churn-model", "1", "churn", CHURN, None, None, CFG)
    assert d.outcome == "champion" and "no champion" in d.reason


def test_equal_or_slightly_worse_within_tolerance_is_promoted():
    new = {**CHURN, "roc_auc": 0.896, "ece": 0.029}
    d = decide("churn-model", "2", "churn", new, "1", CHURN, CFG)
    assert d.outcome == "champion"
    assert all(c.passed for c in d.comparisons)


def test_worse_auc_makes_a_challenger_and_says_why():
    new = {**CHURN, "roc_auc": 0.88}
    d = decide("churn-model", "2", "churn", new, "1", CHURN, CFG)
    assert d.outcome == "challenger"
    assert "roc_auc 0.8800 vs champion 0.9000" in d.reason
    assert [c.metric for c in d.comparisons if not c.passed] == ["roc_auc"]
    assert str(d).startswith("challenger (worse than champion v1")


def test_lower_is_better_metrics_and_relative_tolerance():
    worse_brier = decide("m", "2", "churn", {**CHURN, "brier": 0.103}, "1", CHURN, CFG)
    assert worse_brier.outcome == "challenger"
    ok_mae = decide("v", "2", "value", {**VALUE, "mae": 101.9}, "1", VALUE, CFG)
    assert ok_mae.outcome == "champion"
    bad_mae = decide("v", "2", "value", {**VALUE, "mae": 102.5}, "1", VALUE, CFG)
    assert bad_mae.outcome == "challenger" and "mae" in bad_mae.reason
    roc = next(c for c in decide("m", "2", "churn", CHURN, "1", CHURN, CFG).comparisons)
    assert roc.allowed == 0.90 - 0.005 and roc.higher_is_better


def test_the_gate_decides_on_the_live_customers_by_default():
    live = {f"{k}_live": v for k, v in CHURN.items()}
    champion = {**CHURN, **live}
    better_on_everyone_worse_live = {**champion, "roc_auc": 0.95, "roc_auc_live": 0.70}
    d = decide("m", "2", "churn", better_on_everyone_worse_live, "1", champion, PromotionConfig())
    assert d.outcome == "challenger" and "roc_auc_live 0.7000" in d.reason
    assert {c.metric for c in d.comparisons} == {
        "roc_auc_live",
        "pr_auc_live",
        "brier_live",
        "ece_live",
    }
    worse_on_everyone = {**champion, "roc_auc": 0.80}
    assert decide(
        "m", "2", "churn", worse_on_everyone, "1", champion, PromotionConfig()
    ).outcome == ("champion")
