"""Campaigns (摸底排查, 回头看, 互查, 随机抽查): a district draws a seeded sample of the covered
households per town and programme, teams check each against the checklist, every problem
becomes a corrective task for the town with a deadline, and the summary is generated from
the findings."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

import polars as pl
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q

from doudi.accounts import roles
from doudi.areas.scoping import in_scope
from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.benefits.models import Enrollment
from doudi.casework.models import Application
from doudi.core import clock
from doudi.core.errors import ServiceError
from doudi.core.excel import one_sheet
from doudi.core.shares import percent, ratio_bp
from doudi.registry.models import Household
from doudi.reports import sampling
from doudi.reports.models import (
    CHECKLIST,
    SAMPLE_BASES,
    Campaign,
    CampaignFinding,
    CampaignSample,
)


class CampaignError(ServiceError):
    """A refused campaign action; the message is Chinese."""


# Who a campaign may sample (抽样范围): the households covered on the day, and — where the
# campaign asks — those refused (不予批准) or whose assistance ended (退出) over the year before,
# so a 回头看 also checks that nobody was turned away or dropped wrongly (应保未保).
ENROLLED, EXITED, REFUSED = "enrolled", "exited", "refused"
assert set(SAMPLE_BASES) == {ENROLLED, EXITED, REFUSED} and sampling.COVERED == ENROLLED
LOOK_BACK_DAYS = 365
SCHEMA = {"household_id": pl.Int64, "town": pl.String, "programme": pl.String,
          "basis": pl.String}


def population(area: str, programmes: list[str], day: dt.date, *, refused: bool = False,
               exited: bool = False) -> pl.DataFrame:
    """Households of the area by programme, with their town and why they are in it (`basis`):
    covered on `day` (在保); with `exited`, those whose enrollment ended in the year up to
    `day` and are not covered again; with `refused`, those whose application was refused
    (不予批准) in that year and are neither covered nor exited. One row per household and
    programme, the first basis in that order."""
    since = day - dt.timedelta(days=LOOK_BACK_DAYS)
    rows: dict[tuple[int, str], tuple[str, str]] = {}
    covered = (Enrollment.objects.filter(area_code__startswith=area, programme__in=programmes,
                                         start_date__lte=day)
               .filter(Q(end_date__isnull=True) | Q(end_date__gt=day))
               .values_list("household_id", "area_code", "programme").distinct())
    for h, code, p in covered:
        rows.setdefault((h, p), (code[:9], ENROLLED))
    if exited:
        ended = (Enrollment.objects.filter(area_code__startswith=area, programme__in=programmes,
                                           end_date__gt=since, end_date__lte=day)
                 .values_list("household_id", "area_code", "programme").distinct())
        for h, code, p in ended:
            rows.setdefault((h, p), (code[:9], EXITED))
    if refused:
        turned_away = (Application.objects.filter(
            area_code__startswith=area, programme__in=programmes, decision="refused",
            decided_on__gt=since, decided_on__lte=day)
            .values_list("household_id", "area_code", "programme").distinct())
        for h, code, p in turned_away:
            rows.setdefault((h, p), (code[:9], REFUSED))
    return pl.DataFrame([(h, town, p, basis) for (h, p), (town, basis) in sorted(rows.items())],
                        schema=SCHEMA, orient="row")


def start(*, by, name: str, kind: str, programmes: list[str], rate_bp: int, seed: int,  # noqa: ANN001
          starts_on: dt.date, due_on: dt.date, correction_days: int = 30,
          include_refused: bool = False, include_exited: bool = False) -> Campaign:
    area = getattr(by, "scope_prefix", "")
    if not by.can(roles.START_CAMPAIGN) or not in_scope(by, area, roles.VIEW_REGISTRY):
        raise PermissionDenied("检查活动由区县民政部门组织")
    if kind not in dict(Campaign._meta.get_field("kind").choices):
        raise CampaignError("请选择检查类型")
    if not name.strip() or not programmes:
        raise CampaignError("请填写名称并选择救助项目")
    if due_on < starts_on:
        raise CampaignError("完成期限不能早于开始日期")
    try:
        drawn = sampling.sample(population(area, programmes, starts_on,
                                           refused=include_refused, exited=include_exited),
                                seed, rate_bp)
    except ValueError as exc:
        raise CampaignError(str(exc)) from exc
    with transaction.atomic():
        campaign = Campaign.objects.create(
            name=name.strip()[:100], kind=kind, programmes=programmes, rate_bp=rate_bp,
            seed=seed, starts_on=starts_on, due_on=due_on, correction_days=correction_days,
            include_refused=include_refused, include_exited=include_exited,
            created_by=by, area_code=area)
        areas = dict(Household.objects.filter(id__in=drawn["household_id"].to_list())
                     .values_list("id", "area_code"))
        CampaignSample.objects.bulk_create([
            CampaignSample(campaign=campaign, household_id=r["household_id"], town=r["town"],
                           programme=r["programme"], basis=r["basis"],
                           area_code=areas[r["household_id"]])
            for r in drawn.iter_rows(named=True)], batch_size=2000)
        audit.record(AuditEvent.CREATE, object_type="reports.campaign", object_id=campaign.pk,
                     object_label=f"发起{campaign}，抽取 {drawn.height} 户（种子 {seed}）",
                     area_code=area)
    return campaign


def check(*, by, sample: CampaignSample, problems: dict[str, str],  # noqa: ANN001
          checked_on: dt.date) -> list[CampaignFinding]:
    """The checklist result for a sampled household: each problem (item → description)
    becomes a corrective task due `correction_days` after the check, marked with who found it
    (本级检查, 互查 or 第三方评估, `reports.assignments`)."""
    from doudi.reports import assignments

    # the sample's own area, or a running 互查 / 第三方评估 assignment naming it
    source = assignments.source_of(by, sample)
    if source is None:
        raise PermissionDenied("无权登记该户的检查结果")
    if sample.campaign.status == Campaign.CLOSED:
        raise CampaignError("检查活动已结束")
    unknown = set(problems) - set(CHECKLIST)
    if unknown:
        raise CampaignError("未知检查项")
    if any(not text.strip() for text in problems.values()):
        raise CampaignError("请描述发现的问题")
    due = checked_on + dt.timedelta(days=sample.campaign.correction_days)
    with transaction.atomic():
        sample.checked_by, sample.checked_on = by, checked_on
        sample.save(update_fields=["checked_by", "checked_on"])
        # a new check replaces the open findings of the same kind of check (互查 does not
        # erase what the town's own check or an evaluator found)
        sample.findings.filter(corrected_on__isnull=True, source=source).delete()
        return [CampaignFinding.objects.create(sample=sample, item=item, note=text.strip()[:300],
                                               due_on=due, area_code=sample.area_code,
                                               source=source, recorded_by=by)
                for item, text in problems.items()]


def correct(*, by, finding: CampaignFinding, correction: str,  # noqa: ANN001
            corrected_on: dt.date) -> CampaignFinding:
    if not in_scope(by, finding.area_code, roles.EDIT_REGISTRY):
        raise PermissionDenied("无权登记整改")
    if not correction.strip():
        raise CampaignError("请填写整改情况")
    finding.correction, finding.corrected_on = correction.strip()[:300], corrected_on
    finding.save()
    return finding


@dataclass
class TownSummary:
    town: str
    sampled: int
    checked: int
    with_problems: int
    problems: int
    corrected: int
    overdue: int
    by_item: dict[str, int]

    @property
    def error_rate_bp(self) -> int | None:
        return ratio_bp(self.with_problems, self.checked)


def summary(campaign: Campaign, today: dt.date | None = None) -> list[TownSummary]:
    """The campaign's report, by town, generated from its samples and findings."""
    today = today or clock.today()
    towns: dict[str, dict] = defaultdict(lambda: {"sampled": set(), "checked": set(),
                                                  "bad": set(), "problems": 0, "corrected": 0,
                                                  "overdue": 0, "items": defaultdict(int)})
    for s in campaign.samples.all():
        t = towns[s.town]
        t["sampled"].add(s.household_id)
        if s.checked_on:
            t["checked"].add(s.household_id)
    for f in CampaignFinding.objects.filter(sample__campaign=campaign).select_related("sample"):
        t = towns[f.sample.town]
        t["bad"].add(f.sample.household_id)
        t["problems"] += 1
        t["items"][f.item] += 1
        if f.corrected_on:
            t["corrected"] += 1
        elif f.due_on < today:
            t["overdue"] += 1
    return [TownSummary(town, len(t["sampled"]), len(t["checked"]), len(t["bad"]),
                        t["problems"], t["corrected"], t["overdue"], dict(t["items"]))
            for town, t in sorted(towns.items())]


def summary_xlsx(campaign: Campaign, names: dict[str, str]) -> bytes:
    """The summary as the bureau's Excel sheet."""
    header = ["镇街", "抽查户数", "已检查", "发现问题户数", "问题数", "已整改", "逾期未整改",
              "问题户比例", *CHECKLIST.values()]

    def line(row: TownSummary) -> list:
        rate = row.error_rate_bp
        return [names.get(row.town, row.town), row.sampled, row.checked, row.with_problems,
                row.problems, row.corrected, row.overdue,
                percent(rate),
                *(row.by_item.get(k, 0) for k in CHECKLIST)]

    return one_sheet("检查情况汇总", header, (line(r) for r in summary(campaign)),
                     title=f"{campaign}（{campaign.starts_on}—{campaign.due_on}）")
