"""Background imports (导入任务): a file uploaded in the UI or pushed through the API is saved
first (nothing a user submitted is lost), then imported by a django-tasks worker that reports
progress on the job row; the page polls it. A worker killed mid-import stores nothing of it
(an import is all or nothing) and the upload stays, so the next worker start queues the job
again from the kept file (`resume_abandoned`)."""

from __future__ import annotations

import contextlib
import logging

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from doudi.audit import context
from doudi.exchange import storage
from doudi.exchange.imports import import_bytes
from doudi.exchange.models import FeedType, ImportJob

log = logging.getLogger(__name__)


def submit(feed_type: FeedType, data: bytes, filename: str, *, user, channel: str,  # noqa: ANN001
           source: str = "", period: str = "", mapping: dict[str, str] | None = None,
           area_code: str = "") -> ImportJob:
    path = storage.upload_path(filename)
    path.write_bytes(data)
    job = ImportJob.objects.create(
        feed_type=feed_type, channel=channel, file_name=filename[:200],
        upload_path=storage.relative(path), source=source[:100], period=period[:20],
        mapping=mapping or {}, created_by=user, phase="排队中",
        area_code=area_code or (user.area_code if user is not None else ""))
    transaction.on_commit(lambda: run_import_job.enqueue(job.pk))
    return job


def retry(job: ImportJob, mapping: dict[str, str]) -> ImportJob:
    """Run a failed job again from its saved upload, with a column mapping."""
    if job.status != ImportJob.FAILED or not job.upload_path:
        raise ValueError("只有失败且保留了上传文件的导入任务可以重新导入")
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.QUEUED, mapping=mapping, progress=0, phase="排队中", message="",
        counts={}, finished_at=None)
    transaction.on_commit(lambda: run_import_job.enqueue(job.pk))
    job.refresh_from_db()
    return job


@task()
def run_import_job(job_id: int) -> str:
    job = ImportJob.objects.select_related("feed_type", "created_by").get(pk=job_id)
    if job.status not in (ImportJob.QUEUED, ImportJob.RUNNING):
        return job.status
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.RUNNING, progress=1,
                                               phase="开始导入")
    user = job.created_by
    actor = (context.as_user(user, job=f"import job {job.pk}") if user is not None
             else context.Actor(user_id=None, username="system", job=f"import job {job.pk}"))
    with context.acting(actor):
        return _run(job)


INTERRUPTED = "上次导入被中断（进程被终止），未保存任何数据，已按保留的上传文件重新排队"


def resume_abandoned() -> int:
    """Jobs a killed worker left running: none of their data was stored and their uploads are
    kept, so they are queued again — once; a job interrupted a second time (a file that brings
    the worker down?) is failed instead of being retried for ever. Called before a worker
    starts, while none runs. Returns the number queued again."""
    resumed = 0
    for job in ImportJob.objects.filter(status=ImportJob.RUNNING):
        if job.message == INTERRUPTED:
            ImportJob.objects.filter(pk=job.pk).update(
                status=ImportJob.FAILED, progress=100, phase="失败", finished_at=timezone.now(),
                message="导入两次被中断（进程被终止），未保存任何数据；上传的文件已保留，"
                        "请联系管理员")
            continue
        with transaction.atomic():  # queued and its task row, or neither
            ImportJob.objects.filter(pk=job.pk).update(
                status=ImportJob.QUEUED, progress=0, phase="排队中", message=INTERRUPTED)
            run_import_job.enqueue(job.pk)
        resumed += 1
    return resumed


def _run(job: ImportJob) -> str:
    def progress(percent: int, phase: str) -> None:
        ImportJob.objects.filter(pk=job.pk).update(progress=percent, phase=phase)

    upload = storage.absolute(job.upload_path)
    try:
        data = upload.read_bytes()
    except OSError:
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.FAILED, message="上传文件已不存在，请重新上传", progress=100,
            phase="失败", finished_at=timezone.now())
        return ImportJob.FAILED
    try:
        out = import_bytes(job.feed_type, data, job.file_name, user=job.created_by,
                           channel=job.channel, source=job.source, period=job.period,
                           mapping=job.mapping or None, area_code=job.area_code, job=job,
                           progress=progress)
    except Exception:  # a defect, not bad input: the job must not stay "running" for ever
        log.exception("import job %s failed", job.pk)
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.FAILED, message="导入时发生系统错误，未保存任何数据；请联系管理员",
            progress=100, phase="失败", finished_at=timezone.now())
        return ImportJob.FAILED
    if out.status != ImportJob.FAILED:  # kept while a failed job may be retried with a mapping
        with contextlib.suppress(FileNotFoundError):
            upload.unlink()
        ImportJob.objects.filter(pk=job.pk).update(upload_path="")
    return out.status
