"""导出: the district's low-income population as a package for the level above
(docs/platform-sync.md).

The population of an area is every household, person, membership, category and enrollment
owned by it (a person also when an exported membership names them). A package `since` a
watermark holds the rows whose content changed since the export that ended at it (upserts)
and the keys of rows gone since (tombstones); without one, everything. Rows are compared by
digest with the state kept on that export (`SyncExport.state`), so a package depends on the
two populations only, never on the day it is made, and exporting again with nothing changed
gives the same bytes (and, since the watermark it ends at, an empty package).
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Q

from doudi.accounts import roles
from doudi.areas.scoping import in_scope
from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.benefits.models import Enrollment
from doudi.core.errors import ServiceError
from doudi.platform_sync import access, layout
from doudi.platform_sync.models import SyncExport
from doudi.registry.fields import STORE
from doudi.registry.models import CategoryAssignment, Household, Membership, Person

State = dict[str, dict[str, tuple[str, tuple[str, ...]]]]  # entity → pk → (digest, key)


class SyncError(ServiceError):
    """A refused export or import (message Chinese); nothing was written."""


def _date(value) -> str:  # noqa: ANN001
    return value.isoformat() if value else ""


def _bool(value: bool) -> str:
    return "1" if value else "0"


def _int(value) -> str:  # noqa: ANN001
    return "" if value is None else str(int(value))


def _with_seq(entity: str, rows: list[tuple[int, layout.Row]]) -> dict[int, layout.Row]:
    """Rows whose key (without `seq`) repeats are told apart by `seq`: 0, 1, … in the order
    they were recorded."""
    member = layout.BY_ENTITY[entity]
    natural = [c for c in member.key if c != "seq"]
    seen: dict[tuple[str, ...], int] = {}
    out = {}
    for pk, row in sorted(rows, key=lambda item: item[0]):
        k = tuple(row[c] for c in natural)
        row["seq"] = str(seen.get(k, 0))
        seen[k] = seen.get(k, 0) + 1
        out[pk] = row
    return out


def population(area_code: str) -> dict[str, dict[int, layout.Row]]:
    """Every row of the area's population as the package writes it, by entity and local id."""
    households = {h.pk: {"household_number": h.number, "area_code": h.area_code,
                         "hukou_type": h.hukou_type, "is_active": _bool(h.is_active)}
                  for h in Household.objects.in_area(area_code).only(
                      "number", "area_code", "hukou_type", "is_active")}
    number = {pk: r["household_number"] for pk, r in households.items()}
    memberships = list(Membership.objects.in_area(area_code).values_list(
        "pk", "household_id", "person_id", "start_date", "area_code", "relation", "co_resident",
        "end_date"))
    categories = list(CategoryAssignment.objects.in_area(area_code).values_list(
        "pk", "household_id", "person_id", "category", "start_date", "area_code", "end_date"))
    enrollments = list(Enrollment.objects.in_area(area_code).values_list(
        "pk", "household_id", "person_id", "programme", "part", "start_date", "area_code",
        "status", "amount_fen", "end_date", "monitor_until"))
    wanted = {m[2] for m in memberships} | {c[2] for c in categories if c[2]} | {
        e[2] for e in enrollments if e[2]}
    others = {m[1] for m in memberships} | {c[1] for c in categories if c[1]} | {
        e[1] for e in enrollments}
    missing = others - set(number)
    if missing:  # a row of the area naming a household of another area: its number only
        number.update(Household.objects.filter(pk__in=missing).values_list("pk", "number"))
    persons: dict[int, layout.Row] = {}
    for p in Person.objects.filter(Q(area_code__startswith=area_code) | Q(pk__in=wanted)):
        persons[p.pk] = {
            "id_number": p.id_number, "name": p.name, "sex": p.sex,
            "birth_date": _date(p.birth_date), "area_code": p.area_code,
            "hukou_type": p.hukou_type, "disability_category": p.disability_category,
            "disability_grade": _int(p.disability_grade), "serious_illness": p.serious_illness,
            "labour_capacity": p.labour_capacity, "student_status": p.student_status,
            "has_supporter": _bool(p.has_supporter), "adl_failed": _int(p.adl_failed),
            "death_date": _date(p.death_date)}
    ident = {pk: r["id_number"] for pk, r in persons.items()}
    return {
        "households": households,
        "persons": persons,
        "memberships": _with_seq("memberships", [(pk, {
            "household_number": number[h], "id_number": ident[p], "start_date": _date(start),
            "area_code": area, "relation": relation, "co_resident": _bool(co),
            "end_date": _date(end)}) for pk, h, p, start, area, relation, co, end in memberships]),
        "categories": _with_seq("categories", [(pk, {
            "household_number": number[h] if h else "", "id_number": ident[p] if p else "",
            "category": category, "start_date": _date(start), "area_code": area,
            "end_date": _date(end)}) for pk, h, p, category, start, area, end in categories]),
        "enrollments": _with_seq("enrollments", [(pk, {
            "household_number": number[h], "id_number": ident[p] if p else "",
            "programme": programme, "part": part, "start_date": _date(start), "area_code": area,
            "status": status, "amount_fen": _int(amount), "end_date": _date(end),
            "monitor_until": _date(until)})
            for pk, h, p, programme, part, start, area, status, amount, end, until
            in enrollments]),
    }


def _seal(key: tuple[str, ...]) -> str:
    return STORE.ring().encrypt(json.dumps(list(key), ensure_ascii=False))


def _unseal(token: str) -> tuple[str, ...]:
    return tuple(json.loads(STORE.decrypt(token)))


def pack_state(state: State) -> bytes:
    """The state as stored: each row's key sealed (it holds resident IDs)."""
    doc = {entity: {pk: [digest, _seal(key)] for pk, (digest, key) in rows.items()}
           for entity, rows in state.items()}
    return zlib.compress(json.dumps(doc, sort_keys=True).encode(), 6)


def unpack_state(blob: bytes) -> State:
    doc = json.loads(zlib.decompress(bytes(blob)))
    return {entity: {pk: (digest, _unseal(token)) for pk, (digest, token) in rows.items()}
            for entity, rows in doc.items()}


@dataclass
class Made:
    data: bytes
    package: layout.Package
    state: State
    record: SyncExport | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def make(area_code: str, since: str = "") -> Made:
    """The package of the area's population since the watermark `since` ("" for all of it).
    Writes nothing (see `export`)."""
    base: State = {}
    if since:
        found = SyncExport.objects.filter(area_code=area_code, watermark_to=since,
                                          state__isnull=False).first()
        if found is None:
            raise SyncError(f"未找到本区划以水位 {since[:16]}… 结束的导出记录：请不带 since "
                            "做一次全量导出", field="since")
        base = unpack_state(found.state)
    rows = population(area_code)
    state: State = {}
    package = layout.Package(area_code, since, "")
    deletions: list[layout.Row] = []
    entries: list[tuple[str, tuple[str, ...], str]] = []
    for member in layout.ENTITIES:
        now = state.setdefault(member.entity, {})
        before = base.get(member.entity, {})
        changed = []
        for pk, row in rows[member.entity].items():
            key, digest = layout.key_of(member, row), layout.row_digest(member, row)
            now[str(pk)] = (digest, key)
            entries.append((member.entity, key, digest))
            old = before.get(str(pk))
            if old is None or old[0] != digest:
                changed.append(row)
        current_keys = {key for _, key in now.values()}
        for _pk, (_, key) in before.items():
            if key not in current_keys:
                deletions.append(layout.tombstone(member.entity, key))
        package.rows[member.entity] = changed
    package.rows["deletions"] = sorted(deletions, key=lambda r: tuple(r.values()))
    package.watermark_to = layout.state_digest(entries)
    return Made(layout.write(package), package, state)


def export(*, by, area_code: str, since: str = "", recipient: str = "") -> Made:  # noqa: ANN001
    """Make the package and record it: a SyncExport row (the state kept once per watermark)
    and an audit row saying what left, to whom and how many persons. `by` None: a command
    run on the server (`doudi sync export`)."""
    if by is not None and not (access.may(by, roles.SYNC_EXPORT)
                               and in_scope(by, area_code, roles.SYNC_EXPORT)):
        raise PermissionDenied("无权导出该区划的数据包")
    made = make(area_code, since)
    package = made.package
    counts = {m.entity: package.count(m.entity) for m in layout.MEMBERS}
    keep = not SyncExport.objects.filter(area_code=area_code, watermark_to=package.watermark_to,
                                         state__isnull=False).exists()
    who = recipient or (getattr(by, "username", "") if by is not None else "") or "文件"
    made.record = SyncExport.objects.create(
        area_code=area_code, recipient=who[:150], watermark_from=since,
        watermark_to=package.watermark_to, counts=counts, persons=package.persons,
        sha256=made.sha256, state=pack_state(made.state) if keep else None, created_by=by)
    audit.record(AuditEvent.EXPORT, object_type="platform_sync.syncexport",
                 object_id=made.record.pk, area_code=area_code,
                 object_label=(f"向{who}导出低收入人口数据包：人员 {package.persons} 人，"
                               f"家庭 {counts['households']} 户，删除 {counts['deletions']} 条"),
                 changes={"recipient": who, "since": since, "until": package.watermark_to,
                          "counts": counts, "sha256": made.sha256})
    return made

