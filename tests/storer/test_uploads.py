"""Upload limits per kind, enforced before the body is read (issue 9): a 300 MB upload is refused
with 413 from its Content-Length, without the storer reading a byte of it; a body that streams in
past the limit (longer than its Content-Length said) is stopped by the upload handler as soon as
it passes; nothing of a refused upload is stored."""

from __future__ import annotations

import io
import socket
import zipfile
from urllib.parse import urlsplit

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory, override_settings
from django.test.client import encode_multipart

from assay.storer.courses.models import Assignment, AssignmentVersion
from assay.storer.evaluation.models import Submission
from assay.storer.uploads import (
    LimitingUploadHandler,
    UploadLimitMiddleware,
    UploadTooLarge,
    upload_kind,
)

from .conftest import SUM_OK, package_zip

HUGE = 300 * 1024 * 1024  # what the Content-Length says: 300 MB


class Unreadable(io.RawIOBase):
    """A request body nobody may read: every read is counted (and would fail the test)."""

    def __init__(self) -> None:
        self.reads = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.reads += 1
        raise AssertionError("the storer read the body of an oversize upload")

    readline = read


def huge_post(client: Client, path: str, data: dict, **headers):
    """POST ``data`` as multipart, but saying it is 300 MB long, with a body that cannot be read."""
    body = Unreadable()
    response = client.post(path, data, CONTENT_LENGTH=str(HUGE), **{"wsgi.input": body}, **headers)
    return response, body


def stored(prefix: str) -> list[str]:
    try:
        dirs, files = default_storage.listdir(prefix)
    except FileNotFoundError:
        return []
    return dirs + files


def bearer(cast, who):
    return {"HTTP_AUTHORIZATION": f"Bearer {cast.tokens[who]}"}


# -- refused from the Content-Length, before reading -----------------------------------------


def test_a_300_mb_submission_gets_413_without_being_read(cast):
    r, body = huge_post(
        Client(),
        f"/api/assignments/{cast.sum.id}/submissions",
        {"archive": SimpleUploadedFile("s.zip", b"PK")},
        **bearer(cast, "alice"),
    )
    assert r.status_code == 413, r.content
    error = r.json()["error"]
    assert (error["code"], error["field"]) == ("upload_too_large", "files")
    assert "300 MiB" in error["message"] and "8 MiB" in error["message"]
    assert body.reads == 0
    assert Submission.objects.count() == 0 and stored("submissions") == []


def test_an_oversize_package_gets_413_without_being_read(cast):
    r, body = huge_post(
        Client(),
        "/api/courses/prog1/assignments",
        {"slug": "big", "package": SimpleUploadedFile("p.zip", b"PK")},
        **bearer(cast, "teacher"),
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "upload_too_large"
    assert r.json()["error"]["field"] == "package" and body.reads == 0
    assert not Assignment.objects.filter(slug="big").exists()

    r, body = huge_post(
        Client(),
        f"/api/assignments/{cast.sum.id}/versions",
        {"package": SimpleUploadedFile("p.zip", b"PK")},
        **bearer(cast, "teacher"),
    )
    assert r.status_code == 413 and body.reads == 0
    assert AssignmentVersion.objects.filter(assignment=cast.sum).count() == 1


def test_an_oversize_result_archive_gets_413_without_being_read(cast):
    r, body = huge_post(
        Client(),
        "/api/tester/jobs/1/result?attempt=1",
        {"archive": SimpleUploadedFile("r.zip", b"PK")},
        HTTP_AUTHORIZATION=f"Bearer {cast.tester_token}",
    )
    assert r.status_code == 413 and r.json()["error"]["field"] == "archive" and body.reads == 0


def test_the_web_form_gets_a_413_page_without_being_read(cast):
    client = Client()
    client.force_login(cast.users["alice"])
    r, body = huge_post(
        client,
        "/courses/prog1/assignments/sum/",
        {"files": SimpleUploadedFile("sum.c", SUM_OK)},
    )
    assert r.status_code == 413 and body.reads == 0
    assert "Upload too large" in r.content.decode() and "at most 8 MiB" in r.content.decode()
    assert Submission.objects.count() == 0

    client.force_login(cast.users["teacher"])
    for path in ("/courses/prog1/new-assignment/", "/courses/prog1/assignments/sum/manage/upload/"):
        r, body = huge_post(
            client, path, {"slug": "big", "package": SimpleUploadedFile("p.zip", b"PK")}
        )
        assert r.status_code == 413 and body.reads == 0, path
    assert not Assignment.objects.filter(slug="big").exists()


# -- the limits are settings; a body just over is refused, one under goes through --------------


def zip_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


@override_settings(MAX_SUBMISSION_REQUEST_BYTES=64 * 1024)
def test_the_submission_limit_is_a_setting(cast):
    api = cast.api("alice")
    small = zip_of({"sum.c": SUM_OK})
    r = api.post(
        f"/assignments/{cast.sum.id}/submissions", {"archive": SimpleUploadedFile("s.zip", small)}
    )
    assert r.status_code == 201, r.content
    big = zip_of({"sum.c": SUM_OK, "notes.txt": b"x" * (64 * 1024)})
    r = api.post(
        f"/assignments/{cast.sum.id}/submissions", {"archive": SimpleUploadedFile("s.zip", big)}
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "upload_too_large"
    assert "at most 64 KiB" in r.json()["error"]["message"]
    assert Submission.objects.count() == 1


@override_settings(MAX_PACKAGE_BYTES=2048)
def test_the_package_limit_is_a_setting(cast):
    data = package_zip("sum-c")
    assert len(data) > 2048
    r = cast.api("teacher").post(
        "/courses/prog1/assignments",
        {"slug": "again", "package": SimpleUploadedFile("p.zip", data)},
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "upload_too_large"
    assert not Assignment.objects.filter(slug="again").exists()


def test_only_uploads_are_limited():
    rf = RequestFactory()
    assert upload_kind(rf.post("/api/assignments/3/submissions")) == ("submission", "files")
    assert upload_kind(rf.post("/api/assignments/3/versions")) == ("package", "package")
    assert upload_kind(rf.post("/courses/prog1/assignments/sum/")) == ("submission", "files")
    assert upload_kind(rf.get("/api/assignments/3/submissions")) is None
    assert upload_kind(rf.post("/api/submissions/3/evaluate")) is None


# -- a body that streams in past the limit is stopped as it passes -----------------------------


class CountingStream(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.consumed = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.consumed += len(chunk)
        return chunk


@override_settings(MAX_SUBMISSION_REQUEST_BYTES=256 * 1024)
def test_a_body_longer_than_its_content_length_is_stopped_at_the_limit(cast, tmp_path):
    """What an ASGI server hands on when a body is longer than its Content-Length: the header
    is no help, so the first upload handler counts the bytes of the files."""
    data = encode_multipart("BoUnDaRy", {"files": SimpleUploadedFile("sum.c", b"x" * (8 << 20))})
    request = RequestFactory().post(
        "/courses/prog1/assignments/sum/", content_type="multipart/form-data; boundary=BoUnDaRy"
    )
    request.user = cast.users["alice"]
    request._stream = stream = CountingStream(data)  # not limited to the Content-Length
    request.META["CONTENT_LENGTH"] = "1000"  # it says little

    def view(request):
        raise AssertionError("the view must not be reached")

    response = UploadLimitMiddleware(view)(request)
    assert response.status_code == 413
    assert "at most 256 KiB" in response.content.decode()
    assert stream.consumed < 256 * 1024 + 256 * 1024  # stopped within a few chunks of the limit
    assert Submission.objects.count() == 0


def test_the_upload_handler_stops_past_the_limit_and_closes_what_was_spooled():
    request = RequestFactory().post("/api/assignments/1/submissions", data={})

    class Spooling:
        def __init__(self) -> None:
            self.file = io.BytesIO()

    other = Spooling()
    request.upload_handlers = [
        handler := LimitingUploadHandler(request, "submission", "files", 100),
        other,
    ]
    assert handler.receive_data_chunk(b"x" * 60, 0) == b"x" * 60
    with pytest.raises(UploadTooLarge) as refused:
        handler.receive_data_chunk(b"x" * 60, 60)
    assert (refused.value.status, refused.value.code) == (413, "upload_too_large")
    assert other.file.closed


def test_multipart_without_a_boundary_gets_the_error_shape(cast):
    r = Client().post(
        f"/api/assignments/{cast.sum.id}/submissions",
        b"garbage",
        content_type="multipart/form-data",
        **bearer(cast, "alice"),
    )
    assert r.status_code == 400, r.content
    assert r.json()["error"]["code"] == "invalid"


# -- the web form: refusals are form errors --------------------------------------------------


def test_the_web_form_says_the_limit_and_refuses_bad_names_with_a_form_error(cast):
    client = Client()
    client.force_login(cast.users["alice"])
    page = "/courses/prog1/assignments/sum/"
    assert "at most 8 MiB in all" in client.get(page).content.decode()

    r = client.post(page, {"files": [SimpleUploadedFile("\u202egpj.c", b"x")]})
    assert r.status_code == 400
    assert "bidirectional characters are not allowed" in r.content.decode()

    clash = zip_of({"a": b"x", "a/main.c": SUM_OK})
    r = client.post(page, {"files": [SimpleUploadedFile("s.zip", clash)]})
    assert r.status_code == 400 and "also a folder" in r.content.decode()
    assert Submission.objects.count() == 0


# -- over a real socket: the answer comes before the body is sent -------------------------------


def test_over_http_the_413_comes_before_the_body_is_sent(live_server):
    """A client announces 300 MB and sends none of it: the storer answers 413 at once, rather
    than waiting for (and buffering) the body."""
    url = urlsplit(live_server.url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as s:
        s.sendall(
            b"POST /api/assignments/1/submissions HTTP/1.1\r\n"
            b"Host: localhost\r\nAuthorization: Bearer asy_whoever\r\n"
            b"Content-Type: multipart/form-data; boundary=x\r\n"
            b"Content-Length: %d\r\n\r\n--x\r\n" % HUGE
        )
        # a storer waiting for the body would leave recv() to time out (socket.timeout)
        answer = b""
        while b"upload_too_large" not in answer and (chunk := s.recv(65536)):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
