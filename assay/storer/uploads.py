"""Upload limits, enforced before a request body is read (issue 9).

Each kind of upload has its own limit on the request body: a submission (several files or one
zip; ``ASSAY_MAX_SUBMISSION_KIB``), an assignment package uploaded by staff
(``ASSAY_MAX_PACKAGE_KIB``) and a tester's result archive (``ASSAY_MAX_RESULT_MIB``).

- A request whose ``Content-Length`` is over the limit gets 413 at once, before anything reads
  its body: the API answers in its error shape (``upload_too_large``), the web pages with a short
  page that says the limit. (The server in front may have received the body already: waitress
  takes in a whole request, into a temporary file past 512 KiB, before it calls the storer,
  unless its ``max_request_body_size`` is lower.)
- Django parses no multipart body without a ``Content-Length`` (it reads it as empty), and under
  WSGI never reads past it. What is left — a body longer than it said (ASGI) — is counted while
  the multipart parser streams it: the first upload handler stops it with 413 as soon as the
  files in it pass the limit, and closes what the other handlers spooled so far. Below the
  limit, files over ``FILE_UPLOAD_MAX_MEMORY_SIZE`` are spooled to disk as usual.

A submission's file names are kept as the client sent them (Django's parser would silently drop
characters that are not printable, so that ``\\u202egpj.c`` became ``gpj.c``): the storer refuses
an unsafe name by name instead (``services.check_file_name``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParser, MultiPartParserError
from django.utils.datastructures import ImmutableList

from assay.storer.evaluation.services import ServiceError

SUBMISSION, PACKAGE, RESULT = "submission", "package", "result"

# (method POST) path -> the kind of upload, and the form field that carries it
UPLOADS: list[tuple[re.Pattern[str], str, str]] = [
    (re.compile(r"^/api/assignments/[^/]+/submissions/?$"), SUBMISSION, "files"),
    (re.compile(r"^/api/courses/[^/]+/assignments/?$"), PACKAGE, "package"),
    (re.compile(r"^/api/assignments/[^/]+/versions/?$"), PACKAGE, "package"),
    (re.compile(r"^/api/tester/jobs/[^/]+/result/?$"), RESULT, "archive"),
    (re.compile(r"^/courses/[^/]+/assignments/[^/]+/$"), SUBMISSION, "files"),
    (re.compile(r"^/courses/[^/]+/new-assignment/$"), PACKAGE, "package"),
    (re.compile(r"^/courses/[^/]+/assignments/[^/]+/manage/upload/$"), PACKAGE, "package"),
    # similarity: a past years' archive (and base code), limited as a package
    (re.compile(r"^/api/assignments/[^/]+/similarity/?$"), PACKAGE, "archive"),
    (re.compile(r"^/courses/[^/]+/assignments/[^/]+/manage/similarity/$"), PACKAGE, "archive"),
]


def limit_of(kind: str) -> int:
    return {
        SUBMISSION: settings.MAX_SUBMISSION_REQUEST_BYTES,
        PACKAGE: settings.MAX_PACKAGE_BYTES,
        RESULT: settings.MAX_RESULT_BYTES,
    }[kind]


def upload_kind(request: HttpRequest) -> tuple[str, str] | None:
    """(kind, field) of an upload request, or None for any other request."""
    if request.method != "POST":
        return None
    for pattern, kind, field in UPLOADS:
        if pattern.match(request.path_info):
            return kind, field
    return None


def readable(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}".replace(".0 ", " ")
    return f"{n} bytes"


class UploadTooLarge(ServiceError, MultiPartParserError):
    """An upload over its limit (413). A MultiPartParserError too, so that Django marks the
    request's POST and FILES as unreadable and never parses the body again."""

    def __init__(self, kind: str, field: str, limit: int, size: int | None = None) -> None:
        said = f"{readable(size)}; " if size is not None else "more than that; "
        super().__init__(
            413,
            "upload_too_large",
            f"the {kind} upload is too large: {said}at most {readable(limit)}",
            field,
        )


class LimitingUploadHandler(FileUploadHandler):
    """The first upload handler: counts the bytes of the uploaded files as they stream in and
    stops the upload once they pass the limit, before the other handlers keep them."""

    def __init__(self, request: HttpRequest, kind: str, field: str, limit: int) -> None:
        super().__init__(request)
        self.kind, self.field, self.limit, self.received = kind, field, limit, 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            for handler in self.request.upload_handlers if self.request else []:
                spooled = getattr(handler, "file", None)
                if handler is not self and spooled is not None:
                    spooled.close()  # a temporary file is removed when closed
            raise UploadTooLarge(self.kind, self.field, self.limit)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


class _NamesAsSent(MultiPartParser):
    def sanitize_file_name(self, file_name: str) -> str | None:
        return html.unescape(file_name) or None  # refused by name later if it is unsafe


def _parse_keeping_names(request: HttpRequest) -> Callable[[Any, Any], Any]:
    def parse_file_upload(META: Any, post_data: Any) -> Any:  # noqa: N803 - Django's name
        request.upload_handlers = ImmutableList(
            request.upload_handlers, warning="upload handlers cannot change once parsing began"
        )
        return _NamesAsSent(META, post_data, request.upload_handlers, request.encoding).parse()

    return parse_file_upload


def content_length(request: HttpRequest) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


def too_large_response(request: HttpRequest, error: ServiceError) -> HttpResponse:
    response: HttpResponse
    if request.path_info.startswith("/api/"):
        body = {"error": {"code": error.code, "message": error.message, "field": error.field}}
        response = JsonResponse(body, status=error.status)
    else:
        text = html.escape(error.message[:1].upper() + error.message[1:])
        response = HttpResponse(
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<title>Upload too large (413)</title></head><body>"
            f"<h1>Upload too large</h1><p>{text}.</p>"
            "<p>Go back and choose smaller files (or a smaller zip).</p></body></html>",
            status=error.status,
        )
    return response


class UploadLimitMiddleware:
    """Refuses an upload over its limit before its body is read; see the module's doc."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        upload = upload_kind(request)
        if upload is None:
            return self.get_response(request)
        kind, field = upload
        limit = limit_of(kind)
        size = content_length(request)
        if size is not None and size > limit:
            return too_large_response(request, UploadTooLarge(kind, field, limit, size))
        request.upload_handlers.insert(0, LimitingUploadHandler(request, kind, field, limit))
        if kind == SUBMISSION:
            request.parse_file_upload = _parse_keeping_names(request)  # type: ignore[method-assign,assignment]
        if not request.path_info.startswith("/api/"):
            # the web pages' CSRF check reads the form before any view could catch a refusal
            try:
                request.FILES  # noqa: B018 - parse now, within the limit
            except UploadTooLarge as e:
                return too_large_response(request, e)
        return self.get_response(request)
