"""The staff's API for an assignment as a whole and a course's grades (issue 11): re-evaluating
every submission (confirmed with their number), the statistics (students, not submissions), the
grades per group with the staff's adjustments, and the editor's statement preview. The same
services as the pages, so the same answers.

- Teacher supervises prog1 and may do all of it; Admin too.
- Alice and Bob are students of prog1: 403 (they may see the assignment, not manage it).
- Tina supervises prog2 and Carol studies there: prog1's assignments are not found for them.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assay.storer.authoring import drafts
from assay.storer.courses.models import Assignment
from assay.storer.evaluation import services
from assay.storer.evaluation.models import Job, Submission, TestResult
from assay.storer.grading import services as grading
from assay.storer.groups import services as groups
from assay.storer.web.templatetags.assay_web import markdown

from .conftest import SUM_OK
from .test_list_cost import graded_students

ROLES = [(None, 401), ("alice", 403), ("carol", 404), ("tina", 404), ("teacher", 200), ("admin", 200)]  # fmt: skip


def submit(cast, who: str = "alice") -> Submission:
    u = cast.users[who]
    return services.create_submission(cast.sum, u, u, {"sum.c": SUM_OK})


def graded(cast, who: str, points: float, verdicts: dict[str, str]) -> Submission:
    """A submission of ``who`` evaluated to ``points``, its tests with these verdicts."""
    s = submit(cast, who)
    job = s.jobs.get()
    Job.objects.filter(pk=job.pk).update(state=Job.DONE, points=points, verdict="AC")
    for order, (name, verdict) in enumerate(verdicts.items()):
        TestResult.objects.create(job=job, order=order, name=name, group="g", verdict=verdict)
    return s


def cost(request) -> int:
    """The queries of a request, after one to warm the caches up."""
    request()
    with CaptureQueriesContext(connection) as captured:
        response = request()
    assert response.status_code < 300, response.content[:300]
    return len(captured.captured_queries)


def group(cast, name: str, members: list[str]):
    return groups.save_group(cast.prog1, name=name, kind="lab", members=members)


# -- re-evaluate all ------------------------------------------------------------------------


def R(cast) -> str:
    return f"/assignments/{cast.sum.id}/reevaluate"


@pytest.mark.parametrize(("who", "status"), ROLES)
def test_only_the_staff_learn_how_many_submissions_a_reevaluation_queues(cast, who, status):
    submit(cast)
    submit(cast, "bob")
    r = cast.api(who).get(R(cast))
    assert r.status_code == status, r.content
    if status == 200:
        assert r.json() == {"assignment": cast.sum.id, "count": 2}
    else:
        assert set(r.json()["error"]) == {"code", "message", "field"}


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 401), ("alice", 403), ("carol", 404), ("tina", 404), ("teacher", 202), ("admin", 202)],
)
def test_only_the_staff_reevaluate_all_and_others_queue_nothing(cast, who, status):
    submit(cast)
    jobs = Job.objects.count()
    r = cast.api(who).post(R(cast), json={"confirm": 1})
    assert r.status_code == status, r.content
    assert Job.objects.count() == jobs + (1 if status == 202 else 0)


def test_the_confirmed_count_queues_every_submission_with_the_current_version(
    cast, django_capture_on_commit_callbacks, settings
):
    made = [submit(cast), submit(cast, "bob"), submit(cast)]
    before = set(Job.objects.values_list("id", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        r = cast.api("teacher").post(R(cast), json={"confirm": 3})
    assert r.status_code == 202, r.content
    body = r.json()
    assert body["assignment"] == cast.sum.id and body["count"] == 3 and body["batch"]
    queued = Job.objects.exclude(id__in=before)
    assert sorted(j.submission_id for j in queued) == sorted(s.id for s in made)
    for job in queued:
        assert (job.state, job.batch, job.version_id) == (
            Job.QUEUED, body["batch"], cast.sum.current_version_id
        )  # fmt: skip
        assert job.requested_by == cast.users["teacher"] and job.queue == "assay.default.c"
        assert job.dispatched_at is not None and job.attempt == 1
    # each job reached the broker once the transaction committed
    folder = Path(settings.BROKER_URL.removeprefix("filesystem://"))
    sent = [json.loads(base64.b64decode(json.loads(p.read_text())["body"]))[0] for p in folder.glob("*.msg")]  # fmt: skip
    assert sorted(sent) == sorted([j.id, 1] for j in queued)
    # the submissions' documents say queued again
    doc = cast.api("teacher").get(f"/submissions/{made[0].id}").json()
    assert doc["status"] == "queued"


def test_a_count_that_changed_is_409_with_the_current_count_and_queues_nothing(cast):
    submit(cast)
    submit(cast, "bob")
    jobs = Job.objects.count()
    r = cast.api("teacher").post(R(cast), json={"confirm": 1})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "count_changed" and r.json()["error"]["field"] == "confirm"
    assert r.json()["count"] == 2 and "2" in r.json()["error"]["message"]
    assert Job.objects.count() == jobs


@pytest.mark.parametrize("confirm", [-1, "2", None, 2.5, True])
def test_a_confirmation_that_is_not_a_count_is_400(cast, confirm):
    submit(cast)
    submit(cast, "bob")
    r = cast.api("teacher").post(R(cast), json={"confirm": confirm})
    assert r.status_code == 400 and r.json()["error"]["field"] == "confirm"


def test_each_runtime_goes_to_its_own_queue(cast):
    c, py = submit(cast), submit(cast, "bob")
    Submission.objects.filter(pk=py.pk).update(runtime="python3")
    r = cast.api("teacher").post(R(cast), json={"confirm": 2})
    batch = Job.objects.filter(batch=r.json()["batch"])
    assert dict(batch.values_list("submission_id", "queue")) == {
        c.id: "assay.default.c", py.id: "assay.default.python3"
    }  # fmt: skip


def test_an_unpublished_assignment_is_reevaluated_with_each_submissions_own_version(cast):
    s = submit(cast)
    Assignment.objects.filter(pk=cast.sum.pk).update(current_version=None)
    r = cast.api("teacher").post(R(cast), json={"confirm": 1})
    assert r.status_code == 202
    assert Job.objects.get(batch=r.json()["batch"]).version_id == s.version_id
    # and a student does not learn it exists
    assert cast.api("alice").get(R(cast)).status_code == 404


def test_an_unknown_assignment_is_404(cast):
    assert cast.api("teacher").get("/assignments/999999/reevaluate").status_code == 404
    r = cast.api("teacher").post("/assignments/999999/reevaluate", json={"confirm": 0})
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_reevaluating_costs_the_same_for_5_and_40_submissions(cast):
    api = cast.api("teacher")
    counts = []
    for n in (5, 40):
        while Submission.objects.count() < n:
            submit(cast, "bob")
        jobs = Job.objects.count()
        counts.append(
            (
                cost(lambda n=n: api.post(R(cast), json={"confirm": n})),
                cost(lambda: api.get(R(cast))),
            )
        )
        assert Job.objects.count() == jobs + 2 * n  # both requests queued every submission
    assert counts[0] == counts[1]


def test_the_page_refuses_a_confirmation_of_another_number_too(cast):
    from django.test import Client

    submit(cast)
    web = Client()
    web.force_login(cast.users["teacher"])
    url = "/courses/prog1/assignments/sum/manage/reevaluate-all/"
    assert 'name="count" value="1"' in web.post(url).content.decode()
    submit(cast, "bob")  # meanwhile
    jobs = Job.objects.count()
    r = web.post(url, {"confirm": "yes", "count": "1"})
    assert r.status_code == 409 and "Yes, re-evaluate 2 submissions" in r.content.decode()
    assert Job.objects.count() == jobs
    assert web.post(url, {"confirm": "yes", "count": "2"}).status_code == 302
    assert Job.objects.count() == jobs + 2


# -- statistics -----------------------------------------------------------------------------


def S(cast) -> str:
    return f"/assignments/{cast.sum.id}/statistics"


@pytest.mark.parametrize(("who", "status"), ROLES)
def test_only_the_staff_read_the_statistics(cast, who, status):
    graded(cast, "alice", 10.0, {"1": "AC"})
    r = cast.api(who).get(S(cast))
    assert r.status_code == status, r.content
    if status == 200:
        assert r.json()["students"] == 1


def test_the_statistics_count_students_not_submissions(cast):
    graded(cast, "alice", 2.0, {"1": "AC", "2": "WA"})
    graded(cast, "alice", 10.0, {"1": "AC", "2": "AC"})  # the best counts
    graded(cast, "bob", 5.0, {"1": "WA", "2": "AC"})
    found = cast.api("teacher").get(S(cast)).json()
    assert (found["students"], found["enrolled"], found["counts"], found["points"]) == (
        2, 2, "best", 10.0
    )  # fmt: skip
    assert len(found["distribution"]) == 10 and sum(b["count"] for b in found["distribution"]) == 2
    assert found["distribution"][5] == {"low": 5.0, "high": 6.0, "count": 1}  # bob's 5
    assert found["distribution"][9]["count"] == 1  # alice's 10 (the last bin includes 10)
    assert found["distribution"][2]["count"] == 0  # alice's first submission does not count
    assert found["tests"] == [
        {"name": "1", "passed": 1, "runs": 2, "rate": 0.5},
        {"name": "2", "passed": 2, "runs": 2, "rate": 1.0},
    ]
    assert found["group"] is None


def test_the_statistics_of_one_group(cast):
    graded(cast, "alice", 10.0, {"1": "AC"})
    graded(cast, "bob", 5.0, {"1": "WA"})
    g = group(cast, "Lab B", ["bob"])
    found = cast.api("teacher").get(S(cast), group=g.id).json()
    assert (found["group"], found["students"], found["enrolled"]) == (g.id, 1, 1)
    assert found["tests"] == [{"name": "1", "passed": 0, "runs": 1, "rate": 0.0}]
    # the page shows the same
    from django.test import Client

    web = Client()
    web.force_login(cast.users["teacher"])
    html = web.get(f"/courses/prog1/assignments/sum/stats/?group={g.id}").content.decode()
    assert "Score distribution of 1 student" in html and "0 / 1" in html


def test_another_courses_group_is_not_found(cast):
    other = groups.save_group(cast.prog2, name="Lab", kind="lab", members=["carol"])
    r = cast.api("teacher").get(S(cast), group=other.id)
    assert r.status_code == 404 and r.json()["error"]["field"] == "group"
    assert cast.api("teacher").get(S(cast), group=0).status_code == 400


def test_the_statistics_cost_the_same_for_5_and_40_graded_students(cast):
    api = cast.api("teacher")
    g = group(cast, "Lab", [])
    counts = []
    for n in (5, 35):
        graded_students(cast, n)
        groups.save_group(
            cast.prog1, name="Lab", kind="lab", group=g,
            members=[u for (_, u) in groups.students(cast.prog1)],
        )  # fmt: skip
        counts.append((cost(lambda: api.get(S(cast))), cost(lambda: api.get(S(cast), group=g.id))))
    assert api.get(S(cast)).json()["students"] == 40
    assert counts[0] == counts[1]


# -- grades ---------------------------------------------------------------------------------


G = "/courses/prog1/grades"


def test_each_grade_says_whether_the_staff_adjusted_it(cast):
    graded(cast, "alice", 6.0, {"1": "AC"})
    graded(cast, "bob", 4.0, {"1": "AC"})
    grading.save(cast.sum, cast.users["bob"], cast.users["teacher"], override=9, override_reason="oral exam")  # fmt: skip
    found = {g["student"]: g for g in cast.api("teacher").get(G).json()}
    assert (found["alice"]["adjusted"], found["alice"]["override"], found["alice"]["points"]) == (
        False, None, 6.0
    )  # fmt: skip
    bob = found["bob"]
    assert (bob["adjusted"], bob["override"], bob["automatic"], bob["points"]) == (True, 9.0, 4.0, 9.0)  # fmt: skip
    assert bob["bonus"] == 0.0 and bob["rubric_points"] == 0.0
    # a bonus alone is an adjustment too, and the student sees their own
    grading.save(cast.sum, cast.users["alice"], cast.users["teacher"], bonus=1, bonus_reason="style")  # fmt: skip
    mine = cast.api("alice").get(G).json()
    assert [(g["student"], g["adjusted"], g["bonus"], g["points"]) for g in mine] == [
        ("alice", True, 1.0, 7.0)
    ]


def test_the_grades_of_one_group(cast):
    graded(cast, "alice", 6.0, {"1": "AC"})
    graded(cast, "bob", 4.0, {"1": "AC"})
    g = group(cast, "Lab A", ["alice"])
    r = cast.api("teacher").get(G, group=g.id)
    assert [x["student"] for x in r.json()] == ["alice"] and r["X-Total-Count"] == "1"
    assert [x["student"] for x in cast.api("teacher").get(G).json()] == ["alice", "bob"]
    # a student filters by a group they are in; another group does not exist for them
    assert [x["student"] for x in cast.api("alice").get(G, group=g.id).json()] == ["alice"]
    r = cast.api("bob").get(G, group=g.id)
    assert r.status_code == 404 and r.json()["error"]["field"] == "group"


def test_another_courses_group_is_not_found_among_the_grades(cast):
    other = groups.save_group(cast.prog2, name="Lab", kind="lab", members=["carol"])
    assert cast.api("teacher").get(G, group=other.id).status_code == 404
    assert cast.api("tina").get(G).status_code == 404


def test_a_groups_grades_cost_the_same_for_5_and_40_students(cast):
    api = cast.api("teacher")
    g = group(cast, "Lab", [])
    counts = []
    for n in (5, 35):
        graded_students(cast, n)
        made = get_user_model().objects.filter(username__startswith="s").order_by("id")
        for student in made[:3]:  # some adjusted by hand
            grading.save(cast.sum, student, cast.users["teacher"], bonus=1)
        groups.save_group(
            cast.prog1, name="Lab", kind="lab", group=g, members=[u.username for u in made]
        )
        counts.append(cost(lambda: api.get(G, group=g.id)))
    found = api.get(G, group=g.id).json()
    assert len(found) == 40 and sum(x["adjusted"] for x in found) == 3
    assert counts[0] == counts[1]


# -- the statement's preview ----------------------------------------------------------------


def P(cast) -> str:
    return f"/assignments/{cast.sum.id}/draft/statement/preview"


STATEMENT = (
    "# Sum\n\nAdd *two* numbers.<script>alert(1)</script>\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
)


@pytest.mark.parametrize(("who", "status"), ROLES)
def test_only_the_staff_preview_a_statement(cast, who, status):
    drafts.start_from_version(cast.sum, cast.users["teacher"])
    r = cast.api(who).post(P(cast), json={"statement": STATEMENT})
    assert r.status_code == status, r.content
    if status == 200:
        assert "<h1>Sum</h1>" in r.json()["html"]


def test_the_preview_is_sanitised_as_the_pages_show_it_and_saves_nothing(cast):
    d = drafts.start_from_version(cast.sum, cast.users["teacher"])
    saved = drafts.statement(d)
    html = cast.api("teacher").post(P(cast), json={"statement": STATEMENT}).json()["html"]
    assert html == str(markdown(STATEMENT))
    assert "<script" not in html and "<em>two</em>" in html and "<table>" in html
    assert drafts.statement(d) == saved


def test_a_preview_needs_a_draft_and_a_statement_within_the_limit(cast):
    r = cast.api("teacher").post(P(cast), json={"statement": "x"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "no_draft"
    drafts.start_from_version(cast.sum, cast.users["teacher"])
    too_long = "x" * (drafts.MAX_STATEMENT_CHARS + 1)
    r = cast.api("teacher").post(P(cast), json={"statement": too_long})
    assert r.status_code == 400 and r.json()["error"]["field"] == "statement"


def test_a_preview_costs_the_same_for_5_and_40_paragraphs(cast):
    drafts.start_from_version(cast.sum, cast.users["teacher"])
    api = cast.api("teacher")
    few, many = (
        cost(lambda n=n: api.post(P(cast), json={"statement": "\n\n".join(["para"] * n)}))
        for n in (5, 40)
    )
    assert few == many
