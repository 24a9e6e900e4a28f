"""An assignment's rules (issue 11 part 5; docs/deadlines.md), as ReCodEx has them.

Alice and Bob are students of prog1; the teacher supervises it; Carol (prog2) sees nothing of it.
The assignment "sum" gets a first deadline a day ago and, in some tests, a second deadline
tomorrow with the factor 0.5.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.test import Client
from django.utils import timezone

from assay.storer.courses import rules
from assay.storer.courses.models import Assignment, Extension
from assay.storer.evaluation import services
from assay.storer.evaluation.grades import course_grades
from assay.storer.evaluation.models import Job, Submission

from .conftest import SUM_OK

NOW = timezone.now()
DAY = dt.timedelta(days=1)


def login(cast, who: str) -> Client:
    c = Client()
    c.force_login(cast.users[who])
    return c


def rules_of(a: Assignment, **fields) -> Assignment:
    for k, v in fields.items():
        setattr(a, k, v)
    a.save()
    return a


def evaluated(cast, who: str, points: float, at: dt.datetime, by: str | None = None) -> Submission:
    """A submission by ``who`` (or cross-submitted ``by`` a supervisor) made ``at``, evaluated
    with ``points``."""
    author = cast.users[who]
    s = services.create_submission(cast.sum, author, cast.users[by or who], {"sum.c": SUM_OK})
    Submission.objects.filter(pk=s.pk).update(created_at=at)
    s.jobs.update(state=Job.DONE, points=points, max_points=10, verdict="AC")
    s.refresh_from_db()
    return s


def grade(cast, who: str = "alice"):
    return course_grades(cast.prog1, [cast.sum.id]).get((cast.users[who].id, cast.sum.id))


# -- the deadlines themselves -----------------------------------------------------------------


def test_a_submission_between_the_deadlines_is_late_and_gets_the_factor():
    due = rules.Deadlines(NOW, NOW + DAY, 0.5)
    assert (due.late(NOW - DAY), due.factor_at(NOW - DAY)) == (False, 1.0)
    assert (due.late(NOW + DAY / 2), due.factor_at(NOW + DAY / 2)) == (True, 0.5)
    assert (due.late(NOW + 2 * DAY), due.factor_at(NOW + 2 * DAY)) == (True, 0.0)


def test_without_a_deadline_nothing_is_late():
    due = rules.Deadlines(None, None, 0.5)
    assert not due.late(NOW + 100 * DAY) and due.factor_at(NOW) == 1.0 and not due.closed()


def test_an_extension_replaces_the_deadlines_but_never_takes_time_away(cast):
    a = rules_of(cast.sum, deadline=NOW, second_deadline=NOW + 3 * DAY, second_factor=0.5)
    ext = Extension(assignment=a, student=cast.users["alice"], deadline=NOW + DAY)
    due = rules.deadlines(a, ext)
    # the assignment's later second deadline stays
    assert (due.first, due.second, due.extended) == (NOW + DAY, NOW + 3 * DAY, True)
    early = Extension(assignment=a, student=cast.users["alice"], deadline=NOW - DAY)
    assert rules.deadlines(a, early).first == NOW  # earlier than the assignment's: ignored


# -- submitting ------------------------------------------------------------------------------


def test_a_student_cannot_submit_after_the_last_deadline(cast):
    rules_of(cast.sum, deadline=NOW - 2 * DAY, second_deadline=NOW - DAY)
    r = cast.api("alice").post(f"/assignments/{cast.sum.id}/submissions", {"files": [upload()]})
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "deadline_passed"
    assert "UTC" in r.json()["error"]["message"]


def test_between_the_deadlines_the_submission_is_accepted_and_marked_late(cast):
    rules_of(cast.sum, deadline=NOW - DAY, second_deadline=NOW + DAY, second_factor=0.5)
    r = cast.api("alice").post(f"/assignments/{cast.sum.id}/submissions", {"files": [upload()]})
    assert r.status_code == 201, r.content
    assert (r.json()["late"], r.json()["late_factor"]) == (True, 0.5)
    listed = cast.api("alice").get("/submissions").json()
    assert listed[0]["late"] is True


def test_an_extension_lets_the_student_submit_in_time(cast):
    rules_of(cast.sum, deadline=NOW - DAY)
    teacher = cast.api("teacher")
    later = (NOW + DAY).isoformat()
    r = teacher.client.put(
        f"/api/assignments/{cast.sum.id}/extensions/alice",
        {"deadline": later, "reason": "ill"},
        content_type="application/json",
        **teacher.headers,
    )
    assert r.status_code == 200, r.content
    alice = cast.api("alice").post(f"/assignments/{cast.sum.id}/submissions", {"files": [upload()]})
    assert alice.status_code == 201 and alice.json()["late"] is False
    bob = cast.api("bob").post(f"/assignments/{cast.sum.id}/submissions", {"files": [upload()]})
    assert bob.status_code == 403  # his deadline has passed
    mine = cast.api("alice").get(f"/assignments/{cast.sum.id}").json()["my_deadlines"]
    assert mine["extended"] is True


def test_the_staff_may_submit_after_the_deadline_and_it_is_marked_late(cast):
    rules_of(cast.sum, deadline=NOW - DAY)
    r = cast.api("teacher").post(
        f"/assignments/{cast.sum.id}/submissions", {"files": [upload()], "for_user": "alice"}
    )
    assert r.status_code == 201, r.content
    assert (r.json()["late"], r.json()["late_factor"]) == (True, 0.0)


def test_the_maximum_counts_the_students_own_submissions_only(cast):
    rules_of(cast.sum, max_submissions=2)
    api = cast.api("alice")
    cross = cast.api("teacher").post(
        f"/assignments/{cast.sum.id}/submissions", {"files": [upload()], "for_user": "alice"}
    )
    assert cross.status_code == 201
    for _ in range(2):
        assert (
            api.post(f"/assignments/{cast.sum.id}/submissions", {"files": [upload()]}).status_code
            == 201
        )
    r = api.post(f"/assignments/{cast.sum.id}/submissions", {"files": [upload()]})
    assert r.status_code == 403
    assert r.json()["error"]["message"] == "you have used all 2 submissions of Sum of two numbers"


def test_a_submission_racing_for_the_last_one_is_refused_in_its_transaction(cast, monkeypatch):
    """Both passed the first count (check_rules, before the upload is read); the second is told
    apart in the transaction, under the assignment's row lock, and nothing of it is stored."""
    rules_of(cast.sum, max_submissions=1)
    monkeypatch.setattr(services, "check_rules", lambda *a: None)  # as if both had counted 0
    alice = cast.users["alice"]
    services.create_submission(cast.sum, alice, alice, {"sum.c": SUM_OK})
    with pytest.raises(services.ServiceError, match="used all 1 submissions"):
        services.create_submission(cast.sum, alice, alice, {"sum.c": SUM_OK})
    assert cast.sum.submissions.filter(author=alice).count() == 1
    # a supervisor's cross-submit is no student's own
    services.create_submission(cast.sum, alice, cast.users["teacher"], {"sum.c": SUM_OK})
    assert cast.sum.submissions.filter(author=alice).count() == 2


def test_an_archived_assignment_takes_no_submissions_and_leaves_the_course_list(cast):
    rules_of(cast.sum, archived=True)
    r = cast.api("alice").post(f"/assignments/{cast.sum.id}/submissions", {"files": [upload()]})
    assert r.status_code == 403 and r.json()["error"]["code"] == "archived"
    assert cast.api("alice").get("/courses/prog1/assignments").json() == []
    assert cast.api("alice").get(f"/assignments/{cast.sum.id}").status_code == 200  # readable
    page = login(cast, "alice").get("/courses/prog1/").content.decode()
    assert "/assignments/sum/" not in page
    assert login(cast, "alice").get("/courses/prog1/assignments/sum/").status_code == 200


def test_before_its_release_students_do_not_see_the_assignment(cast):
    rules_of(cast.sum, release_at=NOW + DAY)
    alice = cast.api("alice")
    assert alice.get("/courses/prog1/assignments").json() == []
    assert alice.get(f"/assignments/{cast.sum.id}").status_code == 404
    assert (
        alice.post(f"/assignments/{cast.sum.id}/submissions", {"files": [upload()]}).status_code
        == 404
    )
    assert login(cast, "alice").get("/courses/prog1/assignments/sum/").status_code == 404
    assert "/assignments/sum/" not in login(cast, "alice").get("/courses/prog1/").content.decode()
    # the staff see it, and say when it is released
    assert cast.api("teacher").get(f"/assignments/{cast.sum.id}").status_code == 200
    assert "released" in login(cast, "teacher").get("/courses/prog1/").content.decode()


def test_an_unpublished_assignment_disappears_for_students_and_keeps_its_versions(cast):
    r = cast.api("teacher").post(f"/assignments/{cast.sum.id}/unpublish")
    assert r.status_code == 200 and r.json()["published"] is False
    assert cast.api("alice").get(f"/assignments/{cast.sum.id}").status_code == 404
    assert cast.sum.versions.count() == 1
    assert cast.api("alice").post(f"/assignments/{cast.sum.id}/unpublish").status_code == 404


# -- grades ----------------------------------------------------------------------------------


def test_best_counts_the_highest_points_after_the_factor(cast):
    rules_of(cast.sum, deadline=NOW - DAY, second_deadline=NOW + DAY, second_factor=0.5)
    early = evaluated(cast, "alice", 6, NOW - 2 * DAY)
    evaluated(cast, "alice", 10, NOW)  # late: 5 after the factor
    g = grade(cast)
    assert (g.submission_id, g.points, g.late) == (early.id, 6, False)


def test_last_counts_the_latest_evaluated_submission_with_its_factor(cast):
    rules_of(
        cast.sum, deadline=NOW - DAY, second_deadline=NOW + DAY, second_factor=0.5,
        counts=Assignment.COUNTS_LAST,
    )  # fmt: skip
    evaluated(cast, "alice", 10, NOW - 2 * DAY)
    late = evaluated(cast, "alice", 8, NOW)
    running = services.create_submission(
        cast.sum, cast.users["alice"], cast.users["alice"], {"sum.c": SUM_OK}
    )  # not evaluated yet: does not count
    assert running.jobs.get().state == Job.QUEUED
    g = grade(cast)
    assert (g.submission_id, g.points, g.unfactored, g.late) == (late.id, 4, 8, True)


def test_an_extension_makes_a_late_submission_count_in_full(cast):
    rules_of(cast.sum, deadline=NOW - DAY, second_deadline=NOW + DAY, second_factor=0.5)
    evaluated(cast, "alice", 10, NOW)
    assert grade(cast).points == 5
    Extension.objects.create(assignment=cast.sum, student=cast.users["alice"], deadline=NOW + DAY)
    g = grade(cast)
    assert (g.points, g.late) == (10, False)


def test_the_grades_page_links_the_counted_submission_and_marks_it_late(cast):
    rules_of(cast.sum, deadline=NOW - DAY, second_deadline=NOW + DAY, second_factor=0.5)
    s = evaluated(cast, "alice", 10, NOW)
    html = login(cast, "teacher").get("/courses/prog1/grades/").content.decode()
    assert f'href="/submissions/{s.id}/"' in html and 'class="late"' in html
    rows = list(
        csv.reader(
            io.StringIO(login(cast, "teacher").get("/courses/prog1/grades.csv").content.decode())
        )
    )
    assert rows[0] == ["student", "sum", "sum late", "total"]
    assert ["alice", "5", "late", "5"] in rows


def test_the_grades_api_gives_supervisors_everyone_and_students_their_own(cast):
    rules_of(cast.sum, deadline=NOW - DAY, second_deadline=NOW + DAY, second_factor=0.5)
    s = evaluated(cast, "alice", 10, NOW)
    evaluated(cast, "bob", 7, NOW - 2 * DAY)
    everyone = cast.api("teacher").get("/courses/prog1/grades")
    assert everyone.headers["X-Total-Count"] == "2"
    alice = next(x for x in everyone.json() if x["student"] == "alice")
    assert alice | {} == alice and (alice["submission"], alice["points"], alice["late"]) == (
        s.id,
        5,
        True,
    )
    assert alice["unfactored"] == 10
    own = cast.api("bob").get("/courses/prog1/grades").json()
    assert [x["student"] for x in own] == ["bob"]
    assert cast.api("carol").get("/courses/prog1/grades").status_code == 404


def test_statistics_count_students_not_submissions(cast):
    for _ in range(3):
        evaluated(cast, "alice", 10, NOW - DAY)
    evaluated(cast, "bob", 2, NOW - DAY)
    html = login(cast, "teacher").get("/courses/prog1/assignments/sum/stats/").content.decode()
    assert "Score distribution of 2 students" in html
    assert "2 students</strong> of 2 enrolled" in html


# -- the late mark on the pages --------------------------------------------------------------


def test_the_student_sees_the_late_mark_on_their_list_and_the_submission_page(cast):
    rules_of(cast.sum, deadline=NOW - DAY, second_deadline=NOW + DAY, second_factor=0.5)
    s = evaluated(cast, "alice", 10, NOW)
    web = login(cast, "alice")
    page = web.get("/courses/prog1/assignments/sum/").content.decode()
    assert 'class="late"' in page and "Late submissions until" in page
    assert 'class="late"' in web.get(f"/submissions/{s.id}/").content.decode()
    staff = login(cast, "teacher").get("/courses/prog1/submissions/").content.decode()
    assert 'class="late"' in staff


# -- settings: validation, the form, the API -------------------------------------------------


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        (
            {"deadline": "2030-01-02T00:00:00Z", "second_deadline": "2030-01-01T00:00:00Z"},
            "second_deadline",
        ),
        ({"second_factor": 1.5}, "second_factor"),
        ({"second_factor": -0.1}, "second_factor"),
        ({"max_submissions": 0}, "max_submissions"),
        ({"counts": "worst"}, "counts"),
        ({"second_deadline": "2030-01-01T00:00:00Z"}, "second_deadline"),
    ],
)
def test_the_api_refuses_bad_rules_naming_the_field(cast, patch, field):
    r = cast.api("teacher").patch(f"/assignments/{cast.sum.id}", patch)
    assert r.status_code == 400, r.content
    assert r.json()["error"]["field"] == field


def test_the_api_sets_and_clears_the_rules(cast):
    api = cast.api("teacher")
    r = api.patch(
        "/courses/prog1/assignments/sum",
        {"deadline": "2030-01-01T10:00:00+01:00", "second_deadline": "2030-01-08T10:00:00Z",
         "second_factor": 0.25, "max_submissions": 5, "counts": "last"},
    )  # fmt: skip
    assert r.status_code == 200, r.content
    doc = r.json()
    assert (doc["second_factor"], doc["max_submissions"], doc["counts"]) == (0.25, 5, "last")
    assert doc["deadline"].startswith("2030-01-01T09:00:00")  # ISO 8601, UTC offset
    r = api.patch(f"/assignments/{cast.sum.id}", {"max_submissions": None, "second_deadline": None})
    assert (r.json()["max_submissions"], r.json()["second_deadline"]) == (None, None)
    assert r.json()["deadline"] is not None  # not sent: unchanged
    assert (
        cast.api("alice").patch(f"/assignments/{cast.sum.id}", {"counts": "last"}).status_code
        == 403
    )


def test_the_settings_form_reads_times_in_the_courses_time_zone(cast):
    cast.prog1.time_zone = "Europe/Prague"
    cast.prog1.save()
    web = login(cast, "teacher")
    data = {
        "settings-title": "sum", "settings-points": "10", "settings-evaluation": "immediate",
        "settings-test_details": "visible", "settings-deadline": "2030-01-02T10:00",
        "settings-second_deadline": "2030-01-09T10:00", "settings-second_factor": "0.5",
        "settings-counts": "best", "settings-max_submissions": "3",
    }  # fmt: skip
    r = web.post("/courses/prog1/assignments/sum/manage/", data)
    assert r.status_code == 302, r.content.decode()[:3000]
    a = Assignment.objects.get(pk=cast.sum.pk)
    assert a.deadline == dt.datetime(2030, 1, 2, 9, 0, tzinfo=dt.UTC)  # 10:00 CET
    assert a.max_submissions == 3
    html = web.get("/courses/prog1/").content.decode()
    assert "2030-01-02 10:00 CET" in html


def test_the_settings_form_names_the_field_at_fault(cast):
    data = {
        "settings-title": "sum", "settings-points": "10", "settings-evaluation": "immediate",
        "settings-test_details": "visible", "settings-deadline": "2030-01-02T10:00",
        "settings-second_deadline": "2030-01-01T10:00", "settings-second_factor": "2",
    }  # fmt: skip
    r = login(cast, "teacher").post("/courses/prog1/assignments/sum/manage/", data)
    assert r.status_code == 400
    html = r.content.decode()
    assert "less than or equal to 1" in html


def test_the_course_time_zone_is_validated(cast):
    api = cast.api("teacher")
    r = api.client.patch(
        "/api/courses/prog1", {"time_zone": "Mars/Olympus"}, content_type="application/json",
        **api.headers,
    )  # fmt: skip
    assert r.status_code == 400 and r.json()["error"]["field"] == "time_zone"
    r = login(cast, "teacher").post("/courses/prog1/settings/", {"time_zone": "Nowhere"})
    assert r.status_code == 400 and "not a time zone" in r.content.decode()
    r = login(cast, "teacher").post("/courses/prog1/settings/", {"time_zone": "America/New_York"})
    assert r.status_code == 302
    assert cast.api("alice").get("/courses/prog1").json()["time_zone"] == "America/New_York"
    assert (
        login(cast, "alice").post("/courses/prog1/settings/", {"time_zone": "UTC"}).status_code
        == 403
    )


# -- extensions: pages and permissions -------------------------------------------------------


def test_extensions_are_given_and_taken_back_on_their_page(cast):
    rules_of(cast.sum, deadline=NOW - DAY)
    web = login(cast, "teacher")
    url = "/courses/prog1/assignments/sum/manage/extensions/"
    r = web.post(url, {"student": "alice", "deadline": "2040-01-01T12:00", "reason": "ill"})
    assert r.status_code == 302, r.content.decode()[:2000]
    assert Extension.objects.get(student=cast.users["alice"]).reason == "ill"
    assert "2040-01-01 12:00 UTC" in web.get(url).content.decode()
    page = login(cast, "alice").get("/courses/prog1/assignments/sum/").content.decode()
    assert "Your extended deadline" in page
    assert web.post(url + "alice/revoke/").status_code == 302
    assert not Extension.objects.exists()


def test_an_extension_must_end_after_the_assignments_deadline(cast):
    rules_of(cast.sum, deadline=NOW + DAY)
    r = login(cast, "teacher").post(
        "/courses/prog1/assignments/sum/manage/extensions/",
        {"student": "alice", "deadline": (NOW - DAY).strftime("%Y-%m-%dT%H:%M")},
    )
    assert r.status_code == 400 and "after the assignment&#x27;s deadline" in r.content.decode()


def test_only_supervisors_manage_extensions(cast):
    rules_of(cast.sum, deadline=NOW)
    assert (
        login(cast, "alice").get("/courses/prog1/assignments/sum/manage/extensions/").status_code
        == 403
    )
    assert (
        login(cast, "tina").get("/courses/prog1/assignments/sum/manage/extensions/").status_code
        == 404
    )
    assert cast.api("alice").get(f"/assignments/{cast.sum.id}/extensions").status_code == 403
    assert cast.api("carol").get(f"/assignments/{cast.sum.id}/extensions").status_code == 404
    assert cast.api("teacher").get(f"/assignments/{cast.sum.id}/extensions").json() == []
    assert (
        cast.api("teacher")
        .client.delete(
            f"/api/assignments/{cast.sum.id}/extensions/alice", **cast.api("teacher").headers
        )
        .status_code
        == 404
    )


def upload():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("sum.c", SUM_OK)


def test_the_feedback_and_the_code_diff_show_times_in_the_courses_zone(cast):
    from assay.storer.feedback import services as feedback

    cast.prog1.time_zone = "Asia/Tokyo"
    cast.prog1.save()
    old = evaluated(cast, "alice", 5, NOW - DAY)
    new = evaluated(cast, "alice", 10, NOW)
    feedback.add(new, cast.users["teacher"], "Well done")
    web = login(cast, "alice")
    assert " JST" in web.get(f"/submissions/{new.id}/feedback/").content.decode()
    diff = web.get(f"/submissions/{new.id}/compare/?against={old.id}").content.decode()
    assert " JST)" in diff and " UTC)" not in diff


def test_the_assignment_page_says_why_there_is_no_submit_form(cast):
    web = login(cast, "alice")
    rules_of(cast.sum, max_submissions=1)
    assert 'id="submit-form"' in web.get("/courses/prog1/assignments/sum/").content.decode()
    evaluated(cast, "alice", 3, NOW)
    page = web.get("/courses/prog1/assignments/sum/").content.decode()
    assert "You have used all 1 submissions" in page and 'id="submit-form"' not in page
    assert "<strong>1 of 1</strong> used" in page
    rules_of(cast.sum, archived=True)
    assert "is archived" in web.get("/courses/prog1/assignments/sum/").content.decode()
