"""One error shape for the whole API: ``{"error": {"code", "message", "field"}}``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import (
    BadRequest,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFilesSent,
)
from django.db import DataError
from django.http import Http404, HttpResponse
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from assay.storer.evaluation.services import ServiceError


class ApiError(ServiceError):
    pass


class BodyRefused(ValueError):
    """A JSON body the API's parser refuses (django-ninja turns it into a 400)."""


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
        # e.g. session authentication's CSRF check (403)
        code = {400: "invalid", 401: "unauthenticated", 403: "forbidden", 404: "not_found"}
        message = str(exc)
        if isinstance(exc.__cause__, BodyRefused):  # "Cannot parse request body": say why
            message = f"{message}: {exc.__cause__}"
        elif isinstance(exc.__cause__, ValueError):
            message = f"{message}: not JSON ({exc.__cause__})"
        return api.create_response(
            request, error_body(code.get(exc.status_code, "error"), message), status=exc.status_code
        )

    @api.exception_handler(DataError)
    def data_error(request: Any, exc: DataError) -> HttpResponse:
        # the last line of defence: a value the database cannot store is the request's fault
        return api.create_response(
            request, error_body("invalid", "a value in the request cannot be stored"), status=400
        )

    # a body Django's request parsing refuses (malformed multipart, too many files or fields, too
    # large a form): in the API's error shape, not Django's HTML page
    @api.exception_handler(MultiPartParserError)
    @api.exception_handler(BadRequest)
    @api.exception_handler(SuspiciousOperation)
    def bad_body(request: Any, exc: Exception) -> HttpResponse:
        status, code = 400, "invalid"
        if isinstance(exc, TooManyFilesSent):
            status, code = 413, "too_many_files"
        elif isinstance(exc, RequestDataTooBig):
            status, code = 413, "upload_too_large"
        message = f"the request was refused: {exc}" if str(exc) else "the request was refused"
        return api.create_response(request, error_body(code, message), status=status)
