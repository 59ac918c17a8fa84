"""家庭经济状况核对报告: what each department's data says about a household's members on a day,
set against what the household declared, with the source batch and row of every figure.

Only feed types with a `verification` section take part. A snapshot feed (登记簿: property,
vehicles, businesses …) is read from its latest batch; an events feed (缴费、发放、结算 …) from
all its batches, a record seen in several batches counted once (the latest). Rows are found by
the members' resident IDs and, flagged as weaker, by the person a row was matched to by name and
birth date. A difference is a department figure the declaration does not cover: more income,
another vehicle, a registered business, a death or a disability the registry lacks.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import polars as pl
from django.db import transaction
from django.db.models import Q

from doudi.accounts import roles
from doudi.areas.scoping import require
from doudi.core import clock
from doudi.core.errors import FieldError, ServiceError
from doudi.core.masking import mask_id_number, mask_name
from doudi.engine.feeds.feedspec import VERIFICATION_SECTIONS, FeedSpec
from doudi.exchange.current import current_rows
from doudi.exchange.models import Consent, FeedBatch, FeedType, VerificationReport
from doudi.policy.services import parameter_set
from doudi.registry import facts
from doudi.registry.choices import DISABILITY_CATEGORY_CHOICES
from doudi.registry.models import Household, Observation, Person
from doudi.rules.parameters import engine_value

CONSENT_KEY = "exchange.require_consent"
LOOKBACK_DAYS = 365  # events older than this before the day are not shown
GRADES = {"一级": 1, "二级": 2, "三级": 3, "四级": 4}
RESIDENTIAL_USES = ("住宅",)


class ConsentRequired(ServiceError):
    """The area requires a signed 授权书 before a report is produced."""


class ConsentError(ServiceError):
    """A 授权书 that cannot be recorded; the message is Chinese."""


SIGNER_NOT_MEMBER = "签署人应为该家庭的现有成员"


def _signer_checked(household: Household, signer: Person | None) -> Person:
    if signer is None or not household.memberships.filter(
            person=signer, end_date__isnull=True).exists():
        raise ConsentError(SIGNER_NOT_MEMBER, field="signer")
    return signer


def record_consent(*, by, household: Household, signed_on: dt.date,  # noqa: ANN001
                   signer: Person | None, evidence: str, scan: bytes | None = None,
                   scan_name: str = "", attested: bool = False, note: str = "",
                   signed_by: str = "") -> Consent:
    """登记授权书 with its evidence: the signer is a current member of the household (checked),
    and either a scan of the signed form is uploaded (JPG/PNG/PDF, checked like every upload)
    or the officer attests that the signer signed before them in person, their ID seen. A
    typed name alone is no longer enough. Audited through the models."""
    from doudi.casework.attachments import store
    from doudi.casework.models import ConsentEvidence
    from doudi.casework.services import CaseworkError

    require(by, household.area_code, roles.EDIT_REGISTRY)
    errors = []
    if signed_on > clock.today():
        errors.append(FieldError("signed_on", "签署日期不能晚于今天"))
    try:
        signer = _signer_checked(household, signer)
    except ConsentError as exc:
        errors += exc.errors
    if evidence == ConsentEvidence.SCAN and not scan:
        errors.append(FieldError("scan", "请上传签字的授权书扫描件"))
    elif evidence == ConsentEvidence.IN_PERSON and not attested:
        errors.append(FieldError("attested", "请确认签署人当面签字且已核验其身份证件"))
    elif evidence not in (ConsentEvidence.SCAN, ConsentEvidence.IN_PERSON):
        errors.append(FieldError("evidence", "请选择授权书的证据：上传扫描件或经办人见证"))
    if errors:
        raise ConsentError(errors)
    content_type = digest = ""
    if evidence == ConsentEvidence.SCAN:
        try:
            content_type, digest, _ = store(scan or b"", scan_name)
        except CaseworkError as exc:
            raise ConsentError(exc.message, field="scan") from exc
    with transaction.atomic():
        consent = Consent.objects.create(
            household=household, signed_on=signed_on, signed_by=signer.name[:50],
            note=note.strip()[:200], recorded_by=by, area_code=household.area_code)
        ConsentEvidence.objects.create(
            consent=consent, kind=evidence, signer=signer, scan_sha256=digest,
            scan_type=content_type, recorded_by=by, area_code=household.area_code)
    return consent


def record_online_consent(*, by, household: Household, request, person: Person,  # noqa: ANN001
                          signed_on: dt.date) -> Consent:
    """The box ticked on the public form, for the applicant (a member of the household): it
    counts only once a town officer records that the sender is who the ID says
    (`casework.online.verify_identity`) — before that, anyone could have typed the ID."""
    from doudi.casework.models import ConsentEvidence

    require(by, household.area_code, roles.EDIT_REGISTRY)
    _signer_checked(household, person)
    with transaction.atomic():
        consent = Consent.objects.create(
            household=household, signed_on=signed_on, signed_by=person.name[:50],
            note="网上申请时勾选授权书", recorded_by=by, area_code=household.area_code)
        ConsentEvidence.objects.create(
            consent=consent, kind=ConsentEvidence.ONLINE, signer=person,
            online_request=request, recorded_by=by, area_code=household.area_code)
    return consent


def consent_in_force() -> Q:
    """Consents with evidence that holds: a scan, an in-person signature, or an online
    application whose sender's identity was verified."""
    return (Q(evidence__kind__in=("scan", "in_person"))
            | Q(evidence__kind="online",
                evidence__online_request__identity_verified_at__isnull=False))


def consent_state(consent: Consent) -> str:
    """What the household page says of a consent."""
    rows = list(consent.evidence.select_related("online_request", "signer"))
    if any(e.in_force for e in rows):
        return "有效"
    if rows:
        return "待镇街核验网上申请人身份"
    return "缺少证据（请补登扫描件或当面签字）"


@dataclass
class Member:
    person: Person
    relation: str


def _yuan(fen: int | None) -> str:
    if fen is None:
        return "—"
    return f"{fen / 100:,.2f} 元"


def consent_required(household: Household, day: dt.date) -> bool:
    return bool(engine_value(parameter_set().resolve(CONSENT_KEY, household.area_code, day)))


def valid_consent(household: Household, day: dt.date) -> Consent | None:
    """The latest consent signed by `day` whose evidence holds (`consent_in_force`)."""
    return (household.consents.filter(signed_on__lte=day).filter(consent_in_force())
            .distinct().order_by("-signed_on", "-id").first())


def _members(household: Household, day: dt.date) -> list[Member]:
    rows = household.memberships.filter(start_date__lte=day).filter(
        Q(end_date__isnull=True) | Q(end_date__gt=day)).select_related("person")
    return [Member(m.person, m.get_relation_display()) for m in rows.order_by("id")]


def _declared(household: Household, persons: list[int], day: dt.date) -> dict[tuple, int]:
    """Declared amount/quantity per (person_id or None, kind, item) counting on the day."""
    rows = Observation.objects.filter(household=household, source="declared").values(
        *facts.KEY_FIELDS, "amount_fen", "quantity")
    return {(r["person_id"], r["kind"], r["item"]):
            r["amount_fen"] if r["amount_fen"] is not None else r["quantity"] or 0
            for r in facts.current(rows, day)}


def _rows(feed: FeedType, spec: FeedSpec, ids: list[str], person_ids: list[int],
          day: dt.date) -> tuple[pl.DataFrame, list[FeedBatch]]:
    # What is known when the report is produced: every batch received so far.
    wanted = pl.col("person_id").is_in(person_ids)
    if spec.id_field:
        wanted = wanted | pl.col(spec.id_field).is_in(ids)
    return current_rows(feed, wanted)


def _person_of(row: dict[str, Any], spec: FeedSpec, by_id: dict[str, Person],
               by_pk: dict[int, Person]) -> tuple[Person | None, bool]:
    if spec.id_field and row.get(spec.id_field) in by_id:
        return by_id[row[spec.id_field]], False
    person = by_pk.get(row.get("person_id") or -1)
    return person, person is not None


def _source(row: dict[str, Any], batches: dict[int, FeedBatch]) -> dict[str, Any]:
    b = batches[row["__batch"]]
    return {"batch_id": b.pk, "version": b.version, "file_name": b.file_name, "row": row["row"],
            "feed": str(b.feed_type)}


def _latest_by_person(rows: list[dict], date_key: str) -> dict[int, dict]:
    out: dict[int, dict] = {}
    for r in sorted(rows, key=lambda r: str(r.get(date_key) or "")):
        out[r["__person"].pk] = r
    return out


def _section_lines(section: str, spec: FeedSpec, rows: list[dict], members: list[Member],
                   declared: dict[tuple, int], batches: dict[int, FeedBatch],
                   day: dt.date) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []

    def line(person: Person | None, item: str, declared_text: str, found_text: str,
             difference: bool, sources: list[dict], weak: bool = False) -> None:
        lines.append({"member": person.masked_name if person else "全户",
                      "person_id": person.pk if person else None, "item": item,
                      "declared": declared_text, "found": found_text, "difference": difference,
                      "weak": weak, "sources": [_source(s, batches) for s in sources]})

    monthly = {"wage": ("wage", "base", "month", "社保缴费基数（月）"),
               "pension": ("pension", "amount", "month", "养老金（月）"),
               "unemployment": ("transfer", "monthly_benefit", "registered_on",
                                "失业保险金（月）")}
    if section in monthly:
        item, amount_key, date_key, label = monthly[section]
        for r in _latest_by_person(rows, date_key).values():
            person = r["__person"]
            found = r.get(amount_key) or 0
            said = declared.get((person.pk, "income", item), 0)
            line(person, label, _yuan(said), _yuan(found), found > said, [r], r["__weak"])
        return lines
    if section in ("property", "vehicle", "business"):
        if section == "property":
            groups = {"住房": [r for r in rows if (r.get("use") or "") in RESIDENTIAL_USES],
                      "非居住类房屋": [r for r in rows
                                       if (r.get("use") or "") not in RESIDENTIAL_USES]}
            said = {"住房": declared.get((None, "housing", "residential"), 0),
                    "非居住类房屋": declared.get((None, "housing", "non_residential"), 0)}
        elif section == "vehicle":
            live = [r for r in rows if (r.get("status") or "正常") == "正常"]
            groups = {"机动车": live}
            said = {"机动车": sum(v for (p, k, _), v in declared.items()
                                if p is None and k == "vehicle")}
        else:
            live = [r for r in rows if (r.get("status") or "存续") in ("存续", "在业", "开业")]
            groups = {"市场主体登记": live}
            said = {"市场主体登记": declared.get((None, "business", "registration"), 0)}
        for label, found_rows in groups.items():
            if not found_rows and not said[label]:
                continue
            detail = "；".join(_describe(section, r) for r in found_rows)
            line(None, label, f"{said[label]} 项", f"{len(found_rows)} 项"
                 + (f"：{detail}" if detail else ""), len(found_rows) > said[label], found_rows,
                 any(r["__weak"] for r in found_rows))
        return lines
    if section == "housing_fund":
        for r in rows:
            line(r["__person"], "住房公积金", "—",
                 f"账户余额 {_yuan(r.get('balance'))}，月缴存 {_yuan(r.get('monthly_deposit'))}"
                 f"（{r.get('status') or ''}）", False, [r], r["__weak"])
        return lines
    if section == "medical":
        start = day - dt.timedelta(days=LOOKBACK_DAYS)
        recent = [r for r in rows if r.get("settled_on") and start <= r["settled_on"] <= day]
        by_person: dict[int, list[dict]] = defaultdict(list)
        for r in recent:
            by_person[r["__person"].pk].append(r)
        for rs in by_person.values():
            person = rs[0]["__person"]
            own = sum(r.get("out_of_pocket") or 0 for r in rs)
            said = declared.get((None, "expense", "medical"), 0) * 12
            line(person, "近12个月医疗个人自付", _yuan(said) + "（全户，按月申报×12）",
                 f"{_yuan(own)}（{len(rs)} 笔结算）", False, rs, any(r["__weak"] for r in rs))
        return lines
    for r in rows:  # facts: death, disability, moves, school, disaster, 防返贫
        person = r["__person"]
        difference = False
        if section == "death":
            difference = person.death_date is None
            text = f"死亡日期 {r.get('died_on')}"
            said_text = "在册" if person.death_date is None else f"已登记死亡 {person.death_date}"
        elif section == "disability":
            grade = GRADES.get(str(r.get("grade") or ""), None)
            difference = grade is not None and grade != person.disability_grade
            text = (f"{r.get('category') or ''}残疾 {r.get('grade') or ''}"
                    f"（{r.get('status') or ''}）")
            said_text = (f"{dict(DISABILITY_CATEGORY_CHOICES).get(person.disability_category, '')}"
                         f" {person.get_disability_grade_display()}"
                         if person.disability_grade else "无残疾登记")
        else:
            text = _describe(section, r)
            said_text = "—"
        line(person, VERIFICATION_SECTIONS[section], said_text, text, difference, [r],
             r["__weak"])
    return lines


def _describe(section: str, r: dict[str, Any]) -> str:
    keys = {"property": ("location", "use", "area"), "vehicle": ("plate", "vehicle_type", "brand"),
            "business": ("entity_name", "entity_type", "established_on"),
            "hukou_move": ("direction", "moved_on", "to_address"),
            "school": ("school", "stage", "status"),
            "disaster": ("disaster", "occurred_on", "house_damage", "loss"),
            "relapse_watch": ("watch_type", "risk", "entered_on", "risk_removed")}.get(section, ())
    parts = []
    for k in keys:
        v = r.get(k)
        if v is None or v == "":
            continue
        if k == "area":
            v = f"{v / 100:g}㎡"  # hundredths of a square metre
        elif k == "loss":
            v = _yuan(v)
        parts.append(str(v))
    return " ".join(parts)


def build(household: Household, day: dt.date) -> tuple[dict[str, Any], list[FeedBatch]]:
    """The report's content (masked, JSON-ready) and the batches it read."""
    members = _members(household, day)
    persons = [m.person for m in members]
    by_id = {p.id_number: p for p in persons}
    by_pk = {p.pk: p for p in persons}
    declared = _declared(household, list(by_pk), day)
    sections, used = [], []
    for feed in FeedType.objects.filter(is_active=True).order_by("department", "key"):
        spec = feed.parsed()
        if not spec.verification:
            continue
        frame, batches = _rows(feed, spec, list(by_id), list(by_pk), day)
        if frame.height == 0:
            continue
        rows = []
        for r in frame.iter_rows(named=True):
            person, weak = _person_of(r, spec, by_id, by_pk)
            if person is not None:
                rows.append({**r, "__person": person, "__weak": weak})
        lines = _section_lines(spec.verification, spec, rows, members, declared,
                               {b.pk: b for b in batches}, day)
        if lines:
            sections.append({"key": spec.verification, "feed": feed.key, "title":
                             f"{feed.department} · {VERIFICATION_SECTIONS[spec.verification]}",
                             "lines": lines})
            used += batches
    content = {
        "household": {"id": household.pk, "number": household.number,
                      "area": household.area.name if household.area_id else ""},
        "day": day.isoformat(),
        "members": [{"person_id": m.person.pk, "name": mask_name(m.person.name),
                     "id_number": mask_id_number(m.person.id_number), "relation": m.relation}
                    for m in members],
        "sections": sections,
        "differences": sum(1 for s in sections for ln in s["lines"] if ln["difference"]),
        "batches": [{"id": b.pk, "feed": str(b.feed_type), "version": b.version,
                     "file_name": b.file_name, "period": b.period,
                     "received_at": b.received_at.isoformat()} for b in used],
    }
    return content, used


def request_report(user, household: Household, day: dt.date) -> VerificationReport:  # noqa: ANN001
    """Produce and record a report (who asked, which batches were read); needs exchange.verify
    over the household's area and, where the area requires it, a signed 授权书."""
    require(user, household.area_code, roles.VERIFY)
    consent = valid_consent(household, day)
    if consent is None and consent_required(household, day):
        raise ConsentRequired("本地区要求先登记有效的授权书（上传签字扫描件、经办人见证当面签字，"
                              "或已核验身份的网上申请），才能生成核对报告")
    content, batches = build(household, day)
    with transaction.atomic():
        report = VerificationReport.objects.create(
            household=household, day=day, consent=consent, content=content,
            differences=content["differences"], requested_by=user,
            area_code=household.area_code)
        report.batches.set(batches)
    return report
