"""What an old system writes in its exports, read into Doudi's terms (原系统用语): 救助类别 →
programme (and part), 发放月份 → a month, 发放状态 → paid or failed, 审批结果 → a decision
kind. A word not in a table is refused with the words accepted, never guessed."""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

from doudi.programmes import catalogue

# words old systems use beyond the catalogue's own labels → (programme, part)
_PROGRAMME_WORDS: dict[str, tuple[str, str]] = {
    **{w: ("dibao", "") for w in (
        "低保", "城市低保", "农村低保", "城镇低保", "城市最低生活保障", "农村最低生活保障",
        "城镇最低生活保障", "最低生活保障", "低保渐退", "渐退低保")},
    **{w: ("single_person", "") for w in ("单人保", "单人户低保", "单人户")},
    **{w: ("tekun", "") for w in (
        "特困", "特困人员", "特困供养", "特困人员供养", "特困人员救助供养", "五保",
        "农村五保", "五保供养", "分散供养特困", "集中供养特困", "分散特困", "集中特困",
        "城市三无", "三无人员")},
    **{w: ("edge", "") for w in ("低保边缘", "低保边缘家庭", "边缘家庭", "低边")},
    **{w: ("hardship", "") for w in ("支出型", "支出型困难家庭", "刚性支出困难家庭")},
    **{w: ("child", "") for w in (
        "孤儿", "事实无人抚养儿童", "孤儿基本生活费", "孤儿基本生活保障", "集中供养孤儿",
        "散居孤儿", "社会散居孤儿")},
    **{w: ("disability", "disability_living") for w in (
        "困难残疾人生活补贴", "残疾人生活补贴", "生活补贴")},
    **{w: ("disability", "disability_care") for w in (
        "重度残疾人护理补贴", "残疾人护理补贴", "护理补贴")},
    **{w: ("disability", "") for w in ("两项补贴", "残疾人两项补贴")},
}


def _normal(word: str) -> str:
    return re.sub(r"[\s　()（）]", "", word or "")


def programme_words() -> dict[str, tuple[str, str]]:
    """Every accepted word: the catalogue's labels and short labels (a part's label names the
    part), then the old systems' words."""
    return _programme_words(catalogue.version())


@lru_cache(maxsize=4)
def _programme_words(version: int) -> dict[str, tuple[str, str]]:
    words: dict[str, tuple[str, str]] = {}
    for p in catalogue.programmes():
        if p.one_off or not p.casework:
            continue  # 临时救助 is not paid monthly; 低保渐退 is a 低保 enrollment tapering
        words[_normal(p.label)] = (p.code, "")
        words[_normal(p.short_label)] = (p.code, "")
        for part in p.parts:
            words[_normal(part.label)] = (p.code, part.code)
    words.update({_normal(k): v for k, v in _PROGRAMME_WORDS.items()})
    return words


def programme(word: str) -> tuple[str, str] | None:
    """(programme code, part code or "") for an old system's 救助类别, or None."""
    return programme_words().get(_normal(word))


def label(programme: str, part: str = "") -> str:
    """The short name a clerk reads in a plan: 低保, 特困, 重度残疾人护理补贴."""
    found = catalogue.get(programme)
    if found is None:
        return programme
    return next((u.label for u in found.parts if u.code == part), found.short_label)


def programme_reason(word: str) -> str:
    return (f"不认识的救助类别“{word}”，可填：城市低保、农村低保、特困（五保）、低保边缘、"
            "支出型困难家庭、孤儿、困难残疾人生活补贴、重度残疾人护理补贴等")


_YEAR_MONTH = (re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$"),
               re.compile(r"^(\d{4})(\d{2})$"))
_DATE = (re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:\s+00:00(?::00)?)?$"),
         re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"))
MONTH_EXAMPLE = "应填年月，如 2024-03 或 2024年3月"


def month(text: str) -> tuple[dt.date | None, str]:
    """(the month's first day, "") or (None, the reason). A full date is a month only on the
    1st (how a spreadsheet stores a month); another day may be the day it was paid, which
    can belong to the month before, so it is refused. A bare year, or a number Excel made
    of a date, is refused too."""
    text = (text or "").strip()
    for pattern in _YEAR_MONTH:
        found = pattern.match(text)
        if found:
            return _first(int(found[1]), int(found[2]), text)
    for pattern in _DATE:
        found = pattern.match(text)
        if found:
            if int(found[3]) != 1:
                return None, f"“{text}”是日期，不是发放月份（{MONTH_EXAMPLE}）"
            return _first(int(found[1]), int(found[2]), text)
    return None, f"发放月份“{text}”不是完整的年月（{MONTH_EXAMPLE}）"


def _first(year: int, month_number: int, text: str) -> tuple[dt.date | None, str]:
    if not (1 <= month_number <= 12 and 1990 <= year <= 2100):
        return None, f"发放月份“{text}”不是有效的年月（{MONTH_EXAMPLE}）"
    return dt.date(year, month_number, 1), ""


PAID, FAILED = "paid", "failed"
_STATUS_WORDS = {
    **{w: PAID for w in ("", "已发放", "发放成功", "成功", "已到账", "已支付", "已发", "正常",
                         "正常发放", "已兑付", "已拨付")},
    **{w: FAILED for w in ("失败", "发放失败", "退回", "银行退回", "退票", "未到账", "支付失败")},
}


def payment_status(word: str | None) -> str | None:
    """paid, failed, or None for a status that is neither (待发放, 暂停发放 …)."""
    return _STATUS_WORDS.get(_normal(word or ""))


def status_reason(word: str) -> str:
    return (f"发放状态“{word}”：只导入已发放（已发放、发放成功、已到账）或发放失败（发放失败、"
            "银行退回）的记录；待发放、暂停等未发放的月份请不要导出")


_DECISION_WORDS = {
    **{w: "approve" for w in ("批准", "纳入", "批准纳入", "审批通过", "同意", "新增", "准予",
                              "确认", "认定")},
    **{w: "increase" for w in ("增发", "提标", "增加", "提高保障金")},
    **{w: "decrease" for w in ("减发", "减少", "降低保障金")},
    **{w: "suspend" for w in ("暂停", "暂停发放", "暂停保障")},
    **{w: "resume" for w in ("恢复", "恢复发放")},
    **{w: "taper" for w in ("渐退", "低保渐退")},
    **{w: "stop" for w in ("停保", "停发", "退出", "终止", "取消", "注销", "停止保障")},
    **{w: "refuse" for w in ("不予批准", "不批准", "不予纳入", "驳回", "审批不通过", "不同意")},
    # 复核: kept only where the history records it as a kind of its own
    **{w: "review" for w in ("复核", "年审", "继续保障", "复核继续", "复审")},
}


def decision_kind(word: str) -> str | None:
    return _DECISION_WORDS.get(_normal(word))


def decision_reason(word: str) -> str:
    return (f"不认识的审批结果“{word}”，可填：批准（纳入）、增发（提标）、减发、暂停、恢复、渐退、"
            "停保（退出、终止）、不予批准")
