"""调标重算: when a standard changes, recompute every active enrollment of a programme with the
rules as of the effective date, show the differences by town, and — after a second person's
review — apply them as dated 增发/减发 events. Never a silent overwrite: nothing changes until
applied, and each change is an event with the recalculation as its reason.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from doudi.accounts import roles
from doudi.areas.models import Area
from doudi.areas.scoping import in_scope
from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.benefits import services
from doudi.benefits.models import Enrollment, Recalculation, RecalculationLine
from doudi.policy.services import parameter_set
from doudi.programmes import catalogue
from doudi.registry.models import Household
from doudi.registry.rules_input import build_frames
from doudi.rules.engine import evaluate, unavailable
from doudi.rules.parameters import label_of
from doudi.rules.programmes import PROGRAMMES


def recalculate(*, by, programme: str, effective_date: dt.date, area_code: str,  # noqa: ANN001
                reason: str) -> Recalculation:
    rules = PROGRAMMES.get(programme)
    if rules is None or rules.amount is None or rules.level != "household":
        raise services.BenefitsError("该项目不按家庭计算月保障金，不能批量重算")
    area = Area.objects.filter(code=area_code.ljust(12, "0")).first()
    if area is None or not by.can(roles.RECALCULATE) or \
            not in_scope(by, area.code, roles.VIEW_REGISTRY):
        raise PermissionDenied("调标重算由区县民政部门发起")
    if not reason.strip():
        raise services.BenefitsError("请填写重算原因（如新低保标准文号）")
    enrollments = list(Enrollment.objects.filter(
        area_code__startswith=area.prefix, programme=programme,
        status__in=(Enrollment.ACTIVE, Enrollment.SUSPENDED)).exclude(
        start_date__gt=effective_date))
    households = Household.objects.filter(pk__in={e.household_id for e in enrollments})
    h, m = build_frames(households, effective_date)
    result = evaluate(h, m, parameter_set(), effective_date)
    for _, code, key in unavailable(result.households, [rules]):
        raise services.BenefitsError(
            f"{rules.label}不可计算：缺少参数 {label_of(key)}（区划 {code}，"
            f"{effective_date} 起），请先设定该参数再重算")
    ids = result.households["household_id"].cast(str).to_list()
    # an enrollment of a part is recomputed with its part's amount column
    column = {u.code: u.amount for u in catalogue.parts(programme) if u.amount}
    amounts = {part: dict(zip(ids, result.households[name].to_list(), strict=True))
               for part, name in {**column, "": rules.amount}.items()}
    summary: dict[str, dict[str, int]] = defaultdict(lambda: {"count": 0, "changed": 0,
                                                              "old_fen": 0, "new_fen": 0})
    with transaction.atomic():
        recalc = Recalculation.objects.create(
            programme=programme, effective_date=effective_date, reason=reason.strip()[:200],
            built_by=by, area_code=area.code)
        lines = []
        for e in enrollments:
            new = int(amounts.get(e.part, amounts[""]).get(str(e.household_id)) or 0)
            town = e.area_code[:9]
            s = summary[town]
            s["count"] += 1
            s["old_fen"] += e.amount_fen
            s["new_fen"] += new
            if new != e.amount_fen:
                s["changed"] += 1
                lines.append(RecalculationLine(recalculation=recalc, enrollment=e,
                                               old_fen=e.amount_fen, new_fen=new,
                                               area_code=e.area_code))
        RecalculationLine.objects.bulk_create(lines, batch_size=5000)
        recalc.summary = dict(sorted(summary.items()))
        recalc.save(update_fields=["summary"])
        audit.record(AuditEvent.CREATE, object_type="benefits.recalculation",
                     object_id=recalc.pk, object_label=f"测算{recalc}：{len(lines)} 户变化",
                     area_code=area.code)
    return recalc


def apply(*, by, recalc: Recalculation) -> int:  # noqa: ANN001
    """Apply the differences as events dated the effective date (checker, not the maker)."""
    if recalc.status != Recalculation.PENDING:
        raise services.BenefitsError("该重算已处理")
    if not by.can(roles.APPLY_RECALCULATION) or \
            not in_scope(by, recalc.area_code, roles.VIEW_REGISTRY):
        raise PermissionDenied("调标重算由区县审批人员审核执行")
    if recalc.built_by_id == by.pk:
        raise PermissionDenied("发起测算的人员不能审核执行同一重算（双人复核）")
    changed = 0
    with transaction.atomic():
        for line in recalc.lines.select_related("enrollment"):
            e = line.enrollment
            if e.status not in (Enrollment.ACTIVE, Enrollment.SUSPENDED):
                continue  # ended since the recalculation: nothing to change
            services.change(by=by, enrollment=e,
                            kind="increase" if line.new_fen > line.old_fen else "decrease",
                            effective_date=recalc.effective_date, amount_fen=line.new_fen,
                            reason=f"调标重算：{recalc.reason}")
            changed += 1
        recalc.status, recalc.applied_by, recalc.applied_at = (
            Recalculation.APPLIED, by, timezone.now())
        recalc.save(update_fields=["status", "applied_by", "applied_at"])
        audit.record(AuditEvent.UPDATE, object_type="benefits.recalculation",
                     object_id=recalc.pk, object_label=f"执行{recalc}：{changed} 户",
                     area_code=recalc.area_code)
    return changed
