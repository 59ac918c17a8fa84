"""The one door for reading area-owned rows: `Model.objects.visible_to(user)`.

Every area-owned model carries the 12-digit `area_code` of the village (or town) that owns it,
so scope is a prefix test on one indexed column. Views, API, exports and jobs all come here.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import models

from doudi.accounts import roles


class AreaScopedQuerySet(models.QuerySet):
    def visible_to(self, user, capability: str = roles.VIEW_REGISTRY) -> AreaScopedQuerySet:  # noqa: ANN001
        if user is None or not user.is_authenticated or not user.can(capability):
            return self.none()
        return self.filter(area_code__startswith=user.scope_prefix)

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
        and user.can(capability)
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
