"""Groups and teams (issue 11 part 9): supervisors make lab groups and teams; a team's members
share the submissions of a team assignment (lists, pages, API, grades); grades and statistics
per group; students see only their own groups; every mistake names its field."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from assay.storer.accounts.models import ApiToken
from assay.storer.courses.models import Membership
from assay.storer.evaluation import services
from assay.storer.evaluation.grades import course_grades
from assay.storer.evaluation.models import Job
from assay.storer.groups import services as groups
from assay.storer.groups.models import Group, SharedSubmission

from .conftest import SUM_OK


def _student(cast, name: str):
    user = get_user_model().objects.create_user(name, f"{name}@example.org", "pw")
    Membership.objects.create(user=user, course=cast.prog1, role=Membership.STUDENT)
    cast.users[name] = user
    cast.tokens[name] = ApiToken.issue(user)
    return user


def _evaluated(s, points: float) -> None:
    Job.objects.filter(submission=s).update(
        state=Job.DONE, points=points, finished_at=timezone.now()
    )


def _browser(cast, who: str) -> Client:
    c = Client()
    c.force_login(cast.users[who])
    return c


@pytest.fixture
def team(cast):
    _student(cast, "dave")
    g = groups.save_group(
        cast.prog1, name="Team Blue", kind=Group.TEAM, supervisors=["teacher"],
        members=["alice", "bob"],
    )  # fmt: skip
    groups.set_in_teams(cast.sum, True)
    return g


def test_a_team_submission_is_shared_with_the_team_and_nobody_else(cast, team):
    s = services.create_submission(
        cast.sum, cast.users["alice"], cast.users["alice"], {"sum.c": SUM_OK}
    )
    assert set(
        SharedSubmission.objects.filter(submission=s).values_list("user__username", flat=True)
    ) == {"bob"}
    # bob reads it through the API and the pages, dave (not in the team) does not
    assert cast.api("bob").get(f"/submissions/{s.id}").status_code == 200
    assert [d["id"] for d in cast.api("bob").get("/submissions").json()] == [s.id]
    assert _browser(cast, "bob").get(f"/submissions/{s.id}/").status_code == 200
    assert _browser(cast, "bob").get(f"/submissions/{s.id}/code/").status_code == 200
    assert cast.api("dave").get(f"/submissions/{s.id}").status_code == 404
    assert cast.api("dave").get("/submissions").json() == []
    assert _browser(cast, "dave").get(f"/submissions/{s.id}/").status_code == 404


def test_an_individual_assignment_shares_nothing(cast, team):
    groups.set_in_teams(cast.sum, False)
    s = services.create_submission(
        cast.sum, cast.users["alice"], cast.users["alice"], {"sum.c": SUM_OK}
    )
    assert not SharedSubmission.objects.filter(submission=s).exists()
    assert cast.api("bob").get(f"/submissions/{s.id}").status_code == 404


def test_a_team_submission_counts_for_every_member_in_the_grades(cast, team):
    s = services.create_submission(
        cast.sum, cast.users["alice"], cast.users["alice"], {"sum.c": SUM_OK}
    )
    _evaluated(s, 7)
    graded = course_grades(cast.prog1)
    for name in ("alice", "bob"):
        g = graded[(cast.users[name].pk, cast.sum.id)]
        assert (g.points, g.submission_id) == (7, s.id)
    assert (cast.users["dave"].pk, cast.sum.id) not in graded
    # a later change of the team changes no past grade
    groups.save_group(cast.prog1, name="Team Blue", kind=Group.TEAM, members=["alice"], group=team)
    assert course_grades(cast.prog1)[(cast.users["bob"].pk, cast.sum.id)].points == 7
    # and a student's own view of the grades sees the shared submission too
    mine = course_grades(cast.prog1, student_ids=[cast.users["bob"].pk])
    assert mine[(cast.users["bob"].pk, cast.sum.id)].points == 7


def test_grades_and_statistics_per_group(cast, team):
    lab = groups.save_group(cast.prog1, name="Lab 1", kind=Group.LAB, members=["dave"])
    web = _browser(cast, "teacher")
    page = web.get(f"/courses/prog1/grades/?group={lab.id}").content.decode()
    assert "dave" in page and "alice" not in page and "bob" not in page
    page = web.get(f"/courses/prog1/grades/?group={team.id}").content.decode()
    assert "alice" in page and "bob" in page and "dave" not in page
    csv = web.get(f"/courses/prog1/grades.csv?group={lab.id}").content.decode()
    assert "dave" in csv and "alice" not in csv
    stats = web.get(f"/courses/prog1/assignments/sum/stats/?group={lab.id}")
    assert stats.status_code == 200 and "Lab 1" in stats.content.decode()
    # a group of another course is no filter here
    other = groups.save_group(cast.prog2, name="Elsewhere", kind=Group.LAB)
    assert web.get(f"/courses/prog1/grades/?group={other.id}").status_code == 404


@pytest.mark.parametrize(
    ("fields", "field", "said"),
    [
        ({"name": ""}, "name", "needs a name"),
        ({"kind": "club"}, "kind", "'club'"),
        ({"members": ["carol"]}, "members", "'carol'"),  # a student of another course
        ({"members": ["teacher"]}, "members", "'teacher'"),  # not a student
        ({"supervisors": ["alice"]}, "supervisors", "'alice'"),
        ({"name": "Team Blue"}, "name", "has a group"),
    ],
)
def test_mistakes_name_their_field(cast, team, fields, field, said):
    body = {"name": "Lab 2", "kind": "lab", **fields}
    r = cast.api("teacher").post("/courses/prog1/groups", json=body)
    assert r.status_code == 400, r.content
    error = r.json()["error"]
    assert error["field"] == field and said in error["message"]


def test_a_student_is_in_one_team_at_most(cast, team):
    r = cast.api("teacher").post(
        "/courses/prog1/groups",
        json={"name": "Team Red", "kind": "team", "members": ["bob", "dave"]},
    )
    assert r.status_code == 400
    assert (
        r.json()["error"]["field"] == "members"
        and "'bob' (in 'Team Blue')" in r.json()["error"]["message"]
    )
    # a lab group is no team: bob may be in one as well
    r = cast.api("teacher").post(
        "/courses/prog1/groups", json={"name": "Lab A", "kind": "lab", "members": ["bob", "dave"]}
    )
    assert r.status_code == 201, r.content


def test_the_api_for_supervisors(cast, team):
    api = cast.api("teacher")
    r = api.post(
        "/courses/prog1/groups",
        json={"name": "Lab 1", "members": ["dave"], "supervisors": ["teacher"]},
    )
    assert r.status_code == 201
    doc = r.json()
    assert (doc["kind"], doc["members"], doc["supervisors"]) == ("lab", ["dave"], ["teacher"])
    r = api.patch(f"/courses/prog1/groups/{doc['id']}", json={"members": ["dave", "alice"]})
    assert (
        r.status_code == 200
        and r.json()["members"] == ["alice", "dave"]
        and r.json()["name"] == "Lab 1"
    )
    assert {g["name"] for g in api.get("/courses/prog1/groups").json()} == {"Lab 1", "Team Blue"}
    r = api.client.put(
        f"/api/assignments/{cast.sum.id}/teams", {"in_teams": False},
        content_type="application/json", **api.headers,
    )  # fmt: skip
    assert r.status_code == 200 and r.json()["in_teams"] is False
    assert not groups.in_teams(cast.sum)
    r = api.client.delete(f"/api/courses/prog1/groups/{doc['id']}", **api.headers)
    assert r.status_code == 204 and not Group.objects.filter(pk=doc["id"]).exists()


def test_students_see_only_their_own_groups_and_change_none(cast, team):
    groups.save_group(cast.prog1, name="Lab 1", kind=Group.LAB, members=["dave"])
    assert [g["name"] for g in cast.api("alice").get("/courses/prog1/groups").json()] == [
        "Team Blue"
    ]
    assert cast.api("dave").get("/courses/prog1/groups").json()[0]["name"] == "Lab 1"
    assert cast.api("carol").get("/courses/prog1/groups").status_code == 404
    r = cast.api("alice").post("/courses/prog1/groups", json={"name": "Mine", "members": ["alice"]})
    assert r.status_code == 403
    assert cast.api("alice").get(f"/courses/prog1/groups/{team.id}").status_code == 403
    assert cast.api("tina").get(f"/courses/prog1/groups/{team.id}").status_code == 404
    web = _browser(cast, "alice")
    assert web.get("/courses/prog1/groups/").status_code == 403
    assert web.post(f"/courses/prog1/groups/{team.id}/delete/").status_code == 403
    assert Group.objects.filter(pk=team.id).exists()
    # the course page names alice's team and its other members
    page = web.get("/courses/prog1/").content.decode()
    assert "Team Blue" in page and "bob" in page


def test_the_pages_for_supervisors(cast, team):
    web = _browser(cast, "teacher")
    r = web.post(
        "/courses/prog1/groups/",
        {"name": "Lab 1", "kind": "lab", "supervisors": ["teacher"], "members": "dave\n"},
    )
    assert r.status_code == 302
    lab = Group.objects.get(name="Lab 1")
    assert [u.username for u in lab.members.all()] == ["dave"]
    r = web.post("/courses/prog1/groups/", {"name": "Lab 2", "kind": "lab", "members": "nobody"})
    assert r.status_code == 400 and "&#x27;nobody&#x27;" in r.content.decode()
    r = web.post(
        f"/courses/prog1/groups/{lab.id}/",
        {"name": "Lab One", "kind": "lab", "members": "dave, alice"},
    )
    assert r.status_code == 302
    lab.refresh_from_db()
    assert lab.name == "Lab One" and {u.username for u in lab.members.all()} == {"alice", "dave"}
    r = web.post("/courses/prog1/assignments/sum/manage/teams/", {"in_teams": "no"})
    assert r.status_code == 302 and not groups.in_teams(cast.sum)
    r = web.post(f"/courses/prog1/groups/{lab.id}/delete/")
    assert r.status_code == 302 and not Group.objects.filter(pk=lab.id).exists()
