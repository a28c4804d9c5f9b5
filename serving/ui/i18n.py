"""The workspace's words in English and Chinese (``?lang=zh``, remembered in a cookie).

Category values the lists show (lifecycle, risk band, the default recommended actions) have their
Chinese names here; segment and plan levels come from the feature registry. A text without a
Chinese entry is shown as it is.
"""

from __future__ import annotations

from core.lang import Lang
from features.catalog import describe, is_known, level
from features.pipeline.segments import SEGMENT_TITLES

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
    "sign_in_wait": (
        "Too many failed sign-ins: try again in {seconds} seconds.",
        "登录失败次数过多：请在 {seconds} 秒后重试。",
    ),
    "sign_in_locked": (
        "Too many failed sign-ins: signing in is locked for {minutes} minutes.",
        "登录失败次数过多：登录已锁定 {minutes} 分钟。",
    ),
    "sign_in_busy": (
        "The server is checking many sign-ins right now: try again in a moment.",
        "服务器正在处理大量登录请求：请稍后重试。",
    ),
    "read_only": (
        "Analysts see every customer but do not log contacts.",
        "分析师可查看所有客户，但不能记录联系。",
    ),
    "filters": ("Filters", "筛选"),
    "manager": ("Account manager", "客户经理"),
    "segment": ("Segment", "客户细分"),
    "rfm_segment": ("RFM segment", "RFM 客户类型"),
    "rfm_score": ("RFM score", "RFM 加权得分"),
    "indicators": ("CRM indicators (beside the score)", "CRM 指标（不计入得分）"),
    "ind_repeat_purchase_rate": ("Repeat-purchase rate", "重复购买率"),
    "ind_contact_response_rate": ("Contact response rate", "联系响应率"),
    "ind_contact_conversion_rate": ("Contact conversion rate", "联系成交率"),
    "ind_avg_contact_cost": ("Average cost per contact", "平均客户交互成本"),
    "ind_upsell_rate": ("Upsell rate", "增购率"),
    "ind_new_customers": ("New customers", "新客户数量"),
    "ind_complaint_rate": ("Complaint rate", "客户投诉率"),
    "ind_satisfaction": ("Satisfaction", "客户满意度"),
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
    "benefit": ("Expected benefit of a contact", "联系的预期收益"),
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
    "keeps": ("What keeps them", "留住该客户的因素"),
    "nothing_raises": (
        "Nothing in the data raises this customer's risk; listed for the value at stake.",
        "数据中没有提高该客户流失风险的因素；因涉及的价值而列出。",
    ),
    "nothing_keeps": (
        "Nothing in the data lowers this customer's risk.",
        "数据中没有降低该客户流失风险的因素。",
    ),
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
    "managers": ("Managers", "客户经理"),
    "campaign": ("Campaign", "挽留活动"),
    "monitoring": ("Monitoring", "模型监控"),
    "scorecards": ("Scorecards {period}", "{period} 绩效考核"),
    "period": ("Period", "考核期"),
    "show": ("Show", "显示"),
    "score_kpi": ("Score", "得分"),
    "grade": ("Grade", "等级"),
    "kpi_rank": ("Rank", "排名"),
    "commission": ("Commission", "佣金"),
    "payout": ("Payout", "实发"),
    "team": ("Team", "团队"),
    "book": ("Book at {asof}", "{asof} 客户组合"),
    "customers": ("Customers", "客户数"),
    "on_list": ("At risk (active or lapsing)", "风险名单（活跃或即将流失）"),
    "high_band": ("High risk", "高风险"),
    "mean_probability": ("Mean P(churn)", "平均流失概率"),
    "book_value": ("Value if retained", "留存价值"),
    "scored_with": ("judged with the predictions made at {dates}", "依据 {dates} 的预测评估"),
    "components": ("Scorecard components", "考核项目"),
    "component": ("Component", "项目"),
    "measure": ("Measure", "指标值"),
    "points": ("Points", "分数"),
    "weight": ("Weight", "权重"),
    "commission_parts": ("Commission", "佣金明细"),
    "comp_risk_adjusted_retention": ("Risk-adjusted retention", "风险调整留存率"),
    "comp_value_weighted_retention": ("Value-weighted retention", "价值加权留存率"),
    "comp_satisfaction": ("Satisfaction", "满意度"),
    "comp_complaint_rate": ("Complaints per 100 customers", "每百名客户投诉数"),
    "comp_resolution_time": ("Days to resolve a complaint", "投诉解决天数"),
    "comp_sales_vs_quota": ("Sales against quota", "销售额完成率"),
    "sales": ("Sales", "销售额"),
    "quota": ("Monthly quota", "月度指标"),
    "sales_commission": ("Sales commission", "销售佣金"),
    "satisfaction_bonus": ("Satisfaction bonus", "满意度奖金"),
    "retention_commission": ("Retention commission", "留存佣金"),
    "ranking_adjustment": ("Ranking bonus or deduction", "排名奖惩"),
    "improvement_plan": ("Owes an improvement plan", "需提交整改方案"),
    "yes": ("yes", "是"),
    "no": ("no", "否"),
    "notes": ("Notes", "备注"),
    "portfolio_start": ("Customers at the month start", "月初客户数"),
    "churned": ("Churned", "流失客户"),
    "retention_rate": ("Retention rate", "留存率"),
    "top_at_risk": ("Highest expected value at risk", "风险价值最高的客户"),
    "whole_list": ("The whole list of this book", "该客户组合的完整名单"),
    "unknown_manager": (
        "Account manager {id} has no customers on file.",
        "客户经理 {id} 没有客户记录。",
    ),
    "build_campaign": ("Build a campaign", "创建挽留活动"),
    "capacity": ("Contacts per manager", "每位经理联系人数"),
    "strategy": ("Whom first", "优先策略"),
    "by_value-at-risk": ("largest expected saved value", "预期挽回价值最高"),
    "by_risk": ("highest churn probability", "流失概率最高"),
    "by_uplift": ("largest uplift (persuadable first)", "提升效果最大（可说服者优先）"),
    "uplift_note": (
        "Ranking by uplift (who is persuadable) uses the uplift model, uplift-model@champion, "
        "trained by churn train on data with a contacts table.",
        "按提升效果（可说服客户）排序使用提升模型 uplift-model@champion，由 churn train 在含联系记录表的数据上训练。",
    ),
    "cost": ("Cost per contact (blank: configuration)", "每次联系成本（留空：按配置）"),
    "success_rate": ("Success rate (blank: configuration)", "挽回成功率（留空：按配置）"),
    "preview": ("Preview", "预览"),
    "selection": (
        "{n} contacts, expected saved value {value}",
        "共 {n} 次联系，预期挽回价值 {value}",
    ),
    "priority": ("Priority", "优先级"),
    "contact_cost": ("Cost", "成本"),
    "expected_saved_value": ("Expected saved value", "预期挽回价值"),
    "rule": ("Rule", "规则"),
    "contacts_n": ("Contacts", "联系数"),
    "saving_vs_nobody": ("Saving vs contacting nobody", "相对不联系的节省"),
    "saving_vs_everybody": ("Saving vs contacting everybody", "相对全部联系的节省"),
    "savings": ("What each rule saves", "各规则的节省"),
    "first_rows": ("The first {n} of {total} contacts", "前 {n} 条，共 {total} 条"),
    "no_selection": (
        "Nobody is worth contacting with these inputs.",
        "在当前条件下没有值得联系的客户。",
    ),
    "log_contact": ("Log a retention contact", "记录挽留联系"),
    "contact_date": ("Date of the contact", "联系日期"),
    "what_happened": ("What happened", "联系情况"),
    "channel": ("Channel", "渠道"),
    "offer": ("Offer", "优惠"),
    "treated": ("Contacted or control", "联系或对照"),
    "treated_1": ("contacted", "已联系"),
    "treated_0": ("held back as control (not contacted)", "对照组（不联系）"),
    "outcome": ("Outcome", "结果"),
    "outcome_none": ("(none: control)", "（无：对照组）"),
    "campaign_id": ("Campaign (optional)", "活动编号（可选）"),
    "save_contact": ("Save contact", "保存联系记录"),
    "contact_saved": ("Contact {id} saved.", "联系记录 {id} 已保存。"),
    "logged_contacts": ("Logged retention contacts", "已记录的挽留联系"),
    "no_contacts": ("No retention contact logged yet.", "尚无挽留联系记录。"),
    "logged_by": ("Logged by", "记录人"),
    "contact_refused": (
        "The contact was not saved: fix the fields below.",
        "联系记录未保存：请修改以下字段。",
    ),
    "export_contacts": ("Export logged contacts", "导出联系记录"),
    "recommend": (
        "Recommended: {rule}. It saves {saving} net of contact costs, the most of the rules that "
        "keep to {k} contacts per manager.",
        "推荐规则：{rule}。在每位客户经理 {k} 次联系的容量内，它扣除联系成本后节省 {saving}，为各规则中最多。",
    ),
    "upper_bound": (
        "Contacting every customer with expected profit > 0 ({n} contacts, no capacity) would save "
        "at most {saving}: the upper bound, not a plan.",
        "不限容量、联系所有预期利润 > 0 的客户（{n} 次联系）最多节省 {saving}：这是上限，而非计划。",
    ),
    "recommended": ("recommended", "推荐"),
    "upper_bound_tag": ("upper bound", "上限"),
    "monitor_title": ("Model monitoring as of {asof}", "{asof} 模型监控"),
    "no_monitor": (
        "No monitoring result yet. This page shows the alerts, the churn model's estimated and "
        "realized ROC-AUC and the features that drifted since training. To fill it, run on the "
        "server, with the data folder that churn score read: {command}",
        "尚无监控结果。本页显示告警、流失模型的预估与实际 ROC-AUC 以及自训练以来发生漂移的特征。"
        "请在服务器上用 churn score 读取的数据文件夹运行：{command}",
    ),
    "bad_monitor": (
        "The latest monitoring result cannot be read; run churn monitor again.",
        "无法读取最新监控结果；请重新运行 churn monitor。",
    ),
    "generated": (
        "computed {at}; champion {model} v{version}",
        "计算于 {at}；冠军模型 {model} v{version}",
    ),
    "alerts": ("Alerts", "告警"),
    "no_alerts": (
        "No alert: every measure is within its threshold.",
        "无告警：各项指标均在阈值内。",
    ),
    "performance": ("Estimated and realized performance", "预估与实际表现"),
    "scoring": ("Scoring", "评分"),
    "estimated_auc": ("Estimated ROC-AUC", "预估 ROC-AUC"),
    "realized_auc": ("Realized ROC-AUC", "实际 ROC-AUC"),
    "test_auc": ("Champion test ROC-AUC", "冠军模型测试 ROC-AUC"),
    "churn_rate": ("Churn rate", "流失率"),
    "now_estimate": ("now (estimated, no outcome yet)", "当前（预估，尚无结果）"),
    "drifted": ("Drifted features", "发生漂移的特征"),
    "drift_summary": ("{n} of {total} features drifted", "{total} 个特征中有 {n} 个发生漂移"),
    "feature": ("Feature", "特征"),
    "statistic": ("Statistic", "统计量"),
    "threshold": ("Threshold", "阈值"),
    "prediction_drift": ("Prediction drift", "预测漂移"),
    "no_drift": ("No feature drifted.", "没有特征发生漂移。"),
    # ---- issue 31b (books without managers, currency, contacts on the list); move as a block --
    "skip_contacted": ("Contacted recently", "近期已联系"),
    "keep_contacted": ("show everybody", "全部显示"),
    "skip_days": ("leave out: contacted within {k} days", "排除 {k} 天内已联系的客户"),
    "contacted_days": ("contacted {n} days ago", "{n} 天前联系过"),
    "never_contacted": ("no contact on file", "暂无联系记录"),
    "last_contact": ("Last contacted", "最近联系"),
    "contact_name": ("Name", "姓名"),
    "contact_phone": ("Phone", "电话"),
    "contact_email": ("Email", "邮箱"),
    "no_managers": (
        "This book has no account managers: the customers table has no account_manager_id "
        "values, so there are no books to score or rank. To enable scorecards and books, add "
        "account_manager_id to the customers table (and an account_managers table with teams "
        "and quotas), then run churn score again.",
        "该客户组合没有客户经理：customers 表中没有 account_manager_id 数据，因此无法计算客户经理的"
        "考核和组合风险。如需启用，请在 customers 表中加入 account_manager_id 列（并提供包含团队和"
        "指标的 account_managers 表），然后重新运行 churn score。",
    ),
    "team_capacity": ("Contacts for the whole team", "全团队联系人数"),
    "team_wide": (
        "The book has no account managers, so the campaign uses one team-wide capacity: the "
        "contacts below are the whole team's. Add account_manager_id to the customers table to "
        "split the campaign by manager.",
        "该客户组合没有客户经理，因此活动使用一个全团队的联系人数上限：以下联系名单属于整个团队。"
        "在 customers 表中加入 account_manager_id 列即可按客户经理拆分活动。",
    ),
    "whole_team": ("whole team", "全团队"),
    "amounts_in": ("Amounts in {currency}", "金额单位：{currency}"),
    # ---- end of issue 31b's block ----
    # --- issue 34: improvement plans, probation, satisfaction source, trends (one block, to
    # move into the shared catalogue of issue 32 as it is) ---
    "probation": ("Probation", "试用期"),
    "probation_note": (
        "on probation: listed, not ranked and not penalised",
        "试用期内：列出但不参加排名、不扣款",
    ),
    "annual_score": ("Annual assessment", "年度考核"),
    "annual_parts": (
        "mean monthly score {performance}, ability {ability}, attitude {attitude}",
        "月度考核评分平均值（绩）{performance}，能力（能）{ability}，态度（德、勤）{attitude}",
    ),
    "bonus_from_survey": ("from the satisfaction survey", "依据客户满意度调查"),
    "bonus_from_complaints": ("from complaint ratings", "依据投诉满意度评分"),
    "plans": ("Improvement plans", "提交整改方案"),
    "plan_period": ("Month", "考核月份"),
    "plan_issued": ("Issued", "下发日期"),
    "plan_due": ("Due", "截止日期"),
    "plan_status": ("Status", "状态"),
    "plan_text": ("Plan", "整改方案"),
    "plan_open": ("open", "待提交"),
    "plan_overdue": ("overdue", "已逾期"),
    "plan_submitted": ("submitted", "已提交"),
    "plan_by": ("recorded by {name} on {date}", "{name} 于 {date} 登记"),
    "no_plans": (
        "No improvement plan: this manager has not been in the bottom of a monthly ranking.",
        "无整改方案：该客户经理未进入月度考核排名后两名。",
    ),
    "record_plan": ("Record a submitted plan", "登记已提交的整改方案"),
    "plan_refused": ("The plan was not recorded:", "整改方案未登记："),
    "save_plan": ("Record plan", "登记方案"),
    "plan_saved": ("Plan for {period} recorded.", "已登记 {period} 的整改方案。"),
    "plan_leads_only": ("Only a lead may record a plan.", "只有组长可以登记整改方案。"),
    "trends": ("Trends, last 12 months", "近 12 个月趋势"),
    "trend_legend": (
        "Solid: this manager; dashed: the team (the mean of its managers' scores).",
        "实线：该客户经理；虚线：所在团队（团队得分为成员得分的平均值）。",
    ),
    "trend_gaps": ("No scorecards for {months}.", "以下月份没有考核评分：{months}。"),
    "no_trends": (
        "No month of the last 12 has scorecards yet.",
        "近 12 个月尚无考核评分。",
    ),
    "trend_score": ("Score (100 points)", "考核评分（100 分）"),
    "trend_churn_rate": ("Churn rate", "客户流失率"),
    "trend_repeat_purchase_rate": ("Repeat-purchase rate", "重复购买率"),
    "trend_contact_response_rate": ("Contact response rate", "联系响应率"),
    "trend_upsell_rate": ("Upsell rate", "增购率"),
    "trend_complaint_rate": ("Complaint rate", "客户投诉率"),
    "trend_satisfaction": ("Satisfaction", "客户满意度"),
    # --- end issue 34 ---
}

CATEGORIES_ZH: dict[str, dict[str, str]] = {
    "lifecycle_status": {"active": "活跃", "lapsing": "即将流失", "lapsed": "已流失"},
    "risk_band": {"high": "高", "medium": "中", "low": "低"},
    "rfm_segment": {k: zh for k, (_, zh) in SEGMENT_TITLES.items()},
    "outcome": {
        "reached": "已接通",
        "no_answer": "未接听",
        "accepted": "已接受",
        "declined": "已拒绝",
    },
    "contact_channel": {"call": "电话", "email": "邮件", "chat": "在线聊天", "visit": "上门拜访"},
    "offer": {"none": "无", "discount": "折扣", "upgrade": "升级", "free month": "免费一个月"},
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
    if column == "rfm_segment" and shown in SEGMENT_TITLES:
        return SEGMENT_TITLES[shown][0 if lang == "en" else 1]
    if lang == "en":
        return shown
    if column in CATEGORIES_ZH:
        return CATEGORIES_ZH[column].get(shown, shown)
    if is_known(column) and describe(column).kind == "category":
        return level(column, shown, lang)
    return shown
