"""Deadlines and extensions in a real browser (chromium against a real `assay demo`, as
test_browser.py): the teacher puts the course in Prague's time zone, gives "Sum of two numbers" a
deadline an hour ago and a second deadline tomorrow at half the points, and gives Bob his own
deadline; Alice's submission is marked late on her list and her submission's page and counts
5 of 10 in the grades, whose cell links to it; Bob sees his extended deadline. axe finds nothing
at 1200 and 390 px on each page. Screenshots of the new pages go to docs/screenshots/."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import EXAMPLES, ROOT

from .axe import assert_accessible
from .server import Server, free_port
from .test_browser import browser, log_in  # noqa: F401
from .test_browser_grading import start_patiently
from .test_end_to_end import submit

pytestmark = pytest.mark.slow

SUM = (EXAMPLES / "sum-c" / "solutions" / "accepted" / "sum.c").read_bytes()
DOCS = ROOT / "docs" / "screenshots"
PRAGUE = zoneinfo.ZoneInfo("Europe/Prague")


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    """This module's own demo, given time to start on a loaded machine."""
    s = start_patiently(Server(tmp_path_factory.mktemp("rules") / "data", free_port(), {}))
    yield s
    s.stop()


def doc_shot(page: Page, name: str) -> None:
    page.screenshot(path=str(DOCS / f"{name}.png"), full_page=True)


def local(delta: dt.timedelta) -> str:
    """Now + delta in Prague, as a datetime-local input takes it."""
    return (dt.datetime.now(PRAGUE) + delta).strftime("%Y-%m-%dT%H:%M")


def test_the_teacher_sets_deadlines_and_an_extension_and_alice_is_marked_late(browser, server):  # noqa: F811
    teacher = log_in(browser, server, "teacher")
    # the course's time zone
    teacher.goto(f"{server.url}/courses/demo/")
    teacher.get_by_role("link", name="Settings (time zone)").click()
    teacher.get_by_label("Time zone").fill("Mars/Olympus")
    teacher.get_by_role("button", name="Save").click()
    expect(teacher.get_by_role("alert")).to_contain_text("not a time zone")
    assert_accessible(teacher)
    teacher.get_by_label("Time zone").fill("Europe/Prague")
    teacher.get_by_role("button", name="Save").click()
    expect(teacher.get_by_role("status")).to_have_text(
        "The course's times are in Europe/Prague now."
    )
    expect(teacher.get_by_role("main")).to_contain_text(re.compile(r"It is now .* CES?T there\."))
    assert_accessible(teacher)
    doc_shot(teacher, "supervisor-course-settings")

    # the deadlines, typed in Prague's time
    teacher.goto(f"{server.url}/courses/demo/assignments/sum-c/manage/")
    teacher.get_by_label("Deadline", exact=True).fill(local(-dt.timedelta(hours=1)))
    teacher.get_by_label("Second deadline").fill(local(-dt.timedelta(hours=2)))
    teacher.get_by_role("button", name="Save settings").click()
    expect(teacher.get_by_role("alert").first).to_contain_text(
        "The second deadline must come after the first."
    )
    assert_accessible(teacher)
    teacher.get_by_label("Second deadline").fill(local(dt.timedelta(days=1)))
    teacher.get_by_label("Points factor after the deadline").fill("0.5")
    teacher.get_by_role("button", name="Save settings").click()
    expect(teacher.get_by_role("status")).to_have_text("Settings saved.")
    assert_accessible(teacher)

    # Bob's own deadline
    teacher.get_by_role("link", name="Extensions").click()
    teacher.get_by_label("Student").select_option("bob")
    teacher.get_by_label("Their deadline").fill(local(dt.timedelta(days=2)))
    teacher.get_by_label("Reason (only staff see it)").fill("Ill for a week")
    teacher.get_by_role("button", name="Give the extension").click()
    expect(teacher.get_by_role("status")).to_have_text("bob has their own deadline now.")
    row = teacher.get_by_role("row", name=re.compile("^bob"))
    expect(row).to_contain_text("Ill for a week")
    expect(row).to_contain_text(re.compile(r"CES?T"))
    assert_accessible(teacher)
    doc_shot(teacher, "supervisor-extensions")

    # Alice submits between the deadlines: accepted, late, half the points
    doc = submit(server, "alice", "demo/sum-c", {"sum.c": SUM})
    assert doc["late"] is True and doc["late_factor"] == 0.5
    assert server.wait("alice", doc["id"])["status"] == "done"
    alice = log_in(browser, server, "alice")
    alice.goto(f"{server.url}/courses/demo/assignments/sum-c/")
    expect(alice.get_by_role("main")).to_contain_text("Late submissions until")
    mine = alice.get_by_role("row", name=re.compile(f"^{doc['id']} "))
    expect(mine.locator(".late")).to_have_text("late")
    assert_accessible(alice)
    doc_shot(alice, "student-late-submission")
    alice.get_by_role("link", name=str(doc["id"]), exact=True).click()
    expect(alice.get_by_role("main")).to_contain_text("its points count × 0.5")
    assert_accessible(alice)

    # Bob sees his own deadline
    bob = log_in(browser, server, "bob")
    bob.goto(f"{server.url}/courses/demo/assignments/sum-c/")
    expect(bob.get_by_role("main")).to_contain_text("Your extended deadline")
    assert_accessible(bob)

    # the grades: half the points, marked late, the cell leads to the submission
    teacher.goto(f"{server.url}/courses/demo/grades/")
    cell = teacher.get_by_role("row", name=re.compile("^alice")).get_by_role("link", name="5")
    expect(cell).to_have_attribute("href", f"/submissions/{doc['id']}/")
    expect(teacher.get_by_role("row", name=re.compile("^alice")).locator(".late")).to_be_visible()
    assert_accessible(teacher)
    doc_shot(teacher, "supervisor-grades-late")
    cell.click()
    expect(teacher.get_by_role("heading", name=f"Submission {doc['id']}")).to_be_visible()
    for page in (teacher, alice, bob):
        page.close()
