"""The web interface in a real browser: Debian's chromium driven by Playwright against a real
`assay demo` (storer, testers, sandbox). Screenshots go to tests/screenshots/."""

from __future__ import annotations

import csv
import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import EXAMPLES, ROOT

from .axe import PHONE, assert_accessible
from .server import Server, free_port
from .test_end_to_end import SLOW_SUM, crashy_package, submit

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = ROOT / "tests" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("browser") / "data", free_port(), {}).start()
    s.wait_for_testers()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: run ./setup.sh (it installs Debian's chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def log_in(browser: Browser, server: Server, user: str, width: int = 1200) -> Page:
    page = browser.new_page(viewport={"width": width, "height": 900}, accept_downloads=True)
    page.goto(server.url + "/login/")
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(server.logins[user]["password"])
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="My courses")).to_be_visible()
    return page


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_student_submits_two_files_and_sees_the_verdict_appear_without_reloading(
    browser, server, tmp_path
):
    page = log_in(browser, server, "alice")
    page.get_by_role("link", name="Demo course").click()
    page.get_by_role("link", name="Sum of two numbers").click()
    page.wait_for_url("**/assignments/sum-c/")  # loaded: assignment.js listens to the file input
    (tmp_path / "sum.c").write_bytes(
        SLOW_SUM.replace(b"#include <stdio.h>", b'#include <stdio.h>\n#include "util.h"')
    )
    (tmp_path / "util.h").write_text("/* a helper header */\n")
    page.get_by_label("Files").set_input_files([str(tmp_path / "sum.c"), str(tmp_path / "util.h")])
    expect(page.locator("#chosen")).to_have_text("sum.c, util.h")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("received")).to_be_visible()
    page.evaluate("window.__not_reloaded = true")
    status = page.locator("#submission-rows [data-status]").first
    expect(status).not_to_have_attribute(
        "data-status", "done"
    )  # the tests take ~1 s: still waiting
    shot(page, "student-queued")
    expect(status).to_have_attribute("data-status", "done", timeout=30_000)
    assert page.evaluate("window.__not_reloaded") is True  # htmx updated it in place
    expect(page.locator("#submission-rows .verdict").first).to_have_text("AC")
    shot(page, "student-assignment")
    assert_accessible(page)
    page.locator("#submission-rows a").first.click()
    expect(page.locator("#points")).to_have_text("10 / 10")
    expect(
        page.get_by_role("heading", name="Test 1 AC")
    ).to_be_visible()  # the visible test's details
    shot(page, "student-submission")
    assert_accessible(page)
    page.close()


def test_a_student_page_works_at_phone_width(browser, server):
    page = log_in(browser, server, "bob", width=390)
    page.goto(server.url + "/courses/demo/assignments/sum-c/")
    expect(page.get_by_role("button", name="Submit")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    shot(page, "phone-assignment")
    assert_accessible(page)
    page.close()


def test_keyboard_users_reach_the_content_first(browser, server):
    page = log_in(browser, server, "bob")
    page.goto(server.url + "/courses/demo/")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to content")
    assert_accessible(page)
    page.close()


def test_a_supervisor_publishes_a_package_cross_submits_re_evaluates_and_downloads_grades(
    browser, server, tmp_path
):
    page = log_in(browser, server, "teacher")
    page.goto(server.url + "/courses/demo/")
    page.get_by_role("link", name="New assignment from a package").click()
    assert_accessible(page)
    package = tmp_path / "echo.zip"
    package.write_bytes(crashy_package())
    page.get_by_label("Short name").fill("echo")
    page.get_by_label("Package (.zip)").set_input_files(str(package))
    page.get_by_role("button", name="Upload").click()
    # the reference solutions run on a tester; the page follows the validation live
    expect(page.locator("[data-version-state]").first).to_have_attribute(
        "data-version-state", "valid", timeout=60_000
    )
    shot(page, "supervisor-validation")
    assert_accessible(page)
    page.get_by_role("button", name="Publish version 1").click()
    expect(page.get_by_text("Version 1 is published.")).to_be_visible()

    # cross-submit for Bob
    page.goto(server.url + "/courses/demo/assignments/echo/")
    (tmp_path / "echo.py").write_text("print(input())\n")
    page.get_by_label("Files").set_input_files(str(tmp_path / "echo.py"))
    assert_accessible(page)
    page.get_by_label("Submit for student").select_option("bob")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("received")).to_be_visible()
    page.goto(server.url + "/courses/demo/submissions/?assignment=echo&student=bob")
    expect(page.get_by_text("(by teacher)")).to_be_visible()
    assert_accessible(page)

    # re-evaluate everything and watch the progress bar finish
    page.goto(server.url + "/courses/demo/assignments/echo/manage/")
    page.get_by_role("button", name="Re-evaluate all submissions").click()
    expect(page.get_by_role("heading", name="Re-evaluate all submissions of")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text(
        re.compile(r"of the one submission|for each of the [2-9]|[1-9]\d+ submissions")
    )
    shot(page, "supervisor-reevaluate")
    assert_accessible(page)
    page.get_by_role("button", name="Yes, re-evaluate").click()
    bar = page.locator("#reeval-progress")
    expect(bar).to_be_visible()
    total = bar.get_attribute("data-total")
    assert total and int(total) >= 1
    expect(bar).to_have_attribute("data-finished", total, timeout=60_000)
    expect(page.locator("#progress")).to_contain_text("done")
    shot(page, "supervisor-reevaluate-progress")
    assert_accessible(page)

    # the grades, as a table and as CSV
    page.goto(server.url + "/courses/demo/grades/")
    shot(page, "supervisor-grades")
    assert_accessible(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text())))
    header = rows[0]
    assert header[0] == "student" and "echo" in header and header[-1] == "total"
    bob = next(r for r in rows if r[0] == "bob")
    assert bob[header.index("echo")] == "10"
    page.goto(server.url + "/courses/demo/assignments/echo/stats/")
    expect(page.locator("svg.chart").first).to_be_visible()
    assert_accessible(page)
    page.close()


# a second asleep in each of sum-c's 4 tests: long enough to be seen running, cheap in cpu time
SLOWER_SUM = SLOW_SUM.replace(b"{0, 300000000L}", b"{1, 0}")


def test_the_administrator_sees_testers_and_a_job_running(browser, server):
    doc = submit(server, "alice", "demo/sum-c", {"sum.c": SLOWER_SUM})
    page = log_in(browser, server, "admin")
    page.get_by_role("link", name="Queue and testers").click()
    # the demo's testers show once they have verified their runtimes and said hello (slow on a
    # loaded machine); the page follows itself
    testers = page.get_by_role("region", name="Testers")  # local-1 ran jobs too: "Finished lately"
    expect(testers.get_by_role("cell", name="local-1", exact=True)).to_be_visible(timeout=60_000)
    running = page.get_by_role("region", name="Running evaluations").locator(
        'tr[data-state="running"]', has=page.get_by_role("link", name=f"submission {doc['id']}")
    )
    expect(running).to_be_visible(timeout=60_000)
    expect(running).to_contain_text(re.compile(r"building|test [1-4] of 4"))
    expect(
        testers.get_by_role("row", name=re.compile("^local-")).filter(has_text="busy (job")
    ).to_have_count(1)
    shot(page, "admin-queue-running")
    assert_accessible(page)
    page.close()


def test_the_statistics_count_students_not_submissions(browser, server, bobs):
    page = log_in(browser, server, "teacher")
    page.goto(server.url + "/courses/demo/submissions/?assignment=sum-c&status=done")
    rows = page.get_by_role("region", name="Submissions").locator("tbody tr")
    expect(rows.first).to_be_visible()
    authors = [row.locator("td").nth(1).inner_text().split()[0] for row in rows.all()]
    assert authors.count("bob") >= 2  # Bob's two submissions (the fixture)
    students = len(set(authors))
    page.goto(server.url + "/courses/demo/assignments/sum-c/stats/")
    expect(page.get_by_role("main")).to_contain_text(
        re.compile(rf"\b{students} students? of \d+ enrolled (has|have) a grade")
    )
    tests = page.get_by_role("region", name="Pass rate of each test")
    expect(tests.get_by_role("row", name=re.compile("^1 "))).to_contain_text(f"/ {students}")
    counts = page.get_by_role("region", name="Score distribution").locator("tbody td.num")
    assert sum(int(c) for c in counts.all_inner_texts()) == students
    shot(page, "supervisor-stats")
    assert_accessible(page)
    page.close()


@pytest.fixture(scope="module")
def bobs(server) -> tuple[int, int]:
    """Bob's two evaluated submissions: an accepted one, then a wrong answer (its page shows a
    visible test's diff, and the two can be compared)."""
    wrong = b'#include <stdio.h>\nint main(void) { puts("4"); return 0; }\n'
    ids = []
    for source in ((EXAMPLES / "sum-c" / "solutions" / "accepted" / "sum.c").read_bytes(), wrong):
        doc = submit(server, "bob", "demo/sum-c", {"sum.c": source})
        assert server.wait("bob", doc["id"])["status"] == "done"
        ids.append(doc["id"])
    return ids[0], ids[1]


# every main page as the role that uses it (None: not logged in)
MAIN_PAGES = [
    (None, ["/login/"]),
    ("bob", ["/", "/courses/demo/", "/courses/demo/assignments/sum-c/", "/submissions/{s}/",
             "/submissions/{s}/code/", "/submissions/{s}/compare/?against={first}",
             "/no/such/page/", "/courses/demo/grades/"]),  # the last two: the 404 and 403 pages
    ("teacher", ["/courses/demo/", "/courses/demo/assignments/sum-c/", "/submissions/{s}/",
                 "/courses/demo/new-assignment/", "/courses/demo/assignments/sum-c/manage/",
                 "/courses/demo/assignments/sum-c/stats/", "/courses/demo/submissions/",
                 "/courses/demo/grades/", "/courses/demo/members/"]),
    ("admin", ["/", "/manage/queue/"]),
]  # fmt: skip


ERROR_PAGES = {
    ("bob", "/no/such/page/"): "error-404",
    ("bob", "/courses/demo/grades/"): "error-403",
}


@pytest.mark.parametrize(("who", "paths"), MAIN_PAGES, ids=[str(w) for w, _ in MAIN_PAGES])
def test_axe_finds_nothing_on_the_main_pages_at_desktop_and_phone_width(
    browser, server, bobs, who, paths
):
    page = log_in(browser, server, who) if who else browser.new_page()
    for path in paths:
        page.goto(server.url + path.format(first=bobs[0], s=bobs[1]))
        expect(page.locator("main h1").first).to_be_visible()
        page.wait_for_load_state("networkidle")  # the parts htmx loads after the page
        assert_accessible(page)
        if (who, path) in ERROR_PAGES:
            shot(page, ERROR_PAGES[who, path])
    page.close()


def test_the_axe_check_names_the_rule_the_element_and_the_help(browser):
    page = browser.new_page()
    page.set_content('<html lang="en"><title>t</title><main><h1>t</h1><img src="x.png"></main>')
    with pytest.raises(AssertionError) as failure:
        assert_accessible(page)
    assert "- image-alt (critical): Images must have alternative text" in str(failure.value)
    assert str(failure.value).endswith("\n    img")  # the element's selector
    page.close()


def test_axe_finds_nothing_on_forms_that_show_errors(browser, server, tmp_path):
    page = browser.new_page()
    page.goto(server.url + "/login/")
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill("not bob's password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert_accessible(page)
    page.close()

    page = log_in(browser, server, "teacher")
    page.goto(server.url + "/courses/demo/new-assignment/")
    (tmp_path / "broken.zip").write_bytes(b"not a zip")
    page.get_by_label("Short name").fill("broken")
    page.get_by_label("Package (.zip)").set_input_files(str(tmp_path / "broken.zip"))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert_accessible(page)
    page.close()


def test_a_wide_table_scrolls_by_keyboard_at_phone_width(browser, server, bobs):
    page = log_in(browser, server, "teacher", width=PHONE)
    page.goto(server.url + "/courses/demo/grades/")
    grades = page.get_by_role("region", name="Grades")
    assert grades.evaluate("e => e.scrollWidth > e.clientWidth")  # wider than the phone
    grades.focus()
    page.keyboard.press("ArrowRight")
    expect(grades).not_to_have_js_property("scrollLeft", 0)
    page.close()


def test_examples_are_in_the_demo():
    assert (EXAMPLES / "sum-c").is_dir()
