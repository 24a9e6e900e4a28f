"""Results that explain themselves, in a real browser against a real `assay demo`: the progress
while the tests run, points per group and per test, a crash's stderr instead of a difference,
and a checker's message (to the student too) and partial scores (issue 11, part 4). axe checks
every page at desktop and phone widths."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.conftest import ROOT

from .axe import assert_accessible
from .server import Server, free_port
from .test_browser import browser, log_in  # noqa: F401 - the browser fixture
from .test_end_to_end import submit
from .test_result_explanations import CRASHY, PAIRS_PARTLY

# Alice's program for groups-python, slow enough (0.6 s a test) to watch the progress
SLOW_CRASHY = b"import time\ntime.sleep(0.6)\n" + CRASHY


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("results") / "data", free_port(), {}).start()
    yield s
    s.stop()


def test_a_student_watches_the_tests_run_and_reads_why_they_failed(browser, server):  # noqa: F811
    doc = submit(server, "alice", "demo/groups-python", {"triangular.py": SLOW_CRASHY})
    page = log_in(browser, server, "alice")
    page.goto(f"{server.url}/submissions/{doc['id']}/")
    status = page.locator("#status")
    expect(status).to_contain_text(re.compile(r"running, test [2-5] of 5"), timeout=30_000)
    expect(status).to_have_attribute("data-status", "done", timeout=30_000)
    expect(page.locator("#points")).to_have_text("2.6667 / 10")
    groups = page.get_by_role("region", name="Points by group")
    expect(groups.get_by_role("row", name=re.compile("easy"))).to_contain_text("2.6667 / 4")
    expect(groups.get_by_role("row", name=re.compile("hard"))).to_contain_text("0 / 6")
    expect(groups).to_contain_text("all tests must pass")
    tests = page.get_by_role("region", name="Tests")
    expect(tests.get_by_role("row", name=re.compile("^e1"))).to_contain_text("0 / 1.3333")
    card = page.locator("#test-1")
    expect(card.get_by_role("heading", name="Error output (the first KiB)")).to_be_visible()
    expect(card.locator("pre.stderr")).to_contain_text("my program gave up on e1")
    expect(card).not_to_contain_text("Your output")  # it printed nothing before it crashed
    expect(card).not_to_contain_text("Difference")
    assert "SECRET-FROM-H2" not in page.content()
    shot = ROOT / "docs" / "screenshots" / "student-results.png"
    page.screenshot(path=str(shot), full_page=True)
    assert_accessible(page)
    page.close()


@pytest.fixture(scope="module")
def pairs(server) -> int:  # noqa: F811
    """Alice's evaluated submission to checker-cpp: another valid pair than the expected one."""
    doc = submit(server, "alice", "demo/checker-cpp", {"pairs.cpp": PAIRS_PARTLY})
    assert server.wait("alice", doc["id"], timeout=120)["status"] == "done"
    return doc["id"]


def test_a_checkers_message_and_partial_scores_in_points(browser, server, pairs):  # noqa: F811
    page = log_in(browser, server, "teacher")
    page.goto(f"{server.url}/submissions/{pairs}/")
    expect(page.locator("#status")).to_have_attribute("data-status", "done")
    tests = page.get_by_role("region", name="Tests")
    expect(tests.get_by_role("row", name=re.compile("^2"))).to_contain_text("83.3 %")
    expect(tests.get_by_role("row", name=re.compile("^2"))).to_contain_text("2.0833 / 2.5")
    card = page.locator("#test-1")
    expect(card.locator("pre.checker-message")).to_contain_text("0 of 2 targets")
    expect(card).to_contain_text("An accepted output (the checker accepts others)")
    expect(card).not_to_contain_text("Difference")
    assert_accessible(page)
    page.close()


def test_the_student_reads_the_checkers_message_of_a_visible_test(browser, server, pairs):  # noqa: F811
    page = log_in(browser, server, "alice")
    page.goto(f"{server.url}/submissions/{pairs}/")
    card = page.get_by_role("region", name=re.compile("^Test 1 "))
    expect(card.get_by_role("heading", name="The checker's message")).to_be_visible()
    expect(card.locator("pre.checker-message")).to_contain_text("0 of 2 targets answered correctly")
    expect(card).not_to_contain_text("Difference")
    card.scroll_into_view_if_needed()
    card.screenshot(path=str(ROOT / "docs" / "screenshots" / "student-checker-message.png"))
    assert_accessible(page)
    page.close()
