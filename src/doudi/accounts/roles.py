"""Roles (角色) and what each may do (capabilities). Pure data: the UI, the API and the tests
read this table, so a new role or capability is one row here.

Code never asks which role a user holds; it asks for a capability (`user.can(CAPABILITY)`,
`areas.scoping.in_scope(user, area_code, CAPABILITY)`). A capability names one business act
or a family of acts taken at the same step; a role is a named set of capabilities and the
area levels it may be held at.

三员分立: the system, security and audit administrators are separate roles and none of them
sees personal data in the registry.
"""

from __future__ import annotations

from dataclasses import dataclass

# capability → 中文说明 (the docs and the account pages show it)
CAPABILITIES: dict[str, str] = {}


def _capability(code: str, label: str) -> str:
    CAPABILITIES[code] = label
    return code


# -- registry, audit, accounts, policy, department data, monitoring runs ----------------------
VIEW_REGISTRY = _capability("registry.view", "查看低收入人口信息（脱敏）")
EDIT_REGISTRY = _capability("registry.edit", "新增/修改家庭与人员")
VIEW_FULL_PII = _capability("registry.view_full", "查看完整身份证号等（每次审计）")
EXPORT_REGISTRY = _capability("registry.export", "导出名单（脱敏）")
VIEW_AUDIT = _capability("audit.view", "查看审计日志")
MANAGE_USERS = _capability("accounts.manage", "账号管理")
MANAGE_SECURITY = _capability("accounts.security", "角色授权、安全策略")
EDIT_POLICY = _capability("policy.edit", "设定本级及下级区划的政策参数（留痕）")
SIMULATE_RULES = _capability("rules.simulate", "测算政策参数调整的影响")
IMPORT_FEEDS = _capability("exchange.import", "导入部门数据、查看批次与错误报告")
MANAGE_FEEDS = _capability("exchange.manage", "新增/修改数据接口类型")
VERIFY = _capability("exchange.verify", "生成与查看家庭经济状况核对报告")
PUSH_FEEDS = _capability("exchange.push", "部门接口：推送本部门数据、读取授权的结果")
RUN_MONITORING = _capability("monitoring.run", "发起监测比对运行")
TUNE_INDICATORS = _capability("monitoring.tune", "调整本级预警指标的阈值、启停")
HOTLINE = _capability("monitoring.hotline", "12345 热线系统：推送工单、读取办理结果")
SERVE_NEEDS = _capability("community.serve",
                          "社会力量：查看发布给本组织的救助需求（脱敏）、认领、反馈")

# -- outbound lists (推送名单): lists Doudi sends to a department so that it can act ----------
# (exchange.outbound). District staff produce and download them as files; a department's
# machine account pulls the lists addressed to its own department, in its own area, by the API.
PRODUCE_OUTBOUND = _capability("exchange.produce_outbound",
                               "生成、下载推送给部门的名单（推送名单，按名单脱敏，每次审计）")
PULL_OUTBOUND = _capability("exchange.pull_outbound",
                            "部门接口：拉取推送给本部门的名单（全量或自上次拉取后的变动）")

# -- casework (救助申请): one per step of the workflow table (casework.workflow) -------------
INTAKE = _capability("casework.intake", "受理救助申请")
ACCEPT_ONLINE = _capability("casework.accept_online", "受理或不予受理网上申请")
RECORD_HOME_VISIT = _capability("casework.record_home_visit", "登记入户调查")
RECORD_DELIBERATION = _capability("casework.record_deliberation", "登记民主评议")
RECORD_WITHDRAWAL = _capability("casework.record_withdrawal", "登记申请人撤回")
TOWN_REVIEW = _capability("casework.town_review",
                          "镇街办理：完成核对、初审意见、公示异议与期满、送达书面通知")
RETURN_FOR_CORRECTION = _capability("casework.return_for_correction", "退回补正")
APPROVE = _capability("casework.approve", "审批/确认（未委托镇街时，区县审批）")
APPROVE_DELEGATED = _capability("casework.approve_delegated",
                                "受委托审批/确认（区县委托镇街时，镇街审批）")
TOP_UP_FUND = _capability("casework.top_up_fund", "向镇街拨付临时救助备用金")
ADVANCE_PAYMENT = _capability("casework.advance_payment", "先行救助（从镇街备用金支付）")

# -- 放权后监管: the district reviews what towns decided under delegated power (备案审查) --------
# Every delegated decision is filed (casework.filing); the district's approver and officer
# review the filings of their towns — confirm, or open a correction the town must record.
# Towns hold no part of it: nobody reviews their own decisions.
REVIEW_FILING = _capability("casework.review_filing",
                            "备案审查：审查镇街受委托作出的审批决定（确认或要求纠正）")

# -- benefits (待遇发放): the maker builds, a second person approves ----------------------------
CHANGE_ENROLLMENT = _capability("benefits.change_enrollment",
                                "保障金增发、减发、停发、恢复，复核后调整、渐退、停保")
BUILD_RUN = _capability("benefits.build_run", "生成发放花名册")
APPROVE_RUN = _capability("benefits.approve_run", "审核发放批次（双人复核）")
RETURN_RUN = _capability("benefits.return_run", "退回发放批次（写明原因，退回生成人修改）")
EXPORT_BANK_FILE = _capability("benefits.export_bank_file", "生成银行发放文件、导入银行回盘")
RECALCULATE = _capability("benefits.recalculate", "发起调标重算")
APPLY_RECALCULATION = _capability("benefits.apply_recalculation", "审核执行调标重算（双人复核）")
SET_BUDGET = _capability("benefits.set_budget", "登记资金预算")
# 收款人 changes money's destination: one person asks, a second approves (never their own)
REQUEST_PAYEE_CHANGE = _capability("benefits.request_payee_change",
                                   "申请变更收款人或收款账户（含补登账号）")
APPROVE_PAYEE_CHANGE = _capability("benefits.approve_payee_change",
                                   "审批收款人变更（双人复核，不能审批本人的申请）")
PAY_ONE_OFF = _capability("benefits.pay_one_off",
                          "登记一次性救助（临时救助）发放：现金、实物，或银行账户（待第二人复核）")

# -- care, community, monitoring handling ----------------------------------------------------
RECORD_VISIT = _capability("care.record_visit", "登记探访")
GENERATE_VISIT_TASKS = _capability("care.generate_tasks", "生成本辖区本月探访任务")
MANAGE_INSTITUTIONS = _capability("care.manage_institutions",
                                  "登记养老机构及各类设施、改造提升项目、护理型床位目标")
PUBLISH_NEED = _capability("community.publish_need", "向社会力量发布救助需求")
# a warning is handled at the level that owns it or above (monitoring.workflow.HANDLER)
HANDLE_VILLAGE_WARNING = _capability("monitoring.handle_warning.village",
                                     "核实处置村（社区）级预警")
HANDLE_TOWN_WARNING = _capability("monitoring.handle_warning.town", "核实处置乡镇（街道）级预警")
HANDLE_DISTRICT_WARNING = _capability("monitoring.handle_warning.district",
                                      "核实处置县（区）级预警")

# -- platform sync (与上级监测平台同步, docs/platform-sync.md): the package goes up, warnings
# come down. A package carries full resident IDs (the platform matches by them). The machine
# end of each exchange is a 部门数据接口 account whose department names it — 民政监测平台 (the
# platform above, at a district's Doudi: export, warnings) or 民政下级系统 (a district's Doudi,
# at the city's: import), `platform_sync.access`; the people are the district administrator
# (export) and the city's officer (import).
SYNC_EXPORT = _capability("sync.export",
                          "向上级监测平台导出低收入人口数据包（含完整身份证号，每次审计）")
SYNC_IMPORT = _capability("sync.import", "接收并导入下级报送的低收入人口数据包")
SYNC_WARNINGS = _capability("sync.warnings", "上级平台接口：下发预警、读取预警处置结果")

# -- referrals (转介): a working role sends, the receiving department's account answers ---------
SEND_REFERRALS = _capability("referrals.send",
                             "向医保、教育、住建等部门转介专项救助（从预警、申请或家庭）")
ANSWER_REFERRALS = _capability("referrals.answer",
                               "部门接口：查看转介给本部门的事项（脱敏）、答复受理/给予/不予救助")

# -- reports, place names --------------------------------------------------------------------
SUBMIT_FILING = _capability("reports.submit_filing", "填报、报送统计报表")
# receipt is the level above's act, granted explicitly: reading the reports does not imply it
RECEIVE_FILING = _capability("reports.receive_filing", "接收下级报送的统计报表（市、省）")
START_CAMPAIGN = _capability("reports.start_campaign", "组织抽查检查活动")
CHECK_SAMPLE = _capability("reports.check_sample", "登记抽查户的检查结果")
# 互查 / 第三方评估 / 探访人员: rows admitted by an assignment (areas.scoping, the one door) —
# the sampled households a campaign assigned, the persons a town assigned to a visitor — and
# only while the assignment runs; masked, read-only apart from the act assigned
VIEW_ASSIGNED = _capability("registry.view_assigned",
                            "查看分配给本人的抽查家庭或探访对象（脱敏，仅限分配期间）")
ASSIGN_VISITORS = _capability("care.assign_visitors",
                              "为探访人员（儿童主任、驻村干部、网格员、志愿者）分配探访对象")
REVIEW_NAMING = _capability("placenames.review_naming", "审核地名命名、更名申请（乡镇）")
APPROVE_NAMING = _capability("placenames.approve_naming", "审批地名命名、更名申请（县区）")
MANAGE_BOUNDARIES = _capability("placenames.manage_boundaries", "登记界线联检、处理界线问题")

# -- 乡村振兴 (rural revitalisation): its staff read the households it watches; 双线报送 --------
VIEW_RURAL_WATCH = _capability("rural.view",
                               "查看本区划防返贫监测户、脱贫户及其救助与预警（只读，脱敏）")
# the 乡村振兴 line's receipt of a report owed to both lines (民政 receives with RECEIVE_FILING)
RECEIVE_RURAL_FILING = _capability("reports.receive_rural_filing",
                                   "接收民政部门报送的乡村振兴条线报表（双线报送）")

# -- 上线迁移 (going live, docs/going-live.md): the district administrator brings the old
# system's caseload, payments and decisions in and reconciles them before the first roster;
# accounts from the staff spreadsheet are the system administrator's (MANAGE_USERS)
GO_LIVE = _capability("golive.import",
                      "上线迁移：导入原系统在保数据、历史发放与决定，上线对账、上线检查")


@dataclass(frozen=True)
class Role:
    code: str
    label: str
    capabilities: frozenset[str]
    levels: tuple[int, ...]  # area levels a holder may belong to (1 省 … 5 村)
    # 三员分立 and machine accounts: a holder of an exclusive role holds no other role, so the
    # system, security and audit administrators cannot do each other's work or touch case data,
    # and a department's or organisation's account is never also a person's working account.
    exclusive: bool = False
    # 三员 (the system, security and audit administrators): no administrator resets another
    # administrator's password or second factor alone — another administrator, of a different
    # role from the one who asked, approves it (accounts.services.request_reset).
    administrator: bool = False


# What the working roles share, village to district: the registry (masked; full values
# audited) and 核对, intake, 探访, publishing a need, handling a village's warnings.
_CASEWORK = frozenset({VIEW_REGISTRY, EDIT_REGISTRY, VIEW_FULL_PII, EXPORT_REGISTRY, VERIFY,
                       INTAKE, RECORD_VISIT, PUBLISH_NEED, HANDLE_VILLAGE_WARNING,
                       REQUEST_PAYEE_CHANGE, SEND_REFERRALS})
# the steps a village assistant records and a town records too
_VILLAGE = frozenset({RECORD_HOME_VISIT, RECORD_DELIBERATION, RECORD_WITHDRAWAL})
_TOWN = _CASEWORK | _VILLAGE | {ACCEPT_ONLINE, TOWN_REVIEW, RETURN_FOR_CORRECTION,
                                HANDLE_TOWN_WARNING, CHECK_SAMPLE, REVIEW_NAMING, PAY_ONE_OFF,
                                ASSIGN_VISITORS}
_DISTRICT = _CASEWORK | {SIMULATE_RULES, IMPORT_FEEDS, RUN_MONITORING, TOP_UP_FUND,
                         CHANGE_ENROLLMENT, BUILD_RUN, EXPORT_BANK_FILE, RECALCULATE, SET_BUDGET,
                         PAY_ONE_OFF, GENERATE_VISIT_TASKS, ASSIGN_VISITORS,
                         MANAGE_INSTITUTIONS, HANDLE_TOWN_WARNING, HANDLE_DISTRICT_WARNING,
                         SUBMIT_FILING, START_CAMPAIGN, CHECK_SAMPLE, APPROVE_NAMING,
                         MANAGE_BOUNDARIES, VIEW_RURAL_WATCH, PRODUCE_OUTBOUND,
                         REVIEW_FILING}

# -- 慈善捐赠 (charity and donations): the town and district offices record the funds and goods
# received from social forces and those given to households (community.services) -----------
RECORD_DONATION = _capability("community.record_donation",
                              "登记慈善资金、物资的接收与发放（社会力量捐赠）")
_TOWN = _TOWN | {RECORD_DONATION}
_DISTRICT = _DISTRICT | {RECORD_DONATION}

ROLES: dict[str, Role] = {
    r.code: r
    for r in [
        Role("village_assistant", "村协理员", _CASEWORK - {EXPORT_REGISTRY} | _VILLAGE, (5,)),
        Role("town_officer", "镇街经办", _TOWN, (4,)),
        Role("town_approver", "镇街审批",
             _TOWN | {APPROVE_DELEGATED, ADVANCE_PAYMENT, CHANGE_ENROLLMENT,
                      APPROVE_PAYEE_CHANGE}, (4,)),
        Role("district_officer", "区县经办", _DISTRICT, (3,)),
        Role("district_approver", "区县审批",
             _DISTRICT | {APPROVE, RETURN_FOR_CORRECTION, APPROVE_RUN, RETURN_RUN,
                          APPLY_RECALCULATION,
                          APPROVE_PAYEE_CHANGE},
             (3,)),
        Role("district_admin", "区县业务管理员",
             frozenset({VIEW_REGISTRY, EDIT_POLICY, SIMULATE_RULES, IMPORT_FEEDS, MANAGE_FEEDS,
                        RUN_MONITORING, TUNE_INDICATORS, SYNC_EXPORT, GO_LIVE}), (1, 2, 3)),
        # read-only: watches figures and reports above the district, writes nothing
        Role("supervisor", "上级监督", frozenset({VIEW_REGISTRY, EXPORT_REGISTRY,
                                                 VIEW_RURAL_WATCH}), (1, 2, 3)),
        # the city's or province's officer who receives the districts' statistical reports
        Role("upper_officer", "上级经办", frozenset({VIEW_REGISTRY, RECEIVE_FILING, SYNC_IMPORT}),
             (1, 2)),
        Role("sysadmin", "系统管理员", frozenset({MANAGE_USERS}), (1, 2, 3), exclusive=True,
             administrator=True),
        Role("security_admin", "安全管理员", frozenset({MANAGE_SECURITY}), (1, 2, 3),
             exclusive=True, administrator=True),
        Role("audit_admin", "审计管理员", frozenset({VIEW_AUDIT}), (1, 2, 3), exclusive=True,
             administrator=True),
        # 部门接口账号: a department's machine account (医保、残联 …), named by `department`.
        # the sync capabilities act only for 民政监测平台 / 民政下级系统 (platform_sync.access);
        # it answers the referrals (转介) addressed to its department within its area.
        Role("department", "部门数据接口",
             frozenset({PUSH_FEEDS, PULL_OUTBOUND, SYNC_EXPORT, SYNC_IMPORT, SYNC_WARNINGS,
                        ANSWER_REFERRALS}),
             (1, 2, 3),
             exclusive=True),
        # the 12345 hotline centre's machine account: pushes tickets, reads their outcome
        Role("hotline", "12345热线接口", frozenset({HOTLINE}), (1, 2, 3), exclusive=True),
        # 乡村振兴 staff (a person, not the department's machine account): the 防返贫 and 脱贫
        # households of their area with their assistance and warnings, read-only and masked,
        # and the receipt of the reports 民政 owes the 乡村振兴 line (双线报送)
        Role("rural_staff", "乡村振兴工作人员",
             frozenset({VIEW_RURAL_WATCH, RECEIVE_RURAL_FILING}), (1, 2, 3, 4)),
        # a social organisation's account: the needs published to it, masked; nothing else
        Role("org_staff", "社会力量", frozenset({SERVE_NEEDS}), (3, 4), exclusive=True),
        # 第三方评估机构: an outside assessor's account. It sees the sampled households a
        # campaign assigned to it, masked, while the campaign runs, and records what it finds
        # there (the campaign's findings); nothing else, no full ID (reports.assignments)
        Role("evaluator", "第三方评估机构", frozenset({VIEW_ASSIGNED, CHECK_SAMPLE}), (2, 3),
             exclusive=True),
        # 探访人员 who are not officers — 儿童主任、驻村干部、网格员、志愿者 (the kind is
        # named on each assignment): the persons a town assigned to them, masked, and visits
        # to those only (care.assignments)
        Role("visitor", "探访人员", frozenset({VIEW_ASSIGNED, RECORD_VISIT}), (4, 5)),
    ]
}

ROLE_CHOICES = [(r.code, r.label) for r in ROLES.values()]
EXCLUSIVE_ROLES = frozenset(r.code for r in ROLES.values() if r.exclusive)
ADMINISTRATOR_ROLES = frozenset(r.code for r in ROLES.values() if r.administrator)
# Capabilities that only read (each full view or export is audited; nothing else is written).
# A role holding only these, and not an administrator, is read-only: it writes nothing, which
# tests/test_security_findings_auth.py checks by walking every write route as each such role.
READ_CAPABILITIES = frozenset({VIEW_REGISTRY, EXPORT_REGISTRY, VIEW_AUDIT, VIEW_RURAL_WATCH,
                               VIEW_ASSIGNED})
READ_ONLY_ROLES = frozenset(r.code for r in ROLES.values()
                            if r.capabilities <= READ_CAPABILITIES and not r.administrator)


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

