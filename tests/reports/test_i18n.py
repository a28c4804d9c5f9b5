"""The report in Chinese: every text of the report has a Chinese version with the same
placeholders, headings, headers and category values render in Chinese, English stays as it was."""

from __future__ import annotations

import re

import pandas as pd
from test_report_render import _inputs

from core.lang import catalogue, value_name
from reports.html import AT_RISK_COLUMNS, METRIC_COLUMNS, SCORECARD_COLUMNS, render_report
from reports.i18n import category, tr
from reports.inputs import PLOT_LABELS, QUALITY_ARTIFACTS


def test_every_report_text_the_code_names_is_in_the_catalogue():
    labels = [*METRIC_COLUMNS.values(), *AT_RISK_COLUMNS.values(), *SCORECARD_COLUMNS.values()]
    wanted = [*labels, *QUALITY_ARTIFACTS, *PLOT_LABELS, "scorer", "feature", "mean_shap"]
    assert [t for t in wanted if t not in catalogue("report")] == []
    entries = catalogue("report").entries
    assert [k for k, e in entries.items() if e["en"].count("<b>") != e["zh"].count("<b>")] == []


def test_category_values_in_chinese():
    assert (
        category("risk_band", "high", "zh") == "高"
        and category("risk_band", "high", "en") == "high"
    )
    assert category("plan", "annual", "zh") == "包年"  # through the feature registry
    assert category("segment", "government", "zh") == "government"  # no name: as it is
    assert category("customer_id", "C1", "zh") == "C1"
    action = value_name("recommended_action", "retention call", "zh")
    assert category("recommended_action", "retention call", "zh") == action == "挽留电话"
    assert tr("teams", "zh") == "团队" and tr("teams", "en") == "Teams"


def test_report_in_chinese():
    cards = pd.DataFrame(
        {
            "level": ["manager", "team"],
            "account_manager_id": ["AM1", None],
            "team": ["retail", "retail"],
            "score": [91.5, 61.0],
            "grade": ["Excellent", "Fair"],
            "rank": [1, None],
        }
    )
    metrics = pd.DataFrame({"roc_auc": [0.9]}, index=["lightgbm"])
    inputs = _inputs(lang="zh", scorecard=cards, period="2024-05", metrics=metrics,
                     notes=("n1",), quality_images={})  # fmt: skip
    inputs.at_risk["lifecycle_status"] = ["active", "lapsing"]
    text = render_report(inputs)
    assert '<html lang="zh">' in text and "<title>客户流失报告（2024-05-01）</title>" in text
    visible = re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", "", text, flags=re.S))
    for english in ("Model quality", "at-risk", "drives churn", "KPI scorecards", "Teams",
                    "Scoring date", "Notes", "top reasons", "segment", "How to read"):  # fmt: skip
        assert english not in visible
    assert "绩效考核（2024-05）" in text and "<th>评分方法</th>" in text
    for value in ("中小企业", "个人消费者", "活跃", "临近到期/沉默", "优秀", "一般", ">高</span>"):
        assert value in text
    assert 'class="band-high"' in text  # styles keep the stored level
    assert "Plan: annual" in text  # the stored reasons are shown as they are


def test_english_report_is_unchanged_by_the_language_option():
    text = render_report(_inputs())
    assert '<html lang="en">' in text and "<title>Churn report, 2024-05-01</title>" in text
    assert '<th class="">segment</th>' in text and ">smb<" in text and ">high</span>" in text
    assert '<h2 id="kpi">4. KPI scorecards </h2>' in text


def test_gains_lift_and_calibration_plots_in_chinese():
    """The report draws its quality plots again in Chinese: titles, axes and the legend's
    scorers (no English word the zh pages' checker would flag), and in English as logged."""
    import importlib.util
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import numpy as np

    from reports.i18n import plot_language
    from reports.inputs import quality_figures

    path = Path(__file__).resolve().parents[1] / "e2e" / "english.py"
    spec = importlib.util.spec_from_file_location("english", path)
    assert spec is not None and spec.loader is not None
    english = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(english)
    rng = np.random.default_rng(0)
    p = rng.random(400)
    test = pd.DataFrame({"churned": (rng.random(400) < p).astype(int), "p_churn": p,
                         "p_recency_rule": rng.random(400), "p_rfm_score": rng.random(400)})  # fmt: skip

    def words(fig) -> list[str]:
        out = []
        for ax in fig.axes:
            out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
            legend = ax.get_legend()
            out += [t.get_text() for t in legend.get_texts()] if legend else []
        return out

    with plot_language("zh"):
        zh = {k: words(f) for k, f in quality_figures(test, "zh").items()}
    en = {k: words(f) for k, f in quality_figures(test, "en").items()}
    shown = " ".join(w for texts in zh.values() for w in texts)
    assert (
        "累计增益" in shown
        and "提升度" in shown
        and "完美校准" in shown
        and "最近消费规则" in shown
    )
    assert english.english_words(shown) == [], shown
    assert "gains" in en["fig_gains_lift"] and "recency_rule" in en["fig_gains_lift"]
    assert "calibration on the test cutoff" in en["fig_calibration"]
    import matplotlib.pyplot as plt

    plt.close("all")
