"""申请进度查询: a resident follows their own case without an account.

Whoever applied — online, at a village or town window, through 12345 — gives the application
number and the last six characters of the applicant's ID. A match opens the case's status for
`DOUDI_CASE_STATUS_MINUTES` through a signed token (`django.core.signing`, bound to the
application's id and number, kept in the browser's session: never an id in a URL); anything
else — a wrong number, a wrong tail, a number that does not exist — gets one answer.

- The tail is compared in constant time (`hmac.compare_digest`) with the applicant's ID,
  decrypted in memory only for that; a number that matches nothing is compared with a dummy,
  so the answer takes as long either way.
- Limits: `DOUDI_CASE_STATUS_RATE_PER_MINUTE` look-ups per client address per minute, and
  `DOUDI_CASE_STATUS_FAILURES` wrong tails for one application number within an hour pause
  that number's look-ups for the hour (any number typed, existing or not, so the pause says
  nothing about existence). Counted in the cache, like the login limits.
- Every look-up and refusal is audited, the number masked and the tail never written.
- The status shows the programme, the steps with their dates, the current step and its
  deadline, and what a return for correction asked for — no officer's name, no opinion, no
  amount, no member, no address. The applicant may withdraw an undecided case
  (`services.withdraw_by_applicant`, the workflow's own transition), add a document
  (`attachments.add_by_applicant`, the same checks) and print the 书面通知 once it was served.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.utils import timezone

from doudi.accounts.lockout import count_this_minute
from doudi.audit import context
from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.casework import attachments, documents, services, workflow
from doudi.casework.models import Application, ApplicationEvent, Attachment
from doudi.casework.services import CaseworkError
from doudi.core import clock
from doudi.programmes import catalogue

SALT = "doudi.casework.case-status"
TAIL_LENGTH = 6
NOT_FOUND = "未找到该申请，请核对申请编号和身份证号后六位"
LOCKED = "该申请编号的查询错误次数过多，已暂停查询一小时；如有疑问请到镇（街道）社会救助窗口咨询"
TOO_FAST = "查询过于频繁，请一分钟后再试"
EMPTY = "请填写申请编号和身份证号后六位"
EXPIRED = "查询已超时，请重新输入申请编号和身份证号后六位"
NUMBER_MAX = Application._meta.get_field("number").max_length
_DUMMY_TAIL = "\x00" * TAIL_LENGTH


class LookupRefused(CaseworkError):
    """A look-up refused: not found (one answer for every reason), paused or too fast."""


def normalise(raw: str) -> str:
    """What the resident typed, as compared: full-width characters made half-width, spaces
    dropped, letters upper-case (an ID's check character x is X)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", raw or "")).upper()


def masked_number(number: str) -> str:
    """An application number (or whatever was typed as one) as the audit log keeps it."""
    number = number[:24]
    return number[:6] + "***" + number[-3:] if len(number) > 9 else "***"


def _failures_key(number: str) -> str:
    return "doudi:case-status:failures:" + hashlib.sha256(number.encode()).hexdigest()


def _subject(application: Application):  # noqa: ANN202
    """Whose ID opens the case: the applicant (a household programme's head when none)."""
    return application.applicant or application.household.head()


def _refuse(message: str, typed: str, application: Application | None, why: str) -> None:
    audit.record(AuditEvent.REFUSED, object_type="casework.application",
                 object_id=application.pk if application is not None else "",
                 object_label=f"申请进度查询未通过（{why}）：申请编号 {masked_number(typed)}",
                 area_code=application.area_code if application is not None else "")
    raise LookupRefused(message)


def lookup(number: str, tail: str, ip: str) -> Application:
    """The application the number and the ID's tail open, or LookupRefused."""
    number, tail = normalise(number)[:40], normalise(tail)[:40]
    if count_this_minute(f"case-status:{ip}") > settings.DOUDI_CASE_STATUS_RATE_PER_MINUTE:
        _refuse(TOO_FAST, number, None, "同一地址查询过于频繁")
    if not number or not tail:
        raise LookupRefused(EMPTY)
    key = _failures_key(number)
    if (cache.get(key) or 0) >= settings.DOUDI_CASE_STATUS_FAILURES:
        _refuse(LOCKED, number, None, "错误次数过多，暂停查询")
    application = (Application.objects.select_related("applicant", "household")
                   .filter(number=number).first() if len(number) <= NUMBER_MAX else None)
    subject = _subject(application) if application is not None else None
    expected = subject.id_number[-TAIL_LENGTH:].upper() if subject is not None else _DUMMY_TAIL
    matched = hmac.compare_digest(expected.encode(), tail.encode()) and subject is not None
    if not matched:
        cache.add(key, 0, timeout=3600)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=3600)
        _refuse(NOT_FOUND, number, application,
                "身份证号后六位不符" if application is not None else "申请编号不存在")
    assert application is not None
    audit.record(AuditEvent.VIEW, object_type="casework.application", object_id=application.pk,
                 object_label=f"申请人查询申请进度 {application.number}",
                 area_code=application.area_code)
    return application


def issue_token(application: Application) -> str:
    """The signed token a matched look-up hands the browser (kept in its session)."""
    return signing.dumps({"a": application.pk, "n": application.number}, salt=SALT)


def read_token(token: str | None) -> Application | None:
    """The application a token still opens: signed by us, not older than
    DOUDI_CASE_STATUS_MINUTES, and naming an application whose id and number both match."""
    if not token:
        return None
    try:
        data = signing.loads(token, salt=SALT, max_age=settings.DOUDI_CASE_STATUS_MINUTES * 60)
    except signing.BadSignature:  # tampered, another salt's, or expired (SignatureExpired)
        return None
    if not isinstance(data, dict) or not isinstance(data.get("a"), int):
        return None
    return (Application.objects.select_related("applicant", "household")
            .filter(pk=data["a"], number=str(data.get("n", ""))).first())


@dataclass(frozen=True)
class Step:
    label: str
    on: dt.date | None = None
    until: dt.date | None = None  # 公示: its last day
    status: str = "todo"  # done, current, todo


# the step each logged action completes; the step each open state waits for
DONE_BY = {"record_visit": "visit", "complete_verification": "verification",
           "town_opinion": "review", "record_deliberation": "deliberation",
           "close_publicity": "publicity", "approve": "decided", "refuse": "decided",
           "approve_urgent": "decided", "issue_notice": "notice",
           "complete_post_review": "post_review"}
WAITS_FOR = {"accepted": "visit", "verification": "verification", "town_review": "review",
             "deliberation": "deliberation", "publicity": "publicity", "decision": "decided",
             "notice": "notice", "post_review": "post_review"}
LABELS = {"received": "受理", "visit": "入户调查", "verification": "家庭经济状况核对",
          "review": "镇街审核", "deliberation": "民主评议", "publicity": "公示",
          "decided": "审批决定", "notice": "送达书面通知",
          "post_review": "事后补查（入户调查、审核）"}


@dataclass(frozen=True)
class Status:
    """What the status page shows, and nothing else."""

    number: str
    programme: str
    submitted_on: dt.date
    state: str
    state_label: str
    open: bool
    due: dt.date | None
    due_provisional: bool
    overdue: bool
    steps: tuple[Step, ...]
    returned_on: dt.date | None  # returned for correction and not yet taken up again
    missing: str  # what the return asked for ("" when it said nothing)
    decision: str  # 批准 / 不予批准 once the notice was served
    notice_issued: bool
    may_withdraw: bool
    may_upload: bool
    documents_sent: int  # documents the applicant added from this page


def _day(event: ApplicationEvent) -> dt.date:
    """The bureau's day an event was logged on (as `clock.today()` counts days: a demo's
    moved clock moves it too)."""
    return (timezone.localtime(event.at, clock.ZONE).date()
            + dt.timedelta(days=clock.offset_days()))


def notice_issued(application: Application) -> bool:
    """The 书面通知 was served (送达): only then may the applicant download it."""
    return application.events.filter(action="issue_notice").exists()


def status(application: Application, day: dt.date | None = None) -> Status:
    day = day or clock.today()
    events = list(application.events.order_by("at", "id"))
    done: dict[str, dt.date] = {}
    for e in events:
        if e.action in DONE_BY:
            done[DONE_BY[e.action]] = _day(e)
    if application.decided_on:
        done["decided"] = application.decided_on
    if application.shortened:  # 急难小额: approved first, visited and reviewed afterwards
        order = ["decided", "notice", "post_review"]
    else:
        order = ["visit", "verification", "review"]
        if "deliberation" in done or application.state == "deliberation":
            order.append("deliberation")
        published = application.programme in catalogue.published()
        if application.state == "publicity" or "publicity" in done or (
                published and application.open and not application.decision
                and application.recommendation != "ineligible"):
            order.append("publicity")
        order += ["decided", "notice"]
    current = WAITS_FOR.get(application.state) if application.open else None
    steps = [Step(LABELS["received"], application.submitted_on, status="done")]
    reached = False  # the steps after the current one are to come (a return for correction
    for code in order:  # hides the dates of the pass it undid)
        if code == current:
            reached = True
            steps.append(Step(LABELS[code], application.step_started_on,
                              _publicity_end(application, code), "current"))
        elif not reached:
            if code in done:
                steps.append(Step(LABELS[code], done[code], _publicity_end(application, code),
                                  "done"))
        else:
            steps.append(Step(LABELS[code]))
    withdrawal = next((e for e in reversed(events) if e.action == "withdraw"), None)
    if application.state == "withdrawn" and withdrawal is not None:
        steps.append(Step("已撤回", _day(withdrawal), status="done"))
    returned = next((e for e in reversed(events) if e.action == "return_for_correction"), None)
    taken_up = returned is not None and any(
        e.action == "record_visit" and (e.at, e.id) > (returned.at, returned.id) for e in events)
    pending_return = (returned is not None and not taken_up and application.open
                      and application.state == "accepted")
    issued = any(e.action == "issue_notice" for e in events)
    return Status(
        number=application.number, programme=catalogue.label(application.programme),
        submitted_on=application.submitted_on, state=application.state,
        state_label=application.state_label, open=application.open,
        due=application.step_due if application.open else None,
        due_provisional=application.step_due_provisional and application.open,
        overdue=bool(application.open and application.step_due and application.step_due < day),
        steps=tuple(steps),
        returned_on=_day(returned) if pending_return and returned is not None else None,
        missing=str((returned.data or {}).get("missing", "")) if pending_return and returned
        else "",
        decision=application.get_decision_display() if issued else "",
        notice_issued=issued,
        may_withdraw=application.state in workflow.BY_ACTION["withdraw"].source
        and not application.decision,
        may_upload=application.open,
        documents_sent=application.attachments.filter(uploaded_by__isnull=True).count())


def _publicity_end(application: Application, code: str) -> dt.date | None:
    return application.publicity_ends_on if code == "publicity" else None


def upload_allowed(application: Application) -> bool:
    """At most DOUDI_CASE_STATUS_UPLOADS_PER_DAY documents a day per application from the
    status page (counted in the cache; each one is also an audited attachment)."""
    key = f"doudi:case-status:uploads:{application.pk}:{clock.today():%Y%m%d}"
    cache.add(key, 0, timeout=86400)
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=86400)
        count = 1
    return count <= settings.DOUDI_CASE_STATUS_UPLOADS_PER_DAY


@contextlib.contextmanager
def as_applicant() -> Iterator[None]:
    """The audit rows of the applicant's own acts name them (the request and address kept)."""
    with context.acting(dataclasses.replace(context.current(), user_id=None,
                                            username=services.APPLICANT_ACTOR)):
        yield


def withdraw(application: Application, reason: str = "") -> Application:
    """撤回申请 by the applicant (`services.withdraw_by_applicant`: the workflow's own step)."""
    with as_applicant():
        return services.withdraw_by_applicant(application=application, reason=reason)


def add_document(application: Application, data: bytes, file_name: str) -> Attachment:
    """补充材料 by the applicant (`attachments.add_by_applicant`: the same checks and store),
    at most DOUDI_CASE_STATUS_UPLOADS_PER_DAY a day."""
    if not application.open:
        raise CaseworkError("该申请已办结，不能再补充材料")
    if not upload_allowed(application):
        raise CaseworkError("今天通过本页提交的材料已达上限，请明天再试或送到镇（街道）窗口")
    with as_applicant():
        return attachments.add_by_applicant(application=application, data=data,
                                            file_name=file_name)


def served_notice(application: Application) -> documents.Notice:
    """The served 书面通知's particulars (its 文号, issuer, remedies), the download audited."""
    if not notice_issued(application):
        raise CaseworkError("书面通知尚未送达")
    with as_applicant():
        audit.record(AuditEvent.VIEW, object_type="casework.application",
                     object_id=application.pk,
                     object_label=f"申请人下载书面通知 {application.number}",
                     area_code=application.area_code)
    return documents.notice(application)
