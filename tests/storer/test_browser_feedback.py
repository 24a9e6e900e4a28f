"""Feedback in a real browser (chromium against a real `assay demo`, as test_browser.py, with its
e-mail going to an SMTP server on loopback): the teacher comments on a line (chosen by clicking
its number in the code) and on the whole submission with the keyboard, edits and deletes a
comment; Alice gets one e-mail with the link, sees the header's badge, follows the link, reads
the comments under their lines, and the badge goes; Bob gets a 404. axe finds nothing at 1200
and 390 px. Screenshots go to tests/screenshots/."""

from __future__ import annotations

import email
import re
from email import policy

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import EXAMPLES

from .axe import PHONE, assert_accessible
from .server import Server

# the browser of the browser tests; this module gets its own demo server with a mailbox
from .test_browser import SHOTS, browser, log_in, shot  # noqa: F401
from .test_end_to_end import mailbox, server, submit  # noqa: F401

SUM = (EXAMPLES / "sum-c" / "solutions" / "accepted" / "sum.c").read_bytes()


@pytest.fixture(scope="module")
def submission(server) -> int:  # noqa: F811
    doc = submit(server, "alice", "demo/sum-c", {"sum.c": SUM})
    assert server.wait("alice", doc["id"])["status"] == "done"
    return doc["id"]


def open_feedback(page: Page, server: Server, submission: int) -> None:  # noqa: F811
    page.goto(f"{server.url}/submissions/{submission}/")
    expect(page.locator("#code .hl").first).to_be_visible()  # both parts loaded by htmx
    expect(page.locator("#feedback h2")).to_have_text(re.compile("^Feedback"))


def test_staff_comment_and_the_student_is_told_and_reads_it(browser, server, mailbox, submission):  # noqa: F811
    box, _ = mailbox
    teacher = log_in(browser, server, "teacher")
    open_feedback(teacher, server, submission)
    expect(teacher.get_by_text("No comments yet.")).to_be_visible()
    assert_accessible(teacher)

    # a line: its number in the code fills in the form's file and line
    teacher.locator("#f1-L3 a.ln").click()
    expect(teacher.get_by_label("On", exact=True)).to_have_value("sum.c")
    expect(teacher.get_by_label("Line", exact=True)).to_have_value("3")
    expect(teacher.get_by_label("Comment", exact=True)).to_be_focused()
    teacher.get_by_label("Comment", exact=True).fill(
        "Why `long long` here? *Explain* in a comment."
    )
    teacher.get_by_role("button", name="Add comment").click()
    expect(teacher.get_by_role("status")).to_have_text("Comment added (sum.c, line 3).")
    # the code shows it under its line (the code section is loaded again)
    expect(teacher.locator("#code .line-comments")).to_contain_text("Explain")

    # the whole submission, with the keyboard only
    teacher.get_by_label("On", exact=True).focus()
    teacher.keyboard.press("Home")  # the first choice: the whole submission
    teacher.get_by_label("Comment", exact=True).focus()
    teacher.keyboard.type("Clean and correct. Next time, test with negative numbers.")
    teacher.keyboard.press("Tab")
    expect(teacher.get_by_role("button", name="Add comment")).to_be_focused()
    teacher.keyboard.press("Enter")
    expect(teacher.get_by_role("status")).to_have_text("Comment added (the whole submission).")
    expect(teacher.locator("#feedback .comment")).to_have_count(2)
    assert_accessible(teacher)
    shot(teacher, "supervisor-feedback")
    teacher.locator("#feedback").scroll_into_view_if_needed()
    teacher.evaluate("document.getElementById('feedback').scrollIntoView()")
    teacher.screenshot(path=str(SHOTS / "supervisor-feedback-form.png"))  # what the eye sees

    # one e-mail for the two comments, through SMTP, with the link to the submission
    link = f"{server.url}/submissions/{submission}/#feedback"
    assert len(box.messages) == 1, box.messages
    message = email.message_from_string(box.messages[0], policy=policy.default)
    assert message["To"] == "alice@example.org"
    assert link in message.get_content()

    alice = log_in(browser, server, "alice")
    badge = alice.get_by_role("link", name="Feedback 2 unread")
    expect(badge).to_be_visible()
    alice.goto(link)
    expect(alice.locator("#feedback .comment-new")).to_have_count(2)
    expect(alice.locator("#code .line-comments em")).to_have_text("Explain")
    expect(alice.get_by_role("link", name="Feedback", exact=True)).to_be_visible()  # read now
    assert "<form" not in alice.locator("#feedback").inner_html()
    assert_accessible(alice)
    shot(alice, "student-feedback")
    # the list links to the line in the code
    alice.get_by_role("link", name="sum.c, line 3").click()
    assert alice.url.endswith("#f1-L3")
    alice.close()

    # the teacher edits one and deletes the other
    teacher.get_by_role("link", name="Edit the comment on the whole submission").click()
    editor = teacher.locator("#feedback .comments").get_by_label("Comment", exact=True)
    expect(editor).to_be_focused()  # the form takes the focus where the comment was
    editor.fill("Clean and correct.")
    teacher.get_by_role("button", name="Save").click()
    expect(teacher.get_by_role("status")).to_have_text("Comment on the whole submission saved.")
    teacher.once("dialog", lambda dialog: dialog.accept())
    teacher.get_by_role("button", name="Delete the comment on sum.c, line 3").click()
    expect(teacher.get_by_role("status")).to_have_text("Comment on sum.c, line 3 deleted.")
    expect(teacher.locator("#feedback .comment")).to_have_count(1)
    expect(teacher.locator("#code .line-comments")).to_have_count(0)
    teacher.close()

    alice = log_in(browser, server, "alice")  # the edit is news again; no second e-mail
    expect(alice.get_by_role("link", name="Feedback 1 unread")).to_be_visible()
    alice.get_by_role("link", name="Feedback 1 unread").click()
    expect(alice.get_by_role("heading", name="Unread feedback")).to_be_visible()
    shot(alice, "student-feedback-unread")
    alice.get_by_role("link", name=f"Submission {submission}").click()
    expect(alice.locator("#feedback .comment-text")).to_have_text("Clean and correct.")
    assert len(box.messages) == 1
    alice.close()


def test_feedback_at_phone_width_and_for_a_classmate(browser, server, submission):  # noqa: F811
    with server.api("teacher") as api:
        body = {
            "text": "A long line: break it after the format string, " * 3,
            "file": "sum.c",
            "line": 4,
        }
        assert api.post(f"/submissions/{submission}/comments", json=body).status_code == 201
    alice = log_in(browser, server, "alice", width=PHONE)
    alice.goto(f"{server.url}/feedback/")
    expect(alice.get_by_role("heading", name="Unread feedback")).to_be_visible()
    assert_accessible(alice)
    open_feedback(alice, server, submission)
    assert alice.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    note = alice.locator("#code .line-comments")
    expect(note).to_contain_text("break it after")
    assert note.evaluate("e => e.getBoundingClientRect().right <= window.innerWidth")
    assert_accessible(alice)
    shot(alice, "phone-feedback")
    alice.close()
    bob = log_in(browser, server, "bob")
    for path in (
        f"/submissions/{submission}/feedback/",
        f"/submissions/{submission}/feedback/part/",
    ):
        assert bob.goto(server.url + path).status == 404
    bob.close()
