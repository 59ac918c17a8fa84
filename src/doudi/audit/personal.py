"""What an audit row may say about people (审计记录中的个人信息): the one place where the
changes, labels and request parameters an audit row carries are masked.

Driven by field knowledge, deny by default. A field of an audited model is written as it is
only when it cannot carry personal data: a choice, a flag, a date or time, a link to another
row, a number that is not a household's means, or a text field named in `PUBLIC` below
(codes, keys, policy texts, an institution's name …). Every other value is masked by what
the field is: an ID (3410**********1234), a name (张*三), a phone (138****5678), an account
(6222****1234), an income or asset amount (**), structured content (已隐去), any other text
(first and last character). A new text field is thus masked until someone decides it is not
personal and names it here; tests/test_audit_personal.py fills every field of every audited
model with personal data and finds none of it in the log.

Values that are not a model's fields (an export's filters, counts, a command's summary) are
request parameters: kept when their name is a known non-personal parameter (area, category,
page …), a search term masked as the search reads it (an ID as an ID, a name as a name), and
any other text scrubbed of ID, phone and account numbers.
"""

from __future__ import annotations

import re
from typing import Any

from django.apps import apps
from django.db import models

from doudi.core.masking import mask_id_number, mask_name, mask_phone

# --- what a value is ------------------------------------------------------------------------

ID, NAME, PHONE, ACCOUNT, TEXT, AMOUNT, CONTENT, SECRET = (
    "id", "name", "phone", "account", "text", "amount", "content", "secret")

# text fields that carry no personal data, per model (besides choices, which are codes)
EVERYWHERE = frozenset({"area_code", "owner_code"})
PUBLIC: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in {
    "accounts.user": {"username", "department"},
    "registry.household": {"number"},
    "registry.observation": {"item"},
    "policy.policyparameter": {"key", "value", "reference", "url", "note",
                               "retroactive_reason"},
    "exchange.feedtype": {"key", "department", "name", "spec"},
    "exchange.feedbatch": {"checksum", "file_name", "source", "period", "sheet", "path"},
    "casework.application": {"number", "parts", "reference", "aid_type"},
    "casework.calendarday": {"name"},
    "casework.calendaryear": {"source"},
    "casework.attachment": {"content_type", "sha256"},
    # an office's published numbers and its 文号: a public body's, not a person's
    "casework.issuingoffice": {"document_prefix", "phone", "supervision_phone"},
    "casework.decisiondocument": {"number"},
    "benefits.enrollment": {"bank"},
    # the approver's note (documents missing, unclear) is what the household's timeline shows
    "benefits.payeechange": {"bank", "old_bank", "old_account_kind", "decision_note"},
    "benefits.banklayout": {"code", "name", "encoding", "file_format", "columns", "codes",
                            "result_line", "result_status", "result_reason", "success_values"},
    "benefits.oneoffpayment": {"aid_type", "bank"},
    "monitoring.indicatorsetting": {"indicator", "params"},
    "monitoring.warning": {"indicator", "programme", "source", "fingerprint", "ticket_no"},
    "care.crossprovincecase": {"province", "reference"},
    "care.institution": {"name", "address"},  # an institution, not a person
    "care.homecareservice": {"provider"},
    # facilities and 敬老院 projects are places and works, not persons; notes stay masked
    "care.facility": {"name", "address"},
    "care.facilityservice": {"name"},
    "care.facilityuser": {"service"},
    "care.improvementproject": {"name", "plan"},
    "reports.campaign": {"name", "programmes"},
    "reports.campaignassignment": {"assignee_town", "checked_town"},  # area codes
    "reports.reportinstance": {"template", "period"},
    "community.organisation": {"name", "credit_code", "services"},
    "community.project": {"name"},
    "community.pairing": {"county"},
    "community.consultation": {"topic"},
    "community.pointrule": {"code", "name"},
    # the receiving department (医保 …): a public body's name
    "referrals.referral": {"department"},
    "placenames.placename": {"name", "pinyin", "meaning", "former_names"},
    "placenames.namingapplication": {"proposed_name", "reason"},
    "placenames.sign": {"location", "material"},
    "placenames.boundaryinspection": {"boundary", "team"},
    "placenames.boundaryissue": {"description", "resolution"},
}.items()}

# numbers and dates that are personal (a household's means; a birth date gives the ID back)
PERSONAL: dict[str, dict[str, str]] = {
    "registry.observation": {"amount_fen": AMOUNT, "quantity": AMOUNT},
    "registry.person": {"birth_date": "birth"},
    "accounts.user": {"password": SECRET, "totp_secret": SECRET},
}


def _text_kind(name: str) -> str:
    """A personal text field's kind, read from its name (the names follow the glossary)."""
    if "id_number" in name:
        return ID
    if "phone" in name:
        return PHONE
    if "account" in name:
        return ACCOUNT
    if name == "name_initials":
        return SECRET
    if name.endswith("name") or name in ("signed_by", "contact", "applicant", "owner"):
        return NAME
    return TEXT


def field_kind(model: type[models.Model], field: models.Field) -> str | None:
    """None when the field's values may be logged as they are, else how to mask them."""
    label = model._meta.label_lower
    declared = PERSONAL.get(label, {}).get(field.name)
    if declared:
        return declared
    if field.name in EVERYWHERE or field.name in PUBLIC.get(label, ()):
        return None
    if field.is_relation or field.primary_key:
        return None
    if getattr(field, "choices", None):
        return None
    if isinstance(field, models.JSONField):
        return CONTENT
    if isinstance(field, (models.CharField, models.TextField)):  # incl. encrypted fields
        return _text_kind(field.name)
    return None  # flags, dates, times, counts and benefit amounts


# --- how a value is masked ------------------------------------------------------------------

def mask_account(value: str) -> str:
    value = value.replace(" ", "")
    return value[:4] + "****" + value[-4:] if len(value) > 8 else "****"


def mask_text(value: str) -> str:
    """Any other personal text: its first and last character (an address, a note)."""
    value = value.strip()
    if len(value) <= 2:
        return "*" * len(value)
    return value[0] + "*" * min(len(value) - 2, 6) + value[-1]


def _mask_birth(value: str) -> str:
    return value[:4] + "-**-**"


MASKERS = {
    ID: mask_id_number, NAME: mask_name, PHONE: mask_phone, ACCOUNT: mask_account,
    TEXT: mask_text, AMOUNT: lambda _: "**", CONTENT: lambda _: "（已隐去）",
    SECRET: lambda _: "******", "birth": _mask_birth,
}


def mask(kind: str | None, value: Any) -> Any:
    if kind is None or value is None or value == "" or value == {} or value == []:
        return value
    if kind in (AMOUNT, CONTENT, SECRET):
        return MASKERS[kind](value)
    return MASKERS[kind](str(value))


# numbers inside free text: IDs (15/18), mobile phones, bank accounts (12–19 digits)
_ID = re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[0-9Xx]|\d{15})(?![0-9A-Za-z])")
_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_LONG = re.compile(r"(?<!\d)\d{12,}(?!\d)")


def scrub(text: str) -> str:
    """Free text with every ID, phone and account-like number in it masked (household
    numbers (17 digits) and area codes (12) stay: they name no person)."""
    if not text:
        return text
    text = _ID.sub(lambda m: mask_id_number(m.group(0)), text)
    text = _PHONE.sub(lambda m: mask_phone(m.group(0)), text)
    return _LONG.sub(lambda m: m.group(0) if len(m.group(0)) in (12, 17)
                     else mask_account(m.group(0)), text)


# --- request parameters and other values that are not a model's fields ------------------------

PUBLIC_PARAMS = frozenset({
    "area", "category", "hukou", "page", "page_size", "status", "level", "indicator", "town",
    "overdue", "mine", "format", "month", "year", "day", "kind", "programme", "all", "rows",
    "state", "figure", "sort", "order"})
SEARCH_PARAMS = frozenset({"q"})


def _param(key: str, value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _param(str(k), v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_param(key, v) for v in value]
    if not isinstance(value, str):
        return value
    if key in SEARCH_PARAMS:
        from doudi.registry.queries import masked_term

        return masked_term(value.strip())
    if key in PUBLIC_PARAMS:
        return scrub(value)
    kind = _text_kind(key)
    return mask(kind, value) if kind != TEXT else scrub(value)


def _model(object_type: str) -> type[models.Model] | None:
    if "." not in object_type:
        return None
    try:
        return apps.get_model(object_type)
    except (LookupError, ValueError):
        return None


def sanitise_changes(object_type: str, changes: dict | None) -> dict:
    """An audit row's `changes` as it may be stored: a model's fields by field knowledge (a
    value or an [old, new] pair), anything else as a request parameter."""
    if not changes:
        return {}
    model = _model(object_type)
    fields = {f.name: f for f in model._meta.concrete_fields} if model else {}
    out: dict[str, Any] = {}
    for key, value in changes.items():
        field = fields.get(key)
        if field is None:
            out[key] = _param(str(key), value)
            continue
        kind = field_kind(model, field)
        if isinstance(value, list) and len(value) == 2:
            out[key] = [mask(kind, value[0]), mask(kind, value[1])]
        else:
            out[key] = mask(kind, value)
    return out


def sanitise_label(label: str, instance: models.Model | None = None) -> str:
    """A row's label: the personal values of `instance` found in it masked, then any ID,
    phone or account number scrubbed."""
    if instance is not None:
        model = type(instance)
        found = []
        for field in model._meta.concrete_fields:
            kind = field_kind(model, field)
            value = getattr(instance, field.attname, None)
            if kind not in (None, AMOUNT, CONTENT) and isinstance(value, str) and \
                    len(value.strip()) >= 2:
                found.append((value.strip(), kind))
        for value, kind in sorted(found, key=lambda f: -len(f[0])):  # a note before a name in it
            label = label.replace(value, str(mask(kind, value)))
    return scrub(label)
