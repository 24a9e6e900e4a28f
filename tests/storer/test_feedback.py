"""Feedback: the staff's comments on a line or on the whole submission, in the pages and the API,
with the submission page's permissions; the student's unread count and the e-mail.

The cast is conftest's: the teacher of prog1 and the administrator comment on Alice's
submission; Alice reads the comments (and cannot write, edit or delete one); Bob (her
classmate), Carol (another course's student) and Tina (another course's supervisor) get a 404,
as if it did not exist."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from assay.storer.evaluation import services as evaluation
from assay.storer.feedback import services
from assay.storer.feedback.models import Comment

from .conftest import SUM_OK
from .test_code_view import login
from .test_poll_cost import queries_of

WHO = [None, "alice", "bob", "carol", "teacher", "tina", "admin"]
READS = {"alice", "teacher", "admin"}
WRITES = {"teacher", "admin"}
NOTES = b"first line\nsecond line\nthird line\n"


@pytest.fixture
def sub(cast):
    """Alice's submission of two files: notes.txt (3 lines) and sum.c."""
    alice = cast.users["alice"]
    return evaluation.create_submission(
        cast.sum, alice, alice, {"sum.c": SUM_OK, "notes.txt": NOTES}
    )


@pytest.fixture
def commented(cast, sub):
    """The teacher's comment on the whole submission and one on line 2 of notes.txt."""
    teacher = cast.users["teacher"]
    whole = services.add(sub, teacher, "Well structured. **Good** work.")
    line = services.add(sub, teacher, "Say *why* here.", "notes.txt", 2)
    mail.outbox.clear()
    return whole, line


# -- who may do what ------------------------------------------------------------------------


@pytest.mark.parametrize("who", WHO)
def test_only_the_author_and_the_courses_staff_read_the_comments(cast, sub, commented, who):
    for path in ("/submissions/{s}/feedback/", "/submissions/{s}/feedback/part/"):
        r = login(cast, who).get(path.format(s=sub.id))
        if who is None:
            assert r.status_code == 302 and r["Location"].startswith("/login/")
        else:
            assert r.status_code == (200 if who in READS else 404), (path, r.content[:300])
            if who in READS:
                assert "Well structured." in r.content.decode()
    r = cast.api(who).get(f"/submissions/{sub.id}/comments")
    assert r.status_code == (401 if who is None else 200 if who in READS else 404)


@pytest.mark.parametrize("who", WHO)
def test_only_the_courses_staff_add_a_comment(cast, sub, who):
    r = login(cast, who).post(f"/submissions/{sub.id}/feedback/add/", {"text": "Hi", "file": ""})
    if who is None:
        assert r.status_code == 302 and r["Location"].startswith("/login/")
    else:
        assert r.status_code == (302 if who in WRITES else 403 if who == "alice" else 404)
    r = cast.api(who).post(f"/submissions/{sub.id}/comments", json={"text": "Hi"})
    assert r.status_code == (
        401 if who is None else 201 if who in WRITES else 403 if who == "alice" else 404
    )
    assert Comment.objects.count() == (2 if who in WRITES else 0)


@pytest.mark.parametrize("who", WHO)
def test_only_the_courses_staff_edit_and_delete_a_comment(cast, sub, commented, who):
    whole, line = commented
    expected = 401 if who is None else 200 if who in WRITES else 403 if who == "alice" else 404
    r = cast.api(who).patch(f"/comments/{whole.id}", json={"text": "Changed"})
    assert r.status_code == expected
    r = login(cast, who).post(f"/comments/{line.id}/edit/", {f"c{line.id}-text": "Edited"})
    assert r.status_code == (302 if who is None or who in WRITES else expected)
    api = cast.api(who)
    r = api.client.delete(f"/api/comments/{whole.id}", **api.headers)
    assert r.status_code == (204 if who in WRITES else expected)
    r = login(cast, who).post(f"/comments/{line.id}/delete/")
    assert r.status_code == (302 if who is None or who in WRITES else expected)
    assert Comment.objects.count() == (0 if who in WRITES else 2)


def test_a_comment_of_a_submission_one_cannot_see_is_missing_not_forbidden(cast, sub, commented):
    r = cast.api("bob").patch(f"/comments/{commented[0].id}", json={"text": "x"})
    assert r.json()["error"]["code"] == "not_found"
    assert cast.api("teacher").patch("/comments/999999", json={"text": "x"}).status_code == 404


# -- the pages ------------------------------------------------------------------------------


def test_a_line_comment_shows_under_its_line_and_links_from_the_list(cast, sub, commented):
    whole, line = commented
    c = login(cast, "alice")
    code = c.get(f"/submissions/{sub.id}/code/part/").content.decode()
    # notes.txt is the first file by name: line 2 is #f1-L2, and its comment follows it
    after = code.split('id="f1-L2"', 1)[1]
    assert after.index("Say <em>why</em> here.") < after.index('id="f1-L3"')
    part = c.get(f"/submissions/{sub.id}/feedback/part/").content.decode()
    assert 'href="#f1-L2">notes.txt, line 2</a>' in part
    assert "<strong>Good</strong>" in part and "the whole submission" in part
    page = c.get(f"/submissions/{sub.id}/feedback/").content.decode()
    assert f'href="/submissions/{sub.id}/code/#f1-L2"' in page


def test_the_submission_page_loads_the_feedback_section(cast, sub):
    html = login(cast, "alice").get(f"/submissions/{sub.id}/").content.decode()
    assert f'hx-get="/submissions/{sub.id}/feedback/part/"' in html
    assert f'href="/submissions/{sub.id}/feedback/"' in html  # without JavaScript


def test_the_text_is_markdown_without_scripts(cast, sub):
    services.add(sub, cast.users["teacher"], "<script>alert(1)</script> [x](javascript:alert(1))")
    html = login(cast, "alice").get(f"/submissions/{sub.id}/feedback/part/").content.decode()
    assert "<script>alert" not in html and "javascript:" not in html


def test_the_staff_see_a_labelled_form_and_the_student_none(cast, sub, commented):
    staff = login(cast, "teacher").get(f"/submissions/{sub.id}/feedback/part/").content.decode()
    for field in ("file", "line", "text"):
        assert re.search(rf'<label for="id_{field}">', staff), field
    assert '<option value="notes.txt">notes.txt</option>' in staff
    assert "Edit</a>" in staff and "Delete</button>" in staff
    student = login(cast, "alice").get(f"/submissions/{sub.id}/feedback/part/").content.decode()
    assert "<form" not in student and "Edit</a>" not in student


def test_the_form_adds_a_line_comment_and_says_so(cast, sub):
    r = login(cast, "teacher").post(
        f"/submissions/{sub.id}/feedback/add/",
        {"file": "notes.txt", "line": "3", "text": "Off by one?"},
        HTTP_HX_REQUEST="true",
    )
    assert r.status_code == 200 and "feedback-changed" in r["HX-Trigger"]
    assert "Comment added (notes.txt, line 3)." in r.content.decode()
    c = Comment.objects.get()
    assert (c.file_name, c.line, c.text, c.author, c.student) == (
        "notes.txt", 3, "Off by one?", cast.users["teacher"], cast.users["alice"]
    )  # fmt: skip


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"file": "notes.txt", "line": "4", "text": "x"}, "line", "notes.txt has 3 lines"),
        ({"file": "notes.txt", "line": "", "text": "x"}, "line", "give a line number"),
        ({"file": "other.c", "line": "1", "text": "x"}, "file", "Select a valid choice"),
        ({"file": "", "text": "   "}, "text", "This field is required"),
    ],
)
def test_the_form_refuses_a_bad_place_or_an_empty_text(cast, sub, data, field, message):
    r = login(cast, "teacher").post(f"/submissions/{sub.id}/feedback/add/", data)
    assert r.status_code == 400
    assert message in r.content.decode()
    assert not Comment.objects.exists()


def test_the_staff_edit_a_comment_in_place(cast, sub, commented):
    whole, _ = commented
    c = login(cast, "teacher")
    form = c.get(f"/comments/{whole.id}/edit/", HTTP_HX_REQUEST="true").content.decode()
    assert f'<label for="id_c{whole.id}-text">' in form and "Well structured." in form
    r = c.post(
        f"/comments/{whole.id}/edit/", {f"c{whole.id}-text": "Better now."}, HTTP_HX_REQUEST="true"
    )
    assert "Better now." in r.content.decode() and "(edited" in r.content.decode()
    whole.refresh_from_db()
    assert whole.text == "Better now." and whole.edited_at is not None


# -- unread, the badge ------------------------------------------------------------------------


def test_the_badge_counts_unread_feedback_until_the_student_opens_the_submission(
    cast, sub, commented
):
    alice = login(cast, "alice")
    assert '<span class="badge">2<' in alice.get("/feedback/badge/").content.decode()
    assert f'href="/submissions/{sub.id}/#feedback"' in alice.get("/feedback/").content.decode()
    assert cast.api("alice").get("/feedback/unread").json()["unread"] == 2
    # the staff opening it change nothing
    login(cast, "teacher").get(f"/submissions/{sub.id}/feedback/part/")
    assert services.unread_count(cast.users["alice"]) == 2
    r = alice.get(f"/submissions/{sub.id}/feedback/part/")
    assert "feedback-read" in r["HX-Trigger"] and r.content.decode().count(">new<") == 2
    assert 'class="badge"' not in alice.get("/feedback/badge/").content.decode()
    assert cast.api("alice").get("/feedback/unread").json() == {"unread": 0, "submissions": []}


def test_an_edited_comment_is_unread_again(cast, sub, commented):
    services.mark_read(sub, cast.users["alice"])
    cast.api("teacher").patch(f"/comments/{commented[0].id}", json={"text": "Changed"})
    doc = cast.api("alice").get("/feedback/unread").json()
    assert doc["unread"] == 1 and doc["submissions"][0]["id"] == sub.id


def test_the_api_marks_read_only_for_the_author(cast, sub, commented):
    assert cast.api("teacher").post(f"/submissions/{sub.id}/comments/read").json() == {"marked": 0}
    assert cast.api("alice").post(f"/submissions/{sub.id}/comments/read").json() == {"marked": 2}
    assert all(c["read"] for c in cast.api("alice").get(f"/submissions/{sub.id}/comments").json())


# -- the API --------------------------------------------------------------------------------


def test_the_api_adds_lists_edits_and_deletes(cast, sub):
    api = cast.api("teacher")
    r = api.post(
        f"/submissions/{sub.id}/comments", json={"text": "Line!", "file": "notes.txt", "line": 1}
    )
    assert r.status_code == 201, r.content
    doc = r.json()
    assert (doc["author"], doc["file"], doc["line"], doc["read"]) == (
        "teacher",
        "notes.txt",
        1,
        False,
    )
    assert api.post(f"/submissions/{sub.id}/comments", json={"text": "All"}).json()["file"] is None
    listed = cast.api("alice").get(f"/submissions/{sub.id}/comments").json()
    assert [c["text"] for c in listed] == ["Line!", "All"]
    assert api.patch(f"/comments/{doc['id']}", json={"text": "Line?"}).json()["edited_at"]
    assert api.client.delete(f"/api/comments/{doc['id']}", **api.headers).status_code == 204
    assert [c["text"] for c in api.get(f"/submissions/{sub.id}/comments").json()] == ["All"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": "x", "file": "notes.txt", "line": 9}, "line"),
        ({"text": "x", "file": "notes.txt"}, "line"),
        ({"text": "x", "line": 1}, "file"),
        ({"text": "x", "file": "nope.c", "line": 1}, "file"),
        ({"text": ""}, "text"),
        ({"text": "x", "file": "notes.txt", "line": 0}, "line"),
        ({"text": "x" * 10_001}, "text"),
    ],
)
def test_the_api_refuses_a_bad_place_or_text_naming_the_field(cast, sub, body, field):
    r = cast.api("teacher").post(f"/submissions/{sub.id}/comments", json=body)
    assert r.status_code == 400, r.content
    assert r.json()["error"]["field"] == field


# -- the e-mail -----------------------------------------------------------------------------


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Runs what waits for the transaction's commit (the mail) at the end of the block."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_the_student_is_mailed_once_for_comments_in_a_row(cast, sub, settings, committed):
    settings.SITE_URL = "https://assay.example.org"
    teacher = cast.users["teacher"]
    with committed():
        services.add(sub, teacher, "One")
    with committed():
        services.add(sub, teacher, "Two", "notes.txt", 1)
    assert len(mail.outbox) == 1
    m = mail.outbox[0]
    assert m.to == ["alice@example.org"]
    assert f"Feedback on your submission {sub.id}" in m.subject
    assert f"https://assay.example.org/submissions/{sub.id}/#feedback" in m.body


def test_a_comment_after_the_interval_mails_again(cast, sub, settings, committed):
    settings.FEEDBACK_MAIL_INTERVAL_S = 0
    for text in ("One", "Two"):
        with committed():
            services.add(sub, cast.users["teacher"], text)
    assert len(mail.outbox) == 2


def test_a_student_without_an_address_is_not_mailed(cast, sub, committed):
    cast.users["alice"].email = ""
    cast.users["alice"].save()
    with committed():
        services.add(sub, cast.users["teacher"], "One")
    assert mail.outbox == []


def test_a_mail_that_fails_loses_no_comment_and_is_tried_again(cast, sub, settings, committed):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1
    with committed():
        services.add(sub, cast.users["teacher"], "One")  # nothing listens on port 9
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with committed():
        services.add(sub, cast.users["teacher"], "Two")
    assert Comment.objects.count() == 2 and len(mail.outbox) == 1


# -- cost -----------------------------------------------------------------------------------


def test_many_comments_cost_no_more_queries_than_one(cast, sub):
    teacher = cast.users["teacher"]
    alice = cast.users["alice"]
    other = evaluation.create_submission(
        cast.sum, alice, alice, {"notes.txt": NOTES, "sum.c": SUM_OK}
    )
    services.add(other, teacher, "One", "notes.txt", 1)
    for n in range(12):
        services.add(
            sub, teacher, f"Comment {n}", "notes.txt" if n % 2 else "", 1 + n % 3 if n % 2 else None
        )
    pages = ["/submissions/{s}/feedback/", "/submissions/{s}/feedback/part/",
             "/submissions/{s}/code/part/", "/submissions/{s}/code/", "/feedback/", "/feedback/badge/"]  # fmt: skip
    for who in ("alice", "teacher"):
        c = login(cast, who)
        for path in pages:
            c.get(path.format(s=other.id))  # the first request of a session
            few = queries_of(lambda c=c, p=path: c.get(p.format(s=other.id)))
            assert queries_of(lambda c=c, p=path: c.get(p.format(s=sub.id))) == few, (who, path)
        api = cast.api(who)
        api.get("/me")  # the token's first use
        few = queries_of(lambda a=api: a.get(f"/submissions/{other.id}/comments"))
        assert queries_of(lambda a=api: a.get(f"/submissions/{sub.id}/comments")) == few, who
