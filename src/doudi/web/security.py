"""Security headers on every response: a Content-Security-Policy that allows scripts only from
Doudi's own static files (no inline script, nothing from elsewhere — the intranet is offline
anyway), no framing, no plugins, forms only to Doudi, and a strict referrer policy. Inline
styles stay allowed: the server-drawn SVG charts carry their own.

A request whose path, query or form fields carry a NUL character is refused (400) before any
view sees it: no form means one, and PostgreSQL cannot store or even compare such text, so
further in it would be a 500 (the API refuses NUL in JSON bodies in its own parser)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
NUL_REFUSED = "请求中含有空字符（NUL），已拒绝"


def carries_nul(request: HttpRequest) -> bool:
    """A NUL in the path, a query parameter or a form field (uploaded files' bytes aside)."""
    if "\x00" in request.path:
        return True
    sources = [request.GET]
    if request.method == "POST" and request.content_type in FORM_TYPES:
        sources.append(request.POST)
    return any("\x00" in key or any("\x00" in v for v in values)
               for source in sources for key, values in source.lists())


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if carries_nul(request):
            response = (JsonResponse({"detail": NUL_REFUSED}, status=400)
                        if request.path.startswith("/api/") else
                        HttpResponseBadRequest(NUL_REFUSED,
                                               content_type="text/plain; charset=utf-8"))
        else:
            response = self.get_response(request)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response
