"""The cast of the storer's tests, and helpers to talk to the API with their tokens.

- Admin is an administrator and may do everything.
- Teacher supervises the course "prog1"; Tina supervises "prog2" and must not manage prog1.
- Alice and Bob are students of prog1: each sees only their own submissions.
- Carol is a student of prog2 and must see nothing of prog1.
- The tester "t1" has its own credential and may touch only the jobs it claimed.
"""

from __future__ import annotations

import io
import subprocess
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from assay.lib.archive import zip_directory
from assay.storer.accounts.models import ApiToken
from assay.storer.courses.models import Assignment, Course, Membership
from assay.storer.evaluation import services
from assay.storer.evaluation.models import Tester
from tests.conftest import EXAMPLES


def package_zip(name: str = "sum-c") -> bytes:
    buf = io.BytesIO()
    zip_directory(EXAMPLES / name, buf)
    return buf.getvalue()


class Api:
    """Django's test client speaking to the API with a bearer token."""

    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}

    def get(self, path: str, **params: Any):
        return self.client.get("/api" + path, params, **self.headers)

    def post(self, path: str, data: Any = None, json: Any = None, **extra: Any):
        if json is not None:
            return self.client.post(
                "/api" + path, json, content_type="application/json", **self.headers, **extra
            )
        return self.client.post("/api" + path, data or {}, **self.headers, **extra)

    def patch(self, path: str, json: Any):
        return self.client.patch(
            "/api" + path, json, content_type="application/json", **self.headers
        )


class Cast:
    def __init__(self) -> None:
        User = get_user_model()
        self.users = {}
        self.tokens: dict[str, str] = {}
        for name in ("admin", "teacher", "tina", "alice", "bob", "carol"):
            user = User.objects.create_user(name, f"{name}@example.org", "pw")
            if name == "admin":
                user.is_superuser = user.is_staff = True
                user.save()
            self.users[name] = user
            self.tokens[name] = ApiToken.issue(user)
        self.prog1 = Course.objects.create(slug="prog1", title="Programming 1")
        self.prog2 = Course.objects.create(slug="prog2", title="Programming 2")
        for name, course, role in (
            ("teacher", self.prog1, "supervisor"),
            ("alice", self.prog1, "student"),
            ("bob", self.prog1, "student"),
            ("tina", self.prog2, "supervisor"),
            ("carol", self.prog2, "student"),
        ):
            Membership.objects.create(user=self.users[name], course=course, role=role)
        self.sum = Assignment.objects.create(course=self.prog1, slug="sum", title="sum")
        services.add_version(self.sum, package_zip("sum-c"), self.users["teacher"], trusted=True)
        self.sum.refresh_from_db()
        self.tester, self.tester_token = Tester.register("t1")
        self.other_tester, self.other_tester_token = Tester.register("t2")

    def api(self, who: str | None) -> Api:
        if who is None:
            return Api(None)
        if who == "tester":
            return Api(self.tester_token)
        return Api(self.tokens[who])


@pytest.fixture(autouse=True)
def storer_settings(settings, tmp_path):
    """A private file storage per test, and fast password hashing."""
    settings.MEDIA_ROOT = tmp_path / "files"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.BROKER_URL = f"filesystem://{tmp_path / 'broker'}"
    services._celery = None
    yield settings
    services._celery = None


@pytest.fixture
def cast(db) -> Cast:
    return Cast()


SUM_OK = b'#include <stdio.h>\nint main(){long long a,b;scanf("%lld %lld",&a,&b);printf("%lld\\n",a+b);return 0;}\n'


@pytest.fixture
def certificate(tmp_path):
    """A self-signed certificate and its key for 127.0.0.1 (openssl)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def done(cast, tmp_path):
    """Alice's evaluated submission (through the tester API and the real executor)."""
    from .test_api_tester import claim, evaluate, fetch, upload

    s = services.create_submission(
        cast.sum, cast.users["alice"], cast.users["alice"], {"sum.c": SUM_OK}
    )
    job = s.jobs.get()
    claim(cast, job)
    upload(cast, job, evaluate(fetch(cast, job).content, tmp_path))
    return s
