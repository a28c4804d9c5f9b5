"""Chinese for the report and its plots: every English text they show, keyed by that text, the
Chinese names of the category values in their tables, and a CJK font for matplotlib.

English is the default and is never looked up: ``tr(text, "en")`` is ``text``. A category level
of a feature (segment, region, plan) is named in the feature registry (``features/catalog.yaml``,
``levels_zh``); the other categories (lifecycle status, risk band, grade, the default recommended
actions) are named here. Texts and levels without a Chinese entry are shown as they are.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from core.lang import Lang
from features.catalog import describe, is_known, level

ZH: dict[str, str] = {
    # the training run's quality plots, drawn again in Chinese (reports.inputs.PLOT_LABELS)
    "gains": "累计增益",
    "lift": "提升度",
    "random": "随机",
    "share of customers contacted": "联系的客户比例",
    "share of churners found": "找到的流失客户比例",
    "calibration on the test cutoff": "测试截止日的校准",
    "mean predicted P(churn)": "平均预测流失概率",
    "observed churn rate": "实际流失率",
    "perfect": "完美校准",
    # the HTML report (reports.template.TEXT; ``{name}`` placeholders are kept)
    "Churn report, {asof}": "客户流失报告（{asof}）",
    "Scoring date <b>{asof}</b> &middot; {customers} customers scored &middot; models "
    "{models}\n&middot; generated {generated}": "评分日期 <b>{asof}</b> &middot; 已评分客户 "
    "{customers} 位 &middot; 模型 {models}\n&middot; 生成时间 {generated}",
    "Churn definition: {label}": "流失定义：{label}",
    "not recorded": "未记录",
    "1. Model quality against the baselines": "1. 模型质量与基线对比",
    "2. Top {top_n} at-risk customers": "2. 流失风险最高的 {top_n} 位客户",
    "Active and lapsing customers, ordered by expected value at risk (P(churn) &times; value if "
    "retained).\nReasons are the three largest exact SHAP contributions that raise each "
    "customer's risk.": "活跃与即将流失的客户，按风险价值期望（流失概率 &times; 留存价值）排序。"
    "\n原因是提高该客户风险的三个最大的精确 SHAP 贡献。",
    "3. What drives churn across the base": "3. 全体客户的流失驱动因素",
    "Exact TreeSHAP values of {explained} randomly sampled customers, in log-odds of churn\n"
    "(positive values raise the risk). Top features by mean |SHAP value|:": "随机抽样的 "
    "{explained} 位客户的精确 TreeSHAP 值，单位为流失的对数几率\n（正值提高风险）。"
    "按平均 |SHAP 值| 排序的主要特征：",
    "4. KPI scorecards {period}": "4. KPI 评分卡{period}",
    "for {period}": "（{period}）",
    "5. The book by RFM segment": "5. 按 RFM 客户类型划分的客户群",
    "Each scored customer is high or low on recency, frequency and monetary value against the "
    "book's medians;\nthe three answers name the segment. Churn rate: the mean predicted "
    "P(churn).": "每位被评分客户的最近一次消费、消费频率和消费金额按客户群的中位数分为高或低；"
    "\n三者的组合即客户类型。流失率：预测流失概率的平均值。",
    "Not available: this scoring has no RFM segments (scored before they existed).": "暂无："
    "本次评分没有 RFM 客户类型（评分早于该功能）。",
    "RFM segment": "RFM 客户类型",
    "CRM indicators": "CRM 指标",
    "Indicators of documents 001 and 004, reported beside the 100 points, not inside them; "
    "a dash: the data lacks what the rate needs.": "文档 001 与 004 的指标，列在 100 分之外，"
    "不计入得分；短横线：数据缺少计算该比率所需的内容。",
    "repeat purchase": "重复购买率",
    "contact response": "联系响应率",
    "contact conversion": "联系成交率",
    "cost per contact": "平均客户交互成本",
    "upsell": "增购率",
    "new customers": "新客户数量",
    "complaint rate": "客户投诉率",
    "customers": "客户数",
    "share of customers": "客户占比",
    "share of value at risk": "风险价值占比",
    "How to read SHAP values here: each customer's contributions add up, with the\n"
    "base value, to the churn model's raw log-odds; the probability shown is that score passed\n"
    "through the sigmoid and the isotonic calibrator, which keeps the order of customers. See\n"
    "docs/explain.md.": "如何解读这里的 SHAP 值：每位客户的各项贡献加上基准值，等于流失模型的\n"
    "原始对数几率；显示的概率是该分数经过 sigmoid 函数和保序校准器后的结果，客户的排序保持不变。"
    "\n详见 docs/explain.md。",
    "Notes": "说明",
    "Not available (see the notes above).": "暂无（见上方说明）。",
    "Test-cutoff metrics of the champion (first row) and of the baselines it must beat; "
    "live: on the customers not lapsed at the test cutoff, the ones a retention contact "
    "can still save.": "冠军模型（第一行）与其必须超越的基线在测试截止日上的指标；"
    "“仍活跃”指测试截止日未流失（非 lapsed）的客户，即挽留联系仍可挽回的客户。",
    "Account managers": "客户经理",
    "Teams": "团队",
    "Retention campaigns": "挽留活动",
    "Retention campaigns of the period against their control groups: the control group's churn "
    "rate minus the contacted customers' churn rate, times the contacted customers' value. "
    "Reported beside the 100 points, not inside them.": "本期挽留活动与其对照组相比：对照组流失率减去"
    "被联系客户的流失率，乘以被联系客户的价值。列在 100 分之外，不计入得分。",
    "Incremental retained value, all managers: {total}": "全部经理的增量挽留价值：{total}",
    "contacted": "已联系",
    "control group": "对照组",
    "churn, contacted": "流失率（已联系）",
    "churn, control": "流失率（对照组）",
    "incremental retained value": "增量挽留价值",
    # table headers
    "scorer": "评分方法",
    "ROC-AUC": "ROC-AUC",
    "PR-AUC": "PR-AUC",
    "ROC-AUC, live": "ROC-AUC（仍活跃客户）",
    "PR-AUC, live": "PR-AUC（仍活跃客户）",
    "lift, top 10%": "前10%提升度",
    "Brier": "Brier 分数",
    "ECE": "期望校准误差",
    "lost value in top 10%": "前10%覆盖的流失价值",
    "best campaign profit": "最佳营销利润",
    "customer": "客户",
    "manager": "客户经理",
    "segment": "客户细分",
    "lifecycle": "生命周期",
    "P(churn)": "流失概率",
    "value if retained": "留存价值",
    "value at risk": "风险价值",
    "band": "风险等级",
    "top reasons": "主要原因",
    "team": "团队",
    "book": "客户数",
    "churn": "流失率",
    "value-weighted retention": "价值加权留存率",
    "risk-adjusted retention": "风险调整留存率",
    "satisfaction": "满意度",
    "sales / quota": "销售额/指标",
    "score": "得分",
    "grade": "等级",
    "rank": "排名",
    "payout": "奖金",
    "feature": "特征",
    "mean |SHAP|": "平均 |SHAP|",
    "mean SHAP": "平均 SHAP",
    # figure captions
    "Gains and lift on the test cutoff (model and baselines)": "测试截止日的增益与提升度"
    "（模型与基线）",
    "Calibration on the test cutoff": "测试截止日的校准曲线",
    "Mean |SHAP value| per feature": "各特征的平均 |SHAP 值|",
    "SHAP value of every sampled customer": "每位抽样客户的 SHAP 值",
    "Drivers by segment (mean SHAP value)": "按客户细分的驱动因素（平均 SHAP 值）",
    "Drivers by account manager (largest books)": "按客户经理的驱动因素（客户数最多者）",
    # notes of reports.inputs and reports.sources
    "no --data given: the KPI scorecards are left out": "未提供 --data：不含 KPI 评分卡",
    "KPI scorecards for {month} left out: {error}": "{month} 的 KPI 评分卡未包含：{error}",
    "the churn champion records no training run: model quality left out": "流失冠军模型没有记录"
    "训练运行：不含模型质量",
    "run {run_id} has no {artifact}: {error}": "运行 {run_id} 中没有 {artifact}：{error}",
    "the scores of {asof} were made by churn model v{scored_by}; the reasons are those of the "
    "current champion v{champion} (re-run `churn score --asof {asof}` to align them)": "{asof} 的"
    "分数由流失模型 v{scored_by} 算出；原因来自当前冠军模型 v{champion}（重新运行 "
    "`churn score --asof {asof}` 以保持一致）",
    "no Chinese font is installed: the plots show Chinese as empty boxes (run "
    "scripts/ensure_fonts.sh)": "未安装中文字体：图中的中文显示为空白方框（请运行 "
    "scripts/ensure_fonts.sh）",
    # plots (reports.explain_global, reports.explain_local)
    "log-odds of churn": "流失的对数几率",
    "log of expected value": "预期价值的对数",
    "raw score": "原始分数",
    "SHAP value ({units})": "SHAP 值（{units}）",
    "mean |SHAP value| ({units})": "平均 |SHAP 值|（{units}）",
    "{kind} model: SHAP values of {n} customers": "{kind}模型：{n} 位客户的 SHAP 值",
    "{kind} model: global feature importance": "{kind}模型：全局特征重要性",
    "prediction": "预测值",
    "{feature} (1st to 99th percentile)": "{feature}（第1至第99百分位）",
    "dependence: {feature}": "依赖图：{feature}",
    "mean SHAP value (+ raises the score)": "平均 SHAP 值（正值提高分数）",
    "drivers by {column}": "按{column}的驱动因素",
    "customer {customer}: {what} {p}; raw score {raw} ({units})": "客户 {customer}：{what} "
    "{p}；原始分数 {raw}（{units}）",
    "expected value": "预期价值",
    "missing": "缺失",
    "(missing)": "（缺失）",
    "Feature value": "特征值",
    "High": "高",
    "Low": "低",
    "{n} other features": "其他 {n} 个特征",
    "Sum of {n} other features": "其他 {n} 个特征之和",
    # model kinds and grouping columns in plot titles
    "account_manager_id": "客户经理",
    # --- issue 34: assessment rules and trends (one block, to move into the shared catalogue
    # of issue 32 as it is) ---
    "6. Trends, last 12 months": "6. 近 12 个月趋势",
    "Assessment rules (document 000)": "绩效考核规则（文档 000）",
    "Document 000: a manager hired less than the probation before the month is listed but "
    "neither ranked nor penalised; the bottom two of the ranking owe an improvement plan "
    "within a week of the scorecards (churn plans). The satisfaction bonus comes from the "
    "satisfaction survey when the data has one, from complaint ratings otherwise.": "文档 000："
    "试用期内的客户经理列出但不参加排名、不扣款；月度考核排名后两名须在考核通报下发后一周内"
    "提交整改方案（churn plans）。客户满意度奖励依据客户满意度调查（数据中有调查时），"
    "否则依据投诉满意度评分。",
    "Each manager's score, churn rate and key indicators over the last 12 months, one point "
    "per month with scorecards; the figure after each chart is the latest month's.": "每位客户经理"
    "近 12 个月的考核评分、客户流失率与主要指标，每个有考核评分的月份一个点；图后数字为最近一个月的值。",
    "No scorecards for {months}.": "以下月份没有考核评分：{months}。",
    "Not available: no month of the last 12 has scorecards.": "暂无：近 12 个月没有考核评分。",
    "Score (100 points)": "考核评分（100 分）",
    "Churn rate": "客户流失率",
    "Repeat-purchase rate": "重复购买率",
    "Complaint rate": "客户投诉率",
    "probation": "试用期",
    "improvement plan": "提交整改方案",
    "plan due": "截止日期",
    "plan status": "方案状态",
    "satisfaction bonus from": "客户满意度奖励依据",
    "satisfaction survey": "客户满意度调查",
    "complaint ratings": "投诉满意度评分",
    "yes": "是",
    "no": "否",
    "open": "待提交",
    "overdue": "已逾期",
    "submitted": "已提交",
    # --- end issue 34 ---
}
"""English text -> Chinese; ``{name}`` placeholders and HTML entities as in the English."""

CATEGORIES_ZH: dict[str, dict[str, str]] = {
    "lifecycle_status": {"active": "活跃", "lapsing": "即将流失", "lapsed": "已流失"},
    "risk_band": {"high": "高", "medium": "中", "low": "低"},
    "grade": {"Excellent": "优秀", "Good": "良好", "Fair": "一般", "Poor": "较差"},
    "recommended_action": {
        "win-back offer": "赢回优惠",
        "service recovery: resolve the open complaint": "服务补救：解决未结投诉",
        "renewal call before the contract ends": "合同到期前致电续约",
        "retention call": "挽留电话",
        "check-in contact": "例行回访",
        "no contact: monitor": "暂不联系：持续观察",
    },
    "kind": {"churn": "流失", "value": "价值"},
}
"""Chinese names of the category values of the report's tables that are not features."""

CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Noto Sans CJK TC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Droid Sans Fallback",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Heiti SC",
)
"""Fonts with Chinese glyphs, preferred first."""
NO_FONT = (
    "no Chinese font is installed: the plots show Chinese as empty boxes (run "
    "scripts/ensure_fonts.sh)"
)
_OTHER = re.compile(r"^(Sum of )?(\d+) other features$")


def tr(text: str, lang: Lang) -> str:
    """``text`` in ``lang``: itself for English, its Chinese from :data:`ZH` (else itself)."""
    return text if lang == "en" else ZH.get(text, text)


def category(column: str, value: object, lang: Lang) -> str:
    """A table cell of a category column in ``lang``: feature levels through the feature
    registry, the others through :data:`CATEGORIES_ZH`; unknown levels shown as they are."""
    shown = str(value)
    if lang == "en":
        return shown
    if column in CATEGORIES_ZH:
        return CATEGORIES_ZH[column].get(shown, shown)
    if is_known(column) and describe(column).kind == "category":
        return level(column, shown, lang)
    return shown


def has_levels(column: str) -> bool:
    """Whether the cells of ``column`` are category values that may have Chinese names."""
    return column in CATEGORIES_ZH or (is_known(column) and describe(column).kind == "category")


@cache
def cjk_font() -> str | None:
    """The family of an installed font with Chinese glyphs, None when there is none.

    Matplotlib caches its font list when first imported, so a font installed afterwards (by
    ``scripts/ensure_fonts.sh``) is added from the system's font files here."""
    from matplotlib import font_manager

    known = {f.name for f in font_manager.fontManager.ttflist}
    found = next((f for f in CJK_FAMILIES if f in known), None)
    if found is not None:
        return found
    listed = {f.fname for f in font_manager.fontManager.ttflist}
    for path in font_manager.findSystemFonts():
        if path not in listed and re.search(r"cjk|wqy|wenquanyi|droidsansfallback|sourcehan",
                                            Path(path).name, re.IGNORECASE):  # fmt: skip
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue
    known = {f.name for f in font_manager.fontManager.ttflist}
    return next((f for f in CJK_FAMILIES if f in known), None)


@contextmanager
def plot_language(lang: Lang) -> Iterator[None]:
    """Matplotlib settings for the figures created inside: for ``zh`` a CJK font after the
    default one (matplotlib falls back to it glyph by glyph), or a warning saying how to install
    one. Texts keep the font chosen when they are created, so saving may happen later."""
    import matplotlib as mpl

    if lang == "en":
        yield
        return
    font = cjk_font()
    if font is None:
        warnings.warn(NO_FONT, UserWarning, stacklevel=3)
        yield
        return
    with mpl.rc_context({"font.family": [*mpl.rcParams["font.family"], font]}):
        yield


def shap_label(label: str, lang: Lang) -> str:
    """A text SHAP's own plots draw (colour bar, "N other features") in ``lang``."""
    m = _OTHER.match(label)
    if m is None:
        return tr(label, lang)
    return tr(f"{m.group(1) or ''}{{n}} other features", lang).format(n=m.group(2))
