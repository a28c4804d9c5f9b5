"""The report and the waterfall in Chinese, end to end: `churn report --lang zh` opened in headless
Chromium through Playwright (the report's headings, table headers and category values are Chinese,
no English heading is left) and `churn explain --lang zh` drawing its waterfall with a CJK font (installed by
``scripts/ensure_fonts.sh``). Screenshots go to the folder named by ``ZH_SHOTS`` when it is set,
to look at them."""

from __future__ import annotations

import os
import re
import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest
from english import data_values, english_words
from test_report import ASOF, CHROMIUM, _churn, home, open_page  # noqa: F401 (fixture)

from core.lang import value_name
from reports.i18n import cjk_font

pytestmark = pytest.mark.slow

ENGLISH_TEXTS = (
    "Churn report", "Scoring date", "customers scored", "Churn definition", "Model quality",
    "at-risk customers", "Ordered by expected value", "What drives churn", "Exact TreeSHAP",
    "KPI scorecards", "Account managers", "Teams", "How to read SHAP", "Notes", "Not available",
)  # fmt: skip
ENGLISH_HEADINGS = ENGLISH_TEXTS + (
    "top reasons", "value at risk", "value if retained", "lifecycle", "segment", "manager",
    "customer", "band", "payout", "grade", "mean |SHAP|", "Mean |SHAP value| per feature",
    "SHAP value of every sampled customer", "Drivers by segment", "Calibration on the test",
)  # fmt: skip
SHOTS = os.environ.get("ZH_SHOTS")


def _keep(name: str, png: bytes, tmp: Path) -> Path:
    """Write a screenshot into the test's folder, and into ``ZH_SHOTS`` when set."""
    (tmp / name).write_bytes(png)
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        (Path(SHOTS) / name).write_bytes(png)
    return tmp / name


PAGE = """() => ({
  lang: document.documentElement.lang,
  text: document.body.innerText,
  headings: Array.from(document.querySelectorAll('h1,h2,h3,th,figcaption')).map(e => e.innerText),
  images: Array.from(document.images).map(i => [i.complete, i.naturalWidth]),
  atRisk: Array.from(document.querySelector('#at-risk ~ table').rows)
    .map(r => Array.from(r.cells).map(c => c.innerText)),
  drivers: document.getElementById('drivers').getBoundingClientRect().top + window.scrollY})"""
"""What the page shows: its language, text, headings, images, the at-risk table and where the
drivers section starts."""


def _page(url: str) -> tuple[dict, bytes, bytes]:
    """Load ``url``; return what the page shows and screenshots of its top and its drivers."""
    with open_page(url, width=1280, height=1100) as loaded:
        page = loaded.page.evaluate(PAGE)
        top = loaded.page.screenshot(type="png")
        drivers = loaded.page.screenshot(
            type="png",
            clip={"x": 0, "y": page["drivers"], "width": 1280, "height": 1400},
            full_page=True,  # the clip lies below the viewport
        )
    return page, top, drivers


def test_report_and_waterfall_in_chinese(home: Path, tmp_path: Path):  # noqa: F811 (fixture)
    """One test, so that the trained home is built once whichever worker runs it."""
    _waterfall_in_chinese_is_drawn_with_a_cjk_font(home, tmp_path)
    if shutil.which(CHROMIUM) is None:
        pytest.skip("run scripts/ensure_chromium.sh (make test does)")
    report_zh = home / "out" / "report_zh.html"
    args = ("report", "--lang", "zh", "--data", str(home / "demo"), "--sample", "300")
    _churn(*args, "--out", str(report_zh))
    page, top, drivers = _page(report_zh.resolve().as_uri())
    _keep("report_zh_top.png", top, tmp_path)
    _keep("report_zh_drivers.png", drivers, tmp_path)
    assert page["lang"] == "zh"
    shown = "\n".join(page["headings"])
    assert [h for h in ENGLISH_HEADINGS if h in shown] == []
    assert [h for h in ENGLISH_TEXTS if h in page["text"]] == []
    assert english_words(page["text"], data_values(home / "demo")) == []  # issue 32
    for heading in (
        "模型质量",
        "预期流失价值最高的 50 位客户",
        "流失驱动因素",
        "绩效考核",
        "客户经理",
    ):
        assert heading in shown
    assert len(page["images"]) >= 6 and all(ok and width > 0 for ok, width in page["images"])
    table = pd.DataFrame(page["atRisk"][1:], columns=page["atRisk"][0])
    assert set(table["风险等级"]) <= {
        value_name("risk_band", b, "zh") for b in ("high", "medium", "low")
    }
    statuses = ("active", "lapsing", "lapsed")
    assert set(table["生命周期"]) <= {value_name("lifecycle_status", s, "zh") for s in statuses}
    assert set(table["客户细分"].dropna()) <= {"大客户", "中小企业", "个人消费者", "-"}
    assert re.search("优秀|良好|一般|较差", page["text"])  # the scorecards' grades
    assert re.search("(套餐|客户细分|地区)：[a-z]", page["text"]) is None  # levels named in reasons


def _waterfall_in_chinese_is_drawn_with_a_cjk_font(root: Path, tmp_path: Path) -> None:
    assert cjk_font(), "no Chinese font installed: run scripts/ensure_fonts.sh (make test does)"
    top = pd.read_csv(root / "at_risk" / f"at_risk_{ASOF}.csv", dtype={"customer_id": str})
    customer = top["customer_id"].iloc[0]
    out = tmp_path / "waterfall_zh.png"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _churn("explain", "--customer-id", customer, "--lang", "zh", "--out", str(out))
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert missing == []  # every glyph, Chinese included, was found in a font
    assert out.read_bytes()[:4] == b"\x89PNG"
    _keep("waterfall_zh.png", out.read_bytes(), tmp_path)
