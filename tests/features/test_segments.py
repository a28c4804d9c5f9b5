"""RFM segments by hand: eight customers, one in each segment, against the book's medians."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.pipeline.segments import RFM_SEGMENTS, RfmSegmentConfig, frame_segments, rfm_segments


def test_each_customer_lands_in_the_segment_its_high_and_low_answers_name():
    # medians: recency 15 (below: R high), count 3 (above: F high), revenue 300 (above: M high)
    recency = np.array([5, 5, 40, 40, 5, 5, 40, 40], dtype=float)
    count = np.array([6, 1, 6, 1, 6, 1, 6, 1], dtype=float)
    revenue = np.array([900, 900, 900, 900, 10, 10, 10, 10], dtype=float)
    got = rfm_segments(recency, count, revenue)
    assert list(got) == list(RFM_SEGMENTS)


def test_never_bought_is_low_on_everything_and_cut_points_are_configuration():
    recency = np.array([1.0, 10.0, 20.0, np.nan])
    count = np.array([4.0, 3.0, 2.0, 0.0])
    revenue = np.array([400.0, 300.0, 200.0, np.nan])
    got = rfm_segments(recency, count, revenue)
    # medians: recency 10 (of the three known), count 2.5, revenue 300; at the cut is low
    assert list(got) == ["important_value", "general_keep", "general_retain", "general_retain"]
    # cuts: recency 18, count 0.6, revenue 220
    loose = RfmSegmentConfig(recency_quantile=0.9, frequency_quantile=0.1, monetary_quantile=0.1)
    got = rfm_segments(recency, count, revenue, loose)
    assert list(got) == ["important_value", "important_value", "general_keep", "general_retain"]


def test_a_frame_without_the_rfm_columns_gets_no_segment():
    frame = pd.DataFrame({"recency_days": [1.0, 2.0], "txn_count_365d": [1.0, 2.0]})
    assert list(frame_segments(frame, (30, 365))) == [None, None]
    frame["revenue_365d"] = [5.0, 1.0]
    assert list(frame_segments(frame, (30, 365))) == ["important_develop", "general_keep"]


def test_quantiles_outside_zero_and_one_are_refused():
    with pytest.raises(ValueError):
        RfmSegmentConfig(recency_quantile=1.0)
