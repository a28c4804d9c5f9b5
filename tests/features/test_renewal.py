"""Renewal features: the days to the next renewal on the contract's term schedule and the term,
the same whether the contract was renewed after the cutoff or not (no leakage)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from features.config import FeatureConfig
from features.dataset import Dataset
from features.pipeline.build import build_features, feature_columns
from features.pipeline.renewal import add_months

T = pd.Timestamp("2024-04-01")
PEERS = (
    ["2023-02-10", "2023-03-10", "2022-01-05", "2021-02-01"],
    ["2024-05-10", "2024-05-10", "2025-01-05", "2026-02-01"],
    ["monthly", "monthly", "annual", "annual"],
)
"""Other customers of each plan: the term of a plan is read from the whole book (spans of 15
and 14 months make the monthly term 1, spans of 36 and 60 months the annual term 12)."""


def _dataset(signup: list[str], end: list[str | None], plan: list[str]) -> Dataset:
    n = len(signup)
    ids = pd.Series([f"c{i}" for i in range(n)], dtype="str")
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "signup_date": pd.to_datetime(pd.Series(signup)),
            "plan": pd.Series(plan, dtype="str"),
            "contract_end_date": pd.to_datetime(pd.Series(end)),
        }
    )
    tx = pd.DataFrame(
        {
            "customer_id": ids,
            "ts": pd.to_datetime(pd.Series(signup)) + pd.Timedelta(hours=1),
            "amount": np.full(n, 10.0),
        }
    )
    return Dataset({"customers": customers, "transactions": tx}, as_of=pd.Timestamp("2025-06-30"))


def _by_id(ds: Dataset) -> pd.DataFrame:
    frame = build_features(ds, T, FeatureConfig(), labels=False)
    return frame.set_index("customer_id")[feature_columns(frame)]


def test_days_to_renewal_and_term_on_the_schedule():
    ds = _dataset(
        ["2023-01-31", "2022-03-15", "2023-06-01", "2023-05-10", *PEERS[0]],
        ["2024-06-30", "2025-03-15", None, "2025-05-10", *PEERS[1]],
        ["monthly", "annual", "payg", "annual", *PEERS[2]],
    )
    f = _by_id(ds)
    assert f.loc["c0", "contract_term_months"] == 1.0
    assert f.loc["c0", "days_to_renewal"] == 29.0  # 2024-04-30, the day clipped to the month's end
    assert f.loc["c1", "contract_term_months"] == 12.0
    assert f.loc["c1", "days_to_renewal"] == (pd.Timestamp("2025-03-15") - T).days
    assert f.loc["c3", "days_to_renewal"] == (pd.Timestamp("2024-05-10") - T).days
    assert math.isnan(f.loc["c2", "days_to_renewal"])
    assert math.isnan(f.loc["c2", "contract_term_months"])


@settings(max_examples=25, deadline=None)
@given(
    signup=st.integers(-1500, -1),
    annual=st.booleans(),
    renewals=st.lists(st.integers(0, 30), min_size=2, max_size=2),
)
def test_renewals_after_the_cutoff_change_no_feature(signup, annual, renewals):
    """Whether the contract ended at its first renewal after T or was renewed again and again,
    every feature at T is the same."""
    term = 12 if annual else 1
    start = (T + pd.Timedelta(days=signup)).to_datetime64().astype("datetime64[D]")
    months = (T.to_datetime64().astype("datetime64[M]") - start.astype("datetime64[M]")).astype(int)
    first = max(months // term * term, term)
    ends = [add_months(np.array([start]), np.array([first + (r + 1) * term]))[0] for r in renewals]
    frames = [
        _by_id(
            _dataset(
                [str(start), *PEERS[0]],
                [str(end), *PEERS[1]],
                ["annual" if annual else "monthly", *PEERS[2]],
            )
        )
        for end in ends
    ]
    pd.testing.assert_frame_equal(frames[0].loc[["c0"]], frames[1].loc[["c0"]])
    assert 0 <= frames[0].loc["c0", "days_to_renewal"] <= 366
