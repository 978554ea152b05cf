"""Words and formats of the reports and alerts in each language they come in (zh-CN, en): labels,
rule names, what to check per rule, dates in the reader's time zone, amounts and ages."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo


class Language(StrEnum):
    zh_cn = "zh-CN"
    en = "en"


LABELS: dict[Language, dict[str, str]] = {
    Language.en: {
        "report_title": "Order discrepancies",
        "as_of": "As of",
        "summary": "Summary",
        "open": "Open",
        "new_since": "New since the last report",
        "resolved_since": "Resolved since the last report",
        "amount_at_stake": "Amount at stake",
        "by_rule": "Open by rule",
        "by_system": "Open by system",
        "rule": "Rule",
        "system": "System",
        "count": "Count",
        "chart": "Open discrepancies by rule and age",
        "table": "Discrepancies",
        "table_new": "New since the last report and still open",
        "table_all": "All open discrepancies",
        "order": "Order",
        "severity": "Severity",
        "status": "Status",
        "systems_say": "What each system says",
        "age": "Age",
        "amount_difference": "Amount difference",
        "what_to_check": "What to check",
        "opened": "Opened",
        "summary_text": "Details",
        "id": "ID",
        "nothing": "Nothing to report.",
        "more_rows": "{count} more in the attached spreadsheet.",
        "attachments": "The full list is attached as a spreadsheet (XLSX) and as CSV.",
        "numbers": "Time in each stage",
        "stage": "Stage",
        "orders": "Orders",
        "average": "Average",
        "p90": "90th percentile",
        "within_sla": "Within SLA",
        "waiting_now": "Waiting now",
        "trend": "Open at the end of the day, last 30 days",
        "days_ago": "{days} days ago",
        "today": "today",
        "longest_wait": "Orders wait longest in",
        "since_previous": "since {when}",
        "first_report": "first report",
        "new": "new",
        "none": "none",
        "says_nothing": "no record",
        "alerts_title": "orderbridge: {count} discrepancies need attention",
        "alert_title": "orderbridge: discrepancy on {order}",
        "tier": "escalation",
        "source_unhealthy": "{system} keeps failing ({failures} polls in a row): {error}",
        "source_recovered": "{system} is answering again",
        "source_title": "orderbridge: source {system}",
        "and_more": "… and {count} more",
        "open_since": "open for {age}",
        "severity_critical": "critical",
        "severity_warning": "warning",
        "severity_info": "info",
        "status_open": "open",
        "status_acknowledged": "acknowledged",
        "status_snoozed": "snoozed",
        "footer": "Sent by orderbridge. Acknowledge a discrepancy with: orderbridge ack ID --by NAME",
    },
    Language.zh_cn: {
        "report_title": "订单差异报告",
        "as_of": "截至",
        "summary": "概要",
        "open": "未解决",
        "new_since": "自上次报告以来新增",
        "resolved_since": "自上次报告以来已解决",
        "amount_at_stake": "涉及金额",
        "by_rule": "按规则统计(未解决)",
        "by_system": "按系统统计(未解决)",
        "rule": "规则",
        "system": "系统",
        "count": "数量",
        "chart": "未解决差异:按规则和时长",
        "table": "差异明细",
        "table_new": "自上次报告以来新增且仍未解决",
        "table_all": "全部未解决差异",
        "order": "订单",
        "severity": "级别",
        "status": "状态",
        "systems_say": "各系统的记录",
        "age": "时长",
        "amount_difference": "金额差异",
        "what_to_check": "核对建议",
        "opened": "发现时间",
        "summary_text": "说明",
        "id": "编号",
        "nothing": "没有需要报告的差异。",
        "more_rows": "另有 {count} 条,见附件表格。",
        "attachments": "完整清单见附件(XLSX 表格和 CSV 文件)。",
        "numbers": "各环节耗时",
        "stage": "环节",
        "orders": "订单数",
        "average": "平均",
        "p90": "90% 分位",
        "within_sla": "按时完成率",
        "waiting_now": "当前等待",
        "trend": "近 30 天每日未解决数量",
        "days_ago": "{days} 天前",
        "today": "今天",
        "longest_wait": "等待最久的环节",
        "since_previous": "自 {when} 起",
        "first_report": "首次报告",
        "new": "新增",
        "none": "无",
        "says_nothing": "无记录",
        "alerts_title": "orderbridge:{count} 条订单差异需要处理",
        "alert_title": "orderbridge:订单 {order} 存在差异",
        "tier": "升级",
        "source_unhealthy": "{system} 连续 {failures} 次拉取失败:{error}",
        "source_recovered": "{system} 已恢复",
        "source_title": "orderbridge:数据源 {system}",
        "and_more": "…… 另有 {count} 条",
        "open_since": "已持续 {age}",
        "severity_critical": "严重",
        "severity_warning": "警告",
        "severity_info": "提示",
        "status_open": "未处理",
        "status_acknowledged": "已确认",
        "status_snoozed": "已暂缓",
        "footer": "由 orderbridge 发送。确认差异:orderbridge ack 编号 --by 姓名",
    },
}


# The web pages' words, looked up by `label` like the reports' (kept apart to keep each list short).
PAGE_LABELS: dict[Language, dict[str, str]] = {
    Language.en: {
        "web_title": "orderbridge",
        "nav_board": "Discrepancies",
        "nav_stages": "Stages",
        "nav_systems": "Systems",
        "log_in": "Log in",
        "log_out": "Log out",
        "user_name": "Name",
        "password": "Password",
        "login_title": "Log in to orderbridge",
        "login_failed": "Wrong name or password.",
        "login_limited": "Too many log-in attempts from here. Please wait a minute and try again.",
        "search_hint": "Order, document or tracking number",
        "search": "Find",
        "filter": "Filter",
        "any": "any",
        "min_age": "Open at least",
        "min_amount": "Amount difference at least",
        "dimension": "Dimension",
        "acknowledge": "Acknowledge",
        "snooze": "Snooze",
        "note": "Note",
        "snooze_for": "for",
        "no_match": "No open discrepancy matches.",
        "refreshed": "Refreshed",
        "acknowledged_by": "acknowledged by {user}",
        "done_ack": "#{id} acknowledged by {user}.",
        "done_snooze": "#{id} snoozed until {until}.",
        "action_failed": "#{id}: {reason}",
        "timeline": "Every status every system reported",
        "at": "When",
        "native": "In the system's words",
        "canonical": "Canonical",
        "record": "Record",
        "history": "History",
        "by": "by",
        "event_opened": "opened",
        "event_escalated": "escalated",
        "event_acknowledged": "acknowledged",
        "event_snoozed": "snoozed",
        "event_snooze_ended": "snooze ended",
        "event_resolved": "resolved",
        "event_reopened": "reopened",
        "matched_by": "found as {how}",
        "not_found": "No order is known as {text}.",
        "did_you_mean": "Did you mean",
        "several": "{text} names several orders:",
        "retired": "No longer listed by its source",
        "order_discrepancies": "Discrepancies of this order",
        "stages_title": "Time in each stage",
        "share_within_sla": "Share within SLA",
        "waiting_longest": "Waiting longest now",
        "hours": "hours",
        "no_stays": "No completed stays yet.",
        "systems_title": "Sources",
        "health": "Health",
        "healthy": "healthy",
        "failing": "failing",
        "unhealthy": "unhealthy since",
        "not_polled": "pushes (not polled)",
        "not_polled_yet": "not polled by the daemon yet",
        "newest_record": "Newest record",
        "last_success": "Last success",
        "last_error": "Last error",
        "failures": "Failures in a row",
        "lag": "Lag",
        "records": "Records",
        "cursor_saved": "Read up to",
        "quarantined": "Quarantined records",
        "reason": "Reason",
        "location": "Where",
        "times_seen": "Seen",
        "first_seen": "First seen",
        "nothing_quarantined": "Nothing quarantined.",
        "track_title": "Where is my order?",
        "order_number": "Order number",
        "factor_email": "E-mail address",
        "factor_phone": "Last {digits} digits of your phone number",
        "factor_postcode": "Postcode",
        "look_up": "Look up",
        "track_not_found": (
            "We found no order with this number and these details. Please check both and try again."
        ),
        "track_limited": "Too many look-ups from here. Please wait a minute and try again.",
        "track_progress": "Your order",
        "step_placed": "Ordered",
        "step_preparing": "Being prepared",
        "step_shipped": "Shipped",
        "step_delivered": "Delivered",
        "step_cancelled": "Cancelled",
        "step_returned": "Returned",
        "tracking_number": "Tracking number",
        "not_yet": "not yet",
        "language": "中文",
    },
    Language.zh_cn: {
        "web_title": "orderbridge",
        "nav_board": "差异看板",
        "nav_stages": "环节耗时",
        "nav_systems": "数据源",
        "log_in": "登录",
        "log_out": "退出",
        "user_name": "用户名",
        "password": "密码",
        "login_title": "登录 orderbridge",
        "login_failed": "用户名或密码错误。",
        "login_limited": "登录尝试过于频繁,请一分钟后再试。",
        "search_hint": "订单号、单据号或运单号",
        "search": "查找",
        "filter": "筛选",
        "any": "全部",
        "min_age": "至少持续",
        "min_amount": "金额差异至少",
        "dimension": "维度",
        "acknowledge": "确认",
        "snooze": "暂缓",
        "note": "备注",
        "snooze_for": "时长",
        "no_match": "没有符合条件的未解决差异。",
        "refreshed": "刷新于",
        "acknowledged_by": "由 {user} 确认",
        "done_ack": "#{id} 已由 {user} 确认。",
        "done_snooze": "#{id} 暂缓至 {until}。",
        "action_failed": "#{id}:{reason}",
        "timeline": "各系统报告的全部状态",
        "at": "时间",
        "native": "系统原文",
        "canonical": "标准状态",
        "record": "记录",
        "history": "处理记录",
        "by": "操作人",
        "event_opened": "发现",
        "event_escalated": "升级",
        "event_acknowledged": "确认",
        "event_snoozed": "暂缓",
        "event_snooze_ended": "暂缓结束",
        "event_resolved": "解决",
        "event_reopened": "重新打开",
        "matched_by": "匹配方式:{how}",
        "not_found": "没有找到订单 {text}。",
        "did_you_mean": "您是否要找",
        "several": "{text} 对应多个订单:",
        "retired": "来源系统已不再列出",
        "order_discrepancies": "该订单的差异",
        "stages_title": "各环节耗时",
        "share_within_sla": "按时完成率",
        "waiting_longest": "当前等待最久",
        "hours": "小时",
        "no_stays": "尚无已完成的环节。",
        "systems_title": "数据源",
        "health": "状态",
        "healthy": "正常",
        "failing": "失败",
        "unhealthy": "异常,始于",
        "not_polled": "推送(不拉取)",
        "not_polled_yet": "守护进程尚未拉取",
        "newest_record": "最新记录",
        "last_success": "最近成功",
        "last_error": "最近错误",
        "failures": "连续失败次数",
        "lag": "延迟",
        "records": "记录数",
        "cursor_saved": "已读取至",
        "quarantined": "隔离的记录",
        "reason": "原因",
        "location": "位置",
        "times_seen": "出现次数",
        "first_seen": "首次出现",
        "nothing_quarantined": "没有隔离的记录。",
        "track_title": "订单查询",
        "order_number": "订单号",
        "factor_email": "电子邮箱",
        "factor_phone": "手机号后 {digits} 位",
        "factor_postcode": "邮政编码",
        "look_up": "查询",
        "track_not_found": "未找到与该订单号和信息相符的订单,请核对后重试。",
        "track_limited": "查询过于频繁,请一分钟后再试。",
        "track_progress": "您的订单",
        "step_placed": "下单",
        "step_preparing": "备货",
        "step_shipped": "发货",
        "step_delivered": "签收",
        "step_cancelled": "已取消",
        "step_returned": "已退货",
        "tracking_number": "运单号",
        "not_yet": "尚未",
        "language": "English",
    },
}

RULE_LABELS: dict[Language, dict[str, str]] = {
    Language.en: {
        "status_lag": "Status lag",
        "status_conflict": "Status conflict",
        "still_open": "Still open elsewhere",
        "ahead_of_authority": "Ahead of the system in charge",
        "missing": "Missing in a system",
        "quantity_mismatch": "Quantity mismatch",
        "amount_mismatch": "Amount mismatch",
        "stuck": "Stuck in a stage",
        "regression": "Status went backwards",
        "unmapped_status": "Unmapped status",
        "duplicate": "Duplicate record",
        "orphan": "Record without an order",
    },
    Language.zh_cn: {
        "status_lag": "状态滞后",
        "status_conflict": "状态冲突",
        "still_open": "他处仍在处理",
        "ahead_of_authority": "超前于主管系统",
        "missing": "系统中缺失",
        "quantity_mismatch": "数量不符",
        "amount_mismatch": "金额不符",
        "stuck": "环节停滞",
        "regression": "状态倒退",
        "unmapped_status": "未映射的状态",
        "duplicate": "重复记录",
        "orphan": "无法关联订单的记录",
    },
}

WHAT_TO_CHECK: dict[Language, dict[str, str]] = {
    Language.en: {
        "status_lag": "Ask the system that lags to post the status the others already show.",
        "status_conflict": "Find out which system is right; goods may have left for a cancelled order.",
        "still_open": "Stop the order where it is still worked on; another system stopped it.",
        "ahead_of_authority": "Confirm with the system in charge of this stage before acting on the claim.",
        "missing": "Check the interface or transfer between the systems; the order never arrived.",
        "quantity_mismatch": "Compare delivery note and invoice with the order; correct the wrong one.",
        "amount_mismatch": "Compare invoice, payment and order amount; issue a credit note or correct it.",
        "stuck": "Ask the department responsible for this stage what holds the order.",
        "regression": "Check why the status moved back (a correction, or a mistake).",
        "unmapped_status": "Add the new status word to the status table in the configuration.",
        "duplicate": "Merge or cancel the extra record.",
        "orphan": "Find the order the record belongs to and add the missing reference.",
    },
    Language.zh_cn: {
        "status_lag": "请滞后的系统补录其他系统已显示的状态。",
        "status_conflict": "确认哪个系统正确;可能已为已取消的订单发货。",
        "still_open": "通知仍在处理的系统停止该订单:另一系统已将其取消、暂停或关闭。",
        "ahead_of_authority": "以负责该环节的系统为准,先核实再处理。",
        "missing": "检查系统之间的接口或传输,订单未到达。",
        "quantity_mismatch": "核对发货单、发票与订单数量,更正有误的一方。",
        "amount_mismatch": "核对发票、收款与订单金额,开具红字发票或更正。",
        "stuck": "询问该环节负责部门订单卡在哪里。",
        "regression": "核实状态为何倒退(更正还是误操作)。",
        "unmapped_status": "在配置的状态映射表中加入新的状态词。",
        "duplicate": "合并或作废多余的记录。",
        "orphan": "找到该记录所属的订单并补充关联号。",
    },
}

AGE_BANDS: tuple[tuple[str, timedelta | None], ...] = (
    ("<1d", timedelta(days=1)),
    ("1-3d", timedelta(days=3)),
    ("3-7d", timedelta(days=7)),
    (">=7d", None),
)


def label(language: Language, key: str, **values: object) -> str:
    text = LABELS[language].get(key) or PAGE_LABELS[language][key]
    return text.format(**values) if values else text


def rule_label(language: Language, rule: str) -> str:
    return RULE_LABELS[language].get(rule, rule)


def what_to_check(language: Language, rule: str) -> str:
    return WHAT_TO_CHECK[language].get(rule, "")


def age_band(age: timedelta) -> str:
    for name, limit in AGE_BANDS:
        if limit is None or age < limit:
            return name
    return AGE_BANDS[-1][0]


def format_datetime(moment: datetime, language: Language, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    if language is Language.zh_cn:
        return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"
    return local.strftime("%d %b %Y %H:%M")


def format_date(moment: datetime, language: Language, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    if language is Language.zh_cn:
        return f"{local.year}-{local.month:02d}-{local.day:02d}"
    return local.strftime("%d %b %Y")


def format_age(age: timedelta, language: Language) -> str:
    hours = int(age.total_seconds() // 3600)
    days, hours = divmod(max(hours, 0), 24)
    if language is Language.zh_cn:
        return f"{days}天{hours}小时" if days else f"{hours}小时"
    return f"{days}d {hours}h" if days else f"{hours}h"


def format_hours(value: float | None, language: Language) -> str:
    if value is None:
        return "–"
    if value >= 48:
        return f"{value / 24:.1f}天" if language is Language.zh_cn else f"{value / 24:.1f} d"
    return f"{value:.1f}小时" if language is Language.zh_cn else f"{value:.1f} h"


def format_amount(value: Decimal, currency: str | None, language: Language) -> str:
    """Grouped thousands, two decimals, the currency code after (zh-CN) or before (en) the number."""
    text = f"{value:,.2f}"
    if not currency:
        return text
    return f"{text} {currency}" if language is Language.zh_cn else f"{currency} {text}"


def format_share(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"
