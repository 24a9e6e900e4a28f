"""Deadlines and extensions in a real browser (chromium against a real `assay demo`, as
test_browser.py): the teacher puts the course in Prague's time zone, gives "Sum of two numbers" a
deadline an hour ago and a second deadline tomorrow at half the points, and gives Bob his own
deadline; Alice's submission is marked late on her list, her submission's page, the staff's
list of the course's submissions and the grades CSV, and counts 5 of 10 in the grades, whose
cell links to it; Bob sees his extended deadline. The other rules, each on an assignment of its
own: a release date in the future (Sort and average), archiving (Guess the number) and
unpublishing (Pair sums) hide an assignment from the students, a maximum of submissions
(Distance) refuses the one after it, and "the grade comes from" the last or the best submission
(Triangular numbers) changes Alice's grade. axe finds nothing at 1200 and 390 px on each page.
Screenshots of the new pages go to docs/screenshots/."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zoneinfo
from collections.abc import Iterator
from pathlib import Path

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
TRIANGULAR = EXAMPLES / "groups-python" / "solutions"
DISTANCE = (EXAMPLES / "kattis-distance" / "submissions" / "accepted" / "distance.py").read_bytes()
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

    # the staff's list of the course's submissions and the grades CSV mark it late too
    teacher.goto(f"{server.url}/courses/demo/submissions/?assignment=sum-c&student=alice")
    listed = teacher.get_by_role("row", name=re.compile(f"^{doc['id']} alice"))
    expect(listed.locator(".late")).to_have_text("late")
    expect(listed.locator(".late")).to_have_attribute("title", re.compile("points × 0.5"))
    assert_accessible(teacher)
    teacher.goto(f"{server.url}/courses/demo/grades/")
    with teacher.expect_download() as download:
        teacher.get_by_role("link", name="Download CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    by_student = {r["student"]: r for r in rows}
    assert (by_student["alice"]["sum-c"], by_student["alice"]["sum-c late"]) == ("5", "late")
    assert (by_student["bob"]["sum-c"], by_student["bob"]["sum-c late"]) == ("", "")
    for page in (teacher, alice, bob):
        page.close()


def try_to_submit(server: Server, user: str, slug: str, files: dict[str, bytes]) -> int:
    """The status of a submission through the API, to an assignment the user may not see."""
    with server.api("teacher") as api:
        a = next(x for x in api.get("/courses/demo/assignments").json() if x["slug"] == slug)
    with server.api(user) as api:
        sent = [("files", (name, data)) for name, data in files.items()]
        return api.post(f"/assignments/{a['id']}/submissions", files=sent).status_code


def save_settings(page: Page, server: Server, slug: str, **fields: str | bool) -> None:
    """The manage page's settings form, saved with these fields changed (by label)."""
    page.goto(f"{server.url}/courses/demo/assignments/{slug}/manage/")
    for label, value in fields.items():
        field = page.get_by_label(label, exact=True)
        if isinstance(value, bool):
            field.set_checked(value)
        elif field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(label=value)
        else:
            field.fill(value)
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_have_text("Settings saved.")


def test_a_release_date_in_the_future_hides_the_assignment_from_students_not_the_staff(
    browser,  # noqa: F811
    server,
):
    teacher = log_in(browser, server, "teacher")
    save_settings(teacher, server, "java-sort", **{"Release date": local(dt.timedelta(days=3))})
    assert_accessible(teacher)
    settings = teacher.get_by_role("region", name="Settings")
    expect(settings.get_by_label("Release date")).not_to_have_value("")
    settings.screenshot(path=str(DOCS / "supervisor-rules.png"))
    teacher.goto(f"{server.url}/courses/demo/")
    row = teacher.get_by_role("row", name=re.compile("^Sort and average"))
    expect(row).to_contain_text("published, released ")  # the staff still see it, and when

    bob = log_in(browser, server, "bob")
    bob.goto(f"{server.url}/courses/demo/")
    expect(bob.get_by_role("link", name="Sum of two numbers")).to_be_visible()
    expect(bob.get_by_role("link", name="Sort and average")).to_have_count(0)
    assert_accessible(bob)
    response = bob.goto(f"{server.url}/courses/demo/assignments/java-sort/")
    assert response is not None and response.status == 404
    assert_accessible(bob)
    assert try_to_submit(server, "bob", "java-sort", {"Main.java": b"class Main {}"}) == 404
    for page in (teacher, bob):
        page.close()


def test_an_archived_or_unpublished_assignment_is_gone_for_students(browser, server):  # noqa: F811
    teacher = log_in(browser, server, "teacher")
    label = "Archived: hidden from the students' course page, no new submissions"
    save_settings(teacher, server, "kattis-guess", **{label: True})
    teacher.goto(f"{server.url}/courses/demo/assignments/checker-cpp/manage/")
    teacher.get_by_role("button", name=re.compile("^Unpublish")).click()
    expect(teacher.get_by_role("status")).to_contain_text("Unpublished: students no longer see it")
    expect(teacher.get_by_role("main")).to_contain_text(
        "Not published: students do not see it yet."
    )
    assert_accessible(teacher)
    teacher.goto(f"{server.url}/courses/demo/")
    expect(teacher.get_by_role("row", name=re.compile("^Guess the number"))).to_contain_text(
        "published, archived"
    )
    expect(teacher.get_by_role("row", name=re.compile("^Pair sums"))).to_contain_text(
        "not published"
    )

    bob = log_in(browser, server, "bob")
    bob.goto(f"{server.url}/courses/demo/")
    expect(bob.get_by_role("link", name="Sum of two numbers")).to_be_visible()
    expect(bob.get_by_role("link", name="Guess the number")).to_have_count(0)
    expect(bob.get_by_role("link", name="Pair sums")).to_have_count(0)
    # the archived one stays readable by its address, without a way to submit
    bob.goto(f"{server.url}/courses/demo/assignments/kattis-guess/")
    expect(bob.get_by_role("alert")).to_have_text(
        "This assignment is archived; it takes no new submissions."
    )
    expect(bob.get_by_role("button", name="Submit")).to_have_count(0)
    assert_accessible(bob)
    assert try_to_submit(server, "bob", "kattis-guess", {"guess.py": b"print(1)\n"}) == 403
    response = bob.goto(f"{server.url}/courses/demo/assignments/checker-cpp/")
    assert response is not None and response.status == 404
    assert try_to_submit(server, "bob", "checker-cpp", {"pairs.cpp": b"int main(){}\n"}) == 404
    for page in (teacher, bob):
        page.close()


def test_a_student_is_refused_after_the_maximum_number_of_submissions(
    browser,  # noqa: F811
    server,
    tmp_path,
):
    teacher = log_in(browser, server, "teacher")
    save_settings(teacher, server, "kattis-distance", **{"Maximum submissions per student": "1"})
    teacher.close()
    bob = log_in(browser, server, "bob")
    bob.goto(f"{server.url}/courses/demo/assignments/kattis-distance/")
    expect(bob.get_by_role("main")).to_contain_text("Submissions: 0 of 1 used.")
    # his one submission, sent from elsewhere while this page is open
    submit(server, "bob", "demo/kattis-distance", {"distance.py": DISTANCE})
    (tmp_path / "distance.py").write_bytes(DISTANCE)
    bob.get_by_label("Files").set_input_files(str(tmp_path / "distance.py"))
    bob.get_by_role("button", name="Submit").click()
    # refused: the page says why, and offers no form any more
    expect(bob.get_by_role("alert")).to_have_text(
        "You have used all 1 submissions of this assignment."
    )
    expect(bob.get_by_role("main")).to_contain_text("Submissions: 1 of 1 used.")
    expect(bob.get_by_role("button", name="Submit")).to_have_count(0)
    expect(bob.locator("#submission-rows tbody tr")).to_have_count(1)  # the second was not kept
    assert_accessible(bob)
    bob.close()


def test_the_grade_comes_from_the_best_or_the_last_submission(browser, server):  # noqa: F811
    for solution in ("accepted/formula.py", "wrong_answer/float-division.py"):  # 10, then 4
        doc = submit(
            server,
            "alice",
            "demo/groups-python",
            {"triangular.py": (TRIANGULAR / solution).read_bytes()},
        )
        assert server.wait("alice", doc["id"])["status"] == "done"
    alice = log_in(browser, server, "alice")
    alice.goto(f"{server.url}/courses/demo/")
    grade = alice.get_by_role("row", name=re.compile("^Triangular numbers")).locator("td").nth(3)
    expect(grade).to_have_text("10")  # the best, by default
    teacher = log_in(browser, server, "teacher")
    save_settings(
        teacher,
        server,
        "groups-python",
        **{"The grade comes from": "the last evaluated submission"},
    )
    teacher.close()
    alice.reload()
    expect(grade).to_have_text("4")
    assert_accessible(alice)
    alice.get_by_role("link", name="Triangular numbers").click()
    expect(alice.get_by_role("main")).to_contain_text(
        "Your last evaluated submission gives the grade."
    )
    assert_accessible(alice)
    alice.close()
