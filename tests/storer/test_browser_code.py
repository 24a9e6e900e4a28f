"""Submitted code in a real browser (chromium against a real `assay demo`, as test_browser.py):
the student and the teacher read it highlighted on the submission page, follow a line's anchor,
scroll the code with the keyboard, download the zip and compare two submissions; at phone width
the code scrolls by itself and the page does not. Screenshots go to tests/screenshots/."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import EXAMPLES

# fixtures of the browser tests: this module gets its own demo server and browser
from .test_browser import browser, log_in, server, shot  # noqa: F401
from .test_end_to_end import submit

SUM = (EXAMPLES / "sum-c" / "solutions" / "accepted" / "sum.c").read_bytes()
LONG_LINE = b"/* " + b"a very long comment that does not fit on a phone " * 6 + b"*/\n"


@pytest.fixture(scope="module")
def two(server) -> tuple[int, int]:  # noqa: F811
    """Alice's two submissions of sum-c: the second adds a long comment and a header file."""
    first = submit(server, "alice", "demo/sum-c", {"sum.c": SUM})
    second = submit(
        server, "alice", "demo/sum-c",
        {"sum.c": LONG_LINE + SUM, "util.h": b"/* a <helper> header */\n#define TWO 2\n"},
    )  # fmt: skip
    for doc in (first, second):
        server.wait("alice", doc["id"])  # the page then shows its results above the code
    return first["id"], second["id"]


def csp_errors(page: Page) -> list[str]:
    found: list[str] = []
    page.on(
        "console",
        lambda m: (
            found.append(m.text)
            if m.type == "error" and "Content Security Policy" in m.text
            else None
        ),
    )
    return found


def test_a_student_reads_her_code_downloads_it_and_compares_it(browser, server, two):  # noqa: F811
    first, second = two
    page = log_in(browser, server, "alice")
    refused = csp_errors(page)
    page.goto(f"{server.url}/submissions/{second}/")
    code = page.locator("#code")
    expect(code.get_by_role("heading", name="util.h")).to_be_visible()  # loaded by htmx
    expect(code.locator(".hl .cp").first).to_have_text("#include")  # highlighted as C
    region = page.get_by_role("region", name="Code of sum.c")
    region.focus()
    expect(region).to_be_focused()
    assert region.evaluate("e => e.scrollWidth > e.clientWidth && e.scrollLeft === 0")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    # the keyboard scrolls the code (smoothly: it gets there a moment later)
    page.wait_for_function("e => e.scrollLeft > 0", arg=region.element_handle(), timeout=5000)
    page.locator("#f1-L2 a.ln").click()
    assert page.url.endswith("#f1-L2")
    shot(page, "student-code")

    with page.expect_download() as download:
        code.get_by_role("link", name="Download all files (zip)").click()
    assert download.value.suggested_filename == f"sum-c-alice-{second}.zip"
    names = zipfile.ZipFile(Path(download.value.path())).namelist()
    assert sorted(names) == ["sum.c", "util.h"]

    code.get_by_role("link", name=f"Compare with the previous submission ({first})").click()
    expect(
        page.get_by_role("heading", name=f"Changes from submission {first} to {second}")
    ).to_be_visible()
    expect(page.locator(".d-add").first).to_contain_text("a very long comment")
    expect(page.get_by_role("heading", name="util.h added")).to_be_visible()
    shot(page, "student-code-diff")
    assert refused == []  # no inline style or script: the Content-Security-Policy holds
    page.close()


def test_a_line_anchor_in_the_address_shows_that_line(browser, server, two):  # noqa: F811
    page = log_in(browser, server, "teacher", width=1200)
    page.set_viewport_size({"width": 1200, "height": 500})
    page.goto(f"{server.url}/submissions/{two[1]}/code/#f1-L5")
    expect(page.locator("#f1-L5")).to_be_in_viewport()
    page.goto(f"{server.url}/submissions/{two[1]}/")
    expect(page.get_by_role("heading", name="Submitted code")).to_be_visible()
    page.close()


def test_the_code_scrolls_by_itself_at_phone_width(browser, server, two):  # noqa: F811
    page = log_in(browser, server, "alice", width=390)
    page.goto(f"{server.url}/submissions/{two[1]}/")
    region = page.get_by_role("region", name="Code of sum.c")
    expect(region).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert region.evaluate("e => e.scrollWidth > e.clientWidth")  # the long line scrolls here
    shot(page, "phone-code")
    page.goto(f"{server.url}/submissions/{two[1]}/compare/?against={two[0]}")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.close()


def test_a_classmate_gets_not_found(browser, server, two):  # noqa: F811
    page = log_in(browser, server, "bob")
    for path in ("code/", "files.zip", f"compare/?against={two[0]}"):
        response = page.goto(f"{server.url}/submissions/{two[1]}/{path}")
        assert response is not None and response.status == 404
    page.close()
