"""A few hundred plausible households for the demo, written through the registry services so
every row is validated and audited like real input.

Shapes: one-person elderly households, couples, families with children, three generations;
disability and serious illness at modest rates; monthly incomes and savings in fen; a few
percent in 低保, fewer in 特困, some edge families and left-behind elderly and children.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from doudi.areas.models import Area
from doudi.core import areacode, idnumber
from doudi.registry import services
from doudi.registry.services import MemberInput
from doudi.synth.names import person_name

# the decision a seeded programme status stands for (the demo has no casework history)
SEEDED = "演示数据（合成）"


@dataclass
class SeedReport:
    households: int = 0
    persons: int = 0


def _birth(rng: random.Random, today: dt.date, lo: int, hi: int) -> dt.date:
    age = rng.randint(lo, hi)
    return today.replace(year=today.year - age) - dt.timedelta(days=rng.randint(1, 360))


class _Ids:
    """Unique, valid resident IDs: the sequence number keeps each (region, birth date) distinct."""

    def __init__(self) -> None:
        self.used: dict[tuple[str, dt.date, str], int] = {}

    def make(self, region: str, birth: dt.date, sex: str) -> str:
        key = (region, birth, sex)
        seq = self.used.get(key, 0)
        self.used[key] = seq + 1
        return idnumber.make(region, birth, 10 + seq, sex)


def _member(rng, ids, region, today, relation, sex, lo, hi, surname=None) -> MemberInput:  # noqa: ANN001
    birth = _birth(rng, today, lo, hi)
    age = today.year - birth.year
    m = MemberInput(
        id_number=ids.make(region, birth, sex), name=person_name(rng, sex, surname),
        relation=relation,
        phone=f"1{rng.choice('3589')}{rng.randint(0, 999999999):09d}" if age >= 18 else "",
    )
    if age >= 70 or rng.random() < 0.04:
        m.labour_capacity = rng.choice(["none", "partial"])
    if rng.random() < 0.06:
        m.disability_category = rng.choice(["physical", "visual", "hearing", "intellectual",
                                            "mental", "speech"])
        m.disability_grade = rng.choices([1, 2, 3, 4], weights=[1, 2, 3, 4])[0]
        if m.disability_grade <= 2:
            m.labour_capacity = "none"
    if rng.random() < 0.03 and age >= 30:
        m.serious_illness = rng.choice(["尿毒症", "恶性肿瘤", "白血病", "重性精神病"])
    if 6 <= age <= 22:
        m.student_status = ("primary" if age <= 12 else "junior" if age <= 15
                            else "senior" if age <= 18 else "undergraduate")
    return m


def _shape(rng: random.Random, ids: _Ids, region: str, today: dt.date) -> list[MemberInput]:
    kind = rng.choices(["elder_alone", "couple_old", "nuclear", "three_gen", "single_adult"],
                       weights=[18, 15, 35, 22, 10])[0]
    sex = rng.choice("MF")
    head_age = {"elder_alone": (65, 92), "couple_old": (60, 85), "nuclear": (28, 55),
                "three_gen": (35, 58), "single_adult": (22, 60)}[kind]
    head = _member(rng, ids, region, today, "head", sex, *head_age)
    surname = head.name[0]
    members = [head]
    other = "F" if sex == "M" else "M"
    if kind in ("couple_old", "nuclear", "three_gen"):
        members.append(_member(rng, ids, region, today, "spouse", other, head_age[0], head_age[1]))
    if kind in ("nuclear", "three_gen"):
        for _ in range(rng.choice((1, 1, 2, 3))):
            members.append(_member(rng, ids, region, today, "child", rng.choice("MF"), 1, 20,
                                   surname))
    if kind == "three_gen":
        members.append(_member(rng, ids, region, today, "parent", rng.choice("MF"), 70, 90,
                               surname))
    return members


def seed_households(*, by, area_code: str, count: int, seed: int = 2026,  # noqa: ANN001
                    today: dt.date | None = None) -> SeedReport:
    today = today or dt.date.today()
    rng = random.Random(seed)
    ids = _Ids()
    scope = Area.objects.get(code=areacode.full_code(area_code))
    villages = list(Area.objects.filter(code__startswith=scope.prefix, level=areacode.VILLAGE)
                    .order_by("code"))
    if not villages:
        raise ValueError(f"区划 {area_code} 下没有村(社区)")
    report = SeedReport()
    for i in range(count):
        village = villages[i % len(villages)]
        region = village.code[:6]
        members = _shape(rng, ids, region, today)
        hukou = "urban" if village.is_urban else "rural"
        place = village.name.replace("居委会", "").replace("村委会", "")
        household = services.create_household(
            by=by, area_code=village.code, hukou_type=hukou, members=members,
            address=f"{place}{rng.randint(1, 99)}号",
            start_date=today - dt.timedelta(days=rng.randint(30, 3000)),
        )
        report.households += 1
        report.persons += len(members)
        _facts(rng, by, household, members, today)
    return report


def _facts(rng, by, household, members, today) -> None:  # noqa: ANN001
    """Monthly income and savings, plus categories at plausible rates."""
    month = today.replace(day=1)
    earners = [m for m in members if m.labour_capacity == "full" and not m.student_status]
    poor = rng.random() < 0.12
    wage = sum(rng.randint(150_000, 600_000) for _ in earners)
    if poor:
        wage = rng.randint(0, 80_000) * len(earners)
    services.record_observation(by=by, household=household, kind="income", item="wage",
                                amount_fen=wage, observed_on=month, source="declared")
    elders = [m for m in members if idnumber.parse(m.id_number).birth_date.year <= today.year - 60]
    if elders:
        services.record_observation(
            by=by, household=household, kind="income", item="pension",
            amount_fen=len(elders) * rng.randint(14_000, 40_000 if poor else 300_000),
            observed_on=month, source="declared")
    services.record_observation(
        by=by, household=household, kind="asset", item="deposit",
        amount_fen=rng.randint(0, 1_500_000) if poor else rng.randint(500_000, 30_000_000),
        observed_on=month, source="declared")
    since = today - dt.timedelta(days=rng.randint(60, 1500))
    if poor:
        category = rng.choices(["dibao", "edge", "hardship"], weights=[6, 3, 1])[0]
        services.assign_category(by=by, category=category, household=household, start_date=since,
                                 decided_by=SEEDED)
    persons = {p.id_number: p for p in (m.person for m in household.current_memberships())}
    for m in members:
        person = persons[m.id_number]
        age = today.year - person.birth_date.year
        if poor and len(members) == 1 and age >= 60 and m.labour_capacity == "none":
            services.assign_category(by=by, category="tekun", person=person, start_date=since,
                                     decided_by=SEEDED)
        if m.disability_grade in (1, 2):
            services.assign_category(by=by, category="severe_disability", person=person,
                                     start_date=since)
        if m.serious_illness:
            services.assign_category(by=by, category="serious_illness", person=person,
                                     start_date=since)
        if age >= 65 and len(members) <= 2 and rng.random() < 0.3:
            services.assign_category(by=by, category="left_behind_elderly", person=person,
                                     start_date=since)
        if age < 16 and rng.random() < 0.08:
            services.assign_category(by=by, category="left_behind_child", person=person,
                                     start_date=since)
