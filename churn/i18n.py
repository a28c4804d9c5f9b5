"""The command line's own words (table headers, titles, labels) in English and Chinese, in one
table, for the commands that take ``--lang``. Only the standard library: it is imported while the
commands are registered."""

from __future__ import annotations

STRINGS: dict[str, tuple[str, str]] = {
    # churn explain --customer-id
    "reason": ("reason", "原因"),
    "feature": ("feature", "特征"),
    "value": ("value", "取值"),
    "log-odds": ("log-odds", "对数几率"),
    "missing": ("missing", "缺失"),
    "customer_title": (
        "customer {id}: P(churn) {p:.3f} (log-odds {raw:+.3f} = base {base:+.3f} + contributions)",
        "客户 {id}：流失概率 {p:.3f}（对数几率 {raw:+.3f} = 基准 {base:+.3f} + 各特征贡献）",
    ),
    "note": ("note", "注意"),
    "as_of_waterfall": (
        "as of {asof} ({source}); waterfall: {path}",
        "截至 {asof}（{source}）；瀑布图：{path}",
    ),
    # churn explain --global
    "mean |SHAP|": ("mean |SHAP|", "平均 |SHAP|"),
    "mean SHAP": ("mean SHAP", "平均 SHAP"),
    "drivers_title": (
        "what drives churn, {n:,} customers as of {asof}",
        "流失的主要驱动因素：{n:,} 位客户，截至 {asof}",
    ),
    "files_written": (
        "{n} files written to {target} (SHAP by {method}, log-odds)",
        "已写入 {n} 个文件到 {target}（SHAP 方法 {method}，对数几率）",
    ),
    # churn report
    "report_written": (
        "report written to {path} ({mb:.1f} MB)",
        "报告已写入 {path}（{mb:.1f} MB）",
    ),
}


def t(key: str, lang: str = "en", **values: object) -> str:
    """The string ``key`` in ``lang`` (en or zh), formatted with ``values``; English when the key
    has no translation."""
    en, zh = STRINGS[key]
    text = zh if lang == "zh" else en
    return text.format(**values) if values else text
