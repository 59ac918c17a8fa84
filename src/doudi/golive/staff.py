"""工作人员账号 from a staff spreadsheet (工作人员名单, layout `staff_list`): one account per row,
in the row's town or village of the district, with the roles its 角色 column names.

The file is read and checked as a department file is (`exchange.readers`, `engine.feeds`);
then each row's area is found by its town and village names within the district (exactly,
with the 村委会/居委会 ending optional and full-width/half-width forms alike; an 行政区划代码
given must be the same area), its role words read (`golive.staff_roles`), its phone checked,
and its account found or its login name made. A dry run (试导入) is the plan, row by row —
新建 / 已存在，无变化 / 错误：reason — and writes no account. The real run (正式导入) writes
every new account in one transaction or none, when any row is refused. A row whose account
exists with the same name, area and roles changes nothing, so the same file twice creates
nothing the second time; an existing account that differs is refused, not changed (roles are
then the security administrator's to change).

The staff list is the one way roles come with a new account (roles.py: accounts from the staff
spreadsheet are the system administrator's); administrators' and machine accounts never do
(`staff_roles`). Each new account gets a random first-login password (初始口令) that it must
replace at the first login. The passwords exist only in the `Issued` list returned by the real
run, for the printed sheet (`staff_sheet`): the database keeps their hashes, the audit log
and the import record never see them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import secrets
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from pypinyin import Style, lazy_pinyin

from doudi.accounts import roles as role_table
from doudi.accounts import services as accounts
from doudi.accounts.models import User
from doudi.areas.models import Area
from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.core import areacode
from doudi.core.errors import ServiceError
from doudi.core.masking import mask_id_number, mask_phone
from doudi.exchange.readers import ReadError
from doudi.golive import layouts, reading, staff_roles
from doudi.golive.models import GoliveImport

LAYOUT_KEY = "staff_list"
CREATE, UNCHANGED, ERROR = "create", "unchanged", "error"
ACTION_LABELS = {CREATE: "新建", UNCHANGED: "已存在，无变化", ERROR: "错误"}
MOBILE = re.compile(r"^1[3-9]\d{9}$")
USERNAME = re.compile(r"^[A-Za-z0-9_.@+-]{3,30}$")
VILLAGE_ENDINGS = ("村民委员会", "居民委员会", "村委会", "居委会")
# surnames whose reading differs from the character's usual one (单雄 shan, not dan)
SURNAMES = {"单": "shan", "曾": "zeng", "解": "xie", "仇": "qiu", "区": "ou", "查": "zha",
            "朴": "piao", "盖": "ge", "缪": "miao", "翟": "zhai", "覃": "qin", "乐": "yue",
            "尉": "yu", "繁": "po", "种": "chong", "员": "yun", "秘": "bi", "召": "shao",
            "黑": "he", "隗": "wei", "长": "chang", "燕": "yan", "宿": "su", "藏": "zang"}
# characters a printed password leaves out, so that no one misreads one (0/O, 1/l/I)
PRINTABLE = {"upper": "ABCDEFGHJKLMNPQRSTUVWXYZ", "lower": "abcdefghijkmnpqrstuvwxyz",
             "digit": "23456789", "symbol": "#%+=@"}


class StaffImportError(ServiceError):
    """A staff import that cannot run at all (no such district, not the user's area)."""


@dataclass
class PlanRow:
    """One row of the file and what the import does with it."""

    row: int  # as numbered in the file
    name: str
    town: str = ""  # the area's names as found ("" at the district's own level)
    village: str = ""
    area_code: str = ""  # 12 digits, "" when the area was not found
    roles: tuple[str, ...] = ()
    phone: str = ""
    username: str = ""
    id_number: str = ""
    action: str = ERROR
    reason: str = ""

    @property
    def action_label(self) -> str:
        label = ACTION_LABELS[self.action]
        return f"{label}：{self.reason}" if self.action == ERROR else label

    @property
    def role_labels(self) -> str:
        return staff_roles.labels(self.roles)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    @property
    def area_label(self) -> str:
        return " ".join(x for x in (self.town, self.village) if x) or "区县本级"


@dataclass
class StaffPlan:
    district: Area
    file_name: str
    sha256: str
    sheet: str = ""
    rows: list[PlanRow] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    failure: str = ""  # why the file could not be read at all

    @property
    def counts(self) -> dict[str, int]:
        count = {a: sum(r.action == a for r in self.rows) for a in ACTION_LABELS}
        return {"rows": len(self.rows), **count}

    @property
    def ok(self) -> bool:
        return not self.failure and not any(r.action == ERROR for r in self.rows)

    def summary(self, done: bool = False) -> str:
        """One line; `done`: the accounts were created (else they are only planned)."""
        if self.failure:
            return self.failure
        c = self.counts
        return (f"共 {c['rows']} 行：{'新建' if done else '拟新建'} {c[CREATE]} 个账号，"
                f"已存在无变化 {c[UNCHANGED]} 个，错误 {c[ERROR]} 行")


@dataclass(frozen=True)
class Issued:
    """A new account's first-login password (初始口令), held in memory for the printed sheet
    only; never stored, logged or audited."""

    username: str
    full_name: str
    town_code: str  # the town's 12-digit code, or the district's for its own staff
    town: str
    village: str
    role_labels: str
    password: str


@dataclass
class StaffOutcome:
    plan: StaffPlan
    record: GoliveImport
    issued: list[Issued] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.plan.ok


# -- the district and its areas -------------------------------------------------------------

def district_area(code: str) -> Area:
    """The county-level area (县/区) a staff list is for."""
    try:
        full = areacode.full_code(code)
    except ValueError:
        raise StaffImportError(f"区县代码“{code}”格式错误，应为6位（如 341002）",
                               field="district") from None
    area = Area.objects.filter(code=full).first()
    if area is None or area.level != areacode.COUNTY:
        raise StaffImportError(f"没有区县“{code}”（须为已导入的县级区划代码，如 341002）",
                               field="district")
    return area


def _norm(name: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name or ""))


def _forms(name: str) -> set[str]:
    """How a sheet may write an area's name: as registered, or without 村委会/居委会."""
    full = _norm(name)
    return {full} | {full[: -len(e)] for e in VILLAGE_ENDINGS
                     if full.endswith(e) and len(full) > len(e)}


class _Areas:
    """The district's towns and villages by the names a sheet may write."""

    def __init__(self, district: Area) -> None:
        self.district = district
        self.by_code: dict[str, Area] = {district.code: district}
        self.towns: dict[str, list[Area]] = defaultdict(list)
        self.villages: dict[str, list[Area]] = defaultdict(list)  # all of the district's
        self.in_town: dict[tuple[str, str], list[Area]] = defaultdict(list)
        for area in Area.objects.filter(code__startswith=district.prefix,
                                        level__in=(areacode.TOWN, areacode.VILLAGE)):
            self.by_code[area.code] = area
            for form in _forms(area.name):
                if area.level == areacode.TOWN:
                    self.towns[form].append(area)
                else:
                    self.villages[form].append(area)
                    self.in_town[(area.code[:9], form)].append(area)

    def town_of(self, area: Area) -> Area | None:
        return self.by_code.get(area.code[:9].ljust(12, "0")) if area.level > 3 else None

    def find(self, town: str, village: str, code: str) -> tuple[Area | None, str]:
        """The row's area, or None and why not."""
        named, why = self._by_names(town, village)
        if why:
            return None, why
        if not code:
            return named or self.district, ""
        by_code = self.by_code.get(code.ljust(12, "0")) if code.isdigit() and len(code) in (
            6, 9, 12) else None
        if by_code is None:
            return None, f"行政区划代码“{code}”不是{self.district.name}的乡镇（街道）或村（社区）"
        if named is not None and named.code != by_code.code:
            return None, (f"行政区划代码 {code}（{by_code.name}）与所填名称（{named.name}）"
                          "不一致，请核对")
        return by_code, ""

    def _by_names(self, town: str, village: str) -> tuple[Area | None, str]:
        found_town = None
        if town:
            hits = self._named(self.towns.get(_norm(town), []), town)
            if not hits:
                return None, f"{self.district.name}没有乡镇（街道）“{town}”（名称须与区划一致）"
            if len(hits) > 1:
                return None, (f"{self.district.name}有 {len(hits)} 个乡镇（街道）名为“{town}”，"
                              "请核对区划")
            found_town = hits[0]
        if not village:
            return found_town, ""
        key = _norm(village)
        hits = self._named(self.in_town.get((found_town.code[:9], key), []) if found_town
                           else self.villages.get(key, []), village)
        where = found_town.name if found_town else self.district.name
        if not hits:
            return None, f"{where}没有村（社区）“{village}”（名称须与区划一致）"
        if len(hits) > 1:
            names = "、".join(a.name for a in hits[:5])
            return None, (f"“{village}”在{where}对应 {len(hits)} 个村（社区）（{names}），"
                          f"请写全称{'' if found_town else '或填写乡镇（街道）'}")
        return hits[0], ""

    @staticmethod
    def _named(hits: list[Area], written: str) -> list[Area]:
        """The area named exactly as written, when there is one among those a shorter form
        also reaches."""
        exact = [a for a in hits if _norm(a.name) == _norm(written)]
        return exact if len(exact) == 1 else hits


# -- reading the file ---------------------------------------------------------------------

def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _cell_errors(frame: pl.DataFrame, labels: dict[str, str]) -> dict[int, str]:
    reasons: dict[int, list[str]] = defaultdict(list)
    for e in frame.iter_rows(named=True):
        reasons[e["row"]].append(f"{labels.get(e['field'], e['field'])}：{e['reason']}")
    return {row: "；".join(r) for row, r in reasons.items()}


def _read(data: bytes, filename: str, plan: StaffPlan) -> pl.DataFrame | None:
    """The file's refused rows as PlanRows in `plan` (bad cells, exact repeats); the good rows,
    or None when the file cannot be read at all (`plan.failure` says why)."""
    try:
        read = reading.read_one(layouts.get(LAYOUT_KEY), plan.file_name, data)
    except ReadError as exc:
        plan.failure = str(exc)
        return None
    plan.sheet, plan.notices = read.sheet, list(read.notices)
    validated = read.validated
    bad = _cell_errors(validated.errors, read.labels)
    raw = {r["row"]: r for r in read.cells.iter_rows(named=True)}
    for row, reason in bad.items():
        plan.rows.append(PlanRow(row=row, name=_text(raw[row]["name"]),
                                 town=_text(raw[row]["town"]),
                                 village=_text(raw[row]["village"]), reason=reason))
    for d in validated.duplicates.iter_rows(named=True):
        r = raw[d["row"]]
        plan.rows.append(PlanRow(row=d["row"], name=_text(r["name"]), town=_text(r["town"]),
                                 village=_text(r["village"]),
                                 reason=f"与第 {d['first_row']} 行完全相同"))
    return validated.good


# -- one row ------------------------------------------------------------------------------

def _phone(cell: str) -> tuple[str, str]:
    phone = re.sub(r"[\s\-－]", "", unicodedata.normalize("NFKC", cell))
    if phone and not MOBILE.match(phone):
        return "", f"手机号码“{cell}”应为11位手机号（1开头）"
    return phone, ""


def _resolve(r: dict, areas: _Areas) -> PlanRow:
    """A good row's area, roles, phone and given login name; its action is decided later."""
    row = PlanRow(row=r["row"], name=_text(r["name"]), town=_text(r["town"]),
                  village=_text(r["village"]), username=_text(r["username"]),
                  id_number=_text(r["id_number"]))
    area, why = areas.find(row.town, row.village, _text(r["area_code"]))
    reasons = [why] if why else []
    if len(row.name) > 50:
        reasons.append("姓名超过50个字")
    if area is not None:
        town = areas.town_of(area)
        row.area_code = area.code
        row.town = town.name if town else (area.name if area.level == areacode.TOWN else "")
        row.village = area.name if area.level == areacode.VILLAGE else ""
        level_label = f"{areacode.LEVEL_LABELS[area.level]}（{area.name}）"
        reading = staff_roles.read(_text(r["roles"]), area.level, level_label)
        row.roles = reading.codes
        if reading.reason:
            reasons.append(reading.reason)
    row.phone, why = _phone(_text(r["phone"]))
    if why:
        reasons.append(why)
    if row.username and not USERNAME.match(row.username):
        reasons.append(f"登录账号“{row.username}”只能由3–30位字母、数字或 _ . @ + - 组成")
    row.reason = "；".join(reasons)
    return row


def _duplicates(rows: list[PlanRow]) -> None:
    """Two rows for one account (login name, ID number, or name and area without a login
    name telling them apart) are both refused: which one is meant cannot be known."""
    keys = {"username": lambda r: r.username.lower(), "id_number": lambda r: r.id_number,
            "person": lambda r: f"{r.area_code}|{r.name}" if r.area_code else ""}
    words = {"username": "登录账号", "id_number": "身份证号",
             "person": "姓名和所在区划相同，请在“登录账号”列写明各自的账号"}
    for kind, key in keys.items():
        seen: dict[str, list[PlanRow]] = defaultdict(list)
        for r in rows:
            if key(r):
                seen[key(r)].append(r)
        for group in seen.values():
            if len(group) < 2:
                continue
            for r in group:
                if kind == "person" and r.username:  # its own login name tells it apart
                    continue
                others = "、".join(str(o.row) for o in group if o is not r)
                why = (f"与第 {others} 行{words[kind]}" if kind == "person"
                       else f"与第 {others} 行{words[kind]}相同")
                r.reason = f"{r.reason}；{why}" if r.reason else why


def _same(user: User, row: PlanRow) -> str:
    """How an existing account differs from the row ("" when it does not)."""
    diffs = []
    if user.full_name != row.name:
        diffs.append(f"姓名为“{user.full_name or '（空）'}”")
    if user.area_id != row.area_code:
        diffs.append(f"所属区划为{user.area.name if user.area else '（无）'}")
    if staff_roles.held(user) != row.roles:
        diffs.append(f"角色为{user.role_labels() or '（无）'}")
    return "、".join(diffs)


def pinyin_name(name: str) -> str:
    """张三 → zhangsan (the usual reading of a surname: 单 shan, 曾 zeng); ASCII letters kept."""
    name = _norm(name)
    head = SURNAMES.get(name[:1], "")
    rest = name[1:] if head else name
    spelled = lazy_pinyin(rest, style=Style.NORMAL, errors=lambda s: list(s))
    text = (head + "".join(spelled)).lower()
    return re.sub(r"[^a-z0-9]", "", text)[:20]


def _decide(rows: list[PlanRow], district: Area) -> None:
    """Each good row's action: the existing account it names (by login name, else by name and
    area) unchanged or refused, or a new account with a login name not yet taken."""
    live = [r for r in rows if not r.reason]
    given = [r.username for r in live if r.username]
    existing = {u.username: u for u in staff_roles.with_roles(
        User.objects.filter(username__in=given).select_related("area"))}
    by_person: dict[tuple[str, str], list[User]] = defaultdict(list)
    for u in staff_roles.with_roles(User.objects.filter(
            area__code__startswith=district.prefix,
            full_name__in={r.name for r in live if not r.username}).select_related("area")):
        by_person[(u.area_id, u.full_name)].append(u)
    taken = set(given)
    for r in live:
        user = existing.get(r.username) if r.username else None
        if not r.username:
            found = by_person.get((r.area_code, r.name), [])
            if len(found) > 1:
                r.reason = (f"该区划已有 {len(found)} 个姓名为“{r.name}”的账号"
                            f"（{'、'.join(u.username for u in found)}），请在“登录账号”列写明")
                continue
            user = found[0] if found else None
        if user is None:
            r.action = CREATE
            continue
        diff = _same(user, r)
        r.username = user.username
        if not (user.area_id or "").startswith(district.prefix):
            r.reason = f"登录账号 {user.username} 已被其他区划的账号使用，请换一个"
        elif diff:
            r.reason = (f"账号 {user.username} 已存在，{diff}，与本行不一致；本导入不修改已有账号，"
                        "请核对名单或由管理员调整该账号")
        else:
            r.action = UNCHANGED
    stems = {r.row: pinyin_name(r.name) or f"u{r.area_code[:9]}" for r in live
             if r.action == CREATE and not r.username}
    # every login name in use: a few thousand at most, fewer queries than asking per name
    used = set(User.objects.values_list("username", flat=True)) | taken if stems else taken
    for r in live:
        if r.row in stems:
            r.username = _free(stems[r.row], used)
            used.add(r.username)
    for r in rows:
        if r.reason:
            r.action = ERROR


def _free(stem: str, used: set[str]) -> str:
    n = 1
    while f"{stem}{n if n > 1 else ''}" in used:
        n += 1
    return f"{stem}{n if n > 1 else ''}"


def plan(data: bytes, filename: str, district_code: str) -> StaffPlan:
    """The import's plan, row by row; reads the database, writes nothing."""
    district = district_area(district_code)
    result = StaffPlan(district=district, file_name=Path(filename).name[:200],
                       sha256=hashlib.sha256(data).hexdigest())
    good = _read(data, filename, result)
    if good is None:
        return result
    areas = _Areas(district)
    rows = [_resolve(r, areas) for r in good.iter_rows(named=True)]
    _duplicates(rows)
    _decide(rows, district)
    result.rows = sorted([*result.rows, *rows], key=lambda r: r.row)
    return result


# -- writing ------------------------------------------------------------------------------

def first_login_password() -> str:
    """A random password meeting the policy's four classes, at least 12 characters, of
    characters that cannot be misread on paper."""
    length = max(settings.DOUDI_PASSWORD_MIN_LENGTH, 12)
    picks = [secrets.choice(chars) for chars in PRINTABLE.values()]
    every = "".join(PRINTABLE.values())
    picks += [secrets.choice(every) for _ in range(length - len(picks))]
    secrets.SystemRandom().shuffle(picks)
    return "".join(picks)


def _store_dir(name: str) -> Path:
    path = Path(settings.EXCHANGE_DIR) / "golive" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def _keep_file(data: bytes, plan_: StaffPlan) -> str:
    """The file as given (what the web page's confirmation imports), by its SHA-256."""
    suffix = re.sub(r"[^a-z0-9.]", "", Path(plan_.file_name).suffix.lower())[:8]
    path = _store_dir("uploads") / f"{plan_.sha256}{suffix}"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
    return str(path.relative_to(settings.EXCHANGE_DIR))


def kept_file(record: GoliveImport) -> tuple[bytes, str]:
    """The bytes and name of the file an import was made from (checked by its SHA-256)."""
    info = (record.files or [{}])[0]
    path = Path(settings.EXCHANGE_DIR) / info.get("stored", "-")
    if not info.get("stored") or not path.is_file():
        raise StaffImportError("原文件已不在服务器上，请重新上传")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != info.get("sha256"):
        raise StaffImportError("原文件已改变，请重新上传")
    return data, info.get("name", path.name)


PLAN_COLUMNS = ("row", "name", "town", "village", "area_code", "roles", "phone", "username",
                "id_number", "action", "reason")


def plan_rows(record: GoliveImport) -> list[PlanRow]:
    """An import's plan as recorded (phone and ID number masked)."""
    if not record.plan_path:
        return []
    path = Path(settings.EXCHANGE_DIR) / record.plan_path
    if not path.is_file():
        return []
    return [PlanRow(**{**r, "roles": tuple(r["roles"].split(",")) if r["roles"] else ()})
            for r in pl.read_parquet(path).iter_rows(named=True)]


def _write_plan(plan_: StaffPlan, mode: str) -> str:
    frame = pl.DataFrame(
        [{"row": r.row, "name": r.name, "town": r.town, "village": r.village,
          "area_code": r.area_code, "roles": ",".join(r.roles), "phone": mask_phone(r.phone),
          "username": r.username, "id_number": mask_id_number(r.id_number),
          "action": r.action, "reason": r.reason} for r in plan_.rows],
        schema={c: (pl.Int64 if c == "row" else pl.String) for c in PLAN_COLUMNS})
    stamp = dt.datetime.now().strftime("%Y%m%d%H%M%S")
    path = _store_dir("plans") / f"staff-{plan_.sha256[:16]}-{mode}-{stamp}-{os.getpid()}.parquet"
    frame.write_parquet(path)
    return str(path.relative_to(settings.EXCHANGE_DIR))


def _status(plan_: StaffPlan, real: bool) -> str:
    if not plan_.ok:
        return GoliveImport.REFUSED
    if not real:
        return GoliveImport.PLANNED
    return GoliveImport.DONE if plan_.counts[CREATE] else GoliveImport.UNCHANGED


def _record(plan_: StaffPlan, data: bytes, real: bool, by: User | None) -> GoliveImport:
    """The import's record and its audit row (in the caller's transaction)."""
    mode = GoliveImport.REAL if real else GoliveImport.DRY
    files = [{"name": plan_.file_name, "sha256": plan_.sha256, "layout": LAYOUT_KEY,
              "sheet": plan_.sheet, "rows": len(plan_.rows), "stored": _keep_file(data, plan_)}]
    record = GoliveImport.objects.create(
        area_code=plan_.district.code, what=GoliveImport.STAFF, mode=mode,
        status=_status(plan_, real), files=files, counts=plan_.counts,
        plan_path=_write_plan(plan_, mode), message=plan_.summary(real and plan_.ok)[:500],
        by=by)
    audit.record(AuditEvent.IMPORT, object_type="golive.goliveimport", object_id=record.pk,
                 object_label=f"工作人员名单{record.get_mode_display()}：{plan_.file_name}"[:200],
                 area_code=plan_.district.code,
                 changes={"sha256": plan_.sha256, "status": record.status, **plan_.counts})
    return record


def _may_import(by: User | None, district: Area) -> None:
    if by is None:
        return
    if not by.can(role_table.MANAGE_USERS):
        raise PermissionDenied("没有此项权限")
    if not district.code.startswith(by.scope_prefix or "\0"):
        raise PermissionDenied(f"{district.name}不在您的管辖范围内")


def _create(plan_: StaffPlan, areas: dict[str, Area]) -> list[Issued]:
    issued = []
    for r in plan_.rows:
        if r.action != CREATE:
            continue
        password = first_login_password()
        user = accounts.create_user(username=r.username, password=password,
                                    area_code=r.area_code, roles=list(r.roles), full_name=r.name)
        user.must_change_password = True
        user.save(update_fields=["must_change_password"])
        town = r.area_code[:9].ljust(12, "0") if r.town else plan_.district.code
        issued.append(Issued(username=user.username, full_name=r.name, town_code=town,
                             town=areas[town].name, village=r.village,
                             role_labels=r.role_labels, password=password))
    return issued


def import_staff(data: bytes, filename: str, *, district_code: str, real: bool = False,
                 by: User | None = None) -> StaffOutcome:
    """试导入 (real=False): the plan, recorded. 正式导入 (real=True): every planned account
    created in one transaction with the record and its audit row — or, when any row is
    refused, nothing but the refused record. `by` None: the command line."""
    district = district_area(district_code)
    _may_import(by, district)
    result = plan(data, filename, district.code)
    if not (real and result.ok):
        with transaction.atomic():
            return StaffOutcome(result, _record(result, data, real, by))
    towns = {a.code: a for a in Area.objects.filter(code__startswith=district.prefix,
                                                    level__in=(3, 4))}
    try:
        with transaction.atomic():
            issued = _create(result, towns)
            record = _record(result, data, real, by)
    except accounts.AccountError as exc:  # changed since the plan (another import at once)
        result.failure = f"导入未完成，未写入任何账号：{exc.message}"
        with transaction.atomic():
            return StaffOutcome(result, _record(result, data, real, by))
    return StaffOutcome(result, record, issued)


def records_for(user: User) -> list[GoliveImport]:
    """The staff imports of the user's area, newest first (for the page)."""
    return list(GoliveImport.objects.filter(what=GoliveImport.STAFF,
                                            area_code__startswith=user.scope_prefix or "\0")
                .select_related("by")[:20])
