"""个人信息查阅 page: a resident asks what the bureau holds about them and who has looked at
it; staff allowed to see full data in the resident's area answer from the audit log, on screen
or as an Excel file. Producing the answer is itself a full view (or an export), audited."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from doudi.accounts import roles
from doudi.audit import personal_access
from doudi.audit.models import AuditEvent
from doudi.registry.models import Person
from doudi.web.excel import download


@login_required
def personal_access_view(request: HttpRequest, person_id: int) -> HttpResponse:
    if not request.user.can(roles.VIEW_FULL_PII):
        raise PermissionDenied("没有此项权限")
    person = Person.objects.visible_to(request.user).filter(pk=person_id).first()
    if person is None:
        raise Http404("人员不存在或不在您的管辖范围内")
    if request.method != "POST":
        return render(request, "doudi/personal_access.html", {"person": person, "rep": None})
    if request.POST.get("format") == "xlsx":
        rep = personal_access.report(person, by=request.user, action=AuditEvent.EXPORT)
        return download(personal_access.to_xlsx(rep), f"个人信息查阅_{person.masked_name}.xlsx")
    rep = personal_access.report(person, by=request.user, action=AuditEvent.VIEW_FULL)
    return render(request, "doudi/personal_access.html", {"person": person, "rep": rep})
