"""Points ledgers (村规民约积分制) never lose a point when several clerks record entries for
the same household at once (threads with their own database connections)."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.core.exceptions import PermissionDenied
from django.db import OperationalError, connection

from doudi.community import services as community
from doudi.community.models import PointBalance, PointEntry, PointRule
from doudi.registry.models import Household

D = dt.date
pytestmark = pytest.mark.usefixtures("flushable_audit_log")


@pytest.mark.django_db(transaction=True)
def test_points_ledgers_sum_under_concurrent_entries(world) -> None:
    u = world.users
    plus = PointRule.objects.create(code="clean", name="庭院整洁", points=5,
                                    area_code="341002102")
    minus = PointRule.objects.create(code="burn", name="焚烧秸秆", points=-3,
                                     area_code="341002102")
    household = Household.objects.get(pk=world.village_hh.pk)
    errors: list[Exception] = []

    def clerk(rule: PointRule, n: int) -> None:
        try:
            for _ in range(n):
                for _attempt in range(500):  # SQLite serialises writers: retry when locked
                    try:
                        community.add_points(by=u.village_assistant, household=household,
                                             rule=rule, occurred_on=D(2026, 11, 2))
                        break
                    except OperationalError:
                        time.sleep(0.01)
                else:
                    raise RuntimeError("the database stayed locked")
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=clerk, args=(plus if i % 2 else minus, 12))
               for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    balance = PointBalance.objects.get(household=household)
    entries = PointEntry.objects.filter(household=household)
    assert entries.count() == balance.entries == 48
    assert balance.balance == sum(e.points for e in entries) == 24 * 5 - 24 * 3
    with pytest.raises(PermissionDenied):
        community.add_points(by=world.gd_user, household=household, rule=plus,
                             occurred_on=D(2026, 11, 2))
