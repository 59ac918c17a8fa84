"""复核 on schedule and 渐退 after it: tasks appear when due, outcomes change the enrollment as
dated events, a taper follows the shares month by month and ends in 停保 with monitoring."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from doudi.benefits import reviews, services
from doudi.benefits.models import EnrollmentEvent, ReviewTask
from doudi.registry.models import Membership

pytestmark = pytest.mark.django_db
D = dt.date


def test_schedule_by_labour_capacity_and_programme(world, shipped_parameters) -> None:
    u = world.users
    able = services.enroll(by=u.district_approver, household=world.village_hh,
                           programme="dibao", amount_fen=50_000, start_date=D(2026, 1, 10))
    Membership.objects.filter(household=world.same_town_hh).update()
    for m in Membership.objects.filter(household=world.same_town_hh).select_related("person"):
        m.person.labour_capacity = "none"
        m.person.save()
    stable = services.enroll(by=u.district_approver, household=world.same_town_hh,
                             programme="dibao", amount_fen=40_000, start_date=D(2026, 1, 10))
    assert reviews.interval(able, D(2026, 6, 1)) == 6
    assert reviews.interval(stable, D(2026, 6, 1)) == 12
    assert reviews.schedule(D(2026, 6, 1)) == 0  # due 7/10: beyond 30 days
    assert reviews.schedule(D(2026, 6, 15)) == 1
    task = ReviewTask.objects.get()
    assert (task.enrollment, task.due_date) == (able, D(2026, 7, 10))
    assert reviews.schedule(D(2026, 6, 20)) == 0  # one open task per enrollment


def test_taper_after_review_then_exit(world, shipped_parameters) -> None:
    u = world.users
    e = services.enroll(by=u.district_approver, household=world.village_hh, programme="dibao",
                        amount_fen=60_000, start_date=D(2026, 1, 1))
    reviews.schedule(D(2026, 6, 15))
    task = ReviewTask.objects.get()
    with pytest.raises(PermissionDenied):
        reviews.record(by=u.village_assistant, task=task, outcome="taper",
                       findings="务工收入超标", day=D(2026, 7, 15))
    reviews.record(by=u.town_approver, task=task, outcome="taper",
                   findings="户主务工，月收入超过标准", day=D(2026, 7, 15))
    tapers = list(EnrollmentEvent.objects.filter(enrollment=e, kind="taper")
                  .values_list("effective_date", "amount_fen"))
    assert tapers == [(D(2026, 8, 1), 60_000), (D(2026, 9, 1), 60_000), (D(2026, 10, 1), 48_000),
                      (D(2026, 11, 1), 48_000), (D(2026, 12, 1), 36_000), (D(2027, 1, 1), 36_000)]
    e.refresh_from_db()
    assert e.status == "ended" and e.end_date == D(2027, 2, 1)
    assert e.monitor_until == D(2029, 2, 1) and e.exit_reason == "渐退期满"
    # the roster pays the schedule (payments start with the first run, July)
    for month in (D(2026, 7, 1), D(2026, 10, 1), D(2027, 1, 1), D(2027, 2, 1)):
        built = services.build_run(by=u.district_officer, month=month, area_code="341002")
        total = built.total_fen
        built.run.delete() if total == 0 else None
        assert total == {D(2026, 7, 1): 60_000, D(2026, 10, 1): 2 * 60_000 + 48_000,
                         D(2027, 1, 1): 48_000 + 2 * 36_000, D(2027, 2, 1): 0}[month]


def test_review_page_and_command(client, world, shipped_parameters) -> None:
    from django.core.management import call_command

    from tests.conftest import PASSWORD

    e = services.enroll(by=world.users.district_approver, household=world.village_hh,
                        programme="dibao", amount_fen=50_000, start_date=D(2026, 1, 1))
    call_command("benefits", "schedule-reviews", "--today", "2026-06-20")
    task = ReviewTask.objects.get(enrollment=e)
    client.login(username="village_assistant", password=PASSWORD)
    page = client.get("/payments/reviews/").content.decode()
    assert world.village_hh.number in page
    page = client.post("/payments/reviews/", {"task": task.pk, "outcome": "stop",
                                              "findings": "已外出定居"}).content.decode()
    assert "镇街审批或区县民政部门决定" in page
    client.post("/payments/reviews/", {"task": task.pk, "outcome": "continue",
                                       "findings": "家庭情况无变化"})
    task.refresh_from_db()
    assert task.status == "done" and task.outcome == "continue"
