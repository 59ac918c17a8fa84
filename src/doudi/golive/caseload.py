"""Caseload import (在保数据导入): an old system's covered households, their members, their
programmes with start dates, approving decisions, current amounts, payees, review dates and
渐退 in progress, brought into an empty Doudi (docs/going-live.md).

`plan` reads the files (`caseload_files`) and checks what the rows mean together, household by
household; nothing is written. Every row that cannot be read with certainty is refused with a
Chinese reason, and a household one of whose rows is refused is refused whole. `apply` writes a
plan with no refusals in one transaction — households, persons, memberships, the declared
income, the programme status, enrollments with their start event and payee, the approval as a
historical decision, the review due and the 渐退 end — or nothing at all. A household already
imported with the same content is 无变化; with other content it is refused (the go-live import
never overwrites: a change after go-live is casework).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from django.db import transaction

from doudi.areas.models import Area
from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.benefits import banks
from doudi.benefits.models import Enrollment, EnrollmentEvent, ReviewTask, mask_account
from doudi.core import areacode, clock, excel, idnumber
from doudi.core.ages import age_on
from doudi.core.errors import ServiceError
from doudi.core.masking import mask_id_number, mask_name
from doudi.core.money import yuan_text
from doudi.exchange import storage
from doudi.golive import caseload_files, words
from doudi.golive.caseload_files import Sources, Where
from doudi.golive.models import GoliveImport, HistoricalDecision, LegacyHousehold
from doudi.programmes import catalogue
from doudi.registry.categories import CATEGORIES
from doudi.registry.models import CategoryAssignment, Household, Membership, Observation, Person
from doudi.registry.services import name_initials

NEW, UNCHANGED, REFUSED = "新建", "无变化", "拒收"
EARLIEST = dt.date(1990, 1, 1)  # no covered case in a live caseload starts before this
MAX_MONTHLY_FEN = 1_000_000  # 10,000 元 a month: above it, a unit was surely misread
WORKING_AGE = (16, 59)  # labour capacity must be stated between these ages (inclusive)
HOUSEHOLD_FIELDS = ("town", "village", "area_code", "hukou", "address", "income", "head_name",
                    "head_id")
NOT_A_MEMBER = "收款人不是本户成员：如为代领，请导入后在系统中登记代领人及原因"
ENROLMENT_FIELDS = ("amount", "start_date", "approved_on", "document_number", "payee_name",
                    "payee_id", "bank", "account", "review_due", "taper_until")


LINES_SCHEMA = {"legacy_number": pl.String, "town": pl.String, "village": pl.String,
                "head": pl.String, "head_id": pl.String, "persons": pl.Int64,
                "programmes": pl.String, "monthly_fen": pl.Int64, "action": pl.String,
                "note": pl.String, "rows": pl.String}


class CaseloadError(ServiceError):
    """A caseload that cannot be imported as asked; the message is Chinese."""


@dataclass
class MemberPlan:
    where: Where
    id_number: str
    name: str
    relation: str
    sex: str
    birth_date: dt.date
    disability_category: str = ""
    disability_grade: int | None = None
    labour_capacity: str = "full"
    serious_illness: str = ""
    student_status: str = ""
    adl_failed: int = 0
    covered: bool | None = None  # 是否保障对象 as the old system marks it
    own_income: int | None = None  # 个人月收入 (fen), when the old system records it


@dataclass
class EnrolmentPlan:
    where: Where
    word: str
    programme: str
    part: str
    beneficiary_id: str
    category: str  # a person category the word also sets (孤儿), or ""
    amount_fen: int
    start_date: dt.date
    approved_on: dt.date
    document_number: str
    payee_id: str
    payee_name: str
    bank: str
    account: str
    account_kind: str
    review_due: dt.date | None
    taper_until: dt.date | None


@dataclass
class HouseholdPlan:
    legacy_number: str
    wheres: list[Where] = field(default_factory=list)
    village_code: str = ""
    town_name: str = ""
    village_name: str = ""
    hukou: str = ""
    address: str = ""
    income_fen: int | None = None
    head_id: str = ""
    members: list[MemberPlan] = field(default_factory=list)
    enrolments: list[EnrolmentPlan] = field(default_factory=list)
    refused: bool = False
    action: str = NEW
    digest: str = ""
    note: str = ""

    def content(self) -> dict[str, Any]:
        """What the household says, without where it was read: the re-import fingerprint."""
        def strip(d: dict[str, Any]) -> dict[str, Any]:
            return {k: (v.isoformat() if isinstance(v, dt.date) else v)
                    for k, v in d.items() if k != "where"}
        return {"legacy_number": self.legacy_number, "village": self.village_code,
                "hukou": self.hukou, "address": self.address, "income": self.income_fen,
                "head": self.head_id,
                "members": sorted((strip(asdict(m)) for m in self.members),
                                  key=lambda m: m["id_number"]),
                "enrolments": sorted((strip(asdict(e)) for e in self.enrolments),
                                     key=lambda e: (e["programme"], e["part"],
                                                    e["beneficiary_id"]))}


@dataclass
class CaseloadPlan:
    district: str
    day: dt.date
    sources: Sources
    households: list[HouseholdPlan]

    @property
    def ok(self) -> bool:
        return not self.sources.report and not self.sources.refused_files

    def counts(self) -> dict[str, int]:
        by_action = defaultdict(int)
        for h in self.households:
            by_action[h.action] += 1
        fresh = [h for h in self.households if h.action == NEW]
        report = self.sources.report_frame()
        return {"files": len(self.sources.files) + len(self.sources.refused_files),
                "households": len(self.households), "new": by_action[NEW],
                "unchanged": by_action[UNCHANGED], "refused": by_action[REFUSED],
                "refused_rows": report.filter(pl.col("row") > 0)
                .select("file", "sheet", "row").unique().height,
                "persons": sum(len(h.members) for h in fresh),
                "enrolments": sum(len(h.enrolments) for h in fresh),
                "monthly_fen": sum(e.amount_fen for h in fresh for e in h.enrolments)}

    def lines(self) -> pl.DataFrame:
        """One line per household: what the real run would do with it (the dry run's table)."""
        rows = []
        for h in self.households:
            head = next((m for m in h.members if m.id_number == h.head_id), None)
            rows.append({
                "legacy_number": h.legacy_number, "town": h.town_name,
                "village": h.village_name,
                "head": mask_name(head.name) if head else "",
                "head_id": mask_id_number(head.id_number) if head else "",
                "persons": len(h.members),
                "programmes": "、".join(
                    f"{catalogue.enrolled_label(e.programme, e.part)} {yuan_text(e.amount_fen)}元"
                    for e in h.enrolments),
                "monthly_fen": sum(e.amount_fen for e in h.enrolments),
                "action": h.action, "note": h.note,
                "rows": "、".join(sorted({f"{w.file}:{w.row}" for w in h.wheres}))[:200]})
        return pl.DataFrame(rows, schema=LINES_SCHEMA)


# ---------------------------------------------------------------------------------------------
# planning


class _Areas:
    """The district's towns and villages by name (names matched exactly, spaces aside)."""

    def __init__(self, district: Area) -> None:
        self.district = district
        under = list(Area.objects.filter(code__startswith=district.prefix,
                                          level__in=(areacode.TOWN, areacode.VILLAGE)))
        self.towns = {_key(a.name): a for a in under if a.level == areacode.TOWN}
        villages = [a for a in under if a.level == areacode.VILLAGE]
        self.villages: dict[tuple[str, str], Area] = {}
        # an address's name of a village (荷花池社区 for 荷花池社区居委会) where only one
        # village of the town has it; the division's own name always wins
        short: dict[tuple[str, str], list[Area]] = defaultdict(list)
        for a in villages:
            for n in words.place_names(a.name):
                short[(a.code[:9], _key(n))].append(a)
        self.villages.update({k: found[0] for k, found in short.items() if len(found) == 1})
        self.villages.update({(a.code[:9], _key(a.name)): a for a in villages})

    def village(self, town: str | None, village: str | None, code: str | None) -> Area:
        t = self.towns.get(_key(town))
        if t is None:
            raise words.Unreadable(f"乡镇（街道）“{town or ''}”不是{self.district.name}的"
                                   "乡镇（街道），请按区划名称填写")
        v = self.villages.get((t.code[:9], _key(village)))
        if v is None:
            raise words.Unreadable(f"村（社区）“{village or ''}”不在{t.name}，请按区划名称填写")
        given = (code or "").strip()
        if given and given.ljust(12, "0") != v.code:
            raise words.Unreadable(f"行政区划代码 {given} 与{t.name}{v.name}（{v.code}）不符")
        return v


def _key(name: str | None) -> str:
    return "".join((name or "").split())


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def plan(files: list[tuple[str, bytes]], *, district_code: str, day: dt.date | None = None,
         mappings: dict[str, dict[str, str]] | None = None) -> CaseloadPlan:
    """What importing `files` into the district would do, household by household."""
    day = day or clock.today()
    district = Area.objects.filter(code=district_code.ljust(12, "0"),
                                   level=areacode.COUNTY).first()
    if district is None:
        raise CaseloadError(f"区县 {district_code} 不存在，请填写本区（县）的区划代码")
    sources = caseload_files.read(files, mappings)
    households = _households(sources, _Areas(district), day)
    _against_registry(households, sources, district)
    for h in households:
        if h.refused:
            h.action = REFUSED
    return CaseloadPlan(district.code, day, sources, households)


def _households(sources: Sources, areas: _Areas, day: dt.date) -> list[HouseholdPlan]:
    plans: dict[str, HouseholdPlan] = {}
    household_rows: dict[str, list[tuple[Where, dict[str, Any]]]] = defaultdict(list)
    for where, row in sources.households:
        number = _text(row.get("legacy_number"))
        if not number:
            continue  # refused by the validator (required)
        plan_ = plans.setdefault(number, HouseholdPlan(number))
        plan_.wheres.append(where)
        if row.get("__refused"):
            plan_.refused = True
            plan_.note = "本户有行被拒收"
        else:
            household_rows[number].append((where, row))
    member_rows: dict[str, list[tuple[Where, dict[str, Any]]]] = defaultdict(list)
    orphaned: set[str] = set()
    for where, row in sources.members:
        number = _text(row.get("legacy_number"))
        member_rows[number].append((where, row))
        if number not in plans:
            orphaned.add(where.file)
            sources.refuse(where, number, "legacy_number", number,
                           "家庭编号在家庭信息中不存在：请一并导入该户的家庭信息")
    for name in sorted(orphaned & set(sources.partly)):  # say why, once for the file
        sources.refuse(Where(name, "", 0), None, "", None,
                       "只读到了家庭成员信息，" + "；".join(sources.partly[name]))
    for number, h in plans.items():
        rows = household_rows.get(number, [])
        members = member_rows.get(number, [])
        if not rows:
            continue  # every row of it refused already
        if not members:
            _refuse(sources, h, rows[0][0], "legacy_number", number,
                    "该户没有家庭成员信息：请一并导入家庭成员表")
            continue
        # with a row already refused the household is incomplete: what needs all of it (the
        # head, the payee and beneficiary among the members) is not judged, so no reason is
        # a consequence of another
        partial = h.refused
        _household_fields(sources, h, rows, areas)
        _members(sources, h, members, day)
        _enrolments(sources, h, rows, day, partial)
        if not partial:
            _head(sources, h, rows)
            _incomes_agree(sources, h, rows[0][0])
    _people_in_two_households(sources, list(plans.values()))
    for h in plans.values():
        h.digest = hashlib.sha256(json.dumps(h.content(), ensure_ascii=False, sort_keys=True)
                                  .encode()).hexdigest()
    return list(plans.values())


def _refuse(sources: Sources, h: HouseholdPlan, where: Where, key: str, value: object,
            reason: str) -> None:
    sources.refuse(where, h.legacy_number, key, value, reason)
    h.refused = True
    h.note = h.note or reason


def _agree(sources: Sources, h: HouseholdPlan, rows: list[tuple[Where, dict[str, Any]]],
           keys: tuple[str, ...]) -> dict[str, Any]:
    """The rows' common values of `keys`; a row saying otherwise than the first is refused."""
    first_where, first = rows[0]
    for where, row in rows[1:]:
        for k in keys:
            if row.get(k) != first.get(k):
                _refuse(sources, h, where, k, row.get(k),
                        f"同一家庭编号的“{sources.labels.get(k, k)}”与{first_where}不一致"
                        f"（{_shown(k, first.get(k))} / {_shown(k, row.get(k))}）")
    return first


def _shown(key: str, value: object) -> str:
    if value is None or value == "":
        return "空"
    if key in caseload_files.ID_FIELDS:
        return mask_id_number(str(value))
    return str(value)


def _household_fields(sources: Sources, h: HouseholdPlan,
                      rows: list[tuple[Where, dict[str, Any]]], areas: _Areas) -> None:
    first = _agree(sources, h, rows, HOUSEHOLD_FIELDS)
    where = rows[0][0]
    try:
        village = areas.village(first.get("town"), first.get("village"), first.get("area_code"))
        h.village_code, h.village_name = village.code, village.name
        h.town_name = areas.towns[_key(first.get("town"))].name
    except words.Unreadable as exc:
        _refuse(sources, h, where, "village", first.get("village"), str(exc))
    h.town_name = h.town_name or _text(first.get("town"))
    h.village_name = h.village_name or _text(first.get("village"))
    try:
        h.hukou = words.hukou(first.get("hukou")) or ""
    except words.Unreadable as exc:
        _refuse(sources, h, where, "hukou", first.get("hukou"), str(exc))
    h.address = _text(first.get("address"))[:200]
    income = first.get("income")
    if income is not None and income < 0:
        _refuse(sources, h, where, "income", yuan_text(income), "家庭月总收入不能为负数")
    h.income_fen = income
    h.head_id = _text(first.get("head_id"))


def _members(sources: Sources, h: HouseholdPlan, rows: list[tuple[Where, dict[str, Any]]],
             day: dt.date) -> None:
    seen: dict[str, Where] = {}
    for where, row in rows:
        number, name = _text(row.get("id_number")), _text(row.get("name"))
        if number in seen:
            _refuse(sources, h, where, "id_number", number,
                    f"同一身份证号在本户列出两次（另见{seen[number]}）")
            continue
        seen[number] = where
        facts = idnumber.parse(number, day)  # validated already: the typed ID is sound
        try:
            member = MemberPlan(where, number, name, words.relation(row.get("relation")),
                                facts.sex, facts.birth_date)
        except words.Unreadable as exc:
            _refuse(sources, h, where, "relation", row.get("relation"), str(exc))
            continue
        checks = [("sex", lambda r=row: words.sex(r.get("sex"))),
                  ("disability_category", lambda r=row: words.disability(
                      r.get("disability_category"), r.get("disability_grade"))),
                  ("labour_capacity", lambda r=row: words.labour_capacity(
                      r.get("labour_capacity"))),
                  ("student_status", lambda r=row: words.student_status(r.get("student_status"))),
                  ("self_care", lambda r=row: words.self_care(r.get("self_care"))),
                  ("covered", lambda r=row: words.yes_no(r.get("covered"), "是否保障对象"))]
        read: dict[str, Any] = {}
        for key, reader in checks:
            try:
                read[key] = reader()
            except words.Unreadable as exc:
                _refuse(sources, h, where, key, row.get(key), str(exc))
        if read.get("sex") and read["sex"] != facts.sex:
            _refuse(sources, h, where, "sex", row.get("sex"),
                    f"性别“{row.get('sex')}”与身份证号"
                    f"（{'男' if facts.sex == 'M' else '女'}）不符，请核对身份证号或性别")
        member.disability_category, member.disability_grade = \
            read.get("disability_category") or ("", None)
        age = age_on(facts.birth_date, day)
        labour = read.get("labour_capacity")
        if labour is None and WORKING_AGE[0] <= age <= WORKING_AGE[1] \
                and "labour_capacity" in read:
            _refuse(sources, h, where, "labour_capacity", None,
                    f"劳动能力未填写（{age} 岁，劳动年龄内须注明）")
        member.labour_capacity = labour or "full"
        member.student_status = read.get("student_status") or ""
        member.adl_failed = read.get("self_care") or 0
        member.serious_illness = words.blank_or(row.get("serious_illness"))[:100]
        member.covered = read.get("covered")
        member.own_income = row.get("own_income")
        if member.own_income is not None and member.own_income < 0:
            _refuse(sources, h, where, "own_income", yuan_text(member.own_income),
                    "个人月收入不能为负数")
        h.members.append(member)


def _enrolments(sources: Sources, h: HouseholdPlan, rows: list[tuple[Where, dict[str, Any]]],
                day: dt.date, partial: bool = False) -> None:
    groups: dict[tuple[str, str], list[tuple[Where, dict[str, Any]]]] = defaultdict(list)
    for where, row in rows:
        groups[(_text(row.get("programme")), _text(row.get("beneficiary_id")))].append(
            (where, row))
    by_id = {m.id_number: m for m in h.members}
    taken: dict[tuple[str, str, str], Where] = {}
    for (word, beneficiary), group in groups.items():
        where, row = group[0]
        first = _agree(sources, h, group, ENROLMENT_FIELDS)
        try:
            meaning = words.programme(word)
        except words.Unreadable as exc:
            _refuse(sources, h, where, "programme", word, str(exc))
            continue
        code = meaning.programme
        member_level = catalogue.entry(code).level == catalogue.MEMBER
        if meaning.hukou and h.hukou and meaning.hukou != h.hukou:
            _refuse(sources, h, where, "hukou", first.get("hukou"),
                    f"户籍性质与救助类别“{word}”不符")
        h.hukou = h.hukou or meaning.hukou
        if catalogue.parts(code) and not meaning.part:
            _refuse(sources, h, where, "programme", word,
                    f"“{word}”须分项填写：" + "、".join(u.label for u in catalogue.parts(code)))
            continue
        if member_level and not beneficiary:
            _refuse(sources, h, where, "beneficiary_id", None,
                    f"{catalogue.label(code)}按人保障：请填写享受人身份证号")
            continue
        if partial:
            by_id = {}  # the members are not all known: payee and beneficiary not judged
        elif beneficiary and beneficiary not in by_id:
            _refuse(sources, h, where, "beneficiary_id", beneficiary,
                    "享受人不是本户成员（身份证号在成员信息中找不到）")
            continue
        unit = (code, meaning.part, beneficiary if member_level else "")
        if unit in taken:
            _refuse(sources, h, where, "programme", word,
                    f"同一{catalogue.enrolled_label(code, meaning.part)}列出两次"
                    f"（另见{taken[unit]}）")
            continue
        taken[unit] = where
        enrolment = _enrolment(sources, h, where, first, word, meaning, unit[2], by_id, day)
        if enrolment is not None:
            h.enrolments.append(enrolment)
    if not h.hukou and not h.refused:
        _refuse(sources, h, rows[0][0], "hukou", None,
                "户籍性质未填写，救助类别也未注明城市或农村：请填写户籍性质")


def _enrolment(sources: Sources, h: HouseholdPlan, where: Where, row: dict[str, Any], word: str,
               meaning: words.ProgrammeWord, beneficiary: str, by_id: dict[str, MemberPlan],
               day: dt.date) -> EnrolmentPlan | None:
    code = meaning.programme
    ok = True

    def refuse(key: str, value: object, reason: str) -> None:
        nonlocal ok
        ok = False
        _refuse(sources, h, where, key, value, reason)

    amount = row.get("amount")
    if amount is None:
        refuse("amount", None, "月保障金未填写")
    elif amount <= 0 and _pays(code):
        refuse("amount", yuan_text(amount), f"{catalogue.label(code)}的月保障金应大于 0")
    elif amount > MAX_MONTHLY_FEN:
        refuse("amount", yuan_text(amount), f"月保障金 {yuan_text(amount)} 元超过 "
               f"{MAX_MONTHLY_FEN // 100} 元，请核对单位（元/分）")
    for key in ("start_date", "approved_on"):
        value = row.get(key)
        if value is not None and not EARLIEST <= value <= day:
            refuse(key, value, f"{sources.labels.get(key, key)} {value} 不在 "
                   f"{EARLIEST.year} 年至今（{day}）之间")
    review = row.get("review_due")
    if review is not None and review < EARLIEST:
        refuse("review_due", review, f"下次复核日期 {review} 不合理")
    taper = row.get("taper_until")
    if meaning.taper and taper is None:
        refuse("taper_until", None, "低保渐退：请填写渐退期满日期")
    if taper is not None:
        if code not in catalogue.counted_as(catalogue.DIBAO):
            refuse("taper_until", taper, f"{catalogue.label(code)}没有渐退期")
        elif taper < day:
            refuse("taper_until", taper, f"渐退期满日期 {taper} 已过：应在原系统办理停保后再导入")
    payee = _payee(refuse, row, beneficiary, by_id, h)
    bank, account, kind = _account(refuse, row, paying=bool(amount) and amount > 0)
    if not ok or amount is None:
        return None
    return EnrolmentPlan(
        where, word, code, meaning.part, beneficiary, meaning.category, amount,
        row["start_date"], row["approved_on"], _text(row.get("document_number"))[:60],
        payee.id_number if payee else "", payee.name if payee else "", bank, account, kind,
        review, taper)


def _pays(code: str) -> bool:
    """Whether the programme pays monthly (an amount column); 低保边缘 and 支出型 recognised
    without one may come with 月保障金 0."""
    return any(u.amount for u in catalogue.entry(code).units)


def _payee(refuse, row: dict[str, Any], beneficiary: str,  # noqa: ANN001
           by_id: dict[str, MemberPlan], h: HouseholdPlan) -> MemberPlan | None:
    """The member paid: the one the payee columns name, else the beneficiary, else the head.
    A payee who is not a member is refused: an agent (代领) is registered in Doudi, with its
    reason, after the import."""
    number, name = _text(row.get("payee_id")), _text(row.get("payee_name"))
    if not by_id:
        return None
    if number:
        member = by_id.get(number)
        if member is None:
            refuse("payee_id", number, NOT_A_MEMBER)
            return None
        if name and _key(name) != _key(member.name):
            refuse("payee_name", name, f"收款人姓名与其身份证号的成员（{member.name}）不符")
            return None
        return member
    if name:
        named = [m for m in by_id.values() if _key(m.name) == _key(name)]
        if len(named) != 1:
            refuse("payee_name", name, NOT_A_MEMBER
                   if not named else "本户有同名成员，无法确定收款人：请填写收款人身份证号")
            return None
        return named[0]
    return by_id.get(beneficiary) or by_id.get(h.head_id)


def _account(refuse, row: dict[str, Any], paying: bool) -> tuple[str, str, str]:  # noqa: ANN001
    """Bank, account number and kind. The kind is the one the number fits; when it fits both
    (a card number at a bank whose 一卡通 numbers have the same length) it stays open (""),
    as for accounts registered before kinds were recorded."""
    bank_name, raw = _text(row.get("bank")), _text(row.get("account"))
    if not raw and not bank_name:
        if paying:
            refuse("account", None, "缺少银行账号：原系统按此账户发放，请补全开户银行和账号")
        return "", "", ""
    bank = banks.find(bank_name)
    if bank is None:
        refuse("bank", bank_name or None, f"开户银行“{bank_name}”无法识别，可填："
               + "、".join(banks.names()))
        return "", "", ""
    fits = [k for k in bank.kinds if not banks.problems(raw, bank.name, k)]
    if not fits:
        reason = banks.problems(raw, bank.name, bank.kinds[0])[0].message
        refuse("account", mask_account(banks.normalise(raw)) if raw else None,
               f"银行账号不能入账：{reason}")
        return "", "", ""
    return bank.name, banks.normalise(raw), fits[0] if len(fits) == 1 else ""


def _head(sources: Sources, h: HouseholdPlan, rows: list[tuple[Where, dict[str, Any]]]) -> None:
    heads = [m for m in h.members if m.relation == "head"]
    where = rows[0][0]
    if len(heads) != 1:
        _refuse(sources, h, heads[1].where if heads else where, "relation",
                "户主" if heads else None,
                "本户有两名以上户主" if heads else "本户成员中没有户主")
        return
    head = heads[0]
    if h.head_id and h.head_id != head.id_number:
        _refuse(sources, h, where, "head_id", h.head_id,
                f"户主身份证号与成员中的户主（{mask_name(head.name)}）不符")
    name = _text(rows[0][1].get("head_name"))
    if name and _key(name) != _key(head.name):
        _refuse(sources, h, where, "head_name", name,
                f"户主姓名与成员中的户主（{head.name}）不符")
    h.head_id = head.id_number


def _incomes_agree(sources: Sources, h: HouseholdPlan, where: Where) -> None:
    """Members' own incomes, where given, add up to the family's: otherwise one of the two
    figures is wrong, and which cannot be known."""
    own = [m.own_income for m in h.members if m.own_income is not None]
    if not own or h.income_fen is None:
        return
    total = sum(own)
    if total != h.income_fen:
        _refuse(sources, h, where, "income", yuan_text(h.income_fen),
                f"成员个人月收入合计 {yuan_text(total)} 元与家庭月总收入 "
                f"{yuan_text(h.income_fen)} 元不符")


def _people_in_two_households(sources: Sources, plans: list[HouseholdPlan]) -> None:
    homes: dict[str, list[tuple[HouseholdPlan, MemberPlan]]] = defaultdict(list)
    for h in plans:
        for m in h.members:
            homes[m.id_number].append((h, m))
    for number, found in homes.items():
        if len({h.legacy_number for h, _ in found}) < 2:
            continue
        numbers = "、".join(sorted({h.legacy_number for h, _ in found}))
        for h, m in found:
            _refuse(sources, h, m.where, "id_number", number,
                    f"同一人列在多个家庭（家庭编号 {numbers}）：一人只能属于一户")


def _against_registry(plans: list[HouseholdPlan], sources: Sources, district: Area) -> None:
    """Households imported before are 无变化 (same content) or refused; a person already in
    the registry in another household is refused."""
    known = {lh.legacy_number: lh for lh in LegacyHousehold.objects.filter(
        area_code=district.code, legacy_number__in=[h.legacy_number for h in plans])
        .select_related("household")}
    for h in plans:
        lh = known.get(h.legacy_number)
        if lh is None or h.refused:
            continue
        if lh.digest == h.digest:
            h.action = UNCHANGED
        else:
            _refuse(sources, h, h.wheres[0], "legacy_number", h.legacy_number,
                    f"该户已于 {lh.source.at:%Y-%m-%d} 导入为家庭 {lh.household.number}，"
                    "本次内容不同：上线导入不覆盖已有数据，变化请在系统中办理")
    mine = {h.legacy_number: lh.household_id for h in plans if (lh := known.get(h.legacy_number))}
    ids = [m.id_number for h in plans for m in h.members]
    existing: dict[str, tuple[int, str]] = {}
    for start in range(0, len(ids), 2_000):
        for pid, number in Person.objects.filter(
                id_number__in=ids[start:start + 2_000]).values_list("id", "id_number"):
            existing[number] = (pid, "")
    if not existing:
        return
    homes = dict(Membership.objects.filter(
        person_id__in=[p for p, _ in existing.values()], end_date__isnull=True)
        .values_list("person_id", "household__number"))
    home_ids = dict(Membership.objects.filter(
        person_id__in=[p for p, _ in existing.values()], end_date__isnull=True)
        .values_list("person_id", "household_id"))
    for h in plans:
        for m in h.members:
            if m.id_number not in existing:
                continue
            pid = existing[m.id_number][0]
            if mine.get(h.legacy_number) and home_ids.get(pid) == mine[h.legacy_number]:
                continue
            _refuse(sources, h, m.where, "id_number", m.id_number,
                    f"该身份证号已在系统中登记（家庭 {homes.get(pid, '（已离户）')}）："
                    "上线导入只新建家庭，请核对是否重复")


# ---------------------------------------------------------------------------------------------
# applying


@dataclass
class Applied:
    record: GoliveImport
    counts: dict[str, int]


def record_dry_run(p: CaseloadPlan, *, by) -> GoliveImport:  # noqa: ANN001
    """The dry run kept: its plan and refused rows on disk, one row saying what it found."""
    return _record(p, by=by, mode=GoliveImport.DRY,
                   status=GoliveImport.PLANNED if p.ok else GoliveImport.REFUSED)


def _record(p: CaseloadPlan, *, by, mode: str, status: str) -> GoliveImport:  # noqa: ANN001
    counts = p.counts()
    record = GoliveImport.objects.create(
        what=GoliveImport.CASELOAD, mode=mode, status=status, files=p.sources.files,
        counts=counts, area_code=p.district, by=by, message=_message(p, counts, mode)[:500])
    keep(record, p.lines(), p.sources.report_frame())
    return record


def keep(record: GoliveImport, lines: pl.DataFrame, report: pl.DataFrame) -> None:
    """The plan's lines and refused rows kept with the import (Parquet under var/)."""
    path = storage.root() / "golive" / f"{record.what}-{record.pk}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines.write_parquet(path)
    report.write_parquet(path.with_suffix(".report.parquet"))
    record.plan_path = storage.relative(path)
    record.save(update_fields=["plan_path"])


def _message(p: CaseloadPlan, counts: dict[str, int], mode: str) -> str:
    verb = "新建" if p.ok else "无误可新建"
    head = (f"共 {counts['households']} 户：{verb} {counts['new']} 户（{counts['persons']} 人，"
            f"月保障金合计 {yuan_text(counts['monthly_fen'])} 元），"
            f"无变化 {counts['unchanged']} 户，拒收 {counts['refused']} 户")
    if not p.ok:
        return head + f"；{counts['refused_rows']} 行有错误，" + \
            ("未导入任何数据" if mode == GoliveImport.REAL else "改正后方可正式导入")
    return head


def apply(p: CaseloadPlan, *, by) -> Applied:  # noqa: ANN001
    """正式导入: everything the plan would create, in one transaction, or nothing."""
    if not p.ok:
        record = _record(p, by=by, mode=GoliveImport.REAL, status=GoliveImport.REFUSED)
        raise CaseloadError(record.message)
    fresh = [h for h in p.households if h.action == NEW]
    with transaction.atomic():
        if not fresh:
            record = _record(p, by=by, mode=GoliveImport.REAL, status=GoliveImport.UNCHANGED)
            return Applied(record, p.counts())
        record = _record(p, by=by, mode=GoliveImport.REAL, status=GoliveImport.DONE)
        made = _write(fresh, record, p.day)
        audit.record(AuditEvent.IMPORT, object_type="golive.goliveimport", object_id=record.pk,
                     object_label=f"上线导入在保数据：{len(fresh)} 户"[:200],
                     area_code=p.district, changes={**made, "files": [
                         f["name"] for f in p.sources.files]})
    return Applied(record, {**p.counts(), **made})


def _numbers(fresh: list[HouseholdPlan]) -> dict[str, str]:
    """Doudi household numbers for the new households: the village's next numbers."""
    out: dict[str, str] = {}
    nxt: dict[str, int] = {}
    for h in fresh:
        code = h.village_code
        if code not in nxt:
            last = (Household.objects.filter(number__startswith=code)
                    .order_by("-number").values_list("number", flat=True).first())
            nxt[code] = int(last[len(code):]) + 1 if last else 1
        out[h.legacy_number] = f"{code}{nxt[code]:05d}"
        nxt[code] += 1
    return out


def _write(fresh: list[HouseholdPlan], record: GoliveImport, day: dt.date) -> dict[str, int]:
    areas = {a.code: a for a in Area.objects.filter(code__in={h.village_code for h in fresh})}
    numbers = _numbers(fresh)
    households = Household.objects.bulk_create([
        Household(number=numbers[h.legacy_number], area=areas[h.village_code],
                  area_code=h.village_code, address=h.address, hukou_type=h.hukou)
        for h in fresh], batch_size=2_000)
    # 特困 and 孤儿 recognitions established that nobody supports the person
    no_supporter = {e.beneficiary_id for h in fresh for e in h.enrolments
                    if e.programme in catalogue.counted_as(catalogue.TEKUN) or e.category}
    pairs = [(hh, h, m) for hh, h in zip(households, fresh, strict=True) for m in h.members]
    people = Person.objects.bulk_create([
        Person(id_number=m.id_number, name=m.name, name_initials=name_initials(m.name),
               sex=m.sex, birth_date=m.birth_date, hukou_type=h.hukou, area_code=hh.area_code,
               disability_category=m.disability_category, disability_grade=m.disability_grade,
               serious_illness=m.serious_illness, labour_capacity=m.labour_capacity,
               student_status=m.student_status, adl_failed=m.adl_failed,
               has_supporter=m.id_number not in no_supporter)
        for hh, h, m in pairs], batch_size=2_000)
    person_of = {m.id_number: p for (_, _, m), p in zip(pairs, people, strict=True)}
    since = {h.legacy_number: min([e.start_date for e in h.enrolments] or [day])
             for h in fresh}
    Membership.objects.bulk_create([
        Membership(household=hh, person=person_of[m.id_number], relation=m.relation,
                   co_resident=_co_resident(h, m),
                   start_date=max(m.birth_date, since[h.legacy_number]),
                   area_code=hh.area_code) for hh, h, m in pairs], batch_size=2_000)
    Observation.objects.bulk_create(_incomes(households, fresh, person_of, day),
                                    batch_size=2_000)
    LegacyHousehold.objects.bulk_create([
        LegacyHousehold(legacy_number=h.legacy_number, household=hh, source=record,
                        digest=h.digest, area_code=record.area_code)
        for hh, h in zip(households, fresh, strict=True)], batch_size=2_000)
    categories, enrollments, decisions = _programmes(
        list(zip(households, fresh, strict=True)), person_of, record)
    return {"households": len(households), "persons": len(people),
            "categories": categories, "enrollments": enrollments, "decisions": decisions}


def _incomes(households: list[Household], fresh: list[HouseholdPlan],
             person_of: dict[str, Person], day: dt.date) -> list[Observation]:
    """The monthly income the old system recorded: each member's own where it gives them
    (the rules test some programmes on a person's own income: 特困), else the family's as the
    household's (counted with the head)."""
    month = day.replace(day=1)
    out = []
    for hh, h in zip(households, fresh, strict=True):
        if any(m.own_income is not None for m in h.members):
            out += [Observation(household=hh, person=person_of[m.id_number], kind="income",
                                item="other", amount_fen=m.own_income, observed_on=month,
                                source="declared", area_code=hh.area_code,
                                description="原系统登记的个人月收入")
                    for m in h.members if m.own_income]
        elif h.income_fen:
            out.append(Observation(household=hh, kind="income", item="other",
                                   amount_fen=h.income_fen, observed_on=month,
                                   source="declared", area_code=hh.area_code,
                                   description="原系统登记的家庭月总收入"))
    return out


def _co_resident(h: HouseholdPlan, m: MemberPlan) -> bool:
    """A member the old system marks as not covered (是否保障对象：否) by a programme that
    covers the whole household (低保) is not counted in it: Doudi counts the co-resident
    members (共同生活). Under a programme of one person (特困) the mark says nothing of that."""
    whole = catalogue.household_covering()
    return not (m.covered is False and any(e.programme in whole for e in h.enrolments))


def _programmes(made: list[tuple[Household, HouseholdPlan]], person_of: dict[str, Person],
                record: GoliveImport) -> tuple[int, int, int]:
    """The programme status (category), the enrollment with its start event, payee, review
    and 渐退 end, and the approval as history, for every enrolment of the new households."""
    setting = catalogue.category_setting()
    categories: list[CategoryAssignment] = []
    pending: list[tuple[Enrollment, EnrolmentPlan]] = []
    decisions: list[HistoricalDecision] = []
    for hh, h in made:
        for e in h.enrolments:
            person = person_of.get(e.beneficiary_id) if e.beneficiary_id else None
            for category in filter(None, (setting.get(e.programme), e.category)):
                person_level = CATEGORIES[category].level == "P"
                if person_level and person is None:
                    continue
                categories.append(CategoryAssignment(
                    household=None if person_level else hh, person=person if person_level
                    else None, category=category, start_date=e.start_date,
                    note=f"原系统导入：{e.word}"[:200], area_code=hh.area_code))
            if e.amount_fen > 0:
                payee = person_of.get(e.payee_id)
                pending.append((Enrollment(
                    household=hh, person=person, programme=e.programme, part=e.part,
                    amount_fen=e.amount_fen, start_date=e.start_date,
                    status=Enrollment.TAPERING if e.taper_until else Enrollment.ACTIVE,
                    end_date=e.taper_until, explanation={"legacy_number": h.legacy_number},
                    payee_name=payee.name if payee else "", payee_person=payee,
                    bank=e.bank, account_kind=e.account_kind, payee_account=e.account,
                    area_code=hh.area_code), e))
            decisions.append(HistoricalDecision(
                household=hh, person=person, programme=e.programme, kind="approve",
                decided_on=e.approved_on, effective_on=e.start_date,
                document_number=e.document_number, amount_fen=e.amount_fen,
                reason=f"原系统导入（{e.word}）"[:200], source=record, area_code=hh.area_code))
    CategoryAssignment.objects.bulk_create(categories, batch_size=2_000)
    enrollments = Enrollment.objects.bulk_create([en for en, _ in pending], batch_size=2_000)
    events, reviews = [], []
    for en, e in zip(enrollments, (e for _, e in pending), strict=True):
        events.append(EnrollmentEvent(enrollment=en, kind="start", effective_date=e.start_date,
                                      amount_fen=e.amount_fen, reason="原系统在保数据导入",
                                      area_code=en.area_code))
        if e.taper_until:
            events.append(EnrollmentEvent(
                enrollment=en, kind="stop", effective_date=e.taper_until + dt.timedelta(days=1),
                amount_fen=0, previous_fen=e.amount_fen, reason="渐退期满（原系统渐退）",
                area_code=en.area_code))
        if e.review_due:
            reviews.append(ReviewTask(enrollment=en, due_date=e.review_due,
                                      area_code=en.area_code))
    EnrollmentEvent.objects.bulk_create(events, batch_size=2_000)
    ReviewTask.objects.bulk_create(reviews, batch_size=2_000)
    by_pair = {(d.household_id, d.programme, d.person_id): d for d in decisions}
    for en in enrollments:
        d = by_pair.get((en.household_id, en.programme, en.person_id))
        if d is not None:
            d.enrollment = en
    HistoricalDecision.objects.bulk_create(decisions, batch_size=2_000)
    return len(categories), len(enrollments), len(decisions)


# ---------------------------------------------------------------------------------------------
# the report a clerk works from


PLAN_HEADER = ("原系统家庭编号", "乡镇（街道）", "村（社区）", "户主", "户主身份证号", "人数",
               "救助项目及月保障金", "导入结果", "说明", "所在行")
REPORT_HEADER = ("文件", "工作表", "行号", "原系统家庭编号", "列", "内容", "原因")


def report_workbook(lines: pl.DataFrame, report: pl.DataFrame) -> bytes:
    """A plan as the clerk works from it (`CaseloadPlan.lines` and its refused rows, or those
    kept with an import): the refused rows first, each with the row as the sheet numbers it,
    then what happens to every household. IDs are masked."""
    buffer = io.BytesIO()
    book = excel.new_workbook(buffer)
    bold = book.add_format({"bold": True})
    sheets = [("错误行", REPORT_HEADER, report.select(
                  "file", "sheet", "row", "legacy_number", "label", "value", "reason").rows()),
              ("导入计划", PLAN_HEADER, lines.select(
                  "legacy_number", "town", "village", "head", "head_id", "persons",
                  "programmes", "action", "note", "rows").rows())]
    for name, header, rows in sheets:
        ws = book.add_worksheet(name)
        ws.write_row(0, 0, header, bold)
        for n, row in enumerate(rows, start=1):
            ws.write_row(n, 0, ["" if v is None else v for v in row])
        ws.freeze_panes(1, 0)
    book.close()
    return buffer.getvalue()


def kept(record: GoliveImport) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The plan lines and the refused rows kept with an import."""
    if not record.plan_path:
        return (pl.DataFrame(schema=LINES_SCHEMA),
                pl.DataFrame(schema=caseload_files.REPORT_SCHEMA))
    path = storage.absolute(record.plan_path)
    return pl.read_parquet(path), pl.read_parquet(path.with_suffix(".report.parquet"))


def write_report(p: CaseloadPlan, path: Path) -> None:
    path.write_bytes(report_workbook(p.lines(), p.sources.report_frame()))
