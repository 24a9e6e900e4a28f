"""Deployment defaults (issue 9, item 9): HTTPS settings that turn on when the storer is served
over HTTPS (`manage.py check --deploy` clean), the host names it answers to, a
Content-Security-Policy on every page with no inline script or style, a private data directory
and database file, and file names with bidi or control characters shown escaped."""

from __future__ import annotations

import os
import re
import socket
import stat
import subprocess
import sys
from html.parser import HTMLParser

import httpx
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.template import engines
from django.test import Client
from django.urls import get_resolver

from assay.storer.authoring.drafts import start_from_version
from assay.storer.evaluation import services
from assay.storer.evaluation.models import SubmissionFile
from assay.storer.feedback import services as feedback
from assay.storer.groups.services import save_group
from assay.storer.roster.accounts import set_password_url
from assay.storer.roster.members import set_open
from assay.storer.serve import serving_settings
from assay.storer.settings import deployment_settings
from assay.storer.web.templatetags.assay_web import printable
from tests.conftest import ROOT

from .conftest import SUM_OK
from .server import Server, free_port, inherited_env

# -- HTTPS and host names -------------------------------------------------------------------


def django_check(tmp_path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "django", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**inherited_env(), "DJANGO_SETTINGS_MODULE": "assay.storer.settings",
             "ASSAY_DATA_DIR": str(tmp_path / "data"), **env},
    )  # fmt: skip


def test_check_deploy_is_clean_when_the_storer_is_served_over_https(tmp_path):
    https = django_check(tmp_path, ASSAY_SITE_URL="https://assay.example.org")
    assert https.returncode == 0, https.stdout + https.stderr
    assert "no issues" in https.stdout + https.stderr
    # the embedded default (plain HTTP on loopback) leaves them off, and check says so
    plain = django_check(tmp_path)
    assert plain.returncode != 0
    for code in ("W004", "W008", "W012", "W016"):  # HSTS, redirect, session and CSRF cookies
        assert f"security.{code}" in plain.stdout + plain.stderr


def test_https_settings_follow_the_url_the_storer_is_served_at(monkeypatch):
    for name in [v for v in os.environ if v.startswith("ASSAY_")]:
        monkeypatch.delenv(name)
    plain = deployment_settings("http://127.0.0.1:8000")
    assert plain["ALLOWED_HOSTS"] == ["127.0.0.1", "localhost", "[::1]"]  # not "*"
    assert not plain["SESSION_COOKIE_SECURE"] and not plain["CSRF_COOKIE_SECURE"]
    assert not plain["SECURE_SSL_REDIRECT"] and plain["SECURE_HSTS_SECONDS"] == 0

    https = deployment_settings("https://assay.example.org")
    assert https["ALLOWED_HOSTS"] == ["assay.example.org", "localhost", "127.0.0.1", "[::1]"]
    assert https["SESSION_COOKIE_SECURE"] and https["CSRF_COOKIE_SECURE"]
    assert https["SECURE_SSL_REDIRECT"] and https["SECURE_HSTS_SECONDS"] == 365 * 24 * 3600
    assert https["SECURE_HSTS_INCLUDE_SUBDOMAINS"] and not https["SECURE_HSTS_PRELOAD"]
    assert https["CSRF_TRUSTED_ORIGINS"] == ["https://assay.example.org"]

    monkeypatch.setenv("ASSAY_ALLOWED_HOSTS", "assay.cs.example.org")
    monkeypatch.setenv("ASSAY_SSL_REDIRECT", "false")  # a proxy redirects
    more = deployment_settings("https://assay.example.org")
    assert more["ALLOWED_HOSTS"][-1] == "assay.cs.example.org"
    assert not more["SECURE_SSL_REDIRECT"] and more["SESSION_COOKIE_SECURE"]
    with pytest.raises(ImproperlyConfigured, match="ASSAY_SITE_URL"):
        deployment_settings("assay.example.org")


def test_assay_serve_answers_to_the_host_it_listens_on_and_its_public_url(monkeypatch):
    monkeypatch.delenv("ASSAY_SITE_URL", raising=False)
    on_address = serving_settings("10.231.0.1", 8000, tls=False)
    assert on_address["SITE_URL"] == "http://10.231.0.1:8000"
    assert "10.231.0.1" in on_address["ALLOWED_HOSTS"] and "*" not in on_address["ALLOWED_HOSTS"]
    assert not on_address["SESSION_COOKIE_SECURE"]
    everywhere = serving_settings("0.0.0.0", 8443, tls=True)
    assert everywhere["SITE_URL"] == f"https://{socket.getfqdn().lower()}:8443"
    assert socket.gethostname().lower() in everywhere["ALLOWED_HOSTS"]
    assert everywhere["SESSION_COOKIE_SECURE"] and everywhere["SECURE_HSTS_SECONDS"] > 0
    monkeypatch.setenv("ASSAY_SITE_URL", "https://assay.example.org")  # behind a TLS proxy
    proxied = serving_settings("127.0.0.1", 8000, tls=False)
    assert proxied["ALLOWED_HOSTS"][0] == "assay.example.org" and proxied["CSRF_COOKIE_SECURE"]


def test_a_request_for_another_host_name_is_refused(db):
    assert Client().get("/login/", HTTP_HOST="localhost:8000").status_code == 200
    assert Client().get("/login/", HTTP_HOST="evil.example").status_code == 400


@pytest.mark.parametrize("tls", [True, False], ids=["https", "http"])
def test_the_served_storer_insists_on_https_only_when_it_serves_tls(tmp_path, certificate, tls):
    cert, key = certificate if tls else (None, None)
    server = Server(tmp_path / "data", free_port(), {}, testers=0, certfile=cert, keyfile=key)
    server.start()
    try:
        with httpx.Client(verify=server.verify, timeout=10) as http:
            r = http.get(server.url + "/login/")
            assert r.status_code == 200
            assert "default-src 'self'" in r.headers["content-security-policy"]
            cookie = r.headers["set-cookie"]
            assert cookie.startswith("csrftoken=")
            if tls:
                assert r.headers["strict-transport-security"].startswith("max-age=31536000")
                assert "; Secure" in cookie
            else:
                assert "strict-transport-security" not in r.headers
                assert "Secure" not in cookie
            # the host names it answers to: its own address and localhost, no others
            port = server.url.rsplit(":", 1)[1]
            for host, status in (("evil.example", 400), (f"localhost:{port}", 200)):
                r = http.get(server.url + "/login/", headers={"Host": host})
                assert r.status_code == status, host
    finally:
        server.stop()


# -- the data directory ---------------------------------------------------------------------

SETUP = "import sys; from pathlib import Path; from assay.storer import serve; serve.setup_django(Path(sys.argv[1]))"


def setup_storer(data_dir) -> None:
    env = {k: v for k, v in inherited_env().items() if k != "DJANGO_SETTINGS_MODULE"}
    subprocess.run(
        [sys.executable, "-c", f"import os; os.umask(0o022); {SETUP}", str(data_dir)],
        cwd=ROOT, env=env, check=True, capture_output=True, timeout=120,
    )  # fmt: skip


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_directory_is_private_and_the_database_file_too(tmp_path):
    data = tmp_path / "new" / "data"
    setup_storer(data)
    assert mode(data) == 0o700
    assert mode(data / "secret_key") == 0o600
    assert mode(data / "db.sqlite3") == 0o600
    for wal in (data / "db.sqlite3-wal", data / "db.sqlite3-shm"):
        assert not wal.exists() or mode(wal) == 0o600
    # one made by an older version with the umask's modes is made private
    old = tmp_path / "old"
    old.mkdir(mode=0o755)
    (old / "db.sqlite3").touch(mode=0o644)
    os.chmod(old, 0o755)
    os.chmod(old / "db.sqlite3", 0o644)
    setup_storer(old)
    assert mode(old) == 0o700 and mode(old / "db.sqlite3") == 0o600


# -- Content-Security-Policy ----------------------------------------------------------------


class InlineCode(HTMLParser):
    """Collects what a strict Content-Security-Policy would block: inline <script> (a JSON data
    block runs nothing and is allowed), <style> elements, style="" and on*="" attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script" and "src" not in a and a.get("type") != "application/json":
            self.found.append("<script> without src")
        if tag == "style":
            self.found.append("<style>")
        self.found += [f"{tag} {name}=" for name, _ in attrs if name == "style"]
        self.found += [f"{tag} {name}=" for name, _ in attrs if re.fullmatch(r"on[a-z]+", name)]


A = "/courses/prog1/assignments/sum"
PAGES = {
    # URL name: a path that shows it to the administrator
    "home": "/",
    "course": "/courses/prog1/",
    "new_assignment": "/courses/prog1/new-assignment/",
    "course_submissions": "/courses/prog1/submissions/",
    "grades": "/courses/prog1/grades/",
    "grades_csv": "/courses/prog1/grades.csv",
    "members": "/courses/prog1/members/",
    "assignment": f"{A}/",
    "submission_rows": f"{A}/submissions/",
    "stats": f"{A}/stats/",
    "stats_csv": f"{A}/stats/per-day.csv",
    "progress": "/courses/prog1/progress/",
    "progress_csv": "/courses/prog1/progress.csv",
    "manage_assignment": f"{A}/manage/",
    "versions": f"{A}/manage/versions/",
    "batch_progress": f"{A}/manage/progress/b1/",
    "submission": "/submissions/{s}/",
    "submission_body": "/submissions/{s}/body/",
    "submission_code": "/submissions/{s}/code/",
    "submission_code_part": "/submissions/{s}/code/part/",
    "submission_archive": "/submissions/{s}/files.zip",
    "submission_file": "/submissions/{s}/files/sum.c",
    "submission_compare": "/submissions/{s}/compare/?against={s}",
    "submission_feedback": "/submissions/{s}/feedback/",
    "submission_feedback_part": "/submissions/{s}/feedback/part/",
    "comment_edit": "/comments/{c}/edit/",
    "feedback_unread": "/feedback/",
    "feedback_badge": "/feedback/badge/",
    "queue": "/manage/queue/",
    "queue_live": "/manage/queue/live/",
    "groups": "/courses/prog1/groups/",
    "group": "/courses/prog1/groups/{g}/",
    "member_remove": "/courses/prog1/members/{u}/remove/",
    "join": "/join/",
    "join_key": "/join/{key}/",
    "admin_courses": "/manage/courses/",
    "admin_users": "/manage/users/",
    "course_settings": "/courses/prog1/settings/",
    "grade": f"{A}/grades/alice/",
    "grade_of": "/grades/{a}/{u}/",
    "rubric": f"{A}/manage/rubric/",
    "grade_pick": f"{A}/manage/grade/?student=alice",
    "extensions": f"{A}/manage/extensions/",
    "authoring_new": "/courses/prog1/new-assignment/editor/",
    "authoring_start": f"{A}/edit/",
    "authoring_statement": f"{A}/edit/statement/",
    "authoring_settings": f"{A}/edit/settings/",
    "authoring_tests": f"{A}/edit/tests/",
    "authoring_test": f"{A}/edit/tests/1/",
    "authoring_judge": f"{A}/edit/judge/",
    "authoring_solutions": f"{A}/edit/solutions/",
    "authoring_package": f"{A}/edit/package/",
    "authoring_download": f"{A}/edit/package.zip",
    "similarity": f"{A}/manage/similarity/",
    "similarity_run": f"{A}/manage/similarity/{{r}}/",
    "similarity_progress": f"{A}/manage/similarity/{{r}}/progress/",
    "similarity_pair": f"{A}/manage/similarity/{{r}}/pairs/1/",
}
POST_ONLY = {"login", "logout", "upload_version", "publish_version", "reevaluate_all", "evaluate",
             "reevaluate", "retry", "feedback_add", "comment_delete", "delete_group",
             "assignment_teams", "member_role", "enrolment", "import_roster", "admin_user_active",
             "admin_user_mail", "rubric_add", "rubric_edit", "rubric_delete", "revoke_extension", "unpublish",
             "authoring_preview", "authoring_delete_test"}  # fmt: skip
OTHER_PAGES = ["/admin/", "/admin/auth/user/", "/admin/auth/user/add/", "/api/docs"]


def similarity_run(cast, done):
    """A finished comparison with one pair (the submission against itself), its regions."""
    from assay.storer.similarity.models import SimilarityPair, SimilarityRun

    run = SimilarityRun.objects.create(
        assignment=cast.sum, requested_by=cast.users["admin"], state=SimilarityRun.DONE,
        submissions=2, candidates=1,
    )  # fmt: skip
    SimilarityPair.objects.create(
        run=run, rank=1, a_submission=done, b_submission=done, similarity=1.0,
        coverage_a=1.0, coverage_b=1.0, matched=10,
    )  # fmt: skip
    return run


def test_every_page_sends_the_csp_and_none_has_inline_script_or_style(cast, done):
    names = {p.name for p in get_resolver("assay.storer.web.urls").url_patterns}
    assert names == set(PAGES) | POST_ONLY | {"set_password"}, "a new page: add it to PAGES"
    admin = Client()
    admin.force_login(cast.users["admin"])
    responses = {"/login/ (anonymous)": Client().get("/login/")}
    comment = feedback.add(done, cast.users["admin"], "A *comment*.", "sum.c", 1)
    alice = cast.users["alice"]
    made = {
        "s": done.id, "c": comment.id, "a": cast.sum.id, "u": alice.pk,
        "g": save_group(cast.prog1, name="Lab 1", kind="lab", members=["alice"]).id,
        "key": set_open(cast.prog1, True).key,
        "r": similarity_run(cast, done).id,
    }  # fmt: skip
    start_from_version(cast.sum, cast.users["admin"])
    for path in [*PAGES.values(), *OTHER_PAGES]:
        responses[path] = admin.get(path.format(**made), follow=True)  # grade_of redirects
    # the set-password link, as its e-mail's reader follows it (to the form, without the token)
    link = set_password_url(alice).split("://", 1)[1].split("/", 1)[1]
    responses["set_password"] = Client().get("/" + link, follow=True)
    for _ in range(5):  # the lockout page
        locked = Client().post("/login/", {"username": "bob", "password": "guess"})
    responses["the lockout page"] = locked
    for path, r in responses.items():
        assert r.status_code in (200, 429), path
        policy = r["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy, path
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        if r["Content-Type"].startswith("text/html"):
            parser = InlineCode()
            parser.feed(r.content.decode())
            assert parser.found == [], f"{path}: {parser.found}"
    # JSON too
    assert "Content-Security-Policy" in cast.api("alice").get("/courses")


# -- file names with bidi or control characters --------------------------------------------


def test_the_printable_filter_escapes_bidi_and_control_characters():
    assert printable("sum.c") == "sum.c"
    assert printable("evil\u202etxt.c") == "evil\\u202etxt.c"
    assert printable("a\x00b\x1fc\x7f.c") == "a\\x00b\\x1fc\\x7f.c"
    assert printable("x\u2066y\u200bz\u2028") == "x\\u2066y\\u200bz\\u2028"
    assert printable("čaj-日本.py") == "čaj-日本.py"  # letters of any script stay
    html = engines["django"].from_string("{% load assay_web %}{{ n|printable }}")
    assert html.render({"n": "<b>\u202e.c"}) == "&lt;b&gt;\\u202e.c"  # still HTML-escaped


def test_file_names_with_bidi_or_control_characters_are_shown_escaped(cast, done):
    # names the API refuses, stored before it did (or by another way in)
    SubmissionFile.objects.filter(submission=done).update(name="evil\u202egnp.c")
    services.create_submission(
        cast.sum, cast.users["alice"], cast.users["alice"], {"a.c": SUM_OK, "b.h": b""}
    ).files.filter(name="b.h").update(name="bell\x07\x1b[2J.h")
    alice = Client()
    alice.force_login(cast.users["alice"])
    for path in (f"/submissions/{done.id}/", f"/submissions/{done.id}/body/", f"{A}/", f"{A}/submissions/"):  # fmt: skip
        html = alice.get(path).content.decode()
        assert not re.search("[\u202e\x07\x1b]", html), path
    html = alice.get(f"{A}/submissions/").content.decode()
    assert "evil\\u202egnp.c" in html and "bell\\x07\\x1b[2J.h" in html


def test_password_hashers_are_djangos_unless_named(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.PASSWORD_HASHERS[0])"
    )

    def first_hasher(**env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
            env={**inherited_env(), "DJANGO_SETTINGS_MODULE": "assay.storer.settings",
                 "ASSAY_DATA_DIR": str(tmp_path / "data"), **env},
        )  # fmt: skip

    default = first_hasher()
    assert default.stdout.strip() == "django.contrib.auth.hashers.PBKDF2PasswordHasher", default
    scrypt = "django.contrib.auth.hashers.ScryptPasswordHasher"
    named = first_hasher(ASSAY_PASSWORD_HASHERS=f" {scrypt}, ")
    assert named.stdout.strip() == scrypt, named
    empty = first_hasher(ASSAY_PASSWORD_HASHERS=" , ")
    assert empty.returncode != 0 and "ASSAY_PASSWORD_HASHERS names no hasher" in empty.stderr
