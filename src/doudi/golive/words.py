"""The words old systems write for codes (原系统字典): programme, relation, disability,
labour capacity, schooling, self-care, hukou, yes/no; and in the history files 发放月份,
发放状态 and 审批结果. Each reader returns the code, or raises
`Unreadable` with a Chinese reason naming the words it accepts — a word it does not know is
refused, never guessed. Pure Python."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from doudi.programmes import catalogue
from doudi.registry import choices
from doudi.registry.categories import CATEGORIES


class Unreadable(ValueError):
    """A cell whose word is not in the table; the message is Chinese and says what is accepted."""


def _clean(word: str | None) -> str:
    return re.sub(r"[\s\u3000]+", "", word or "")


@dataclass(frozen=True)
class ProgrammeWord:
    """What an old system's 救助类别 means: the programme, the part (两项补贴), the hukou the
    word implies (城市低保 / 农村低保), the person category it also sets (孤儿), and whether the
    household is in 渐退."""

    programme: str
    part: str = ""
    hukou: str = ""
    category: str = ""
    taper: bool = False


WORDS_FILE = Path(__file__).parent / "programme_words.yaml"


@lru_cache(maxsize=4)
def _read_words(version: int) -> dict[str, ProgrammeWord]:
    """programme_words.yaml read and checked against the catalogue (`version`: rebuilt when
    the catalogue changes)."""
    table: dict[str, ProgrammeWord] = {}
    for entry in yaml.safe_load(WORDS_FILE.read_text(encoding="utf-8"))["words"]:
        found = catalogue.get(entry["programme"])
        part = entry.get("part", "")
        if found is None or (part and part not in {u.code for u in found.parts}):
            raise ValueError(f"{WORDS_FILE.name}：{entry['programme']} {part} 不在救助项目目录中")
        category = entry.get("category", "")
        if category and category not in CATEGORIES:
            raise ValueError(f"{WORDS_FILE.name}：未知类别 {category}")
        meaning = ProgrammeWord(found.code, part, entry.get("hukou", ""), category,
                                bool(entry.get("taper", False)))
        table.update({_clean(w): meaning for w in entry["words"]})
    return table


def _programmes() -> dict[str, ProgrammeWord]:
    return _read_words(catalogue.version())


def programme(word: str | None) -> ProgrammeWord:
    found = _programmes().get(_clean(word))
    if found is None:
        raise Unreadable(f"救助类别“{word or ''}”无法识别，可填：城市低保、农村低保、低保渐退、"
                         "单人保、特困供养、低保边缘家庭、支出型困难家庭、孤儿、事实无人抚养儿童、"
                         "困难残疾人生活补贴、重度残疾人护理补贴")
    return found


def _table(pairs: dict[str, str]) -> dict[str, str]:
    return {w: code for words, code in pairs.items() for w in words.split()}


_RELATIONS = _table({
    "户主 本人 申请人": "head",
    "配偶 妻 夫 妻子 丈夫 爱人": "spouse",
    "子女 子 女 儿子 女儿 长子 次子 三子 长女 次女 三女 独生子 独生女 养子 养女 继子 继女": "child",
    "儿媳 女婿 儿媳/女婿 子女配偶": "child_in_law",
    "父母 父亲 母亲 父 母 继父 继母 养父 养母": "parent",
    "公婆/岳父母 公公 婆婆 岳父 岳母 配偶父母": "parent_in_law",
    "孙子女/外孙子女 孙子 孙女 外孙 外孙子 外孙女 孙子女 外孙子女": "grandchild",
    "祖父母/外祖父母 祖父 祖母 外祖父 外祖母 爷爷 奶奶 外公 外婆": "grandparent",
    "兄弟姐妹 兄 弟 姐 妹 哥哥 弟弟 姐姐 妹妹 兄弟 姐妹": "sibling",
    "其他 其它 其他亲属": "other",
})


def relation(word: str | None) -> str:
    found = _RELATIONS.get(_clean(word))
    if found is None:
        raise Unreadable(f"与户主关系“{word or ''}”无法识别，可填："
                         + "、".join(label for _, label in choices.RELATION_CHOICES))
    return found


_SEXES = {"男": "M", "男性": "M", "女": "F", "女性": "F"}


def sex(word: str | None) -> str | None:
    """"M" / "F", or None for a blank cell (the ID then says it)."""
    text = _clean(word)
    if not text:
        return None
    if text not in _SEXES:
        raise Unreadable(f"性别“{word}”无法识别，应填“男”或“女”")
    return _SEXES[text]


_NONE = {"", "无", "否", "-", "—", "/", "无残疾", "非残疾", "未残疾", "不适用"}
_DISABILITY = {label.removesuffix("残疾"): code
               for code, label in choices.DISABILITY_CATEGORY_CHOICES}
_GRADES = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}


def disability(category: str | None, grade: str | None) -> tuple[str, int | None]:
    """(category code, grade 1–4) or ("", None): both given or neither."""
    c, g = _clean(category), _clean(grade)
    c = "" if c in _NONE else c
    g = "" if g in _NONE else g
    if not c and not g:
        return "", None
    code = _DISABILITY.get(c.removesuffix("残疾")) if c else None
    if c and code is None:
        raise Unreadable(f"残疾类别“{category}”无法识别，可填："
                         + "、".join(label for _, label in choices.DISABILITY_CATEGORY_CHOICES))
    number = _GRADES.get(re.sub(r"^(残疾)?|级$", "", g)) if g else None
    if g and number is None:
        raise Unreadable(f"残疾等级“{grade}”无法识别，应为一级至四级")
    if code is None or number is None:
        raise Unreadable("残疾类别与残疾等级应同时填写（见残疾证）")
    return code, number


_LABOUR = _table({
    "有劳动能力 有 完全劳动能力 全部劳动能力 健全": "full",
    "部分丧失劳动能力 部分劳动能力 部分丧失 弱劳动能力 半劳动能力": "partial",
    "无劳动能力 丧失劳动能力 完全丧失劳动能力 无": "none",
})


def labour_capacity(word: str | None) -> str | None:
    """A code, or None for a blank cell."""
    text = _clean(word)
    if not text:
        return None
    if text not in _LABOUR:
        raise Unreadable(f"劳动能力“{word}”无法识别，"
                         "可填：有劳动能力、部分丧失劳动能力、无劳动能力")
    return _LABOUR[text]


_STUDENT = _table({
    "非在校 否 无 不在校 未上学 已毕业 辍学 学龄前": "",
    "学前 幼儿园 学前教育 在园": "preschool",
    "小学 在读小学 小学在读": "primary",
    "初中 在读初中 初中在读": "junior",
    "高中 普通高中 在读高中 高中在读": "senior",
    "中职 高职 中专 技校 职高 中职/高职 职业学校": "vocational",
    "本科 专科 大学 大专 本科/专科 大学本科 大学专科": "undergraduate",
    "研究生 硕士 博士": "postgraduate",
})


def student_status(word: str | None) -> str:
    text = _clean(word)
    if not text:
        return ""
    if text not in _STUDENT:
        raise Unreadable(f"在校情况“{word}”无法识别，可填："
                         + "、".join(label for _, label in choices.STUDENT_CHOICES))
    return _STUDENT[text]


# 生活自理能力 in the bands the 特困 care standard uses; the registry counts the six daily-living
# items a person cannot manage, and a band is stored as its lowest count (same care level).
_SELF_CARE = _table({
    "全自理 完全自理 生活能自理 能自理 自理 具备生活自理能力": "0",
    "半失能 部分失能 半自理 部分自理 部分丧失生活自理能力 半护理": "1",
    "全失能 完全失能 不能自理 完全不能自理 生活不能自理 完全丧失生活自理能力 全护理": "4",
})


def self_care(word: str | None) -> int | None:
    """The number of daily-living items not managed (0–6), or None for a blank cell."""
    text = _clean(word)
    if not text:
        return None
    if text.isdigit() and 0 <= int(text) <= choices.ADL_ITEM_COUNT:
        return int(text)
    if text not in _SELF_CARE:
        raise Unreadable(f"生活自理能力“{word}”无法识别，可填：全自理、半失能、全失能，"
                         f"或不能自理的项数 0–{choices.ADL_ITEM_COUNT}")
    return int(_SELF_CARE[text])


_HUKOU = _table({"城镇 城市 非农业 非农 城镇户口 非农业户口 居民户口 城镇居民": "urban",
                 "农村 农业 农业户口 农村户口 农村居民": "rural"})


def hukou(word: str | None) -> str | None:
    text = _clean(word)
    if not text:
        return None
    if text not in _HUKOU:
        raise Unreadable(f"户籍性质“{word}”无法识别，应填“城镇”或“农村”")
    return _HUKOU[text]


_YES_NO = {"是": True, "否": False, "Y": True, "N": False, "1": True, "0": False,
           "√": True, "×": False}


def yes_no(word: str | None, label: str) -> bool | None:
    text = _clean(word).upper()
    if not text:
        return None
    if text not in _YES_NO:
        raise Unreadable(f"{label}“{word}”无法识别，应填“是”或“否”")
    return _YES_NO[text]


def blank_or(word: str | None) -> str:
    """Free text with the words for "none" read as blank (重病病种: 无 → "")."""
    text = (word or "").strip()
    return "" if _clean(text) in _NONE else text


_COMMITTEES = ("社区居民委员会", "居民委员会", "村民委员会", "社区居委会", "居委会", "村委会")


def place_names(name: str) -> set[str]:
    """The names an address gives a village or community besides its division name: without
    the committee (荷花池社区居委会 → 荷花池社区, 高枧村村委会 → 高枧村, 林塘村民委员会 → 林塘村).
    A name is matched by them only where one village of the town has it."""
    out = set()
    for suffix in _COMMITTEES:
        if name.endswith(suffix) and len(name) > len(suffix):
            base = name[: -len(suffix)]
            out.add(base + ("社区" if suffix.startswith("社区") else ""))
            if suffix.startswith("村") and not base.endswith("村"):
                out.add(base + "村")
            break
    return out - {name}


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
    words.update({_normal(k): (v.programme, v.part) for k, v in _programmes().items()})
    return words


def programme_code(word: str) -> tuple[str, str] | None:
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


def words_for(programme_code: str, hukou_code: str = "") -> list[str]:
    """The plain words for a programme (no part, category or 渐退), those naming `hukou_code`
    first: what an old system's export writes for it (`synth.old_system`)."""
    plain = [(w, m) for w, m in _programmes().items() if m.programme == programme_code
             and not (m.part or m.category or m.taper)]
    return ([w for w, m in plain if m.hukou == hukou_code]
            + [w for w, m in plain if m.hukou != hukou_code])
