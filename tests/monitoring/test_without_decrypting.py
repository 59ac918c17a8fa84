"""The monitoring run reads the registry without decrypting it: members carry their stored
ciphertext, department rows the same (their person's, or their typed ID encrypted under every
key), and the frames and warnings are those of the row-by-row read that joined plaintext IDs
(`row_by_row`) — on a loaded synthetic district with facts corrected, ended and recorded for
the household, a household with no facts, a person in an institution, persons without a
recorded sex, rows the import did not match and a registry half-way through a key
rotation."""

from __future__ import annotations

import dataclasses
import datetime as dt
from io import StringIO

import polars as pl
import pytest
from django.core.management import call_command
from django.db import connection

from doudi.audit import context
from doudi.care.models import Institution, InstitutionResident
from doudi.core import crypto
from doudi.engine.monitoring.run import digest
from doudi.engine.monitoring.run import run as run_engine
from doudi.exchange import storage
from doudi.exchange.imports import import_file
from doudi.exchange.models import FeedBatch, FeedType
from doudi.monitoring import services
from doudi.monitoring.inputs import gather
from doudi.registry.fields import STORE
from doudi.registry.models import Household, Observation, Person
from doudi.registry.rules_input import build_frames
from doudi.synth.feeds.layouts import LAYOUTS
from tests.monitoring import row_by_row

pytestmark = pytest.mark.django_db
TODAY = "2026-11-01"
DAY = dt.date.fromisoformat(TODAY)
AREA = "341002"
NO_SEX = 3


@pytest.fixture
def district(areas, shipped_parameters, shipped_feed_types, tmp_path) -> dt.date:
    call_command("synth", "--area", AREA, "--households", "700", "--seed", "5", "--plant",
                 "100", "--into-db", "--out", str(tmp_path / "synth"), "--today", TODAY,
                 stdout=StringIO())
    with context.job("test feeds"):
        for layout in LAYOUTS:
            import_file(FeedType.objects.get(key=layout.key),
                        tmp_path / "synth" / "feeds" / f"{layout.file_stem}.csv",
                        user=None, channel="cli")
    # what the synthetic loader does not make: facts corrected, ended, of the household;
    # persons whose sex was never recorded (the rules take it from the ID)
    first, second, third, bare = Household.objects.filter(area_code__startswith=AREA) \
        .order_by("id")[:4]
    month = DAY.replace(day=1)
    with context.job("test facts"):
        Observation.objects.filter(household=bare).delete()  # a household with no facts
        _facts(first, second, third, month)
        home = Institution.objects.create(name="测试敬老院", kind="nursing_home", beds=10,
                                          nursing_beds=5, area_code=bare.area_code)
        InstitutionResident.objects.create(
            institution=home, person=bare.head(), care_level="severe",
            concentrated_tekun=True, admitted_on=DAY - dt.timedelta(days=30),
            area_code=bare.area_code)
    Person.objects.filter(pk__in=[p.pk for p in Person.objects.order_by("id")[:NO_SEX]]) \
        .update(sex="")
    return DAY


def _facts(first: Household, second: Household, third: Household, month: dt.date) -> None:
    def fact(hh: Household, **kw: object) -> Observation:
        return Observation.objects.create(household=hh, observed_on=month, source="declared",
                                          area_code=hh.area_code, **kw)

    wrong = fact(first, person=first.head(), kind="income", item="wage", amount_fen=999_00)
    wrong.superseded_by = fact(first, person=first.head(), kind="income", item="wage",
                               amount_fen=1_00)
    wrong.correction_reason = "多填了加班费"
    wrong.save()
    fact(second, kind="income", item="transfer", amount_fen=300_00)
    fact(third, person=third.head(), kind="income", item="wage", amount_fen=5000_00,
         ended_on=DAY - dt.timedelta(days=1), end_reason="失业")


def _reference(area: str, day: dt.date):
    """The run's inputs as the row-by-row read gives them (IDs in plaintext)."""
    inputs, _ = gather(area, day)
    h, m = row_by_row.frames(area, day)
    m = m.with_columns(pl.col("member_id").cast(pl.Int64))
    return dataclasses.replace(inputs, households=h, members=m, feeds=row_by_row.feeds(m))


def _decrypts(monkeypatch) -> list[str]:
    seen: list[str] = []
    original = crypto.KeyRing.decrypt

    def counted(self: crypto.KeyRing, token: str) -> str:
        seen.append(token)
        return original(self, token)

    monkeypatch.setattr(crypto.KeyRing, "decrypt", counted)
    return seen


def test_the_batch_read_gives_the_row_by_row_frames(district) -> None:
    households = Household.objects.filter(area_code__startswith=AREA, is_active=True)
    h, m = build_frames(households, district, extras=True)
    ref_h, ref_m = row_by_row.frames(AREA, district)
    assert h.height == 700 and m.height > 1500
    assert h.equals(ref_h)
    tokens = m.get_column("id_number")
    assert tokens.map_elements(crypto.key_id_of, return_dtype=pl.String).is_not_null().all()
    ring = STORE.ring()
    plain = m.with_columns(tokens.map_elements(ring.decrypt, return_dtype=pl.String))
    assert plain.equals(ref_m)
    # not vacuously: the persons without a recorded sex are members, and incomes were read
    unrecorded = [str(p) for p in Person.objects.filter(sex="").values_list("pk", flat=True)]
    assert m.filter(pl.col("member_id").is_in(unrecorded)).height == NO_SEX
    assert (ref_m.get_column("income") > 0).sum() > 100
    assert ref_m.get_column("institutional").sum() == 1


def test_the_run_raises_the_warnings_the_plaintext_join_raised(district, monkeypatch) -> None:
    chosen = services.indicators_for(AREA)
    expected = run_engine(_reference(AREA, district), chosen).warnings
    assert expected.height > 50
    assert expected.filter(pl.col("kind") == "risk").height > 10
    decrypted = _decrypts(monkeypatch)
    with context.job("test monitoring"):
        run = services.execute(services.start_run(by=None, area_code=AREA, trigger="cli",
                                                  as_of=district))
    assert run.digest == digest(expected)
    assert run.created == expected.height
    # the registry is never decrypted: only the persons whose sex was not recorded
    assert len(decrypted) <= NO_SEX < run.created


def test_rows_the_import_did_not_match_meet_their_member_under_any_key(district,
                                                                       own_keys) -> None:
    # the registry half-way through a key rotation: every other person under the new key
    ring = STORE.ring().with_new_key()
    STORE.save(ring)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, id_number FROM registry_person ORDER BY id")
        for pk, token in cursor.fetchall()[::2]:
            cursor.execute("UPDATE registry_person SET id_number = %s WHERE id = %s",
                           [ring.encrypt(ring.decrypt(token)), pk])
    # and no row of any feed matched at import (a person registered since, an older batch)
    for batch in FeedBatch.objects.all():
        path = storage.absolute(batch.path)
        rows = pl.read_parquet(path)
        if "person_id" in rows.columns:
            rows.with_columns(pl.lit(None, pl.Int64).alias("person_id"),
                              pl.lit("none").alias("match")).write_parquet(path)
    chosen = services.indicators_for(AREA)
    expected = run_engine(_reference(AREA, district), chosen).warnings
    inputs, _ = gather(AREA, district)
    got = run_engine(inputs, chosen).warnings
    assert got.filter(pl.col("kind") == "risk").height > 10
    assert digest(got) == digest(expected)
    # the feeds carry IDs as the registry stores them: under both keys, no plaintext
    kids = {crypto.key_id_of(t) for f in inputs.feeds.values()
            for t in f.get_column("id_number").drop_nulls().to_list()}
    assert kids == {"k1", "k2"}
