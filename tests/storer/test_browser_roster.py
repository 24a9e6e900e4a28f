"""Running a course in a real browser (chromium against a real `assay demo`, as test_browser.py),
each part as the role that uses it: the administrator creates a course and an account, whose
owner sets a password from the e-mail (a real SMTP server on loopback); the supervisor opens
self-enrolment, imports a roster after its preview and removes a member after confirming; a
student joins by the link and by the typed key; the queue page follows a submission without
reloading and keeps the keyboard focus. axe at 1200 and 390 px on every page. Screenshots of the
new pages go to docs/screenshots/."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import Page, expect

from tests.conftest import EXAMPLES, ROOT

from .axe import assert_accessible
from .server import Mailbox, Server, free_port
from .test_browser import browser, log_in  # noqa: F401
from .test_end_to_end import submit

SHOTS = ROOT / "docs" / "screenshots"
SUM = (EXAMPLES / "sum-c" / "solutions" / "accepted" / "sum.c").read_bytes()


@pytest.fixture(scope="module")
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield box, controller.port
    controller.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory, mailbox) -> Iterator[Server]:
    env = {
        "ASSAY_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "ASSAY_EMAIL_HOST": "127.0.0.1",
        "ASSAY_EMAIL_PORT": str(mailbox[1]),
    }
    s = Server(tmp_path_factory.mktemp("roster") / "data", free_port(), env)
    _start_patiently(s)
    yield s
    s.stop()


def _start_patiently(s: Server, timeout: float = 300) -> None:
    """Server.start, with more time: on a machine busy with other test runs the demo's first
    start (its data, its testers' runtime checks) can take minutes."""
    import json
    import subprocess
    import sys

    import httpx

    from .server import inherited_env

    s.log = open(s.data_dir.parent / "server.log", "wb")  # noqa: SIM115
    s.proc = subprocess.Popen(
        [sys.executable, "-m", "assay", "demo", "--data-dir", str(s.data_dir), "--port", str(s.port), "--testers", str(s.testers)],
        cwd=ROOT, env={**inherited_env(), **s.env}, stdout=s.log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert s.proc.poll() is None, s.output()
        try:
            if httpx.get(s.url + "/api/openapi.json", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    else:
        raise AssertionError("the demo did not come up:\n" + s.output())
    s.logins = json.loads((s.data_dir / "demo-logins.json").read_text())


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def mail_to(box: Mailbox, address: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for m in box.messages:
            if f"To: {address}" in m:
                return m
        time.sleep(0.1)
    raise AssertionError(f"no mail to {address}: {box.messages}")


def test_an_administrator_creates_a_course_and_an_account_whose_owner_sets_a_password(
    browser,  # noqa: F811
    server,
    mailbox,  # noqa: F811
):
    admin = log_in(browser, server, "admin")
    admin.get_by_role("link", name="Courses", exact=True).click()
    expect(admin.get_by_role("heading", name="Courses", exact=True)).to_be_visible()
    admin.get_by_label("Short name").fill("demo")
    admin.get_by_label("Title").fill("Again")
    admin.get_by_role("button", name="Create the course").click()
    expect(admin.get_by_text("A course named 'demo' exists already.")).to_be_visible()
    assert_accessible(admin)  # the form with its error
    admin.get_by_label("Short name").fill("algo")
    admin.get_by_label("Title").fill("Algorithms")
    admin.get_by_label("Supervisor (username, optional)").fill("teacher")
    admin.get_by_role("button", name="Create the course").click()
    expect(admin.get_by_text("Course Algorithms created")).to_be_visible()
    expect(admin.get_by_role("heading", name="Members")).to_be_visible()
    admin.get_by_role("link", name="Courses", exact=True).click()
    expect(admin.get_by_role("cell", name="Algorithms", exact=True)).to_be_visible()
    shot(admin, "admin-courses")
    assert_accessible(admin)

    admin.get_by_role("link", name="Accounts").click()
    admin.get_by_label("Username", exact=True).fill("dave")
    admin.get_by_label("First name").fill("Dave")
    admin.get_by_label("Last name").fill("Doe")
    admin.get_by_label("E-mail", exact=True).fill("dave@example.org")
    admin.get_by_role("button", name="Create the account").click()
    expect(admin.get_by_text("Account dave created; dave@example.org got a link")).to_be_visible()
    expect(admin.get_by_role("row", name=re.compile("dave.*no password yet"))).to_be_visible()
    shot(admin, "admin-accounts")
    assert_accessible(admin)
    admin.close()

    link = re.search(
        r"http://\S+/account/set-password/\S+/", mail_to(mailbox[0], "dave@example.org")
    )
    assert link, mailbox[0].messages
    dave = browser.new_page(viewport={"width": 1200, "height": 900})
    dave.goto(link.group(0))
    expect(dave.get_by_role("heading", name="Set your password")).to_be_visible()
    assert_accessible(dave)
    shot(dave, "student-set-password")
    dave.get_by_label("New password", exact=True).fill("a long new password 7")
    dave.get_by_label("New password confirmation").fill("a long new password 7")
    dave.get_by_role("button", name="Set my password").click()
    expect(dave.get_by_text("Your password is set: log in with it.")).to_be_visible()
    dave.get_by_label("Username").fill("dave")
    dave.get_by_label("Password").fill("a long new password 7")
    dave.get_by_role("button", name="Log in").click()
    expect(dave.get_by_role("heading", name="My courses")).to_be_visible()
    dave.close()


def test_a_supervisor_opens_self_enrolment_imports_a_roster_and_removes_a_member(
    browser,  # noqa: F811
    server,
    mailbox,
    tmp_path,  # noqa: F811
):
    teacher = log_in(browser, server, "teacher")
    teacher.get_by_role("link", name="Demo course").click()
    teacher.get_by_role("link", name="Members").click()
    expect(teacher.get_by_text("Off.", exact=True)).to_be_visible()
    assert_accessible(teacher)
    teacher.get_by_role("button", name="Turn self-enrolment on").click()
    expect(teacher.get_by_text("Self-enrolment is on")).to_be_visible()
    assert re.fullmatch(r"[A-Z2-9]{10}", teacher.locator("#course-key").inner_text())
    expect(teacher.locator("#invitation-link")).to_contain_text(f"{server.url}/join/")

    roster = tmp_path / "roster.csv"
    roster.write_text(
        "username,email,first_name,last_name\nerin,erin@example.org,Erin,E\nbob,bob@example.org,,\n"
    )
    teacher.get_by_label("Roster (CSV)").set_input_files(str(roster))
    teacher.get_by_role("button", name="Preview the import").click()
    expect(teacher.locator("#roster-summary")).to_have_text(
        "1 new account (each gets a set-password e-mail), 1 to enrol, 0 to make supervisor, 1 already member."
    )
    shot(teacher, "supervisor-roster-preview")
    assert_accessible(teacher)
    teacher.get_by_role("button", name="Import 2 lines").click()
    expect(teacher.get_by_text("Roster imported: 1 new account(s), 1 enrolled")).to_be_visible()
    assert "you are in the course Demo course" in mail_to(mailbox[0], "erin@example.org")
    expect(teacher.get_by_role("cell", name="erin@example.org")).to_be_visible()
    shot(teacher, "supervisor-members")

    # a bad file: the problems by line and field, and no way to import it
    roster.write_bytes(b"username,email\nzoe,not-an-address\nzoe,z@example.org\n")
    teacher.get_by_label("Roster (CSV)").set_input_files(str(roster))
    teacher.get_by_role("button", name="Preview the import").click()
    problems = teacher.locator("#roster-problems")
    expect(problems).to_contain_text("line 2, email: 'not-an-address' is not an e-mail address")
    expect(problems).to_contain_text("line 3, username: 'zoe' is on line 2 already")
    expect(teacher.get_by_role("button", name=re.compile("^Import"))).to_have_count(0)
    assert_accessible(teacher)
    teacher.get_by_role("link", name="Back to the members page").click()

    teacher.get_by_role("link", name="Remove erin").click()
    expect(teacher.get_by_role("heading", name="Remove erin from Demo course?")).to_be_visible()
    assert_accessible(teacher)
    teacher.get_by_role("button", name="Yes, remove erin").click()
    expect(teacher.get_by_text("erin is no longer a member of Demo course.")).to_be_visible()
    expect(teacher.get_by_role("cell", name="erin@example.org")).to_have_count(0)
    teacher.close()


def test_a_student_joins_by_the_link_and_by_the_key(browser, server):  # noqa: F811
    with server.api("teacher") as api:
        assert api.delete("/courses/demo/members/bob").status_code == 204
        doc = api.patch("/courses/demo/enrolment", json={"self_enrolment": True}).json()
    bob = log_in(browser, server, "bob")
    expect(bob.get_by_role("link", name="Demo course")).to_have_count(0)
    bob.goto(doc["link"])
    expect(bob.get_by_role("heading", name="Join Demo course?")).to_be_visible()
    shot(bob, "student-join")
    assert_accessible(bob)
    bob.get_by_role("button", name="Join Demo course").click()
    expect(bob.get_by_text("You joined Demo course as a student.")).to_be_visible()

    with server.api("teacher") as api:
        assert api.delete("/courses/demo/members/bob").status_code == 204
    bob.get_by_role("link", name="Join a course").click()
    assert_accessible(bob)
    key = doc["key"]
    bob.get_by_label("Course key").fill(f"{key[:4].lower()}-{key[4:]}")
    bob.get_by_role("button", name="Continue").click()
    bob.get_by_role("button", name="Join Demo course").click()
    expect(bob.get_by_text("You joined Demo course as a student.")).to_be_visible()

    with server.api("teacher") as api:
        api.patch("/courses/demo/enrolment", json={"self_enrolment": False})
    bob.goto(doc["link"])
    expect(
        bob.get_by_text("Self-enrolment in Demo course is off: ask its supervisors to add you.")
    ).to_be_visible()
    assert_accessible(bob)
    bob.close()


def test_the_queue_page_follows_a_submission_without_reloading_or_losing_focus(
    browser,  # noqa: F811
    server,  # noqa: F811
):
    admin = log_in(browser, server, "admin")
    admin.get_by_role("link", name="Queue and testers").click()
    expect(admin.get_by_role("heading", name="Finished lately")).to_be_visible()
    assert_accessible(admin)
    region = admin.locator("#finished-region")
    region.focus()
    admin.evaluate("window.__not_reloaded = true")
    doc = submit(server, "alice", "demo/sum-c", {"sum.c": SUM})
    row = admin.locator(
        'tr[data-job][data-state="done"]',
        has=admin.get_by_role("link", name=f"submission {doc['id']}"),
    )
    expect(row).to_be_visible(timeout=60_000)
    expect(row).to_contain_text("AC")
    assert admin.evaluate("window.__not_reloaded") is True  # htmx swapped the live part
    assert (
        admin.evaluate("document.activeElement && document.activeElement.id") == "finished-region"
    )
    shot(admin, "admin-queue")
    assert_accessible(admin)
    admin.close()
