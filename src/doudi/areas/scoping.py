"""The one door for reading area-owned rows: `Model.objects.visible_to(user)`.

Every area-owned model carries the 12-digit `area_code` of the village (or town) that owns it,
so scope is a prefix test on one indexed column. Views, API, exports and jobs all come here.

Assignments (分配) open the same door a little wider, for reading only and only while they run:
`visible_to(user, assigned=True)` also admits the rows an active assignment names — the sampled
households a campaign gave a town's officers to check (互查) or an evaluator to assess (第三方评估),
the persons a town gave a visitor (儿童主任、驻村干部、网格员、志愿者). An app registers, once, a
source per key (`register_assignments("sample", source)`: the ids an active assignment gives
the user on a day, as one subquery); a model names the field each key is matched on
(`assignment_keys = {"sample": "pk"}`). Writes never pass through an assignment here:
`in_scope` and `require` stay area rules, and a service that lets an assignee act (checking a
sample, recording a visit) asks this door whether the row is assigned.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.db import models

from doudi.accounts import roles

# key → source(user, day) → a queryset of the ids assigned to the user on that day, or None
AssignmentSource = Callable[[object, dt.date], "models.QuerySet | None"]
_ASSIGNMENT_SOURCES: dict[str, AssignmentSource] = {}
# who an assignment admits rows to: those who read by area (a town's officers in 互查) and
# those who read only what is assigned (evaluators, visitors); it admits them to the read
# (`visible_to` with `roles.VIEW_REGISTRY`), never to a write's capability
ASSIGNED_READS = frozenset({roles.VIEW_REGISTRY, roles.VIEW_ASSIGNED})


def by_area(user, capability: str) -> bool:  # noqa: ANN001
    """Whether the user holds `capability` over their area. A user who reads only what is
    assigned to them (an evaluator, a visitor: `roles.VIEW_ASSIGNED` without the registry)
    holds their other capabilities (checking a sample, recording a visit) over assigned rows
    only, never over the area their account belongs to."""
    return user.can(capability) and (user.can(roles.VIEW_REGISTRY)
                                     or not user.can(roles.VIEW_ASSIGNED))


def register_assignments(key: str, source: AssignmentSource) -> None:
    """An app's source of assigned ids for `key` (called from its AppConfig.ready)."""
    _ASSIGNMENT_SOURCES[key] = source


def assigned_q(model: type[models.Model], user, day: dt.date | None = None) -> models.Q | None:  # noqa: ANN001
    """The rows of `model` that the user's active assignments admit on `day` (today), or None
    when none can be: one `IN (subquery)` per key the model is matched on."""
    from doudi.core import clock

    if user is None or not user.is_authenticated or not user.is_active or user.area_id is None:
        return None
    if not any(user.can(c) for c in ASSIGNED_READS):
        return None
    day = day or clock.today()
    found = None
    for key, field in getattr(model, "assignment_keys", {}).items():
        source = _ASSIGNMENT_SOURCES.get(key)
        ids = source(user, day) if source is not None else None
        if ids is None:
            continue
        part = models.Q(**{f"{field}__in": ids})
        found = part if found is None else found | part
    return found


def is_assigned(user, row: models.Model) -> bool:  # noqa: ANN001
    """Whether an active assignment admits this row to the user (not its area)."""
    found = assigned_q(type(row), user)
    return found is not None and type(row)._default_manager.filter(found, pk=row.pk).exists()


class AreaScopedQuerySet(models.QuerySet):
    def visible_to(self, user, capability: str = roles.VIEW_REGISTRY, *,  # noqa: ANN001
                   assigned: bool = False, chain: bool = False) -> AreaScopedQuerySet:
        """The rows the user may read with `capability`: those of the user's area (with
        `chain`, also those kept at the areas above it — a district's campaign), and with
        `assigned` (reads only) those the user's active assignments name."""
        if user is None or not user.is_authenticated:
            return self.none()
        extra = assigned_q(self.model, user) if assigned and capability == roles.VIEW_REGISTRY \
            else None
        if not by_area(user, capability):
            return self.filter(extra) if extra is not None else self.none()
        prefix = user.scope_prefix
        own = along_chain(prefix) if chain else models.Q(area_code__startswith=prefix)
        return self.filter(own | extra if extra is not None else own)

    def in_area(self, prefix: str) -> AreaScopedQuerySet:
        return self.filter(area_code__startswith=prefix)


class AreaOwned(models.Model):
    area_code = models.CharField("区划代码", max_length=12, db_index=True)

    objects = AreaScopedQuerySet.as_manager()

    class Meta:
        abstract = True


def in_scope(user, area_code: str, capability: str = roles.VIEW_REGISTRY) -> bool:  # noqa: ANN001
    return (
        user is not None
        and user.is_authenticated
        and by_area(user, capability)
        and area_code.startswith(user.scope_prefix)
    )


def require(user, area_code: str, capability: str) -> None:  # noqa: ANN001
    """Raise PermissionDenied unless the user holds `capability` over `area_code`."""
    if not in_scope(user, area_code, capability):
        raise PermissionDenied("无权在该区划执行此操作")


def chain_prefixes(prefix: str) -> list[str]:
    """Every prefix an area's own rows could be kept at: '', '3', '34', … up to `prefix`."""
    return [prefix[:n] for n in range(len(prefix) + 1)]


def along_chain(prefix: str, field: str = "area_code") -> models.Q:
    """Rows of the area itself, of the areas above it (a city's campaign, a province's
    organisation) and of the areas below it."""
    return models.Q(**{f"{field}__in": chain_prefixes(prefix)}) | models.Q(
        **{f"{field}__startswith": prefix})
