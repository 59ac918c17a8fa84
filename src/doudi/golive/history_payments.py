"""历史发放: the old system's monthly payments as settled, imported payment runs.

How the months stay exact. The roster (`engine.payments.roster`) owes an enrollment Σ due of
every month since the district's first run − Σ what its lines paid; an imported month's line
counts its regular amount (`benefits.settlement.counted_amount`: the old system's own 补发 and
扣减 are left settled). For that to leave nothing owed, each imported month's due must equal
the old system's 应发: the caseload import gave an enrollment one `start` event with today's
amount, so the months the old system paid at another amount (before a 1 July rise, while
suspended) get events saying so, each on the 1st of its month, and one more on the 1st after
the history restores the amount in force (the start event takes the first full month's
amount when the history holds it). Every enrollment is then checked by computing its due
exactly as the roster will: a month whose due still differs (a start month paid by another
rule), or a month owed but missing from the file, is refused with the reason, never left to
turn into 补发 or 追回 in the first roster.

What is refused. A row: an unknown 家庭编号 or 救助类别, a month that is not a full 年月, in the
future or before the enrollment's start, amounts that are not money or where 实发 ≠ 应发 + 补发 −
扣减, a second row of the same month, a status neither paid nor failed. An enrollment: months
owed and missing (also of an enrollment the file leaves out, for the programmes it covers).
The whole file: a district that has built a Doudi roster already (the history would rewrite
what that roster counted), months outside those an earlier file imported.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Q

from doudi.areas.models import Area
from doudi.benefits import partitions, services
from doudi.benefits.models import (
    Enrollment,
    EnrollmentEvent,
    PaymentLine,
    PaymentRun,
    PaymentRunEvent,
)
from doudi.core.money import yuan_text
from doudi.engine.payments.roster import due_by_month, month_start, months_between, next_month
from doudi.golive import words
from doudi.golive.history import ERROR, NEW, UNCHANGED, HistoryError, Plan, PlanRow
from doudi.golive.matching import Matcher, chunks
from doudi.golive.models import GoliveImport
from doudi.golive.reading import Read
from doudi.policy.services import parameter_set
from doudi.programmes import catalogue
from doudi.rules.parameters import engine_value

# the reason of the events the history adds, and how they are known again
HISTORY_REASON = "原系统发放记录"
FAILED_NOTE = "原系统发放失败"
CHUNK = 5000  # enrollment ids per query (SQLite's limit on bound variables)
LIMITS = {"payee_name": 50, "bank": 40, "account": 32}  # what a line keeps of the payee


@dataclass
class Row:
    row: int
    subject: str
    month: dt.date | None = None
    regular: int = 0
    arrears: int = 0
    recovery: int = 0
    paid: int = 0
    failed: bool = False
    payee_name: str = ""
    bank: str = ""
    account: str = ""
    enrollment: Enrollment | None = None
    legacy_number: str = ""
    errors: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Nothing due, nothing paid: the month is history only through its event."""
        return not (self.regular or self.arrears or self.recovery or self.paid)

    def amounts(self) -> tuple[int, int, int, int, str]:
        return (self.regular, self.arrears, self.recovery, self.paid,
                PaymentLine.FAILED if self.failed else PaymentLine.PAID)


@dataclass
class Event:
    kind: str
    day: dt.date
    amount: int
    previous: int | None
    seq: int  # the order among events of the same day: an existing event's id, then ours
    new: bool = False


def _text(month: dt.date) -> str:
    return f"{month.year}年{month.month}月"


def months_text(months: list[dt.date]) -> str:
    """2024年1月至2024年3月、2024年6月"""
    parts, run = [], []
    for m in sorted(months):
        if run and next_month(run[-1]) != m:
            parts.append(run)
            run = []
        run.append(m)
    if run:
        parts.append(run)
    return "、".join(_text(r[0]) if len(r) == 1 else f"{_text(r[0])}至{_text(r[-1])}"
                    for r in parts)


def _rule(key: str, district: Area, day: dt.date, default: str) -> str:
    """A payment rule as the roster of `day`'s month reads it (it sums every month with it)."""
    found = parameter_set().find(key, district.code, day)
    return str(engine_value(found)) if found is not None else default


def _effective(day: dt.date) -> dt.date:
    """The first month an amount dated `day` pays (the roster's rule)."""
    return month_start(day) if day.day == 1 else next_month(day)


def in_force(events: list[Event], month: dt.date) -> int:
    """The amount a month inside an enrollment pays by `events` (ordered): the last event
    paying from that month or before; 0 after a stop."""
    amount = 0
    for e in events:
        if _effective(e.day) > month:
            break
        amount = 0 if e.kind == "stop" else e.amount
    return amount


def _ordered(events: list[Event]) -> list[Event]:
    return sorted(events, key=lambda e: (e.day, e.seq))


class Planner:
    def __init__(self, read: Read, district: Area, today: dt.date) -> None:
        self.read, self.district, self.today = read, district, today
        self.plan = Plan(GoliveImport.PAYMENTS, district, {}, [])
        self.rows: list[Row] = []

    # -- rows --------------------------------------------------------------------------------

    def parse(self) -> None:
        good = self.read.good
        self.matcher = Matcher(self.district, good["legacy_number"].to_list(),
                               good["beneficiary_id"].drop_nulls().to_list())
        this_month = month_start(self.today)
        for r in good.iter_rows(named=True):
            word = (r["programme"] or "").strip()
            legacy = (r["legacy_number"] or "").strip()
            row = Row(r["row"], f"{legacy} · {word} · {(r['month'] or '').strip()}",
                      legacy_number=legacy)
            row.month, why = words.month(r["month"] or "")
            if why:
                row.errors.append(why)
            elif row.month > this_month:
                row.errors.append(f"发放月份 {_text(row.month)} 晚于本月")
            self._amounts(row, r)
            status = words.payment_status(r["status"])
            if status is None:
                row.errors.append(words.status_reason((r["status"] or "").strip()))
            row.failed = status == words.FAILED
            for key, limit in LIMITS.items():
                value = (r[key] or "").strip()
                if len(value) > limit:
                    row.errors.append(f"{self.read.labels[key]}超过 {limit} 个字")
                setattr(row, key, value[:limit])
            found = self.matcher.find(legacy, word, r["beneficiary_id"], month=row.month)
            if found.reason:
                row.errors.append(found.reason)
            row.enrollment = found.enrollment
            e = row.enrollment
            if e is not None and row.month is not None and row.month < month_start(e.start_date):
                row.errors.append(f"早于该户{words.label(e.programme, e.part)}的保障起始日期 "
                                  f"{e.start_date}")
            self.rows.append(row)
        self._repeated_months()
        self._failed_then_repaid()

    def _amounts(self, row: Row, r: dict) -> None:
        for key in ("regular", "arrears", "recovery", "paid"):
            value = r[key] or 0
            if value < 0:
                row.errors.append(f"{self.read.labels[key]}不能为负数（扣减请填在扣减金额列）")
            setattr(row, key, value)
        if row.paid != row.regular + row.arrears - row.recovery:
            row.errors.append(
                f"实发金额 {yuan_text(row.paid)} 元 ≠ 应发 {yuan_text(row.regular)} + 补发 "
                f"{yuan_text(row.arrears)} − 扣减 {yuan_text(row.recovery)} = "
                f"{yuan_text(row.regular + row.arrears - row.recovery)} 元")

    def _repeated_months(self) -> None:
        seen: dict[tuple[int, dt.date], int] = {}
        for row in self.rows:
            if row.enrollment is None or row.month is None:
                continue
            key = (row.enrollment.pk, row.month)
            if key in seen:
                row.errors.append(f"与第 {seen[key]} 行为同一户、同一救助类别的同一月份")
            else:
                seen[key] = row.row

    def _failed_then_repaid(self) -> None:
        """A failed month followed by a 补发: whether the 补发 was for it cannot be told."""
        repaid: dict[int, list[Row]] = defaultdict(list)
        for o in self.rows:
            if o.enrollment is not None and o.month is not None and o.arrears > 0:
                repaid[o.enrollment.pk].append(o)
        for row in self.rows:
            if not row.failed or row.enrollment is None or row.month is None:
                continue
            later = sorted((o for o in repaid[row.enrollment.pk] if o.month > row.month),
                           key=lambda o: o.row)
            if later:
                row.errors.append(
                    f"原系统发放失败，其后第 {later[0].row} 行有补发，无法判断补发的是否为本月："
                    "请在原系统核实（已补发的，本行发放状态填“已发放”）")

    # -- the district -------------------------------------------------------------------------

    def window(self) -> tuple[dt.date, dt.date] | None:
        """The months the history covers: those imported before, else this file's."""
        earlier = PaymentRun.objects.filter(area_code__startswith=self.district.prefix,
                                            imported=True)
        span = [m for m in earlier.order_by("month").values_list("month", flat=True)]
        if span:
            first, last = span[0], span[-1]
            for row in self.rows:
                if row.month is not None and not first <= row.month <= last:
                    row.errors.append(f"不在已导入的历史发放月份（{_text(first)}至{_text(last)}）"
                                      "内：同一区县的历史发放须为相同的月份")
            return first, last
        months = [r.month for r in self.rows if r.month is not None and not r.errors]
        return (min(months), max(months)) if months else None

    def own_run(self) -> PaymentRun | None:
        return (PaymentRun.objects.filter(area_code__startswith=self.district.prefix,
                                          imported=False).order_by("month", "id").first())


def plan(read: Read, district: Area, today: dt.date) -> Plan:
    p = Planner(read, district, today)
    own = p.own_run()
    if own is not None:
        p.plan.rows.append(PlanRow(None, ERROR, district.name,
                                   f"本区县已生成本系统的{own}（{own.get_status_display()}）：历史发放"
                                   "只能在本系统首次生成花名册之前导入"))
        return p.plan
    p.parse()
    window = p.window()
    Checker(p, window).run()
    return p.plan


class Checker:
    """Per enrollment: compare with what is imported already, or make the events and check
    every month's due; then the plan rows and the writes."""

    def __init__(self, planner: Planner, window: tuple[dt.date, dt.date] | None) -> None:
        self.p = planner
        self.window = window
        self.events: dict[int, list[Event]] = {}  # eid → events after the import
        self.added: dict[int, list[Event]] = defaultdict(list)
        self.start_edits: dict[int, tuple[int, int]] = {}  # eid → (event id, amount)
        self.findings: list[PlanRow] = []
        self.actions: dict[int, str] = {}  # row → NEW | UNCHANGED (rows without errors)

    def run(self) -> None:
        p = self.p
        by_enrollment: dict[int, list[Row]] = defaultdict(list)
        for row in p.rows:
            if row.enrollment is not None:
                by_enrollment[row.enrollment.pk].append(row)
        enrollments = {rows[0].enrollment.pk: rows[0].enrollment
                       for rows in by_enrollment.values()}
        if self.window is not None:
            months = months_between(*self.window)
            after = next_month(self.window[1])
            start_rule = _rule("benefits.start_rule", p.district, after, "none")
            stop_rule = _rule("benefits.stop_rule", p.district, after, "full")
            self.rules = (start_rule, stop_rule)
            left_out = self._left_out(set(enrollments), {e.programme for e in
                                                         enrollments.values()})
            ids = set(enrollments) | set(left_out)
            original = self._load_events(ids)
            imported = self._imported(set(enrollments))
            done = {eid for eid, _ in imported} | self._history_events(set(enrollments))
            for eid, rows in by_enrollment.items():
                if eid in done:
                    self._compare(rows, imported, original[eid])
                elif not any(r.errors for r in rows):
                    self._construct(enrollments[eid], rows, original[eid], self.window)
            self._verify(enrollments, by_enrollment, original, months, after)
            self._uncovered(left_out, original, months)
        self._rows()

    # -- what is there -------------------------------------------------------------------------

    def _left_out(self, named: set[int], programmes: set[str]) -> dict[int, Enrollment]:
        """Enrollments of the district's imported households, of a programme this file (or an
        earlier one) covers, that the file does not name and no earlier file imported."""
        earlier = set(PaymentLine.objects.filter(
            run__imported=True, run__area_code__startswith=self.p.district.prefix)
            .values_list("enrollment__programme", flat=True).distinct())
        covered = programmes | earlier
        rows = (Enrollment.objects.filter(area_code__startswith=self.p.district.prefix,
                                          household__legacy__isnull=False,
                                          programme__in=covered)
                .exclude(Q(lines__run__imported=True)
                         | Q(events__reason__startswith=HISTORY_REASON))
                .select_related("household__legacy").distinct())
        return {e.pk: e for e in rows if e.pk not in named}

    def _load_events(self, ids: set[int]) -> dict[int, list[Event]]:
        out: dict[int, list[Event]] = defaultdict(list)
        for chunk in chunks(sorted(ids), CHUNK):
            rows = (EnrollmentEvent.objects.filter(enrollment_id__in=chunk)
                    .order_by("enrollment_id", "effective_date", "id")
                    .values_list("enrollment_id", "kind", "effective_date", "amount_fen",
                                 "previous_fen", "id"))
            for eid, kind, day, amount, previous, pk in rows:
                out[eid].append(Event(kind, day, amount, previous, pk))
        return out

    def _imported(self, ids: set[int]) -> dict[tuple[int, dt.date], tuple]:
        out = {}
        for chunk in chunks(sorted(ids), CHUNK):
            out.update({(eid, m): (reg, arr, rec, tot, st) for eid, m, reg, arr, rec, tot, st in
                        PaymentLine.objects.filter(enrollment_id__in=chunk, run__imported=True)
                        .values_list("enrollment_id", "month", "regular_fen", "arrears_fen",
                                     "recovery_fen", "total_fen", "status")})
        return out

    def _history_events(self, ids: set[int]) -> set[int]:
        out: set[int] = set()
        for chunk in chunks(sorted(ids), CHUNK):
            out.update(EnrollmentEvent.objects.filter(enrollment_id__in=chunk,
                                                      reason__startswith=HISTORY_REASON)
                       .values_list("enrollment_id", flat=True))
        return out

    # -- an enrollment imported before: the same rows, or refused -------------------------------

    def _compare(self, rows: list[Row], imported: dict, events: list[Event]) -> None:
        for row in rows:
            if row.errors:
                continue
            had = imported.get((row.enrollment.pk, row.month))
            if had is not None and had == row.amounts():
                self.actions[row.row] = UNCHANGED
            elif had is not None:
                row.errors.append(f"与已导入的记录不同（已导入：应发 {yuan_text(had[0])} 元，实发 "
                                  f"{yuan_text(had[3])} 元）：已导入的历史发放不能修改")
            elif row.empty and not any(x.day == row.month for x in events):
                self.actions[row.row] = UNCHANGED  # nothing paid, nothing to record
            else:
                row.errors.append("该户该救助类别的历史发放已导入，本行不在其中：已导入的历史发放"
                                  "不能追加")

    # -- a new enrollment: the events the history needs ---------------------------------------

    def _construct(self, e: Enrollment, rows: list[Row], original: list[Event],
                   window: tuple[dt.date, dt.date]) -> None:
        regular = {r.month: r.regular for r in rows}
        events = [Event(x.kind, x.day, x.amount, x.previous, x.seq) for x in original]
        seq = 10**15
        stop = min((x.day for x in events if x.kind == "stop"), default=None)
        full = _effective(e.start_date)  # the first month paid whole
        start = next((x for x in events if x.kind == "start"), None)
        if start is not None and full in regular and regular[full] != start.amount:
            self.start_edits[e.pk] = (start.seq, regular[full])
            start.amount = regular[full]
        for month in sorted(regular):
            if month < full or (stop is not None and month >= stop):
                continue  # the start or stop month goes by its rule: checked below
            have = in_force(_ordered(events), month)
            if have != regular[month]:
                seq += 1
                added = Event(_kind(have, regular[month]), month, regular[month], have, seq,
                              new=True)
                events.append(added)
                self.added[e.pk].append(added)
        after = next_month(window[1])
        if stop is None or stop > after:
            was, now = in_force(original, after), in_force(_ordered(events), after)
            if was != now:
                seq += 1
                added = Event(_kind(now, was), after, was, now, seq, new=True)
                events.append(added)
                self.added[e.pk].append(added)
        self.events[e.pk] = _ordered(events)

    # -- every month as the roster will see it --------------------------------------------------

    def _due(self, events: dict[int, list[Event]], months: list[dt.date]) -> dict:
        rows = [(eid, x.kind, x.day, x.amount) for eid in sorted(events)
                for x in _ordered(events[eid])]
        if not rows:
            return {}
        due = due_by_month(services.periods_frame(rows), months, *self.rules)
        return {(eid, m): fen for eid, m, fen in due.iter_rows()}

    def _verify(self, enrollments: dict[int, Enrollment], by_enrollment: dict[int, list[Row]],
                original: dict[int, list[Event]], months: list[dt.date],
                after: dt.date) -> None:
        """Each new enrollment's due, month by month, as the roster will compute it from the
        events made: equal to the old system's 应发 in every month of the file, nothing owed
        in a month the file lacks, and the amount after the history the one in force."""
        due = self._due(self.events, [*months, after])
        before = self._due({eid: original[eid] for eid in self.events}, [after])
        for eid in self.events:
            e, rows = enrollments[eid], by_enrollment[eid]
            by_month = {r.month: r for r in rows}
            missing = []
            for month in months:
                fen = due.get((eid, month), 0)
                row = by_month.get(month)
                if row is None:
                    if fen:
                        missing.append(month)
                elif row.regular != fen:
                    row.errors.append(self._why(e, month, fen, row.regular))
            if missing:
                self.findings.append(PlanRow(
                    None, ERROR, _subject(e),
                    f"缺少 {months_text(missing)} 的发放记录（按在保数据这些月份应发放）："
                    "原系统该月未发放的，请导出应发金额为 0 的记录"))
            if due.get((eid, after), 0) != before.get((eid, after), 0):
                now, was = due.get((eid, after), 0), before.get((eid, after), 0)
                self.findings.append(PlanRow(
                    None, ERROR, _subject(e),
                    f"按原系统发放记录调整后，{_text(after)}应发 {yuan_text(now)} 元，与在保数据的"
                    f"月保障金 {yuan_text(was)} 元不一致：请核对在保数据"))

    def _why(self, e: Enrollment, month: dt.date, due: int, regular: int) -> str:
        if month == month_start(e.start_date) and e.start_date.day != 1:
            return (f"该月为保障起始月（起始日期 {e.start_date}），按本区新纳入当月发放规则应发 "
                    f"{yuan_text(due)} 元，原系统应发 {yuan_text(regular)} 元：请核对在保数据的"
                    "保障起始日期")
        if e.end_date is not None and month >= month_start(e.end_date - dt.timedelta(days=1)):
            return (f"该户已于 {e.end_date} 停保，按本区停保当月发放规则该月应发 {yuan_text(due)} "
                    f"元，原系统应发 {yuan_text(regular)} 元：请核对停保日期")
        return (f"按本系统的保障记录该月应发 {yuan_text(due)} 元，原系统应发 {yuan_text(regular)} "
                "元：请核对在保数据")

    def _uncovered(self, left_out: dict[int, Enrollment], original: dict[int, list[Event]],
                   months: list[dt.date]) -> None:
        due = self._due({eid: original[eid] for eid in left_out}, months)
        for eid, e in left_out.items():
            owed = [m for m in months if due.get((eid, m), 0)]
            if owed:
                self.findings.append(PlanRow(
                    None, ERROR, _subject(e),
                    f"本文件没有该户的历史发放，按在保数据 {months_text(owed)} 应发放：请一并导出"
                    "（原系统未发放的月份，导出应发金额为 0 的记录）"))

    # -- the plan --------------------------------------------------------------------------------

    def _rows(self) -> None:
        p = self.p
        plan_rows: list[PlanRow] = []
        for row, first in p.read.repeats.items():
            plan_rows.append(PlanRow(row, UNCHANGED, "", f"与第 {first} 行完全相同，已忽略"))
        bad: dict[int, list[str]] = defaultdict(list)
        for err in p.read.errors:
            bad[err.row].append(err.text())
        plan_rows += [PlanRow(row, ERROR, "", "；".join(why)) for row, why in bad.items()]
        changed_months = {(eid, x.day) for eid, evs in self.added.items() for x in evs}
        for row in p.rows:
            if row.errors:
                plan_rows.append(PlanRow(row.row, ERROR, row.subject, "；".join(row.errors)))
                continue
            action = self.actions.get(row.row)
            if action is None:
                eid = row.enrollment.pk
                starts = eid in self.start_edits and row.month == _effective(
                    row.enrollment.start_date)
                action = NEW if (not row.empty or (eid, row.month) in changed_months
                                 or starts) else UNCHANGED
            plan_rows.append(PlanRow(row.row, action, row.subject))
        plan_rows.sort(key=lambda r: r.row or 0)
        p.plan.rows = plan_rows + self.findings
        if self.window is not None:
            first, last = self.window
            p.plan.notes.append(f"历史发放 {_text(first)}至{_text(last)}，本系统首次生成花名册应为 "
                                f"{_text(next_month(last))}")
            named = {r.enrollment.programme for r in p.rows if r.enrollment is not None}
            without = programmes_without_history(p.district, named)
            if without:
                p.plan.notes.append(
                    f"注意：{'、'.join(catalogue.label(c) for c in without)}尚无历史发放，请导入后"
                    f"再生成花名册（否则首次花名册将按在保数据补发 {_text(first)}起的保障金）")
        p.plan.extra = {"events": sum(len(v) for v in self.added.values()),
                        "start_amounts": len(self.start_edits)}
        lines = [r for r in p.rows if not r.errors and self.actions.get(r.row) is None
                 and not r.empty]
        if p.plan.refused or not (lines or self.added or self.start_edits):
            return
        months = sorted({r.month for r in lines})

        def prepare() -> None:  # each month's partition, outside the import's transaction
            for month in months:
                partitions.ensure_month(month)

        p.plan.prepare = prepare
        p.plan.write = lambda by, record: _write(p.district, lines, self.added,
                                                 self.start_edits, by)


def _kind(old: int, new: int) -> str:
    if new == 0:
        return "suspend"
    if old == 0:
        return "resume"
    return "increase" if new > old else "decrease"


def _subject(e: Enrollment) -> str:
    legacy = getattr(e.household, "legacy", None)
    number = legacy.legacy_number if legacy else e.household.number
    return f"{number} · {words.label(e.programme, e.part)}"


def _write(district: Area, lines: list[Row], added: dict[int, list[Event]],
           start_edits: dict[int, tuple[int, int]], by) -> dict[str, int]:  # noqa: ANN001
    """The plan's writes, inside the import's transaction."""
    if PaymentRun.objects.select_for_update().filter(
            area_code__startswith=district.prefix, imported=False).exists():
        raise HistoryError("本区县已生成本系统的花名册：历史发放只能在本系统首次生成花名册之前导入")
    runs, made = {}, 0
    for month in sorted({r.month for r in lines}):
        run = PaymentRun.objects.filter(area_code=district.code, month=month,
                                        imported=True).first()
        if run is None:
            run = PaymentRun.objects.create(month=month, area_code=district.code, imported=True,
                                            status=PaymentRun.SETTLED, built_by=by)
            PaymentRunEvent.objects.create(run=run, action=PaymentRunEvent.BUILD, by=by,
                                           area_code=district.code,
                                           note="上线迁移：原系统历史发放导入，仅作历史，不生成银行文件")
            made += 1
        runs[month] = run
    for eid, (pk, amount) in start_edits.items():
        event = EnrollmentEvent.objects.get(pk=pk, enrollment_id=eid)
        event.amount_fen = amount
        event.reason = f"{event.reason}（起始金额按{HISTORY_REASON}）"[:200]
        event.save(update_fields=["amount_fen", "reason"])
    areas: dict[int, str] = {}
    for chunk in chunks(sorted(set(added) | set(start_edits)), CHUNK):
        areas.update(Enrollment.objects.filter(pk__in=chunk).values_list("pk", "area_code"))
    for eid, events in added.items():
        for x in events:
            EnrollmentEvent.objects.create(
                enrollment_id=eid, kind=x.kind, effective_date=x.day, amount_fen=x.amount,
                previous_fen=x.previous, actor=by, area_code=areas[eid],
                reason=f"{HISTORY_REASON}：{_text(x.day)}起月保障金 {yuan_text(x.amount)} 元")
    PaymentLine.objects.bulk_create(
        [PaymentLine(run=runs[r.month], enrollment=r.enrollment, month=r.month,
                     regular_fen=r.regular, arrears_fen=r.arrears, recovery_fen=r.recovery,
                     total_fen=r.paid, area_code=r.enrollment.area_code,
                     status=PaymentLine.FAILED if r.failed else PaymentLine.PAID,
                     failure=FAILED_NOTE if r.failed else "", payee_name=r.payee_name,
                     payee_account=r.account, bank=r.bank) for r in lines],
        batch_size=5000)
    for run in runs.values():
        run.totals = services.totals(run)
        run.save(update_fields=["totals"])
    return {"runs_made": made, "lines": len(lines),
            "events": sum(len(v) for v in added.values()), "start_amounts": len(start_edits)}


def programmes_without_history(district: Area, also: set[str] | frozenset[str] = frozenset()
                               ) -> list[str]:
    """The programmes the district's imported households receive that no imported history
    (nor `also`) covers. Once any month is imported the district's rosters sum from it, so
    these enrollments would be paid every month since as 补发 in the first roster: the
    go-live check should stop at this list."""
    covered = set(PaymentLine.objects.filter(
        run__imported=True, run__area_code__startswith=district.prefix)
        .values_list("enrollment__programme", flat=True).distinct()) | set(also)
    held = set(Enrollment.objects.filter(area_code__startswith=district.prefix,
                                         household__legacy__isnull=False)
               .values_list("programme", flat=True).distinct())
    return sorted(held - covered)
