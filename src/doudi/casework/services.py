"""Casework services: intake, every transition of the workflow table, deadlines.

Every write checks the actor's area (the application's village must lie in the user's scope)
and capability (`workflow.allowed`), records an `ApplicationEvent` (who, when, from, to,
opinion) and is audited through the models. Deadlines are working days from dated,
area-inherited policy parameters (`casework.deadline.<step>`, a programme may override with
`casework.<programme>.deadline.<step>`); 公示 runs `casework.publicity_days` calendar days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import polars as pl
from django.core.exceptions import PermissionDenied
from django.db import transaction

from doudi.accounts import roles
from doudi.areas.scoping import in_scope
from doudi.casework import documents, filing, workflow
from doudi.casework.models import (
    CHANNEL_CHOICES,
    Application,
    ApplicationEvent,
    CalendarDay,
    CalendarYear,
    HomeVisit,
)
from doudi.core import clock
from doudi.core.errors import FieldError, ServiceError
from doudi.core.money import yuan_text
from doudi.core.workdays import Calendar, add_workdays
from doudi.policy.services import parameter_set
from doudi.programmes import catalogue
from doudi.registry import services as registry
from doudi.registry.categories import CATEGORIES
from doudi.registry.models import Household, Person
from doudi.rules.parameters import (
    ParameterError,
    ParameterMissing,
    ParameterSet,
    engine_value,
    label_of,
)


class CaseworkError(ServiceError):
    """A refused action, with a Chinese reason for the page."""


def parameter_value(key: str, area_code: str, day: dt.date,
                    params: ParameterSet | None = None) -> Any:
    """The policy parameter `key` in force for the area on `day` (None when none is set), as
    the rules engine reads it; `params` saves the version check when asking many times."""
    found = (params or parameter_set()).find(key, area_code, day)
    return engine_value(found) if found is not None else None


def calendar() -> Calendar:
    return Calendar(overrides=dict(CalendarDay.objects.values_list("day", "is_workday")),
                    published_years=frozenset(CalendarYear.objects.values_list("year",
                                                                               flat=True)))


def delegated(application: Application, day: dt.date,
              params: ParameterSet | None = None) -> bool:
    """Whether the town decides (审批/确认 delegated by the district). Where the programme
    sets the town's power as an amount (`casework.<programme>.town_limit`, yuan: 临时救助), a
    case above it is the district's: the amount is the rules' proposal (初审, recomputed at
    审批), or the need stated before there is one. `params`: the parameter set, when the
    caller asks for many applications (each `parameter_set()` call checks the table's version
    with a query)."""
    value = parameter_value(f"casework.{application.programme}.delegated",
                            application.area_code, day, params)
    if value is None:
        value = parameter_value("casework.approval_delegated", application.area_code, day, params)
    if not value:
        return False
    limit = town_limit(application, day, params)
    amount = (application.proposed_fen if application.proposed_fen is not None
              else application.need_fen)
    return limit is None or amount is None or amount <= limit


def town_limit(application: Application, day: dt.date,
               params: ParameterSet | None = None) -> int | None:
    """The most the town may approve for one case of the programme (fen), None: no limit."""
    value = parameter_value(f"casework.{application.programme}.town_limit",
                            application.area_code, day, params)
    return None if value is None else int(value)


def conditions(application: Application, day: dt.date,
               params: ParameterSet | None = None) -> frozenset[str]:
    """The workflow conditions (`workflow.CONDITIONS`) the application meets on `day`: the
    急难小额 short path is for an urgent one-off case whose stated need is
    within `casework.<programme>.small_urgent_limit`."""
    request = catalogue.request_of(application.programme)
    if (request is None or not request.urgent or application.aid_type != request.urgent
            or application.need_fen is None):
        return frozenset()
    limit = parameter_value(f"casework.{application.programme}.small_urgent_limit",
                            application.area_code, day, params)
    if limit is None or application.need_fen > int(limit):
        return frozenset()
    return frozenset({workflow.SMALL_URGENT})


def deliberation_required(application: Application, day: dt.date) -> bool:
    return bool(parameter_value("casework.deliberation_required", application.area_code, day))


@dataclass(frozen=True)
class Due:
    day: dt.date | None
    provisional: bool = False


def due_for(application: Application, state: str, start: dt.date) -> Due:
    if state in workflow.TERMINAL:
        return Due(None)
    if state == "publicity":
        days = parameter_value("casework.publicity_days", application.area_code, start) or 7
        return Due(start + dt.timedelta(days=int(days)))
    days = parameter_value(f"casework.{application.programme}.deadline.{state}",
                           application.area_code, start)
    if days is None:
        days = parameter_value(f"casework.deadline.{state}", application.area_code, start)
    if days is None:
        return Due(None)
    deadline = add_workdays(start, int(days), calendar())
    return Due(deadline.day, deadline.provisional)


def _number(area_code: str, day: dt.date) -> str:
    prefix = f"SQ{day:%Y}{area_code[:9]}"
    last = (Application.objects.filter(number__startswith=prefix).order_by("-number")
            .values_list("number", flat=True).first())
    seq = int(last[len(prefix):]) + 1 if last else 1
    return f"{prefix}{seq:05d}"


def _event(application: Application, user, action: str, before: str,  # noqa: ANN001
           opinion: str = "", data: dict | None = None,
           actor_name: str = "") -> ApplicationEvent:
    return ApplicationEvent.objects.create(
        application=application, action=action, from_state=before, to_state=application.state,
        actor=user, actor_name=actor_name or getattr(user, "username", "system"),
        opinion=opinion, data=data or {}, area_code=application.area_code)


def _enter(application: Application, state: str, day: dt.date) -> None:
    application.state = state
    application.step_started_on = day
    due = due_for(application, state, day)
    application.step_due, application.step_due_provisional = due.day, due.provisional
    if state == "publicity":
        application.publicity_ends_on = due.day


def check_request(programme: str, aid_type: str | None,
                  need_fen: int | None) -> list[FieldError]:
    """What is wrong with a one-off application's statement (类型, 救助需求金额), per field."""
    request = catalogue.request_of(programme)
    if request is None:
        return []
    errors = []
    if aid_type not in request.kinds:
        errors.append(FieldError("aid_type", f"请选择{catalogue.label(programme)}类型（"
                                             f"{'或'.join(request.kinds.values())}）"))
    if need_fen is None:
        errors.append(FieldError("need", "请填写救助需求金额"))
    elif need_fen <= 0:
        errors.append(FieldError("need", "救助需求金额应大于零"))
    return errors
def _asked_parts(programme: str, parts: Iterable[str]) -> list[str]:
    """The parts an application asks for, in catalogue order; [] asks for every part."""
    asked = {p for p in parts if p}
    known = [u.code for u in catalogue.parts(programme)]
    if asked - set(known):
        if not known:
            raise CaseworkError(f"{catalogue.label(programme)}不分组成部分", field="parts")
        raise CaseworkError(f"请选择{catalogue.label(programme)}的组成部分："
                            f"{'、'.join(catalogue.label(c) for c in known)}", field="parts")
    return [] if asked == set(known) else [c for c in known if c in asked]


def applicant_choices(household: Household, day: dt.date) -> dict[str, list[Person]]:
    """申请对象 the intake form offers for each programme applied for member by member (特困,
    两项补贴, 孤儿/事实无人抚养: `catalogue.MEMBER`): the household's living current members its
    rules module declares it relevant to on the day (`relevant`: 无劳动能力, 持证残疾, 孤儿或
    事实无人抚养); every living current member where the rules cannot be evaluated (no policy
    parameters for the area) or declare nothing."""
    from doudi.registry.rules_input import build_frames
    from doudi.rules.engine import evaluate

    members = [m.person for m in household.current_memberships().order_by("id")
               if m.person.death_date is None or m.person.death_date > day]
    per_person = [p for p in catalogue.programmes() if p.level == catalogue.MEMBER]
    from doudi.rules.engine import missing_column

    try:
        h, m = build_frames(Household.objects.filter(pk=household.pk), day)
        rows = evaluate(h, m, parameter_set(), day).members.to_dicts()
    except ParameterError:
        rows = []
    choices = {}
    for p in per_person:
        relevant = p.rules_programme().relevant
        blocked = any(r.get(missing_column(p.rules_programme().name)) for r in rows)
        if not rows or relevant is None or blocked:
            choices[p.code] = members
            continue
        found = {r["member_id"] for r in rows if r.get(relevant)}
        choices[p.code] = [person for person in members if str(person.pk) in found]
    return choices


def chosen_applicant(household: Household, programme: str, person_id: str | None,
                     day: dt.date) -> Person | None:
    """The member the intake form named for a programme applied for member by member, who
    must be among its `applicant_choices`; None for a household programme (its head)."""
    choices = applicant_choices(household, day).get(programme)
    if choices is None:
        return None
    found = next((p for p in choices if str(p.pk) == (person_id or "").strip()), None)
    if found is None:
        raise CaseworkError(
            f"请选择{catalogue.label(programme)}的申请对象（本家庭符合申请条件的成员）"
            if choices else f"本家庭没有符合{catalogue.label(programme)}申请条件的成员"
            "（请先在家庭档案中登记残疾、孤儿等情况）", field="applicant")
    return found


def _applicant(household: Household, programme: catalogue.Programme,
               applicant: Person | None) -> Person | None:
    """Whom the application is for: the member named (who must belong to the household); for
    a household programme the head when nobody is named; a programme applied for member by
    member names its member (the only one of a one-person household goes without saying)."""
    current = [m.person for m in household.current_memberships()]
    if applicant is not None:
        if applicant not in current:
            raise CaseworkError("申请对象须为本家庭的现有成员", field="applicant")
        return applicant
    if programme.level == catalogue.MEMBER:
        if len(current) == 1:
            return current[0]
        raise CaseworkError(f"{programme.short_label}按人申请，请选择申请对象（本家庭成员）",
                            field="applicant")
    return household.head()


def create_application(*, by, household: Household, programme: str, channel: str,  # noqa: ANN001
                       reason: str, applicant: Person | None = None, emergency: bool = False,
                       submitted_on: dt.date | None = None, reference: str = "",
                       aid_type: str | None = None, need_fen: int | None = None,
                       parts: Iterable[str] = ()) -> Application:
    """受理: a village assistant on behalf of a family, a town window, … . For a one-off
    programme (临时救助) the intake form states the type and the need (`aid_type`,
    `need_fen`, both checked when either is given); a case opened from a warning, a hotline
    ticket or a visit states them later (`record_request`), before the town's opinion. For a
    programme paid in parts (两项补贴) `parts` names those applied for (none: every part)."""
    if not catalogue.is_programme(programme):
        raise CaseworkError(f"未知救助项目：{programme}")
    asked = _asked_parts(programme, parts)
    if not in_scope(by, household.area_code, roles.EDIT_REGISTRY) or \
            not by.can(roles.INTAKE):
        raise PermissionDenied("无权在该区划受理申请")
    if not reason.strip():
        raise CaseworkError("请填写申请事由")
    if channel not in dict(CHANNEL_CHOICES):
        raise CaseworkError("请选择申请渠道")
    if channel == "hotline" and not reference.strip():
        raise CaseworkError("12345 转办的申请请填写工单号")
    request = catalogue.request_of(programme)
    stated = request is not None and (aid_type is not None or need_fen is not None)
    if stated:
        errors = check_request(programme, aid_type, need_fen)
        if errors:
            raise CaseworkError(errors)
        emergency = emergency or aid_type == request.urgent
    entry = catalogue.get(programme)
    applicant = _applicant(household, entry, applicant)
    pending = Application.objects.filter(household=household, programme=programme).exclude(
        state__in=workflow.TERMINAL)
    if entry.level == catalogue.MEMBER and pending.filter(applicant=applicant).exists():
        raise CaseworkError(f"{applicant.masked_name}已有办理中的{entry.label}申请")
    if entry.level == catalogue.HOUSEHOLD and pending.exists():
        raise CaseworkError(f"该家庭已有办理中的{catalogue.label(programme)}申请")
    day = submitted_on or clock.today()
    with transaction.atomic():
        application = Application(
            number=_number(household.area_code, day), programme=programme, parts=asked,
            channel=channel,
            household=household, applicant=applicant, reason=reason.strip(),
            emergency=emergency, submitted_on=day, step_started_on=day, created_by=by,
            reference=reference.strip()[:40],
            aid_type=aid_type or "" if stated else "", need_fen=need_fen if stated else None,
            area_code=household.area_code)
        _enter(application, "accepted", day)
        application.save()
        _event(application, by, "create", "", reason.strip(),
               {"aid_type": aid_type, "need_fen": need_fen} if stated else None)
    return application


def record_request(*, by, application: Application, aid_type: str,  # noqa: ANN001
                   need_fen: int | None) -> Application:
    """登记救助类型与需求金额 of a one-off case opened without them (from a warning, a hotline
    ticket, a visit, the online form) or corrected before the decision."""
    request = catalogue.request_of(application.programme)
    if request is None:
        raise CaseworkError(f"{catalogue.label(application.programme)}不登记救助类型与需求金额")
    if not in_scope(by, application.area_code, roles.EDIT_REGISTRY) or \
            not by.can(roles.INTAKE):
        raise PermissionDenied("无权登记该申请的救助类型与需求")
    errors = check_request(application.programme, aid_type, need_fen)
    if errors:
        raise CaseworkError(errors)
    with transaction.atomic():
        application = Application.objects.select_for_update().get(pk=application.pk)
        if application.decision or not application.open:
            raise CaseworkError("已作出审批决定，不能再修改救助类型与需求金额")
        application.aid_type, application.need_fen = aid_type, need_fen
        application.emergency = application.emergency or aid_type == request.urgent
        application.proposed_fen = None  # the town's opinion computes it again
        application.save()
        _event(application, by, "record_request", application.state,
               data={"aid_type": aid_type, "need_fen": need_fen})
    return application


def act(*, by, application: Application, action: str, opinion: str = "",  # noqa: ANN001
        data: dict | None = None, day: dt.date | None = None) -> Application:
    """Take one action of the workflow table on the application."""
    if not in_scope(by, application.area_code, roles.VIEW_REGISTRY):
        raise PermissionDenied("该申请不在您的管辖范围内")
    day = day or clock.today()
    data = dict(data or {})
    try:
        t = workflow.allowed(action, application.state, by.capabilities,
                             delegated=delegated(application, day),
                             conditions=conditions(application, day))
    except workflow.TransitionError as exc:
        raise PermissionDenied(str(exc)) from exc
    return _take(by, application, t, opinion, data, day)


# How the log names the applicant acting on their own case (no account of theirs exists).
APPLICANT_ACTOR = "申请人本人（申请进度查询）"


def withdraw_by_applicant(*, application: Application, reason: str = "",
                          day: dt.date | None = None) -> Application:
    """申请人撤回 from the resident's own status page (`casework.case_status`): the workflow's
    `withdraw` transition, taken through the same steps as an officer's (`_take`: the state
    locked and checked, the step entered, the event and the audit rows written together). The
    applicant, who proved who they are by the application number and their ID's tail, needs
    no capability; they may withdraw while the case is open and not yet decided — after a
    decision the town handles it."""
    t = workflow.BY_ACTION["withdraw"]
    if application.state not in t.source or application.decision:
        raise CaseworkError("该申请已作出决定或已办结，不能在网上撤回；"
                            "如有疑问请联系所在镇（街道）")
    opinion = "申请人本人通过申请进度查询页撤回" + (f"：{reason.strip()[:200]}"
                                                    if reason.strip() else "")
    return _take(None, application, t, opinion, {"by": "applicant"}, day or clock.today(),
                 actor_name=APPLICANT_ACTOR)


def _take(by, application: Application, t: workflow.Transition,  # noqa: ANN001
          opinion: str, data: dict, day: dt.date, actor_name: str = "") -> Application:
    """Take transition `t` (already allowed for the actor) in one transaction."""
    opinion = opinion.strip()
    if t.opinion_required and not opinion:
        raise CaseworkError(f"“{t.label}”需要填写意见")
    before = application.state
    with transaction.atomic():
        application = Application.objects.select_for_update().get(pk=application.pk)
        if application.state != before:
            raise CaseworkError("该申请已被他人办理，请刷新后重试")
        target = _apply(by, application, t, opinion, data, day)
        _enter(application, target, day)
        application.save()
        _event(application, by, t.action, before, opinion, data, actor_name)
        if t.action in documents.DECIDING_ACTIONS:
            documents.allocate(application)  # the 文号 of the decision's 书面通知
            if delegated(application, day):  # taken by the town: filed with the district
                filing.file_decision(by=by, application=application, day=day)
    return application


def _apply(by, application: Application, t: workflow.Transition, opinion: str,  # noqa: ANN001
           data: dict, day: dt.date) -> str:
    """Action-specific records; returns the state the application moves to."""
    if t.action == "record_visit":
        _record_visit(by, application, opinion, data, day)
    elif t.action == "complete_verification":
        report = application.household.verification_reports.order_by("-requested_at").first()
        if report is not None:
            data.update(report=report.pk, report_day=report.day.isoformat(),
                        differences=report.differences)
    elif t.action == "town_opinion":
        recommendation = data.get("recommendation")
        if recommendation not in ("eligible", "ineligible"):
            raise CaseworkError("请选择初审意见：符合条件或不符合条件")
        application.recommendation = recommendation
        stated = not check_request(application.programme, application.aid_type,
                                   application.need_fen)
        if application.one_off and (recommendation == "eligible" or stated):
            # the rules' amount now decides who approves (镇街 within its power, 区县 above)
            application.proposed_fen, _ = _one_off_amount(application, day)
            data["proposed_fen"] = application.proposed_fen
        if recommendation == "ineligible":
            return "decision"  # nothing to publish: the approver decides the refusal
        return workflow.next_after_opinion(application.programme,
                                           deliberation_required(application, day))
    elif t.action == "close_publicity":
        if application.publicity_ends_on and day < application.publicity_ends_on:
            raise CaseworkError(f"公示期至 {application.publicity_ends_on} 截止，期满后方可办理")
    elif t.action in ("approve", "approve_urgent"):
        application.decision, application.decided_on = "approved", day
        application.decision_reason = opinion
        if application.one_off:
            amount, explanation = _one_off_amount(application, day)
            if not amount:
                raise CaseworkError(
                    f"按规则核定的{catalogue.label(application.programme)}金额为 0 元"
                    "（不符合条件或本年度额度已用完），请作不予批准决定")
            application.proposed_fen = amount
            _check_power(by, application, t, day)
            application.shortened = t.action == "approve_urgent"
            application.amount_fen = amount
        else:
            application.amount_fen, explanation = rules_decision(application, day)
        data["rules"] = explanation
    elif t.action == "refuse":
        application.decision, application.decided_on = "refused", day
        application.decision_reason = opinion
        application.amount_fen = None
    elif t.action == "issue_notice":
        if application.decision == "approved":
            from doudi.monitoring.services import close_by_decision

            if application.one_off:
                _grant_one_off(by, application, day)
            else:
                _enrol(by, application, day)
            close_by_decision(by=by, application=application)
            # 急难小额: paid first, the visit and the town's review follow within the limit
            return "post_review" if application.shortened else "approved"
        return "refused"
    elif t.action == "complete_post_review":
        _record_visit(by, application, opinion, data, day)
    elif t.action == "return_for_correction":
        # 需补正的材料: what the applicant is told on their status page (the opinion stays
        # the officers')
        missing = " ".join(str(data.pop("missing", "") or "").split())[:MISSING_MAX]
        if missing:
            data["missing"] = missing
    return t.target


MISSING_MAX = 300


def _record_visit(by, application: Application, opinion: str, data: dict,  # noqa: ANN001
                  day: dt.date) -> None:
    """入户调查 as the visitor wrote it down (members present, living conditions)."""
    for key, label in (("members_present", "在场成员"), ("living_conditions", "居住与生活状况")):
        if not str(data.get(key, "")).strip():
            raise CaseworkError(f"入户调查需填写{label}", field=key)
    visited = data.get("visited_on") or day.isoformat()
    try:
        visited_on = dt.date.fromisoformat(str(visited))
    except ValueError as exc:
        raise CaseworkError("调查日期应为日期（年-月-日）", field="visited_on") from exc
    HomeVisit.objects.create(
        application=application, visited_on=visited_on,
        members_present=str(data["members_present"])[:200],
        living_conditions=str(data["living_conditions"]), findings=opinion,
        visitor=by, area_code=application.area_code)
    data["visited_on"] = visited_on.isoformat()


def _check_power(by, application: Application, t: workflow.Transition,  # noqa: ANN001
                 day: dt.date) -> None:
    """The amount just computed may have moved the case above the town's power (or back):
    the approver must hold what the table asks for at that amount."""
    try:
        workflow.allowed(t.action, application.state, by.capabilities,
                         delegated=delegated(application, day),
                         conditions=conditions(application, day))
    except workflow.TransitionError as exc:
        limit = town_limit(application, day)
        if limit is not None and (application.proposed_fen or 0) > limit:
            raise PermissionDenied(
                f"核定金额 {yuan_text(application.proposed_fen or 0)} 元超过镇街审批权限"
                f"（{yuan_text(limit)} 元），应报区县民政部门审批") from exc
        raise PermissionDenied(str(exc)) from exc


def _one_off_amount(application: Application, day: dt.date) -> tuple[int, dict]:
    """The rules' amount of a one-off case on `day`: the need stated, within the type's months
    of the standard × members and what is left of the family's yearly cap after what it was
    granted this calendar year (`benefits.one_off.granted_this_year`)."""
    if check_request(application.programme, application.aid_type, application.need_fen):
        raise CaseworkError(f"请先登记{catalogue.label(application.programme)}类型和救助需求金额")
    amount, explanation = rules_decision(application, day)
    return int(amount or 0), explanation


def _grant_one_off(by, application: Application, day: dt.date) -> None:  # noqa: ANN001
    """给予一次性救助: the payment to make, the town's 先行救助 advance settled against it."""
    from doudi.benefits.one_off import grant

    grant(by=by, application=application, day=day)


def rules_decision(application: Application, day: dt.date) -> tuple[int | None, dict]:
    """(amount in fen, the rules' explanation of it) on the decision day: every criterion and
    computation line with its legal references, kept with the enrollment."""
    from doudi.rules.explain import explain
    from doudi.rules.programmes import PROGRAMMES

    programme = PROGRAMMES.get(application.programme)
    if programme is None or programme.amount is None:
        return None, {}
    evaluated = _evaluate(application, day)
    if evaluated is None:
        return None, {}
    result, rows, subject = evaluated
    if programme.amount not in rows.columns:
        return None, {}
    amount = int(rows.get_column(programme.amount)[0] or 0)
    found = [e for e in explain(result, application.household_id, everything=True)
             if e.name == application.programme and (subject is None or e.subject == subject)]
    explanation: dict[str, Any] = {"day": day.isoformat(), "lines": [
        {"label": ln.label, "detail": ln.detail, "outcome": ln.outcome,
         "references": [c.reference for c in ln.citations]}
        for e in found for ln in e.lines]}
    asked = application.asked_parts
    if asked:  # each part asked for, with its own amount where the rules find it applies
        receiving = _receiving(application)
        explanation["parts"] = [
            {"part": u.code, "label": u.label, "eligible": bool(rows.get_column(u.eligible)[0]),
             "amount_fen": int(rows.get_column(u.amount)[0] or 0) if u.amount else 0,
             "receiving": u.code in receiving}
            for u in asked]
        amount = sum(p["amount_fen"] for p in explanation["parts"]
                     if p["eligible"] and not p["receiving"])
    return amount, explanation


def _evaluate(application: Application,
              day: dt.date) -> tuple[Any, pl.DataFrame, str | None] | None:
    """The rules evaluated for the application's household on `day`: (the result, the row of
    its subject — the household, or the member applied for — and that member's id or None);
    None when the subject has no row. Raises ParameterMissing where the programme cannot be
    computed."""
    from doudi.registry.rules_input import build_frames
    from doudi.rules.engine import evaluate, unavailable
    from doudi.rules.programmes import PROGRAMMES

    programme = PROGRAMMES[application.programme]
    h, m = build_frames(Household.objects.filter(pk=application.household_id), day)
    request = catalogue.request_of(application.programme)
    if request is not None:  # what the application states, and what was granted this year
        from doudi.benefits.one_off import granted_this_year

        h = h.with_columns(
            pl.lit(application.aid_type or None, pl.String).alias(request.kind),
            pl.lit(application.need_fen or 0, pl.Int64).alias(request.need),
            pl.lit(granted_this_year(application.household_id, application.programme, day),
                   pl.Int64).alias(request.received))
    result = evaluate(h, m, parameter_set(), day)
    for _, area, key in unavailable(result.households, [programme]):
        # a programme the rules cannot compute there is never decided at 0 元
        raise ParameterMissing(f"缺少参数 {label_of(key)}：区划 {area} 在 {day} 没有生效的取值")
    if programme.level == "household":
        rows = result.households.filter(
            result.households["household_id"] == str(application.household_id))
        subject = None
    else:
        rows = result.members.filter(
            result.members["member_id"] == str(application.applicant_id))
        subject = str(application.applicant_id)
    if rows.height == 0:
        return None
    return result, rows, subject


def rules_eligible(application: Application, day: dt.date) -> bool | None:
    """Whether the programme's rules find the application's subject eligible on `day` (its
    `eligible` column); None when they cannot say (no rules module, parameters missing)."""
    from doudi.rules.programmes import PROGRAMMES

    programme = PROGRAMMES.get(application.programme)
    if programme is None:
        return None
    try:
        evaluated = _evaluate(application, day)
    except ParameterError:
        return None
    if evaluated is None or programme.eligible not in evaluated[1].columns:
        return None
    return bool(evaluated[1].get_column(programme.eligible)[0])


def _receiving(application: Application) -> set[str]:
    """The parts of the application's programme its subject already receives (not ended); an
    enrollment that does not say its part (one not split, see benefits 0012) pays them all."""
    from doudi.benefits.models import Enrollment

    entry = catalogue.get(application.programme)
    person = application.applicant if entry and entry.level == catalogue.MEMBER else None
    parts = set(Enrollment.objects.filter(
        household=application.household, person=person, programme=application.programme)
        .exclude(status=Enrollment.ENDED).values_list("part", flat=True))
    return {u.code for u in catalogue.parts(application.programme)} if "" in parts else parts


def _approval_rules(application: Application) -> dict:
    """The rules' explanation recorded when the application was approved."""
    event = application.events.filter(action="approve").order_by("-at").first()
    return (event.data or {}).get("rules", {}) if event else {}


def _enrol(by, application: Application, day: dt.date) -> None:  # noqa: ANN001
    """纳入保障: an enrollment with the decided amount from the decision day (benefits pays it
    monthly), and the programme's registry category. A programme paid in parts (两项补贴) is
    enrolled part by part: each part asked for that the rules found applying, with its own
    amount, so each is changed, stopped and reviewed on its own; a part the person already
    receives is not enrolled twice."""
    from doudi.benefits.services import enroll
    entry = catalogue.get(application.programme)
    person = application.applicant if entry and entry.level == catalogue.MEMBER else None
    rules = _approval_rules(application)
    decided = {"decision": application.decision_reason,
               "decided_on": str(application.decided_on), "rules": rules}
    start = application.decided_on or day
    if entry is not None and entry.parts:
        parts, unknown = _decided_parts(application, rules, start)
        if unknown and application.amount_fen:  # kept whole, as before parts: staff settle it
            enroll(by=by, household=application.household, programme=entry.code,
                   amount_fen=application.amount_fen, start_date=start, person=person,
                   application=application, part_unknown=unknown,
                   explanation={**decided, "amount_fen": application.amount_fen})
        receiving = _receiving(application)  # again: one may have started since the approval
        for part in parts:
            if part["eligible"] and part["amount_fen"] > 0 and part["part"] not in receiving:
                enroll(by=by, household=application.household, programme=entry.code,
                       part=part["part"], amount_fen=part["amount_fen"], start_date=start,
                       person=person, application=application,
                       explanation={**decided, "amount_fen": part["amount_fen"],
                                    "part": part["part"]})
    elif application.amount_fen:
        enroll(by=by, household=application.household, programme=application.programme,
               amount_fen=application.amount_fen, start_date=start, person=person,
               application=application,
               explanation={**decided, "amount_fen": application.amount_fen})
    category = catalogue.category_of(application.programme)
    if category is None:
        return
    spec = CATEGORIES[category]
    kwargs = ({"household": application.household} if spec.level == "H"
              else {"person": application.applicant})
    registry.assign_category(by=by, category=category, start_date=application.decided_on or day,
                             note=f"申请 {application.number} 批准",
                             decided_by=f"申请 {application.number}", **kwargs)


def _decided_parts(application: Application, rules: dict,
                   day: dt.date) -> tuple[list[dict], str]:
    """The parts the approval decided, and "" — or, for an application approved before parts
    were told apart (its approval recorded no parts), the parts the rules give on the decision
    day when they add up to the amount approved; otherwise none and the reason they cannot be
    told apart (the amount approved is then enrolled whole, never split by a guess)."""
    if "parts" in rules:
        return rules["parts"], ""
    _, again = rules_decision(application, day)
    parts = again.get("parts", [])
    if parts and sum(p["amount_fen"] for p in parts if p["eligible"]) == application.amount_fen:
        return parts, ""
    if _receiving(application):  # enrolled whole it would pay a part twice
        raise CaseworkError("该申请审批时未区分各项补贴，申请人已在享受其中一项，无法确定"
                            "应纳入的补贴：请撤回后按各项补贴重新申请")
    return [], "审批时未区分各项补贴，按审批日重新测算的各项金额与审批金额不符"


# Actions anyone on the case may take at any step; they do not make the step one's task.
SIDE_ACTIONS = frozenset({"withdraw", "return_for_correction"})


def work_queue(user, within=None) -> list[Application]:  # noqa: ANN001
    """待办: open applications in the user's area whose current step the user may take,
    soonest deadline first; `within` (a queryset of applications, a list's filters) narrows
    them."""
    if user.scope_prefix is None:
        return []
    today = clock.today()
    params = parameter_set()  # once, not once or twice per application
    mine = []
    base = Application.objects.visible_to(user) if within is None else (
        within & Application.objects.visible_to(user))
    for application in (base.exclude(state__in=workflow.TERMINAL)
                        .select_related("household", "household__area")
                        .order_by("step_due", "id")):
        possible = workflow.actions_for(application.state, user.capabilities,
                                        delegated=delegated(application, today, params),
                                        conditions=conditions(application, today, params))
        if any(t.action not in SIDE_ACTIONS for t in possible):
            mine.append(application)
    return mine


def overdue(applications: list[Application], day: dt.date | None = None) -> int:
    day = day or clock.today()
    return sum(1 for a in applications if a.step_due and a.step_due < day)
