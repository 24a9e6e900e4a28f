"""The error pages (400, 403, 404, 500) in the site's layout, and the API's error shape for the
same errors under /api/ (a path no endpoint matches, a request Django refuses before the API)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token

from assay.storer.api.errors import error_body

API_PREFIX = "/api/"


def _for_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def _api_error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status)


@requires_csrf_token  # may run before the CSRF middleware; the layout's htmx header needs a token
def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _for_api(request):
        return _api_error(400, "invalid", "the request was refused")
    return render(request, "400.html", status=400)


@requires_csrf_token
def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    # the views' own reasons ("only supervisors of the course may do this") are safe to show:
    # a 403 is raised only where the user may already know the thing exists
    reason = exception.args[0] if exception.args and isinstance(exception.args[0], str) else ""
    if _for_api(request):
        return _api_error(403, "forbidden", reason or "you may not do this")
    message = f"You cannot open this page: {reason}." if reason else "You cannot open this page."
    return render(request, "403.html", {"message": message}, status=403)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent without its page's security token (CSRF_FAILURE_VIEW): most often a page left
    open across a log-out and a log-in, so the way out is to reload it."""
    message = (
        "The form was sent from a page that is no longer valid (its security token, the CSRF"
        " check, did not match): you may have logged out or in since you opened it."
        " Reload the page and send the form again."
    )
    if _for_api(request):
        return _api_error(403, "forbidden", f"CSRF check failed: {reason}")
    return render(request, "403.html", {"message": message}, status=403)


@requires_csrf_token
def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    # one page whatever the reason: it never tells a hidden course or submission from a missing one
    if _for_api(request):
        return _api_error(404, "not_found", f"no endpoint at {request.path}; see /api/docs")
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """Rendered without the request: no context processor runs, so neither the database nor the
    session is touched (either may be what failed)."""
    if _for_api(request):
        return _api_error(500, "server_error", "the storer failed; try again later")
    context: dict[str, Any] = {}
    return HttpResponse(loader.get_template("500.html").render(context), status=500)
