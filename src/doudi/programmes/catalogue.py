"""救助项目目录: the one declaration of every programme that casework, payments, monitoring,
statistics, the demo and the synthetic district read (pure Python, no Django).

A programme is declared once, here, as a `Programme` entry plus its rules module (named by
`rules`, evaluated in `evaluation` order) and its scenario file. Everything else is a view
derived from these entries: the names of the apps' old tables (which programmes are published,
open to online intake, set a registry category, count every member as covered …) are the
functions at the end of this module. Adding a programme: see docs/adding-a-programme.md.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

HOUSEHOLD, MEMBER = "household", "member"


@dataclass(frozen=True)
class Part:
    """A part a programme enrols, pays, reviews and ends separately (两项补贴: 生活补贴 and 护理
    补贴): each is an enrollment of its own naming the part, so monitoring sees "receives one,
    now eligible for the other"."""

    code: str
    label: str
    eligible: str  # the rules' column saying the part applies
    amount: str | None = None  # the rules' column with its monthly amount in fen
    payment_code: str | None = None  # its own 项目代码 in the bank file; None: the programme's


@dataclass(frozen=True)
class Programme:
    """One programme (救助项目). Attributes read by the apps:

    - `level`: who is enrolled, the household or one member (`HOUSEHOLD` / `MEMBER`);
    - `category`: the registry category (`registry.categories`) an approval sets;
    - `published`: recognition is publicised (公示) before the decision (谁救助谁公示);
    - `public_intake`: residents may apply online (网上申请, 跨省通办);
    - `payment_code`: the default 项目代码 of the bank file (a bank layout may override it);
    - `parts`: parts enrolled, paid, reviewed and ended separately (an enrollment names its
      part); none means the programme is one part;
    - `rules`: the dotted path of its rules module; `evaluation`: its place in the evaluation
      order (a programme reads the results of those before it);
    - `casework`: applied for and decided (false: a rule only, such as 低保渐退);
    - `compared_with`: monitoring compares its enrollments with that programme's eligibility
      (单人保 is 低保 for one member); `monitored`: false for one-off aid (临时救助);
    - `advance_relief`: may be paid first from the town's reserve fund (先行救助);
    - `one_off`: paid once per approved case (临时救助): an approval makes a one-off payment
      (`benefits.OneOffPayment`), never an enrollment paid monthly, and sets no category; the
      application states what the rules module's `request` names (type, need);
    - `case_label`: the warning disposition that starts an application for it (纳入低保);
    - `review_schedule`: the policy key of its own periodic review interval (复核, months),
      `benefits.review_months.<code>` unless declared; where no value is set for it, reviews
      fall back to the household's (stable or other);
    - `basis`: the national documents the programme rests on (政策依据), as a decision notice
      cites them; the local standards come from the parameters' own references.
    """

    code: str
    label: str
    short_label: str
    level: str
    rules: str | None
    evaluation: int
    category: str | None = None
    published: bool = False
    public_intake: bool = False
    payment_code: str | None = None
    parts: tuple[Part, ...] = ()
    casework: bool = True
    compared_with: str | None = None
    monitored: bool = True
    advance_relief: bool = False
    one_off: bool = False
    case_label: str | None = None
    review_schedule: str = ""
    basis: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.level not in (HOUSEHOLD, MEMBER):
            raise ValueError(f"{self.code}: level must be household or member")
        if not self.review_schedule:
            object.__setattr__(self, "review_schedule", f"benefits.review_months.{self.code}")

    def rules_programme(self) -> Any:
        """What the rules module declares (`PROGRAMME`: its eligibility and amount columns,
        criteria …); imported on first use, so reading the catalogue costs nothing."""
        if self.rules is None:
            return None
        return importlib.import_module(self.rules).PROGRAMME

    @property
    def units(self) -> tuple[Part, ...]:
        """What monitoring and enrolment count separately: the parts, or the programme with
        its rules module's eligibility and amount columns."""
        if self.parts:
            return self.parts
        declared = self.rules_programme()
        return (Part(self.code, self.short_label, declared.eligible, declared.amount),)


RULES = "doudi.rules.programmes."

# 政策依据 the decision notices cite (national documents; titles as published)
_ASSISTANCE = "《社会救助暂行办法》"
_DIBAO_RULES = "《最低生活保障审核确认办法》（民发〔2021〕57号）"
_EDGE_RULES = "《最低生活保障边缘家庭和刚性支出困难家庭认定办法》"

# In the order pages list them. 公示, online intake and payment codes as the district work plan
# and the Guangdong arrangement set them (seeds 000 and 001; docs/casework.md).
SHIPPED: tuple[Programme, ...] = (
    Programme("dibao", "最低生活保障（低保）", "低保", HOUSEHOLD, RULES + "dibao", 10,
              category="dibao", published=True, public_intake=True, payment_code="01",
              case_label="纳入低保", basis=(_ASSISTANCE, _DIBAO_RULES)),
    Programme("single_person", "单人保", "单人保", HOUSEHOLD, RULES + "single_person", 30,
              published=True, payment_code="01", compared_with="dibao",
              basis=(_ASSISTANCE, _DIBAO_RULES)),
    Programme("edge", "低保边缘家庭认定", "低保边缘", HOUSEHOLD, RULES + "edge", 20,
              category="edge", public_intake=True, payment_code="04",
              case_label="认定低保边缘家庭", basis=(_ASSISTANCE, _EDGE_RULES)),
    Programme("hardship", "支出型困难家庭认定", "支出型困难", HOUSEHOLD, RULES + "hardship", 40,
              category="hardship", public_intake=True, payment_code="05",
              case_label="认定支出型困难家庭", basis=(_ASSISTANCE, _EDGE_RULES)),
    Programme("tekun", "特困人员救助供养", "特困", MEMBER, RULES + "tekun", 70,
              category="tekun", published=True, public_intake=True, payment_code="02",
              case_label="纳入特困",
              basis=(_ASSISTANCE, "《国务院关于进一步健全特困人员救助供养制度的意见》"
                     "（国发〔2016〕14号）", "《特困人员认定办法》（民发〔2021〕43号）")),
    Programme("linshi", "临时救助", "临时救助", HOUSEHOLD, RULES + "linshi", 60,
              public_intake=True, payment_code="03", monitored=False, advance_relief=True,
              one_off=True, case_label="给予临时救助",
              basis=(_ASSISTANCE, "《国务院关于全面建立临时救助制度的通知》（国发〔2014〕47号）")),
    Programme("child", "孤儿、事实无人抚养儿童基本生活保障", "孤儿/事实无人抚养儿童", MEMBER,
              RULES + "child", 90, public_intake=True, payment_code="07",
              case_label="孤儿/事实无人抚养儿童保障",
              basis=("《国务院办公厅关于加强孤儿保障工作的意见》（国办发〔2010〕54号）",
                     "《关于进一步加强事实无人抚养儿童保障工作的意见》（民发〔2019〕62号）")),
    Programme("disability", "困难残疾人生活补贴和重度残疾人护理补贴（两项补贴）", "两项补贴",
              MEMBER, RULES + "disability", 80, public_intake=True, payment_code="06",
              case_label="两项补贴",
              basis=("《国务院关于全面建立困难残疾人生活补贴和重度残疾人护理补贴制度的意见》"
                     "（国发〔2015〕52号）",),
              parts=(Part("disability_living", "困难残疾人生活补贴",
                          "disability.living_eligible", "disability.living_amount"),
                     Part("disability_care", "重度残疾人护理补贴",
                          "disability.care_eligible", "disability.care_amount"))),
    Programme("taper", "低保渐退", "低保渐退", HOUSEHOLD, RULES + "taper", 50, casework=False,
              monitored=False),
)

_ENTRIES: dict[str, Programme] = {}
_VERSION = [0]  # bumped on every change, so derived tables rebuild


def register(programme: Programme) -> Programme:
    """Add a programme to the catalogue (the shipped ones are added at import)."""
    if programme.code in _ENTRIES:
        raise ValueError(f"救助项目 {programme.code} 已登记")
    codes = {p.code for p in _ENTRIES.values()} | {u.code for p in _ENTRIES.values()
                                                   for u in p.parts}
    if {u.code for u in programme.parts} & codes:
        raise ValueError(f"救助项目 {programme.code} 的组成部分与已有项目重名")
    _ENTRIES[programme.code] = programme
    _VERSION[0] += 1
    return programme


def unregister(code: str) -> None:
    """Take a programme out again (tests that add a made-up one)."""
    del _ENTRIES[code]
    _VERSION[0] += 1


def version() -> int:
    return _VERSION[0]


for _p in SHIPPED:
    register(_p)

# The programmes code names on purpose, each for a reason of its own: the statutory report
# lines (低保户数, 特困人数, 低保边缘家庭户数), 低保's 渐退, 临时救助 as the help a visit's finding
# asks for by default, and 孤儿/事实无人抚养儿童 as what a 跨省通办 child case is recognised
# under. Nothing else names a programme.
DIBAO, TEKUN, EDGE, TAPER, LINSHI, CHILD = "dibao", "tekun", "edge", "taper", "linshi", "child"


# ---- views derived from the entries ---------------------------------------------------------

def every() -> list[Programme]:
    """Every entry, rules-only ones included, in page order."""
    return list(_ENTRIES.values())


def programmes() -> list[Programme]:
    """The programmes people apply for and are enrolled in, in page order."""
    return [p for p in _ENTRIES.values() if p.casework]


def entry(code: str) -> Programme:
    """Any entry, rules-only ones included (KeyError when there is none)."""
    return _ENTRIES[code]


def get(code: str) -> Programme | None:
    found = _ENTRIES.get(code)
    return found if found is not None and found.casework else None


def is_programme(code: str) -> bool:
    return get(code) is not None


def labels() -> dict[str, str]:
    """code → full Chinese name (申请、通知书、名册)."""
    return {p.code: p.label for p in programmes()}


def label(code: str) -> str:
    """The programme's name, or the part's (两项补贴's subsidies), or the code itself."""
    found = get(code)
    if found is not None:
        return found.label
    part = part_of(code)
    return part[1].label if part else code


def choices() -> list[tuple[str, str]]:
    return list(labels().items())


def published() -> frozenset[str]:
    return frozenset(p.code for p in programmes() if p.published)


def public_intake() -> list[Programme]:
    return [p for p in programmes() if p.public_intake]


def category_of(code: str) -> str | None:
    found = get(code)
    return found.category if found else None


def categories() -> tuple[str, ...]:
    """The registry categories that programmes set (在保类别), in page order."""
    return tuple(p.category for p in programmes() if p.category)


def category_setting() -> dict[str, str]:
    """programme → the registry category its approval sets, for those that set one."""
    return {p.code: p.category for p in programmes() if p.category}


def payment_codes() -> dict[str, str]:
    """项目代码 by programme, and by part for the parts that declare their own (a part without
    one is paid under its programme's: `payment_code`)."""
    return ({p.code: p.payment_code for p in programmes() if p.payment_code}
            | {u.code: u.payment_code for p in programmes() for u in p.parts if u.payment_code})


def payment_code(codes: dict[str, str], programme: str, part: str = "") -> str | None:
    """The 项目代码 of an enrollment in `codes` (a bank layout's): its part's when the layout
    or the catalogue gives the part one, else its programme's."""
    return codes.get(part) if part and part in codes else codes.get(programme)


def household_covering() -> frozenset[str]:
    """Programmes whose enrollment covers every co-resident member (statistics' 在保人数)."""
    return frozenset(p.code for p in programmes()
                     if p.level == HOUSEHOLD and p.monitored and p.compared_with is None)


def parts(code: str) -> tuple[Part, ...]:
    """The parts of a programme (none for a programme of one part or an unknown code)."""
    found = get(code)
    return found.parts if found else ()


def part_choices() -> list[tuple[str, str]]:
    """(part code, label) of every part, for an enrollment's 组成部分."""
    return [(u.code, u.label) for p in programmes() for u in p.parts]


def enrolled_label(programme: str, part: str = "") -> str:
    """What an enrollment pays, as pages list it: the programme's name, or for a part its
    programme's short name and the part's (两项补贴·重度残疾人护理补贴)."""
    found = get(programme)
    if found is None:
        return programme
    for u in found.parts:
        if u.code == part:
            return f"{found.short_label}·{u.label}"
    return found.label


def part_of(code: str) -> tuple[Programme, Part] | None:
    for p in _ENTRIES.values():
        for part in p.parts:
            if part.code == code:
                return p, part
    return None


@dataclass(frozen=True)
class Unit:
    """What monitoring compares and the synthetic district enrols: a programme or a part."""

    code: str
    programme: str
    level: str
    eligible: str
    amount: str | None
    label: str


def monitored_units() -> list[Unit]:
    """Every programme (or part) whose coverage monitoring checks against the rules."""
    return [Unit(u.code, p.code, p.level, u.eligible, u.amount, u.label)
            for p in programmes() if p.monitored and p.compared_with is None for u in p.units]


def recalculable() -> list[Programme]:
    """Programmes whose monthly household amount 调标重算 recomputes in bulk."""
    return [p for p in programmes() if p.level == HOUSEHOLD and p.monitored
            and p.compared_with is None and p.units[0].amount is not None]


def compared_with(code: str) -> str | None:
    """The programme an enrollment of `code` is compared with by monitoring (None: not)."""
    found = get(code)
    if found is None or not found.monitored:
        return None
    return found.compared_with or found.code


def counted_as(code: str) -> tuple[str, ...]:
    """The programmes whose enrollments a report counts as `code` (单人保 counts as 低保)."""
    return tuple(p.code for p in programmes() if p.code == code or p.compared_with == code)


def cover_groups() -> dict[str, tuple[str, ...]]:
    """Programmes monitored by part (两项补贴): code → part codes. An enrollment names its part;
    one that does not (enrolled before parts were told apart and not split since, see
    benefits migration 0012) covers every part of its programme."""
    return {p.code: tuple(u.code for u in p.parts) for p in programmes()
            if p.parts and p.monitored}


def case_dispositions() -> Iterator[tuple[str, str, str]]:
    """(disposition code, label, programme) of the warning dispositions starting a case."""
    for p in programmes():
        if p.case_label:
            yield f"case_{p.code}", f"{p.case_label}（启动申请）", p.code


def review_schedule(code: str) -> str:
    """The policy key of a programme's own review interval (a part's: its programme's)."""
    found = get(code)
    return found.review_schedule if found else f"benefits.review_months.{code}"


def basis(code: str) -> tuple[str, ...]:
    """The documents a programme's decisions cite (none for an unknown code)."""
    found = get(code)
    return found.basis if found else ()


def advance_relief(code: str) -> bool:
    found = get(code)
    return bool(found and found.advance_relief)


def one_off(code: str) -> bool:
    """Paid once per approved case, not enrolled (临时救助)."""
    found = get(code)
    return bool(found and found.one_off)


def one_off_programmes() -> list[Programme]:
    return [p for p in programmes() if p.one_off]


def request_of(code: str) -> Any:
    """What an application for a one-off programme states, as its rules module declares it
    (`OneOffRequest`: the type and need columns and the types one may apply for); None for
    the others."""
    found = get(code)
    if found is None or not found.one_off:
        return None
    return getattr(found.rules_programme(), "request", None)


def rules_modules() -> list[str]:
    """The rules modules in evaluation order."""
    return [p.rules for p in sorted(_ENTRIES.values(), key=lambda p: p.evaluation) if p.rules]
