"""Similarity in a real browser (chromium against a real `assay demo`, as test_browser.py): Alice
and Bob hand in "Sum of two numbers", Bob's a disguised copy of Alice's; the teacher opens
Similarity from the assignment's manage page, starts a comparison with last year's submissions
(Zoe's is Alice's solution again), watches it finish in the
background, finds the pair at the top of the ranked table and reads it side by side, each
matching region numbered and coloured alike on both sides. Alice may not open the page (403).
axe finds nothing at 1200 and 390 px on each page; the screenshots go to docs/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.conftest import ROOT

from .axe import assert_accessible
from .server import Server, free_port
from .similarity_cases import ALICE, BOB, DAVE, zipped
from .test_browser import browser, log_in  # noqa: F401
from .test_browser_grading import start_patiently
from .test_end_to_end import submit

pytestmark = pytest.mark.slow

DOCS = ROOT / "docs" / "screenshots"
LAST_YEAR = zipped({"2024/zoe/sum.c": ALICE.replace(b"count", b"k"), "2024/yann/sum.c": DAVE})


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    """This module's own demo, without testers (nothing here needs an evaluation)."""
    s = start_patiently(Server(tmp_path_factory.mktemp("similarity") / "data", free_port(), {}, testers=0))  # fmt: skip
    yield s
    s.stop()


def test_the_teacher_compares_the_submissions_and_reads_the_copy_side_by_side(browser, server):  # noqa: F811
    alice_doc = submit(server, "alice", "demo/sum-c", {"sum.c": ALICE})
    bob_doc = submit(server, "bob", "demo/sum-c", {"sum.c": BOB})

    teacher = log_in(browser, server, "teacher")
    teacher.goto(f"{server.url}/courses/demo/assignments/sum-c/manage/")
    teacher.get_by_role("link", name="Similarity").click()
    expect(teacher.get_by_role("heading", name=re.compile("^Similarity of "))).to_be_visible()
    expect(teacher.get_by_role("main")).to_contain_text("2 have submitted")
    assert_accessible(teacher)
    # with last year's submissions: Zoe's is Alice's solution again, Yann's his own
    teacher.get_by_label("Past years' submissions (optional)").set_input_files(
        files=[{"name": "2024.zip", "mimeType": "application/zip", "buffer": LAST_YEAR}]
    )
    teacher.get_by_role("button", name="Compare the latest submissions").click()
    expect(teacher.get_by_role("status").first).to_contain_text("Comparison started")

    # the progress part polls until the run is over, then the page shows the ranked pairs
    table = teacher.get_by_role("region", name="Pairs, most similar first")
    expect(table).to_be_visible(timeout=60_000)
    # Zoe's (Alice's own, last year) and Bob's copy of it come first, Yann's work is not listed
    rows = table.get_by_role("row")
    expect(rows.nth(1)).to_contain_text(f"alice (submission {alice_doc['id']})zoe (past years)")
    expect(rows.nth(1).get_by_role("strong")).to_have_text("100 %")
    copy = rows.nth(2)
    expect(copy).to_contain_text(
        f"alice (submission {alice_doc['id']})bob (submission {bob_doc['id']})"
    )
    expect(copy.get_by_role("strong")).to_have_text(re.compile(r"^(8|9)\d %$"))
    expect(table.get_by_role("row", name=re.compile("yann"))).to_have_count(0)
    assert_accessible(teacher)
    teacher.screenshot(path=str(DOCS / "supervisor-similarity.png"), full_page=True)

    copy.get_by_role("link", name=re.compile("^Pair 2:")).click()
    expect(
        teacher.get_by_role("heading", name=re.compile(r"^Pair 2: \d+ % similar"))
    ).to_be_visible()
    a_side = teacher.get_by_role("region", name=f"sum.c of alice (submission {alice_doc['id']})")
    b_side = teacher.get_by_role("region", name=f"sum.c of bob (submission {bob_doc['id']})")
    # region 1 on each side links to region 1 on the other, in the same colour
    mark_a, mark_b = a_side.locator("#a-r1"), b_side.locator("#b-r1")
    expect(mark_a).to_have_attribute("href", "#b-r1")
    expect(mark_b).to_have_attribute("href", "#a-r1")
    colour = "xpath=.. >> nth=0"
    assert (mark_a.locator(colour).get_attribute("class") or "").endswith("m0")
    assert (mark_b.locator(colour).get_attribute("class") or "").endswith("m0")
    assert_accessible(teacher)
    teacher.screenshot(path=str(DOCS / "supervisor-similarity-pair.png"), full_page=True)

    alice = log_in(browser, server, "alice")
    response = alice.goto(f"{server.url}/courses/demo/assignments/sum-c/manage/similarity/")
    assert response is not None and response.status == 403
    for page in (teacher, alice):
        page.close()
