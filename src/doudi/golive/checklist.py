"""上线检查 (go-live checklist): what a district must have in place before its first Doudi
payment, each item read from the real state — the parameters, the holiday calendar, the bank
layout, the key backup, the backups, the accounts, the imported caseload and its
reconciliation. `check(district, day)` gives them in order; `doudi golive check` and the
/golive/ page show them. docs/going-live.md says what each means and how to put it right.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.utils import timezone

from doudi.golive import key_custody
from doudi.golive.models import GoliveImport, Reconciliation

SHOWN = 5  # names listed in a detail before "等 N 个"


@dataclass(frozen=True)
class Item:
    """One line of the checklist. `required`: a ✗ blocks going live (the CLI exits 1);
    an item that is not required only informs."""

    key: str
    label: str
    ok: bool
    detail: str
    todo: str
    required: bool = True

    @property
    def mark(self) -> str:
        return "✓" if self.ok else ("✗" if self.required else "○")


def _some(names: list[str]) -> str:
    shown = "、".join(names[:SHOWN])
    return shown + (f" 等 {len(names)} 个" if len(names) > SHOWN else "")


def _local(at: dt.datetime) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M")


# -- the items, each reading one source ------------------------------------------------------

def policy(district: str, day: dt.date) -> Item:
    """政策参数: every parameter in force for the district (and for each town or village
    that set values of its own) from `day` on is defined and has been verified — the same
    coverage `doudi policy coverage` prints."""
    from doudi.policy.services import area_labels, parameter_set
    from doudi.rules import coverage

    params = parameter_set()
    areas = [district, *sorted({p.area for p in params
                                if p.area.startswith(district) and p.area != district})]
    gaps: dict[str, str] = {}
    never: dict[str, str] = {}
    for area in areas:
        for c in coverage.coverage(params, area, since=day):
            if c.gaps:
                gaps[c.key] = c.label
            if c.never_verified:
                never[c.key] = c.label
    label = "政策参数已设定并核实"
    todo = (f"运行 doudi policy coverage --area {district} --since {day} --problems 查看明细；"
            "在“政策参数”页补录缺口，对照文件原文核对后录入本区取值并勾选“已核实”")
    if not gaps and not never:
        names = area_labels(areas)
        return Item("policy", label, True,
                    f"{'、'.join(names[a] for a in areas)}自 {day} 起适用的参数均有取值且已核实",
                    "")
    parts = []
    if gaps:
        parts.append(f"有缺口（无法计算）{len(gaps)} 个：{_some(list(gaps.values()))}")
    if never:
        parts.append(f"从未核实 {len(never)} 个：{_some(list(never.values()))}")
    return Item("policy", label, False, "；".join(parts), todo)


# The State Council publishes next year's holidays in October or November; from December on,
# deadlines run into the next year, so its schedule must be in by then.
NEXT_YEAR_FROM_MONTH = 12


def calendar(district: str, day: dt.date) -> Item:
    """节假日安排: the working-day calendar knows this year (from the calendar library or
    entered by an administrator) and, from December on, next year too."""
    from doudi.casework.services import calendar as working_calendar

    cal = working_calendar()
    years = [day.year] + ([day.year + 1] if day.month >= NEXT_YEAR_FROM_MONTH else [])
    missing = [y for y in years if not cal.known(y)]
    label = "节假日安排已录入"
    if missing:
        return Item("calendar", label, False,
                    f"{'、'.join(str(y) for y in missing)} 年的节假日和调休安排未录入，"
                    "办理时限暂按周末推算",
                    "在“节假日”页（或 doudi calendar year 年度 文件 --source 文号）按国务院办公厅"
                    "通知录入该年度安排")
    known = "、".join(str(y) for y in years)
    later = "" if cal.known(day.year + 1) else f"；{day.year + 1} 年安排发布后请及时录入"
    return Item("calendar", label, True, f"{known} 年的节假日安排已有{later}", "")


def bank_layout(district: str, day: dt.date) -> Item:
    """银行文件格式: the district (or the city or province above it) keeps an active layout of
    its own for its paying bank, or has already produced a bank file in a layout."""
    from doudi.benefits.models import BankLayout, PaymentRun
    from doudi.policy.models import chain_prefixes

    own = list(BankLayout.objects.filter(active=True, area_code__in=chain_prefixes(district))
               .exclude(area_code="").values_list("name", flat=True))
    used = (PaymentRun.objects.filter(area_code__startswith=district).exclude(bank_layout="")
            .order_by("-month", "-id").values_list("bank_layout", flat=True).first())
    label = "银行文件格式已选定"
    if own:
        return Item("bank_layout", label, True, f"本区使用的格式：{_some(own)}", "")
    if used:
        name = BankLayout.objects.filter(code=used).values_list("name", flat=True).first()
        return Item("bank_layout", label, True, f"已用“{name or used}”生成银行文件", "")
    return Item("bank_layout", label, False,
                "只有系统提供的通用格式，尚未设定代发银行要求的格式",
                "向代发银行（社保卡/一卡通）索取发放文件和回盘文件的格式，"
                "在“资金发放 → 银行文件格式”新建本区格式；银行接受通用格式的，"
                "也按通用格式的列另存一份本区格式，表示已与银行核对")


def keys(district: str, day: dt.date) -> Item:
    """加密密钥已备份: the key file exists and every key in it was confirmed backed up
    (`doudi golive keys-backed-up`), by fingerprint; a rotation needs a new confirmation."""
    from doudi.core import crypto

    label = "加密密钥已另行备份"
    todo = ("按 docs/key-management.md 将密钥文件复制两份，与数据库备份分开保管，然后运行 "
            "doudi golive keys-backed-up --where \"两处存放地点\" 记录确认")
    if not crypto.default_key_path().is_file():
        return Item("keys", label, False, "密钥文件不存在",
                    "运行 doudi keys init 生成密钥文件；" + todo)
    current = key_custody.fingerprints()
    if not current:
        return Item("keys", label, False, "密钥文件无法读取（格式或权限有误）",
                    "运行 doudi keys status 查看原因并修正；" + todo)
    confirmation = key_custody.last_confirmation()
    missing = key_custody.unconfirmed(current, confirmation)
    if confirmation is None:
        return Item("keys", label, False, "尚未确认密钥文件已备份", todo)
    if missing:
        return Item("keys", label, False,
                    f"密钥 {'、'.join(missing)} 在 {_local(confirmation.at)} 确认备份之后才加入"
                    "（密钥轮换），尚未确认备份", todo)
    where = (confirmation.changes or {}).get("where", "")
    return Item("keys", label, True,
                f"密钥 {'、'.join(sorted(current))} 已于 {_local(confirmation.at)} 确认备份"
                f"（{confirmation.actor_name}；存放：{where}）", "")


BACKUP_MAX_AGE_DAYS = 1  # a daily backup: the latest is from today or yesterday


def backups(district: str, day: dt.date) -> Item:
    """备份在按时运行: Doudi cannot read the server's cron table or timers, so it reads what
    they leave — the audit record every `doudi backup` writes — and asks that the latest be
    from `day` or the day before and its archive still be where it was written."""
    from doudi.audit.models import AuditEvent

    rows = AuditEvent.objects.filter(object_type="backup", action=AuditEvent.EXPORT)
    latest = rows.order_by("-at", "-id").first()
    label = "数据库每日定时备份"
    todo = ("按 docs/operations.md“定时任务”设置每日 doudi backup --out 备份目录 --keep 14"
            "（cron 或 systemd 定时器），并复制到另一台机器")
    if latest is None:
        return Item("backups", label, False, "从未做过备份", todo)
    when = timezone.localtime(latest.at).date()
    week = rows.filter(at__gte=latest.at - dt.timedelta(days=7)).count()
    path = Path(str((latest.changes or {}).get("path", "")))
    detail = f"最近一次备份 {_local(latest.at)}（{path.name}），近 7 天 {week} 次"
    if when < day - dt.timedelta(days=BACKUP_MAX_AGE_DAYS):
        return Item("backups", label, False, detail + "：已超过一天没有备份，定时任务可能未运行",
                    todo + "；查看定时任务日志")
    if not path.is_file():
        return Item("backups", label, False, detail + "：该备份文件已不在原处",
                    "查看备份目录是否被移走或清空；" + todo)
    return Item("backups", label, True, detail, "")


def accounts(district: str, day: dt.date) -> Item:
    """工作人员账号: every town and village has the accounts its work needs
    (`staff_coverage.gaps`)."""
    label = "工作人员账号齐全"
    try:
        staff_coverage = importlib.import_module("doudi.golive.staff_coverage")
    except ModuleNotFoundError as exc:  # this build has no staff check: never a ✓ for it
        if exc.name != "doudi.golive.staff_coverage":
            raise
        return Item("accounts", label, False, "本版本无法核对工作人员账号",
                    "请系统管理员在“用户管理”逐一核对各镇街、村（社区）的账号")
    gaps = staff_coverage.gaps(district)
    if not gaps:
        return Item("accounts", label, True, "各镇街、村（社区）需要的账号均已建立", "")
    named = [f"{g.area_name}（{g.missing}）" for g in gaps]
    return Item("accounts", label, False, f"{len(gaps)} 个区划缺少账号：{_some(named)}",
                "用 doudi golive import-staff 导入工作人员名单，或由系统管理员在“用户管理”补建账号")


def _last_caseload(district: str) -> GoliveImport | None:
    return (GoliveImport.objects.in_area(district)
            .filter(what=GoliveImport.CASELOAD, mode=GoliveImport.REAL, status=GoliveImport.DONE)
            .order_by("-at", "-id").first())


def caseload(district: str, day: dt.date) -> Item:
    """在保数据: the old system's caseload was imported for real (正式导入, done)."""
    label = "在保数据已正式导入"
    done = _last_caseload(district)
    if done is not None:
        files = "、".join(str(f.get("name", "")) for f in done.files if isinstance(f, dict))
        return Item("caseload", label, True,
                    f"已于 {_local(done.at)} 正式导入" + (f"（{files}）" if files else ""), "")
    tries = GoliveImport.objects.in_area(district).filter(what=GoliveImport.CASELOAD)
    last = tries.order_by("-at", "-id").first()
    if last is None:
        detail = "尚未导入原系统的在保数据"
    elif last.mode == GoliveImport.DRY:
        detail = f"已试导入 {tries.filter(mode=GoliveImport.DRY).count()} 次，尚未正式导入"
    else:
        detail = f"最近一次正式导入（{_local(last.at)}）{last.get_status_display()}"
    return Item("caseload", label, False, detail,
                "先 doudi golive import-caseload 试导入，逐条处理被拒的行，无误后加 --real "
                "正式导入（或在“上线迁移 → 在保数据”页操作）")


def reconciled(district: str, day: dt.date) -> Item:
    """对账: a reconciliation was made after the latest real caseload import; its
    differences are listed for review."""
    label = "已与原系统对账"
    todo = ("导入原系统末次花名册并对账（doudi golive import-roster、doudi golive reconcile，"
            "或“上线迁移 → 对账”页），逐条核对差异")
    done = _last_caseload(district)
    latest = Reconciliation.objects.in_area(district).order_by("-at", "-id").first()
    if done is None:
        return Item("reconciled", label, False, "在保数据尚未正式导入，无法对账", todo)
    if latest is None or latest.at <= done.at:
        return Item("reconciled", label, False,
                    f"{_local(done.at)} 正式导入在保数据之后尚未对账", todo)
    n = len(latest.differences or [])
    review = f"，差异 {n} 条待逐条核对" if n else "，无差异"
    return Item("reconciled", label, True,
                f"已于 {_local(latest.at)} 对账（对账日 {latest.day}）{review}", "")


def first_payment(district: str, day: dt.date) -> Item:
    """首次发放 (information only): whether the first Doudi roster has been built."""
    from doudi.benefits.models import PaymentRun

    label = "首次发放"
    first = PaymentRun.objects.in_area(district).order_by("month", "id").first()
    if first is None:
        return Item("first_payment", label, False, "尚未生成发放批次",
                    "以上各项均 ✓ 后，在“资金发放”生成首月花名册，审核锁定后生成银行文件",
                    required=False)
    return Item("first_payment", label, True,
                f"首个发放批次：{first}（{first.get_status_display()}）", "", required=False)


ITEMS: tuple[Callable[[str, dt.date], Item], ...] = (
    policy, calendar, bank_layout, keys, backups, accounts, caseload, reconciled, first_payment)


def check(district_code: str, day: dt.date) -> list[Item]:
    """The checklist of a district (its 6-digit code) on `day`, in the order of `ITEMS`."""
    return [item(district_code, day) for item in ITEMS]


def ready(items: list[Item]) -> bool:
    return all(i.ok for i in items if i.required)


def districts() -> list[str]:
    """The districts this deployment works for: those of the served areas and registered
    households, of go-live imports and of the accounts set at a district or below."""
    from doudi.accounts.models import User
    from doudi.policy.management.commands.policy import deployed_areas

    codes = set(deployed_areas())
    codes |= set(GoliveImport.objects.values_list("area_code", flat=True).distinct())
    codes |= set(User.objects.filter(is_active=True, area__isnull=False)
                 .values_list("area__prefix", flat=True).distinct())
    return sorted({c[:6] for c in codes if c and len(c) >= 6})
