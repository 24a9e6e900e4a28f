"""Manual grading (issue 11, part 3): the staff override a student's points with a reason, add a
bonus or a penalty and award rubric items; every grade (course page, grades page and CSV, the
API) shows the result, and a history says who changed what when.

The cast is conftest's: the teacher of prog1 and the administrator grade; Alice reads her own
grade (and cannot change it); Bob, her classmate, must not see hers; Carol (another course's
student) and Tina (another course's supervisor) see nothing of prog1."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assay.storer.evaluation.grades import course_grades
from assay.storer.grading import services
from assay.storer.grading.models import AdjustmentChange, RubricItem

from .rows import students
from .test_code_view import login

WHO = [None, "alice", "bob", "carol", "teacher", "tina", "admin"]
READS_ALICES = {"alice", "teacher", "admin"}
GRADES = {"teacher", "admin"}


def put(cast, who: str | None, path: str, body: dict):
    api = cast.api(who)
    return api.client.put("/api" + path, body, content_type="application/json", **api.headers)


def delete(cast, who: str | None, path: str):
    api = cast.api(who)
    return api.client.delete("/api" + path, **api.headers)


@pytest.fixture
def rubric(cast) -> list[RubricItem]:
    """Two items on sum: "Readable names" (2 points) and "Tests of your own" (3)."""
    teacher = cast.users["teacher"]
    return [
        services.add_item(cast.sum, teacher, "Readable names", 2, "Variables say what they hold."),
        services.add_item(cast.sum, teacher, "Tests of your own", 3),
    ]


@pytest.fixture
def graded(cast, done, rubric):
    """Alice's evaluated submission (10 points) overridden to 8, a penalty of 1, and 2 of the
    rubric's points: 9 in all."""
    services.save(
        cast.sum, cast.users["alice"], cast.users["teacher"], override=8,
        override_reason="Hard-coded the second sample.", bonus=-1, bonus_reason="Late by a day.",
        awards={rubric[0].id: 2},
    )  # fmt: skip
    return done


# -- who may do what ------------------------------------------------------------------------


@pytest.mark.parametrize("who", WHO)
def test_only_alice_and_the_courses_staff_read_alices_grade(cast, graded, who):
    r = cast.api(who).get(f"/assignments/{cast.sum.id}/grades/alice")
    if who is None:
        assert r.status_code == 401
    elif who in READS_ALICES:
        assert r.status_code == 200, r.content
        assert r.json()["points"] == 9
        assert r.json()["override_reason"] == "Hard-coded the second sample."
    else:
        assert r.status_code == 404, r.content
        assert "Hard-coded" not in r.content.decode()


@pytest.mark.parametrize("who", WHO)
def test_only_the_courses_staff_adjust_a_grade(cast, done, who):
    r = put(cast, who, f"/assignments/{cast.sum.id}/grades/alice", {"bonus": 5})
    expected = {None: 401, "alice": 403, "teacher": 200, "admin": 200}.get(who, 404)
    assert r.status_code == expected, r.content
    points = course_grades(cast.prog1)[(cast.users["alice"].id, cast.sum.id)].points
    assert points == (15 if who in GRADES else 10)


@pytest.mark.parametrize("who", WHO)
def test_only_the_courses_staff_change_the_rubric_and_its_students_read_it(cast, rubric, who):
    url = f"/assignments/{cast.sum.id}/rubric"
    r = cast.api(who).get(url)
    assert r.status_code == {None: 401, "carol": 404, "tina": 404}.get(who, 200), r.content
    r = cast.api(who).post(url, json={"title": "Comments", "points": 1})
    assert r.status_code == {
        None: 401,
        "carol": 404,
        "tina": 404,
        "teacher": 201,
        "admin": 201,
    }.get(who, 403)
    r = cast.api(who).patch(f"/rubric/{rubric[0].id}", json={"points": 1.5})
    assert r.status_code == {
        None: 401,
        "carol": 404,
        "tina": 404,
        "teacher": 200,
        "admin": 200,
    }.get(who, 403)
    r = delete(cast, who, f"/rubric/{rubric[1].id}")
    assert r.status_code == {
        None: 401,
        "carol": 404,
        "tina": 404,
        "teacher": 204,
        "admin": 204,
    }.get(who, 403)
    left = {i.title for i in services.rubric_of(cast.sum)}
    assert ("Tests of your own" in left) == (who not in GRADES)


def test_a_student_of_another_course_or_a_supervisor_has_no_grade_here(cast, done):
    for name in ("carol", "teacher", "nobody"):
        r = cast.api("teacher").get(f"/assignments/{cast.sum.id}/grades/{name}")
        assert r.status_code == 404, name
        assert r.json()["error"]["code"] == "not_found"


# -- what the grade is ------------------------------------------------------------------------


def test_the_total_is_the_override_plus_bonus_plus_rubric(cast, graded, rubric):
    g = course_grades(cast.prog1)[(cast.users["alice"].id, cast.sum.id)]
    assert (g.automatic, g.override, g.bonus, g.rubric, g.points) == (10, 8, -1, 2, 9)
    assert g.adjusted and g.adjusted_by == "teacher" and g.adjusted_at is not None
    assert g.submission_id == graded.id
    doc = cast.api("alice").get(f"/assignments/{cast.sum.id}/grades/alice").json()
    assert doc["automatic"] == 10 and doc["submission"] == graded.id
    assert [(r["title"], r["awarded"], r["points"]) for r in doc["rubric"]] == [
        ("Readable names", 2, 2),
        ("Tests of your own", 0, 3),
    ]
    assert doc["bonus_reason"] == "Late by a day."


def test_without_an_override_the_automatic_points_count(cast, done, rubric):
    services.save(cast.sum, cast.users["alice"], cast.users["teacher"], bonus=0.5,
                  awards={rubric[1].id: 1.5})  # fmt: skip
    assert course_grades(cast.prog1)[(cast.users["alice"].id, cast.sum.id)].points == 12


def test_a_student_without_a_submission_gets_the_adjustment_alone(cast, done):
    bob = cast.users["bob"]
    assert (bob.id, cast.sum.id) not in course_grades(cast.prog1)
    services.save(cast.sum, bob, cast.users["teacher"], override=4, override_reason="Oral exam.")
    g = course_grades(cast.prog1)[(bob.id, cast.sum.id)]
    assert (g.submission_id, g.automatic, g.points) == (None, None, 4)


def test_clearing_the_adjustment_gives_back_the_automatic_points(cast, graded):
    r = put(cast, "teacher", f"/assignments/{cast.sum.id}/grades/alice", {})
    assert r.status_code == 200, r.content
    assert (r.json()["points"], r.json()["adjusted"], r.json()["override_reason"]) == (
        10,
        False,
        "",
    )


def test_the_grades_page_csv_and_course_page_show_the_adjusted_points(cast, graded):
    page = login(cast, "teacher").get("/courses/prog1/grades/").content.decode()
    link = f'href="/grades/{cast.sum.id}/{cast.users["alice"].id}/"'
    assert link in page and '9 <span class="muted">(adjusted)</span>' in page
    r = login(cast, "teacher").get(f"/grades/{cast.sum.id}/{cast.users['alice'].id}/")
    assert r.status_code == 302 and r["Location"] == "/courses/prog1/assignments/sum/grades/alice/"
    rows = list(
        csv.reader(
            io.StringIO(login(cast, "teacher").get("/courses/prog1/grades.csv").content.decode())
        )
    )
    alice = next(r for r in rows if r and r[0] == "alice")
    assert "9" in alice
    course = login(cast, "alice").get("/courses/prog1/").content.decode()
    assert ">9<" in course.replace(" ", "") or "9</" in course


def test_the_grades_cost_the_same_queries_for_5_and_40_adjusted_students(cast, rubric):
    def adjust(n: int) -> None:
        for s in students(cast, n):
            services.save(cast.sum, s, cast.users["teacher"], bonus=1, awards={rubric[0].id: 1})

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            grades = course_grades(cast.prog1)
        assert all(g.points == 2 for g in grades.values())
        return len(captured.captured_queries)

    adjust(5)
    few = count()
    adjust(35)
    assert count() == few


# -- refused input names the field -----------------------------------------------------------


@pytest.mark.parametrize(
    "body, field",
    [
        ({"override": 8}, "override_reason"),
        ({"override": 8, "override_reason": "   "}, "override_reason"),
        ({"override": -1, "override_reason": "x"}, "override"),
        ({"bonus": "3"}, "bonus"),
        ({"override_reason": "x" * 2001, "override": 1}, "override_reason"),
        ({"rubric": [{"item": 999999, "points": 1}]}, "rubric.999999"),
    ],
)
def test_a_refused_adjustment_names_its_field_and_changes_nothing(cast, done, rubric, body, field):
    r = put(cast, "teacher", f"/assignments/{cast.sum.id}/grades/alice", body)
    assert r.status_code == 400, r.content
    assert r.json()["error"]["field"] == field
    assert field in r.json()["error"]["message"]
    assert course_grades(cast.prog1)[(cast.users["alice"].id, cast.sum.id)].points == 10


def test_a_rubric_award_above_the_items_points_is_refused(cast, done, rubric):
    body = {"rubric": [{"item": rubric[0].id, "points": 2.5}]}
    r = put(cast, "teacher", f"/assignments/{cast.sum.id}/grades/alice", body)
    assert r.status_code == 400
    assert r.json()["error"]["field"] == f"rubric.{rubric[0].id}"
    assert "0 to 2 points (Readable names)" in r.json()["error"]["message"]


def test_a_rubric_item_needs_a_title_and_points_above_zero(cast):
    url = f"/assignments/{cast.sum.id}/rubric"
    for body, field in (
        ({"title": "", "points": 1}, "title"),
        ({"title": "x", "points": 0}, "points"),
    ):
        r = cast.api("teacher").post(url, json=body)
        assert r.status_code == 400 and r.json()["error"]["field"] == field, r.content


# -- the rubric changes -------------------------------------------------------------------------


def test_lowering_an_items_points_lowers_what_it_gave_and_deleting_it_takes_it_away(
    cast, graded, rubric
):
    key = (cast.users["alice"].id, cast.sum.id)
    r = cast.api("teacher").patch(f"/rubric/{rubric[0].id}", json={"points": 1.5})
    assert r.status_code == 200 and r.json()["points"] == 1.5
    assert course_grades(cast.prog1)[key].rubric == 1.5
    assert delete(cast, "teacher", f"/rubric/{rubric[0].id}").status_code == 204
    assert course_grades(cast.prog1)[key].points == 7


def test_new_items_go_last_unless_placed(cast, rubric):
    r = cast.api("teacher").post(
        f"/assignments/{cast.sum.id}/rubric", json={"title": "First", "points": 1, "order": 0}
    )
    assert r.status_code == 201
    cast.api("teacher").post(
        f"/assignments/{cast.sum.id}/rubric", json={"title": "Last", "points": 1}
    )
    titles = [
        i["title"] for i in cast.api("alice").get(f"/assignments/{cast.sum.id}/rubric").json()
    ]
    assert titles == ["First", "Readable names", "Tests of your own", "Last"]


# -- history -------------------------------------------------------------------------------


def test_each_change_is_recorded_with_who_and_when_and_only_the_staff_read_it(cast, graded):
    url = f"/assignments/{cast.sum.id}/grades/alice"
    body = {"override": 8, "override_reason": "Hard-coded the second sample.", "bonus": -1,
            "bonus_reason": "Late by a day."}  # fmt: skip
    first = services.rubric_of(cast.sum)[0]
    body["rubric"] = [{"item": first.id, "points": 2}]
    assert put(cast, "admin", url, body).status_code == 200  # the same again: nothing changed
    assert AdjustmentChange.objects.count() == 1
    body["bonus"] = 0
    doc = put(cast, "admin", url, body).json()
    assert [(h["by"], h["changes"]) for h in doc["history"]] == [
        ("admin", {"bonus": [-1, 0]}),
        ("teacher", {
            "override": [None, 8], "override_reason": ["", "Hard-coded the second sample."],
            "bonus": [0, -1], "bonus_reason": ["", "Late by a day."],
            "rubric: Readable names": [0, 2],
        }),
    ]  # fmt: skip
    assert doc["adjusted_by"] == "admin"
    assert cast.api("alice").get(url).json()["history"] == []


# -- the pages ----------------------------------------------------------------------------------


PAGE = "/courses/prog1/assignments/sum/grades/alice/"


@pytest.mark.parametrize("who", ["alice", "bob", "carol", "teacher", "tina", "admin"])
def test_the_grade_page_is_alices_and_the_staffs(cast, graded, who):
    r = login(cast, who).get(PAGE)
    assert r.status_code == (200 if who in READS_ALICES else 404)
    if r.status_code == 200:
        html = r.content.decode()
        assert "Hard-coded the second sample." in html
        assert ("Save the grade" in html) == (who in GRADES)
        assert ("History" in html) == (who in GRADES)


def test_the_staff_adjust_a_grade_on_its_page(cast, done, rubric):
    web = login(cast, "teacher")
    r = web.post(PAGE, {"override": "7", "override_reason": "", "bonus": ""})
    assert r.status_code == 400
    assert "Say why the points are overridden." in r.content.decode()
    r = web.post(PAGE, {
        "override": "7", "override_reason": "Copied the loop.", "bonus": "1",
        f"item_{rubric[0].id}": "on", f"item_{rubric[1].id}_points": "1.5",
    })  # fmt: skip
    assert r.status_code == 302, r.content.decode()[:2000]
    g = course_grades(cast.prog1)[(cast.users["alice"].id, cast.sum.id)]
    assert (g.override, g.bonus, g.rubric, g.points) == (7, 1, 3.5, 11.5)
    page = web.get(PAGE).content.decode()
    assert "checked" in page and 'value="1.5"' in page  # the form shows what was saved
    assert 'value="7"' in page and "<li>Override: none → 7</li>" in page  # history, as said
    r = web.post(PAGE, {f"item_{rubric[0].id}_points": "5"})
    assert r.status_code == 400 and "less than or equal to 2" in r.content.decode()


def test_a_student_cannot_post_to_her_own_grade_page(cast, graded):
    assert login(cast, "alice").post(PAGE, {"bonus": "100"}).status_code == 403
    assert course_grades(cast.prog1)[(cast.users["alice"].id, cast.sum.id)].points == 9


def test_alice_sees_her_adjustment_on_the_assignment_page_and_bob_does_not(cast, graded):
    html = login(cast, "alice").get("/courses/prog1/assignments/sum/").content.decode()
    assert "Your grade" in html and "Hard-coded the second sample." in html
    assert "Readable names" in html
    html = login(cast, "bob").get("/courses/prog1/assignments/sum/").content.decode()
    assert "Your grade" not in html and "Hard-coded" not in html
    html = login(cast, "alice").get(f"/submissions/{graded.id}/").content.decode()
    assert "Hard-coded the second sample." in html
    html = login(cast, "teacher").get(f"/submissions/{graded.id}/").content.decode()
    assert f'href="{PAGE}"' in html


def test_the_rubric_is_edited_on_the_manage_page(cast):
    web = login(cast, "teacher")
    manage = web.get("/courses/prog1/assignments/sum/manage/").content.decode()
    assert 'hx-get="/courses/prog1/assignments/sum/manage/rubric/"' in manage
    r = web.post("/courses/prog1/assignments/sum/manage/rubric/add/",
                 {"new-title": "Style", "new-points": "2", "new-description": ""})  # fmt: skip
    assert r.status_code == 302 and r["Location"].endswith("/manage/#rubric")
    item = RubricItem.objects.get(title="Style")
    part = web.get("/courses/prog1/assignments/sum/manage/rubric/", HTTP_HX_REQUEST="true")
    assert "<html" not in part.content.decode() and "Style" in part.content.decode()
    r = web.post(
        "/courses/prog1/assignments/sum/manage/rubric/add/", {"new-title": "X", "new-points": "0"}
    )
    assert r.status_code == 400 and "Give a number above 0" in r.content.decode()
    web.post(f"/courses/prog1/assignments/sum/manage/rubric/{item.id}/",
             {f"item{item.id}-title": "Style and names", f"item{item.id}-points": "3"})  # fmt: skip
    item.refresh_from_db()
    assert (item.title, item.points) == ("Style and names", 3)
    web.post(f"/courses/prog1/assignments/sum/manage/rubric/{item.id}/delete/")
    assert not RubricItem.objects.exists()
    alice = login(cast, "alice")
    assert alice.get("/courses/prog1/assignments/sum/manage/rubric/").status_code == 403
    r = alice.post(
        "/courses/prog1/assignments/sum/manage/rubric/add/",
        {"new-title": "Mine", "new-points": "9"},
    )
    assert r.status_code == 403 and not RubricItem.objects.exists()
