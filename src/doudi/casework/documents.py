"""书面通知 and the other papers a decision produces: who issues them (发文机关, by its real
name), their 文号, the documents they rest on, the remedies they state and the office's phone.

- The issuing body is the one that decided: a town approving under delegation signs as the town
  (黎阳镇人民政府, 昱中街道办事处), the district as its civil-affairs bureau (屯溪区民政局).
- A 文号 is given once per decision, in the issuing body's sequence of the year, and kept
  (`DecisionDocument`): a reprint carries the same number.
- 行政复议 goes to the county-level people's government (a town's decision: the government one
  level up; a 民政局's: its own level's government, 行政复议法（2023年修订）第二十四条),
  within 60 days; 行政诉讼 to the people's court within 6 months.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from doudi.accounts import roles
from doudi.areas.models import Area
from doudi.areas.scoping import in_scope, require
from doudi.casework.models import Application, DecisionDocument, IssuingOffice
from doudi.core import areacode, clock
from doudi.core.areacode import COUNTY, TOWN
from doudi.programmes import catalogue
from doudi.registry.services import reveal_person
from doudi.rules.parameters import TEXT_CHOICES

DECIDING_ACTIONS = ("approve", "approve_urgent", "refuse")


def body_name(area: Area) -> str:
    """The issuing body's name: a town's people's government or street office, a county's
    civil-affairs bureau (民政局)."""
    if area.level == COUNTY:
        return f"{area.name}民政局"
    if area.name.endswith("街道"):
        return f"{area.name}办事处"
    if area.name.endswith("街道办事处"):
        return area.name
    return f"{area.name}人民政府"


def county_of(area: Area) -> Area:
    node = area
    while node.level > COUNTY and node.parent is not None:
        node = node.parent
    return node


def review_body(issuer: Area) -> str:
    """Where 行政复议 is asked for: the county-level people's government."""
    return f"{county_of(issuer).name}人民政府"


def _area_at(code: str, level: int) -> Area | None:
    return Area.objects.filter(code=areacode.full_code(areacode.prefix(code, level))).first()


def decider_area(application: Application) -> Area:
    """The body that made the decision: the area of whoever took the deciding step, at town or
    county level; for a decision with no recorded step, the town when it was delegated."""
    event = (application.events.filter(action__in=DECIDING_ACTIONS)
             .select_related("actor__area").order_by("-at", "-id").first())
    area = getattr(getattr(event, "actor", None), "area", None)
    if area is not None and area.level in (COUNTY, TOWN):
        if application.area_code.startswith(area.prefix):
            return area
    from doudi.casework.services import delegated

    day = application.decided_on or clock.today()
    level = TOWN if delegated(application, day) else COUNTY
    found = _area_at(application.area_code, level)
    if found is None:
        raise LookupError(f"申请 {application.number} 所在区划缺少{areacode.LEVEL_LABELS[level]}级")
    return found


def office(area: Area) -> IssuingOffice:
    """The office's entered contacts (an unsaved blank one when none were entered)."""
    return IssuingOffice.objects.filter(area=area).first() or IssuingOffice(area=area)


def allocate(application: Application) -> DecisionDocument:
    """The decision's 文号, given now if it has none: the next number of the issuing body's
    sequence for the decision's year."""
    existing = DecisionDocument.objects.filter(application=application).first()
    if existing is not None:
        return existing
    if not application.decision:
        raise ValueError("尚未作出审批决定，不能编号")
    issuer = decider_area(application)
    year = (application.decided_on or clock.today()).year
    prefix = office(issuer).document_prefix.strip() or body_name(issuer)
    for _ in range(5):  # two decisions numbered at the same instant: the loser takes the next
        last = (DecisionDocument.objects.filter(issuer=issuer, year=year)
                .order_by("-serial").values_list("serial", flat=True).first()) or 0
        try:
            with transaction.atomic():
                return DecisionDocument.objects.create(
                    application=application, issuer=issuer, year=year, serial=last + 1,
                    number=f"{prefix}〔{year}〕{last + 1}号", area_code=application.area_code)
        except IntegrityError:
            found = DecisionDocument.objects.filter(application=application).first()
            if found is not None:
                return found
    raise RuntimeError("文号编号冲突，请重试")


@dataclass(frozen=True)
class Notice:
    """What a printed notice says besides the decision itself."""

    document: DecisionDocument
    issuer: str
    phone: str
    review_body: str
    basis: tuple[str, ...]

    @property
    def number(self) -> str:
        return self.document.number


def notice(application: Application) -> Notice:
    document = allocate(application)
    issuer = document.issuer
    return Notice(document=document, issuer=body_name(issuer), phone=office(issuer).phone,
                  review_body=review_body(issuer), basis=catalogue.basis(application.programme))


def publishing_bodies(area: Area) -> list[tuple[str, str]]:
    """(issuing unit, 监督电话) a 公示 list prints for an area: its town's and its county's
    office (a county-level list only its own); a phone not entered is ""."""
    bodies = [a for a in (_area_at(area.code, TOWN) if area.level >= TOWN else None,
                          _area_at(area.code, COUNTY) if area.level >= COUNTY else None)
              if a is not None]
    return [(body_name(a), office(a).supervision_phone) for a in bodies]


def addressee(user, application: Application) -> str:  # noqa: ANN001
    """The applicant's name as a notice addresses them: in full for a role that may see full
    names in their area (each such print is a full view, audited), masked for any other."""
    person = application.applicant
    if person is None:
        return "申请人"
    return printed_identity(user, person, f"打印书面通知 {application.number}")[0]


def printed_identity(user, person, purpose: str) -> tuple[str, str]:  # noqa: ANN001
    """(name, ID) as a document printed for the addressee or the case file shows them: in full
    for a role that may see full names in the person's area (a full view, audited with what it
    was printed for), masked for any other."""
    if not in_scope(user, person.area_code, roles.VIEW_FULL_PII):
        return person.masked_name, person.masked_id
    full = reveal_person(by=user, person=person, purpose=purpose)
    return full["name"], full["id_number"]


@dataclass(frozen=True)
class PrintedLine:
    label: str
    detail: str
    outcome: bool | None
    basis: tuple[str, ...]  # each cited document with the value it sets, in words


def printed_rules(explanations: list[dict], programme: str) -> list[dict]:
    """The rules' reasoning as a form prints it: the programme applied for (every programme
    when it has no explanation of its own), each line with the documents it rests on and the
    value they set; never a parameter's key, nor a choice parameter (its value and its note
    are codes; what it chose is said by the line itself)."""
    chosen = [i for i in explanations if i["e"].name == programme] or explanations
    out = []
    for item in chosen:
        e = item["e"]
        lines = [PrintedLine(ln.label, ln.detail, ln.outcome, tuple(
            f"{c.reference}（{c.value}，{c.effective} 起）" for c in ln.citations
            if c.reference and c.key not in TEXT_CHOICES)) for ln in e.lines]
        out.append({"label": e.label, "who": item["who"], "eligible": e.eligible,
                    "amount": e.amount, "lines": lines})
    return out


def offices_of(user) -> list[IssuingOffice]:  # noqa: ANN001
    """The issuing bodies of the user's area: its county's 民政局 and each town's office."""
    area = user.area
    if area is None or area.level not in (COUNTY, TOWN):
        return []
    towns = list(Area.objects.filter(prefix__startswith=area.prefix, level=TOWN)
                 .order_by("code"))
    areas = [area, *towns] if area.level == COUNTY else towns
    entered = {o.area_id: o for o in IssuingOffice.objects.filter(area__in=areas)}
    return [entered.get(a.code) or IssuingOffice(area=a) for a in areas]


def set_office(*, by, area: Area, document_prefix: str, phone: str,  # noqa: ANN001
               supervision_phone: str) -> IssuingOffice:
    """登记发文机关: what its documents print (audited; a blank stays blank)."""
    require(by, area.code, roles.EDIT_POLICY)
    if area.level not in (COUNTY, TOWN):
        raise ValueError("发文机关只能是县（区）或乡镇（街道）")
    found = office(area)
    found.document_prefix = document_prefix.strip()[:20]
    found.phone = phone.strip()[:40]
    found.supervision_phone = supervision_phone.strip()[:40]
    found.save()
    return found
