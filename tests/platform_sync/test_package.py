"""The package: deterministic, incremental by watermark, checked on import (digests, scope,
values), all or nothing, idempotent. The import here goes into the same database after the
district's registry rows are removed; tests/platform_sync/test_second_instance.py imports into
a second, empty Doudi."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import stat
import zipfile

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import connection

from doudi.audit import context
from doudi.audit.models import AuditEvent
from doudi.benefits.models import Enrollment
from doudi.platform_sync import export, importer, layout
from doudi.platform_sync.export import SyncError
from doudi.platform_sync.models import SyncExport, SyncImport
from doudi.registry.models import CategoryAssignment, Household, Membership, Person
from tests.conftest import DISTRICT

pytestmark = pytest.mark.django_db


def canonical(area_code: str = DISTRICT) -> dict[str, list[tuple]]:
    """The population as the package sees it, without local ids: what must be reproduced."""
    rows = export.population(area_code)
    return {entity: sorted(tuple(r[c] for c in layout.BY_ENTITY[entity].names)
                           for r in by_pk.values()) for entity, by_pk in rows.items()}


def wipe(area_code: str = DISTRICT) -> None:
    """The district's registry rows gone, as in a database that never had them."""
    with context.job("test wipe"):
        Enrollment.objects.in_area(area_code).delete()
        CategoryAssignment.objects.in_area(area_code).delete()
        Membership.objects.in_area(area_code).delete()
        Person.objects.in_area(area_code).delete()
        Household.objects.in_area(area_code).delete()


def test_export_import_reproduces_the_population(district):
    users = district.users
    before = canonical()
    assert len(before["persons"]) == 6 and len(before["enrollments"]) == 2
    made = export.export(by=users.district_admin, area_code=DISTRICT)
    assert made.package.count("persons") == 6
    again = export.make(DISTRICT)  # the same population: the same bytes
    assert again.data == made.data
    names = zipfile.ZipFile(io.BytesIO(made.data)).namelist()
    assert names[0] == "manifest.json" and set(names) == {
        "manifest.json", *(m.file_name for m in layout.MEMBERS)}
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(made.data)).read("manifest.json"))
    assert manifest["personal_data"] is True and manifest["source_area_code"] == DISTRICT
    assert manifest["members"]["persons.csv"]["rows"] == 6
    # the out-of-area household (广东) is not in it
    gd = district.world.guangdong_hh.number
    assert gd.encode() not in zipfile.ZipFile(io.BytesIO(made.data)).read("households.csv")
    # what left, to whom, how many persons
    event = AuditEvent.objects.filter(action=AuditEvent.EXPORT,
                                      object_type="platform_sync.syncexport").get()
    assert "向district_admin导出" in event.object_label and "人员 6 人" in event.object_label

    wipe()
    assert canonical()["persons"] == []
    out = importer.import_package(made.data, by=users.upper_officer, channel="api")
    assert not out.duplicate
    assert canonical() == before
    assert out.record.counts["persons"]["created"] == 6
    # IDs stored encrypted, as every ID here is
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number FROM registry_person")
        stored = [r[0] for r in cursor.fetchall()]
    assert all(s.startswith("k") and ":" in s for s in stored)
    assert AuditEvent.objects.filter(action=AuditEvent.IMPORT,
                                     object_type="platform_sync.syncimport").count() == 1

    # the same package again: nothing changes
    assert importer.import_package(made.data, by=users.upper_officer).duplicate
    # and its rows applied once more (the record of it gone) are all unchanged
    SyncImport.objects.all().delete()
    again = importer.import_package(made.data, by=None)
    assert all(c["created"] == c["updated"] == c["deleted"] == 0
               for c in again.record.counts.values())
    assert canonical() == before


def test_incremental_export_since_a_watermark(district):
    users = district.users
    first = export.export(by=users.district_admin, area_code=DISTRICT)
    mark = first.package.watermark_to
    # nothing changed: an empty package ending at the same watermark, the same bytes each time
    empty = export.export(by=None, area_code=DISTRICT, since=mark)
    assert empty.package.watermark_to == mark
    assert all(empty.package.count(m.entity) == 0 for m in layout.MEMBERS)
    assert export.make(DISTRICT, since=mark).data == empty.data
    assert SyncExport.objects.exclude(state=None).count() == 1  # the state kept once

    # a change: a category ends, another is removed, a person's grade is recorded
    hh = district.world.village_hh
    with context.job("test change"):
        CategoryAssignment.objects.filter(household=hh).update(end_date=dt.date(2026, 1, 31))
        CategoryAssignment.objects.filter(category="tekun").delete()
        head = hh.head()
        head.disability_category, head.disability_grade = "physical", 2
        head.save()
    delta = export.export(by=None, area_code=DISTRICT, since=mark)
    counts = {m.entity: delta.package.count(m.entity) for m in layout.MEMBERS}
    assert counts == {"households": 0, "persons": 1, "memberships": 0, "categories": 1,
                      "enrollments": 0, "deletions": 1}
    assert delta.package.rows["deletions"][0]["entity"] == "categories"
    assert delta.package.watermark_from == mark != delta.package.watermark_to

    # applied in order at the level above (here: over the full package's import)
    after = canonical()
    wipe()
    # a delta before its base is refused
    with pytest.raises(SyncError, match="增量包"):
        importer.import_package(delta.data, by=None)
    importer.import_package(first.data, by=None)
    importer.import_package(delta.data, by=None)
    assert canonical() == after
    assert not CategoryAssignment.objects.filter(category="tekun").exists()

    with pytest.raises(SyncError, match="未找到"):
        export.make(DISTRICT, since="0" * 64)


def _tampered(data: bytes, member: str, change) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name in src.namelist():
            body = src.read(name)
            z.writestr(name, change(body) if name == member else body)
    return out.getvalue()


def test_a_tampered_or_foreign_package_is_refused_whole(district):
    made = export.make(DISTRICT)
    changed = _tampered(made.data, "enrollments.csv", lambda b: b.replace(b"123456", b"923456"))
    wipe()
    with pytest.raises(SyncError, match="SHA-256"):
        importer.import_package(changed, by=None)
    assert not Household.objects.in_area(DISTRICT).exists()

    # a digest recomputed to match, but a bad value: refused with the row, nothing written
    def forge(body: bytes) -> bytes:
        return body.replace(b"123456", b"12.5")

    def manifest(body: bytes) -> bytes:
        doc = json.loads(body)
        new = forge(zipfile.ZipFile(io.BytesIO(made.data)).read("enrollments.csv"))
        doc["members"]["enrollments.csv"]["sha256"] = hashlib.sha256(new).hexdigest()
        return json.dumps(doc).encode()

    forged = _tampered(_tampered(made.data, "enrollments.csv", forge), "manifest.json", manifest)
    with pytest.raises(SyncError, match=r"enrollments.csv 第 \d 行 amount_fen：“12.5”应为非负整数"):
        importer.import_package(forged, by=None)
    assert not Person.objects.in_area(DISTRICT).exists()
    assert not SyncImport.objects.exists()

    # not a package; a package from outside the importer's area
    with pytest.raises(SyncError, match="zip"):
        importer.import_package(b"not a zip", by=None)
    with pytest.raises(PermissionDenied):
        importer.import_package(made.data, by=district.world.gd_user)
    with pytest.raises(PermissionDenied):  # holds no sync.import
        importer.import_package(made.data, by=district.users.district_officer)

    # a source area this deployment does not hold
    def elsewhere(body: bytes) -> bytes:
        doc = json.loads(body)
        doc["source_area_code"] = "110101"
        return json.dumps(doc).encode()

    with pytest.raises(SyncError, match="不在本级区划范围内"):
        importer.import_package(_tampered(made.data, "manifest.json", elsewhere), by=None)


def test_cli_writes_the_package_private(district, tmp_path):
    out = tmp_path / "p.zip"
    call_command("sync", "export", "--area", DISTRICT, "--out", str(out), "--to", "黄山市平台")
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert out.read_bytes() == export.make(DISTRICT).data
    record = SyncExport.objects.get()
    assert record.recipient == "黄山市平台" and record.persons == 6
    wipe()
    call_command("sync", "import", str(out))
    assert Person.objects.in_area(DISTRICT).count() == 6
