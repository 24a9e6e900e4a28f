"""One error shape for the whole API: ``{"error": {"code", "message", "field"}}``."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from assay.storer.evaluation.services import ServiceError


class ApiError(ServiceError):
    pass


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


def forbidden(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


def install(api: NinjaAPI) -> None:
    @api.exception_handler(ServiceError)
    def service_error(request: Any, exc: ServiceError) -> HttpResponse:
        return api.create_response(
            request, error_body(exc.code, exc.message, exc.field), status=exc.status
        )

    @api.exception_handler(ValidationError)
    def validation_error(request: Any, exc: ValidationError) -> HttpResponse:
        first = exc.errors[0] if exc.errors else {}
        loc = [str(x) for x in first.get("loc", [])]
        if loc and loc[0] == "body" and len(loc) > 2:
            loc = loc[2:]  # ("body", "<parameter>", "field", ...) -> the field inside the body
        loc = [x for x in loc if x not in ("body", "query", "path", "form", "file")]
        field = ".".join(loc) or None
        message = first.get("msg", "invalid request")
        if field:
            message = f"{field}: {message}"
        return api.create_response(request, error_body("invalid", message, field), status=400)

    @api.exception_handler(AuthenticationError)
    def auth_error(request: Any, exc: AuthenticationError) -> HttpResponse:
        return api.create_response(
            request,
            error_body("unauthenticated", "log in or send 'Authorization: Bearer TOKEN'"),
            status=401,
        )

    @api.exception_handler(Http404)
    def http404(request: Any, exc: Http404) -> HttpResponse:
        return api.create_response(
            request, error_body("not_found", str(exc) or "not found"), status=404
        )

    @api.exception_handler(HttpError)
    def http_error(request: Any, exc: HttpError) -> HttpResponse:
        return api.create_response(request, error_body("error", str(exc)), status=exc.status_code)
