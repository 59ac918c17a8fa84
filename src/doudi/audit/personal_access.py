"""个人信息查阅: what the bureau holds about one person and who read or changed it.

A person may ask for their own record and for the trail of everyone who looked at it (查阅、
复制, 个人信息保护法 第四十五条). `report` puts together (a) the person's current record,
households and enrollments with payment totals, and (b) every audit event about the person,
the rows that are theirs (memberships, observations, categories, visits …) and the rows of
their household while they belonged to it. Events about another member of the household are
not theirs and never appear.

Who may ask: the system (the `doudi audit person` command) or a user holding
`registry.view_full` over the person's area. Every report is itself audited, as a full view or
an export of the person, so it shows up in the next report.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models import Q
from django.utils import timezone

from doudi.accounts import roles
from doudi.areas.scoping import require
from doudi.audit import context, labels, services
from doudi.audit.models import AuditEvent
from doudi.core import excel
from doudi.core.masking import mask_name

# not part of what the person is told: internal keys and derived search helpers
_HIDDEN_FIELDS = {"id", "name_initials", "id_tail", "updated_at"}


class _System:
    """The system itself (a CLI command run by the operator), not a user."""

    def __repr__(self) -> str:
        return "SYSTEM"


SYSTEM = _System()


@dataclass(frozen=True)
class EventRow:
    at: dt.datetime
    actor: str
    action: str
    object_type: str
    object_label: str
    changes: str
    source: str
    event_id: int


@dataclass
class Report:
    person: Any
    made_at: dt.datetime
    fields: list[tuple[str, str]] = field(default_factory=list)
    memberships: list[dict[str, str]] = field(default_factory=list)
    enrollments: list[dict[str, str]] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)


def report(person: Any, *, by: Any, action: str = AuditEvent.VIEW_FULL) -> Report:
    """The person's 个人信息查阅 report, for `by` (a user or `SYSTEM`); `action` is how the
    reading is audited: VIEW_FULL shown on screen, EXPORT written to a file."""
    if action not in (AuditEvent.VIEW_FULL, AuditEvent.EXPORT):
        raise ValueError(f"action must be view_full or export, not {action!r}")
    actor = context.current()
    if by is not SYSTEM:
        # a web page passes request.user; anyone else, anonymous included, is refused here
        require(by, person.area_code, roles.VIEW_FULL_PII)
        if actor.user_id != by.pk:
            # the reader is the user asked about, whatever job or request runs the code
            actor = dataclasses.replace(actor, user_id=by.pk, username=by.username)
    services.record(action, object_type=person._meta.label_lower, object_id=person.pk,
                    object_label=person.audit_label(), area_code=person.area_code,
                    changes={"purpose": "个人信息查阅"}, actor=actor)
    out = Report(person=person, made_at=timezone.now())
    out.fields = _person_fields(person)
    out.memberships = _memberships(person)
    out.enrollments = _enrollments(person)
    out.events = [_event_row(e) for e in events_about(person)]
    return out


def _show(instance: models.Model, f: models.Field) -> str:
    value = getattr(instance, f.attname)
    if value in (None, ""):
        return ""
    if f.choices:
        return str(dict(f.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        return f"{timezone.localtime(value):%Y-%m-%d %H:%M}"
    return str(value)


def _person_fields(person: Any) -> list[tuple[str, str]]:
    # full values: the report is the person's own data, given to them
    return [(str(f.verbose_name), _show(person, f)) for f in person._meta.concrete_fields
            if f.name not in _HIDDEN_FIELDS and not f.is_relation]


def _memberships(person: Any) -> list[dict[str, str]]:
    rows = []
    for m in person.memberships.select_related("household", "household__area").order_by(
            "start_date", "id"):
        # a household left is no longer theirs to see into
        others = (m.household.memberships.filter(end_date__isnull=True)
                  .exclude(person=person).select_related("person").order_by("id")
                  if m.end_date is None else [])
        rows.append({
            "家庭编号": m.household.number,
            "所在村/社区": f"{m.household.area.name}（{m.household.area_code}）",
            "住址": m.household.address,
            "与户主关系": m.get_relation_display(),
            "起始日期": str(m.start_date),
            "终止日期": str(m.end_date or ""),
            "终止原因": m.end_reason,
            # other members are other people's data: masked, as everywhere
            "现有其他成员": "、".join(f"{mask_name(o.person.name)}（{o.get_relation_display()}）"
                               for o in others),
        })
    return rows


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def _enrollments(person: Any) -> list[dict[str, str]]:
    from doudi.benefits.models import PaymentLine

    rows = []
    for e in _their_enrollments(person).order_by("start_date", "id"):
        lines = PaymentLine.objects.filter(enrollment=e, status=PaymentLine.PAID)
        paid = lines.aggregate(total=models.Sum("total_fen"), n=models.Count("id"),
                               last=models.Max("month"))
        rows.append({
            "救助项目": e.programme_label,
            "状态": e.get_status_display(),
            "现月保障金（元）": _yuan(e.amount_fen),
            "起始日期": str(e.start_date),
            "终止日期": str(e.end_date or ""),
            "停保原因": e.exit_reason,
            "已发放月数": str(paid["n"] or 0),
            "已发放合计（元）": _yuan(paid["total"] or 0),
            "最近发放月份": f"{paid['last']:%Y-%m}" if paid["last"] else "",
        })
    return rows


# --- the events -----------------------------------------------------------------------------

def _periods(person: Any) -> list[tuple[int, dt.date, dt.date | None]]:
    return list(person.memberships.values_list("household_id", "start_date", "end_date"))


def _their_enrollments(person: Any) -> models.QuerySet:
    """The person's own enrollments and those of a household while they were in it."""
    from doudi.benefits.models import Enrollment

    q = Q(person_id=person.pk)
    for hh, start, end in _periods(person):
        overlap = Q(household_id=hh, person__isnull=True) & (
            Q(end_date__isnull=True) | Q(end_date__gte=start))
        if end is not None:
            overlap &= Q(start_date__lte=end)
        q |= overlap
    return Enrollment.objects.filter(q)


def _fks_to(model: type[models.Model], target: type[models.Model]) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields
            if f.is_relation and f.many_to_one and f.related_model is target]


def _any_of(attrs: list[str], lookup: str, value: Any) -> Q:
    q = Q(pk__in=[])
    for a in attrs:
        q |= Q(**{f"{a}{lookup}": value})
    return q


# rows naming a person that still concern the whole household: an application for 低保 is
# made by one member (the applicant) for all of them
HOUSEHOLD_WIDE = {"casework.application"}

Keys = set[tuple[str, str]]


def _object_keys(person: Any) -> tuple[Keys, dict[int, Keys]]:
    """(type, id) of the audit objects that are the person's own, and, by household, of those
    that belong to a household as a whole (reported only while the person was in it)."""
    from doudi.benefits.models import PaymentLine
    from doudi.registry.models import Household, Person

    hh_ids = sorted({h for h, _s, _e in _periods(person)})
    own: dict[type, set] = {Person: {person.pk}}
    shared: dict[type, dict[int, set]] = {Household: {h: {h} for h in hh_ids}}
    # every model pointing at a person or a household: new modules are covered as they come
    for model in apps.get_models():
        if model in (Person, Household):
            continue
        p_attrs, h_attrs = _fks_to(model, Person), _fks_to(model, Household)
        manager, wide = model._default_manager, model._meta.label_lower in HOUSEHOLD_WIDE
        if p_attrs and not wide:
            own[model] = set(manager.filter(_any_of(p_attrs, "", person.pk))
                             .values_list("pk", flat=True))
        if h_attrs and hh_ids:
            # a row naming a person is that person's: another member's is not this one's
            rows = manager.all() if wide else manager.filter(
                **{f"{a}__isnull": True for a in p_attrs})
            for a in h_attrs:
                for pk, hh in rows.filter(**{f"{a}__in": hh_ids}).values_list("pk", a):
                    shared.setdefault(model, {}).setdefault(hh, set()).add(pk)
    # one step further: rows hanging off those (an application's attachments, a visit's
    # photos), owned as the row they hang off
    first_own, first_shared = dict(own), dict(shared)
    for model in apps.get_models():
        for f in model._meta.concrete_fields:
            if not (f.is_relation and f.many_to_one) or f.related_model in (Person, Household):
                continue
            manager = model._default_manager
            if f.related_model in first_own and model not in first_own:
                own.setdefault(model, set()).update(manager.filter(
                    **{f"{f.attname}__in": first_own[f.related_model]})
                    .values_list("pk", flat=True))
            for hh, ids in first_shared.get(f.related_model, {}).items():
                if model not in first_shared:
                    shared.setdefault(model, {}).setdefault(hh, set()).update(manager.filter(
                        **{f"{f.attname}__in": ids}).values_list("pk", flat=True))
    keys: Keys = {(m._meta.label_lower, str(pk)) for m, ids in own.items() for pk in ids}
    by_household: dict[int, Keys] = {h: set() for h in hh_ids}
    for m, per in shared.items():
        for hh, ids in per.items():
            by_household[hh] |= {(m._meta.label_lower, str(pk)) for pk in ids}
    # a payment run (its bank file exported, the results imported) carries their lines
    runs = PaymentLine.objects.filter(enrollment__in=_their_enrollments(person)).values_list(
        "run_id", flat=True)
    keys |= {("benefits.paymentrun", str(r)) for r in set(runs)}
    return keys, by_household


def _by_type(keys: Iterable[tuple[str, str]]) -> Q:
    grouped: dict[str, list[str]] = {}
    for kind, pk in keys:
        grouped.setdefault(kind, []).append(pk)
    q = Q(pk__in=[])
    for kind, ids in grouped.items():
        q |= Q(object_type=kind, object_id__in=ids)
    return q


def events_about(person: Any) -> Iterable[AuditEvent]:
    own, shared = _object_keys(person)
    q = _by_type(own)
    for hh, start, end in _periods(person):
        # a household's events count only while the person was in it (local dates)
        window = Q(at__date__gte=start)
        if end is not None:
            window &= Q(at__date__lte=end)
        q |= _by_type(shared[hh]) & window
    return AuditEvent.objects.filter(q).order_by("at", "id").iterator(chunk_size=2000)


def _event_row(event: AuditEvent) -> EventRow:
    changes = "；".join(f"{label}：{old} → {new}" for label, old, new in event.change_rows())
    return EventRow(
        at=event.at, actor=event.actor_name, action=event.get_action_display(),
        object_type=labels.label(event.object_type), object_label=event.object_label,
        changes=changes,
        source=event.job or (f"请求 {event.request_id}" if event.request_id else ""),
        event_id=event.pk)


# --- the file -------------------------------------------------------------------------------

def to_xlsx(rep: Report) -> bytes:
    """Four sheets: 个人信息, 家庭成员关系, 救助保障, 查阅与变更记录."""
    buffer = io.BytesIO()
    book = excel.new_workbook(buffer)
    bold = book.add_format({"bold": True})
    made = f"{timezone.localtime(rep.made_at):%Y-%m-%d %H:%M}"

    def sheet(name: str, header: list[str], rows: Iterable[list[Any]]) -> None:
        ws = book.add_worksheet(name)
        ws.write(0, 0, f"个人信息查阅 {rep.person.name} 生成于 {made}", bold)
        ws.write_row(2, 0, header, bold)
        for n, row in enumerate(rows, start=3):
            ws.write_row(n, 0, [str(v) for v in row])

    sheet("个人信息", ["项目", "内容"], [list(r) for r in rep.fields])
    for name, rows in (("家庭成员关系", rep.memberships), ("救助保障", rep.enrollments)):
        header = list(rows[0]) if rows else ["（无）"]
        sheet(name, header, [list(r.values()) for r in rows])
    sheet("查阅与变更记录", ["时间", "操作人", "操作", "对象类型", "对象", "内容", "来源",
                      "审计记录编号"],
          ([f"{timezone.localtime(e.at):%Y-%m-%d %H:%M:%S}", e.actor, e.action, e.object_type,
            e.object_label, e.changes, e.source, e.event_id] for e in rep.events))
    book.close()
    return buffer.getvalue()
