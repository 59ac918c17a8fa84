"""互查 and 第三方评估: a campaign's sampled households given to someone who does not own them.

The district that runs a campaign gives one town's sample to the officers of another town
(互查: every officer of the checking town who checks samples), or a town's sample — or the whole
sample — to an evaluator's account (第三方评估机构). The assignment runs for the campaign's dates
and only while the campaign is running. While it runs, `areas.scoping` admits the assigned
samples and their campaign to the assignee (masked pages, read-only); `campaigns.check`
lets the assignee record findings on them, marked with who found them (互查 / 第三方评估), and
the towns' performance page counts them with the rest. After the campaign ends, or the
assignment is ended, nothing of it is visible.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet

from doudi.accounts import roles
from doudi.areas.models import Area
from doudi.areas.scoping import in_scope, register_assignments
from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.core import clock
from doudi.reports.campaigns import CampaignError as AssignmentError
from doudi.reports.models import Campaign, CampaignAssignment, CampaignSample

PEER, EVALUATOR = "peer", "evaluator"


def _mine(user, prefix: str = "") -> Q | None:  # noqa: ANN001
    """The assignments naming the user: their own account, or (for an officer of a town who
    checks samples) their town."""
    if not user.can(roles.CHECK_SAMPLE):
        return None
    mine = Q(**{f"{prefix}assignee": user})
    scope = user.scope_prefix or ""
    if len(scope) == 9 and user.can(roles.VIEW_REGISTRY):
        mine |= Q(**{f"{prefix}assignee_town": scope})
    return mine


def _running(day: dt.date, prefix: str = "") -> Q:
    return Q(**{f"{prefix}valid_from__lte": day, f"{prefix}valid_to__gte": day,
                f"{prefix}campaign__status": Campaign.RUNNING})


def active_for(user, day: dt.date | None = None) -> QuerySet[CampaignAssignment]:  # noqa: ANN001
    """The user's assignments running on `day` (today)."""
    mine = _mine(user)
    if mine is None or not user.is_active:
        return CampaignAssignment.objects.none()
    return CampaignAssignment.objects.filter(mine, _running(day or clock.today()))


def _samples(user, day: dt.date) -> QuerySet | None:  # noqa: ANN001
    mine = _mine(user, "assignments__")
    if mine is None:
        return None
    return CampaignSample.objects.filter(mine & _running(day, "assignments__")).values("pk")


def _campaigns(user, day: dt.date) -> QuerySet | None:  # noqa: ANN001
    mine = _mine(user, "assignments__")
    if mine is None:
        return None
    return Campaign.objects.filter(mine & _running(day, "assignments__")).values("pk")


def register() -> None:
    """The scoping door's sources for the keys `sample` and `campaign` (ReportsConfig.ready)."""
    register_assignments("sample", _samples)
    register_assignments("campaign", _campaigns)


def source_of(user, sample: CampaignSample) -> str | None:  # noqa: ANN001
    """How the user may record findings on the sample: "own" (the sample is in their area),
    the kind of their running assignment naming it, or None."""
    if not user.can(roles.CHECK_SAMPLE):
        return None
    if in_scope(user, sample.area_code, roles.VIEW_REGISTRY):
        return "own"
    row = active_for(user).filter(samples=sample).order_by("id").first()
    return row.kind if row is not None else None


def _town(code: str, campaign: Campaign, label: str) -> str:
    code = (code or "").strip()
    if not (len(code) == 9 and code.startswith(campaign.area_code[:9])
            and Area.objects.filter(code=code.ljust(12, "0"), level=4).exists()):
        raise AssignmentError(f"请选择活动范围内的{label}")
    return code


@transaction.atomic
def assign(*, by, campaign: Campaign, kind: str, checked_town: str = "",  # noqa: ANN001
           assignee_town: str = "", assignee=None) -> CampaignAssignment:  # noqa: ANN001
    """Give a campaign's sample (of one town, or all of it for an evaluator) to another town's
    officers (互查) or to an evaluator's account (第三方评估), for the campaign's dates."""
    if not by.can(roles.START_CAMPAIGN) or not in_scope(by, campaign.area_code,
                                                         roles.VIEW_REGISTRY):
        raise PermissionDenied("检查分配由组织检查活动的区县民政部门办理")
    if campaign.status != Campaign.RUNNING:
        raise AssignmentError("检查活动已结束")
    if kind == PEER:
        checked = _town(checked_town, campaign, "被检查镇街")
        checking = _town(assignee_town, campaign, "互查镇街")
        if checked == checking:
            raise AssignmentError("互查须由另一个镇街检查，不能检查本镇街的抽样")
        assignee = None
    elif kind == EVALUATOR:
        checked = _town(checked_town, campaign, "被检查镇街") if checked_town else ""
        checking = ""
        # an evaluator's account: it checks samples and reads only what is assigned to it
        if assignee is None or not (assignee.is_active and assignee.can(roles.CHECK_SAMPLE)
                                    and assignee.can(roles.VIEW_ASSIGNED)
                                    and not assignee.can(roles.VIEW_REGISTRY)):
            raise AssignmentError("请选择第三方评估机构的账号")
        if not (assignee.area_id or "").startswith(campaign.area_code[:6]) and not \
                campaign.area_code.startswith(assignee.scope_prefix or "\0"):
            raise AssignmentError("该评估机构账号不在本活动的区划内")
    else:
        raise AssignmentError("请选择互查或第三方评估")
    samples = campaign.samples.filter(town=checked) if checked else campaign.samples.all()
    if not samples.exists():
        raise AssignmentError("被检查镇街在本活动中没有抽样家庭")
    row = CampaignAssignment.objects.create(
        campaign=campaign, kind=kind, assignee=assignee, assignee_town=checking,
        checked_town=checked, valid_from=campaign.starts_on, valid_to=campaign.due_on,
        created_by=by, area_code=campaign.area_code)
    row.samples.set(samples)
    audit.record(AuditEvent.UPDATE, object_type="reports.campaignassignment", object_id=row.pk,
                 object_label=f"{row}：{samples.count()} 户", area_code=campaign.area_code)
    return row


@transaction.atomic
def end(*, by, assignment: CampaignAssignment) -> CampaignAssignment:  # noqa: ANN001
    """End an assignment today: from tomorrow the assignee sees nothing of it."""
    if not by.can(roles.START_CAMPAIGN) or not in_scope(by, assignment.area_code,
                                                         roles.VIEW_REGISTRY):
        raise PermissionDenied("检查分配由组织检查活动的区县民政部门办理")
    today = clock.today()
    assignment.valid_to = min(assignment.valid_to, today - dt.timedelta(days=1))
    assignment.valid_from = min(assignment.valid_from, assignment.valid_to)
    assignment.save()
    return assignment
