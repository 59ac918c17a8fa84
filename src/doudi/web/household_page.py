"""The household page (家庭档案), assembled from what each app registers.

The page itself knows only the household (its number, area and address) and the audit log.
Everything else on it comes from the apps, each from its own `household_panels` module, which
the web app imports when it is ready (`autodiscover`, as Django's admin finds `admin.py`):

- **Panels**: `register_panel(Panel(...))`. The page draws the panels in `order`, each as
  `<section class="card" id="{key}"><h2>{title}</h2>…</section>` around the panel's own
  `template`, which sees the page's context plus what the panel's `context(request, household)`
  returned. A context of None leaves the panel out (the user may not see it).
- **Timeline sources**: `register_timeline(Model, ids)`. The 救助链时间线 shows the audit events
  about the rows of each registered model whose ids are among `ids(household)`, within the
  user's area. (An audit object type's Chinese name is its model's verbose name, or for a type
  that is no model the one its app declares: `doudi.audit.labels`.)

The care app's contribution, whole (its template in care/templates/doudi/household/):

    def visits(request, household):
        return {"visits": household.visits.select_related("person", "visitor")[:20],
                "visitable": [m.person for m in household.memberships.filter(
                    end_date__isnull=True).select_related("person").order_by("id")]}

    register_panel(Panel("visits", 80, "探访记录", "doudi/household/visits.html", visits))
    register_timeline(Visit, lambda household: household.visits.values_list("pk", flat=True))

A POST that fails re-draws the page with what the user typed: the view passes its bound form
or error message to `doudi.web.access.render_household(request, household, key=value)`, and
the panel that declared `key` in its `forms` receives it in place of its default.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from django.db.models import Model, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render as render_template
from django.utils.module_loading import autodiscover_modules

from doudi.audit.models import AuditEvent

if TYPE_CHECKING:
    from doudi.registry.models import Household

PanelContext = Callable[[HttpRequest, "Household"], "dict[str, Any] | None"]
TIMELINE_LENGTH = 100


@dataclass(frozen=True)
class Panel:
    """One section of the household page."""

    key: str  # unique; the section's id, so /households/1/#applications opens at it
    order: int  # position on the page, smallest first
    title: str  # the section's heading (Chinese)
    template: str  # the section's body
    context: PanelContext  # the body's context, or None when this user may not see the panel
    forms: tuple[str, ...] = ()  # context keys a failed POST may hand back (bound forms, errors)


@dataclass(frozen=True)
class TimelineSource:
    """Audit events of `object_type` (a model's label) about the rows `ids(household)` names."""

    object_type: str
    ids: Callable[[Household], Iterable[Any]]


class DrawnPanel(NamedTuple):
    panel: Panel
    context: dict[str, Any]


_panels: dict[str, Panel] = {}
_timeline: dict[str, TimelineSource] = {}


def register_panel(panel: Panel) -> Panel:
    if panel.key in _panels:
        raise ValueError(f"household panel {panel.key!r} is registered twice")
    _panels[panel.key] = panel
    return panel


def register_timeline(model: type[Model], ids: Callable[[Household], Iterable[Any]]) -> None:
    object_type = model._meta.label_lower  # what the audit log records (audit.signals)
    if object_type in _timeline:
        raise ValueError(f"timeline source {object_type!r} is registered twice")
    _timeline[object_type] = TimelineSource(object_type, ids)


def autodiscover() -> None:
    """Import every installed app's `household_panels` module (each registers itself)."""
    autodiscover_modules("household_panels")


def panels() -> list[Panel]:
    return sorted(_panels.values(), key=lambda p: (p.order, p.key))


def timeline_sources() -> list[TimelineSource]:
    return list(_timeline.values())


def timeline(request: HttpRequest, household: Household) -> list[AuditEvent]:
    """The household's 救助链: the latest events of every registered source in the user's area."""
    about = Q(pk__in=[])
    for source in _timeline.values():
        # object_id is text in the audit log, whatever the key's type
        about |= Q(object_type=source.object_type,
                   object_id__in=[str(pk) for pk in source.ids(household)])
    return list(AuditEvent.objects.filter(about)
                .filter(area_code__startswith=request.user.scope_prefix)
                .order_by("-at", "-id")[:TIMELINE_LENGTH])


def render(request: HttpRequest, household: Household,
           forms: Mapping[str, Any] | None = None) -> HttpResponse:
    """The page: the registered panels this user may see, in order, then the timeline."""
    forms = forms or {}
    unknown = set(forms) - {key for panel in _panels.values() for key in panel.forms}
    if unknown:
        raise TypeError(f"no household panel takes {sorted(unknown)}")
    drawn = []
    for panel in panels():
        context = panel.context(request, household)
        if context is None:
            continue
        context.update((key, forms[key]) for key in panel.forms if key in forms)
        drawn.append(DrawnPanel(panel, context))
    return render_template(request, "doudi/household_detail.html", {
        "household": household, "ancestors": household.area.ancestors(), "panels": drawn,
        "timeline": timeline(request, household),
    })
