"""Where a refused act (`doudi.core.errors.ServiceError`) becomes a page, in one place.

- A form: `add_to_form(form, exc)` puts each reason on the field it names (or on the form as
  a whole), so the page comes back with everything as typed and the reasons beside it.
- Anything else: a view lets the error go. `ServiceErrorMiddleware` shows its reasons as a
  page message and sends the browser back to the page the request came from (the form's
  page); a request with no page to go back to gets a 400 page with the reasons.
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect

from doudi.core.errors import ServiceError


def add_to_form(form: forms.BaseForm, exc: ServiceError) -> None:
    """Each reason of the refusal on the form field it names, else on the whole form."""
    for e in exc.errors:
        form.add_error(e.field if e.field in form.fields else None, e.message)


def _back(request: HttpRequest) -> str | None:
    """The page the request came from, when it is one of ours."""
    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(
            referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return referer
    return None


def refused(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    """The answer to a refused act a view did not handle itself."""
    back = _back(request)
    if back is not None and request.method not in ("GET", "HEAD"):
        messages.error(request, exc.message)
        if getattr(request, "htmx", False):  # the whole page goes back, not a fragment
            return HttpResponseClientRedirect(back)
        return HttpResponseRedirect(back)
    return render(request, "doudi/refused.html",
                  {"reasons": exc.messages or ["请求有误"], "back": back}, status=400)


class ServiceErrorMiddleware:
    """Turns a `ServiceError` raised out of a view into a page message (see `refused`).
    The API answers its own (`doudi.api.urls`)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, ServiceError):
            return refused(request, exception)
        return None
