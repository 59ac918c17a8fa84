"""Template context: the navigation a user sees follows their capabilities, and so does every
form and button (`may`)."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from doudi.accounts import roles


class Capabilities:
    """What a template asks before it shows a form or a button: `{% if may.EDIT_REGISTRY %}`
    is `user.can(roles.EDIT_REGISTRY)`. The one place that decides what a page offers from
    the user's capabilities, so a page never shows a form its POST would refuse with 403.
    A name that is not a capability constant of `accounts.roles` is an error, not a silent
    "no" (a misspelt name would otherwise hide a button from everyone)."""

    def __init__(self, user) -> None:  # noqa: ANN001
        self.user = user

    def __getitem__(self, name: str) -> bool:
        capability = getattr(roles, name, None)
        if not name.isupper() or capability not in roles.CAPABILITIES:
            raise ImproperlyConfigured(f"may.{name}: not a capability of accounts.roles")
        return bool(self.user is not None and self.user.is_authenticated
                    and self.user.can(capability))


def navigation(request) -> dict:  # noqa: ANN001
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": [], "may": Capabilities(None)}
    items = [("首页", reverse("home"))]
    if user.can(roles.VIEW_REGISTRY):
        items.append(("待办", reverse("work_queue")))
        items.append(("监测预警", reverse("monitoring")))
        items.append(("探访关爱", reverse("care_home")))
        items.append(("统计分析", reverse("reports")))
        items.append(("社会力量", reverse("organisations")))
        items.append(("家庭档案", reverse("household_list")))
        items.append(("资金发放", reverse("payments")))
        items.append(("政策参数", reverse("policy_list")))
    if user.can(roles.VIEW_ASSIGNED) and user.can(roles.CHECK_SAMPLE):
        items.append(("评估任务", reverse("campaigns")))
    if user.can(roles.VIEW_ASSIGNED) and user.can(roles.RECORD_VISIT):
        items.append(("我的探访对象", reverse("visitors")))
    # 乡村振兴 staff's one page; registry users reach it from 监测预警
    if user.can(roles.VIEW_RURAL_WATCH) and not user.can(roles.VIEW_REGISTRY):
        items.append(("防返贫监测", reverse("rural_home")))
    if user.can(roles.ANSWER_REFERRALS):
        items.append(("转介待办", reverse("referrals")))
    if user.can(roles.SERVE_NEEDS):
        items.append(("救助需求", reverse("needs")))
    if user.can(roles.EDIT_POLICY):
        items.append(("节假日", reverse("holiday_calendar")))
        items.append(("发文机关", reverse("offices")))
    if user.can(roles.IMPORT_FEEDS):
        items.append(("部门数据", reverse("exchange_home")))
    if user.can(roles.GO_LIVE):
        items.append(("上线迁移", reverse("golive:checklist")))
    # 推送名单 is reached from 部门数据 by those who also import
    if user.can(roles.PRODUCE_OUTBOUND) and not user.can(roles.IMPORT_FEEDS):
        items.append(("推送名单", reverse("outbound_home")))
    if user.can(roles.SIMULATE_RULES):
        items.append(("调标测算", reverse("rules_simulate")))
    if user.can(roles.VIEW_AUDIT):
        items.append(("审计日志", reverse("audit_list")))
    if user.can(roles.MANAGE_USERS) or user.can(roles.MANAGE_SECURITY) or user.can(
            roles.VIEW_AUDIT):
        items.append(("用户管理", reverse("user_list")))
    return {"nav": items, "may": Capabilities(user)}
