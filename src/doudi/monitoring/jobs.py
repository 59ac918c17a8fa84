"""Monitoring runs in the background (django-tasks): the page polls the run row for progress.
A run is one transaction for its warnings, so a worker killed midway leaves none; the run row
is then marked failed by the next worker start (`fail_abandoned`)."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from doudi.audit import context
from doudi.monitoring import services
from doudi.monitoring.models import MonitoringRun

log = logging.getLogger(__name__)


def submit(run: MonitoringRun) -> MonitoringRun:
    transaction.on_commit(lambda: run_monitoring_job.enqueue(run.pk))
    return run


@task()
def run_monitoring_job(run_id: int) -> str:
    run = MonitoringRun.objects.select_related("created_by").get(pk=run_id)
    if run.status != MonitoringRun.QUEUED:
        return run.status
    user = run.created_by
    actor = (context.as_user(user, job=f"monitoring run {run.pk}") if user is not None
             else context.Actor(user_id=None, username="system", job=f"monitoring run {run.pk}"))
    with context.acting(actor):
        try:
            services.execute(run)
        except Exception:
            log.exception("monitoring run %s failed", run.pk)
    run.refresh_from_db()
    return run.status


def fail_abandoned() -> int:
    """Runs left running by a killed worker: nothing of them was stored; say so."""
    return MonitoringRun.objects.filter(status=MonitoringRun.RUNNING).update(
        status=MonitoringRun.FAILED, message="运行中断（进程被终止），未保存任何预警，请重新发起",
        finished_at=timezone.now())
