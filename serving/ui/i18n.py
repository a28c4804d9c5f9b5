"""The workspace's words in English and Chinese (``?lang=zh``, remembered in a cookie).

Category values the lists show (lifecycle, risk band, the default recommended actions) have their
Chinese names here; segment and plan levels come from the feature registry. A text without a
Chinese entry is shown as it is.
"""

from __future__ import annotations

from features.catalog import describe, is_known, level
from serving.reasons import Lang

LANGS: tuple[Lang, ...] = ("en", "zh")

STRINGS: dict[str, tuple[str, str]] = {
    "title": ("Retention workspace", "客户挽留工作台"),
    "at_risk": ("At risk", "流失风险"),
    "win_back": ("Win back", "赢回"),
    "lists": ("Lists", "名单"),
    "scored": ("scored {asof}", "评分日期 {asof}"),
    "signed_in_as": ("Signed in as {name} ({role})", "当前用户 {name}（{role}）"),
    "open_mode": (
        "Open workspace (no users configured, loopback only): lead rights",
        "开放模式（未配置用户，仅限本机访问）：组长权限",
    ),
    "sign_in": ("Sign in", "登录"),
    "sign_out": ("Sign out", "退出"),
    "user_name": ("User name", "用户名"),
    "password": ("Password", "密码"),
    "bad_sign_in": ("Wrong user name or password.", "用户名或密码错误。"),
    "filters": ("Filters", "筛选"),
    "manager": ("Account manager", "客户经理"),
    "segment": ("Segment", "客户细分"),
    "band": ("Risk band", "风险等级"),
    "lifecycle": ("Lifecycle", "生命周期"),
    "sort": ("Sort by", "排序"),
    "any": ("any", "全部"),
    "apply": ("Apply", "应用"),
    "export": ("Export CSV", "导出 CSV"),
    "language": ("Language", "语言"),
    "rows": ("{first}-{last} of {total}", "第 {first}-{last} 条，共 {total} 条"),
    "no_rows": ("No customers match these filters.", "没有符合筛选条件的客户。"),
    "previous": ("Previous page", "上一页"),
    "next": ("Next page", "下一页"),
    "rank": ("#", "#"),
    "customer": ("Customer", "客户"),
    "probability": ("P(churn)", "流失概率"),
    "value": ("Value if retained", "留存价值"),
    "value_at_risk": ("Expected value at risk", "风险价值期望"),
    "days": ("Days since last purchase", "距上次购买天数"),
    "reasons": ("Top reasons", "主要原因"),
    "action": ("Recommended action", "建议行动"),
    "ascending": ("ascending", "升序"),
    "descending": ("descending", "降序"),
    "profile": ("Profile", "客户资料"),
    "plan": ("Plan", "套餐"),
    "region": ("Region", "地区"),
    "signup": ("Signed up", "注册日期"),
    "last_purchase": ("Last purchase", "上次购买"),
    "contract_end": ("Contract ends", "合同到期"),
    "no_contract": ("no contract (pay as you go)", "无合同（按需付费）"),
    "history": ("Score history", "评分历史"),
    "asof": ("Scoring date", "评分日期"),
    "model": ("Churn model", "流失模型"),
    "why": ("Why this customer is at risk", "该客户的流失风险原因"),
    "waterfall": (
        "How each feature moves the churn score (log-odds) from the base value",
        "各特征如何使流失分数（对数几率）偏离基准值",
    ),
    "base": ("base value", "基准值"),
    "score": ("score", "分数"),
    "other_features": ("{n} other features", "其他 {n} 个特征"),
    "raises": ("raises the risk", "提高风险"),
    "lowers": ("lowers the risk", "降低风险"),
    "no_model": (
        "No champion model is loaded: the reasons below are the ones stored at scoring.",
        "未加载冠军模型：以下原因为评分时保存的原因。",
    ),
    "no_features": (
        "The stored features of this scoring lack what the champion needs; score again.",
        "该次评分保存的特征缺少冠军模型所需的特征；请重新评分。",
    ),
    "timeline": ("Recent activity", "近期活动"),
    "when": ("Date", "日期"),
    "what": ("Event", "事件"),
    "detail": ("Detail", "详情"),
    "purchase": ("purchase", "购买"),
    "refund": ("refund", "退款"),
    "interaction": ("contact", "联系"),
    "complaint": ("complaint", "投诉"),
    "open_complaint": ("open", "未解决"),
    "resolved": ("resolved {date}", "已于 {date} 解决"),
    "severity": ("severity {n}", "严重程度 {n}"),
    "no_events": ("No purchases, contacts or complaints on file.", "暂无购买、联系或投诉记录。"),
    "no_data": (
        "The data folder this scoring read is not available to the service: no timeline.",
        "服务无法读取本次评分所用的数据文件夹：无活动记录。",
    ),
    "back": ("Back to the list", "返回名单"),
    "not_found": ("Not found", "未找到"),
    "unknown_customer": (
        "Customer {id} is not on any list you may see.",
        "客户 {id} 不在您可查看的名单中。",
    ),
    "forbidden": ("Not allowed", "无权访问"),
    "other_book": (
        "You see only the customers of account manager {manager}.",
        "您只能查看客户经理 {manager} 的客户。",
    ),
    "bad_request": ("Bad request", "请求有误"),
    "unavailable": ("Unavailable", "暂不可用"),
    "nothing_scored": ("Nothing has been scored yet.", "尚未进行评分。"),
    "csrf": (
        "The form expired or came from another site; reload the page and try again.",
        "表单已过期或来自其他网站；请刷新页面后重试。",
    ),
    "role_manager": ("manager", "客户经理"),
    "role_lead": ("lead", "组长"),
    "role_analyst": ("analyst", "分析师"),
    "main_nav": ("Main", "主导航"),
    "pages": ("Pages", "分页"),
    "skip": ("Skip to content", "跳到正文"),
}

CATEGORIES_ZH: dict[str, dict[str, str]] = {
    "lifecycle_status": {"active": "活跃", "lapsing": "即将流失", "lapsed": "已流失"},
    "risk_band": {"high": "高", "medium": "中", "low": "低"},
    "recommended_action": {
        "win-back offer": "赢回优惠",
        "service recovery: resolve the open complaint": "服务补救：解决未结投诉",
        "renewal call before the contract ends": "合同到期前致电续约",
        "retention call": "挽留电话",
        "check-in contact": "例行回访",
        "no contact: monitor": "暂不联系：持续观察",
    },
}
"""Chinese names of the list values that are not feature levels."""


def t(key: str, lang: Lang = "en", **values: object) -> str:
    """The text ``key`` in ``lang``, formatted with ``values``."""
    en, zh = STRINGS[key]
    text = zh if lang == "zh" else en
    return text.format(**values) if values else text


def category(column: str, value: object, lang: Lang) -> str:
    """A category value as shown in ``lang`` (unknown values as they are; None as empty)."""
    if value is None:
        return ""
    shown = str(value)
    if lang == "en":
        return shown
    if column in CATEGORIES_ZH:
        return CATEGORIES_ZH[column].get(shown, shown)
    if is_known(column) and describe(column).kind == "category":
        return level(column, shown, lang)
    return shown
