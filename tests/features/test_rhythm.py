"""Purchase-rhythm and point-in-time BG/NBD features: equal to the reference BG/NBD fit, never
moved by events at or after the cutoff, and off by configuration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.config import FeatureConfig
from features.dataset import Dataset
from features.pipeline.btyd import (
    BgNbd,
    bgnbd_loglik,
    fit_bgnbd,
    fit_bgnbd_quick,
    p_alive,
    simulate_bgnbd,
)
from features.pipeline.build import build_features, feature_columns
from features.pipeline.rhythm import BGNBD_COLUMNS

T = pd.Timestamp("2024-01-01")
START = pd.Timestamp("2023-01-01")
ON = FeatureConfig.model_validate({"bgnbd": {"enabled": True}})
RHYTHM = ("buyer_age_days", "gap_max_days", "silence_vs_max_gap", "purchases_per_30d")


def _book(seed: int, n: int = 400) -> Dataset:
    """A BG/NBD-like purchase log: first purchases spread over 2023, one purchase per day at
    most, every customer's next purchases drawn from a rate and a dropout chance."""
    rng = np.random.default_rng(seed)
    first = rng.integers(0, 300, n)
    rate = rng.gamma(1.0, 1 / 20, n)
    drop = rng.beta(1.0, 4.0, n)
    rows = []
    for c in range(n):
        day = first[c]
        rows.append((c, day))
        while rng.random() > drop[c] and day < 800:
            day += 1 + int(rng.exponential(1 / rate[c]))
            rows.append((c, day))
    cust, day = np.array(rows).T
    ids = pd.Series([f"c{i:04d}" for i in range(n)], dtype="str")
    customers = pd.DataFrame(
        {"customer_id": ids, "signup_date": START + pd.to_timedelta(first, unit="D")}
    )
    tx = pd.DataFrame(
        {
            "customer_id": ids.to_numpy()[cust].astype(str),
            "ts": START + pd.to_timedelta(day, unit="D") + pd.Timedelta(hours=10),
            "amount": rng.gamma(2.0, 20.0, len(cust)),
        }
    ).astype({"customer_id": "str"})
    return Dataset({"customers": customers, "transactions": tx}, as_of=pd.Timestamp("2025-06-30"))


def _features(ds: Dataset, cfg: FeatureConfig = ON) -> pd.DataFrame:
    frame = build_features(ds, T, cfg, labels=False)
    return frame.set_index("customer_id")[feature_columns(frame)]


@pytest.fixture(scope="module")
def book() -> Dataset:
    return _book(3)


def test_bgnbd_features_equal_the_reference_fit(book):
    f = _features(book)
    tx = book.tables["transactions"]
    by = tx[tx["ts"] < T].groupby("customer_id")["ts"]
    week = pd.Timedelta(days=7)
    x = by.size().to_numpy(np.float64) - 1
    tx_weeks = ((by.max() - by.min()) / week).to_numpy()
    t = ((T - by.min()) / week).to_numpy()
    reference = p_alive(fit_bgnbd(x, tx_weeks, t), x, tx_weeks, t)
    buyers = by.size().index
    assert (x > 0).sum() > 50
    np.testing.assert_allclose(f.loc[buyers, "bgnbd_p_alive"].to_numpy(), reference, atol=1e-4)
    assert f.drop(buyers)[list(BGNBD_COLUMNS)].isna().all().all()
    expected = f.loc[buyers, "bgnbd_expected_purchases"].to_numpy()
    silent = f.loc[buyers, "bgnbd_p_no_purchase"].to_numpy()
    assert np.all(expected >= 0) and np.all((silent > 0) & (silent <= 1))
    # a buyer silent for longer than usual is less likely alive than a recent one of equal history
    assert np.corrcoef(f["bgnbd_p_alive"].fillna(1.0), -f["recency_days"].fillna(999))[0, 1] > 0


def test_rhythm_features_of_one_customer(book):
    f = _features(book)
    tx = book.tables["transactions"]
    cid = tx.loc[tx["ts"] < T, "customer_id"].value_counts().index[0]
    mine = tx.loc[(tx["customer_id"] == cid) & (tx["ts"] < T), "ts"]
    days = np.sort(((mine - T) / pd.Timedelta(days=1)).to_numpy())
    row = f.loc[cid]
    assert row["buyer_age_days"] == pytest.approx(-days[0])
    assert row["gap_max_days"] == pytest.approx(np.diff(days).max())
    assert row["silence_vs_max_gap"] == pytest.approx(row["recency_days"] / row["gap_max_days"])
    per_30 = 30 * len(days) / row["buyer_age_days"]
    assert row["purchases_per_30d"] == pytest.approx(per_30)


def test_events_at_or_after_the_cutoff_change_no_feature(book):
    """Purchases at or after T (for buyers and for customers who never bought) move nothing,
    though the BG/NBD fit at T reads every buyer."""
    before = _features(book)
    tx = book.tables["transactions"]
    rng = np.random.default_rng(0)
    extra = pd.DataFrame(
        {
            "customer_id": rng.choice(book.tables["customers"]["customer_id"].to_numpy(), 500),
            "ts": T + pd.to_timedelta(rng.integers(0, 400, 500), unit="D"),
            "amount": rng.gamma(2.0, 20.0, 500),
        }
    ).astype({"customer_id": "str"})
    later = pd.concat([tx[tx["ts"] < T], extra], ignore_index=True)
    after = _features(Dataset({**book.tables, "transactions": later}, as_of=book.as_of))
    assert before[list(BGNBD_COLUMNS)].notna().any().all()
    pd.testing.assert_frame_equal(before, after)


def test_an_earlier_purchase_moves_the_fit(book):
    tx = book.tables["transactions"]
    one = tx[tx["ts"] < T].iloc[[0]].assign(ts=T - pd.Timedelta(days=3))
    changed = Dataset({**book.tables, "transactions": pd.concat([tx, one])}, as_of=book.as_of)
    a, b = _features(book)["bgnbd_p_alive"], _features(changed)["bgnbd_p_alive"]
    assert not np.allclose(a.fillna(-1), b.fillna(-1))


def test_bgnbd_features_are_off_by_default(book):
    f = _features(book, FeatureConfig())
    assert not set(BGNBD_COLUMNS) & set(f.columns)
    assert set(RHYTHM) <= set(f.columns)


def test_small_book_gives_missing_bgnbd_not_an_error():
    f = _features(_book(1, n=20))
    assert f[list(BGNBD_COLUMNS)].isna().all().all()
    assert f["buyer_age_days"].notna().all()


def test_quick_fit_reaches_the_full_fit():
    rng = np.random.default_rng(5)
    truth = BgNbd(r=0.3, alpha=5.0, a=0.8, b=2.5)
    t = rng.uniform(5, 60, 3000).round()
    x, tx = simulate_bgnbd(truth, t, rng)
    full, quick = fit_bgnbd(x, tx, t), fit_bgnbd_quick(x, tx, t)
    ll_full = bgnbd_loglik(full, x, tx, t).sum()
    assert bgnbd_loglik(quick, x, tx, t).sum() >= ll_full - 1e-3
    assert quick.r == pytest.approx(truth.r, rel=0.25)
