"""Leakage proof (property-based): whatever happens at or after the cutoff T cannot change any
feature of any customer, and an event before T changes exactly the features it should."""

from __future__ import annotations

import math

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from features.config import FeatureConfig
from features.pipeline.build import build_features, feature_columns

T = pd.Timestamp("2024-04-01")
CFG = FeatureConfig()
DAY = pd.Timedelta(days=1)


def features(ds) -> pd.DataFrame:
    frame = build_features(ds, T, CFG, labels=False)
    return frame[["customer_id", *feature_columns(frame)]]


@st.composite
def rewritten_after_cutoff(draw, book: dict, future) -> dict:
    """The same book with every event at or after T replaced, complaints opened before T given
    another resolution (and satisfaction answer) after T, and cancellations after T moved."""
    n = len(book["customers"])
    complaints = []
    for c, opened, delay, category, severity, satisfaction in book["past"]["cp"]:
        resolved = None if delay is None else opened + delay * DAY
        if resolved is None or resolved >= T:
            first = math.ceil((T - opened) / DAY)
            delay = draw(st.one_of(st.none(), st.integers(first, first + 60)))
            satisfaction = draw(st.one_of(st.none(), st.sampled_from([1.0, 2.0, 5.0])))
        complaints.append((c, opened, delay, category, severity, satisfaction))
    customers = []
    for signup, contract, cancel, segment in book["customers"]:
        if cancel is None or cancel >= 0:
            cancel = draw(st.one_of(st.none(), st.integers(0, 199)))
        customers.append((signup, contract, cancel, segment))
    return {
        "customers": customers,
        "past": {**book["past"], "cp": complaints},
        "future": draw(future(n)),
    }


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_events_at_or_after_cutoff_never_change_features(data, books):
    book = data.draw(books.books())
    other = data.draw(rewritten_after_cutoff(book, books.future))
    pd.testing.assert_frame_equal(features(books.build(book)), features(books.build(other)))


def _active_first_customer(book: dict) -> dict:
    """Customer c0 signed up 30 days before T and never cancelled: in the population."""
    _, contract, _, segment = book["customers"][0]
    return {**book, "customers": [(-30, contract, None, segment), *book["customers"][1:]]}


def _with_event(book: dict, table: str, event: tuple) -> dict:
    return {**book, "past": {**book["past"], table: [*book["past"][table], event]}}


def _c0(frame: pd.DataFrame) -> pd.Series:
    return frame.set_index("customer_id").loc["c0"]


before_cutoff = st.tuples(st.integers(1, 500), st.sampled_from([0, 6]))  # days, hours before T


@settings(max_examples=30, deadline=None)
@given(data=st.data(), when=before_cutoff, amount=st.floats(1, 1000))
def test_a_purchase_before_cutoff_changes_what_it_should(data, books, when, amount):
    book = _active_first_customer(data.draw(books.books()))
    ts = T - pd.Timedelta(days=when[0], hours=when[1])
    old = _c0(features(books.build(book)))
    new = _c0(features(books.build(_with_event(book, "tx", (0, ts, amount, "purchase")))))
    age = (T - ts) / DAY
    for w in CFG.windows_days:
        inside = age <= w
        assert new[f"txn_count_{w}d"] == old[f"txn_count_{w}d"] + inside
        assert math.isclose(new[f"revenue_{w}d"], old[f"revenue_{w}d"] + amount * inside)
    assert new["txn_count_total"] == old["txn_count_total"] + 1
    assert math.isclose(new["revenue_total"], old["revenue_total"] + amount)
    expected = age if math.isnan(old["recency_days"]) else min(age, old["recency_days"])
    assert new["recency_days"] == expected


@settings(max_examples=30, deadline=None)
@given(
    data=st.data(),
    when=before_cutoff,
    channel=st.sampled_from(["call", "visit"]),
    direction=st.sampled_from(["inbound", "outbound"]),
)
def test_a_contact_before_cutoff_changes_what_it_should(data, books, when, channel, direction):
    book = _active_first_customer(data.draw(books.books()))
    ts = T - pd.Timedelta(days=when[0], hours=when[1])
    event = (0, ts, channel, direction, "answered")
    old = _c0(features(books.build(book)))
    new = _c0(features(books.build(_with_event(book, "it", event))))
    age = (T - ts) / DAY
    for w in CFG.windows_days:
        assert new[f"int_count_{w}d"] == old[f"int_count_{w}d"] + (age <= w)
        name = f"int_{channel}_{direction}_{w}d"
        assert new[name] == old[name] + (age <= w)
    assert new["int_recency_days"] <= age


@settings(max_examples=30, deadline=None)
@given(data=st.data(), when=before_cutoff, resolved_after=st.one_of(st.none(), st.integers(0, 30)))
def test_an_open_complaint_before_cutoff_changes_what_it_should(data, books, when, resolved_after):
    book = _active_first_customer(data.draw(books.books()))
    ts = T - pd.Timedelta(days=when[0], hours=when[1])
    # resolved at or after T (or never): open at T
    delay = None if resolved_after is None else math.ceil((T - ts) / DAY) + resolved_after
    event = (0, ts, delay, "billing", 2.0, 5.0)
    old = _c0(features(books.build(book)))
    new = _c0(features(books.build(_with_event(book, "cp", event))))
    age = (T - ts) / DAY
    for w in CFG.windows_days:
        assert new[f"complaint_count_{w}d"] == old[f"complaint_count_{w}d"] + (age <= w)
        assert new[f"complaint_open_{w}d"] == old[f"complaint_open_{w}d"] + (age <= w)
        assert new[f"complaint_severity_{w}d"] == old[f"complaint_severity_{w}d"] + 2 * (age <= w)
    assert new["complaint_open_total"] == old["complaint_open_total"] + 1
    # its satisfaction answer comes with the resolution, after T: not a feature input
    pd.testing.assert_series_equal(
        new[["complaint_satisfaction_mean", "complaint_resolution_max_days"]],
        old[["complaint_satisfaction_mean", "complaint_resolution_max_days"]],
    )


def test_events_on_the_derived_as_of_day_are_not_features_at_it(tmp_path):
    from features.loaders import load_dataset

    (tmp_path / "customers.csv").write_text("customer_id,signup_date\nA,2024-01-01\n")
    (tmp_path / "transactions.csv").write_text(
        "customer_id,ts,amount\nA,2024-03-01,10\nA,2024-03-31T15:00:00,99\n"
    )
    ds = load_dataset(tmp_path)  # no dataset.yaml: as-of is the last event's day
    assert ds.as_of == pd.Timestamp("2024-03-31") and ds.reports["transactions"].rejected == 0
    row = build_features(ds, ds.as_of, CFG, labels=False).iloc[0]
    assert row["txn_count_total"] == 1 and row["revenue_total"] == 10
    assert row["recency_days"] == 30
