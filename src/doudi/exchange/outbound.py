"""推送名单 (outbound lists): produce a list a department needs to act, and deliver it — as an
Excel file in the department's layout (a page, or `doudi outbound produce` on a schedule) or
through the department API — recording and auditing each delivery.

Who is on a list comes from the one truth: `benefits.coverage` for who is covered by which
programme on the day (a household programme covers its co-resident members, 特困 and other
one-member programmes their person), and the registry's categories in force (低保边缘、支出型
困难、防返贫监测对象 …) carried by the person or by the household they live in. A list type's
`members` filter then keeps the persons it is about (在校学生, 有劳动能力, 户主, an age range).

A delivery stores the list as it then stood — each person's id with a keyed digest of the row's
full values, never the values — so the next delivery of the same stream (the department API,
or the files) carries exactly what changed since: 新增 (not on the list before), 变更 (a value
sent changed: a category, a date, a name …) and 退出 (no longer on it; the row names the person
and, where a qualifying record ended, the day it ended).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q

from doudi.areas.models import Area
from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.benefits import coverage
from doudi.benefits.models import Enrollment
from doudi.core import ages, clock
from doudi.core.excel import one_sheet
from doudi.core.masking import mask_id_number, mask_name, mask_phone
from doudi.exchange.models import OutboundDelivery
from doudi.exchange.outbound_types import (
    ADDED,
    CHANGE,
    CHANGED,
    IDENTITY,
    REMOVED,
    OutboundListType,
)
from doudi.programmes import catalogue
from doudi.registry import choices
from doudi.registry.categories import CATEGORIES
from doudi.registry.models import CategoryAssignment, Household, Membership, Person

_CHUNK = 5_000
_ORDER = {code: n for n, code in enumerate(CATEGORIES)}


def mask_address(value: str) -> str:
    """安徽省黄山市屯溪区黎阳镇某路1号 → 安徽省黄山市****: the place, not the door."""
    value = (value or "").strip()
    return value if len(value) <= 6 else value[:6] + "****"


MASKERS = {"name": mask_name, "id_number": mask_id_number, "phone": mask_phone,
           "birth_date": lambda v: v[:4] + "-**-**" if v else v, "address": mask_address}
_LABELS = {"sex": dict(choices.SEX_CHOICES), "relation": dict(choices.RELATION_CHOICES),
           "student_status": dict(choices.STUDENT_CHOICES),
           "labour_capacity": dict(choices.LABOUR_CAPACITY_CHOICES)}


@dataclass(frozen=True)
class _Item:
    """One record that puts a person on a list: an enrollment covering them or a category."""

    label: str
    order: int
    since: dt.date
    until: dt.date | None


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[n:n + _CHUNK] for n in range(0, len(ids), _CHUNK)]


def _programme_label(code: str) -> tuple[str, int]:
    category = catalogue.category_of(catalogue.compared_with(code) or code)
    if category in CATEGORIES:
        return CATEGORIES[category].label, _ORDER[category]
    entry = catalogue.get(code)
    return (entry.short_label if entry else code), len(_ORDER)


def _qualifying(list_type: OutboundListType, area: str, day: dt.date) -> dict[int, list[_Item]]:
    """person id → the records that put them on the list on `day`."""
    sel = list_type.selection
    out: dict[int, list[_Item]] = {}
    if sel.enrolled:
        force = coverage.records("covered_persons", area, day).filter(
            programme__in=sel.enrolled)
        for qs in coverage.covered_people(force, day, code=F("programme"),
                                          since=F("start_date"), until=F("end_date")):
            for r in qs:
                label, order = _programme_label(r["code"])
                out.setdefault(r["who"], []).append(_Item(label, order, r["since"], r["until"]))
    if sel.categories:
        cats = CategoryAssignment.objects.filter(
            category__in=sel.categories, start_date__lte=day, area_code__startswith=area).filter(
            Q(end_date__isnull=True) | Q(end_date__gt=day))
        by_household: dict[int, list[_Item]] = {}
        for c in cats.values("person_id", "household_id", "category", "start_date", "end_date"):
            item = _Item(CATEGORIES[c["category"]].label, _ORDER[c["category"]],
                         c["start_date"], c["end_date"])
            if c["person_id"]:
                out.setdefault(c["person_id"], []).append(item)
            else:
                by_household.setdefault(c["household_id"], []).append(item)
        for ids in _chunks(list(by_household)):
            for m in _in_force(Membership.objects.filter(household_id__in=ids, co_resident=True),
                               day).values("person_id", "household_id"):
                out.setdefault(m["person_id"], []).extend(by_household[m["household_id"]])
    return out


def _in_force(qs, day: dt.date):  # noqa: ANN001, ANN202
    return qs.filter(start_date__lte=day).filter(Q(end_date__isnull=True) | Q(end_date__gt=day))


def _persons(ids: list[int], day: dt.date) -> list[dict]:
    """The registry's facts about each person on `day`: the person, their household (the
    co-resident membership first), its size and village."""
    people: dict[int, Person] = {}
    membership: dict[int, dict] = {}
    for chunk in _chunks(ids):
        people.update({p.pk: p for p in Person.objects.filter(pk__in=chunk)})
        for m in _in_force(Membership.objects.filter(person_id__in=chunk), day).order_by(
                "co_resident", "start_date", "id").values("person_id", "household_id",
                                                          "relation", "co_resident"):
            membership[m["person_id"]] = m  # the co-resident one, when any, is read last
    households: dict[int, Household] = {}
    sizes: dict[int, int] = {}
    hh_ids = sorted({m["household_id"] for m in membership.values()})
    for chunk in _chunks(hh_ids):
        households.update({h.pk: h for h in Household.objects.filter(pk__in=chunk)})
        for m in _in_force(Membership.objects.filter(household_id__in=chunk, co_resident=True),
                           day).values("household_id"):
            sizes[m["household_id"]] = sizes.get(m["household_id"], 0) + 1
    codes = {h.area_code for h in households.values()} | {p.area_code for p in people.values()}
    names = dict(Area.objects.filter(code__in=codes).values_list("code", "name"))
    out = []
    for pid in ids:
        p = people.get(pid)
        if p is None:
            continue
        m = membership.get(pid)
        h = households.get(m["household_id"]) if m else None
        area_code = h.area_code if h else p.area_code
        out.append({
            "person_id": pid, "person": p, "relation": m["relation"] if m else "",
            "household_number": h.number if h else "", "address": h.address if h else "",
            "household_size": sizes.get(h.pk, 0) if h else 0,
            "area_code": area_code, "area_name": names.get(area_code, ""),
        })
    return out


def _keeps(list_type: OutboundListType, fact: dict, day: dt.date) -> bool:
    sel = list_type.selection
    p: Person = fact["person"]
    age = ages.age_on(p.birth_date, day)
    if sel.min_age is not None and age < sel.min_age:
        return False
    if sel.max_age is not None and age > sel.max_age:
        return False
    if sel.member_filter == "in_school":
        return bool(p.student_status)
    if sel.member_filter == "able_to_work":
        return p.labour_capacity in ("full", "partial") and not p.student_status
    if sel.member_filter == "head":
        return fact["relation"] == "head"
    return True


def _row(list_type: OutboundListType, fact: dict, items: list[_Item]) -> dict:
    """The list's fields in full values (text, or the household size as a number)."""
    p: Person = fact["person"]
    values: dict[str, object] = {
        "id_number": p.id_number, "name": p.name, "sex": _LABELS["sex"].get(p.sex, p.sex),
        "birth_date": p.birth_date.isoformat(), "phone": p.phone or "",
        "address": fact["address"],
        "relation": _LABELS["relation"].get(fact["relation"], fact["relation"]),
        "student_status": _LABELS["student_status"].get(p.student_status, "")
        if p.student_status else "",
        "labour_capacity": _LABELS["labour_capacity"].get(p.labour_capacity, ""),
        "household_number": fact["household_number"],
        "household_size": fact["household_size"],
        "area_code": fact["area_code"], "area_name": fact["area_name"],
        "category": "", "since": "", "until": "",
    }
    if items:
        labels = sorted({(i.order, i.label) for i in items})
        values["category"] = "、".join(label for _, label in labels)
        values["since"] = min(i.since for i in items).isoformat()
        ends = [i.until for i in items]
        values["until"] = "" if None in ends else max(ends).isoformat()  # type: ignore[type-var]
    return {"person_id": fact["person_id"], **{k: values[k] for k in list_type.keys}}


def _frame(list_type: OutboundListType, rows: list[dict]) -> pl.DataFrame:
    schema: dict[str, pl.DataType] = {"person_id": pl.Int64()}
    schema.update({k: pl.Int64() if k == "household_size" else pl.String()
                   for k in list_type.keys})
    return pl.DataFrame(rows, schema=schema, orient="row").sort("person_id")


def current(list_type: OutboundListType, area_code: str, day: dt.date) -> pl.DataFrame:
    """Everyone on the list in `area_code` (a prefix) on `day`: `person_id` and the list's
    fields, in full values."""
    items = _qualifying(list_type, area_code, day)
    facts = _persons(sorted(items), day)
    return _frame(list_type, [_row(list_type, f, items[f["person_id"]]) for f in facts
                              if _keeps(list_type, f, day)])


def digests(list_type: OutboundListType, frame: pl.DataFrame) -> dict[str, str]:
    """person id → a keyed digest of the row's values (what a delivery keeps of its list)."""
    key = hashlib.sha256(f"doudi outbound {settings.SECRET_KEY}".encode()).digest()
    out = {}
    for r in frame.iter_rows(named=True):
        text = json.dumps([r[k] for k in list_type.keys], ensure_ascii=False)
        out[str(r["person_id"])] = hmac.new(key, text.encode(), "sha256").hexdigest()[:32]
    return out


def produce(list_type: OutboundListType, area_code: str, day: dt.date | None = None,
            since: OutboundDelivery | dict[str, str] | None = None) -> pl.DataFrame:
    """The list on `day` (today by default): everyone on it, or with `since` (a delivery, or
    its state) only what changed since — a `change` column of 新增/变更/退出."""
    day = day or clock.today()
    now = current(list_type, area_code, day)
    if since is None:
        return now
    before = since.state if isinstance(since, OutboundDelivery) else since
    return _changes(list_type, area_code, day, now, digests(list_type, now), before)


def _changes(list_type: OutboundListType, area_code: str, day: dt.date, now: pl.DataFrame,
             now_state: dict[str, str], before: dict[str, str]) -> pl.DataFrame:
    kinds = {}
    for pid, digest in now_state.items():
        if pid not in before:
            kinds[int(pid)] = ADDED
        elif before[pid] != digest:
            kinds[int(pid)] = CHANGED
    staying = now.filter(pl.col("person_id").is_in(list(kinds)))
    gone = sorted(int(pid) for pid in before if pid not in now_state)
    out = pl.concat([staying, _exits(list_type, area_code, day, gone)])
    change = pl.Series(CHANGE, [kinds.get(pid, REMOVED) for pid in out["person_id"]],
                       dtype=pl.String())
    return out.with_columns(change).sort("person_id")


def _exits(list_type: OutboundListType, area_code: str, day: dt.date,
           ids: list[int]) -> pl.DataFrame:
    """退出 rows: who the person is, and in `until` the last day a record of the list's
    selection about them ended on or before `day` (blank when none did: a member who moved
    out, left school or grew older)."""
    sel = list_type.selection
    facts = _persons(ids, day)
    ended: dict[int, dt.date] = {}

    def end(pid: int, on: dt.date) -> None:
        ended[pid] = max(on, ended.get(pid, on))

    whole = catalogue.household_covering()
    closed = Q(end_date__isnull=False, end_date__lte=day, area_code__startswith=area_code)
    for chunk in _chunks(ids):
        household: dict[int, int] = {}  # the person's latest household
        for m in Membership.objects.filter(person_id__in=chunk).order_by(
                "start_date", "id").values("person_id", "household_id"):
            household[m["person_id"]] = m["household_id"]
        members: dict[int, list[int]] = {}
        for pid, hh in household.items():
            members.setdefault(hh, []).append(pid)
        owners = Q(person_id__in=chunk) | Q(household_id__in=list(members))
        if sel.enrolled:
            for e in Enrollment.objects.filter(owners, closed, programme__in=sel.enrolled).values(
                    "person_id", "household_id", "programme", "end_date"):
                covers = members.get(e["household_id"], []) \
                    if e["person_id"] is None or e["programme"] in whole else []
                for pid in {*covers, *([e["person_id"]] if e["person_id"] in chunk else [])}:
                    end(pid, e["end_date"])
        if sel.categories:
            for c in CategoryAssignment.objects.filter(
                    owners, closed, category__in=sel.categories).values(
                    "person_id", "household_id", "end_date"):
                whom = [c["person_id"]] if c["person_id"] in chunk else \
                    members.get(c["household_id"], []) if c["household_id"] else []
                for pid in whom:
                    end(pid, c["end_date"])
    rows = []
    for f in facts:
        row = _row(list_type, f, [])
        for k in list_type.keys:
            if k not in IDENTITY:
                row[k] = None if k == "household_size" else ""
        if "until" in row and f["person_id"] in ended:
            row["until"] = ended[f["person_id"]].isoformat()
        rows.append(row)
    return _frame(list_type, rows)


# ---- what leaves: masked per field, in the department's layout ------------------------------

def cells(list_type: OutboundListType, frame: pl.DataFrame) -> list[dict[str, object]]:
    """The rows as they leave: each field masked where the list says so (`masked: true`),
    keyed by field key (and `change` for a delivery of changes)."""
    maskers = {f.key: MASKERS[f.key] for f in list_type.fields if f.masked}
    out = []
    for r in frame.iter_rows(named=True):
        row: dict[str, object] = {}
        if CHANGE in r:
            row[CHANGE] = r[CHANGE]
        for k in list_type.keys:
            v = r[k]
            row[k] = maskers[k](v) if k in maskers and isinstance(v, str) and v else (
                "" if v is None else v)
        out.append(row)
    return out


def workbook(list_type: OutboundListType, rows: list[dict[str, object]],
             with_change: bool) -> bytes:
    """The Excel file in the department's layout: its sheet, its headers in its order, one
    header row (a department's import reads it from row 1)."""
    columns = [c for c in list_type.columns if with_change or c != CHANGE]
    return one_sheet(list_type.sheet, list_type.headers(with_change),
                     [[r.get(c, "") for c in columns] for r in rows])


def file_name(list_type: OutboundListType, delivery: OutboundDelivery) -> str:
    kind = "变动" if delivery.kind == OutboundDelivery.CHANGES else "全量"
    return (f"{list_type.department}_{list_type.name}_{delivery.area_code}_"
            f"{delivery.day:%Y%m%d}_{kind}_{delivery.pk}.xlsx")


def stream(list_type: OutboundListType, area_code: str, channel: str):  # noqa: ANN201
    """The deliveries a new one of `channel` is compared with: the API's own, or the files'
    (downloaded on the page or written on a schedule: both reach the department as files)."""
    channels = ([OutboundDelivery.API] if channel == OutboundDelivery.API
                else [OutboundDelivery.FILE, OutboundDelivery.SCHEDULE])
    return OutboundDelivery.objects.filter(list_key=list_type.key, area_code=area_code,
                                           channel__in=channels)


@dataclass
class Delivered:
    delivery: OutboundDelivery
    rows: list[dict[str, object]]  # as they left (masked per field)
    data: bytes | None  # the Excel file, for the file channels


def deliver(list_type: OutboundListType, area_code: str, *, channel: str, kind: str,
            by=None, day: dt.date | None = None,  # noqa: ANN001
            since: OutboundDelivery | None = None, write: bool = False,
            skip_unchanged: bool = False) -> Delivered | None:
    """Produce the list (everyone: `full`; what changed since `since`, by default the
    stream's last delivery: `changes`), record the delivery with the list's state and audit
    what left, to whom, how many persons. With `write`, the file goes into the outbox
    (`settings.OUTBOX_DIR/<部门>/`) as part of the same act. With `skip_unchanged`, a
    delivery of changes when nothing changed since an earlier one is not made (None)."""
    day = day or clock.today()
    now = current(list_type, area_code, day)
    state = digests(list_type, now)
    if since is None:
        since = stream(list_type, area_code, channel).order_by("-watermark", "-id").first()
    delta = _changes(list_type, area_code, day, now, state, since.state if since else {})
    counts = {k: delta.filter(pl.col(CHANGE) == v).height
              for k, v in (("added", ADDED), ("changed", CHANGED), ("removed", REMOVED))}
    if skip_unchanged and since is not None and kind == OutboundDelivery.CHANGES \
            and not delta.height:
        return None
    sent = delta if kind == OutboundDelivery.CHANGES else now
    rows = cells(list_type, sent)
    with transaction.atomic():
        delivery = OutboundDelivery.objects.create(
            list_key=list_type.key, department=list_type.department, channel=channel,
            kind=kind, day=day, since=since, total=now.height, persons=sent.height,
            state=state, produced_by=by if getattr(by, "pk", None) else None,
            area_code=area_code, digest="", **counts)
        data = None
        if channel == OutboundDelivery.API:
            payload = json.dumps(rows, ensure_ascii=False, sort_keys=True, default=str)
            delivery.digest = hashlib.sha256(payload.encode()).hexdigest()
        else:
            data = workbook(list_type, rows, kind == OutboundDelivery.CHANGES)
            delivery.digest = hashlib.sha256(data).hexdigest()
        name = file_name(list_type, delivery)
        if write and data is not None:
            folder = Path(settings.OUTBOX_DIR) / list_type.department
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f".{name}.tmp"
            tmp.write_bytes(data)
            tmp.replace(folder / name)
            delivery.file_path = str(folder / name)
        delivery.save(update_fields=["digest", "file_path"])
        audit.record(
            AuditEvent.EXPORT, object_type="exchange.outbounddelivery", object_id=delivery.pk,
            object_label=(f"推送名单 {list_type}（{delivery.get_channel_display()}，"
                          f"{delivery.get_kind_display()}）：{sent.height} 人"),
            area_code=area_code,
            changes={"list": list_type.key, "to": list_type.department, "channel": channel,
                     "kind": kind, "day": day.isoformat(),
                     "since": since.pk if since else None, "persons": sent.height,
                     "total": now.height, **counts, "fields": list(list_type.keys),
                     "unmasked": list(list_type.full_fields), "file": name,
                     "sha256": delivery.digest})
    return Delivered(delivery, rows, data)


def preview(list_type: OutboundListType, area_code: str, day: dt.date | None = None,
            channel: str = OutboundDelivery.FILE) -> dict[str, object]:
    """Counts only (no personal data, nothing recorded): the list's size and what a delivery
    of changes on `channel` would carry now."""
    day = day or clock.today()
    now = current(list_type, area_code, day)
    last = stream(list_type, area_code, channel).order_by("-watermark", "-id").first()
    delta = _changes(list_type, area_code, day, now, digests(list_type, now),
                     last.state if last else {})
    return {"total": now.height, "last": last,
            **{k: delta.filter(pl.col(CHANGE) == v).height
               for k, v in (("added", ADDED), ("changed", CHANGED), ("removed", REMOVED))}}
