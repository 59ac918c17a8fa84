"""历史数据导入 (going live, part 4): the old system's payments of the last 12–24 months and its
past decisions, brought in as history so that 复核, 追回 and the statistics of past months work
from the first day.

Payments (`history_payments`): each month becomes a settled, imported payment run of the
district (`PaymentRun.imported`), one line per enrollment; the enrollment's events are made to
say what the old system's months were due (a 1 July rise becomes an event), so the first
roster Doudi builds pays an unchanged case exactly its current amount, and a change reaching
back into the imported months (a stop dated last autumn) owes or recovers exactly the
difference. Only before the district's first Doudi roster.

Decisions (`history_decisions`): each row becomes a `HistoricalDecision`, linked to the
enrollment it concerns when there is one; the latest approval or review among them is where
the next 复核 counts from (`benefits.reviews.last_reviewed`).

Either file: a dry run (试导入) gives the plan row by row — 新建, 无变化 or 错误 with the
reason — and its counts; a real run (正式导入) writes the whole file in one transaction or
nothing when any row is refused. The same file again changes nothing. Each run leaves a
`GoliveImport` with its plan (a Parquet file) and one audit row with the counts.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from django.core.exceptions import PermissionDenied
from django.db import transaction

from doudi.accounts import roles
from doudi.areas.models import Area
from doudi.areas.scoping import in_scope
from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.core import clock
from doudi.core.errors import ServiceError
from doudi.exchange import storage
from doudi.exchange.readers import ReadError
from doudi.golive import layouts, reading
from doudi.golive.models import GoliveImport

NEW, UNCHANGED, ERROR = "新建", "无变化", "错误"
# what a real run reports having written
WRITTEN = {"runs_made": "新建发放批次", "lines": "发放明细", "events": "保障金变更记录",
           "start_amounts": "起始金额调整", "decisions": "历史决定"}
PLAN_SCHEMA = {"row": pl.Int64, "action": pl.String, "subject": pl.String, "reason": pl.String}


class HistoryError(ServiceError):
    """A history import that cannot start (no such district, the file unreadable); Chinese."""


@dataclass(frozen=True)
class PlanRow:
    """One line of the plan: a row of the file (`row`, as numbered in the sheet) or, with
    `row` None, a finding about an enrollment the file leaves out."""

    row: int | None
    action: str  # NEW | UNCHANGED | ERROR
    subject: str  # 家庭编号 · 救助类别 · 月份 (or 决定日期)
    reason: str = ""

    def text(self) -> str:
        where = f"第 {self.row} 行" if self.row is not None else "（文件外）"
        tail = f"：{self.reason}" if self.reason else ""
        return f"{where} {self.subject} {self.action}{tail}".replace("  ", " ")


@dataclass
class Plan:
    """What a file would do (or did): one `PlanRow` per row and finding, in row order."""

    what: str  # GoliveImport.PAYMENTS | DECISIONS
    district: Area
    file: dict[str, object]
    rows: list[PlanRow]
    notes: list[str] = field(default_factory=list)  # e.g. the months the history covers
    extra: dict[str, int] = field(default_factory=dict)  # counts of what rows imply
    # the writes, when there are some and nothing is refused (made by the planner): `write`
    # (the user, the import's record) inside the transaction, `prepare` before it
    write: Callable[[object, GoliveImport], dict[str, int]] | None = None
    prepare: Callable[[], None] | None = None

    @property
    def refused(self) -> list[PlanRow]:
        return [r for r in self.rows if r.action == ERROR]

    @property
    def counts(self) -> dict[str, int]:
        refused_rows = {r.row for r in self.refused if r.row is not None}
        return {"rows": int(self.file.get("rows", 0) or 0),
                "new": sum(r.action == NEW for r in self.rows),
                "unchanged": sum(r.action == UNCHANGED for r in self.rows),
                "refused_rows": len(refused_rows),
                "refused_other": sum(r.row is None for r in self.refused),
                **self.extra}

    def summary(self) -> str:
        c = self.counts
        what = dict(GoliveImport.WHAT_CHOICES)[self.what]
        head = (f"{what}：共 {c['rows']} 行，新建 {c['new']}，无变化 {c['unchanged']}，"
                f"错误 {c['refused_rows']} 行")
        if c["refused_other"]:
            head += f"，文件外问题 {c['refused_other']} 项"
        return "；".join([head, *self.notes])

    def frame(self) -> pl.DataFrame:
        return pl.DataFrame([(r.row, r.action, r.subject, r.reason) for r in self.rows],
                            schema=PLAN_SCHEMA, orient="row")


@dataclass
class Outcome:
    plan: Plan
    record: GoliveImport
    written: dict[str, int]  # what the real run wrote (empty for a dry run or a refusal)

    @property
    def ok(self) -> bool:
        return not self.plan.refused


def district_of(code: str) -> Area:
    """The district (区县) a history belongs to, from its 6- or 12-digit code."""
    code = (code or "").strip()
    area = Area.objects.filter(code=code.ljust(12, "0")).first() if code.isdigit() else None
    if area is None or area.level != 3:
        raise HistoryError(f"“{code}”不是区县的行政区划代码（如 341002）")
    return area


def _check_user(by, district: Area) -> None:  # noqa: ANN001
    if by is not None and not in_scope(by, district.code, roles.GO_LIVE):
        raise PermissionDenied("上线迁移由区县业务管理员办理")


def import_payments(data: bytes, filename: str, *, district: str, by=None,  # noqa: ANN001
                    real: bool = False, today: dt.date | None = None,
                    layout: str = "payments_history") -> Outcome:
    """历史发放: plan (and with `real`, write) a payments history file for `district`."""
    from doudi.golive import history_payments

    return _run(GoliveImport.PAYMENTS, data, filename, district, by, real, layout,
                lambda read, area: history_payments.plan(read, area, today or clock.today()))


def import_decisions(data: bytes, filename: str, *, district: str, by=None,  # noqa: ANN001
                     real: bool = False, today: dt.date | None = None,
                     layout: str = "decisions_history") -> Outcome:
    """历史决定: plan (and with `real`, write) a decisions history file for `district`."""
    from doudi.golive import history_decisions

    return _run(GoliveImport.DECISIONS, data, filename, district, by, real, layout,
                lambda read, area: history_decisions.plan(read, area, today or clock.today()))


def _run(what: str, data: bytes, filename: str, district: str, by, real: bool,  # noqa: ANN001
         layout_key: str, planner: Callable[[reading.Read, Area], Plan]) -> Outcome:
    area = district_of(district)
    _check_user(by, area)
    layout = layouts.get(layout_key)
    try:
        read = reading.read(data, filename, layout)
    except ReadError as exc:
        raise HistoryError(f"{filename}：{exc}") from exc
    plan = planner(read, area)
    plan.file = read.file_entry(layout)
    storage.sweep_tmp()
    tmp = storage.write_tmp(plan.frame())
    final = _plan_path(what, read.sha256)
    if plan.refused:
        status = GoliveImport.REFUSED
    elif not real:
        status = GoliveImport.PLANNED
    elif plan.write is None:
        status = GoliveImport.UNCHANGED
    else:
        status = GoliveImport.DONE
        if plan.prepare is not None:
            plan.prepare()
    try:
        with transaction.atomic():
            record = GoliveImport.objects.create(
                what=what, mode=GoliveImport.REAL if real else GoliveImport.DRY, status=status,
                files=[plan.file], counts=plan.counts, plan_path=storage.relative(final),
                message=plan.summary()[:500], by=by, area_code=area.code)
            written: dict[str, int] = {}
            if status == GoliveImport.DONE:
                assert plan.write is not None
                written = plan.write(by, record)
                record.counts = {**plan.counts, **written}
                record.save(update_fields=["counts"])
            audit.record(AuditEvent.IMPORT, object_type="golive.goliveimport",
                         object_id=record.pk, area_code=area.code,
                         object_label=f"{record}：{filename}"[:200],
                         changes={"sha256": read.sha256, "status": status,
                                  **plan.counts, **written})
            os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return Outcome(plan, record, written)


def _plan_path(what: str, sha256: str) -> Path:
    folder = storage.root() / "golive"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{what}-{sha256[:16]}-{uuid.uuid4().hex[:12]}.parquet"


def plan_rows(record: GoliveImport) -> pl.DataFrame:
    """A recorded import's plan (row, action, subject, reason)."""
    if not record.plan_path:
        return pl.DataFrame(schema=PLAN_SCHEMA)
    return pl.read_parquet(storage.absolute(record.plan_path))
