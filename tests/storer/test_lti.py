"""assay as an LTI 1.3 tool (issue 13 part 1), against the real platform of lti_platform.py on
loopback: signed launches through the OIDC login, deep linking answered with a signed JWT the
platform verifies, scores posted to its grade service (AGS) with a token it issued for the
tool's signed assertion, its roster read page by page (NRPS), and the launches assay refuses.

The cast is conftest's, with the LMS's people:
- the teacher of prog1 is "t-42" in the LMS, and the registration trusts the LMS's e-mail
  addresses, so her launches are her assay account;
- Lena ("s-1") is a learner of the LMS course, new to assay: her first launch makes her account;
- Tom ("ta-1") is a teaching assistant: assay's staff role is supervisor;
- Mona ("m-1") is a mentor: no role in assay gives her access.
"""

from __future__ import annotations

import html
import io
import json
import re
import threading
import time
import zipfile

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth import get_user_model
from django.test import Client

from assay.storer import serve as storer_serve
from assay.storer.courses.models import Membership
from assay.storer.evaluation import services
from assay.storer.grading import services as grading
from assay.storer.lti import scores
from assay.storer.lti.models import (
    LtiAccount,
    LtiContext,
    LtiLink,
    Platform,
    ScoreReport,
    new_private_key,
)

from .conftest import SUM_OK
from .lti_platform import (
    INSTRUCTOR,
    LEARNER,
    LTI,
    MENTOR,
    TA,
    LtiPlatform,
    Member,
    Message,
    form_fields,
    login_url,
    rsa_key,
    serve,
)
from .test_api_tester import claim, upload

TEACHER = dict(email="teacher@example.org", name="Terry Teacher")
LENA = dict(email="lena@lms.example.org", name="Lena Learner")


@pytest.fixture(scope="module")
def lms():
    platform = LtiPlatform()
    server = serve(platform)
    yield platform
    server.shutdown()


@pytest.fixture(scope="module")
def tool_key() -> str:
    """assay's key pair for the LMS, made once for the module (a 2048-bit RSA key costs 0.1 to
    0.3 s; a registration saved without one makes its own, as test_lti_cli.py checks)."""
    return new_private_key()


@pytest.fixture(scope="module")
def stranger_key() -> rsa.RSAPrivateKey:
    """A key that is not the platform's: a forged launch's, or the platform's next one."""
    return rsa_key()


@pytest.fixture
def platform(lms: LtiPlatform, cast, settings, tool_key) -> LtiPlatform:
    """The LMS registered in assay (trusting its e-mail addresses), and assay's keys given to
    the LMS."""
    settings.LTI_SEND_IN_THREAD = False  # the tests send with the storer loop's function
    lms.reset()
    lms.redirect_uri = settings.SITE_URL.rstrip("/") + "/lti/launch/"
    Platform.objects.create(
        name="Test LMS", issuer=lms.issuer, client_id=lms.client_id,
        deployment_ids=[lms.deployment_id], auth_login_url=f"{lms.url}/auth",
        auth_token_url=f"{lms.url}/token", jwks_url=f"{lms.url}/jwks", trust_email=True,
        private_key=tool_key,
    )  # fmt: skip
    lms.tool_jwks = Client().get("/lti/jwks/").json()
    return lms


def authenticate(client: Client, lms: LtiPlatform, claims: dict, **spoil) -> dict[str, str]:
    """Login initiation -> the platform's authentication: the form the platform posts back."""
    lms.message = Message(claims, **spoil)
    r = client.post("/lti/login/", login_url(lms))
    assert r.status_code == 302, r.content
    page = requests.get(r["Location"], timeout=10)
    assert page.status_code == 200, page.text
    action, fields = form_fields(page.text)
    assert action == lms.redirect_uri
    return fields


def launch(client: Client, lms: LtiPlatform, claims: dict, **spoil):
    """A whole launch: its answer, and the form the platform posted."""
    fields = authenticate(client, lms, claims, **spoil)
    return client.post("/lti/launch/", fields), fields


def text(r) -> str:
    return html.unescape(r.content.decode())


def logged_in(client: Client):
    user_id = client.session.get("_auth_user_id")
    return get_user_model().objects.get(pk=user_id) if user_id else None


@pytest.fixture
def linked(cast, platform):
    """The LMS course is linked to prog1, its resource link "link-1" opens sum, with a grade
    column of 10 points."""
    ctx = LtiContext.objects.create(
        platform=Platform.objects.get(), context_id="moodle-course-7", course=cast.prog1,
        memberships_url=f"{platform.url}/memberships/moodle-course-7",
    )  # fmt: skip
    item = platform.lineitem("Sum", 10, "link-1")
    return {"ctx": ctx, "lineitem": item, "custom": {"assignment": str(cast.sum.id)}}


def learner(platform, linked, sub="s-1", **extra):
    return platform.claims(
        sub, [LEARNER], custom=linked["custom"], lineitem=linked["lineitem"], **{**LENA, **extra}
    )


# -- launches -----------------------------------------------------------------------------------


def test_a_learners_first_launch_makes_her_account_enrols_her_and_opens_the_assignment(
    cast, platform, linked
):
    client = Client()
    r, _ = launch(client, platform, learner(platform, linked))
    assert r.status_code == 302, r.content
    assert r["Location"] == "/courses/prog1/assignments/sum/"
    lena = logged_in(client)
    assert (lena.email, lena.first_name, lena.last_name) == (LENA["email"], "Lena", "Learner")
    assert not lena.has_usable_password()
    assert Membership.objects.get(course=cast.prog1, user=lena).role == "student"
    link = LtiLink.objects.get()
    assert (link.assignment, link.lineitem_url) == (cast.sum, linked["lineitem"])
    assert client.get(r["Location"]).status_code == 200  # the session works
    # the second launch finds the same account
    again = Client()
    launch(again, platform, learner(platform, linked))
    assert logged_in(again) == lena
    assert LtiAccount.objects.count() == 1


def test_a_teacher_links_her_lms_course_by_opening_a_link_to_her_assignment(cast, platform):
    claims = platform.claims("t-42", [INSTRUCTOR], custom={"assignment": "prog1/sum"}, **TEACHER)
    client = Client()
    r, _ = launch(client, platform, claims)
    assert r["Location"] == "/courses/prog1/assignments/sum/", r.content
    assert logged_in(client) == cast.users["teacher"]  # her own account (trusted e-mail)
    assert LtiContext.objects.get().course == cast.prog1
    assert (
        Membership.objects.get(course=cast.prog1, user=cast.users["teacher"]).role == "supervisor"
    )


def test_a_teaching_assistant_becomes_a_supervisor(cast, platform, linked):
    client = Client()
    r, _ = launch(client, platform, platform.claims("ta-1", [TA], custom=linked["custom"],
                                                    email="tom@lms.example.org", name="Tom A"))  # fmt: skip
    assert r.status_code == 302, r.content
    assert Membership.objects.get(course=cast.prog1, user=logged_in(client)).role == "supervisor"


def test_a_mentor_gets_no_access_and_is_told_why(cast, platform, linked):
    client = Client()
    r, _ = launch(client, platform, platform.claims("m-1", [MENTOR], custom=linked["custom"]))
    assert r.status_code == 403
    assert "your role in the LMS course (Mentor) gives no access" in text(r)
    assert logged_in(client) is None


def test_a_student_cannot_link_an_lms_course_to_a_course(cast, platform):
    claims = platform.claims("s-9", [LEARNER], custom={"assignment": "prog1/sum"})
    r, _ = launch(Client(), platform, claims)
    assert r.status_code == 403
    assert "not linked to the assignment's assay course" in text(r)
    assert not Membership.objects.filter(course=cast.prog1, user__lti_accounts__sub="s-9").exists()


def test_an_lms_teacher_cannot_claim_another_teachers_course(cast, platform):
    # Tina supervises prog2, not prog1: naming prog1's assignment links nothing
    claims = platform.claims("t-7", [INSTRUCTOR], custom={"assignment": "prog1/sum"},
                             email="tina@example.org")  # fmt: skip
    r, _ = launch(Client(), platform, claims)
    assert r.status_code == 403
    assert LtiContext.objects.get().course is None


# -- refused launches -------------------------------------------------------------------------


def refused(r, words: str) -> None:
    assert r.status_code == 403, r.content
    message = re.search(r'id="lti-error">([^<]*)', text(r))
    assert message and words in message.group(1), message and message.group(1)


def test_a_launch_with_a_bad_signature_is_refused(cast, platform, linked, stranger_key):
    client = Client()
    r, _ = launch(client, platform, learner(platform, linked), key=stranger_key)
    refused(r, "bad signature")
    assert logged_in(client) is None
    assert not LtiAccount.objects.exists()


def test_an_expired_launch_is_refused(cast, platform, linked):
    client = Client()
    r, _ = launch(client, platform, learner(platform, linked), expires_in_s=-10)
    refused(r, "the launch has expired")
    assert logged_in(client) is None


def test_a_replayed_launch_is_refused(cast, platform, linked):
    client = Client()
    r, fields = launch(client, platform, learner(platform, linked))
    assert r.status_code == 302
    again = client.post("/lti/launch/", fields)  # the same id_token, state and cookie
    refused(again, "a launch is accepted once")
    # nor from another browser that started a login of its own
    other = Client()
    other.post("/lti/login/", login_url(platform))
    state = next(v.value for k, v in other.cookies.items() if k.startswith("lti1p3-state-"))
    refused(other.post("/lti/launch/", {"id_token": fields["id_token"], "state": state}),
            "a launch is accepted once")  # fmt: skip


def test_a_launch_to_another_audience_is_refused(cast, platform, linked):
    claims = {**learner(platform, linked), "aud": "some-other-tool"}
    r, _ = launch(Client(), platform, claims)
    refused(r, "no registration for this platform and client id")
    claims = {**learner(platform, linked), "aud": ["some-other-tool", platform.client_id]}
    r, _ = launch(Client(), platform, claims)  # several audiences and no azp naming assay
    refused(r, "several audiences and no azp")


def test_a_launch_of_an_unknown_deployment_is_refused(cast, platform, linked):
    claims = {**learner(platform, linked), LTI + "deployment_id": "deployment-9"}
    r, _ = launch(Client(), platform, claims)
    refused(r, "deployment id is not one of the registration's")


def test_a_login_from_an_unknown_issuer_is_refused(cast, platform):
    r = Client().post(
        "/lti/login/", {**login_url(platform), "iss": "https://lms.elsewhere.example"}
    )
    refused(r, "no registration for the platform https://lms.elsewhere.example")


def test_a_launch_from_another_browser_than_its_login_is_refused(cast, platform, linked):
    fields = authenticate(Client(), platform, learner(platform, linked))
    r = Client().post("/lti/launch/", fields)
    refused(r, "this browser did not start the launch")


# -- deep linking -------------------------------------------------------------------------------


def test_a_teacher_picks_an_assignment_and_the_lms_gets_a_signed_resource_link(cast, platform):
    client = Client()
    claims = platform.claims("t-42", [INSTRUCTOR], message_type="LtiDeepLinkingRequest",
                             **TEACHER)  # fmt: skip
    r, _ = launch(client, platform, claims)
    assert r.status_code == 200, r.content
    page = text(r)
    assert f"Programming 1: {cast.sum.title}" in html.unescape(page)
    launch_id = form_fields(page, "launch_id")[1]["launch_id"]
    r = client.post("/lti/deep-link/", {"launch_id": launch_id, "assignment": [cast.sum.id]})
    assert r.status_code == 200, r.content
    action, fields = form_fields(text(r), "JWT")
    assert action == f"{platform.url}/deep-link-return"
    assert f"form-action 'self' {platform.url}" in r["Content-Security-Policy"]
    answer = platform.verify_tool_jwt(fields["JWT"], audience=platform.issuer)
    assert answer["iss"] == platform.client_id
    assert answer[LTI + "message_type"] == "LtiDeepLinkingResponse"
    assert answer[LTI + "deployment_id"] == platform.deployment_id
    assert answer["https://purl.imsglobal.org/spec/lti-dl/claim/data"] == "opaque-platform-data"
    [item] = answer["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    assert item["type"] == "ltiResourceLink"
    assert item["url"] == platform.redirect_uri
    assert item["custom"] == {"assignment": str(cast.sum.id)}
    assert item["lineItem"]["scoreMaximum"] == cast.sum.points
    assert LtiContext.objects.get().course == cast.prog1  # linked by the pick
    # the answer is given once
    r = client.post("/lti/deep-link/", {"launch_id": launch_id, "assignment": [cast.sum.id]})
    assert r.status_code == 403
    # the platform places the link: Lena's launch of it opens sum
    lena = Client()
    item_url = platform.lineitem(item["lineItem"]["label"], item["lineItem"]["scoreMaximum"])
    r, _ = launch(lena, platform, platform.claims("s-1", [LEARNER], custom=item["custom"],
                                                  lineitem=item_url, **LENA))  # fmt: skip
    assert r["Location"] == "/courses/prog1/assignments/sum/"


def test_a_learner_cannot_deep_link(cast, platform):
    claims = platform.claims("s-1", [LEARNER], message_type="LtiDeepLinkingRequest", **LENA)
    r, _ = launch(Client(), platform, claims)
    refused(r, "only the LMS course's teachers place assay assignments")


def test_a_teacher_new_to_assay_makes_a_course_for_her_lms_course(cast, platform):
    client = Client()
    claims = platform.claims("t-100", [INSTRUCTOR], message_type="LtiDeepLinkingRequest",
                             email="newteacher@lms.example.org", name="Nora New")  # fmt: skip
    r, _ = launch(client, platform, claims)
    assert "You supervise no assay course yet" in text(r)
    launch_id = form_fields(text(r), "launch_id")[1]["launch_id"]
    r = client.post("/lti/deep-link/course/", {"launch_id": launch_id})
    assert r.status_code == 200, r.content
    course = LtiContext.objects.get().course
    assert (course.slug, course.title) == ("prog1-2", "Programming 1 (LMS)")
    assert Membership.objects.get(course=course).user.email == "newteacher@lms.example.org"


# -- scores back to the LMS (AGS) ---------------------------------------------------------------


def evaluate(cast, author, passed: int, capture) -> float:
    """A submission of ``author`` evaluated with ``passed`` tests accepted (a result archive
    made here, uploaded through the tester API); its points."""
    s = services.create_submission(cast.sum, author, author, {"sum.c": SUM_OK})
    job = s.jobs.get()
    assert claim(cast, job).status_code == 200
    tests = [t["name"] for t in job.version.meta["tests"]]
    doc = {
        "job_id": job.id, "attempt": 1, "tester": "t1", "build": {"status": "OK"},
        "tests": [
            {"name": n, "status": "OK", "verdict": "AC" if i < passed else "WA",
             "score": 1.0 if i < passed else 0.0}
            for i, n in enumerate(tests)
        ],
    }  # fmt: skip
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("result.json", json.dumps(doc))
    with capture(execute=True):
        assert upload(cast, job, buf.getvalue()).status_code == 200
    job.refresh_from_db()
    return job.points


@pytest.fixture
def lena(cast, platform, linked):
    client = Client()
    launch(client, platform, learner(platform, linked))
    return logged_in(client)


def test_every_new_best_result_and_every_override_reach_the_lms(
    cast, platform, linked, lena, django_capture_on_commit_callbacks
):
    some = evaluate(cast, lena, 1, django_capture_on_commit_callbacks)
    assert 0 < some < 10
    assert scores.send_due() == {"sent": 1, "retry": 0, "failed": 0}
    [first] = platform.scores
    assert first["lineitem"] == linked["lineitem"]
    assert (first["userId"], first["scoreGiven"], first["scoreMaximum"]) == ("s-1", some, 10)
    assert (first["activityProgress"], first["gradingProgress"]) == ("Completed", "FullyGraded")
    assert first["timestamp"]
    evaluate(cast, lena, 0, django_capture_on_commit_callbacks)  # worse: the grade stays
    assert scores.send_due()["sent"] == 0
    evaluate(cast, lena, 99, django_capture_on_commit_callbacks)  # the new best
    scores.send_due()
    assert [s["scoreGiven"] for s in platform.scores] == [some, 10]
    with django_capture_on_commit_callbacks(execute=True):
        grading.save(cast.sum, lena, cast.users["teacher"], override=7,
                     override_reason="Hard-coded the samples.")  # fmt: skip
    scores.send_due()
    assert [s["scoreGiven"] for s in platform.scores] == [some, 10, 7]
    assert platform.scores[-1]["timestamp"] > platform.scores[-2]["timestamp"]
    assert ScoreReport.objects.get().state == ScoreReport.SENT


def test_a_bonus_above_the_maximum_is_sent_as_extra_credit_and_a_penalty_never_below_zero(
    cast, platform, linked, lena, django_capture_on_commit_callbacks
):
    # AGS lets scoreGiven exceed scoreMaximum (extra credit; the LMS's grade item decides
    # whether it counts): assay sends the grade as computed, as its own grades table shows it
    evaluate(cast, lena, 99, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        grading.save(cast.sum, lena, cast.users["teacher"], bonus=3, bonus_reason="Tidy code.")
    assert scores.send_due()["sent"] == 1
    sent = platform.scores[-1]
    assert (sent["scoreGiven"], sent["scoreMaximum"]) == (13, 10)
    # a penalty larger than the points: 0, never negative (AGS: scoreGiven >= 0)
    with django_capture_on_commit_callbacks(execute=True):
        grading.save(cast.sum, lena, cast.users["teacher"], bonus=-25, bonus_reason="Copied.")
    assert scores.send_due() == {"sent": 1, "retry": 0, "failed": 0}
    sent = platform.scores[-1]
    assert (sent["scoreGiven"], sent["scoreMaximum"]) == (0, 10)


def wait_for(condition, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)  # the sender thread reads what the test committed
def test_a_new_best_result_reaches_the_lms_from_the_storers_sender_thread(
    cast, platform, linked, lena, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.LTI_SEND_IN_THREAD = True  # as the storer runs: nobody calls send_due here
    senders = []
    send_due = scores.send_due

    def watched() -> dict[str, int]:
        senders.append(threading.current_thread().name)
        return send_due()

    monkeypatch.setattr(scores, "send_due", watched)
    evaluate(cast, lena, 99, django_capture_on_commit_callbacks)
    wait_for(lambda: ScoreReport.objects.filter(state=ScoreReport.SENT).exists())
    assert [(s["userId"], s["scoreGiven"]) for s in platform.scores] == [("s-1", 10)]
    assert senders and all(name.startswith("lti-scores") for name in senders), senders


def test_the_storers_loop_sends_the_due_scores_every_few_seconds(
    cast, platform, linked, lena, django_capture_on_commit_callbacks, monkeypatch, capsys
):
    evaluate(cast, lena, 99, django_capture_on_commit_callbacks)  # queued, not sent (no thread)
    assert not platform.scores
    due = storer_serve.loop_duties(0.0)
    assert [s["scoreGiven"] for s in platform.scores] == [10]
    assert due - time.monotonic() == pytest.approx(storer_serve.LTI_PERIOD_S, abs=1)
    # before it is due again the turn does not look; an LMS duty that fails is printed, and the
    # loop goes on
    calls = []
    monkeypatch.setattr(scores, "periodic", lambda: calls.append(1) or 1 / 0)
    assert storer_serve.loop_duties(due) == due and not calls
    storer_serve.loop_duties(0.0)
    assert calls == [1]
    assert "sending scores to the LMS failed: division by zero" in capsys.readouterr().err


def test_a_score_the_lms_cannot_take_now_is_sent_again_later(
    cast, platform, linked, lena, django_capture_on_commit_callbacks
):
    platform.fail_scores = 1
    evaluate(cast, lena, 99, django_capture_on_commit_callbacks)
    assert scores.send_due() == {"sent": 0, "retry": 1, "failed": 0}
    report = ScoreReport.objects.get()
    assert "503" in report.error and report.attempts == 1
    assert scores.send_due()["sent"] == 0  # not due yet
    ScoreReport.objects.update(next_attempt_at=report.changed_at)
    assert scores.send_due()["sent"] == 1
    assert [s["scoreGiven"] for s in platform.scores] == [10]


def test_a_link_without_a_grade_column_gets_one_made_by_the_tool(
    cast, platform, linked, django_capture_on_commit_callbacks
):
    client = Client()
    launch(client, platform, learner(platform, {**linked, "lineitem": None}))
    evaluate(cast, logged_in(client), 99, django_capture_on_commit_callbacks)
    assert scores.send_due()["sent"] == 1
    made = LtiLink.objects.get().lineitem_url
    assert platform.lineitems[made]["resourceId"] == str(cast.sum.id)
    assert platform.scores[0]["lineitem"] == made


def test_a_result_of_an_assignment_without_an_lms_link_sends_nothing(
    cast, platform, django_capture_on_commit_callbacks
):
    evaluate(cast, cast.users["alice"], 99, django_capture_on_commit_callbacks)
    assert not ScoreReport.objects.exists()
    assert platform.token_requests == 0


# -- the roster (NRPS) --------------------------------------------------------------------------


def test_a_roster_sync_adds_promotes_and_removes_members_across_pages(cast, platform, linked, lena):
    platform.members[:] = [
        Member("s-1", "Lena Learner", LENA["email"], [LEARNER]),
        Member("s-2", "Sam Second", "sam@lms.example.org", [LEARNER]),
        Member("ta-1", "Tom A", "tom@lms.example.org", [TA]),
        Member("m-1", "Mona Mentor", "mona@lms.example.org", [MENTOR]),
        Member("t-42", "Terry Teacher", "teacher@example.org", [INSTRUCTOR]),
    ]
    teacher = Client()
    teacher.force_login(cast.users["teacher"])
    r = teacher.post("/lti/courses/prog1/", {"action": "sync", "context": linked["ctx"].id})
    assert r.status_code == 302
    assert platform.roster_pages == 3  # two members a page, the next page from the Link header
    roles = dict(Membership.objects.filter(course=cast.prog1).values_list("user__email", "role"))
    assert roles["sam@lms.example.org"] == "student"
    assert roles["tom@lms.example.org"] == "supervisor"
    assert "mona@lms.example.org" not in roles
    assert roles["teacher@example.org"] == "supervisor"
    page = text(teacher.get("/lti/courses/prog1/"))
    assert "Roster synced: 2 added, 0 made supervisor, 0 removed, 2 unchanged, 1 without" in page
    # Lena drops the course in the LMS: the next sync removes her (her submissions stay)
    platform.members[0].status = "Deleted"
    from assay.storer.lti import roster

    report = roster.sync(LtiContext.objects.get())
    assert report.removed == [lena.username]
    assert not Membership.objects.filter(course=cast.prog1, user=lena).exists()
    assert Membership.objects.filter(course=cast.prog1, user=cast.users["alice"]).exists()


def test_only_the_courses_staff_open_its_lms_page(cast, platform, linked):
    for who, status in (("alice", 403), ("tina", 403), ("teacher", 200), ("admin", 200)):
        c = Client()
        c.force_login(cast.users[who])
        assert c.get("/lti/courses/prog1/").status_code == status, who


# -- keys and configuration ---------------------------------------------------------------------


def test_the_tool_publishes_its_keys_and_a_canvas_configuration(cast, platform):
    keys = Client().get("/lti/jwks/").json()["keys"]
    assert [k["kid"] for k in keys] == [Platform.objects.get().public_jwk()["kid"]]
    assert all("d" not in k for k in keys)  # public halves only
    config = Client().get("/lti/canvas.json").json()
    assert config["oidc_initiation_url"].endswith("/lti/login/")
    assert config["target_link_uri"] == platform.redirect_uri


def test_a_platform_that_rotates_its_key_is_followed(cast, platform, linked, lms, stranger_key):
    launch(Client(), platform, learner(platform, linked))  # its key set is cached now
    old = (lms.key, lms.kid)
    lms.key, lms.kid = stranger_key, "platform-2"
    try:
        r, _ = launch(Client(), platform, learner(platform, linked))
        assert r.status_code == 302, text(r)
    finally:
        lms.key, lms.kid = old
