"""Batch scoring: every active customer, ranked, stored and written as two lists."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.errors import ChurnError
from core.phases import Phases
from features.dataset import Dataset
from features.pipeline.segments import RFM_SEGMENTS
from scoring.batch.job import (
    BatchError,
    parse_asof,
    prebuild,
    save_batch,
    score_customers,
    write_list_csv,
)
from scoring.champions import Champions
from scoring.config import ServingConfig
from scoring.frame import score_frame
from scoring.lists import AT_RISK, LIST_LIFECYCLES, WIN_BACK, list_columns, present
from scoring.reasons import NO_RISK_REASON, reason_sentences, risk_reasons
from scoring.store.predictions import AtRiskQuery, PredictionStore


@pytest.fixture(scope="module")
def batch(book: Dataset, champions: Champions):
    return score_customers(book, book.as_of, champions, ServingConfig())


def test_asof_must_be_a_date():
    assert parse_asof("2024-06-30") == pd.Timestamp("2024-06-30")
    for bad in ("2024-13-01", "30/06/2024", ""):
        with pytest.raises(BatchError, match="YYYY-MM-DD"):
            parse_asof(bad)


def test_every_active_customer_is_scored_and_ranked(batch, scoring_frame, champions):
    preds = batch.predictions
    assert len(preds) == len(scoring_frame) and preds["customer_id"].is_unique
    assert set(preds["customer_id"]) == set(scoring_frame["customer_id"])
    assert list(preds["rank"]) == list(range(1, len(preds) + 1))
    assert preds["expected_value_at_risk"].is_monotonic_decreasing
    assert (preds["asof"] == f"{batch.asof:%Y-%m-%d}").all()
    assert set(preds["churn_model_version"]) == {"3"} and set(preds["value_model_version"]) == {"7"}
    direct = score_frame(scoring_frame, champions, ServingConfig().risk_bands)
    direct.index = scoring_frame["customer_id"]
    mine = preds.set_index("customer_id").loc[direct.index]
    for col in ("churn_probability", "predicted_value", "expected_value_at_risk"):
        assert np.array_equal(mine[col].to_numpy(float), direct[col].to_numpy())


def test_stored_features_score_like_the_batch(batch, champions, tmp_path):
    cfg = ServingConfig(store_url=f"sqlite:///{tmp_path / 's.db'}")
    store = PredictionStore(cfg.resolved_store_url())
    run = save_batch(store, batch, cfg, source="test")
    assert run.n_customers == len(batch.predictions) and run.churn_model_version == "3"
    ids = list(batch.predictions["customer_id"].head(25))
    _, stored = store.features_for(ids)
    again = score_frame(stored, champions, cfg.risk_bands).set_index(stored["customer_id"])
    want = batch.predictions.set_index("customer_id").loc[again.index]
    assert np.array_equal(
        again["churn_probability"].to_numpy(), want["churn_probability"].to_numpy(float)
    )
    lists = batch.lists()
    for name, statuses in LIST_LIFECYCLES.items():
        page = store.at_risk(AtRiskQuery(lifecycle=statuses, limit=5))
        assert page.total == len(lists[name])
        shown = present(page.rows, page.horizon_days)
        assert shown.astype(str).equals(lists[name].head(5).astype(str))
    store.close()


def test_two_lists_split_the_scored_customers_by_lifecycle(batch):
    lists = batch.lists()
    at_risk, win_back = lists[AT_RISK], lists[WIN_BACK]
    assert len(at_risk) + len(win_back) == len(batch.predictions)
    assert set(at_risk["lifecycle_status"]) <= {"active", "lapsing"}
    assert set(win_back["lifecycle_status"]) == {"lapsed"}
    for rows in (at_risk, win_back):
        assert list(rows.columns) == list(list_columns(90))
        assert list(rows["rank"]) == list(range(1, len(rows) + 1))
        assert rows["recommended_action"].ne("").all() and rows["reason_1"].ne("").all()
    assert (win_back["recommended_action"] == "win-back offer").all()
    # whom to call first: the benefit of a contact; whom to win back: the value at risk
    assert at_risk["benefit"].is_monotonic_decreasing
    assert win_back["expected_value_at_risk_90d"].is_monotonic_decreasing


def test_csv_round_trip(batch, tmp_path):
    rows = batch.lists()[AT_RISK]
    path = write_list_csv(rows, tmp_path / "out" / "at_risk.csv")
    back = pd.read_csv(path, dtype={"customer_id": str})
    assert list(back.columns) == list(list_columns(90)) and len(back) == len(rows)
    assert list(back["customer_id"]) == list(rows["customer_id"])
    assert back["rank"].dtype.kind == "i"
    probability = back["churn_probability_90d"].dropna().astype(str)
    assert probability.str.split(".").str[-1].str.len().max() <= 4


def test_data_lacking_what_the_models_need_is_refused(book: Dataset, champions: Champions):
    no_interactions = Dataset(
        {k: v for k, v in book.tables.items() if k != "interactions"}, book.as_of
    )
    with pytest.raises(BatchError, match="int_"):
        score_customers(no_interactions, book.as_of, champions, ServingConfig())


def test_asof_after_the_data_is_refused(book: Dataset, champions: Champions):
    with pytest.raises(ChurnError, match="after the data"):
        score_customers(book, book.as_of + pd.Timedelta(days=1), champions, ServingConfig())


def test_a_list_that_fails_half_way_leaves_the_previous_file_whole(batch, tmp_path):
    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("disk full")

    rows = batch.lists()["at_risk"]
    path = write_list_csv(rows, tmp_path / "at_risk.csv")
    before = path.read_bytes()
    broken = rows.astype({"customer_id": object})
    broken.loc[broken.index[-1], "customer_id"] = Unprintable()
    with pytest.raises(RuntimeError, match="disk full"):
        write_list_csv(broken, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["at_risk.csv"]  # no temporary file left


def test_every_scored_customer_has_an_rfm_segment_and_the_store_filters_on_it(batch, tmp_path):
    preds = batch.predictions
    assert set(preds["rfm_segment"]) <= set(RFM_SEGMENTS) and preds["rfm_segment"].notna().all()
    assert preds["rfm_score"].between(1, 5).all()
    best = preds[preds["rfm_segment"] == "important_value"]
    worst = preds[preds["rfm_segment"] == "general_retain"]
    assert len(best) and len(worst)
    assert best["rfm_score"].mean() > worst["rfm_score"].mean()  # all high beats all low
    cfg = ServingConfig(store_url=f"sqlite:///{tmp_path / 's.db'}")
    store = PredictionStore(cfg.resolved_store_url())
    save_batch(store, batch, cfg, source="test")
    page = store.at_risk(
        AtRiskQuery(lifecycle=("active", "lapsing", "lapsed"), rfm_segment="important_value")
    )
    assert page.total == len(best) and set(page.rows["rfm_segment"]) == {"important_value"}
    store.close()


def test_stored_reasons_are_the_per_row_reasons_of_lightgbm_treeshap(batch, champions):
    """The batch's reasons (compiled TreeSHAP kernel, feature, value and contribution per
    reason) read, in either language, as the sentences the per-row path gives with LightGBM's own
    contributions."""
    rows = batch.features.set_index("customer_id").loc[batch.predictions["customer_id"]]
    k = ServingConfig().lists.reasons
    stored = batch.predictions["reasons"].tolist()
    for lang in ("en", "zh"):
        per_row = [
            [r.sentence for r in row] or [NO_RISK_REASON[lang]]
            for row in risk_reasons(rows, champions.churn, k, lang)
        ]
        assert [reason_sentences(text, lang) for text in stored] == per_row
    expected = risk_reasons(rows, champions.churn, k, "en")
    objects = [json.loads(text) for text in stored]
    assert [[o["feature"] for o in row] for row in objects] == [
        [r.feature for r in row] for row in expected
    ]
    assert all(
        abs(o["contribution"] - r.contribution) < 1e-3
        for row, want in zip(objects, expected, strict=True)
        for o, r in zip(row, want, strict=True)
    )
    assert any(row for row in objects)


def test_phases_time_every_step(book: Dataset, champions: Champions):
    phases = Phases()
    score_customers(book, book.as_of, champions, ServingConfig(), phases)
    assert list(phases.seconds) == ["features", "models", "lifecycle", "reasons", "ranking"]
    assert all(s >= 0 for s in phases.seconds.values())
    assert phases.table().splitlines()[-1].startswith("total")


def test_compiled_trees_score_the_batch_like_lightgbm(book: Dataset, champions: Champions, batch):
    compiled = score_customers(book, book.as_of, champions, ServingConfig(compiled_trees=True))
    for col in ("churn_probability", "predicted_value"):
        np.testing.assert_allclose(
            compiled.predictions[col].to_numpy(float), batch.predictions[col].to_numpy(float),
            rtol=1e-6,
        )  # fmt: skip


def test_lists_with_the_data_say_when_each_customer_was_contacted_and_can_skip_them(
    batch, book: Dataset
):
    from dataclasses import replace

    ids = batch.lists()[AT_RISK]["customer_id"].head(3).tolist()
    when = batch.asof - pd.Timedelta(days=3)
    contacts = pd.DataFrame({"customer_id": ids, "ts": [when] * 3, "treated": [1.0, 1.0, 0.0]})
    customers = book.tables["customers"].assign(phone="555")
    ds = replace(book, tables={**book.tables, "customers": customers, "contacts": contacts})
    lists = batch.lists(currency="CNY", ds=ds)
    at_risk = lists[AT_RISK].set_index("customer_id")
    assert at_risk.loc[ids, "days_since_contact"].tolist() == [3, 3, pd.NA]  # a control row
    assert (at_risk["phone"] == "555").all()
    assert at_risk["why_listed"].str.contains("¥").any()
    kept = batch.lists(ds=ds, skip_contacted_days=7)[AT_RISK]
    assert len(kept) == len(at_risk) - 2 and not set(ids[:2]) & set(kept["customer_id"])
    assert kept["rank"].tolist() == list(range(1, len(kept) + 1))


def test_features_built_before_the_champions_arrive_are_used_only_under_their_settings(
    book: Dataset, champions: Champions, batch
):
    cfg = ServingConfig()
    mine = champions.feature_config()
    same = prebuild(book, book.as_of, mine, cfg, Phases())
    phases = Phases()
    early = score_customers(book, book.as_of, champions, cfg, phases, prebuilt=same)
    assert early.features is same.features
    assert not {"features", "lifecycle"} & set(phases.seconds)
    pd.testing.assert_frame_equal(early.predictions, batch.predictions)
    other = mine.model_copy(update={"windows_days": (7, 14)})
    phases = Phases()
    late = score_customers(
        book,
        book.as_of,
        champions,
        cfg,
        phases,
        prebuilt=prebuild(book, book.as_of, other, cfg, Phases()),
    )
    assert {"features", "lifecycle"} <= set(phases.seconds)  # built again
    pd.testing.assert_frame_equal(late.predictions, batch.predictions)
