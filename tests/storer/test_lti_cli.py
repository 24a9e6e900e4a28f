"""`assay lti` (docs/lti.md), in process with typer's CliRunner against the test database and
the test LMS of lti_platform.py: the URLs to give an LMS, registering one (with the key pair
made for it), its deployments, the list, a roster sync and the scores sent by hand — and the
bad input each command refuses with exit 2 and a message naming it.

The cast is conftest's and test_lti.py's: the LMS course "moodle-course-7" is linked to prog1,
its link opens sum; Lena ("s-1") is a learner there.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client
from typer.testing import CliRunner

from assay.cli import app
from assay.storer import serve
from assay.storer.courses.models import Membership
from assay.storer.lti.models import Platform

from .lti_platform import LEARNER, Member

# test_lti.py's fixtures (the LMS, its registration, the linked course), shared: a fixture
# named as a test's parameter is not a redefinition
# ruff: noqa: F811
from .test_lti import (  # noqa: F401
    LENA,
    evaluate,
    launch,
    learner,
    linked,
    lms,
    logged_in,
    platform,
    tool_key,
)


@pytest.fixture
def data_dirs(monkeypatch) -> list[Path]:
    """The data directories the commands opened: the test database stands for them (it is
    migrated already)."""
    opened: list[Path] = []
    monkeypatch.setattr(serve, "setup_django", lambda data_dir, **_: opened.append(data_dir))
    return opened


def assay_lti(*args: str):
    return CliRunner().invoke(app, ["lti", *args])


REGISTRATION = [
    "--issuer", "https://moodle.example.edu", "--client-id", "Abc123xyz",
    "--auth-login-url", "https://moodle.example.edu/mod/lti/auth.php",
    "--auth-token-url", "https://moodle.example.edu/mod/lti/token.php",
    "--jwks-url", "https://moodle.example.edu/mod/lti/certs.php",
]  # fmt: skip


def test_urls_are_the_sites_public_addresses(db, data_dirs, settings, tmp_path):
    settings.SITE_URL = "https://assay.example.edu"
    r = assay_lti("urls", "--data-dir", str(tmp_path))
    assert r.exit_code == 0, r.output
    assert data_dirs == [tmp_path.resolve()]
    lines = r.stdout.splitlines()
    assert "login (OIDC initiation) URL: https://assay.example.edu/lti/login/" in lines
    assert "launch (redirect / target link) URL: https://assay.example.edu/lti/launch/" in lines
    assert "public key set (JWKS) URL: https://assay.example.edu/lti/jwks/" in lines
    assert "Canvas JSON configuration: https://assay.example.edu/lti/canvas.json" in lines


def test_add_platform_registers_an_lms_with_a_key_pair_of_its_own(db, data_dirs):
    r = assay_lti("add-platform", "University Moodle", *REGISTRATION, "--deployment", "1",
                  "--trust-email")  # fmt: skip
    assert r.exit_code == 0, r.output
    p = Platform.objects.get()
    assert (p.name, p.issuer, p.client_id) == ("University Moodle", "https://moodle.example.edu",
                                               "Abc123xyz")  # fmt: skip
    assert (p.deployment_ids, p.trust_email) == (["1"], True)
    assert p.auth_token_url == "https://moodle.example.edu/mod/lti/token.php"
    assert "BEGIN PRIVATE KEY" in p.private_key
    assert p.public_jwk()["kid"] in r.stdout  # its public half, for an LMS that asks for a key
    assert "https://moodle.example.edu" in r.stdout and "/lti/jwks/" in r.stdout
    # the same issuer and client id again: the registration is updated, its key kept
    r = assay_lti("add-platform", "Moodle", *REGISTRATION)
    assert r.exit_code == 0, r.output
    again = Platform.objects.get()
    assert (again.name, again.deployment_ids, again.trust_email) == ("Moodle", [], False)
    assert again.private_key == p.private_key


def test_add_platform_refuses_a_bad_url_naming_the_option_and_its_value(db, data_dirs):
    bad = [*REGISTRATION]
    bad[bad.index("--auth-token-url") + 1] = "moodle.example.edu/token"  # no scheme
    r = assay_lti("add-platform", "Moodle", *bad)
    assert r.exit_code == 2
    assert "--auth-token-url 'moodle.example.edu/token': Enter a valid URL." in r.stderr
    assert not Platform.objects.exists()


def test_add_deployment_accepts_one_more_deployment_once(cast, platform, data_dirs):
    for _ in range(2):
        r = assay_lti("add-deployment", platform.issuer, "deployment-2")
        assert r.exit_code == 0, r.output
    assert Platform.objects.get().deployment_ids == ["deployment-1", "deployment-2"]
    assert "deployment-1, deployment-2" in r.stdout


def test_add_deployment_refuses_an_lms_not_registered(cast, platform, data_dirs):
    r = assay_lti("add-deployment", "https://lms.elsewhere.example", "1")
    assert r.exit_code == 2
    assert "no registration of https://lms.elsewhere.example" in r.stderr
    assert "assay lti list" in r.stderr  # what to do next


def test_list_shows_the_lmss_and_the_lms_courses_linked(cast, platform, linked, data_dirs):
    r = assay_lti("list")
    assert r.exit_code == 0, r.output
    assert "Test LMS" in r.stdout and platform.issuer in r.stdout
    assert "deployment-1" in r.stdout
    row = next(line for line in r.stdout.splitlines() if "moodle-course-7" in line)
    assert "prog1" in row and "never" in row


def test_sync_roster_brings_the_lms_courses_members_in(cast, platform, linked, data_dirs):
    platform.members[:] = [
        Member("s-1", "Lena Learner", LENA["email"], [LEARNER]),
        Member("s-2", "Sam Second", "sam@lms.example.org", [LEARNER]),
    ]
    r = assay_lti("sync-roster", "prog1")
    assert r.exit_code == 0, r.output
    assert "moodle-course-7: 2 added, 0 made supervisor, 0 removed, 0 unchanged" in r.stdout
    students = Membership.objects.filter(course=cast.prog1, role="student")
    assert {"lena@lms.example.org", "sam@lms.example.org"} <= set(
        students.values_list("user__email", flat=True)
    )


def test_sync_roster_refuses_a_course_no_lms_course_is_linked_to(cast, platform, data_dirs):
    r = assay_lti("sync-roster", "prog2")
    assert r.exit_code == 2
    assert "no LMS course is linked to 'prog2'" in r.stderr


def test_send_scores_sends_what_is_due(
    cast, platform, linked, data_dirs, django_capture_on_commit_callbacks
):
    client = Client()
    launch(client, platform, learner(platform, linked))
    evaluate(cast, logged_in(client), 99, django_capture_on_commit_callbacks)
    assert not platform.scores  # queued for the storer's loop
    r = assay_lti("send-scores")
    assert r.exit_code == 0, r.output
    assert "'sent': 1" in r.stdout
    assert [(s["userId"], s["scoreGiven"]) for s in platform.scores] == [("s-1", 10)]
