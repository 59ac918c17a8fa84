"""The synthetic district the statistics tests count: 700 households of 屯溪区 with some
enrollments ended in October and November and October's roster paid (a ninth failed)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from io import StringIO

import pytest
from django.core.management import call_command

from doudi.audit import context
from doudi.benefits import bank_files
from doudi.benefits import services as benefits
from doudi.benefits.models import Enrollment

D = dt.date


@pytest.fixture
def district(users, shipped_parameters, shipped_bank_layouts, tmp_path):
    call_command("synth", "--area", "341002", "--households", "700", "--seed", "21",
                 "--into-db", "--out", str(tmp_path), "--today", "2026-09-15",
                 stdout=StringIO())
    with context.job("test month"):
        ended = list(Enrollment.objects.order_by("id")[:7])
        for n, e in enumerate(ended):  # some leave in October, some in November
            Enrollment.objects.filter(pk=e.pk).update(
                end_date=D(2026, 10 + n % 2, 10 + n), status="ended")
        built = benefits.build_run(by=users.district_officer, month=D(2026, 10, 1),
                                   area_code="341002")
        benefits.approve_run(by=users.district_approver, run=built.run, opinion="经审核，同意")
        data = bank_files.bank_file(by=users.district_officer, run=built.run)[0]
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(["流水号", "结果", "失败原因"])
        for i, r in enumerate(rows):
            w.writerow([r["流水号"], "失败" if i % 9 == 0 else "成功", "账户冻结"])
        bank_files.bank_result(by=users.district_officer, run=built.run,
                               data=out.getvalue().encode())
    return users
