"""Top-k reasons: the largest TreeSHAP contributions with the registry's sentences."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from core.bundle import BIAS_COLUMN, ModelBundle
from features.catalog import sentence
from scoring.champions import Champions
from scoring.reasons import (
    NO_RISK_REASON,
    cells_sentences,
    explain_frame,
    raising_order,
    reason_sentences,
    risk_reason_columns,
    risk_reason_text,
    risk_reasons,
    top_contributions,
)


def test_top_contributions_orders_by_absolute_value_and_skips_bias():
    contrib = pd.DataFrame(
        [[0.1, -0.5, 0.3, 9.0], [0.2, 0.2, -0.2, -9.0]], columns=["a", "b", "c", BIAS_COLUMN]
    )
    order, top = top_contributions(contrib, 2)
    assert order.tolist() == [[1, 2], [0, 1]]  # ties keep feature order
    assert top.tolist() == [[-0.5, 0.3], [0.2, 0.2]]
    order, _ = top_contributions(contrib, 10)
    assert order.shape == (2, 3)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_reasons_are_the_largest_contributions_with_sentences(
    champions: Champions, scoring_frame, lang
):
    frame = scoring_frame.head(6)
    k = 4
    reasons = explain_frame(frame, champions.churn, k, lang)
    contrib = champions.churn.contributions(frame).drop(columns=BIAS_COLUMN)
    assert len(reasons) == len(frame)
    for row, (_, values) in zip(reasons, contrib.iterrows(), strict=True):
        assert len(row) == k
        assert [r.feature for r in row] == list(
            values.abs().sort_values(ascending=False, kind="stable").index[:k]
        )
        assert all(r.contribution == values[r.feature] for r in row)
        assert all(r.direction == ("raises" if r.contribution >= 0 else "lowers") for r in row)
    first = reasons[0][0]
    raw = frame.iloc[0][first.feature]
    expected_value = None if pd.isna(raw) else (raw if isinstance(raw, str) else float(raw))
    assert first.value == expected_value
    assert first.sentence == sentence(first.feature, expected_value, lang)
    if lang == "zh":
        assert any("\u4e00" <= ch <= "\u9fff" for r in reasons[0] for ch in r.sentence)


def test_a_feature_the_registry_does_not_know_is_still_explained():
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"mystery_x": rng.normal(size=300), "recency_days": rng.exponential(30, 300)})
    y = (x["mystery_x"] > 0).astype(float)
    params = {"objective": "binary", "verbose": -1, "num_threads": 1, "seed": 0}
    booster = lgb.train(params, lgb.Dataset(x, y), 10)
    bundle = ModelBundle("churn", booster, ("mystery_x", "recency_days"))
    (reasons,) = explain_frame(x.head(1), bundle, 2, "en")
    by_name = {r.feature: r for r in reasons}
    assert by_name["mystery_x"].sentence == f"mystery_x = {x['mystery_x'].iloc[0]}"
    assert by_name["recency_days"].sentence.startswith("Last purchase")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_risk_reasons_only_ever_list_contributions_that_raise_the_risk(
    champions: Champions, scoring_frame, lang
):
    bundle = champions.churn
    contrib = bundle.contributions(scoring_frame).drop(columns=BIAS_COLUMN)
    reasons = risk_reasons(scoring_frame, bundle, 3, lang)
    assert len(reasons) == len(scoring_frame)
    for (_, row), listed in zip(contrib.iterrows(), reasons, strict=True):
        raising = row[row > 0].sort_values(ascending=False, kind="stable")
        assert [r.feature for r in listed] == list(raising.index[:3])
        assert all(r.contribution > 0 and r.direction == "raises" for r in listed)
    columns = risk_reason_columns(scoring_frame, bundle, 3, lang)
    for listed, (_, cells) in zip(reasons, columns.iterrows(), strict=True):
        if listed:
            assert list(cells[: len(listed)]) == [r.sentence for r in listed]
        else:
            assert cells["reason_1"] == NO_RISK_REASON[lang]


def test_a_row_whose_features_all_lower_the_risk_says_so():
    x = pd.DataFrame({"a": np.r_[np.zeros(50), np.ones(50)], "b": np.tile([0.0, 1.0], 50)})
    y = x["a"].to_numpy()
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "min_data_in_leaf": 5}, lgb.Dataset(x, y), 5
    )
    bundle = ModelBundle(kind="churn", booster=booster, feature_names=("a", "b"), categories={})
    safe = x.iloc[[0]]  # a = 0: every contribution lowers the risk
    assert (bundle.contributions(safe).drop(columns=BIAS_COLUMN).to_numpy() <= 0).all()
    assert risk_reasons(safe, bundle, 3, "en") == [[]]
    assert risk_reason_text(safe, bundle, 3, "en") == [NO_RISK_REASON["en"]]
    assert risk_reason_columns(safe, bundle, 3, "en")["reason_1"].tolist() == [NO_RISK_REASON["en"]]


def test_a_row_never_gives_the_same_sentence_twice():
    from scoring.reasons import unique_left

    same = "Fewer than two purchases: no buying rhythm yet"
    grid = np.array([[same, "b", same, same, "c", ""], ["a", "", "", "", "", ""]], dtype=object)
    assert unique_left(grid, 3).tolist() == [[same, "b", "c"], ["a", "", ""]]


def test_a_lists_cells_read_as_each_cell_reads_alone():
    cells = [
        '[{"feature": "recency_days", "value": 40.0, "contribution": 0.3}, '
        '{"feature": "not_a_feature", "value": "x", "contribution": 0.1}]',
        '[{"feature": "recency_days", "value": 40.0, "contribution": 0.2}]',
        "[]",
        "",
        None,
        ["A sentence an older scoring stored", "A sentence an older scoring stored"],
        '[{"feature": "recency_days", "value": null, "contribution": 0.1}, '
        '{"feature": "recency_days", "value": 7, "contribution": 0.05}]',
    ]
    for lang in ("en", "zh"):
        alone = [reason_sentences(c, lang, 2) for c in cells]
        assert cells_sentences(cells, lang, 2) == alone
        assert alone[3] == alone[4] == [] and alone[2] == [NO_RISK_REASON[lang]]
        assert alone[1][0] == alone[0][0] and "not_a_feature = x" in alone[0]
    for read in (lambda c: reason_sentences(c, "en"), lambda c: cells_sentences([c], "en")):
        with pytest.raises(ValueError, match="Extra data"):  # not two cells' worth of reasons
            read("[1, 2], [3]")


def test_raising_order_is_a_stable_sort_of_the_raising_contributions(monkeypatch):
    """Largest positive contributions first, ties in feature order, as a stable full sort."""
    monkeypatch.setattr("scoring.reasons.ORDER_BLOCK", 7)  # several blocks per matrix
    rng = np.random.default_rng(0)
    for _ in range(200):
        n, m = int(rng.integers(1, 40)), int(rng.integers(1, 15))
        values = rng.normal(size=(n, m)).round(int(rng.integers(0, 3)))  # many ties
        values[rng.random((n, m)) < 0.3] = 0.0
        k = int(rng.integers(1, m + 3))
        want = np.argsort(-np.where(values > 0, values, -np.inf), axis=1, kind="stable")[:, :k]
        order, keep = raising_order(values, k)
        assert (keep == (np.take_along_axis(values, want, axis=1) > 0)).all()
        assert (order[keep] == want[keep]).all()
