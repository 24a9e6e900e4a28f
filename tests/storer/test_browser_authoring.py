"""A new assignment without the command line (issue 11 part 8), in a real browser against a real
`assay demo` (storer, testers, sandbox): the supervisor creates it from a template, edits the
statement with its live preview, sets a limit, adds a test and edits it, uploads a reference
solution, builds it, and sees the tester validate and publish it; then a student submits to it.
On a published assignment a custom checker is refused without its source and accepted with it.
axe checks every page at desktop and phone widths. Screenshots of the editor go to
docs/screenshots/."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import ROOT

from .axe import assert_accessible
from .server import Server, free_port
from .test_browser import browser, log_in  # noqa: F401 - the browser fixture

SHOTS = ROOT / "docs" / "screenshots"
ADD_C = b'#include <stdio.h>\nint main(void){long long a,b;if(scanf("%lld %lld",&a,&b)!=2)return 1;printf("%lld\\n",a+b);return 0;}\n'

# a checker as the judge page takes it: the answer's tokens, in any case
TOKEN_CHECKER = """import sys
expected = open(sys.argv[2]).read().lower().split()
sys.exit(42 if sys.stdin.read().lower().split() == expected else 43)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("authoring") / "data", free_port(), {}).start()
    yield s
    s.stop()


def fits_the_screen(page: Page) -> None:
    """Nothing wider than a phone's screen: the page never scrolls sideways."""
    own = page.viewport_size
    page.set_viewport_size({"width": 390, "height": 900})
    try:
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    finally:
        if own:
            page.set_viewport_size(own)


@pytest.mark.slow
def test_a_supervisor_makes_an_assignment_in_the_editor_and_a_student_submits_to_it(
    browser,  # noqa: F811
    server,
    tmp_path,
):
    page = log_in(browser, server, "teacher")
    page.goto(server.url + "/courses/demo/")
    page.get_by_role("link", name="New assignment in the editor").click()
    assert_accessible(page)
    page.get_by_label("Short name").fill("add")
    page.get_by_label("Title").fill("Add two numbers")
    page.get_by_label("Start from").select_option("tokens")
    page.get_by_role("button", name="Create the draft").click()

    # the statement, with a preview rendered by the server as the assignment page renders it
    expect(page.get_by_role("heading", name="Edit Add two numbers: statement")).to_be_visible()
    statement = page.get_by_label("Statement (Markdown)")
    statement.fill(
        "# Add two numbers\n\nRead *a* and *b*; print **a + b**.\n\n<script>alert(1)</script>"
    )
    preview = page.locator("#preview")
    expect(preview.get_by_role("heading", name="Add two numbers")).to_be_visible()
    expect(preview.locator("strong")).to_have_text("a + b")
    expect(preview.locator("script")).to_have_count(0)
    shot(page, "supervisor-editor-statement")
    assert_accessible(page)
    fits_the_screen(page)
    page.get_by_role("button", name="Save the statement").click()
    expect(page.get_by_text("Statement saved.")).to_be_visible()

    # a limit, refused with the field named, then accepted
    page.get_by_role("link", name="Settings and limits").click()
    page.get_by_label("Time limit (s)", exact=True).fill("-1")
    page.get_by_role("button", name="Save the settings").click()
    expect(page.get_by_text("Input should be greater than 0")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Time limit (s)", exact=True).fill("2")
    page.get_by_role("button", name="Save the settings").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible()
    shot(page, "supervisor-editor-settings")

    # a visible test, added in the page
    page.get_by_role("link", name="Tests", exact=True).click()
    page.get_by_label("Name", exact=True).fill("sample1")
    page.get_by_label("Input", exact=True).fill("20 22\n")
    page.get_by_label("Expected output", exact=True).fill("42\n")
    page.get_by_label("Visible: students see").check()
    page.get_by_role("button", name="Add the test").click()
    expect(page.get_by_text("Test sample1 added.")).to_be_visible()
    row = page.get_by_role("region", name="Tests").get_by_role("row", name=re.compile("^sample1"))
    expect(row).to_contain_text("everything")
    shot(page, "supervisor-editor-tests")
    assert_accessible(page)
    fits_the_screen(page)
    # the test edited in its own page: its input and expected output replaced
    page.get_by_role("link", name="sample1").click()
    expect(page.get_by_label("Expected output", exact=True)).to_have_value("42\n")
    assert_accessible(page)
    page.get_by_label("Input", exact=True).fill("1 2\n")
    page.get_by_label("Expected output", exact=True).fill("3\n")
    page.get_by_role("button", name="Save test sample1").click()
    expect(page.get_by_text("Test sample1 saved.")).to_be_visible()
    page.get_by_role("link", name="sample1").click()
    expect(page.get_by_label("Input", exact=True)).to_have_value("1 2\n")
    expect(page.get_by_label("Expected output", exact=True)).to_have_value("3\n")

    page.get_by_role("link", name="Judge").click()
    expect(page.get_by_label("How outputs are judged")).to_have_value("tokens")
    assert_accessible(page)

    # a reference solution of our own
    page.get_by_role("link", name="Reference solutions").click()
    (tmp_path / "add.c").write_bytes(ADD_C)
    page.get_by_label("Expected verdict").select_option("accepted")
    page.get_by_label("Solution file(s)").set_input_files(str(tmp_path / "add.c"))
    page.get_by_role("button", name="Add the solution").click()
    expect(page.get_by_text("Reference solution accepted/add.c added.")).to_be_visible()
    assert_accessible(page)
    shot(page, "supervisor-editor-solutions")

    # build: validated on a tester as an upload is, and published when valid
    page.get_by_role("link", name="Build and download").click()
    assert_accessible(page)
    shot(page, "supervisor-editor-build")
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Download the package")).click()
    assert download.value.suggested_filename == "add.zip"
    page.get_by_role("button", name="Build the package").click()
    expect(page.get_by_text("Version 1 built")).to_be_visible()
    expect(page.locator("[data-version-state]").first).to_have_attribute(
        "data-version-state", "published", timeout=120_000
    )
    expect(page.get_by_role("region", name="Reference solutions of version 1")).to_contain_text(
        "accepted/add.c"
    )
    assert_accessible(page)
    page.close()

    # a student reads the statement, submits, and sees the visible test in full
    page = log_in(browser, server, "alice")
    page.goto(server.url + "/courses/demo/assignments/add/")
    expect(page.locator(".description strong")).to_have_text("a + b")
    page.get_by_label("Files").set_input_files(str(tmp_path / "add.c"))
    page.get_by_role("button", name="Submit").click()
    status = page.locator("#submission-rows [data-status]").first
    expect(status).to_have_attribute("data-status", "done", timeout=60_000)
    expect(page.locator("#submission-rows .verdict").first).to_have_text("AC")
    assert_accessible(page)
    page.locator("#submission-rows a").first.click()
    expect(page.get_by_role("heading", name="Test sample1 AC")).to_be_visible()  # visible to her
    expect(page.locator("#test-1 pre").first).to_contain_text("1 2")  # the test as edited
    page.close()


@pytest.mark.slow
def test_a_supervisor_edits_the_current_version_and_a_kattis_package_stays_read_only(
    browser,  # noqa: F811
    server,
    tmp_path,
):
    page = log_in(browser, server, "teacher")
    page.goto(server.url + "/courses/demo/assignments/groups-python/manage/")
    page.get_by_role("link", name="Edit the package in the editor").click()
    expect(page.get_by_role("heading", name=re.compile("start a draft"))).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Edit version 1").click()
    expect(page.get_by_label("Statement (Markdown)")).not_to_be_empty()
    expect(page.get_by_text("A draft from version 1")).to_be_visible()
    page.get_by_role("link", name="Tests", exact=True).click()
    zipped = tmp_path / "more.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("e4/input", "4\n")
        zf.writestr("e4/output", "10\n")
        zf.writestr("../evil.in", "x")
    page.get_by_label("A zip of tests").set_input_files(str(zipped))
    page.get_by_role("button", name="Upload the tests").click()
    expect(page.get_by_text("'..' is not allowed in paths")).to_be_visible()  # refused, said why
    assert_accessible(page)
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("e4/input", "4\n")
        zf.writestr("e4/output", "10\n")
    page.get_by_label("A zip of tests").set_input_files(str(zipped))
    page.get_by_role("button", name="Upload the tests").click()
    expect(page.get_by_text("Added or replaced 1 test(s): e4.")).to_be_visible()
    page.get_by_role("button", name="Show test e4").click()
    expect(page.get_by_role("button", name="Hide test e4")).to_be_visible()
    page.get_by_role("button", name="Delete test h2").click()
    expect(page.get_by_text("Test h2 deleted.")).to_be_visible()
    page.get_by_role("link", name="Judge").click()
    page.get_by_label("How outputs are judged").select_option("checker")
    page.get_by_role("button", name="Save the judge").click()
    expect(page.get_by_text("Give the checker's source")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Checker file").select_option("checker.py")
    page.get_by_label("Checker source").fill(TOKEN_CHECKER)
    page.get_by_role("button", name="Save the judge").click()
    expect(page.get_by_text("Judge saved.")).to_be_visible()  # accepted, and kept
    expect(page.get_by_label("How outputs are judged")).to_have_value("checker")
    expect(page.get_by_label("Checker file")).to_have_value("checker.py")
    expect(page.get_by_label("Checker source")).to_have_value(TOKEN_CHECKER)
    assert_accessible(page)
    shot(page, "supervisor-editor-judge")

    page.goto(server.url + "/courses/demo/assignments/kattis-distance/manage/")
    page.get_by_role("link", name="Edit the package in the editor").click()
    expect(page.get_by_text("is a Kattis problem package")).to_be_visible()
    expect(page.get_by_role("button", name="Edit version 1")).to_have_count(0)
    assert_accessible(page)
    page.close()

    page = log_in(browser, server, "bob")
    response = page.goto(server.url + "/courses/demo/assignments/groups-python/edit/tests/")
    assert response is not None and response.status == 403
    page.close()


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
