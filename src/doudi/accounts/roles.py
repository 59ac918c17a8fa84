"""Roles (角色) and what each may do (capabilities). Pure data: the UI, the API and the tests
read this table, so a new role or capability is one row here.

三员分立: the system, security and audit administrators are separate roles and none of them
sees personal data in the registry.
"""

from __future__ import annotations

from dataclasses import dataclass

# Capabilities
VIEW_REGISTRY = "registry.view"  # 查看低收入人口信息 (masked)
EDIT_REGISTRY = "registry.edit"  # 新增/修改家庭与人员
VIEW_FULL_PII = "registry.view_full"  # 查看完整身份证号等 (audited each time)
EXPORT_REGISTRY = "registry.export"  # 导出名单 (masked)
VIEW_AUDIT = "audit.view"  # 查看审计日志
MANAGE_USERS = "accounts.manage"  # 账号管理
MANAGE_SECURITY = "accounts.security"  # 角色授权、安全策略
EDIT_POLICY = "policy.edit"  # 设定本级及下级区划的政策参数 (dated, audited)
SIMULATE_RULES = "rules.simulate"  # 测算政策参数调整的影响
IMPORT_FEEDS = "exchange.import"  # 导入部门数据、查看批次与错误报告
MANAGE_FEEDS = "exchange.manage"  # 新增/修改数据接口类型
VERIFY = "exchange.verify"  # 生成与查看家庭经济状况核对报告
PUSH_FEEDS = "exchange.push"  # 部门接口：推送本部门数据、读取授权的结果
RUN_MONITORING = "monitoring.run"  # 发起监测比对运行
TUNE_INDICATORS = "monitoring.tune"  # 调整本级预警指标的阈值、启停
HOTLINE = "monitoring.hotline"  # 12345 热线系统：推送工单、读取办理结果
SERVE_NEEDS = "community.serve"  # 社会力量：查看发布给本组织的救助需求（脱敏）、认领、反馈


@dataclass(frozen=True)
class Role:
    code: str
    label: str
    capabilities: frozenset[str]
    levels: tuple[int, ...]  # area levels a holder may belong to (1 省 … 5 村)


_CASEWORK = frozenset({VIEW_REGISTRY, EDIT_REGISTRY, VIEW_FULL_PII, EXPORT_REGISTRY, VERIFY})

ROLES: dict[str, Role] = {
    r.code: r
    for r in [
        Role("village_assistant", "村协理员", _CASEWORK - {EXPORT_REGISTRY}, (5,)),
        Role("town_officer", "镇街经办", _CASEWORK, (4,)),
        Role("town_approver", "镇街审批", _CASEWORK, (4,)),
        Role("district_officer", "区县经办",
             _CASEWORK | {SIMULATE_RULES, IMPORT_FEEDS, RUN_MONITORING}, (3,)),
        Role("district_approver", "区县审批",
             _CASEWORK | {SIMULATE_RULES, IMPORT_FEEDS, RUN_MONITORING}, (3,)),
        Role("district_admin", "区县业务管理员",
             frozenset({VIEW_REGISTRY, EDIT_POLICY, SIMULATE_RULES, IMPORT_FEEDS, MANAGE_FEEDS,
                        RUN_MONITORING, TUNE_INDICATORS}), (1, 2, 3)),
        Role("supervisor", "上级监督", frozenset({VIEW_REGISTRY, EXPORT_REGISTRY}), (1, 2, 3)),
        Role("sysadmin", "系统管理员", frozenset({MANAGE_USERS}), (1, 2, 3)),
        Role("security_admin", "安全管理员", frozenset({MANAGE_SECURITY}), (1, 2, 3)),
        Role("audit_admin", "审计管理员", frozenset({VIEW_AUDIT}), (1, 2, 3)),
        # 部门接口账号: a department's machine account (医保、残联 …), named by `department`.
        Role("department", "部门数据接口", frozenset({PUSH_FEEDS}), (1, 2, 3)),
        # the 12345 hotline centre's machine account: pushes tickets, reads their outcome
        Role("hotline", "12345热线接口", frozenset({HOTLINE}), (1, 2, 3)),
        # a social organisation's account: the needs published to it, masked; nothing else
        Role("org_staff", "社会力量", frozenset({SERVE_NEEDS}), (3, 4)),
    ]
}

ROLE_CHOICES = [(r.code, r.label) for r in ROLES.values()]

# 三员分立 and machine accounts: a holder of one of these roles holds no other role, so the
# system, security and audit administrators cannot do each other's work or touch case data,
# and a department's or organisation's account is never also a person's working account.
EXCLUSIVE_ROLES = frozenset({"sysadmin", "security_admin", "audit_admin", "department",
                             "hotline", "org_staff"})


def conflict(role_codes: list[str] | set[str]) -> str:
    """Why these roles may not be held together ("" when they may)."""
    codes = set(role_codes)
    alone = codes & EXCLUSIVE_ROLES
    if alone and len(codes) > 1:
        first = ROLES[sorted(alone)[0]]
        others = "、".join(ROLES[c].label for c in sorted(codes - {first.code}))
        return f"三员分立：{first.label}不能同时担任{others}"
    return ""


def capabilities_of(role_codes: list[str] | set[str]) -> frozenset[str]:
    caps: set[str] = set()
    for code in role_codes:
        caps |= ROLES[code].capabilities
    return frozenset(caps)
