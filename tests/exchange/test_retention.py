"""Rows about people outside the registry are kept for exchange.unmatched_retention_days (180)
after the batch was received; then matched once more and the rest deleted from the file."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from django.utils import timezone

from doudi.audit import context
from doudi.audit.models import AuditEvent
from doudi.core import crypto, idnumber
from doudi.exchange import storage
from doudi.exchange.imports import batch_rows, import_bytes
from doudi.exchange.models import FeedBatch, FeedType, ImportJob
from doudi.exchange.retention import purge_unmatched
from doudi.registry.services import MemberInput, create_household
from tests.conftest import VILLAGE, make_household
from tests.exchange.helpers import VEHICLE_HEADER, outsider_id

pytestmark = pytest.mark.django_db

HEADER = VEHICLE_HEADER




def purges() -> int:
    return AuditEvent.objects.filter(action=AuditEvent.DELETE,
                                     object_type="exchange.feedbatch").count()


@pytest.fixture
def batch(users, new_id, shipped_parameters) -> FeedBatch:
    """A vehicle batch: one row matched by ID, one weakly by name + birth date, three about
    people nobody registered (row 5 will register later)."""
    with context.job("test"):
        hh = make_household(users.district_approver, VILLAGE, new_id)
    head, spouse = (m.person for m in hh.memberships.order_by("id"))
    weak_id = idnumber.make("341002", spouse.birth_date, 300, spouse.sex)  # not spouse's ID
    rows = [("皖B00001", "张三丰", head.id_number), ("皖B00002", spouse.name, weak_id),
            ("皖B00003", "王大力", outsider_id(1)), ("皖B00004", "赵小六", outsider_id(2)),
            ("皖B00005", "孙七", outsider_id(3))]
    data = "\n".join([HEADER] + [f"{p},小型轿车,{o},{i},比亚迪,2020-03-01,正常"
                                 for p, o, i in rows]) + "\n"
    out = import_bytes(FeedType.objects.get(key="vehicle"), data.encode(), "车管.csv",
                       user=users.district_officer, channel="cli")
    assert out.status == ImportJob.DONE, out.message
    b = out.batch
    assert (b.good_rows, b.matched_id, b.matched_weak, b.unmatched) == (5, 1, 1, 3)
    return b


def received(batch: FeedBatch) -> dt.date:
    return timezone.localtime(batch.received_at).date()


def test_left_alone_within_the_retention_period(batch):
    before = storage.absolute(batch.path).read_bytes()
    report = purge_unmatched(received(batch) + dt.timedelta(days=179))
    assert (report.batches, report.rows, report.rematched) == (0, 0, 0)
    batch.refresh_from_db()
    assert batch.unmatched == 3 and batch.unmatched_purged_at is None
    assert storage.absolute(batch.path).read_bytes() == before
    assert purges() == 0


def test_purged_after_it_keeping_matched_and_newly_registered(batch, users, monkeypatch):
    with context.job("test"):  # row 5's person applies in the meantime
        create_household(by=users.district_approver, area_code=VILLAGE, hukou_type="urban",
                         members=[MemberInput(id_number=outsider_id(3), name="孙七",
                                              relation="head")])

    def refused(*args, **kwargs):
        raise AssertionError("the purge decrypted a stored ID")

    # the last match compares the rows' IDs as ciphertext: nothing in the registry decrypted
    monkeypatch.setattr(crypto.KeyRing, "decrypt", refused)
    report = purge_unmatched(received(batch) + dt.timedelta(days=181))
    monkeypatch.undo()
    assert (report.batches, report.rows, report.rematched) == (1, 2, 1)

    rows = batch_rows(batch)
    assert rows["plate"].to_list() == ["皖B00001", "皖B00002", "皖B00005"]
    assert rows["match"].to_list() == ["id", "name_birth", "id"]
    assert rows.filter(pl.col("match") == "none").height == 0
    assert rows["person_id"].null_count() == 0
    assert outsider_id(1) not in rows["id_number"].to_list()

    batch.refresh_from_db()
    assert (batch.good_rows, batch.matched_id, batch.matched_weak, batch.unmatched) == (3, 2, 1, 0)
    assert batch.unmatched_purged_at is not None
    assert batch.rows == 5  # what the file held when received is history

    event = AuditEvent.objects.get(action=AuditEvent.DELETE, object_type="exchange.feedbatch")
    assert event.object_id == str(batch.pk)
    assert event.changes["purged_rows"] == 2 and event.changes["rematched"] == 1
    assert event.changes["retention_days"] == 180

    # a second run changes nothing
    stored = storage.absolute(batch.path).read_bytes()
    purged_at = batch.unmatched_purged_at
    again = purge_unmatched(received(batch) + dt.timedelta(days=400))
    assert (again.batches, again.rows, again.rematched) == (0, 0, 0)
    assert storage.absolute(batch.path).read_bytes() == stored
    batch.refresh_from_db()
    assert batch.unmatched_purged_at == purged_at and batch.good_rows == 3
    assert purges() == 1


def test_matched_rows_are_never_removed(batch):
    purge_unmatched(received(batch) + dt.timedelta(days=181))
    purge_unmatched(received(batch) + dt.timedelta(days=5000))
    rows = batch_rows(batch)
    assert rows["plate"].to_list() == ["皖B00001", "皖B00002"]
    batch.refresh_from_db()
    assert (batch.good_rows, batch.matched_id, batch.matched_weak, batch.unmatched) == (2, 1, 1, 0)
    assert purges() == 1


def test_a_batch_without_unmatched_rows_is_never_touched(users, new_id, shipped_parameters):
    with context.job("test"):
        hh = make_household(users.district_approver, VILLAGE, new_id, members=1)
    data = (HEADER + f"\n皖B00001,小型轿车,张三丰,{hh.head().id_number},比亚迪,2020-03-01,正常\n")
    out = import_bytes(FeedType.objects.get(key="vehicle"), data.encode(), "车管.csv",
                       user=None, channel="cli")
    report = purge_unmatched(received(out.batch) + dt.timedelta(days=1000))
    assert report.batches == 0
    out.batch.refresh_from_db()
    assert out.batch.unmatched_purged_at is None and out.batch.good_rows == 1


def test_a_failed_imports_upload_is_kept_for_a_retry_then_purged(users, shipped_parameters,
                                                                 django_capture_on_commit_callbacks):
    from doudi.exchange import jobs

    data = "车牌,身份证明号码\n皖J1,341002195001010010\n".encode()  # no required columns
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.submit(FeedType.objects.get(key="vehicle"), data, "车管.csv",
                          user=users.district_officer, channel="ui")
    job.refresh_from_db()
    upload = storage.absolute(job.upload_path)
    assert job.status == ImportJob.FAILED and upload.exists()
    finished = timezone.localtime(job.finished_at).date()
    assert purge_unmatched(finished + dt.timedelta(days=179)).uploads == 0
    assert upload.exists()
    assert purge_unmatched(finished + dt.timedelta(days=181)).uploads == 1
    job.refresh_from_db()
    assert not upload.exists() and job.upload_path == ""
    assert AuditEvent.objects.filter(object_type="exchange.importjob", object_id=str(job.pk),
                                     action=AuditEvent.DELETE).exists()
