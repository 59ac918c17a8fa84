"""Retention of department data about people outside the registry (未匹配人员数据保存期限).

A batch's unmatched rows are kept for `exchange.unmatched_retention_days` (a dated, area-inherited
policy parameter) after the batch was received. When that has passed, the rows are matched once
more against today's registry — someone may have applied since — and those still matching
nobody are deleted from the batch's file. Counts on the batch follow; each purge is audited.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from dataclasses import dataclass

import polars as pl
from django.db import transaction
from django.utils import timezone

from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.core import clock
from doudi.engine.feeds.matching import match
from doudi.exchange import storage
from doudi.exchange.imports import named_ids, persons_frame
from doudi.exchange.models import FeedBatch, ImportJob
from doudi.policy.services import parameter_set
from doudi.rules.parameters import engine_value

RETENTION_KEY = "exchange.unmatched_retention_days"


@dataclass
class PurgeReport:
    batches: int = 0
    rows: int = 0
    rematched: int = 0
    uploads: int = 0  # files of failed imports kept for a retry, past the same period


def retention_days(area_code: str, day: dt.date) -> int:
    return int(engine_value(parameter_set().resolve(RETENTION_KEY, area_code, day)))


def purge_unmatched(today: dt.date | None = None) -> PurgeReport:
    today = today or clock.today()
    report = PurgeReport()
    for batch in FeedBatch.objects.filter(unmatched__gt=0).select_related("feed_type"):
        received = timezone.localtime(batch.received_at).date()
        if (today - received).days < retention_days(batch.area_code, today):
            continue
        spec = batch.feed_type.parsed()
        path = storage.absolute(batch.path)
        rows = pl.read_parquet(path)
        unmatched = rows.filter(pl.col("match") == "none").drop("person_id", "match")
        # the last try to match: against the IDs these rows name, compared as ciphertext (the
        # registry is never decrypted on a batch path)
        again = match(unmatched, spec, persons_frame(named_ids(unmatched, spec)))
        kept = pl.concat([rows.filter(pl.col("match") != "none"),
                          again.filter(pl.col("match") != "none")]).sort("row")
        dropped = rows.height - kept.height
        rematched = again.height - dropped
        tmp = storage.write_tmp(kept)
        with transaction.atomic():
            batch.good_rows = kept.height
            batch.matched_id = int((kept.get_column("match") == "id").sum())
            batch.matched_weak = int((kept.get_column("match") == "name_birth").sum())
            batch.unmatched = 0
            batch.unmatched_purged_at = timezone.now()
            batch.save(update_fields=["good_rows", "matched_id", "matched_weak", "unmatched",
                                      "unmatched_purged_at"])
            audit.record(AuditEvent.DELETE, object_type="exchange.feedbatch", object_id=batch.pk,
                         object_label=f"清除{batch}中未匹配人员的数据 {dropped} 行",
                         area_code=batch.area_code,
                         changes={"purged_rows": dropped, "rematched": rematched,
                                  "retention_days": retention_days(batch.area_code, today)})
            os.replace(tmp, path)
        report.batches += 1
        report.rows += dropped
        report.rematched += rematched
    report.uploads = _purge_failed_uploads(today)
    return report


def _purge_failed_uploads(today: dt.date) -> int:
    """A failed job keeps its upload so it can be re-run with a column mapping; after the
    retention period the file (personal data nobody imported) goes."""
    removed = 0
    for job in ImportJob.objects.filter(status=ImportJob.FAILED).exclude(upload_path=""):
        finished = timezone.localtime(job.finished_at or job.created_at).date()
        if (today - finished).days < retention_days(job.area_code, today):
            continue
        with contextlib.suppress(FileNotFoundError):
            storage.absolute(job.upload_path).unlink()
        ImportJob.objects.filter(pk=job.pk).update(upload_path="")
        audit.record(AuditEvent.DELETE, object_type="exchange.importjob", object_id=job.pk,
                     object_label=f"清除未导入的上传文件 {job.file_name}"[:200],
                     area_code=job.area_code)
        removed += 1
    return removed
