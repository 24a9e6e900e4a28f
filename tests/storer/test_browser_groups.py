"""Groups and teams in a real browser (chromium against a real `assay demo`, as test_browser.py):
the teacher makes a team of Alice and Bob and a lab group, and switches sum-c to team
submissions; Alice submits; Bob finds the team on his course page and Alice's submission in his
own list, opens it and sees it counts for him; the teacher's grades page shows one group, and
the statistics and grades of a lab (Bob alone) count only its students. axe finds
nothing at 1200 and 390 px. Screenshots of the new pages go to docs/screenshots/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import EXAMPLES, ROOT

from .axe import assert_accessible
from .test_browser import browser, log_in, server  # noqa: F401
from .test_end_to_end import submit

pytestmark = pytest.mark.slow

SUM = (EXAMPLES / "sum-c" / "solutions" / "accepted" / "sum.c").read_bytes()
DOCS = ROOT / "docs" / "screenshots"


def doc_shot(page: Page, name: str) -> None:
    page.screenshot(path=str(DOCS / f"{name}.png"), full_page=True)


def test_a_team_shares_its_submissions_and_the_grades_show_one_group(browser, server):  # noqa: F811
    teacher = log_in(browser, server, "teacher")
    teacher.goto(f"{server.url}/courses/demo/")
    teacher.get_by_role("link", name="Groups and teams").click()
    expect(teacher.get_by_role("heading", name="Groups", exact=True)).to_be_visible()
    assert_accessible(teacher)
    teacher.get_by_label("Name").fill("Team Blue")
    teacher.get_by_label("Kind").select_option("team")
    teacher.get_by_label("teacher").check()
    teacher.get_by_label("Members").fill("alice\nbob")
    teacher.get_by_role("button", name="Create the group").click()
    expect(teacher.get_by_role("status")).to_have_text("Group Team Blue created.")
    # a mistake is named in its field, and nothing is created
    teacher.get_by_label("Name").fill("Lab 1")
    teacher.get_by_label("Members").fill("alice, nobody")
    teacher.get_by_role("button", name="Create the group").click()
    expect(teacher.get_by_role("alert")).to_contain_text("'nobody'")
    assert_accessible(teacher)
    teacher.get_by_label("Members").fill("alice")
    teacher.get_by_role("button", name="Create the group").click()
    expect(teacher.get_by_role("status")).to_have_text("Group Lab 1 created.")
    groups = teacher.get_by_role("region", name="Groups")
    expect(groups.get_by_role("row")).to_have_count(3)  # the header and two groups
    doc_shot(teacher, "supervisor-groups")

    teacher.goto(f"{server.url}/courses/demo/assignments/sum-c/manage/")
    teacher.get_by_role("button", name="Evaluate in teams").click()
    expect(teacher.get_by_role("status")).to_contain_text("team submissions")

    doc = submit(server, "alice", "demo/sum-c", {"sum.c": SUM})
    assert server.wait("alice", doc["id"])["status"] == "done"

    bob = log_in(browser, server, "bob")
    bob.goto(f"{server.url}/courses/demo/")
    expect(bob.get_by_text("Team Blue")).to_be_visible()
    expect(bob.locator("ul.groups")).to_contain_text("with alice")
    assert_accessible(bob)
    bob.goto(f"{server.url}/courses/demo/assignments/sum-c/")
    bob.get_by_role("link", name=f"{doc['id']}", exact=True).first.click()
    expect(bob.get_by_role("heading", name=f"Submission {doc['id']}")).to_be_visible()
    expect(bob.locator(".team-note")).to_contain_text("by alice, shared with bob")
    assert_accessible(bob)
    doc_shot(bob, "student-team-submission")

    # the grades of one group: the lab has alice only, the team both, each with the 10 points
    teacher.goto(f"{server.url}/courses/demo/groups/")
    teacher.get_by_role("link", name="Grades of Lab 1").click()
    grades = teacher.get_by_role("region", name="Grades")
    expect(grades.get_by_role("rowheader")).to_have_text(["alice"])
    expect(teacher.get_by_label("Group", exact=True)).to_have_value(teacher.url.split("group=")[1])
    teacher.get_by_label("Group", exact=True).select_option(label="Team Blue")
    teacher.get_by_role("button", name="Show").click()
    expect(grades.get_by_role("rowheader")).to_have_text(["alice", "bob"])
    expect(grades.get_by_role("row", name="bob")).to_contain_text("10")
    assert_accessible(teacher)


def test_the_statistics_and_the_grades_of_one_group(browser, server):  # noqa: F811
    # Alice gets all 10 points of Triangular numbers, Bob 4 (the easy group); Lab 2 has Bob only
    solutions = EXAMPLES / "groups-python" / "solutions"
    for who, solution in (
        ("alice", "accepted/formula.py"),
        ("bob", "wrong_answer/float-division.py"),
    ):
        doc = submit(
            server,
            who,
            "demo/groups-python",
            {"triangular.py": (solutions / solution).read_bytes()},
        )
        assert server.wait(who, doc["id"])["status"] == "done"
    with server.api("teacher") as api:
        made = api.post("/courses/demo/groups", json={"name": "Lab 2", "members": ["bob"]})
        assert made.status_code == 201, made.text

    teacher = log_in(browser, server, "teacher")
    teacher.goto(f"{server.url}/courses/demo/assignments/groups-python/stats/")
    expect(teacher.get_by_role("main")).to_contain_text("2 students of 2 enrolled have a grade.")
    teacher.get_by_label("Group", exact=True).select_option(label="Lab 2")
    teacher.get_by_role("button", name="Show").click()
    expect(
        teacher.get_by_role("heading", name="Statistics of Triangular numbers: Lab 2")
    ).to_be_visible()
    expect(teacher.get_by_role("main")).to_contain_text("1 student of 1 enrolled has a grade.")
    rates = teacher.get_by_role("region", name="Pass rate of each test")
    expect(rates.get_by_role("row", name=re.compile("^e1 "))).to_contain_text("1 / 1")
    expect(rates.get_by_role("row", name=re.compile("^h1 "))).to_contain_text("0 / 1")
    assert_accessible(teacher)
    doc_shot(teacher, "supervisor-stats-group")

    teacher.goto(f"{server.url}/courses/demo/grades/")
    teacher.get_by_label("Group", exact=True).select_option(label="Lab 2")
    teacher.get_by_role("button", name="Show").click()
    grades = teacher.get_by_role("region", name="Grades")
    expect(grades.get_by_role("rowheader")).to_have_text(["bob"])
    titles = grades.locator("thead th").all_inner_texts()
    column = next(i for i, title in enumerate(titles) if title.startswith("Triangular numbers"))
    bob = grades.get_by_role("row", name=re.compile("^bob"))
    expect(bob.locator("th, td").nth(column)).to_have_text("4")
    assert_accessible(teacher)
    doc_shot(teacher, "supervisor-grades-group")
    teacher.close()
