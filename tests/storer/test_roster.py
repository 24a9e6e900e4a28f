"""Running a course in the pages and the API (issue 11, part 7): administrators create courses and
accounts (a set-password e-mail, never a typed password) and deactivate accounts; supervisors
change roles, remove members (confirmed first; never the last supervisor), turn self-enrolment on
and off with a regenerable key and link, and import a roster CSV after a preview; students join
with the key or the link after confirming.

The cast (conftest.py): Admin administers; Teacher supervises prog1, Tina prog2 and must not
touch prog1; Alice and Bob are prog1's students; Carol is prog2's and joins prog1 by its key."""

from __future__ import annotations

import base64
import email
import re
from email import policy

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from assay.storer.courses.models import Course, Membership
from assay.storer.roster import csvimport
from assay.storer.roster.models import Enrolment

from .test_feedback_mail import smtp  # noqa: F401 - the real SMTP server on loopback
from .test_web_pages import login

User = get_user_model()

ADMIN_PAGES = ["/manage/courses/", "/manage/users/"]
WHO = [None, "alice", "teacher", "tina", "admin"]


@pytest.mark.parametrize("path", ADMIN_PAGES)
@pytest.mark.parametrize("who", WHO)
def test_only_administrators_open_the_course_and_account_pages(cast, path, who):
    r = login(cast, who).get(path)
    expected = {None: 302, "admin": 200}.get(who, 403)
    assert r.status_code == expected
    if who in ("alice", "teacher"):
        assert login(cast, who).post(path, {"username": "x"}).status_code == 403


def test_the_nav_links_the_admin_pages_for_administrators_only(cast):
    assert 'href="/manage/users/"' in login(cast, "admin").get("/").content.decode()
    teacher = login(cast, "teacher").get("/").content.decode()
    assert 'href="/manage/users/"' not in teacher and 'href="/join/"' in teacher


# -- courses ------------------------------------------------------------------------------------


def test_an_administrator_creates_a_course_with_its_supervisor(cast):
    r = login(cast, "admin").post(
        "/manage/courses/", {"slug": "algo", "title": "Algorithms", "supervisor": "tina"}
    )
    assert r.status_code == 302 and r["Location"] == "/courses/algo/members/"
    course = Course.objects.get(slug="algo")
    assert course.title == "Algorithms"
    assert Membership.objects.get(course=course).user.username == "tina"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"slug": "prog1", "title": "Again"},
            "slug",
            "A course named &#x27;prog1&#x27; exists already.",
        ),
        ({"slug": "no spaces", "title": "T"}, "slug", "Enter a valid “slug”"),
        ({"slug": "ok", "title": ""}, "title", "This field is required."),
        (
            {"slug": "ok", "title": "T", "supervisor": "nobody"},
            "supervisor",
            "No account is named &#x27;nobody&#x27;",
        ),
    ],
)
def test_a_refused_course_names_the_field(cast, data, field, message):
    r = login(cast, "admin").post("/manage/courses/", data)
    assert r.status_code == 400
    html = r.content.decode()
    errors = re.search(rf'<label for="id_{field}">.*?</div>', html, re.S)
    assert errors is not None and message in errors.group(0), html[-3000:]
    assert not Course.objects.filter(slug="ok").exists()


def test_the_api_creates_courses_for_administrators_only(cast):
    r = cast.api("admin").post(
        "/courses", json={"slug": "algo", "title": "Algorithms", "supervisor": "tina"}
    )
    assert r.status_code == 201 and r.json()["slug"] == "algo"
    assert cast.api("teacher").post("/courses", json={"slug": "x", "title": "X"}).status_code == 403
    again = cast.api("admin").post("/courses", json={"slug": "algo", "title": "Again"})
    assert again.status_code == 409 and again.json()["error"]["field"] == "slug"
    bad = cast.api("admin").post("/courses", json={"slug": "Bad Slug", "title": "X"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "slug"
    nobody = cast.api("admin").post(
        "/courses", json={"slug": "y", "title": "Y", "supervisor": "nobody"}
    )
    assert nobody.status_code == 404 and nobody.json()["error"]["code"] == "unknown_user"
    assert not Course.objects.filter(slug="y").exists()


# -- accounts -----------------------------------------------------------------------------------


def _link(message_body: str) -> str:
    found = re.search(r"https?://[^/\s]+(/account/set-password/\S+/)", message_body)
    assert found, message_body
    return found.group(1)


def test_an_administrator_creates_an_account_whose_owner_sets_the_password_by_mail(cast):
    from django.test import Client

    r = login(cast, "admin").post(
        "/manage/users/",
        {"username": "dave", "first_name": "Dave", "last_name": "D", "email": "dave@example.org"},
    )
    assert r.status_code == 302
    dave = User.objects.get(username="dave")
    assert not dave.has_usable_password() and not dave.is_superuser
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["dave@example.org"]
    assert "Your username is dave" in mail.outbox[0].body
    link = _link(mail.outbox[0].body)
    browser = Client()
    form = browser.get(link, follow=True)
    assert form.status_code == 200 and "Set your password" in form.content.decode()
    done = browser.post(
        form.redirect_chain[-1][0],
        {"new_password1": "correct horse 42", "new_password2": "correct horse 42"},
    )
    assert done.status_code == 302 and done["Location"] == "/login/"
    logged_in = browser.post("/login/", {"username": "dave", "password": "correct horse 42"})
    assert logged_in.status_code == 302 and logged_in["Location"] == "/"
    # the link works once
    assert "does not work any more" in Client().get(link, follow=True).content.decode()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"username": "alice", "email": "a2@example.org"},
            "username",
            "An account named &#x27;alice&#x27; exists already.",
        ),
        ({"username": "ALICE", "email": "a2@example.org"}, "username", "exists already"),
        ({"username": "has space", "email": "x@example.org"}, "username", "no spaces"),
        ({"username": "erin", "email": "not-an-address"}, "email", "Enter a valid email address."),
    ],
)
def test_a_refused_account_names_the_field(cast, data, field, message):
    r = login(cast, "admin").post("/manage/users/", data)
    assert r.status_code == 400
    block = re.search(rf'<label for="id_{field}">.*?</div>', r.content.decode(), re.S)
    assert block is not None and message in block.group(0)
    assert not mail.outbox


def test_a_deactivated_account_can_neither_log_in_nor_use_its_token(cast):
    from django.test import Client

    admin = login(cast, "admin")
    alice = cast.users["alice"]
    session = Client()
    assert session.post("/login/", {"username": "alice", "password": "pw"}).status_code == 302
    assert cast.api("alice").get("/me").status_code == 200
    admin.post(f"/manage/users/{alice.pk}/active/", {"active": "no"})
    alice.refresh_from_db()
    assert not alice.is_active
    assert cast.api("alice").get("/me").status_code == 401
    assert session.get("/").status_code == 302  # her session ended
    assert Client().post("/login/", {"username": "alice", "password": "pw"}).status_code == 200
    assert "deactivated" in admin.get("/manage/users/?q=alice").content.decode()
    # and nobody deactivates themself
    me = cast.users["admin"]
    r = admin.post(f"/manage/users/{me.pk}/active/", {"active": "no"}, follow=True)
    assert "You cannot deactivate your own account." in r.content.decode()
    me.refresh_from_db()
    assert me.is_active


def test_the_api_creates_lists_and_deactivates_accounts(cast):
    api = cast.api("admin")
    r = api.post(
        "/users", json={"username": "dave", "email": "dave@example.org", "administrator": True}
    )
    assert r.status_code == 201 and r.json()["mailed"] is True and r.json()["password_set"] is False
    assert User.objects.get(username="dave").is_superuser
    assert (
        api.post("/users", json={"username": "dave", "email": "d@example.org"}).status_code == 409
    )
    bad = api.post("/users", json={"username": "erin", "email": "nope"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "email"
    listed = api.get("/users")
    assert listed["X-Total-Count"] == str(User.objects.count())
    assert "dave" in [u["username"] for u in listed.json()]
    off = api.client.patch(
        "/api/users/bob", {"active": False}, content_type="application/json", **api.headers
    )
    assert off.status_code == 200 and off.json()["active"] is False
    assert cast.api("teacher").get("/users").status_code == 403
    assert (
        cast.api("teacher")
        .post("/users", json={"username": "x", "email": "x@example.org"})
        .status_code
        == 403
    )


# -- members ------------------------------------------------------------------------------------


def test_removing_a_member_asks_first_and_keeps_their_submissions(cast, done):
    teacher = login(cast, "teacher")
    alice = cast.users["alice"]
    url = f"/courses/prog1/members/{alice.pk}/remove/"
    page = teacher.get(url).content.decode()
    assert "Remove alice from Programming 1?" in page and "submissions and results are kept" in page
    teacher.post(url)  # no confirmation: nothing happens
    assert Membership.objects.filter(course=cast.prog1, user=alice).exists()
    assert teacher.post(url, {"confirm": "yes"}).status_code == 302
    assert not Membership.objects.filter(course=cast.prog1, user=alice).exists()
    assert done.__class__.objects.filter(pk=done.pk).exists()
    assert login(cast, "alice").get("/courses/prog1/").status_code == 404


def test_the_last_supervisor_is_neither_removed_nor_demoted(cast):
    teacher = login(cast, "teacher")
    me = cast.users["teacher"]
    r = teacher.post(f"/courses/prog1/members/{me.pk}/remove/", {"confirm": "yes"}, follow=True)
    assert (
        "The course prog1 needs a supervisor and teacher is its last: make someone else a supervisor first."
        in r.content.decode()
    )
    r = teacher.post(f"/courses/prog1/members/{me.pk}/role/", {"role": "student"}, follow=True)
    assert "needs a supervisor" in r.content.decode()
    assert Membership.objects.get(course=cast.prog1, user=me).role == "supervisor"
    # with a second supervisor, the teacher may step down
    teacher.post(f"/courses/prog1/members/{cast.users['bob'].pk}/role/", {"role": "supervisor"})
    teacher.post(f"/courses/prog1/members/{me.pk}/role/", {"role": "student"})
    assert Membership.objects.get(course=cast.prog1, user=me).role == "student"


def test_only_the_courses_supervisors_manage_its_members(cast):
    alice = cast.users["alice"]
    for who, status in (("alice", 403), ("tina", 404)):
        c = login(cast, who)
        assert (
            c.post(f"/courses/prog1/members/{alice.pk}/remove/", {"confirm": "yes"}).status_code
            == status
        )
        assert (
            c.post(f"/courses/prog1/members/{alice.pk}/role/", {"role": "supervisor"}).status_code
            == status
        )
        assert c.post("/courses/prog1/members/enrolment/", {"action": "open"}).status_code == status
    assert Membership.objects.get(course=cast.prog1, user=alice).role == "student"
    assert not Enrolment.objects.filter(course=cast.prog1, open=True).exists()
    for who, status in (("alice", 403), ("tina", 404)):
        api = cast.api(who)
        assert api.get("/courses/prog1/members").status_code == status
        assert (
            api.client.delete("/api/courses/prog1/members/alice", **api.headers).status_code
            == status
        )


def test_a_member_is_added_by_username_with_an_error_naming_the_field(cast):
    get_user_model().objects.create_user("dave")
    teacher = login(cast, "teacher")
    assert (
        teacher.post(
            "/courses/prog1/members/", {"add-username": "dave", "add-role": "supervisor"}
        ).status_code
        == 302
    )
    assert Membership.objects.get(user__username="dave").role == "supervisor"
    r = teacher.post("/courses/prog1/members/", {"add-username": "nobody", "add-role": "student"})
    assert r.status_code == 400
    assert "No account is named &#x27;nobody&#x27;" in r.content.decode()


def test_the_api_adds_changes_lists_and_removes_members(cast):
    api = cast.api("teacher")
    assert (
        api.post("/courses/prog1/members", json={"username": "carol"}).json()["role"] == "student"
    )
    assert (
        api.post("/courses/prog1/members", json={"username": "carol", "role": "supervisor"}).json()[
            "role"
        ]
        == "supervisor"
    )
    assert {m["username"] for m in api.get("/courses/prog1/members").json()} == {
        "teacher",
        "alice",
        "bob",
        "carol",
    }
    assert (
        api.post("/courses/prog1/members", json={"username": "carol", "role": "king"}).status_code
        == 400
    )
    assert api.post("/courses/prog1/members", json={"username": "nobody"}).status_code == 404
    assert api.client.delete("/api/courses/prog1/members/carol", **api.headers).status_code == 204
    assert api.client.delete("/api/courses/prog1/members/carol", **api.headers).status_code == 404
    last = api.client.delete("/api/courses/prog1/members/teacher", **api.headers)
    assert last.status_code == 409 and last.json()["error"]["code"] == "last_supervisor"


# -- self-enrolment -----------------------------------------------------------------------------


def test_a_student_joins_by_the_link_after_confirming_while_self_enrolment_is_on(cast):
    teacher, carol = login(cast, "teacher"), login(cast, "carol")
    page = teacher.get("/courses/prog1/members/").content.decode()
    key = Enrolment.objects.get(course=cast.prog1).key
    assert f"http://testserver/join/{key}/" in page and "<strong>Off.</strong>" in page
    closed = carol.get(f"/join/{key}/")
    assert closed.status_code == 409
    assert (
        "Self-enrolment in Programming 1 is off: ask its supervisors to add you."
        in closed.content.decode()
    )
    assert carol.post(f"/join/{key}/").status_code == 409
    teacher.post("/courses/prog1/members/enrolment/", {"action": "open"})
    confirm = carol.get(f"/join/{key}/").content.decode()
    assert "Join Programming 1?" in confirm
    assert not Membership.objects.filter(course=cast.prog1, user=cast.users["carol"]).exists()
    r = carol.post(f"/join/{key}/")
    assert r.status_code == 302 and r["Location"] == "/courses/prog1/"
    assert Membership.objects.get(course=cast.prog1, user=cast.users["carol"]).role == "student"
    # a supervisor following the link stays a supervisor
    teacher.post(f"/join/{key}/")
    assert (
        Membership.objects.get(course=cast.prog1, user=cast.users["teacher"]).role == "supervisor"
    )


def test_a_typed_key_leads_to_the_confirmation_and_a_regenerated_key_stops_the_old_one(cast):
    teacher, carol = login(cast, "teacher"), login(cast, "carol")
    teacher.post("/courses/prog1/members/enrolment/", {"action": "open"})
    key = Enrolment.objects.get(course=cast.prog1).key
    typed = f"{key[:4].lower()}-{key[4:]}"
    r = carol.get("/join/", {"key": typed})
    assert r.status_code == 302 and r["Location"] == f"/join/{key}/"
    teacher.post("/courses/prog1/members/enrolment/", {"action": "regenerate"})
    assert Enrolment.objects.get(course=cast.prog1).key != key
    old = carol.get("/join/", {"key": key})
    assert old.status_code == 400
    assert "No course has this key: check it with your course&#x27;s staff." in old.content.decode()
    assert carol.get(f"/join/{key}/").status_code == 404
    assert login(cast, None).get(f"/join/{key}/").status_code == 302  # log in first


def test_the_api_turns_self_enrolment_on_and_a_student_joins_with_the_key(cast):
    teacher = cast.api("teacher")
    doc = teacher.get("/courses/prog1/enrolment").json()
    assert doc["self_enrolment"] is False and doc["link"].endswith(f"/join/{doc['key']}/")
    closed = cast.api("carol").post("/join", json={"key": doc["key"]})
    assert closed.status_code == 409 and closed.json()["error"]["code"] == "enrolment_closed"
    on = teacher.patch("/courses/prog1/enrolment", {"self_enrolment": True})
    assert on.json()["self_enrolment"] is True
    joined = cast.api("carol").post("/join", json={"key": doc["key"].lower()})
    assert (
        joined.status_code == 200
        and joined.json()["joined"] is True
        and joined.json()["role"] == "student"
    )
    new = teacher.patch("/courses/prog1/enrolment", {"regenerate": True}).json()["key"]
    assert new != doc["key"]
    assert cast.api("bob").post("/join", json={"key": doc["key"]}).status_code == 404
    assert (
        cast.api("alice").patch("/courses/prog1/enrolment", {"self_enrolment": False}).status_code
        == 403
    )


# -- roster import ------------------------------------------------------------------------------

ROSTER = (
    b"username,email,first_name,last_name,role\n"
    b"dave,dave@example.org,Dave,Doe,\n"  # new account
    b"carol,carol@example.org,,,student\n"  # exists: enrolled only
    b"bob,bob@example.org,,,supervisor\n"  # a student: made supervisor
    b"alice,alice@example.org,,,\n"  # a member already
)


def _upload(data: bytes, name: str = "roster.csv") -> dict:
    return {"roster": SimpleUploadedFile(name, data, content_type="text/csv")}


def test_a_roster_is_previewed_then_imported_with_a_set_password_mail_for_new_accounts(cast):
    teacher = login(cast, "teacher")
    preview = teacher.post("/courses/prog1/members/import/", _upload(ROSTER))
    html = preview.content.decode()
    assert preview.status_code == 200
    assert (
        "1 new account (each gets a set-password e-mail), 2 to enrol, 1 to make supervisor, 1 already member."
        in html
    )
    for action in ("new account", "enrol", "make supervisor", "already a member"):
        assert f"<td>{action}</td>" in html
    assert not User.objects.filter(username="dave").exists()  # nothing yet
    data = re.search(r'name="data" value="([^"]+)"', html).group(1)
    r = teacher.post(
        "/courses/prog1/members/import/", {"confirm": "yes", "data": data}, follow=True
    )
    assert "Roster imported: 1 new account(s), 2 enrolled, 1 made supervisor" in r.content.decode()
    dave = User.objects.get(username="dave")
    assert dave.email == "dave@example.org" and dave.get_full_name() == "Dave Doe"
    assert not dave.has_usable_password()
    roles = dict(Membership.objects.filter(course=cast.prog1).values_list("user__username", "role"))
    assert roles == {
        "teacher": "supervisor",
        "alice": "student",
        "bob": "supervisor",
        "carol": "student",
        "dave": "student",
    }
    assert [m.to for m in mail.outbox] == [["dave@example.org"]]
    assert "you are in the course Programming 1" in mail.outbox[0].body
    assert User.objects.get(username="carol").email == "carol@example.org"  # only enrolled


BAD = {
    "latin-1": (b"username,email\nzoe,zo\xe9@example.org\n", "line 2, file: not UTF-8 text"),
    "no header": (b"dave,dave@example.org\n", "line 1, header: no username or email column"),
    "unknown column": (
        b"username,email,age\ndave,d@example.org,3\n",
        "line 1, header: unknown column &#x27;age&#x27;",
    ),
    "twice": (
        b"username,email\ndave,d@example.org\nDave,e@example.org\n",
        "line 3, username: &#x27;Dave&#x27; is on line 2 already",
    ),
    "bad e-mail": (
        b"username,email\ndave,not-mail\n",
        "line 2, email: &#x27;not-mail&#x27; is not an e-mail address",
    ),
    "no e-mail": (b"username,email\ndave,\n", "line 2, email: an e-mail address is required"),
    "taken e-mail": (
        b"username,email\ndave,alice@example.org\n",
        "line 2, email: alice@example.org is the e-mail of the account &#x27;alice&#x27;",
    ),
    "bad role": (
        b"username,email,role\ndave,d@example.org,king\n",
        "line 2, role: unknown role &#x27;king&#x27;",
    ),
    "bad username": (b"username,email\nda ve,d@example.org\n", "line 2, username: only letters"),
    "columns": (
        b"username,email\ndave,d@example.org,extra\n",
        "line 2, file: 3 values for 2 columns",
    ),
    "NUL": (b"username,email\ndave\x00,d@example.org\n", "line 2, file: a NUL character"),
    "empty": (b"", "Roster (CSV): The submitted file is empty."),
    "only a header": (b"username,email\n", "the file, file: no line after the header"),
    "huge": (b"username,email\n" + b"x" * (csvimport.MAX_BYTES + 1), "larger than 1024 KiB"),
    "binary": (bytes(range(256)) * 10, "not UTF-8 text"),
}


@pytest.mark.parametrize("case", BAD)
def test_a_hostile_roster_gets_a_clear_error_and_changes_nothing(cast, case):
    data, message = BAD[case]
    before = (User.objects.count(), Membership.objects.count())
    r = login(cast, "teacher").post("/courses/prog1/members/import/", _upload(data), follow=True)
    assert r.status_code in (200, 400)
    html = r.content.decode()
    assert message in html, html[html.find("<main") :][:3000]
    assert 'name="confirm"' not in html  # no way to import it
    assert (User.objects.count(), Membership.objects.count()) == before


def test_a_roster_saved_by_a_spreadsheet_with_semicolons_and_a_bom_imports(cast):
    data = (
        "\ufeffUsername;E-mail\n".replace("E-mail", "email").encode()
        + "zoë;zoe@example.org\n".encode()
    )
    plan = csvimport.read_roster(data, cast.prog1)
    assert plan.ok and plan.lines[0].username == "zoë" and plan.lines[0].action == "new account"


def test_a_tampered_confirmation_is_read_again_and_refused(cast):
    teacher = login(cast, "teacher")
    bad = base64.b64encode(b"username,email\ndave,nope\n").decode()
    r = teacher.post("/courses/prog1/members/import/", {"confirm": "yes", "data": bad})
    assert r.status_code == 400 and "is not an e-mail address" in r.content.decode()
    r = teacher.post(
        "/courses/prog1/members/import/", {"confirm": "yes", "data": "%%%"}, follow=True
    )
    assert "The preview was damaged" in r.content.decode()
    assert not User.objects.filter(username="dave").exists()


def test_the_api_imports_a_roster_as_a_dry_run_then_for_real(cast):
    api = cast.api("teacher")
    dry = api.post("/courses/prog1/roster", _upload(ROSTER))
    assert (
        dry.status_code == 200
        and dry.json()["applied"] is False
        and dry.json()["new_accounts"] == 1
    )
    assert not User.objects.filter(username="dave").exists()
    bad = api.post(
        "/courses/prog1/roster", {**_upload(b"username,email\ndave,nope\n"), "apply": "true"}
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_roster"
    assert "line 2, email" in bad.json()["error"]["message"]
    done = api.post("/courses/prog1/roster", {**_upload(ROSTER), "apply": "true"})
    assert done.status_code == 200 and done.json()["applied"] is True and done.json()["mailed"] == 1
    assert Membership.objects.filter(course=cast.prog1, user__username="dave").exists()
    assert cast.api("alice").post("/courses/prog1/roster", _upload(ROSTER)).status_code == 403
    assert cast.api("tina").post("/courses/prog1/roster", _upload(ROSTER)).status_code == 404


def test_the_set_password_mail_goes_out_through_a_real_smtp_server(cast, smtp, settings):  # noqa: F811
    settings.SITE_URL = "http://assay.example.org:8000"
    login(cast, "teacher").post(
        "/courses/prog1/members/import/",
        {
            "confirm": "yes",
            "data": base64.b64encode(b"username,email\nzoe,zoe@example.org\n").decode(),
        },
    )
    assert len(smtp.messages) == 1
    message = email.message_from_string(smtp.messages[0], policy=policy.default)
    assert message["To"] == "zoe@example.org" and message["Subject"] == "[assay] Set your password"
    assert "http://assay.example.org:8000/account/set-password/" in message.get_content()


def test_an_smtp_failure_keeps_the_accounts_and_says_so(cast, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens
    r = login(cast, "teacher").post(
        "/courses/prog1/members/import/",
        {
            "confirm": "yes",
            "data": base64.b64encode(b"username,email\nzoe,zoe@example.org\n").decode(),
        },
        follow=True,
    )
    assert "could not be sent to 1 new account(s)" in r.content.decode()
    assert User.objects.filter(username="zoe").exists()
