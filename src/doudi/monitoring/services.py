"""Monitoring services: the indicators an area runs with, the run that stores warnings, and
every step of a warning's handling (核实 → 处置 → 反馈, escalation of overdue ones, and the
warnings people report: 主动发现 and 12345 tickets).

A run stores its new warnings in one transaction: a run killed midway leaves none. A warning
is not raised again while one for the same subject and indicator is open (`open_key`, unique),
nor when one was closed within `monitoring.reraise_days` on the same evidence.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from doudi.accounts import roles
from doudi.areas.scoping import in_scope
from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.core import clock
from doudi.core.errors import ServiceError
from doudi.core.workdays import add_workdays
from doudi.engine.monitoring import indicators as catalogue
from doudi.engine.monitoring.run import digest
from doudi.engine.monitoring.run import run as run_engine
from doudi.monitoring import workflow
from doudi.monitoring.models import IndicatorSetting, MonitoringRun, Warning, WarningEvent
from doudi.policy.models import chain_prefixes
from doudi.policy.services import parameter_set
from doudi.programmes import catalogue as programme_catalogue
from doudi.registry.models import Household, Person
from doudi.rules.parameters import engine_value

DEFAULT_RERAISE_DAYS = 180


class MonitoringError(ServiceError):
    """A refused monitoring action; the message is Chinese."""


# -- indicators ---------------------------------------------------------------------------

def indicators_for(area_code: str, *, active_only: bool = True) -> list[catalogue.Indicator]:
    """The shipped indicators with the settings along the area's chain applied (the deeper
    area's values win); inactive ones left out unless asked for."""
    settings = {}
    for row in IndicatorSetting.objects.filter(area_code__in=chain_prefixes(area_code)) \
            .order_by("area_code"):
        params, active = settings.get(row.indicator, ({}, True))
        settings[row.indicator] = ({**params, **row.params}, row.active)
    out = []
    for ind in catalogue.shipped():
        params, active = settings.get(ind.key, ({}, True))
        if active_only and not active:
            continue
        out.append(ind.with_params({k: v for k, v in params.items() if k in ind.params}))
    return out


def indicator(key: str, area_code: str) -> catalogue.Indicator:
    for ind in indicators_for(area_code, active_only=False):
        if ind.key == key:
            return ind
    raise MonitoringError(f"未知预警指标：{key}")


def tune(*, by, key: str, params: dict, active: bool) -> IndicatorSetting:  # noqa: ANN001
    """A district administrator's thresholds for an indicator in their area."""
    area = getattr(by, "scope_prefix", None)
    if area is None or not by.can(roles.TUNE_INDICATORS):
        raise PermissionDenied("无权调整预警指标")
    base = indicator(key, area)
    base.with_params(params)  # refuses unknown names and bad values
    row, _ = IndicatorSetting.objects.get_or_create(indicator=key, area_code=area)
    row.params, row.active, row.updated_by = params, active, by
    row.save()
    return row


# -- runs ---------------------------------------------------------------------------------

def start_run(*, by, area_code: str | None = None, trigger: str = "ui",  # noqa: ANN001
              as_of: dt.date | None = None) -> MonitoringRun:
    area = area_code if area_code is not None else getattr(by, "scope_prefix", "")
    if by is not None and not in_scope(by, area, roles.RUN_MONITORING):
        raise PermissionDenied("无权发起监测比对")
    return MonitoringRun.objects.create(area_code=area, trigger=trigger, created_by=by,
                                        as_of=as_of or clock.today(), phase="排队中")


def _param(key: str, area_code: str, day: dt.date, default: int) -> int:
    found = parameter_set().find(key, area_code, day)
    return int(engine_value(found)) if found is not None else default


def _summary(ind: catalogue.Indicator, programme: str | None) -> str:
    return f"{ind.name}：{programme_catalogue.label(programme)}" if programme else ind.name


@dataclass
class Stored:
    created: int
    kept: int
    suppressed: int


def store(run: MonitoringRun, warnings: pl.DataFrame,
          by_key: dict[str, catalogue.Indicator]) -> Stored:
    """New warnings of a run, in one transaction; open ones and recently closed ones on the
    same evidence are not raised again."""
    from doudi.casework.services import calendar

    cal = calendar()
    reraise = _param("monitoring.reraise_days", run.area_code, run.as_of, DEFAULT_RERAISE_DAYS)
    frame = warnings.with_columns(pl.concat_str(
        [pl.col("indicator"), pl.col("household_id").cast(pl.String),
         pl.col("member_id").cast(pl.String).fill_null(""), pl.col("programme").fill_null("")],
        separator="|").alias("subject_key"))
    keys = frame["subject_key"].to_list()
    open_keys: set[str] = set()
    closed: set[tuple[str, str]] = set()
    since = timezone.now() - dt.timedelta(days=reraise)
    for start in range(0, len(keys), 20_000):
        chunk = keys[start:start + 20_000]
        open_keys |= set(Warning.objects.filter(open_key__in=chunk)
                         .values_list("open_key", flat=True))
        closed |= set(Warning.objects.filter(subject_key__in=chunk, status=workflow.CLOSED,
                                             closed_at__gte=since)
                      .values_list("subject_key", "fingerprint"))
    due: dict[tuple[str, int], tuple[dt.date, bool]] = {}
    rows: list[Warning] = []
    kept = suppressed = 0
    for r in frame.iter_rows(named=True):
        if r["subject_key"] in open_keys:
            kept += 1
            continue
        if (r["subject_key"], r["fingerprint"]) in closed:
            suppressed += 1
            continue
        ind = by_key[r["indicator"]]
        slot = (ind.handled_by, ind.verify_days)
        if slot not in due:
            deadline = add_workdays(run.as_of, ind.verify_days, cal)
            due[slot] = (deadline.day, deadline.provisional)
        day, provisional = due[slot]
        rows.append(Warning(
            indicator=ind.key, kind=ind.kind, level=ind.level, channel="monitoring",
            household_id=r["household_id"], person_id=r["member_id"],
            programme=r["programme"] or "", event_date=r["event_date"],
            source=r["source"] or "", evidence=json.loads(r["evidence"]),
            fingerprint=r["fingerprint"][:200], summary=_summary(ind, r["programme"])[:300],
            status=workflow.OPEN, handler_level=ind.handled_by,
            owner_code=workflow.owner_area(r["area_code"], ind.handled_by),
            area_code=r["area_code"], due_on=day, due_provisional=provisional,
            subject_key=r["subject_key"][:200], open_key=r["subject_key"][:200], run=run))
    with transaction.atomic():
        Warning.objects.bulk_create(rows, batch_size=5000)
        audit.record(AuditEvent.CREATE, object_type="monitoring.monitoringrun",
                     object_id=run.pk, area_code=run.area_code,
                     object_label=f"监测比对新增预警 {len(rows)} 条",
                     changes={"created": len(rows), "kept": kept, "suppressed": suppressed})
    return Stored(len(rows), kept, suppressed)


def execute(run: MonitoringRun, progress: Callable[[int, str], None] | None = None,
            engine: str = "local") -> MonitoringRun:
    """Gather the inputs, run the engine (Polars here, or the same functions on Spark), store
    the warnings; the run row tells how it went."""
    from doudi.monitoring.inputs import gather

    def step(percent: int, phase: str) -> None:
        MonitoringRun.objects.filter(pk=run.pk).update(progress=percent, phase=phase)
        if progress is not None:
            progress(percent, phase)

    MonitoringRun.objects.filter(pk=run.pk).update(status=MonitoringRun.RUNNING)
    try:
        chosen = indicators_for(run.area_code)
        inputs, summary = gather(run.area_code, run.as_of, step)
        summary["engine"] = engine
        step(60, "比对与规则测算" + ("（Spark）" if engine == "spark" else ""))
        if engine == "spark":
            from doudi.engine.monitoring.spark import run_spark

            out = run_spark(inputs, chosen)
        else:
            out = run_engine(inputs, chosen)
        step(85, "保存预警")
        stored = store(run, out.warnings, {i.key: i for i in chosen})
    except Exception as exc:
        MonitoringRun.objects.filter(pk=run.pk).update(
            status=MonitoringRun.FAILED, message=f"运行失败：{exc}"[:2000],
            finished_at=timezone.now())
        raise
    MonitoringRun.objects.filter(pk=run.pk).update(
        status=MonitoringRun.DONE, progress=100, phase="完成", counts=out.counts,
        created=stored.created, kept=stored.kept, skipped=out.skipped, inputs=summary,
        digest=digest(out.warnings), finished_at=timezone.now(),
        message=(f"预警 {out.warnings.height} 条：新增 {stored.created}，已有未办结 "
                 f"{stored.kept}，近期已核实不再重复 {stored.suppressed}"))
    run.refresh_from_db()
    return run


# -- handling -----------------------------------------------------------------------------

def visible(user) -> Q:  # noqa: ANN001
    """Warnings a user sees: owned by or raised about their area."""
    prefix = user.scope_prefix
    return Q(area_code__startswith=prefix) | Q(owner_code__startswith=prefix)


def _check_handler(by, warning: Warning) -> None:  # noqa: ANN001
    if not in_scope(by, warning.area_code, roles.EDIT_REGISTRY) or not workflow.may_handle(
            by.capabilities, warning.handler_level):
        level = workflow.LEVEL_LABELS[warning.handler_level]
        raise PermissionDenied(f"该预警由{level}核实处置")


def _event(warning: Warning, by, action: str, label: str, before: str,  # noqa: ANN001
           note: str = "") -> None:
    WarningEvent.objects.create(warning=warning, action=action, label=label, note=note,
                                from_status=before, to_status=warning.status, by=by)


def verify(*, by, warning: Warning, finding: str, confirmed: bool) -> Warning:  # noqa: ANN001
    """核实: what the handler found on site; 属实 or 不符."""
    _check_handler(by, warning)
    if warning.status != workflow.OPEN:
        raise MonitoringError("该预警已核实")
    if not finding.strip():
        raise MonitoringError("请填写核实情况")
    before = warning.status
    with transaction.atomic():
        warning.status, warning.verification = workflow.VERIFIED, finding.strip()
        warning.verified_true, warning.verified_by = confirmed, by
        warning.verified_at = timezone.now()
        warning.save()
        _event(warning, by, "verify", "核实属实" if confirmed else "核实不符", before, finding)
    return warning


def dispose(*, by, warning: Warning, disposition: str, note: str = "") -> Warning:  # noqa: ANN001
    """处置: a case started for a programme (pre-filled from the warning), a referral (转介,
    sent through `referrals.services.refer`; the note is what is asked), or 核实不符 / 已在保;
    the warning closes. A case or a referral needs a registered household."""
    from doudi.casework.services import CaseworkError, create_application
    from doudi.referrals import kinds as referral_kinds
    from doudi.referrals import services as referrals

    _check_handler(by, warning)
    if warning.status != workflow.VERIFIED:
        raise MonitoringError("请先记录核实情况")
    if disposition not in workflow.dispositions():
        raise MonitoringError("请选择处置方式")
    label, programme, needs_reason = workflow.dispositions()[disposition]
    if needs_reason and not note.strip():
        raise MonitoringError(f"“{label}”须说明理由")
    before = warning.status
    # a warning about one part (应保未保 of 重度残疾人护理补贴) starts a case for that part
    part = programme_catalogue.part_of(warning.programme) if programme else None
    asked = [warning.programme] if part and part[0].code == programme else []
    with transaction.atomic():
        if programme:
            if warning.household is None:
                raise MonitoringError("求助人尚未建档：请先登记家庭档案并关联到本预警")
            try:
                warning.application = create_application(
                    by=by, household=warning.household, programme=programme,
                    channel="warning", applicant=warning.person,
                    reason=f"监测预警 #{warning.pk}（{warning.summary}）：{warning.verification}"
                    [:500], reference=f"预警{warning.pk}", parts=asked)
            except CaseworkError as exc:
                raise MonitoringError(str(exc)) from exc
        referred = referral_kinds.for_disposition(disposition)
        if referred is not None:
            if warning.household is None:
                raise MonitoringError("求助人尚未建档：请先登记家庭档案并关联到本预警")
            asked = note.strip() or (f"监测预警 #{warning.pk}（{warning.summary}）：核实情况："
                                     f"{warning.verification}")
            try:
                referrals.refer(by=by, household=warning.household, kind=referred.code,
                                asked=asked, warning=warning, person=warning.person)
            except referrals.ReferralError as exc:
                raise MonitoringError(str(exc)) from exc
        warning.status, warning.disposition = workflow.CLOSED, disposition
        warning.disposition_note = note.strip()[:300]
        warning.closed_by, warning.closed_at, warning.open_key = by, timezone.now(), None
        warning.save()
        _event(warning, by, "dispose", label, before, note)
    return warning


def close_by_decision(*, by, application) -> int:  # noqa: ANN001
    """An approved case closes the open 应保未保 warnings it answers — the household's (or, for a
    programme of one member, the applicant's) for its programme, the parts it enrolled (a part
    found not to apply keeps its warning), or the programme it counts as — with the decision
    as the disposition. Returns how many it closed."""
    entry = programme_catalogue.get(application.programme)
    if entry is None:
        return 0
    codes = {entry.code, *application.enrollments.exclude(part="").values_list(
        "part", flat=True)}
    if entry.compared_with:
        codes.add(entry.compared_with)
    found = Warning.objects.select_for_update().filter(
        kind="uncovered_eligible", household=application.household, programme__in=codes,
        status__in=(workflow.OPEN, workflow.VERIFIED))
    if entry.level == programme_catalogue.MEMBER:
        found = found.filter(person=application.applicant)
    disposition = f"case_{entry.code}"
    if disposition not in workflow.dispositions():
        disposition = "already_covered"
    label = workflow.dispositions()[disposition][0]
    note = f"申请 {application.number} 已批准（{application.decided_on}）"
    closed = 0
    for warning in found:
        before = warning.status
        warning.status, warning.disposition = workflow.CLOSED, disposition
        warning.disposition_note = note
        warning.application = warning.application or application
        warning.closed_by, warning.closed_at, warning.open_key = by, timezone.now(), None
        warning.save()
        _event(warning, by, "dispose", label, before, note)
        closed += 1
    return closed


def escalate_overdue(today: dt.date | None = None, area_code: str = "") -> int:
    """Overdue open warnings move up one level (村 → 镇 → 县) with a new time limit."""
    from doudi.casework.services import calendar

    today = today or clock.today()
    cal = calendar()
    moved = 0
    limits = {i.key: i.verify_days for i in catalogue.shipped()}
    overdue = Warning.objects.filter(area_code__startswith=area_code,
                                     status__in=(workflow.OPEN, workflow.VERIFIED),
                                     due_on__lt=today).exclude(handler_level="district")
    for w in overdue.iterator(chunk_size=2000):
        ind_days = limits.get(w.indicator, 5)
        before_level = w.handler_level
        w.handler_level = workflow.ESCALATION[before_level]
        w.owner_code = workflow.owner_area(w.area_code, w.handler_level)
        deadline = add_workdays(today, ind_days, cal)
        w.due_on, w.due_provisional = deadline.day, deadline.provisional
        w.escalations += 1
        with transaction.atomic():
            w.save()
            _event(w, None, "escalate", f"逾期升级至{workflow.LEVEL_LABELS[w.handler_level]}",
                   w.status, f"原由{workflow.LEVEL_LABELS[before_level]}核实，逾期未办结")
        moved += 1
    return moved


def report(*, by, channel: str, summary: str, household: Household | None = None,  # noqa: ANN001
           person: Person | None = None, area_code: str = "", ticket_no: str = "",
           name: str = "", phone: str = "", address: str = "",
           as_of: dt.date | None = None, upstream_ref: str = "",
           evidence: dict | None = None, event_date: dt.date | None = None) -> Warning:
    """A warning people raise: a village assistant's 主动发现 or a 12345 ticket — or one the
    platform above pushes down (channel `upstream`, its id there `upstream_ref`, about a
    registered person). It is routed and timed like a monitoring warning; a ticket may name
    someone not yet registered. `by` None is a command run on the server (`doudi sync
    push-warnings`), allowed for pushed-down warnings only."""
    from doudi.casework.services import calendar

    if channel not in ("discovery", "hotline", "upstream"):
        raise MonitoringError("未知的发现渠道")
    if household is not None:
        area_code = household.area_code
    if len(area_code) != 12 or not area_code.isdigit():
        raise MonitoringError("请选择求助人所在村（社区）", field="area_code")
    hotline_system = channel == "hotline" and in_scope(by, area_code, roles.HOTLINE)
    platform = channel == "upstream" and (by is None or in_scope(by, area_code,
                                                                 roles.SYNC_WARNINGS))
    if not in_scope(by, area_code, roles.EDIT_REGISTRY) and not hotline_system \
            and not platform:
        raise PermissionDenied("无权在该区划登记")
    if channel == "upstream" and (household is None or not upstream_ref.strip()):
        raise MonitoringError("上级下发预警须关联本级人员并注明上级预警编号")
    if not summary.strip():
        raise MonitoringError("请填写困难情况", field="summary")
    if channel == "hotline" and not ticket_no.strip():
        raise MonitoringError("请填写 12345 工单号", field="ticket_no")
    if household is None and not name.strip():
        raise MonitoringError("请填写求助人姓名", field="name")
    ind = indicator(channel, area_code)
    day = as_of or clock.today()
    deadline = add_workdays(day, ind.verify_days, calendar())
    subject = (f"{channel}|{household.pk if household else ''}|{person.pk if person else ''}|"
               f"{upstream_ref.strip() or ticket_no.strip() or summary.strip()[:60]}")
    try:
        with transaction.atomic():
            w = Warning.objects.create(
                indicator=ind.key, kind=ind.kind, level=ind.level, channel=channel,
                household=household, person=person, event_date=event_date or day,
                source=channel,
                evidence={"report": summary.strip()[:1000], **(evidence or {})},
                summary=summary.strip()[:300], upstream_ref=upstream_ref.strip()[:64],
                reporter=by, ticket_no=ticket_no.strip()[:40], reported_name=name.strip()[:50],
                reported_phone=phone.strip()[:30], reported_address=address.strip()[:200],
                status=workflow.OPEN, handler_level=ind.handled_by,
                owner_code=workflow.owner_area(area_code, ind.handled_by), area_code=area_code,
                due_on=deadline.day, due_provisional=deadline.provisional,
                subject_key=subject[:200], open_key=subject[:200])
            _event(w, by, "report", "登记" + dict(Warning.CHANNEL_CHOICES)[channel], "", summary)
    except IntegrityError as exc:
        raise MonitoringError("同一求助已登记且尚未办结") from exc
    return w


def link_household(*, by, warning: Warning, household: Household,  # noqa: ANN001
                   person: Person | None = None) -> Warning:
    """A reported person, registered since, joined to the warning: the household, and the
    member concerned (whom a case for a programme applied for member by member, such as
    纳入特困, is for)."""
    _check_handler(by, warning)
    if not in_scope(by, household.area_code, roles.EDIT_REGISTRY):
        # the same answer as a number that does not exist (registry.queries.NOT_FOUND_HERE)
        raise MonitoringError("未找到该家庭编号（或该家庭不在您的管辖范围内）")
    if person is not None and not household.current_memberships().filter(
            person=person).exists():
        raise MonitoringError("求助人须为该家庭的现有成员")
    warning.household = household
    warning.person = person or warning.person
    warning.save()
    return warning
