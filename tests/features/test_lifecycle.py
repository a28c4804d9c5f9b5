"""Lifecycle status at a cutoff: contracts by their end date, pay-as-you-go customers by their
own purchase rhythm; refunds are not purchases; nothing after the cutoff counts."""

from __future__ import annotations

import pandas as pd
import pytest

from features.pipeline.lifecycle import LifecycleConfig, lifecycle

T = pd.Timestamp("2024-06-30")


def _customers(*rows: tuple[str, str, str | None]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "signup_date": pd.to_datetime([r[1] for r in rows]),
            "contract_end_date": pd.to_datetime([r[2] for r in rows]),
        }
    )


def _purchases(customer: str, *days_before: int, amount: float = 10.0) -> list[dict]:
    return [
        {"customer_id": customer, "ts": T - pd.Timedelta(days=d), "amount": amount}
        for d in days_before
    ]


@pytest.fixture
def book() -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    customers = _customers(
        ("weekly_on_time", "2023-01-01", None),  # buys weekly, last 5 days ago
        ("weekly_overdue", "2023-01-01", None),  # buys weekly, last 35 days ago: lapsing
        ("weekly_gone", "2023-01-01", None),  # buys weekly, last 80 days ago: lapsed
        ("quarterly", "2023-01-01", None),  # buys every 90 days, last 80 days ago: on rhythm
        ("one_purchase", "2023-01-01", None),  # one purchase 20 days ago: active (no rhythm)
        ("never_bought", "2024-06-10", None),  # signed up 20 days ago: active
        ("renewal_due", "2022-01-01", "2024-08-15"),
        ("contract_safe", "2022-01-01", "2025-03-01"),
    )
    tx = pd.DataFrame(
        _purchases("weekly_on_time", 5, 12, 19, 26, 33)
        + _purchases("weekly_overdue", 35, 42, 49, 56)
        + _purchases("weekly_gone", 80, 87, 94, 101)
        + _purchases("quarterly", 80, 170, 260)
        + _purchases("one_purchase", 20)
        + _purchases("contract_safe", 400)
    )
    contractual = pd.Series(
        customers["contract_end_date"].notna().to_numpy(), customers["customer_id"]
    )
    return customers, tx, contractual


def test_statuses_follow_each_customers_own_rhythm_and_contract(book):
    customers, tx, contractual = book
    got = lifecycle(customers, tx, T, contractual, LifecycleConfig())["lifecycle_status"]
    assert got.to_dict() == {
        "weekly_on_time": "active",
        "weekly_overdue": "lapsing",
        "weekly_gone": "lapsed",
        "quarterly": "active",
        "one_purchase": "active",
        "never_bought": "active",
        "renewal_due": "lapsing",
        "contract_safe": "active",
    }


def test_dates_and_days_since_the_last_purchase(book):
    customers, tx, contractual = book
    got = lifecycle(customers, tx, T, contractual, LifecycleConfig())
    assert got.loc["weekly_gone", "last_purchase_date"] == T - pd.Timedelta(days=80)
    assert got.loc["weekly_gone", "days_since_last_purchase"] == 80
    assert pd.isna(got.loc["never_bought", "last_purchase_date"])
    assert got.loc["renewal_due", "contract_end_date"] == pd.Timestamp("2024-08-15")


def test_refunds_are_not_purchases(book):
    customers, tx, contractual = book
    refund = pd.DataFrame(_purchases("weekly_gone", 3, amount=-10.0))
    got = lifecycle(customers, pd.concat([tx, refund]), T, contractual, LifecycleConfig())
    assert got.loc["weekly_gone", "lifecycle_status"] == "lapsed"
    assert got.loc["weekly_gone", "days_since_last_purchase"] == 80
    kinded = refund.assign(amount=10.0, kind="refund")
    got = lifecycle(customers, pd.concat([tx, kinded]), T, contractual, LifecycleConfig())
    assert got.loc["weekly_gone", "lifecycle_status"] == "lapsed"


def test_events_on_or_after_the_cutoff_change_nothing(book):
    customers, tx, contractual = book
    before = lifecycle(customers, tx, T, contractual, LifecycleConfig())
    later = pd.DataFrame(
        [
            {"customer_id": c, "ts": T + pd.Timedelta(hours=h), "amount": 5.0}
            for c in customers["customer_id"]
            for h in (0, 30)
        ]
    )
    after = lifecycle(customers, pd.concat([tx, later]), T, contractual, LifecycleConfig())
    pd.testing.assert_frame_equal(before, after)


def test_thresholds_are_configuration(book):
    customers, tx, contractual = book
    strict = LifecycleConfig(lapsing_min_days=10, lapsed_gaps=1.0, lapsed_min_days=30)
    got = lifecycle(customers, tx, T, contractual, strict)["lifecycle_status"]
    assert got["weekly_overdue"] == "lapsed" and got["one_purchase"] == "lapsing"
    with pytest.raises(ValueError, match="lapsed thresholds"):
        LifecycleConfig(lapsing_min_days=60, lapsed_min_days=45)


def _rhythm_book(n: int = 60) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """A book large enough for BG/NBD: ``n`` steady buyers on different rhythms, plus two
    customers silent for the same 35 days, one who bought every 3 days, one every 30 days."""
    steady = [(f"s{i}", 4 + i % 20) for i in range(n)]  # gaps of 4 to 23 days, bought recently
    rows = [(c, "2023-01-01", None) for c, _ in steady] + [
        ("often_then_silent", "2023-01-01", None),
        ("monthly_then_silent", "2023-01-01", None),
    ]
    tx = [p for i, (c, gap) in enumerate(steady) for p in _purchases(c, *range(i % 3, 360, gap))]
    tx += _purchases("often_then_silent", *range(35, 200, 3))
    tx += _purchases("monthly_then_silent", *range(35, 360, 30))
    customers = _customers(*rows)
    return customers, pd.DataFrame(tx), pd.Series(False, index=customers["customer_id"])


def test_a_long_silence_from_a_frequent_buyer_is_lapsed_by_p_alive():
    customers, tx, contractual = _rhythm_book()
    got = lifecycle(customers, tx, T, contractual, LifecycleConfig())["lifecycle_status"]
    assert got["often_then_silent"] == "lapsed"  # 35 days: under the 45-day floor, ~12 gaps
    assert got["monthly_then_silent"] == "lapsing"  # the same 35 days is about one gap
    assert (got[[c for c in got.index if c.startswith("s")]] == "active").all()
    off = LifecycleConfig(lapsed_p_alive=0)
    without = lifecycle(customers, tx, T, contractual, off)["lifecycle_status"]
    assert without["often_then_silent"] == "lapsing"


def test_a_book_too_small_for_bg_nbd_falls_back_to_the_day_rules(book):
    customers, tx, contractual = book
    with_rule = lifecycle(customers, tx, T, contractual, LifecycleConfig())
    without = lifecycle(customers, tx, T, contractual, LifecycleConfig(lapsed_p_alive=0))
    pd.testing.assert_frame_equal(with_rule, without)
