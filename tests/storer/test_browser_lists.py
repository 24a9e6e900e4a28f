"""A long list in a real browser (chromium against a real `assay demo`, as test_browser.py): the
course's submissions come 50 a page; the teacher filters them by student, reaches the next page
with the keyboard, the filter stays; axe finds nothing at 1200 and 390 px."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import EXAMPLES

from .axe import assert_accessible

# this module gets its own demo server
from .test_browser import browser, log_in, server, shot  # noqa: F401
from .test_end_to_end import submit

SUM = (EXAMPLES / "sum-c" / "solutions" / "accepted" / "sum.c").read_bytes()


@pytest.fixture(scope="module")
def many(server) -> list[int]:  # noqa: F811
    return [submit(server, "alice", "demo/sum-c", {"sum.c": SUM})["id"] for _ in range(55)]


def test_the_course_submissions_come_in_pages_a_keyboard_can_turn(browser, server, many):  # noqa: F811
    teacher = log_in(browser, server, "teacher")
    teacher.goto(f"{server.url}/courses/demo/submissions/")
    teacher.get_by_label("Student").select_option("alice")
    teacher.get_by_role("button", name="Filter").click()
    pages = teacher.get_by_role("navigation", name="Pages")
    expect(pages).to_contain_text("page 1 of 2 (55 in all)")
    expect(teacher.get_by_role("link", name=str(many[-1]), exact=True)).to_be_visible()
    assert_accessible(teacher)
    # the next page is a plain link: focused (as Tab reaches it) and followed with Enter
    link = pages.get_by_role("link", name="Next")
    link.focus()
    expect(link).to_be_focused()
    teacher.keyboard.press("Enter")
    expect(pages).to_contain_text("page 2 of 2")
    assert re.search(r"[?&]student=alice&page=2$", teacher.url), teacher.url
    expect(teacher.get_by_label("Student")).to_have_value("alice")
    expect(teacher.locator("tbody tr")).to_have_count(5)
    expect(pages.get_by_role("link", name="page 2")).to_have_attribute("aria-current", "page")
    shot(teacher, "supervisor-submissions-pages")
    assert_accessible(teacher)
    teacher.close()
