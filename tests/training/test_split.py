"""Time splits: later cutoffs test, earlier ones train, and no label window crosses a split."""

from __future__ import annotations

import pandas as pd
import pytest

from training.split import SplitError, plan_cutoffs, split_frame

MONTHS = list(pd.date_range("2023-01-01", periods=16, freq="MS"))


def test_plan_purges_cutoffs_whose_horizon_overlaps_a_later_split():
    plan = plan_cutoffs(MONTHS, horizon_days=90, n_train=6)
    h = pd.Timedelta(days=90)
    assert plan.test == MONTHS[-1]
    assert plan.calibration + h <= plan.test
    assert all(t + h <= plan.calibration for t in plan.train)
    assert len(plan.train) == 6 and list(plan.train) == sorted(plan.train)
    # the latest possible choices: nothing usable was left out between the splits
    assert plan.calibration + pd.offsets.MonthBegin(1) + h > plan.test
    assert plan.train[-1] + pd.offsets.MonthBegin(1) + h > plan.calibration


def test_plan_refuses_a_history_too_short_to_split():
    with pytest.raises(SplitError, match="calibration"):
        plan_cutoffs(MONTHS[:3], horizon_days=90, n_train=3)
    with pytest.raises(SplitError, match="training"):
        plan_cutoffs(MONTHS[:5], horizon_days=90, n_train=3)
    with pytest.raises(SplitError, match="no labelled cutoff"):
        plan_cutoffs([], horizon_days=90, n_train=3)


def test_split_frame_keeps_whole_cutoffs(prepared):
    from training.split import split_frame as split

    parts = split(prepared.frame, prepared.plan)
    assert set(parts.test["cutoff"]) == {prepared.plan.test}
    assert set(parts.calibration["cutoff"]) == {prepared.plan.calibration}
    assert set(parts.train["cutoff"]) == set(prepared.plan.train)
    assert parts.train["cutoff"].max() < parts.calibration["cutoff"].min()
    # customers recur across cutoffs, but only as earlier snapshots in training
    common = set(parts.train["customer_id"]) & set(parts.test["customer_id"])
    assert common
    # the frame also holds the earlier validation folds' cutoffs (rolling-origin selection)
    assert set(prepared.frame["cutoff"]) == set(prepared.plan.all)


def test_split_frame_refuses_an_empty_cutoff(prepared):
    frame = prepared.frame[prepared.frame["cutoff"] != prepared.plan.test]
    with pytest.raises(SplitError, match="test"):
        split_frame(frame, prepared.plan)
