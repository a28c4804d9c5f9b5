"""Trends over the last 12 months: which months, gaps named, and the small charts' geometry."""

from __future__ import annotations

import pandas as pd
from test_plans import _scored_store

from features.dataset import Dataset
from features.loaders import load_dataset
from kpi.config import KpiConfig
from kpi.trends import line_chart, monthly_trends, trend_months
from scoring.store.predictions import PredictionStore


def test_the_last_twelve_months_end_with_the_period():
    months = trend_months(pd.Timestamp("2024-03-15"))
    assert len(months) == 12 and months[0] == pd.Timestamp("2023-04-01")
    assert months[-1] == pd.Timestamp("2024-03-01")


def test_a_chart_breaks_at_a_gap_and_scales_to_its_values():
    labels = ["2024-01", "2024-02", "2024-03", "2024-04"]
    chart = line_chart([0.10, 0.20, None, 0.30], labels, share=True, width=134, height=124)
    assert len(chart.lines) == 2 and len(chart.dots) == 3  # the gap splits the line
    assert chart.lines[0].count(",") == 2 and chart.lines[1].count(",") == 1
    assert (chart.top, chart.bottom) == ("35%", "5%")  # the values' range, padded 5 points
    ys = [y for _, y, _ in chart.dots]
    assert ys[0] > ys[1] > ys[2]  # a higher share is drawn higher up
    assert chart.dots[0][2] == "2024-01: 10.0%" and chart.first == "2024-01"
    flat = line_chart([80.0, 80.0], labels[:2], share=False)
    assert flat.top == "85" and flat.bottom == "75"  # a flat line still has a scale


def test_monthly_trends_score_the_months_the_store_holds(book: Dataset, tmp_path):
    url = _scored_store(book, tmp_path)  # predictions stored at 2024-03-01 only
    store = PredictionStore(url)
    try:
        got = monthly_trends(store, pd.Timestamp("2024-03-01"), KpiConfig(), load_dataset)
    finally:
        store.close()
    assert got.months[-1] == "2024-03" and len(got.missing) == 11 and "2024-02" in got.missing
    managers = got.frame[got.frame["level"] == "manager"]
    assert set(managers["period"]) == {"2024-03"} and managers["score"].notna().any()
    mine = got.of(str(managers["account_manager_id"].iloc[0]))
    assert list(mine.index) == list(got.months) and mine["score"].notna().sum() == 1
