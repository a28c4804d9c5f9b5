"""Retention campaigns in the generated data: the contacts table, its control groups, the hidden
response types and a treatment that really changes who churns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.contract import CONTACTS
from features.loaders import load_dataset
from features.synthetic.config import CampaignConfig
from features.synthetic.generator import GeneratorConfig, generate, write_dataset

N, SEED = 8000, 21
DAY = pd.Timedelta(days=1)


@pytest.fixture(scope="module")
def data():
    return generate(N, SEED)


def _with_truth(data) -> pd.DataFrame:
    c = data.dataset.tables["contacts"]
    truth = data.truth["customers"].set_index("customer_id")
    churn = truth["churn_date"].reindex(c["customer_id"]).to_numpy()
    ts = c["ts"].to_numpy()
    churned = (churn > ts) & (churn <= ts + np.timedelta64(90, "D"))
    kind = truth["treatment_type"].reindex(c["customer_id"]).to_numpy()
    return c.assign(churned=churned, kind=kind)


def test_contacts_follow_the_contract_and_load_without_rejects(data, tmp_path):
    c = data.dataset.tables["contacts"]
    assert tuple(c.columns) == CONTACTS.column_names
    assert c["contact_id"].is_unique and c["ts"].is_monotonic_increasing
    write_dataset(data, tmp_path, "csv")
    ds = load_dataset(tmp_path)
    assert ds.reports["contacts"].rejected == 0 and ds.reports["contacts"].read == len(c)


def test_control_groups_are_about_a_fifth_and_have_no_outcome(data):
    c = data.dataset.tables["contacts"]
    per_campaign = c.groupby("campaign_id")["treated"].mean()
    assert len(per_campaign) == 24 and per_campaign.between(0.72, 0.88).all()
    assert c.loc[c["treated"] == 0, "outcome"].isna().all()
    assert c.loc[c["treated"] == 1, "outcome"].notna().all()
    months = c["ts"].dt.to_period("M").astype(str)
    assert (c["campaign_id"] == "RC-" + months).all()  # contacts fall in their campaign's month


def test_contacts_reach_customers_before_they_leave(data):
    truth = data.truth["customers"].set_index("customer_id")
    c = data.dataset.tables["contacts"]
    signup = truth["signup_date"].reindex(c["customer_id"]).to_numpy()
    churn = truth["churn_date"].reindex(c["customer_id"]).to_numpy()
    assert (c["ts"].to_numpy() > signup).all()
    assert not (c["ts"].to_numpy() >= churn).any()


def test_response_types_have_the_configured_shares_and_follow_traits(data):
    truth = data.truth["customers"]
    shares = truth["treatment_type"].value_counts(normalize=True)
    for kind, want in zip(
        ("persuadable", "sure_thing", "lost_cause", "sleeping_dog"),
        (0.3, 0.4, 0.25, 0.05),
        strict=True,
    ):
        assert abs(shares[kind] - want) < 0.01, kind
    engaged = truth.groupby("treatment_type")["engagement_propensity"].mean()
    assert engaged["sure_thing"] > 0.2 > -0.2 > engaged["lost_cause"]


def test_a_contact_changes_churn_by_type(data):
    rows = _with_truth(data)
    rows = rows[rows["ts"] <= data.dataset.as_of - 90 * DAY]
    rate = rows.groupby(["kind", "treated"])["churned"].mean().unstack()
    assert rate.loc["persuadable", 1.0] < 0.6 * rate.loc["persuadable", 0.0]
    assert rate.loc["sleeping_dog", 1.0] > rate.loc["sleeping_dog", 0.0]
    for kind in ("sure_thing", "lost_cause"):  # unchanged, up to noise
        assert abs(rate.loc[kind, 1.0] - rate.loc[kind, 0.0]) < 0.04, kind


def test_truth_treatment_effect_by_type(data):
    truth = data.truth["customers"]
    effect = truth.groupby("treatment_type")["treatment_effect"]
    assert effect.min()["persuadable"] >= 0 and effect.mean()["persuadable"] > 0.03
    assert effect.max()["sleeping_dog"] <= 0 and effect.mean()["sleeping_dog"] < -0.01
    assert (effect.apply(lambda s: s.abs().max())[["sure_thing", "lost_cause"]] == 0).all()
    gone = truth["churn_date"].notna()
    assert truth.loc[gone, "treatment_effect"].isna().all()
    assert truth.loc[~gone, "treatment_effect"].notna().mean() > 0.95


def test_campaigns_off_writes_no_contacts_and_keeps_the_truth():
    cfg = GeneratorConfig(campaigns=CampaignConfig(enabled=False))
    off, on = generate(2000, 3, cfg), generate(2000, 3)
    assert "contacts" not in off.dataset.tables and "contacts" in on.dataset.tables
    assert "treatment_effect" in off.truth["customers"]
    # the same types are drawn either way (their own random stream)
    pd.testing.assert_series_equal(
        off.truth["customers"]["treatment_type"], on.truth["customers"]["treatment_type"]
    )


def test_bad_contact_rows_are_rejected_with_a_reason(tmp_path):
    small = generate(300, 4, GeneratorConfig(campaigns=CampaignConfig(enabled=False)))
    write_dataset(small, tmp_path, "csv")
    cid = small.dataset.tables["customers"]["customer_id"].iloc[0]
    pd.DataFrame(
        {
            "contact_id": ["K1", "K2", "K3", "K1"],
            "customer_id": [cid, cid, "nobody", cid],
            "ts": ["2024-03-02", "2024-03-02", "2024-03-02", "2024-03-03"],
            "treated": [1, 2, 0, 0],
            "outcome": ["accepted", "maybe", "", ""],
        }
    ).to_csv(tmp_path / "contacts.csv", index=False)
    ds = load_dataset(tmp_path, max_bad_row_share=None)
    reasons = ds.rejects["contacts"].set_index("source_row")["reason"]
    assert len(ds.tables["contacts"]) == 1
    text = " | ".join(reasons)
    assert "treated" in text and "outcome" in text and "unknown customer_id" in text
    assert "duplicate contact_id" in text
