"""/api/feeds — departments push their files and read the outcomes they are entitled to.

A department account (role 部门数据接口, `User.department` e.g. 医保) holds a long-lived token
(`doudi feeds token USERNAME`). It may push batches only of its own department's feed types and
read outcomes only for feed types whose spec says `outcomes: true` (e.g. 乡村振兴 reads what
assistance the persons on its 防返贫 list now receive). District staff who may import
(exchange.import) use the same upload endpoint. Every call is audited and rate-limited per
account (settings.DOUDI_API_RATE_PER_MINUTE).
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils import timezone
from ninja import File, Form, Router, Schema, Status
from ninja.errors import HttpError
from ninja.files import UploadedFile

from doudi.accounts import roles, signin
from doudi.accounts.lockout import count_this_minute
from doudi.accounts.models import ApiToken, User
from doudi.api.schemas import refusals
from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.benefits import coverage
from doudi.benefits.models import Enrollment
from doudi.core import clock
from doudi.core.masking import mask_name
from doudi.exchange import jobs
from doudi.exchange.imports import batch_rows, report_rows
from doudi.exchange.models import FeedBatch, FeedType, ImportJob
from doudi.programmes import catalogue
from doudi.registry.categories import CATEGORIES
from doudi.registry.models import CategoryAssignment, Membership

router = Router(tags=["部门数据"])


def issue_department_token(username: str, days: int = 365) -> str:
    user = User.objects.filter(username=username).first()
    if user is None or not ({roles.PUSH_FEEDS, roles.HOTLINE} & user.capabilities) \
            or not user.department:
        raise ValueError(f"“{username}”不是部门数据接口账号（需角色“部门数据接口”或"
                         "“12345热线接口”并填写所属部门）")
    if signin.second_factor_missing(user):  # the same sign-in policy as every way in
        raise ValueError(signin.ENROL_FIRST)
    token = ApiToken.issue(user, hours=24 * days)
    audit.record(AuditEvent.TOKEN, object_type="accounts.user", object_id=user.pk,
                 object_label=f"部门接口账号 {user.username}（{user.department}）签发令牌",
                 area_code=user.area_code)
    return token


def gate(request, what: str) -> User:  # noqa: ANN001
    """Rate limit and audit one call of the department API (`what` says which, for the audit
    log); the caller checks the capability."""
    user: User = request.auth
    if count_this_minute(f"api:{user.pk}") > settings.DOUDI_API_RATE_PER_MINUTE:
        audit.record(AuditEvent.REFUSED, object_type="api", object_label=f"{what}：超过频率限制",
                     area_code=user.area_code)
        raise HttpError(429, "请求过于频繁，请稍后再试")
    audit.record(AuditEvent.API, object_type="api", object_label=what[:200],
                 area_code=user.area_code)
    return user


def _may_push(user: User, feed: FeedType) -> bool:
    if user.can(roles.IMPORT_FEEDS):
        return True
    return user.can(roles.PUSH_FEEDS) and bool(user.department) \
        and user.department == feed.department


class JobOut(Schema):
    id: int
    feed_type: str
    file_name: str
    status: str
    status_label: str
    progress: int
    phase: str
    message: str
    counts: dict
    batch_id: int | None
    batch_version: int | None
    errors_url: str | None


def _job_out(job: ImportJob) -> dict:
    return {"id": job.pk, "feed_type": job.feed_type.key, "file_name": job.file_name,
            "status": job.status,
            "status_label": job.get_status_display(), "progress": job.progress,
            "phase": job.phase, "message": job.message, "counts": job.counts,
            "batch_id": job.batch_id, "batch_version": job.batch.version if job.batch else None,
            "errors_url": f"/api/feeds/jobs/{job.pk}/errors" if job.errors_path else None}


def _may_use_feeds(user: User) -> None:
    """Only accounts that push or import feeds learn which feed types and jobs exist."""
    if not (user.can(roles.IMPORT_FEEDS) or user.can(roles.PUSH_FEEDS)):
        raise PermissionDenied("无权使用部门数据接口")


def _own_job(user: User, job_id: int) -> ImportJob:
    _may_use_feeds(user)
    job = ImportJob.objects.select_related("feed_type", "batch").filter(pk=job_id).first()
    mine = job is not None and job.created_by_id == user.pk
    staff = (job is not None and user.can(roles.IMPORT_FEEDS)
             and job.area_code.startswith(user.scope_prefix or "-"))
    if not (mine or staff):  # one answer: another's job and no job look alike
        raise HttpError(404, "导入任务不存在或无权查看")
    return job


# the file is optional only so that its absence gets a Chinese message (422): the schema says
# what a caller must send, a binary part named `file`
FILE_REQUIRED = {"requestBody": {"content": {"multipart/form-data": {"schema": {
    "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary",
                            "description": "Excel（xlsx/xls）、CSV 或 Parquet 文件"}}}}}}}


@router.post("/{feed_key}/batches",
             response={202: JobOut, **refusals(400, 401, 403, 404, 413, 422, 429)},
             summary="推送一批部门数据", openapi_extra=FILE_REQUIRED)
def push_batch(request, feed_key: str,  # noqa: ANN001, ANN201
               file: UploadedFile | None = File(None),  # noqa: B008 - Ninja marker
               period: Form[str] = "", source: Form[str] = ""):
    user = gate(request, f"推送数据 {feed_key}")
    _may_use_feeds(user)
    feed = FeedType.objects.filter(key=feed_key, is_active=True).first()
    if feed is None:
        raise HttpError(404, f"没有数据接口类型“{feed_key}”")
    if not _may_push(user, feed):
        raise PermissionDenied(f"无权推送“{feed}”的数据")
    if file is None:
        raise HttpError(422, "请以 multipart/form-data 上传文件（字段名 file）")
    if file.size > settings.DOUDI_UPLOAD_MAX_BYTES:
        raise HttpError(413, "文件过大")
    job = jobs.submit(feed, file.read(), file.name or f"{feed_key}.csv", user=user,
                      channel="api", source=source or user.department or user.username,
                      period=period)
    job.refresh_from_db()
    return Status(202, _job_out(job))


@router.get("/jobs/{job_id}", response={200: JobOut, **refusals(400, 401, 403, 404, 422, 429)},
            summary="导入任务状态")
def job_status(request, job_id: int):  # noqa: ANN001, ANN201
    user = gate(request, f"查询导入任务 {job_id}")
    return _job_out(_own_job(user, job_id))


class ErrorOut(Schema):
    row: int
    column: str
    value: str | None
    reason: str


@router.get("/jobs/{job_id}/errors",
            response={200: list[ErrorOut], **refusals(400, 401, 403, 404, 422, 429)},
            summary="导入错误报告")
def job_errors(request, job_id: int):  # noqa: ANN001, ANN201
    user = gate(request, f"下载错误报告 {job_id}")
    job = _own_job(user, job_id)
    return [{"row": r["row"], "column": r["label"], "value": r["value"], "reason": r["reason"]}
            for r in report_rows(job).iter_rows(named=True)]


class OutcomeOut(Schema):
    id_number: str
    name: str
    feed_type: str
    batch_version: int
    assistance: list[dict]
    # warnings raised from this department's data about the person's household, and what
    # became of them (反馈): indicator, status, disposition, closed_on
    warnings: list[dict] = []


@router.get("/outcomes", response={200: list[OutcomeOut], **refusals(400, 401, 403, 422, 429)},
            summary="本部门推送人员的救助结果")
def outcomes(request, day: dt.date | None = None):  # noqa: ANN001, ANN201
    """For each person matched in this department's latest batch of a feed type that grants
    outcomes: the assistance they receive on `day` — each enrollment in force covering them,
    as 在保人数 counts (`benefits.coverage`: 低保、特困、单人保 …), and the categories the
    registry records for them that are not a paid programme's status (低保边缘、支出型困难
    recognitions, 留守 …; a feed's own list, recorded as a registry fact, is not sent back to
    it). A 低保 or 特困 category alone never reads as covered."""
    user = gate(request, "读取救助结果")
    if not user.can(roles.PUSH_FEEDS) or not user.department:
        raise PermissionDenied("仅部门接口账号可读取本部门的救助结果")
    day = day or clock.today()
    area = user.scope_prefix
    if area is None:
        raise PermissionDenied("账号未设置所属区划")
    # followed from the enrollments, never read as a status of their own
    paid = {p.category for p in coverage.paid_statuses()}
    out = []
    for feed in FeedType.objects.filter(department=user.department, is_active=True):
        spec = feed.parsed()
        if not spec.outcomes:
            continue
        batch = FeedBatch.objects.filter(feed_type=feed).order_by("-version").first()
        if batch is None:
            continue
        rows = batch_rows(batch).filter(pl.col("person_id").is_not_null())
        ids = rows.get_column("person_id").unique().to_list()
        households = dict(Membership.objects.filter(
            person_id__in=ids, start_date__lte=day).filter(
            Q(end_date__isnull=True) | Q(end_date__gt=day)).values_list("person_id",
                                                                        "household_id"))
        covered = {pid: [_enrolled(e) for e in got]
                   for pid, got in coverage.persons(ids, area, day).items()}
        held: dict[int, list[dict]] = {}
        # the feed's own list, recorded as a registry fact (防返贫监测对象 from 乡村振兴's list),
        # is what the department sent, not an outcome
        own = {spec.registry_fact.category} if spec.registry_fact else set()
        cats = CategoryAssignment.objects.filter(
            Q(person_id__in=ids) | Q(household_id__in=set(households.values())),
            start_date__lte=day, area_code__startswith=area).filter(
            Q(end_date__isnull=True) | Q(end_date__gt=day)).exclude(category__in=paid | own)
        by_household: dict[int, list[dict]] = {}
        for c in cats.order_by("start_date", "id"):
            item = {"programme": "", "category": c.category,
                    "label": CATEGORIES[c.category].label, "since": c.start_date.isoformat()}
            if c.person_id:
                held.setdefault(c.person_id, []).append(item)
            else:
                by_household.setdefault(c.household_id, []).append(item)
        from doudi.monitoring.models import Warning

        feedback: dict[int, list[dict]] = {}
        for w in Warning.objects.filter(source=feed.key,
                                        household_id__in=set(households.values())):
            feedback.setdefault(w.household_id, []).append({
                "indicator": w.indicator, "summary": w.summary, "status": w.status,
                "disposition": w.get_disposition_display(),
                "closed_on": (timezone.localdate(w.closed_at).isoformat()
                              if w.closed_at else None)})
        id_field = spec.id_field
        name_field = spec.name_field
        for r in rows.unique("person_id", keep="first", maintain_order=True).iter_rows(named=True):
            pid = r["person_id"]
            got = covered.get(pid, [])
            recorded = {a["category"] for a in got}
            got += [c for c in held.get(pid, []) + by_household.get(households.get(pid, -1), [])
                    if c["category"] not in recorded]
            out.append({"id_number": r.get(id_field) or "", "name": mask_name(
                r.get(name_field) or ""), "feed_type": feed.key, "batch_version": batch.version,
                "assistance": got, "warnings": feedback.get(households.get(pid, -1), [])})
    return out


def _enrolled(enrollment: Enrollment) -> dict:
    """An enrollment as an outcome: its programme, the registry category it counts as (单人保
    as 低保), and since when."""
    code = enrollment.programme
    entry = catalogue.get(code)
    return {"programme": code,
            "category": catalogue.category_of(catalogue.compared_with(code) or code) or "",
            "label": entry.short_label if entry else catalogue.label(code),
            "since": enrollment.start_date.isoformat()}
