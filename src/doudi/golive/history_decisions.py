"""历史决定: the old system's approvals, changes, refusals and exits as `HistoricalDecision`
rows — history beside Doudi's own decisions, never a case reopened. A row names its household
by the old number and is linked to the enrollment it concerns when exactly one fits; a
decision is the same one again (无变化) when its household, programme, kind, date and 文号
are."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from doudi.areas.models import Area
from doudi.core.money import yuan_text
from doudi.engine.payments.roster import month_start
from doudi.golive import words
from doudi.golive.history import ERROR, NEW, UNCHANGED, Plan, PlanRow
from doudi.golive.matching import Matcher, chunks
from doudi.golive.models import GoliveImport, HistoricalDecision
from doudi.golive.reading import Read
from doudi.registry.models import Household

LIMITS = {"document_number": 60, "reason": 200, "decided_by": 60}
Key = tuple[int, str, str, dt.date, str]  # household, programme, kind, decided on, 文号


@dataclass
class Row:
    row: int
    subject: str
    household_id: int | None = None
    programme: str = ""
    kind: str = ""
    decided_on: dt.date | None = None
    effective_on: dt.date | None = None
    document_number: str = ""
    amount: int | None = None
    reason: str = ""
    decided_by: str = ""
    person_id: int | None = None
    enrollment_id: int | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def key(self) -> Key | None:
        if self.household_id is None or self.decided_on is None or not self.kind:
            return None
        return (self.household_id, self.programme, self.kind, self.decided_on,
                self.document_number)


def _parse(r: dict, matcher: Matcher, labels: dict[str, str], today: dt.date) -> Row:
    legacy = (r["legacy_number"] or "").strip()
    word = (r["decision"] or "").strip()
    row = Row(r["row"], f"{legacy} · {(r['programme'] or '').strip()} · {word} · "
                        f"{r['decided_on'] or ''}")
    kinds = dict(HistoricalDecision.KIND_CHOICES)
    kind = words.decision_kind(word)
    if kind is None:
        row.errors.append(words.decision_reason(word))
    elif kind not in kinds:
        row.errors.append(f"审批结果“{word}”：历史决定尚无此类别（可记录：{'、'.join(kinds.values())}）")
    else:
        row.kind = kind
    row.decided_on, row.effective_on = r["decided_on"], r["effective_on"]
    if row.decided_on is not None and row.decided_on > today:
        row.errors.append(f"审批日期 {row.decided_on} 晚于今天")
    row.amount = r["amount"]
    if row.amount is not None and row.amount < 0:
        row.errors.append(f"{labels['amount']} {yuan_text(row.amount)} 元不能为负数")
    for key, limit in LIMITS.items():
        value = (r[key] or "").strip()
        if len(value) > limit:
            row.errors.append(f"{labels[key]}超过 {limit} 个字")
        setattr(row, key, value[:limit])
    day = row.effective_on or row.decided_on
    found = matcher.find(legacy, r["programme"] or "", r["beneficiary_id"],
                         month=month_start(day) if day else None, required=False)
    if found.reason:
        row.errors.append(found.reason)
    row.household_id, row.programme = found.household_id, found.programme
    if found.enrollment is not None:
        row.enrollment_id = found.enrollment.pk
        row.person_id = found.person_id or found.enrollment.person_id
    else:
        row.person_id = found.person_id
    return row


def plan(read: Read, district: Area, today: dt.date) -> Plan:
    good = read.good
    matcher = Matcher(district, good["legacy_number"].to_list(),
                      good["beneficiary_id"].drop_nulls().to_list())
    rows = [_parse(r, matcher, read.labels, today) for r in good.iter_rows(named=True)]
    first: dict[Key, int] = {}
    for row in rows:
        key = row.key
        if key is None or row.errors:
            continue
        if key in first:
            row.errors.append(f"与第 {first[key]} 行为同一决定"
                              "（同一户、救助类别、审批结果、审批日期和文号）")
        else:
            first[key] = row.row
    households = sorted({r.household_id for r in rows if r.household_id is not None})
    existing: set[Key] = set()
    for chunk in chunks(households, 5000):
        existing.update(HistoricalDecision.objects.filter(household_id__in=chunk).values_list(
            "household_id", "programme", "kind", "decided_on", "document_number"))
    out = Plan(GoliveImport.DECISIONS, district, {}, [])
    for repeat, earlier in read.repeats.items():
        out.rows.append(PlanRow(repeat, UNCHANGED, "", f"与第 {earlier} 行完全相同，已忽略"))
    bad: dict[int, list[str]] = {}
    for err in read.errors:
        bad.setdefault(err.row, []).append(err.text())
    out.rows += [PlanRow(r, ERROR, "", "；".join(why)) for r, why in bad.items()]
    new: list[Row] = []
    for row in rows:
        if row.errors:
            out.rows.append(PlanRow(row.row, ERROR, row.subject, "；".join(row.errors)))
        elif row.key in existing:
            out.rows.append(PlanRow(row.row, UNCHANGED, row.subject))
        else:
            link = "" if row.enrollment_id else "未关联保障对象（在保数据中没有或无法确定）"
            out.rows.append(PlanRow(row.row, NEW, row.subject, link))
            new.append(row)
    out.rows.sort(key=lambda r: r.row or 0)
    out.extra = {"linked": sum(r.enrollment_id is not None for r in new)}
    if new and not out.refused:
        out.write = lambda by, record: _write(new, record)
    return out


def _write(rows: list[Row], record: GoliveImport) -> dict[str, int]:
    """Inside the import's transaction; its one audit row counts them (`history._run`)."""
    areas: dict[int, str] = {}
    for chunk in chunks(sorted({r.household_id for r in rows}), 5000):
        areas.update(Household.objects.filter(pk__in=chunk).values_list("pk", "area_code"))
    HistoricalDecision.objects.bulk_create(
        [HistoricalDecision(
            household_id=r.household_id, person_id=r.person_id, enrollment_id=r.enrollment_id,
            programme=r.programme, kind=r.kind, decided_on=r.decided_on,
            effective_on=r.effective_on, document_number=r.document_number,
            amount_fen=r.amount, reason=r.reason, decided_by=r.decided_by, source=record,
            area_code=areas[r.household_id]) for r in rows], batch_size=5000)
    return {"decisions": len(rows)}
