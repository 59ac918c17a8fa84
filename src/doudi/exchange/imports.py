"""Importing one department file (导入部门数据): read → validate → match → store, all or nothing.

The good rows become a versioned batch; bad cells go to the error report; exact repeats are
dropped and reported; rows nobody in the registry matches are kept, flagged unmatched. The same
file (same SHA-256) for the same feed type twice changes nothing, and neither does the same
content in another file (the Excel copy of an imported CSV): the parsed rows' fingerprint
(`content_digest`) for the feed type and period names the batch that already holds them. The
batch row, the job's final state and the audit record commit in one transaction, with the
Parquet file renamed into place inside it, so an import that fails or is killed leaves no
batch behind.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from django.db import connections, transaction
from django.db.models import CharField, Max
from django.db.models.functions import Cast
from django.utils import timezone

from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.core import clock
from doudi.core.masking import mask_id_number
from doudi.engine.feeds.feedspec import FeedSpec
from doudi.engine.feeds.headers import HeaderMatch
from doudi.engine.feeds.matching import NAME_MISMATCH, match
from doudi.engine.feeds.validate import (
    ERROR_SCHEMA,
    NUMERIC,
    NUMERIC_TYPES,
    UPGRADED_NOTE,
    Validated,
    validate,
)
from doudi.exchange import registry_facts, storage
from doudi.exchange.models import FeedBatch, FeedType, ImportJob
from doudi.exchange.read_errors import MAX_MESSAGE_CHARS, shorten
from doudi.exchange.readers import MissingColumns, RawTable, ReadError, field_cells, read_table
from doudi.policy.services import parameter_set
from doudi.registry.categories import CATEGORIES
from doudi.registry.fields import tokens_of
from doudi.registry.models import Person
from doudi.rules.parameters import ParameterError, engine_value

Progress = Callable[[int, str], None]
REPORT_SCHEMA = {"row": pl.Int64, "field": pl.String, "label": pl.String, "value": pl.String,
                 "reason": pl.String, "sheet": pl.String, "level": pl.String}
REFUSED, NOTICE = "拒收", "提示"  # report levels: the row was not imported / imported, changed
NAME_VARIANTS_KEY = "exchange.name_variants"


def _no_progress(percent: int, phase: str) -> None:
    return None


@dataclass
class Outcome:
    status: str  # ImportJob.DONE | DUPLICATE | FAILED
    message: str
    batch: FeedBatch | None = None
    job: ImportJob | None = None
    counts: dict[str, int] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)


def persons_frame(id_numbers: Iterable[str]) -> pl.DataFrame:
    """Registry persons' id, ID number, name and birth date, for matching a file's rows.

    Nothing is decrypted: the IDs the file names (`id_numbers`) are encrypted under every key
    and compared with the stored ciphertext, and only the persons they name carry their ID
    (the others only their name and birth date, which a row without a usable ID is matched
    on). The query runs on the ORM's cursor, not through its per-row field conversion, which
    cost several times the cryptography itself (1.09M persons: 8.5 s)."""
    # the birth date as text: SQLite's per-row date converter costs more than the fetch
    query = Person.objects.annotate(birth=Cast("birth_date", CharField())).values_list(
        "id", "id_number", "name", "birth")
    sql, params = query.query.sql_with_params()
    with connections[query.db].cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    ids, tokens, names, births = zip(*rows, strict=True) if rows else ((), (), (), ())
    numbers = pl.Series("id_number", tokens, dtype=pl.String).replace_strict(
        tokens_of(id_numbers), default=None, return_dtype=pl.String)
    return pl.DataFrame({
        "person_id": pl.Series(ids, dtype=pl.Int64),
        "id_number": numbers,
        "name": pl.Series(names, dtype=pl.String),
        "birth_date": pl.Series(births, dtype=pl.String).str.slice(0, 10)
        .str.to_date("%Y-%m-%d", strict=False),
    })


def named_ids(good: pl.DataFrame, spec: FeedSpec) -> list[str]:
    """The distinct resident IDs a file's good rows name (none when the feed has no ID)."""
    if not spec.id_field:
        return []
    return good[spec.id_field].drop_nulls().unique().to_list()


def name_variants(area_code: str, day: dt.date | None = None) -> list[str]:
    """The name variants the area accepts as the same name (`exchange.name_variants`)."""
    try:
        value = engine_value(parameter_set().resolve(NAME_VARIANTS_KEY, area_code,
                                                     day or clock.today()))
    except ParameterError:
        return []
    return [str(v) for v in value or []]


def error_report(validated: Validated, spec: FeedSpec, *, headers: Mapping[str, str] | None = None,
                 sheet: str = "", refused: pl.DataFrame | None = None) -> pl.DataFrame:
    """What the clerk must look at, one line each: the sheet, the row as numbered in the file,
    the column's header as the file writes it, the value (IDs masked) and the reason. Bad cells
    and rows refused at matching are 拒收 (not imported); dropped repeats and accepted cells
    that were changed (a 15-digit ID upgraded) are 提示."""
    labels = {f.key: (headers or {}).get(f.key) or f.label for f in spec.fields}
    id_fields = [f.key for f in spec.fields if f.type == "id_number"]

    def lines(frame: pl.DataFrame, level: str) -> pl.DataFrame:
        return frame.with_columns(
            pl.col("field").replace_strict(labels, return_dtype=pl.String).alias("label"),
            pl.when(pl.col("field").is_in(id_fields) & pl.col("value").is_not_null())
            .then(pl.col("value").map_elements(mask_id_number, return_dtype=pl.String))
            .otherwise(pl.col("value")).alias("value"),
            pl.lit(sheet).alias("sheet"), pl.lit(level).alias("level"))

    parts = [lines(validated.errors, REFUSED)]
    if refused is not None and refused.height:
        parts.append(lines(refused.cast(ERROR_SCHEMA), REFUSED))  # type: ignore[arg-type]
    parts.append(lines(validated.notes, NOTICE))
    parts.append(validated.duplicates.select(
        "row", pl.lit("").alias("field"), pl.lit("整行").alias("label"),
        pl.lit(None, pl.String).alias("value"),
        pl.format("与第 {} 行完全相同，已忽略", "first_row").alias("reason"),
        pl.lit(sheet).alias("sheet"), pl.lit(NOTICE).alias("level")))
    return pl.concat([p.select(list(REPORT_SCHEMA)).cast(REPORT_SCHEMA)  # type: ignore[arg-type]
                      for p in parts]).sort("row", maintain_order=True)


def with_numeric(cells: pl.DataFrame, table: RawTable, spec: FeedSpec,
                  found: HeaderMatch) -> pl.DataFrame:
    """The reader's numeric flags of the ID and date columns, beside their cells."""
    if table.numeric is None:
        return cells
    flags = [table.numeric.get_column(f"c{found.columns[f.key]}").alias(NUMERIC.format(f.key))
             for f in spec.fields
             if f.type in NUMERIC_TYPES and f.key in found.columns
             and f"c{found.columns[f.key]}" in table.numeric.columns]
    return cells.with_columns(flags) if flags else cells


def _refuse_mismatches(rows: pl.DataFrame, spec: FeedSpec) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows whose ID belongs to a registry person of another name leave the batch, as errors."""
    bad = rows.filter(pl.col("match") == "name_mismatch")
    errors = bad.select(pl.col("row").cast(pl.Int64), pl.lit(spec.name_field).alias("field"),
                        pl.col(spec.name_field).alias("value"),
                        pl.lit(NAME_MISMATCH).alias("reason")) if bad.height else \
        pl.DataFrame(schema=ERROR_SCHEMA)
    return rows.filter(pl.col("match") != "name_mismatch"), errors


def content_digest(good: pl.DataFrame) -> str:
    """The fingerprint of what a file says, not how it was written: SHA-256 of the validated
    rows' typed fields (the source row number left out), in a fixed order of rows and
    columns. A CSV and its Excel copy, or the same rows reordered, give the same digest."""
    fields = sorted(c for c in good.columns if c != "row")
    frame = good.select(fields)
    frame = frame.sort(fields, nulls_last=True) if frame.height else frame
    return hashlib.sha256(frame.write_csv(include_header=True).encode("utf-8")).hexdigest()


def same_content(feed_type: FeedType, period: str, digest: str) -> FeedBatch | None:
    """The batch of this feed type and period that already holds these rows, if any."""
    return (FeedBatch.objects.filter(feed_type=feed_type, period=period[:20],
                                     content_digest=digest).order_by("version").first())


def import_bytes(feed_type: FeedType, data: bytes, filename: str, *, user,  # noqa: ANN001
                 channel: str, source: str = "", period: str = "",
                 mapping: dict[str, str] | None = None, area_code: str = "",
                 job: ImportJob | None = None, progress: Progress = _no_progress) -> Outcome:
    storage.sweep_tmp()
    spec = feed_type.parsed()
    checksum = hashlib.sha256(data).hexdigest()
    area_code = area_code or (user.area_code if user is not None else "")
    existing = FeedBatch.objects.filter(feed_type=feed_type, checksum=checksum).first()
    if existing is not None:
        message = f"该文件已于 {timezone.localtime(existing.received_at):%Y-%m-%d %H:%M} 导入为" \
                  f"{existing}，本次未作更改"
        job = _finish(job, feed_type, ImportJob.DUPLICATE, message, filename, checksum, channel,
                      source, period, mapping, user, area_code, batch=existing)
        return Outcome(ImportJob.DUPLICATE, message, batch=existing, job=job)
    try:
        progress(10, "读取文件")
        table = read_table(data, filename, spec, mapping)
        cells, found = field_cells(table, spec, mapping)
        if found.unit_errors:
            raise ReadError("；".join(found.unit_errors.values())
                            + "。请改正表头中的单位，或换算后重新导出；本文件未导入")
        cells = with_numeric(cells, table, spec, found)
        progress(35, "逐行校验")
        validated = validate(cells, spec, found.scales)
        digest = content_digest(validated.good)
        earlier = same_content(feed_type, period, digest) if validated.good.height else None
        if earlier is not None:
            message = (f"该文件的数据行与 {timezone.localtime(earlier.received_at):%Y-%m-%d %H:%M}"
                       f" 导入的{earlier}（{earlier.file_name}）相同"
                       f"{f'（数据期间 {period}）' if period else ''}，"
                       "本次未导入；如确属新数据，请核对后重新导出")
            job = _finish(job, feed_type, ImportJob.DUPLICATE, message, filename, checksum,
                          channel, source, period, mapping, user, area_code, batch=earlier)
            return Outcome(ImportJob.DUPLICATE, message, batch=earlier, job=job)
        progress(60, "比对人员")
        persons = persons_frame(named_ids(validated.good, spec))
        rows = match(validated.good, spec, persons, name_variants(area_code))
        rows, refused = _refuse_mismatches(rows, spec)
    except ReadError as exc:
        detail = ({"headers": exc.headers, "missing": exc.missing}
                  if isinstance(exc, MissingColumns) else {})
        job = _finish(job, feed_type, ImportJob.FAILED, str(exc), filename, checksum, channel,
                      source, period, mapping, user, area_code, counts=detail)
        return Outcome(ImportJob.FAILED, str(exc), job=job)
    written = {k: str(table.headers[n]).strip() for k, n in found.columns.items()}
    report = error_report(validated, spec, headers=written, sheet=table.sheet, refused=refused)
    upgraded = validated.notes.filter(pl.col("reason") == UPGRADED_NOTE).height
    notices = table.notices + ([f"{upgraded} 个15位旧身份证号已按 GB 11643 升为18位"
                                f"（见报告中的提示）"] if upgraded else [])
    counts = {
        "rows": cells.height, "good": rows.height,
        "errors": validated.error_rows + refused.height,
        "error_cells": validated.errors.height + refused.height,
        "name_mismatch": refused.height, "upgraded_ids": upgraded,
        "duplicates": validated.duplicates.height,
        "matched_id": int((rows.get_column("match") == "id").sum()),
        "matched_weak": int((rows.get_column("match") == "name_birth").sum()),
        "unmatched": int((rows.get_column("match") == "none").sum()),
    }
    progress(80, "保存批次")
    report_file = storage.report_path(checksum)
    tmp_report = storage.write_tmp(report) if report.height else None
    if rows.height == 0:
        if tmp_report is not None:
            os.replace(tmp_report, report_file)
        message = f"没有可导入的有效行（共 {cells.height} 行，{counts['errors']} 行有错误）"
        job = _finish(job, feed_type, ImportJob.FAILED, message, filename, checksum, channel,
                      source, period, mapping, user, area_code, counts=counts,
                      errors_path=storage.relative(report_file) if report.height else "")
        return Outcome(ImportJob.FAILED, message, job=job, counts=counts, notices=notices)
    tmp = storage.write_tmp(rows)
    final = storage.batch_path(feed_type.key, checksum)
    try:
        with transaction.atomic():
            locked = FeedType.objects.select_for_update().get(pk=feed_type.pk)
            version = (locked.batches.aggregate(v=Max("version"))["v"] or 0) + 1
            batch = FeedBatch.objects.create(
                feed_type=locked, version=version, checksum=checksum, file_name=filename[:200],
                source=source[:100], period=period[:20], sheet=table.sheet[:100],
                path=storage.relative(final), rows=cells.height, good_rows=rows.height,
                error_rows=counts["errors"], duplicate_rows=counts["duplicates"],
                matched_id=counts["matched_id"], matched_weak=counts["matched_weak"],
                unmatched=counts["unmatched"], imported_by=user, area_code=area_code,
                content_digest=digest)
            if spec.registry_fact is not None:
                changed = registry_facts.apply(batch, rows, spec, clock.today())
                counts.update(fact_opened=changed.opened, fact_ended=changed.ended)
                notices = [*notices, changed.notice(
                    CATEGORIES[spec.registry_fact.category].label)]
            message = _summary(counts, notices)
            job = _finish(job, feed_type, ImportJob.DONE, message, filename, checksum, channel,
                          source, period, mapping, user, area_code, batch=batch, counts=counts,
                          errors_path=storage.relative(report_file) if report.height else "")
            audit.record(AuditEvent.IMPORT, object_type="exchange.feedbatch", object_id=batch.pk,
                         object_label=f"导入{batch}：{filename}"[:200], area_code=area_code,
                         changes={"checksum": checksum, **counts})
            if tmp_report is not None:
                os.replace(tmp_report, report_file)
            os.replace(tmp, final)
    except BaseException:
        for leftover in (tmp, tmp_report):
            if leftover is not None:
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()
        raise
    progress(100, "完成")
    return Outcome(ImportJob.DONE, message, batch=batch, job=job, counts=counts,
                   notices=notices)


def _summary(counts: dict[str, int], notices: list[str]) -> str:
    parts = [f"共 {counts['rows']} 行，导入 {counts['good']} 行",
             f"错误 {counts['errors']} 行", f"重复 {counts['duplicates']} 行",
             f"匹配到人员 {counts['matched_id'] + counts['matched_weak']} 行"
             f"（其中姓名+出生日期弱匹配 {counts['matched_weak']} 行）",
             f"未匹配 {counts['unmatched']} 行"]
    return "；".join(parts + notices)


MAX_COUNTS_CHARS = 8_000  # what a job keeps about its file: counts, or a failure's headers


def bounded_counts(counts: dict) -> dict:
    """A job's counts, at most a small fixed size: a refused file's headers (offered again in
    the column-mapping step) are each shortened and cut off once they fill the room, so no
    file can make its job store more than a few kilobytes."""
    out = {k: v for k, v in counts.items() if k != "headers"}
    out = {k: ([shorten(str(x)) for x in v[:100]] if isinstance(v, list) else v)
           for k, v in out.items()}
    room = MAX_COUNTS_CHARS - len(json.dumps(out, ensure_ascii=False))
    if "headers" in counts:
        kept: list[str] = []
        for header in counts["headers"]:
            text = shorten(str(header))
            room -= len(json.dumps(text, ensure_ascii=False)) + 2
            if room < 0:
                break
            kept.append(text)
        out["headers"] = kept
    return out


def _finish(job: ImportJob | None, feed_type: FeedType, status: str, message: str,
            filename: str, checksum: str, channel: str, source: str, period: str,
            mapping: dict[str, str] | None, user, area_code: str, *,  # noqa: ANN001
            batch: FeedBatch | None = None, counts: dict | None = None,
            errors_path: str = "") -> ImportJob:
    job = job or ImportJob(feed_type=feed_type, channel=channel, file_name=filename[:200],
                           created_by=user, area_code=area_code)
    job.status, job.message, job.checksum = status, shorten(message, MAX_MESSAGE_CHARS), checksum
    job.source, job.period, job.mapping = source[:100], period[:20], mapping or {}
    job.batch, job.counts, job.errors_path = batch, bounded_counts(counts or {}), errors_path
    job.progress, job.phase = 100, job.get_status_display() if job.pk else ""
    job.finished_at = timezone.now()
    job.save()
    job.phase = job.get_status_display()
    ImportJob.objects.filter(pk=job.pk).update(phase=job.phase)
    return job


def import_file(feed_type: FeedType, path: Path, **kwargs) -> Outcome:  # noqa: ANN003
    return import_bytes(feed_type, path.read_bytes(), path.name, **kwargs)


def batch_rows(batch: FeedBatch) -> pl.DataFrame:
    return pl.read_parquet(storage.absolute(batch.path))


def report_rows(job: ImportJob) -> pl.DataFrame:
    if not job.errors_path:
        return pl.DataFrame(schema=REPORT_SCHEMA)
    report = pl.read_parquet(storage.absolute(job.errors_path))
    missing = [pl.lit(None, t).alias(c) for c, t in REPORT_SCHEMA.items()
               if c not in report.columns]  # reports written before sheet and level
    return report.with_columns(missing) if missing else report
