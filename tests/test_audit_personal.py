"""The audit log carries no personal data in clear (issue 23, finding 7): for every audited
model, a create, an update and a delete of a row filled with personal data, and the request
parameters of an export, leave no full ID, name, address, phone, account, income or birth
date in the audit rows. Every text field is filled, so a new field is covered the day it
appears (it is masked until it is named non-personal in `doudi.audit.personal.PUBLIC`)."""

from __future__ import annotations

import datetime as dt
import decimal
import json

import pytest
from django.apps import apps
from django.db import models
from django.utils import timezone

from doudi.audit import personal, services, signals
from doudi.audit.audited import Audited, snapshot
from doudi.audit.models import AuditEvent
from tests.conftest import valid_id

ID = valid_id("341002", dt.date(1987, 6, 15), 321, "F")
NAME = "欧阳晓梅"
PHONE = "13955501234"
ADDRESS = "屯溪区黎阳镇老街88号"
ACCOUNT = "6222020200112233445"
INCOME = 98765432  # fen: 987,654.32 yuan
BIRTH = dt.date(1987, 6, 15)
SECRETS = [ID, NAME, PHONE, ADDRESS, ACCOUNT, str(INCOME), "987654.32", BIRTH.isoformat()]
COMPOSITE = f"{NAME} {ID} {PHONE} {ADDRESS} {ACCOUNT}"
# where a household's means are recorded (income, assets, expenditure); other amounts are
# benefits, which 公示 publishes
MEANS_MODELS = {"registry.observation"}


def audited_models() -> list[type[models.Model]]:
    return sorted((m for m in apps.get_models() if issubclass(m, Audited)),
                  key=lambda m: m._meta.label_lower)


def _personal_text(max_length: int | None) -> str:
    for value in (COMPOSITE, ADDRESS, ACCOUNT, ID, PHONE, NAME):
        if max_length is None or len(value) <= max_length:
            return value
    return NAME[:max_length]


def _value(model: type[models.Model], field: models.Field) -> object:
    label = model._meta.label_lower
    if field.name in personal.EVERYWHERE:
        return "341002001001"
    if field.name in personal.PUBLIC.get(label, ()):  # reviewed as non-personal
        if isinstance(field, models.JSONField):
            return {"k": 1}
        return "公开值"[: field.max_length or 3]
    if field.choices:
        return next(iter(dict(field.flatchoices)))
    if isinstance(field, models.BooleanField):
        return True
    if isinstance(field, models.DateTimeField):
        return timezone.now()
    if isinstance(field, models.DateField):
        return BIRTH if "birth" in field.name else dt.date(2024, 3, 1)
    if isinstance(field, models.DecimalField):
        return decimal.Decimal("1.5")
    if isinstance(field, (models.IntegerField, models.BigIntegerField)):
        return INCOME if label in MEANS_MODELS else 3
    if isinstance(field, models.JSONField):
        return {"name": NAME, "id_number": ID, "income_fen": INCOME, "address": ADDRESS}
    if isinstance(field, (models.CharField, models.TextField)):
        return _personal_text(field.max_length)
    return None


def filled(model: type[models.Model], depth: int = 0) -> models.Model:
    """An unsaved row with every field filled (related rows too, two levels deep)."""
    row = model()
    for field in model._meta.concrete_fields:
        if field.primary_key:
            setattr(row, field.attname, 987_000 + depth)
        elif field.is_relation:
            if depth < 2:
                setattr(row, field.name, filled(field.related_model, depth + 1))
        else:
            value = _value(model, field)
            if value is not None:
                setattr(row, field.attname, value)
    return row


def _assert_clean(events: list[AuditEvent], where: str) -> None:
    assert events, where
    for event in events:
        text = json.dumps([event.object_label, event.changes], ensure_ascii=False, default=str)
        leaked = [s for s in SECRETS if s in text]
        assert not leaked, f"{where}: {leaked} in {text[:400]}"


@pytest.mark.parametrize("model", audited_models(), ids=lambda m: m._meta.label_lower)
def test_create_update_delete_of_every_audited_model_logs_no_personal_data(db, model) -> None:
    row = filled(model)
    first = AuditEvent.objects.count()
    signals._on_save(model, row, created=True)
    # the update: from other values to the personal ones, and back
    plain = filled(model)
    for field in model._meta.concrete_fields:
        value = getattr(plain, field.attname)
        if isinstance(value, str) and not field.choices:
            setattr(plain, field.attname, "甲")
    row._audit_snapshot = snapshot(plain)
    signals._on_save(model, row, created=False)
    plain._audit_snapshot = snapshot(row)
    signals._on_save(model, plain, created=False)
    signals._on_delete(model, row)
    events = list(AuditEvent.objects.order_by("id")[first:])
    assert len(events) >= 2  # an update of choices and numbers only may change nothing
    _assert_clean(events, model._meta.label_lower)


def test_the_fill_reaches_every_text_field() -> None:
    """A text field that is neither public nor masked would show here as written."""
    for model in audited_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, (models.CharField, models.TextField)) and not field.choices:
                kind = personal.field_kind(model, field)
                public = field.name in personal.EVERYWHERE or \
                    field.name in personal.PUBLIC.get(model._meta.label_lower, ())
                assert public or kind is not None, f"{model._meta.label_lower}.{field.name}"


@pytest.mark.parametrize("params", [
    {"q": ID, "area": "341002"}, {"q": ID.lower()}, {"q": NAME, "category": "dibao"},
    {"q": ID[:17]}, {"phone": PHONE, "note": f"来电 {ID} {ACCOUNT}"},
])
def test_request_parameters_and_labels_are_masked(db, params) -> None:
    event = services.record(AuditEvent.EXPORT, object_type="registry.household",
                            object_label=f"导出 {ID} {PHONE} {ACCOUNT}",
                            changes={"filters": params, "rows": 3})
    event.refresh_from_db()
    _assert_clean([event], str(params))
    assert event.changes["rows"] == 3
    if "area" in params:
        assert event.changes["filters"]["area"] == "341002"


def test_scrub_keeps_codes_and_household_numbers() -> None:
    text = "家庭 34100200100100012 区划 341002001001 身份证 34100219870615321X"
    out = personal.scrub(text)
    assert "34100200100100012" in out and "341002001001" in out
    assert "34100219870615321X" not in out and "3410**********321X" in out


def test_an_export_by_full_id_is_logged_masked(client, users, world) -> None:
    head = world.village_hh.head()
    client.force_login(users.district_approver)
    response = client.get("/households/export.xlsx", {"q": head.id_number})
    assert response.status_code == 200
    event = AuditEvent.objects.filter(action=AuditEvent.EXPORT).latest("id")
    assert head.id_number not in json.dumps(event.changes, ensure_ascii=False)
    assert event.changes["filters"]["q"] == head.masked_id


def test_a_hotline_ticket_and_a_consent_are_logged_masked(users, world) -> None:
    from doudi.exchange.verification import record_consent
    from doudi.monitoring.services import report

    first = AuditEvent.objects.count()
    report(by=users.village_assistant, channel="hotline", summary=f"{NAME}家中困难，住{ADDRESS}",
           area_code=world.village_hh.area_code, ticket_no="T-1", name=NAME, phone=PHONE,
           address=ADDRESS)
    head = world.village_hh.head()
    record_consent(by=users.village_assistant, household=world.village_hh,
                   signed_on=timezone.localdate(), signer=head, evidence="in_person",
                   attested=True)
    events = list(AuditEvent.objects.order_by("id")[first:])
    text = json.dumps([[e.object_label, e.changes] for e in events], ensure_ascii=False)
    for secret in (NAME, PHONE, ADDRESS, head.name):
        assert secret not in text
