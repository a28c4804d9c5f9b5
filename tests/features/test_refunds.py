"""Refunds (a negative amount or ``kind: refund``) net into monetary features and value labels but
never count as purchases: recency, frequency, gaps, the churn label and the active population
ignore them, in both engines."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from features.config import FeatureConfig
from features.dataset import Dataset
from features.engines.dispatch import use_engine
from features.pipeline.build import build_features, feature_columns
from features.pipeline.rfm import trend_name

T = pd.Timestamp("2024-04-01")
CFG = FeatureConfig()
DAY = pd.Timedelta(days=1)
MONETARY = {
    "revenue_total",
    "avg_order_value",
    trend_name("revenue", CFG),
    "m_score",
    "rfm_score",
    *(f"revenue_{w}d" for w in CFG.windows_days),
}
"""The features a refund may change; every other one must stay as it was."""


def _features(ds: Dataset, sql: bool = False) -> pd.DataFrame:
    """The features at T, with the aggregates run as SQL by DuckDB when ``sql``."""
    with use_engine("duckdb" if sql else "pandas"):
        frame = build_features(ds, T, CFG, labels=False)
    return frame.set_index("customer_id")[feature_columns(frame)]


def _with_tx(ds: Dataset, rows: list[tuple[str, str, float, str | None]]) -> Dataset:
    tx = ds.tables["transactions"]
    extra = pd.DataFrame(
        {
            "customer_id": pd.Series([r[0] for r in rows], dtype="str"),
            "ts": pd.Series(pd.to_datetime([r[1] for r in rows]), dtype="datetime64[us]"),
            "amount": [r[2] for r in rows],
            "kind": pd.Series([r[3] for r in rows], dtype="str"),
        }
    )
    base = tx.assign(kind=pd.Series("purchase", index=tx.index, dtype="str"))
    tables = {**ds.tables, "transactions": pd.concat([base, extra], ignore_index=True)}
    return Dataset(tables=tables, as_of=ds.as_of)


@settings(max_examples=25, deadline=None)
@given(data=st.data(), days=st.integers(1, 500), amount=st.floats(0.5, 1000), by_kind=st.booleans())
def test_a_refund_changes_monetary_value_only(data, books, days, amount, by_kind):
    book = data.draw(books.books())
    _, contract, _, segment = book["customers"][0]
    book = {**book, "customers": [(-30, contract, None, segment), *book["customers"][1:]]}
    ts = T - pd.Timedelta(days=days)
    # the loader stores a kind-refund's amount as negative; the sign alone marks one too
    refund = (0, ts, -amount, "refund" if by_kind else "purchase")
    with_refund = {**book, "past": {**book["past"], "tx": [*book["past"]["tx"], refund]}}
    old = _features(books.build(book)).loc["c0"]
    new = _features(books.build(with_refund)).loc["c0"]
    unchanged = [c for c in old.index if c not in MONETARY]
    pd.testing.assert_series_equal(new[unchanged], old[unchanged])
    assert math.isclose(new["revenue_total"], old["revenue_total"] - amount, abs_tol=1e-9)
    for w in CFG.windows_days:
        inside = days <= w
        assert math.isclose(
            new[f"revenue_{w}d"], old[f"revenue_{w}d"] - amount * inside, abs_tol=1e-9
        )


def test_refunds_in_the_horizon_change_future_value_not_churn(ds):
    # B bought nothing in the horizon (churned); A bought 20 at T (not churned)
    base = build_features(ds, T, CFG).set_index("customer_id")
    refunded = _with_tx(ds, [("B", "2024-05-01", -15.0, "refund"), ("A", "2024-05-02", -5.0, None)])
    new = build_features(refunded, T, CFG).set_index("customer_id")
    assert new.loc["B", "churned"] == base.loc["B", "churned"] == 1.0
    assert new.loc["A", "churned"] == base.loc["A", "churned"] == 0.0
    assert base.loc["A", "future_value"] == 20.0 and new.loc["A", "future_value"] == 15.0
    assert new.loc["B", "future_value"] == 0.0  # net -15: floored, revenue is never negative


def test_a_refund_does_not_make_a_customer_active(ds):
    # C's last purchase is over 365 days before T: not active; a refund in the window changes nothing
    refunded = _with_tx(ds, [("C", "2024-03-01", -70.0, "refund")])
    assert "C" not in _features(refunded).index
    bought = _with_tx(ds, [("C", "2024-03-01", 70.0, "purchase")])
    assert "C" in _features(bought).index


def test_engines_agree_with_refunds_marked_by_sign_or_kind(ds):
    rows = [
        ("A", "2024-03-10", -20.0, "refund"),
        ("A", "2024-03-11", -5.0, "renewal"),  # a credit note: negative amount
        ("A", "2024-03-12", 0.0, "refund"),  # kind alone marks it
        ("B", "2023-10-01", -40.0, None),
    ]
    for refunded in (_with_tx(ds, rows), _with_tx(ds, rows[:2] + rows[3:])):
        a, b = _features(refunded), _features(refunded, sql=True)
        for col in a.columns:
            if a[col].dtype == "float64":
                np.testing.assert_allclose(a[col], b[col], rtol=1e-9, atol=1e-9, err_msg=col)
    plain = Dataset(
        tables={
            **ds.tables,
            "transactions": _with_tx(ds, rows).tables["transactions"].drop(columns="kind"),
        },
        as_of=ds.as_of,
    )  # no kind column: the sign alone
    a, b = _features(plain), _features(plain, sql=True)
    np.testing.assert_allclose(a["txn_count_total"], b["txn_count_total"])
    assert a.loc["A", "txn_count_total"] == _features(ds).loc["A", "txn_count_total"] + 1
