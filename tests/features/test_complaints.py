"""Complaint features of the hand-made fixture: a complaint resolved after T is open at T and its
resolution time and satisfaction are not known yet."""

from __future__ import annotations

import math

import pytest

from features.pipeline.build import build_features


@pytest.fixture
def frame(ds, cfg, cutoff):
    return build_features(ds, cutoff, cfg)


def test_counts_and_severity(frame, row):
    a = row(frame, "A")
    # opened 03-01 (sev 3), 01-10 (sev 1), 2023-12-01 (sev missing = 1); 04-01 (= T) excluded
    assert (a.complaint_count_30d, a.complaint_count_90d, a.complaint_count_180d) == (0, 2, 3)
    assert (a.complaint_severity_90d, a.complaint_severity_180d) == (4, 5)
    assert a.complaint_recency_days == 31


def test_resolved_after_cutoff_counts_as_open(frame, row):
    a = row(frame, "A")
    assert a.complaint_open_total == 1  # opened 03-01, resolved 04-05 (after T)
    assert (a.complaint_open_30d, a.complaint_open_90d) == (0, 1)
    e = row(frame, "E")
    assert (e.complaint_open_total, e.complaint_open_365d) == (1, 1)  # never resolved


def test_resolution_and_satisfaction_only_from_complaints_resolved_before_cutoff(frame, row):
    a = row(frame, "A")
    assert a.complaint_resolution_mean_days == pytest.approx(6.0)  # 2 and 10 days
    assert a.complaint_resolution_max_days == pytest.approx(10.0)
    assert a.complaint_satisfaction_mean == 4.0  # the 2 given after T is not known at T
    assert math.isnan(row(frame, "E").complaint_resolution_mean_days)


def test_repeat_complaints_in_one_category(frame, row):
    a = row(frame, "A")
    # billing 01-10 then billing 03-01 (a repeat); network 2023-12-01 is a first
    assert (a.complaint_repeat_30d, a.complaint_repeat_90d, a.complaint_repeat_365d) == (0, 1, 1)


def test_complaint_resolved_by_cutoff_is_closed(ds, cfg, row):
    # At 2024-04-06 the 03-01 complaint has been resolved (04-05) after 35 days, satisfaction 2.
    a = row(build_features(ds, "2024-04-06", cfg, labels=False), "A")
    assert a.complaint_open_total == 1  # now only the one opened on 04-01 is open
    assert a.complaint_resolution_max_days == pytest.approx(35.0)
    assert a.complaint_satisfaction_mean == pytest.approx(3.0)


@pytest.mark.parametrize(
    ("column", "removed"),
    [
        ("resolved_at", ["complaint_open_total", "complaint_resolution_mean_days",
                         "complaint_satisfaction_mean"]),
        ("severity", ["complaint_severity_90d"]),
        ("satisfaction", ["complaint_satisfaction_mean"]),
        ("category", ["complaint_repeat_90d"]),
    ],
)  # fmt: skip
def test_missing_column_removes_its_features(make_ds, cfg, cutoff, column, removed):
    frame = build_features(make_ds(drop={"complaints": [column]}), cutoff, cfg)
    assert not set(removed) & set(frame.columns)
    assert "complaint_count_90d" in frame.columns
    assert any(n.startswith(f"complaints.{column} absent") for n in frame.attrs["notes"])


def test_missing_table_removes_complaint_features(make_ds, cfg, cutoff):
    frame = build_features(make_ds(drop={"complaints": None}), cutoff, cfg)
    assert not [c for c in frame.columns if c.startswith("complaint")]
    assert "complaints table absent: complaint features removed" in frame.attrs["notes"]
