"""A small hand-made data set whose features and labels are computed by hand in the tests.

Cutoff T = 2024-04-01, horizon 90 days (T + H = 2024-06-30 = as-of). Boundaries used:
T - 30 = 2024-03-02, T - 90 = 2024-01-02, T - 120 = 2023-12-03, T - 180 = 2023-10-03,
T - 365 = 2023-04-02.

Customers:
  A  non-contractual, active; purchases, contacts and complaints below.
  B  non-contractual, last purchase 2023-09-01; a purchase exactly at T + H (outside the label).
  C  non-contractual, last purchase 2023-03-01 (over 365 days before T): churned before T.
  D  contractual, cancelled 2024-02-01 (before T): not in the population.
  E  contractual, no recent purchase, cancelled exactly at T + H: active, not churned.
  F  signed up exactly at T: not yet a customer.
  G  signed up 2024-03-15, no purchase: active (new), churned (no purchase in the horizon).
  H  contractual, cancelled exactly at T: active at T, churned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from hypothesis import strategies as st

from features.config import FeatureConfig
from features.dataset import Dataset

CUTOFF = pd.Timestamp("2024-04-01")
AS_OF = pd.Timestamp("2024-06-30")
NaT = None


def _dates(values) -> pd.Series:
    return pd.Series(pd.to_datetime(pd.Series(values, dtype="object")), dtype="datetime64[us]")


def _text(values) -> pd.Series:
    return pd.Series(values, dtype="str")


def customers_frame() -> pd.DataFrame:
    ids = ["A", "B", "C", "D", "E", "F", "G", "H"]
    return pd.DataFrame(
        {
            "customer_id": _text(ids),
            "signup_date": _dates(
                [
                    "2023-01-01",
                    "2023-01-01",
                    "2022-01-01",
                    "2022-06-01",
                    "2021-01-01",
                    "2024-04-01",
                    "2024-03-15",
                    "2022-01-01",
                ]  # fmt: skip
            ),
            "segment": _text(["smb", "consumer", "public", "smb", "enterprise", None, None, "smb"]),
            "region": _text(["north", "south", "east", "north", "south", "east", None, "west"]),
            "plan": _text(["payg", "payg", "payg", "annual", "annual", "payg", "payg", "monthly"]),
            "account_manager_id": _text(["M1", "M1", "M2", "M2", "M1", "M2", None, "M1"]),
            "contract_end_date": _dates(
                [NaT, NaT, NaT, "2024-12-31", "2025-01-01", NaT, NaT, "2024-09-30"]
            ),
            "cancelled_at": _dates(
                [NaT, NaT, NaT, "2024-02-01", "2024-06-30", NaT, NaT, "2024-04-01"]
            ),
        }
    )


def transactions_frame() -> pd.DataFrame:
    rows = [
        ("A", "2023-06-01", 100.0),
        ("A", "2024-01-02", 50.0),  # exactly T - 90: inside the 90-day window
        ("A", "2024-03-02", 30.0),  # exactly T - 30: inside the 30-day window
        ("A", "2024-04-01", 20.0),  # exactly T: a label input, not a feature input
        ("B", "2023-09-01", 40.0),
        ("B", "2024-06-30", 10.0),  # exactly T + H: outside the label horizon
        ("C", "2023-03-01", 70.0),
        ("D", "2023-11-01", 15.0),
        ("E", "2022-05-01", 500.0),
    ]
    cust, ts, amount = zip(*rows, strict=True)
    return pd.DataFrame({"customer_id": _text(cust), "ts": _dates(ts), "amount": amount})


def interactions_frame() -> pd.DataFrame:
    rows = [
        ("A", "2024-03-20", "call", "inbound", "answered"),
        ("A", "2024-03-25", "campaign", "outbound", "responded"),
        ("A", "2024-02-01", "call", "outbound", "no_answer"),
        ("A", "2024-04-01", "email", "inbound", "received"),  # exactly T: not a feature input
        ("A", "2023-01-15", "campaign", "outbound", "no_response"),  # older than 365 days
        ("E", "2024-03-31", "visit", "outbound", "completed"),
    ]
    cust, ts, channel, direction, outcome = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "customer_id": _text(cust),
            "ts": _dates(ts),
            "channel": _text(channel),
            "direction": _text(direction),
            "duration_s": np.full(len(rows), 60.0),
            "outcome": _text(outcome),
        }
    )


def complaints_frame() -> pd.DataFrame:
    rows = [
        ("A", "2024-03-01", "2024-04-05", "billing", 3.0, 2.0),  # resolved after T: open at T
        ("A", "2024-01-10", "2024-01-12", "billing", 1.0, 4.0),
        ("A", "2023-12-01", "2023-12-11", "network", np.nan, np.nan),
        ("A", "2024-04-01", None, "billing", 2.0, np.nan),  # opened exactly at T
        ("E", "2023-05-01", None, "service", 2.0, np.nan),  # still open after a year
    ]
    cust, opened, resolved, category, severity, satisfaction = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "customer_id": _text(cust),
            "opened_at": _dates(opened),
            "resolved_at": _dates(resolved),
            "category": _text(category),
            "severity": np.array(severity, dtype=float),
            "satisfaction": np.array(satisfaction, dtype=float),
        }
    )


def make_dataset(drop: dict[str, list[str] | None] | None = None) -> Dataset:
    """The fixture data set; ``drop`` removes columns (list) or whole tables (None)."""
    tables = {
        "customers": customers_frame(),
        "transactions": transactions_frame(),
        "interactions": interactions_frame(),
        "complaints": complaints_frame(),
    }
    for table, cols in (drop or {}).items():
        if cols is None:
            tables.pop(table)
        else:
            tables[table] = tables[table].drop(columns=cols)
    return Dataset(tables=tables, as_of=AS_OF)


def _row(frame: pd.DataFrame, customer: str) -> pd.Series:
    hit = frame[frame["customer_id"] == customer]
    assert len(hit) == 1, f"{customer}: {len(hit)} rows"
    return hit.iloc[0]


@pytest.fixture
def ds() -> Dataset:
    return make_dataset()


@pytest.fixture
def make_ds():
    """The fixture factory: ``make_ds(drop={"complaints": None, "interactions": ["outcome"]})``."""
    return make_dataset


@pytest.fixture
def cutoff() -> pd.Timestamp:
    return CUTOFF


@pytest.fixture
def cfg() -> FeatureConfig:
    return FeatureConfig()


@pytest.fixture
def row():
    """``row(frame, customer)``: the single row of a customer in a feature frame."""
    return _row


# --- random data sets for property-based tests (hypothesis) ---------------------------------

RANDOM_AS_OF = CUTOFF + pd.Timedelta(days=200)
OUTCOMES = ("answered", "no_answer", "responded", "no_response", None)


def _when(days: int, hours: int) -> pd.Timestamp:
    return CUTOFF + pd.Timedelta(days=days, hours=hours)


def _moment(lo: int, hi: int):
    """A time ``lo <= days < hi`` from T, on the hour 0 or 6 (so often exactly on a boundary)."""
    return st.tuples(st.integers(lo, hi - 1), st.sampled_from([0, 6])).map(lambda x: _when(*x))


def _events(n: int, lo: int, hi: int):
    cust = st.integers(0, n - 1)
    # refunds: a negative amount, or kind refund (its amount is negated as the loader does)
    tx = st.lists(
        st.tuples(
            cust,
            _moment(lo, hi),
            st.floats(-200, 500, allow_nan=False),
            st.sampled_from(["purchase", "renewal", "refund", None]),
        ),
        max_size=12,
    )
    it = st.lists(
        st.tuples(
            cust,
            _moment(lo, hi),
            st.sampled_from(["call", "email", "campaign", "app_login"]),
            st.sampled_from(["inbound", "outbound", None]),
            st.sampled_from(OUTCOMES),
        ),
        max_size=12,
    )
    cp = st.lists(
        st.tuples(
            cust,
            _moment(lo, hi),
            st.one_of(st.none(), st.integers(0, 60)),  # days to resolution, None = open
            st.sampled_from(["billing", "network", None]),
            st.one_of(st.none(), st.sampled_from([1.0, 2.0, 3.0])),
            st.one_of(st.none(), st.sampled_from([1.0, 3.0, 5.0])),
        ),
        max_size=6,
    )
    return st.fixed_dictionaries({"tx": tx, "it": it, "cp": cp})


@st.composite
def random_books(draw) -> dict:
    """Customers plus past events (before T) and future events (at or after T), kept apart so a
    test can swap the future for another one."""
    n = draw(st.integers(1, 5))
    customers = draw(
        st.lists(
            st.tuples(
                st.integers(-900, 20),  # signup, days from T
                st.booleans(),  # has a contract
                st.one_of(st.none(), st.integers(-300, 199)),  # cancelled, days from T
                st.sampled_from(["smb", "consumer", None]),
            ),
            min_size=n,
            max_size=n,
        )
    )
    return {
        "customers": customers,
        "past": draw(_events(n, -500, 0)),
        "future": draw(_events(n, 0, 200)),
    }


def book_dataset(book: dict) -> Dataset:
    """A Dataset from a random book; events of unknown time order, as a loader may give them."""
    ids = [f"c{i}" for i in range(len(book["customers"]))]
    sign, contract, cancel, segment = zip(*book["customers"], strict=True)
    customers = pd.DataFrame(
        {
            "customer_id": _text(ids),
            "signup_date": _dates([_when(d, 0) for d in sign]),
            "segment": _text(list(segment)),
            "contract_end_date": _dates([_when(400, 0) if c else None for c in contract]),
            "cancelled_at": _dates([None if c is None else _when(c, 0) for c in cancel]),
        }
    )
    ev = {k: book["past"][k] + book["future"][k] for k in ("tx", "it", "cp")}
    tx = pd.DataFrame(ev["tx"], columns=["c", "ts", "amount", "kind"], dtype="object")
    amount = pd.Series(list(tx["amount"]), dtype="float64")
    amount = amount.where(tx["kind"].to_numpy() != "refund", -amount.abs())
    it = pd.DataFrame(ev["it"], columns=["c", "ts", "channel", "direction", "outcome"])
    cp = pd.DataFrame(
        ev["cp"], columns=["c", "opened_at", "delay", "category", "severity", "satisfaction"]
    )
    resolved = [
        None if pd.isna(d) else o + pd.Timedelta(days=d)
        for o, d in zip(cp["opened_at"], cp["delay"], strict=True)
    ]
    tables = {
        "customers": customers,
        "transactions": pd.DataFrame(
            {
                "customer_id": _text([ids[c] for c in tx["c"]]),
                "ts": _dates(list(tx["ts"])),
                "amount": amount,
                "kind": _text(list(tx["kind"])),
            }
        ),
        "interactions": pd.DataFrame(
            {
                "customer_id": _text([ids[c] for c in it["c"]]),
                "ts": _dates(list(it["ts"])),
                "channel": _text(list(it["channel"])),
                "direction": _text(list(it["direction"])),
                "outcome": _text(list(it["outcome"])),
            }
        ),
        "complaints": pd.DataFrame(
            {
                "customer_id": _text([ids[c] for c in cp["c"]]),
                "opened_at": _dates(list(cp["opened_at"])),
                "resolved_at": _dates(resolved),
                "category": _text(list(cp["category"])),
                "severity": pd.Series(list(cp["severity"]), dtype="float64"),
                "satisfaction": pd.Series(list(cp["satisfaction"]), dtype="float64"),
            }
        ),
    }
    return Dataset(tables=tables, as_of=RANDOM_AS_OF)


@dataclass(frozen=True)
class Books:
    """Hypothesis strategies of random books and the builder of their data sets."""

    books = staticmethod(random_books)
    future = staticmethod(lambda n: _events(n, 0, 200))  # events at or after T
    build = staticmethod(book_dataset)


@pytest.fixture(scope="session")
def books() -> Books:
    return Books()
