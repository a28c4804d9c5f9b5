"""Rendering the analysts' report: one self-contained HTML document, escaped, with every section."""

from __future__ import annotations

from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from reports.explain_global import png_bytes
from reports.html import render_report, write_report
from reports.inputs import ReportInputs


def _png() -> bytes:
    fig = Figure(figsize=(2, 1.5))
    fig.subplots().plot([0, 1], [1, 0])
    return png_bytes(fig)


def _inputs(**overrides) -> ReportInputs:
    at_risk = pd.DataFrame(
        {
            "rank": [1, 2],
            "customer_id": ["<script>alert(1)</script>", "C2"],
            "account_manager_id": ["AM1", None],
            "segment": ["smb", "consumer"],
            "churn_probability": [0.91234, 0.5],
            "predicted_value": [12345.6, 10.0],
            "expected_value_at_risk": [11263.3, 5.0],
            "risk_band": ["high", "medium"],
            "reasons": [["Last purchase 90 days ago", "近30天消费0次"], ["Plan: annual"]],
        }
    ).astype({"churn_probability": object})  # the store hands numbers back as objects
    base = {
        "asof": "2024-05-01",
        "models": {"churn-model": "v3", "value-model": "v2"},
        "label_definition": "no purchase in [T, T+90d)",
        "at_risk": at_risk,
        "total_customers": 1234,
        "driver_images": {"Mean |SHAP value| per feature": _png()},
        "importance": pd.DataFrame({"mean_abs_shap": [0.5], "mean_shap": [0.1]}, index=["x"]),
        "explained": 1000,
    }
    return ReportInputs(**{**base, **overrides})


def test_report_escapes_and_embeds_everything(tmp_path):
    metrics = pd.DataFrame(
        {"roc_auc": [0.9, 0.8], "top_decile_lift": [3.5, 2.4]}, index=["lightgbm", "rfm_score"]
    )
    cards = pd.DataFrame(
        {
            "level": ["manager", "team"],
            "account_manager_id": ["AM1", None],
            "team": ["retail", "retail"],
            "churn_rate": [0.1234, 0.1234],
            "score": [81.5, 81.5],
            "grade": ["Good", "Good"],
            "rank": [1, None],
        }
    )
    inputs = _inputs(
        metrics=metrics, quality_images={"Calibration": _png()}, scorecard=cards, period="2024-05"
    )
    text = write_report(inputs, tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert "<script" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert text.count("data:image/png;base64,") == 2
    assert "0.912" in text and "12,346" in text and "12.3%" in text
    assert "近30天消费0次" in text and '<tr class="model">' in text
    assert "KPI scorecards for 2024-05" in text and "Teams" in text
    assert "http://" not in text and "https://" not in text


def test_missing_sections_say_so_and_notes_are_shown():
    text = render_report(_inputs(notes=("no --data given: the KPI scorecards are left out",)))
    assert text.count("Not available (see the notes above).") == 2
    assert "no --data given" in text


class _Page(HTMLParser):
    """The elements of a page and the text of each table cell, as a browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.cells: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "td":
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.cells.append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_markup_in_ids_and_segments_reaches_the_page_as_text(lang):
    payload = "<script>alert(1)</script>"
    at_risk = _inputs().at_risk.assign(
        customer_id=[payload, "C2"],
        account_manager_id=["AM1", f"AM{payload}"],
        segment=[f'{payload}"><img src=x onerror=alert(2)>', "smb"],
        risk_band=['high" onmouseover="alert(3)', "medium"],
    )
    cards = pd.DataFrame({"level": ["manager"], "account_manager_id": [payload], "rank": [1]})
    inputs = _inputs(at_risk=at_risk, scorecard=cards, notes=(payload,), lang=lang)
    page = _Page()
    page.feed(render_report(inputs))
    assert [t for t, _ in page.tags if t == "script"] == []
    assert [a for t, a in page.tags if t == "img" and "onerror" in a] == []
    assert [a for t, a in page.tags if set(a) - {"class", "id", "lang", "src", "alt", "charset",
                                                  "name", "content", "rel", "href"}] == []  # fmt: skip
    for text in (payload, f"AM{payload}", f'{payload}"><img src=x onerror=alert(2)>'):
        assert text in page.cells  # shown to the reader as it is, character for character
    assert 'high" onmouseover="alert(3)' in page.cells


@pytest.mark.parametrize(
    ("lang", "title", "share"),
    [("en", "Important value", "75.0%"), ("zh", "重要价值客户", "75.0%")],
)
def test_the_rfm_section_shows_each_segments_size_value_and_risk(lang, title, share):
    segments = pd.DataFrame(
        {
            "rfm_segment": ["important_value", "general_retain"],
            "customers": [3, 1],
            "share_of_customers": [0.75, 0.25],
            "value_if_retained": [9000.0, 100.0],
            "churn_rate": [0.2, 0.8],
            "expected_value_at_risk": [1800.0, 80.0],
            "share_of_value_at_risk": [0.957, 0.043],
        }
    )
    page = _Page()
    page.feed(render_report(_inputs(rfm_segments=segments, lang=lang)))
    assert title in page.cells and share in page.cells and "1,800" in page.cells
    assert "80.0%" in page.cells  # general_retain's churn rate
    missing = render_report(_inputs(lang=lang))
    assert 'id="rfm"' in missing and ("no RFM segments" in missing or "没有 RFM" in missing)


def test_the_kpi_section_shows_the_crm_indicators_beside_the_score():
    cards = pd.DataFrame(
        {
            "level": ["manager", "team"],
            "account_manager_id": ["AM1", None],
            "team": ["retail", "retail"],
            "score": [81.5, 81.5],
            "rank": [1, None],
            "repeat_purchase_rate": [0.25, 0.5],
            "contact_response_rate": [np.nan, np.nan],
            "avg_contact_cost": [31.256, np.nan],
            "new_customers": [3, 7],
        }
    )
    for lang, head in (("en", "CRM indicators"), ("zh", "CRM 指标")):
        page = _Page()
        text = render_report(_inputs(scorecard=cards, period="2024-05", lang=lang))
        page.feed(text)
        assert head in text and "25.0%" in page.cells and "50.0%" in page.cells
        assert "31.26" in page.cells and "7" in page.cells


def test_the_assessment_rules_and_the_trends_are_shown():
    from kpi.trends import Trends

    cards = pd.DataFrame(
        {
            "level": ["manager", "manager", "manager", "team"],
            "account_manager_id": ["AM1", "AM2", "AM3", None],
            "team": ["retail"] * 4,
            "score": [81.5, 40.0, 30.0, 50.5],
            "rank": [1, 2, None, None],
            "probation": [False, False, True, False],
            "improvement_plan": [False, True, False, False],
            "satisfaction_source": ["survey"] * 3 + [None],
        }
    )
    plans = pd.DataFrame(
        {"account_manager_id": ["AM2"], "period": ["2024-05"], "due_on": ["2024-06-08"],
         "status": ["overdue"]}
    )  # fmt: skip
    months = ("2024-03", "2024-04", "2024-05")
    frame = pd.DataFrame(
        {
            "period": ["2024-03", "2024-05", "2024-03", "2024-05"],
            "level": "manager",
            "account_manager_id": ["AM1", "AM1", "AM2", "AM2"],
            "team": "retail",
            "score": [70.0, 81.5, 55.0, 40.0],
            "churn_rate": [0.1, 0.05, 0.2, 0.3],
            "repeat_purchase_rate": [0.5, 0.6, 0.4, 0.3],
            "complaint_rate": [0.01, 0.02, 0.05, 0.04],
        }
    )
    trends = Trends(frame, months, ("2024-04",))
    for lang, words in (
        ("en", ("Assessment rules (document 000)", "6. Trends, last 12 months", "overdue",
                "satisfaction survey", "No scorecards for 2024-04.")),
        ("zh", ("绩效考核规则（文档 000）", "6. 近 12 个月趋势", "已逾期", "客户满意度调查",
                "试用期")),
    ):  # fmt: skip
        text = render_report(
            _inputs(scorecard=cards, period="2024-05", plans=plans, trends=trends, lang=lang)
        )
        for w in words:
            assert w in text, (lang, w)
        row = text.split("<td>AM3</td>")[1].split("</tr>")[0]
        assert ("yes" if lang == "en" else "是") in row  # AM3 on probation, unranked
        trend = text.split('id="trends"')[1]
        # 2 managers x 4 charts, each line broken at the month without scorecards
        assert trend.count("<svg") == 8 and trend.count("<polyline") == 16
        assert "81.5" in trend and "30.0%" in trend  # the latest month's figures
    empty = render_report(_inputs())
    assert "no month of the last 12 has scorecards" in empty
