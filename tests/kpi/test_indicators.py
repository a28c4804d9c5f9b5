"""CRM indicators by hand on a small book: two managers, five customers, the month of May 2024."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.economics import ContactCost
from features.dataset import Dataset
from kpi.indicators import indicator_counts, indicator_rates

START, END = pd.Timestamp("2024-05-01"), pd.Timestamp("2024-06-01")
T = pd.Timestamp


def _ds(contacts: pd.DataFrame | None = None, kind: bool = True) -> Dataset:
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "account_manager_id": ["M1", "M1", "M1", "M2", "M2"],
            "signup_date": [T("2023-01-01")] * 4 + [T("2024-05-10")],
            "segment": ["smb", "smb", "enterprise", "smb", "smb"],
        }
    )
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c", "c", "d", "e", "b"],
            "ts": [T("2024-01-10"), T("2024-05-03"), T("2024-05-20"), T("2022-01-01"),
                   T("2024-05-05"), T("2024-05-07"), T("2024-05-12"), T("2024-05-25")],
            "amount": [10.0, 20.0, 30.0, 5.0, 40.0, 50.0, 60.0, -30.0],
            "kind": ["purchase", "upsell", "purchase", "purchase", "upsell", "purchase",
                     "new", "refund"],
        }
    )  # fmt: skip
    if not kind:
        tx = tx.drop(columns="kind")
    complaints = pd.DataFrame(
        {
            "customer_id": ["a", "a", "d", "b"],
            "opened_at": [T("2024-05-02"), T("2024-05-09"), T("2024-05-30"), T("2024-04-30")],
        }
    )
    tables = {"customers": customers, "transactions": tx, "complaints": complaints}
    if contacts is not None:
        tables["contacts"] = contacts
    return Dataset(tables=tables, as_of=T("2024-09-30"))


CONTACTS = pd.DataFrame(
    {
        "contact_id": ["k1", "k2", "k3", "k4", "k5", "k6"],
        "customer_id": ["a", "b", "c", "c", "d", "d"],
        "ts": [T("2024-05-02"), T("2024-05-03"), T("2024-05-04"), T("2024-05-05"),
               T("2024-05-06"), T("2024-06-02")],
        "treated": [1, 1, 1, 0, 1, 1],
        "outcome": ["accepted", "no_answer", "declined", None, "reached", "accepted"],
    }
)  # fmt: skip
BOOK = pd.DataFrame(
    {"customer_id": ["a", "b", "c", "d"], "account_manager_id": ["M1"] * 3 + ["M2"]}
)
INDEX = pd.Index(["M1", "M2"], name="account_manager_id")
COST = ContactCost(default=25.0, by_segment={"enterprise": 100.0})


def _rates(ds: Dataset) -> pd.DataFrame:
    return indicator_rates(indicator_counts(ds, START, END, BOOK, INDEX, COST))


def test_each_indicator_by_hand():
    got = _rates(_ds(CONTACTS))
    m1, m2 = got.loc["M1"], got.loc["M2"]
    # buyers in May: M1 a, b, c (b's refund is no purchase); a (Jan) and c (2022: too early)
    # bought before -> only a repeats within 365 days
    assert m1["repeat_purchase_rate"] == pytest.approx(1 / 3)
    assert m2["repeat_purchase_rate"] == 0.0  # d and e bought for the first time
    # contacts made in May: M1 k1 accepted, k2 no answer, k3 declined (k4 is control)
    assert m1["contact_response_rate"] == pytest.approx(2 / 3)
    assert m1["contact_conversion_rate"] == pytest.approx(1 / 2)
    assert m1["avg_contact_cost"] == pytest.approx((25 + 25 + 100) / 3)  # c is enterprise
    assert m2["contact_response_rate"] == 1.0 and m2["contact_conversion_rate"] == 0.0
    # upsells among active customers: a and c of M1's three; none of M2's one (e is not active)
    assert m1["upsell_rate"] == pytest.approx(2 / 3) and m2["upsell_rate"] == 0.0
    # complaints opened in May: a (twice) of M1's three; d of M2's one (b's is April)
    assert m1["complaint_rate"] == pytest.approx(1 / 3) and m2["complaint_rate"] == 1.0


def test_a_cost_column_is_used_when_present():
    got = _rates(_ds(CONTACTS.assign(cost=[3.0, 5.0, 7.0, 0.0, 9.0, 1.0])))
    assert got.loc["M1", "avg_contact_cost"] == pytest.approx(5.0)
    assert got.loc["M2", "avg_contact_cost"] == pytest.approx(9.0)


def test_missing_data_leaves_the_rates_missing_and_says_why():
    counts = indicator_counts(_ds(None, kind=False), START, END, BOOK, INDEX, COST)
    got = indicator_rates(counts)
    for col in ("contact_response_rate", "contact_conversion_rate", "avg_contact_cost"):
        assert got[col].isna().all()
    assert got["upsell_rate"].isna().all() and not got["repeat_purchase_rate"].isna().any()
    note = counts["notes"].iloc[0]
    assert "no contacts table" in note and "no transaction kind" in note


def test_rates_stay_within_zero_and_one():
    got = _rates(_ds(CONTACTS))
    rates = got[["repeat_purchase_rate", "contact_response_rate", "upsell_rate", "complaint_rate"]]
    assert ((rates >= 0) & (rates <= 1)).all().all()
    assert not np.isinf(got["avg_contact_cost"]).any()
