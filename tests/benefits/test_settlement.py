"""结转余额: rosters built month after month from carried balances give exactly the lines the
whole history gives, whatever happens between them — back-dated rises and cuts, stops and
resumptions, suspensions, a start or stop rule changed, lines returned by the bank or held
for want of an account (answered and approved late as well as on time), drafts rebuilt,
payees changed. Every enrollment is paid in the end exactly what its events say, at most one
line a month, each approved run's lines to the payee in force when it was approved."""

from __future__ import annotations

import csv
import datetime as dt
import io

import polars as pl
import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doudi.benefits import bank_files, banks, services
from doudi.benefits.models import (
    Enrollment,
    EnrollmentEvent,
    PaymentLine,
    PaymentRun,
    SettledBalance,
)
from doudi.engine.payments.roster import (
    PAID_SCHEMA,
    due_by_month,
    first_month_changed,
    month_start,
    months_between,
    next_month,
    roster,
)
from doudi.policy.models import PolicyParameter
from tests.payees import card, give_payee

D = dt.date
DISTRICT = "341002000000"
FIRST = D(2026, 1, 1)
RULES = ("full", "none", "daily")
COUNTED = ~pl.col("status").is_in(list(PaymentLine.UNPAID))


# ---- the steps ----------------------------------------------------------------------------------

def change_payee(world, enrollment: Enrollment, name: str, account: str) -> None:
    """The one payee-change step: a request approved by a second person. An account the
    request refuses is written past it, as an old import would have left it: the
    enrollment's lines are then held back as 待补账号."""
    enrollment.refresh_from_db()
    if (enrollment.payee_account, enrollment.bank) == (account, "徽商银行"):
        return  # the payee in force already: no change to ask for
    if not banks.problems(account, "徽商银行", banks.CARD) and name.strip():
        give_payee(world.users, enrollment, account)
    else:
        Enrollment.objects.filter(pk=enrollment.pk).update(payee_name=name,
                                                           payee_account=account)
    enrollment.refresh_from_db()


def set_rule(key: str, value: str, day: dt.date) -> None:
    PolicyParameter.objects.create(key=key, area_code="341002", effective_from=day,
                                   value=value, unit="text", reference="测试", source="local")


def build(world, month: dt.date) -> services.Built:
    return services.build_run(by=world.users.district_officer, month=month,
                              area_code=DISTRICT)


def approve(world, run: PaymentRun) -> None:
    """Approve, and check each line took the payee in force at this moment."""
    payees = {e.pk: (e.payee_name, e.payee_account, e.bank, e.account_kind)
              for e in Enrollment.objects.all()}
    services.approve_run(by=world.users.district_approver, run=run, opinion="经审核，同意")
    for line in run.lines.all():
        assert (line.payee_name, line.payee_account, line.bank,
                line.account_kind) == payees[line.enrollment_id]
        usable = services.payee_is_usable(line.payee_name, line.payee_account, line.bank,
                                          line.account_kind)
        assert (line.status == PaymentLine.AWAITING_ACCOUNT) == (not usable)


def answer(world, run: PaymentRun, failing: set[int]) -> None:
    """The bank file, and the bank's answer failing the lines of `failing` enrollments."""
    officer = world.users.district_officer
    data = bank_files.bank_file(by=officer, run=run)[0].decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(data)))
    if not rows:  # nothing sent (every line held back): there is no answer
        return
    of = dict(run.lines.values_list("pk", "enrollment_id"))
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["流水号", "结果", "失败原因"])
    for r in rows:
        failed = of[int(r["流水号"])] in failing
        w.writerow([r["流水号"], "失败" if failed else "成功", "账户已销户" if failed else ""])
    bank_files.bank_result(by=officer, run=run, data=out.getvalue().encode())


# ---- the oracle: the whole history, from the database, every time ------------------------------

def lines_frame(**filters) -> pl.DataFrame:
    return pl.DataFrame(
        list(PaymentLine.objects.filter(**filters).values_list(
            "enrollment_id", "month", "total_fen", "status", "run_id")),
        schema={"enrollment_id": pl.Int64, "month": pl.Date, "paid_fen": pl.Int64,
                "status": pl.String, "run_id": pl.Int64}, orient="row")


def whole_history(run: PaymentRun, rules: tuple[str, str]) -> dict[int, tuple[int, ...]]:
    """The lines `run` must have: the roster summed over every month since the first run and
    every line not failed or held, as before carried balances existed."""
    ids = Enrollment.objects.filter(area_code__startswith="341002").exclude(
        end_date__lt=FIRST).values("id")
    paid = (lines_frame(month__gte=FIRST, enrollment_id__in=ids)
            .filter(COUNTED & (pl.col("run_id") != run.pk)).select(list(PAID_SCHEMA)))
    done = set(PaymentLine.objects.filter(month=run.month).exclude(run=run)
               .values_list("enrollment_id", flat=True))
    lines = roster(services.periods(ids), paid, run.month, FIRST, *rules)
    return {r[0]: r[1:] for r in lines.select(
        "enrollment_id", "regular_fen", "arrears_fen", "recovery_fen", "total_fen").rows()
        if r[4] > 0 and r[0] not in done}


def check_balances() -> None:
    """Every carried balance still equals its definition: Σ due of its months (with its first
    month and rules) − Σ its lines of those months that moved money."""
    lines = lines_frame().filter(COUNTED)
    for b in SettledBalance.objects.all():
        months = months_between(b.first_month, b.month) if b.month >= b.first_month else []
        due = due_by_month(services.periods([b.enrollment_id]), months, b.start_rule,
                           b.stop_rule)["due_fen"].sum() if months else 0
        paid = lines.filter((pl.col("enrollment_id") == b.enrollment_id)
                            & pl.col("month").is_between(b.first_month, b.month))["paid_fen"]
        assert b.balance_fen == due - paid.sum(), (b, due, paid.to_list())


# ---- the property -------------------------------------------------------------------------------

amounts = st.integers(1, 400_000)
accounts = st.sampled_from([card("621700001111222"), card("622848009999000"), "",
                            "6217-12AB", "6217000011112223"])  # the last: a wrong check digit


@pytest.mark.django_db
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_carried_balances_pay_what_the_whole_history_pays(world, shipped_parameters,
                                                           data) -> None:
    with transaction.atomic():
        try:
            _months_of_payments(world, data)
        finally:
            transaction.set_rollback(True)


def _months_of_payments(world, data) -> None:
    draw = data.draw
    start_rule, stop_rule = draw(st.sampled_from(RULES)), draw(st.sampled_from(RULES))
    set_rule("benefits.start_rule", start_rule, D(2025, 6, 1))
    set_rule("benefits.stop_rule", stop_rule, D(2025, 6, 1))
    n_months = draw(st.integers(3, 7))
    months = months_between(FIRST, D(2026, n_months, 1))
    rule_change = draw(st.one_of(st.none(), st.sampled_from(months[1:])))
    rules = {m: (start_rule, stop_rule) for m in months}
    if rule_change is not None:  # the roster of that month on recomputes with the new rule
        new_stop = draw(st.sampled_from(RULES))
        set_rule("benefits.stop_rule", new_stop, rule_change)
        rules.update({m: (start_rule, new_stop) for m in months if m >= rule_change})
    households = [world.village_hh, world.same_town_hh, world.other_town_hh]
    enrollments = []
    for hh in households[:draw(st.integers(1, 3))]:
        start = draw(st.dates(D(2025, 12, 1), D(2026, 3, 31)))
        e = services.enroll(by=world.users.district_approver, household=hh, programme="dibao",
                            amount_fen=draw(amounts), start_date=start)
        change_payee(world, e, "收款人", draw(accounts))
        enrollments.append(e)
    reached_back: set[int] = set()  # enrollments a change reached back into paid months
    late: list[tuple[str, PaymentRun, set[int]]] = []  # approvals and answers left for later
    built: list[dt.date] = []

    def act(month: dt.date) -> None:
        """Zero to three changes, dated back, in the month or ahead; payees changed."""
        for _ in range(draw(st.integers(0, 3))):
            e = draw(st.sampled_from(enrollments))
            e.refresh_from_db()
            kind = ("resume" if e.status == Enrollment.ENDED else
                    draw(st.sampled_from(["increase", "decrease", "stop", "suspend",
                                          "resume"])))
            # on or after the enrollment's start and the first run (an enrollment stopped
            # before that is in no roster); often a 1st, where the month rules turn
            around = months_between(month - dt.timedelta(days=75), month + dt.timedelta(days=45))
            day = max(e.start_date, FIRST, draw(st.one_of(
                st.dates(month - dt.timedelta(days=75), month + dt.timedelta(days=45)),
                st.sampled_from(around))))
            amount = {"increase": e.amount_fen + draw(amounts),
                      "decrease": max(0, e.amount_fen - draw(amounts))}.get(kind, draw(amounts))
            services.change(by=world.users.district_approver, enrollment=e, kind=kind,
                            effective_date=day, amount_fen=amount, reason="测试变更")
            if built and (month_start(day - dt.timedelta(days=1)) <= built[-1]
                          or EnrollmentEvent.objects.filter(enrollment=e, kind="stop").exists()):
                reached_back.add(e.pk)
            check_balances()
        if draw(st.booleans()):
            change_payee(world, draw(st.sampled_from(enrollments)), "新收款人", draw(accounts))

    def settle_late() -> None:
        for what, run, failing in late:
            run.refresh_from_db()
            if what == "approve":
                approve(world, run)
            else:
                answer(world, run, failing)
            check_balances()
        late.clear()

    def one_month(month: dt.date, *, quiet: bool = False) -> None:
        result = build(world, month)
        if not quiet and draw(st.booleans()):  # a draft rebuilt after another change
            act(month)
            result = build(world, month)
        built.append(month)
        assert {ln.enrollment_id: (ln.regular_fen, ln.arrears_fen, ln.recovery_fen,
                                   ln.total_fen) for ln in result.run.lines.all()} \
            == whole_history(result.run, rules.get(month, rules[months[-1]])), month
        check_balances()
        settle_late()
        failing = set() if quiet else set(draw(st.lists(st.sampled_from(
            [e.pk for e in enrollments]), max_size=2)))
        if not quiet and draw(st.integers(0, 3)) == 0:  # approved after the next month's build
            late.extend([("approve", result.run, failing), ("answer", result.run, failing)])
            return
        approve(world, result.run)
        check_balances()
        if not quiet and draw(st.integers(0, 3)) == 0:  # the bank answers after the next build
            late.append(("answer", result.run, failing))
        else:
            answer(world, result.run, failing)
        check_balances()

    for month in months:
        act(month)
        one_month(month)
    # every payee usable, nothing changes any more: two quiet months pay what is owed
    for e in enrollments:
        change_payee(world, e, "收款人", card("621700001111333"))
    last = months[-1]
    for month in (next_month(last), next_month(next_month(last))):
        rules[month] = rules[last]
        one_month(month, quiet=True)
    settle_late()
    assert not PaymentLine.objects.filter(status=PaymentLine.PENDING).exists()

    # at most one line a month; in all, what the events say (an overpayment a change made
    # after it was paid is recovered only from later months: never more is owed)
    lines = lines_frame()
    assert (lines.group_by("enrollment_id", "month").len()["len"] == 1).all()
    final = built[-1]
    ids = [e.pk for e in enrollments]
    due = due_by_month(services.periods(ids), months_between(FIRST, final), *rules[final])
    for e in enrollments:
        owed = (due.filter(pl.col("enrollment_id") == e.pk)["due_fen"].sum()
                - lines.filter((pl.col("enrollment_id") == e.pk)
                               & (pl.col("status") == PaymentLine.PAID))["paid_fen"].sum())
        assert owed <= 0, e
        if e.pk not in reached_back and rule_change is None:
            assert owed == 0, e


# ---- the rule for events: no month before `first_month_changed` changes ------------------------

KINDS = ["increase", "decrease", "stop", "resume", "suspend", "taper"]
# a few months, so that events fall in the same months, often on a 1st
event_day = st.one_of(st.dates(D(2026, 1, 1), D(2026, 5, 31)),
                      st.sampled_from(months_between(D(2026, 1, 1), D(2026, 6, 1))))


@st.composite
def an_event(draw) -> tuple[str, dt.date, int]:
    kind = draw(st.sampled_from(KINDS))
    return kind, draw(event_day), 0 if kind in ("stop", "suspend") else draw(amounts)


@settings(max_examples=300, deadline=None)
@given(st.lists(an_event(), min_size=1, max_size=6), an_event())
def test_an_event_changes_no_month_before_the_one_it_names(earlier, new) -> None:
    """What `forget_for_event` relies on, for every start and stop rule: the due of the months
    before `first_month_changed` is the same with the new event as without it."""
    earlier = [("start", *earlier[0][1:]), *earlier[1:]]
    months = months_between(D(2025, 11, 1), D(2026, 8, 1))

    def due(events: list[tuple[str, dt.date, int]], start: str, stop: str) -> list[int]:
        ordered = sorted(enumerate(events), key=lambda x: (x[1][1], x[0]))  # date, then id
        frame = services.periods_frame([(1, *ev) for _, ev in ordered])
        return due_by_month(frame, months, start, stop)["due_fen"].to_list()

    since = first_month_changed(new[0], new[1], any(k == "stop" for k, _, _ in earlier))
    if since is None:
        return
    for start in RULES:
        for stop in RULES:
            before, after = due(earlier, start, stop), due([*earlier, new], start, stop)
            for month, old, now in zip(months, before, after, strict=True):
                if month < since:
                    assert old == now, (month, start, stop)


# ---- each path, one by one ----------------------------------------------------------------------

def _three(world) -> list[Enrollment]:
    made = []
    for n, hh in enumerate((world.village_hh, world.same_town_hh, world.other_town_hh)):
        e = services.enroll(by=world.users.district_approver, household=hh, programme="dibao",
                            amount_fen=50_000 + n * 10_000, start_date=D(2026, 1, 1))
        change_payee(world, e, f"收款人{n}", card(f"62170000111122{n}"))
        made.append(e)
    return made


def _balances() -> dict[int, tuple[dt.date, int]]:
    return {b.enrollment_id: (b.month, b.balance_fen) for b in SettledBalance.objects.all()}


@pytest.mark.django_db
def test_each_path_that_makes_a_balance_untrue_clears_it(world, shipped_parameters) -> None:
    a, b, c = _three(world)
    approver = world.users.district_approver
    january = build(world, D(2026, 1, 1))
    assert january.carried == 0  # the first run: nothing carried yet
    assert _balances() == {e.pk: (D(2025, 12, 1), 0) for e in (a, b, c)}
    approve(world, january.run)
    answer(world, january.run, set())
    february = build(world, D(2026, 2, 1))
    assert february.carried == 3
    assert _balances() == {e.pk: (D(2026, 1, 1), 0) for e in (a, b, c)}
    approve(world, february.run)
    answer(world, february.run, set())
    # a rebuilt draft keeps the balances (they stop before its month)
    build(world, D(2026, 3, 1))
    march = build(world, D(2026, 3, 1))
    assert march.carried == 3 and set(_balances().values()) == {(D(2026, 2, 1), 0)}
    approve(world, march.run)
    # a change dated after the settled months keeps the balance; one reaching into them
    # clears it
    services.change(by=approver, enrollment=a, kind="increase", effective_date=D(2026, 3, 2),
                    amount_fen=55_000, reason="提标")
    assert a.pk in _balances()
    services.change(by=approver, enrollment=a, kind="increase", effective_date=D(2026, 2, 1),
                    amount_fen=56_000, reason="提标（追溯）")
    assert a.pk not in _balances()
    # a stop on the 1st ends the month before: it reaches back one month
    services.change(by=approver, enrollment=b, kind="stop", effective_date=D(2026, 3, 1),
                    reason="迁出")
    assert set(_balances()) == {c.pk}
    check_balances()
    april = build(world, D(2026, 4, 1))
    assert april.carried == 1  # c; a and b from their whole history
    lines = {ln.enrollment_id: (ln.regular_fen, ln.arrears_fen) for ln in april.run.lines.all()}
    # a: February and March raised by 6,000 each; b: March paid but not due, recovered
    # from nothing (no line); c: as usual
    assert lines == {a.pk: (55_000, 12_000), c.pk: (70_000, 0)}
    check_balances()
    # the bank returns c's March line after April was built: its balance counted it paid
    answer(world, march.run, {c.pk})
    assert set(_balances()) == {a.pk, b.pk}
    check_balances()
    april = build(world, D(2026, 4, 1))
    assert april.carried == 2
    assert april.run.lines.get(enrollment=c).arrears_fen == 70_000
    approve(world, april.run)
    answer(world, april.run, set())
    # a resumption after a stop, however late, clears: the stop's month may be paid again
    build(world, D(2026, 5, 1))
    assert b.pk in _balances()
    services.change(by=approver, enrollment=b, kind="resume", effective_date=D(2026, 9, 1),
                    amount_fen=40_000, reason="迁回")
    assert set(_balances()) == {a.pk, c.pk}
    check_balances()


@pytest.mark.django_db
def test_returned_and_held_lines_clear_the_balances_that_counted_them(world,
                                                                     shipped_parameters):
    a, b, c = _three(world)
    january = build(world, D(2026, 1, 1))
    approve(world, january.run)
    # February is built while January's answer is still out: January is settled through
    assert build(world, D(2026, 2, 1)).carried == 3
    assert set(_balances().values()) == {(D(2026, 1, 1), 0)}
    answer(world, january.run, {a.pk})
    assert set(_balances()) == {b.pk, c.pk}
    check_balances()
    # February's draft is approved after March's is built; c has lost its account by then
    assert build(world, D(2026, 3, 1)).carried == 2
    change_payee(world, c, "收款人2", "")
    february = PaymentRun.objects.get(month=D(2026, 2, 1))
    approve(world, february)
    assert february.lines.get(enrollment=c).status == PaymentLine.AWAITING_ACCOUNT
    assert set(_balances()) == {a.pk, b.pk}
    check_balances()
    # March's draft, rebuilt, pays a's January again and c's February
    march = build(world, D(2026, 3, 1))
    assert march.carried == 2
    got = {ln.enrollment_id: ln.arrears_fen for ln in march.run.lines.all()}
    assert got == {a.pk: 50_000, b.pk: 0, c.pk: 70_000}
    assert march.total_fen == 2 * 50_000 + 60_000 + 2 * 70_000
    check_balances()


@pytest.mark.django_db
def test_a_month_before_the_balance_or_another_rule_sums_the_whole_history(
        world, shipped_parameters) -> None:
    a = _three(world)[0]
    for month in months_between(D(2026, 2, 1), D(2026, 4, 1)):
        run = build(world, month).run
        approve(world, run)
        answer(world, run, set())
    # January, built last: the first month moves back and every balance is summed afresh
    january = build(world, D(2026, 1, 1))
    assert january.carried == 0
    assert {ln.enrollment_id: ln.total_fen for ln in january.run.lines.all()} == {}
    assert set(_balances().values()) == {(D(2025, 12, 1), 0)}
    approve(world, january.run)
    answer(world, january.run, set())
    may = build(world, D(2026, 5, 1))
    assert may.carried == 3  # the balances through December: every month since is summed
    # January was never paid (the first run was February's): owed now with May's
    assert may.total_fen == 2 * (50_000 + 60_000 + 70_000)
    approve(world, may.run)
    answer(world, may.run, set())
    # a stop rule dated June: June's roster recomputes everything with it
    set_rule("benefits.stop_rule", "daily", D(2026, 6, 1))
    services.change(by=world.users.district_approver, enrollment=a, kind="stop",
                    effective_date=D(2026, 6, 16), reason="死亡")
    june = build(world, D(2026, 6, 1))
    assert june.carried == 0
    assert june.run.lines.get(enrollment=a).total_fen == 25_000  # 15 of 30 days
    assert {b.first_month for b in SettledBalance.objects.all()} == {D(2026, 1, 1)}
    assert set(SettledBalance.objects.values_list("stop_rule", flat=True)) == {"daily"}
    check_balances()
