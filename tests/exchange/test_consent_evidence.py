"""授权书 needs evidence (issue 23, finding 5): a typed name no longer unlocks a 核对 report;
a scan of the signed form or an officer's attestation of an in-person signature by a member
of the household does; an online application's ticked box counts for the applicant only
after a town officer verifies the sender's identity; consents recorded before evidence was
asked for need some."""

from __future__ import annotations

import datetime as dt
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from doudi.audit import context
from doudi.casework import online
from doudi.casework.models import ConsentEvidence, OnlineRequest
from doudi.core import idnumber
from doudi.exchange.models import Consent, VerificationReport
from doudi.exchange.verification import (
    ConsentError,
    ConsentRequired,
    consent_state,
    record_consent,
    request_report,
    valid_consent,
)
from tests.conftest import PASSWORD, VILLAGE

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limit")]

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
SCRIPTED = (b"%PDF-1.5\n3 0 obj << /Type /ObjStm /N 1 /First 4 /Filter /ASCIIHexDecode >>\n"
            b"stream\n" + b"1 0 << /S /JavaScript /JS (x) >>".hex().encode() + b">\nendstream\n")


def _today() -> dt.date:
    return timezone.localdate()


def test_a_typed_name_alone_is_refused(users, world, shipped_parameters) -> None:
    hh = world.village_hh
    with pytest.raises(ConsentError) as refused:
        record_consent(by=users.village_assistant, household=hh, signed_on=_today(),
                       signer=hh.head(), evidence="", signed_by="张三丰")
    assert "证据" in refused.value.message
    with pytest.raises(ConsentError, match="当面签字"):  # in person, but not attested
        record_consent(by=users.village_assistant, household=hh, signed_on=_today(),
                       signer=hh.head(), evidence="in_person")
    with pytest.raises(ConsentError, match="扫描件"):
        record_consent(by=users.village_assistant, household=hh, signed_on=_today(),
                       signer=hh.head(), evidence="scan")
    assert not Consent.objects.exists()


def test_the_signer_must_be_a_member_of_the_household(users, world) -> None:
    stranger = world.same_town_hh.head()
    for signer in (stranger, None):
        with pytest.raises(ConsentError, match="现有成员"):
            record_consent(by=users.village_assistant, household=world.village_hh,
                           signed_on=_today(), signer=signer, evidence="in_person", attested=True)
    assert not Consent.objects.exists()


def test_a_scan_is_checked_like_every_upload(users, world) -> None:
    hh = world.village_hh
    for data in (SCRIPTED, b"just text", zlib.compress(b"x")):
        with pytest.raises(ConsentError):
            record_consent(by=users.village_assistant, household=hh, signed_on=_today(),
                           signer=hh.head(), evidence="scan", scan=data, scan_name="授权书.pdf")
    consent = record_consent(by=users.village_assistant, household=hh, signed_on=_today(),
                             signer=hh.head(), evidence="scan", scan=PNG, scan_name="授权书.png")
    evidence = consent.evidence.get()
    assert evidence.kind == "scan" and evidence.scan_type == "image/png"
    assert len(evidence.scan_sha256) == 64 and evidence.signer == hh.head()
    assert valid_consent(hh, _today()) == consent and consent_state(consent) == "有效"


def test_a_consent_without_evidence_does_not_unlock_the_report(users, world,
                                                               shipped_parameters) -> None:
    hh = world.village_hh
    with context.job("before evidence was asked for"):
        legacy = Consent.objects.create(household=hh, signed_on=_today(), signed_by="张三丰",
                                        area_code=hh.area_code)
    assert valid_consent(hh, _today()) is None
    assert consent_state(legacy).startswith("缺少证据")
    with pytest.raises(ConsentRequired):
        request_report(users.town_officer, hh, _today())
    member = hh.current_memberships().exclude(relation="head").first().person
    record_consent(by=users.town_officer, household=hh, signed_on=_today(), signer=member,
                   evidence="in_person", attested=True)
    assert request_report(users.town_officer, hh, _today()).consent.evidence.get().signer == member


def test_an_online_application_with_someone_elses_id_gives_no_consent_until_verified(
        client, users, world, shipped_parameters) -> None:
    victim = world.village_hh.head()
    client.post("/apply/", {
        "programme": "dibao", "name": victim.name, "id_number": victim.id_number,
        "phone": "13900001111", "village": VILLAGE, "address": "某处", "hukou_type": "urban",
        "reason": "冒名", "consent": "1"})
    request = OnlineRequest.objects.get()
    client.login(username="town_officer", password=PASSWORD)
    assert client.post(f"/applications/online/{request.pk}/accept/").status_code == 302
    consent = Consent.objects.get(household=world.village_hh)
    assert consent.evidence.get().kind == ConsentEvidence.ONLINE
    assert valid_consent(world.village_hh, _today()) is None  # the ID may be someone else's
    assert consent_state(consent) == "待镇街核验网上申请人身份"
    with pytest.raises(ConsentRequired):
        request_report(users.town_officer, world.village_hh, _today())
    # still in the queue, to verify; a bad method is refused, then the check is recorded
    queue = client.get("/applications/").content.decode()
    assert f"/applications/online/{request.pk}/verify/" in queue
    client.post(f"/applications/online/{request.pk}/verify/", {"method": "guess"})
    request.refresh_from_db()
    assert request.identity_verified_at is None
    client.post(f"/applications/online/{request.pk}/verify/",
                {"method": "id_card", "note": "窗口核验身份证原件"})
    request.refresh_from_db()
    assert request.identity_verified_by == users.town_officer
    assert valid_consent(world.village_hh, _today()) == consent
    report = request_report(users.town_officer, world.village_hh, _today())
    assert report.consent == consent and VerificationReport.objects.count() == 1
    assert f"/applications/online/{request.pk}/verify/" not in \
        client.get("/applications/").content.decode()


def test_identity_is_verified_by_the_town_only(users, world) -> None:
    with context.job("test"):
        request = OnlineRequest.objects.create(
            programme="dibao", name="李四", phone="13900001111", address="某处",
            id_number=idnumber.make("341002", dt.date(1970, 1, 2), 11, "M"),
            hukou_type="urban", reason="困难", consent=True, area_code=VILLAGE)
    for user in (users.village_assistant, users.supervisor):
        with pytest.raises(Exception):  # noqa: B017 — PermissionDenied either way
            online.verify_identity(by=user, request=request, method="id_card")
    request.refresh_from_db()
    assert request.identity_verified_at is None


def test_the_consent_form_on_the_household_page(client, users, world, shipped_parameters) -> None:
    hh = world.village_hh
    client.force_login(users.village_assistant)
    page = client.get(f"/households/{hh.pk}/").content.decode()
    assert 'enctype="multipart/form-data"' in page and 'name="signer"' in page
    refused = client.post(f"/households/{hh.pk}/consents/", {
        "signed_on": _today().isoformat(), "signed_by": "张三丰", "evidence": "in_person"})
    assert "当面签字" in refused.content.decode() and not Consent.objects.exists()
    done = client.post(f"/households/{hh.pk}/consents/", {
        "signed_on": _today().isoformat(), "signer": hh.head().pk, "evidence": "scan",
        "scan": SimpleUploadedFile("授权书.png", PNG)})
    assert done.status_code == 302
    assert Consent.objects.get().evidence.get().kind == "scan"
    assert "有效" in client.get(f"/households/{hh.pk}/").content.decode()
