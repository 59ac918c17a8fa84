"""导入: a district's package into this (the city's or province's) registry
(docs/platform-sync.md).

All or nothing: the package is read and every value checked first (the manifest's digests and
row counts, headers, codes, resident IDs with their check digit, birth date and sex, dates,
amounts, areas inside the package's source area and known here); then, in one transaction,
tombstones are applied, households and persons upserted by household number and resident ID
(the ID encrypted here as every ID is), memberships, categories and enrollments by their keys;
the SyncImport row and one audit row are written with it. The same package again (its SHA-256)
changes nothing; a package `since` a watermark must follow the last one imported from its area.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import ProtectedError

from doudi.accounts import roles
from doudi.areas.models import Area
from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.benefits.models import Enrollment
from doudi.core import areacode, idnumber
from doudi.platform_sync import access, layout
from doudi.platform_sync.export import SyncError
from doudi.platform_sync.models import SyncImport
from doudi.registry.models import CategoryAssignment, Household, Membership, Person
from doudi.registry.services import name_initials

MAX_REASONS = 20

# entity → its model and, per column, the model field it is stored in (codes are checked
# against the field's choices, text against its length)
MODELS: dict[str, type[models.Model]] = {
    "households": Household, "persons": Person, "memberships": Membership,
    "categories": CategoryAssignment, "enrollments": Enrollment}
FIELD_OF = {"household_number": "number"}
NOT_STORED = frozenset({"seq", "household_number", "id_number"})
# key columns that may be blank: a category is a household's or a person's; an enrollment
# names its person only for a programme of one member
OPTIONAL_KEYS = {"categories": {"household_number", "id_number"},
                 "enrollments": {"id_number", "part"}}
REQUIRED_DATES = frozenset({"birth_date", "start_date"})


@dataclass
class Outcome:
    record: SyncImport
    duplicate: bool = False
    counts: dict = field(default_factory=dict)

    @property
    def message(self) -> str:
        if self.duplicate:
            return "该数据包已导入过，未作任何改动"
        c = self.record.counts
        return "；".join(f"{layout.LABELS[e]} 新增 {c[e]['created']}、更新 {c[e]['updated']}"
                        f"、未变 {c[e]['unchanged']}、删除 {c[e]['deleted']}"
                        for e in (*(m.entity for m in layout.ENTITIES),) if e in c)


class _Checker:
    def __init__(self, package: layout.Package) -> None:
        self.package = package
        self.reasons: list[str] = []
        self.villages = set(Area.objects.filter(
            code__startswith=package.source_area_code, level=areacode.VILLAGE)
            .values_list("code", flat=True))

    def fail(self, member: layout.Member, n: int, column: str, reason: str) -> None:
        self.reasons.append(f"{member.file_name} 第 {n} 行 {column}：{reason}")

    def check(self, member: layout.Member, n: int, row: layout.Row) -> None:
        model = MODELS.get(member.entity)
        optional = OPTIONAL_KEYS.get(member.entity, set())
        for column, kind in member.columns:
            value = row[column]
            f = None
            if model is not None and column == "household_number" \
                    and member.entity == "households":
                f = model._meta.get_field("number")
            elif model is not None and column not in NOT_STORED:
                f = model._meta.get_field(column)
            if value == "":
                required = (column in member.key and column not in optional
                            and member.entity != "deletions") or column in REQUIRED_DATES \
                    or column in ("area_code", "entity") or kind == "bool" or (
                        f is not None and not f.blank and not f.null)
                if required:
                    self.fail(member, n, column, "不能为空")
                continue
            if kind == "area_code":
                if not value.startswith(self.package.source_area_code):
                    self.fail(member, n, column, f"{value} 不在数据包来源区划 "
                                                 f"{self.package.source_area_code} 内")
                elif value not in self.villages:
                    self.fail(member, n, column, f"{value} 不是本级已有的村（社区）代码")
            elif kind == "id_number":
                try:
                    facts = idnumber.parse(value)
                except idnumber.InvalidIdNumber as exc:
                    self.fail(member, n, column, str(exc))
                    continue
                if facts.id_number != value:
                    self.fail(member, n, column, "身份证号应为规范写法（18位，末位大写X）")
                elif member.entity == "persons" and (
                        row["birth_date"] != facts.birth_date.isoformat()
                        or row["sex"] != facts.sex):
                    self.fail(member, n, column, "出生日期或性别与身份证号不符")
            elif kind == "date":
                try:
                    dt.date.fromisoformat(value)
                except ValueError:
                    self.fail(member, n, column, f"日期“{value}”应为 YYYY-MM-DD")
            elif kind in ("int", "fen"):
                if not value.isdigit() or len(value) > 15:
                    self.fail(member, n, column, f"“{value}”应为非负整数")
            elif kind == "bool":
                if value not in ("0", "1"):
                    self.fail(member, n, column, "应为 1 或 0")
            elif kind == "code" and member.entity == "deletions":
                if column == "entity" and value not in layout.BY_ENTITY:
                    self.fail(member, n, column, f"未知的实体“{value}”")
            elif kind == "code" and f is not None:
                allowed = {str(k) for k, _ in f.flatchoices}
                if value not in allowed:
                    self.fail(member, n, column, f"代码“{value}”无效")
            if kind == "text" and f is not None and f.max_length and len(value) > f.max_length:
                self.fail(member, n, column, f"超过 {f.max_length} 个字符")
            if kind == "int" and f is not None and value.isdigit() and len(value) <= 15:
                if f.flatchoices and int(value) not in {k for k, _ in f.flatchoices}:
                    self.fail(member, n, column, f"代码“{value}”无效")
                try:
                    f.run_validators(int(value))
                except ValidationError as exc:
                    self.fail(member, n, column, "；".join(exc.messages))
        if member.entity == "persons" and row["disability_grade"] \
                and not row["disability_category"]:
            self.fail(member, n, "disability_category", "有残疾等级须填残疾类别")
        if member.entity == "categories" and bool(row["household_number"]) == bool(
                row["id_number"]):
            self.fail(member, n, "household_number", "类别须属于家庭或人员之一")

    def run(self) -> None:
        for member in layout.MEMBERS:
            seen: set[tuple[str, ...]] = set()
            for n, row in enumerate(self.package.rows.get(member.entity, []), start=2):
                self.check(member, n, row)
                key = layout.key_of(member, row)
                if key in seen:
                    self.fail(member, n, "", "与前面的行键值重复")
                seen.add(key)
        if self.reasons:
            more = len(self.reasons) - MAX_REASONS
            raise SyncError("数据包未导入：" + "；".join(self.reasons[:MAX_REASONS])
                            + (f"；另有 {more} 处" if more > 0 else ""))


def _d(value: str) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _values(entity: str, row: layout.Row) -> dict:
    """A row's stored fields (the references resolved by the caller)."""
    if entity == "households":
        return {"area_code": row["area_code"], "hukou_type": row["hukou_type"],
                "is_active": row["is_active"] == "1"}
    if entity == "persons":
        return {"name": row["name"], "name_initials": name_initials(row["name"]),
                "sex": row["sex"], "birth_date": _d(row["birth_date"]),
                "area_code": row["area_code"], "hukou_type": row["hukou_type"],
                "disability_category": row["disability_category"],
                "disability_grade": int(row["disability_grade"]) if row["disability_grade"]
                else None, "serious_illness": row["serious_illness"],
                "labour_capacity": row["labour_capacity"],
                "student_status": row["student_status"],
                "has_supporter": row["has_supporter"] == "1",
                "adl_failed": int(row["adl_failed"] or 0), "death_date": _d(row["death_date"])}
    if entity == "memberships":
        return {"area_code": row["area_code"], "relation": row["relation"],
                "co_resident": row["co_resident"] == "1", "end_date": _d(row["end_date"])}
    if entity == "categories":
        return {"area_code": row["area_code"], "end_date": _d(row["end_date"])}
    return {"area_code": row["area_code"], "status": row["status"],
            "amount_fen": int(row["amount_fen"]), "end_date": _d(row["end_date"]),
            "monitor_until": _d(row["monitor_until"])}


def _differs(obj: models.Model, values: dict) -> bool:
    return any(getattr(obj, k) != v for k, v in values.items())


class _Apply:
    """The writes of one package, inside the caller's transaction."""

    def __init__(self, package: layout.Package) -> None:
        self.package = package
        self.source = package.source_area_code
        self.counts = {m.entity: {"created": 0, "updated": 0, "unchanged": 0, "deleted": 0}
                       for m in layout.ENTITIES}
        self.households: dict[str, Household] = {}
        self.persons: dict[str, Person] = {}

    # -- references ----------------------------------------------------------------------
    def load_refs(self, numbers: set[str], ids: set[str]) -> None:
        numbers -= set(self.households)
        ids -= set(self.persons)
        if numbers:
            self.households.update({h.number: h for h in Household.objects.filter(
                number__in=sorted(numbers))})
        if ids:  # matched on the ciphertext: nothing in the registry is decrypted to look
            self.persons.update({p.id_number: p for p in Person.objects.filter(
                id_number__in=sorted(ids))})

    def household(self, number: str) -> Household:
        if number not in self.households:
            raise SyncError(f"数据包引用的家庭编号 {number} 在本级库和数据包中都不存在")
        return self.households[number]

    def person(self, id_number: str) -> Person:
        if id_number not in self.persons:
            raise SyncError("数据包引用的人员（身份证号 "
                            f"{id_number[:4]}**********{id_number[-4:]}）在本级库和数据包中都不存在")
        return self.persons[id_number]

    def lookup(self, entity: str, row: layout.Row) -> tuple[dict, list[models.Model]]:
        """The natural key's fields and the existing rows it names, oldest first."""
        model = MODELS[entity]
        where: dict = {"start_date": _d(row["start_date"])}
        if entity == "memberships":
            where |= {"household": self.household(row["household_number"]),
                      "person": self.person(row["id_number"])}
        elif entity == "categories":
            where |= {"category": row["category"],
                      "household": self.household(row["household_number"])
                      if row["household_number"] else None,
                      "person": self.person(row["id_number"]) if row["id_number"] else None}
        else:
            where |= {"household": self.household(row["household_number"]),
                      "person": self.person(row["id_number"]) if row["id_number"] else None,
                      "programme": row["programme"], "part": row["part"]}
        query = {k if v is not None else f"{k}__isnull": v if v is not None else True
                 for k, v in where.items()}
        return where, list(model.objects.filter(**query).order_by("pk"))

    # -- tombstones ----------------------------------------------------------------------
    def delete(self) -> None:
        rows = self.package.rows.get("deletions", [])
        by_entity: dict[str, list[layout.Row]] = defaultdict(list)
        for r in rows:
            by_entity[r["entity"]].append(r)
        self.load_refs({r["household_number"] for r in rows if r["household_number"]},
                       {r["id_number"] for r in rows if r["id_number"]})
        for entity in ("enrollments", "categories", "memberships"):
            for r in by_entity.get(entity, []):
                if (r["household_number"] and r["household_number"] not in self.households) \
                        or (r["id_number"] and r["id_number"] not in self.persons):
                    continue  # never imported here: nothing to delete
                _, found = self.lookup(entity, r)
                seq = int(r["seq"] or 0)
                if seq < len(found) and found[seq].area_code.startswith(self.source):
                    try:
                        with transaction.atomic():
                            found[seq].delete()
                    except (ProtectedError, IntegrityError) as exc:
                        raise SyncError(f"{layout.LABELS[entity]}已被本级业务引用，"
                                        "无法按数据包删除") from exc
                    self.counts[entity]["deleted"] += 1
        for r in by_entity.get("persons", []):
            p = self.persons.get(r["id_number"])
            if p is not None and p.area_code.startswith(self.source) and self._gone(p):
                del self.persons[r["id_number"]]
                self.counts["persons"]["deleted"] += 1
        for r in by_entity.get("households", []):
            h = self.households.get(r["household_number"])
            if h is None or not h.area_code.startswith(self.source):
                continue
            if self._gone(h):
                del self.households[r["household_number"]]
            elif h.is_active:  # still referenced here: kept, no longer active
                Household.objects.filter(pk=h.pk).update(is_active=False)
            self.counts["households"]["deleted"] += 1

    @staticmethod
    def _gone(obj: models.Model) -> bool:
        """Deleted when nothing here refers to it any more (else kept)."""
        try:
            with transaction.atomic():
                obj.delete()
        except (ProtectedError, IntegrityError):
            return False
        return True

    # -- upserts -------------------------------------------------------------------------
    def upsert_households(self) -> None:
        rows = self.package.rows.get("households", [])
        self.load_refs({r["household_number"] for r in rows}, set())
        areas = {a.code: a for a in Area.objects.filter(
            code__in={r["area_code"] for r in rows})}
        new = []
        c = self.counts["households"]
        for r in rows:
            values = _values("households", r)
            h = self.households.get(r["household_number"])
            if h is None:
                new.append(Household(number=r["household_number"], area=areas[r["area_code"]],
                                     **values))
            elif not h.area_code.startswith(self.source):
                raise SyncError(f"家庭编号 {h.number} 在本级库中属于其他区划 {h.area_code}")
            elif _differs(h, values):
                Household.objects.filter(pk=h.pk).update(area=areas[r["area_code"]], **values)
                c["updated"] += 1
            else:
                c["unchanged"] += 1
        for h in Household.objects.bulk_create(new, batch_size=2_000):
            self.households[h.number] = h
        c["created"] += len(new)

    def upsert_persons(self) -> None:
        rows = self.package.rows.get("persons", [])
        self.load_refs(set(), {r["id_number"] for r in rows})
        new = []
        c = self.counts["persons"]
        for r in rows:
            values = _values("persons", r)
            p = self.persons.get(r["id_number"])
            if p is None:
                new.append(Person(id_number=r["id_number"], **values))
            elif _differs(p, values):  # a person who moved here from another area too
                Person.objects.filter(pk=p.pk).update(**values)
                c["updated"] += 1
            else:
                c["unchanged"] += 1
        for p in Person.objects.bulk_create(new, batch_size=2_000):
            self.persons[p.id_number] = p
        c["created"] += len(new)

    def upsert_links(self, entity: str) -> None:
        rows = self.package.rows.get(entity, [])
        self.load_refs({r["household_number"] for r in rows if r["household_number"]},
                       {r["id_number"] for r in rows if r["id_number"]})
        model = MODELS[entity]
        c = self.counts[entity]
        updates: list[tuple[bool, int, dict]] = []
        new = []
        for r in rows:
            where, found = self.lookup(entity, r)
            values = _values(entity, r)
            seq = int(r["seq"] or 0)
            if seq < len(found):
                obj = found[seq]
                if _differs(obj, values):
                    # rows that close go first: the one open row a person, head or category
                    # may have is free before another takes it
                    updates.append((values.get("end_date") is None, obj.pk, values))
                else:
                    c["unchanged"] += 1
            elif seq == len(found):
                new.append(model(**where, **values))
            else:
                raise SyncError(f"{layout.LABELS[entity]}序号不连续（seq {seq}）")
        for _, pk, values in sorted(updates, key=lambda u: (u[0], u[1])):
            model.objects.filter(pk=pk).update(**values)
        c["updated"] += len(updates)
        model.objects.bulk_create(new, batch_size=2_000)
        c["created"] += len(new)


def import_package(data: bytes, *, by, channel: str = "cli") -> Outcome:  # noqa: ANN001
    """Import a district's package here, all or nothing. `by` None: a command run on the
    server (`doudi sync import`); a user or machine account needs `sync.import` over the
    package's source area."""
    sha = hashlib.sha256(data).hexdigest()
    try:
        package = layout.read(data)
    except layout.PackageError as exc:
        raise SyncError(f"数据包未导入：{exc}") from exc
    source = package.source_area_code
    if by is not None and not (access.may(by, roles.SYNC_IMPORT)
                               and source.startswith(by.scope_prefix)):
        raise PermissionDenied(f"无权导入区划 {source} 的数据包")
    if not Area.objects.filter(code__startswith=source, level=areacode.VILLAGE).exists():
        raise SyncError(f"数据包来源区划 {source} 不在本级区划范围内，未导入")
    done = SyncImport.objects.filter(sha256=sha).first()
    if done is not None:
        return Outcome(done, duplicate=True)
    last = SyncImport.objects.filter(source_area_code=source).order_by("-id").first()
    if package.watermark_from and (last is None or last.watermark_to != package.watermark_from):
        raise SyncError("数据包是增量包，但其起始水位不是本级最近一次从该区划导入的截止水位："
                        "请按顺序导入，或请下级做一次全量导出")
    _Checker(package).run()
    apply = _Apply(package)
    try:
        with transaction.atomic():
            return _write(apply, package, sha, by, channel)
    except IntegrityError as exc:
        raise SyncError("数据包与本级库中的记录冲突（如同一人同时属于两个家庭），未导入") from exc


def _write(apply: _Apply, package: layout.Package, sha: str, by,  # noqa: ANN001
           channel: str) -> Outcome:
    source = package.source_area_code
    apply.delete()
    apply.upsert_households()
    apply.upsert_persons()
    for entity in ("memberships", "categories", "enrollments"):
        apply.upsert_links(entity)
    record = SyncImport.objects.create(
        source_area_code=source, sha256=sha, watermark_from=package.watermark_from,
        watermark_to=package.watermark_to, counts=apply.counts, persons=package.persons,
        channel=channel, created_by=by)
    audit.record(AuditEvent.IMPORT, object_type="platform_sync.syncimport",
                 object_id=record.pk, area_code=source,
                 object_label=(f"导入区划 {source} 的低收入人口数据包："
                               f"人员 {package.persons} 人"),
                 changes={"sha256": sha, "since": package.watermark_from,
                          "until": package.watermark_to, "counts": apply.counts})
    return Outcome(record, counts=apply.counts)
