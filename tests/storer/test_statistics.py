"""The statistics worth looking at (issue 13 part 4), as services on constructed data with exact
numbers: the time to each student's first accepted submission, the submissions per day around
the deadline, the tests failed by the most students, and a course's progress per student.

- Alice and Bob are students of prog1; the teacher supervises it (her own test submissions never
  count); Dave joins as a third student where a test needs one, Erin as Bob's team mate.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.contrib.auth import get_user_model

from assay.storer.courses.models import Assignment, Membership
from assay.storer.evaluation import activity, overview, services
from assay.storer.evaluation.models import Job, Submission, TestResult
from assay.storer.evaluation.statistics import assignment_statistics
from assay.storer.grading import services as grading
from assay.storer.groups import services as groups
from assay.storer.groups.models import SharedSubmission

from .conftest import SUM_OK

UTC = dt.UTC
PRAGUE = zoneinfo.ZoneInfo("Europe/Prague")
T0 = dt.datetime(2030, 3, 1, 8, 0, tzinfo=UTC)  # the release in most tests


def at(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def made(
    cast,
    who: str,
    when: dt.datetime,
    verdict: str | None = "AC",
    points: float | None = None,
    tests: dict[str, str] | None = None,
    assignment: Assignment | None = None,
) -> Submission:
    """A submission of ``who`` made at ``when``, evaluated to ``verdict`` (None: still queued)
    with ``points`` (10 for AC, 0 otherwise, unless given) and these tests' verdicts."""
    a = assignment or cast.sum
    u = cast.users[who]
    s = services.create_submission(a, u, u, {"sum.c": SUM_OK})
    Submission.objects.filter(pk=s.pk).update(created_at=when)
    job = s.jobs.get()
    if verdict is not None:
        if points is None:
            points = a.points if verdict == "AC" else 0.0
        Job.objects.filter(pk=job.pk).update(state=Job.DONE, verdict=verdict, points=points)
    for order, (name, v) in enumerate((tests or {}).items()):
        TestResult.objects.create(job=job, order=order, name=name, group="g", verdict=v)
    s.refresh_from_db()
    return s


def student(cast, name: str):
    u = get_user_model().objects.create_user(name, f"{name}@example.org", "pw")
    Membership.objects.create(user=u, course=cast.prog1, role=Membership.STUDENT)
    cast.users[name] = u
    return u


def rules(cast, **fields) -> Assignment:
    Assignment.objects.filter(pk=cast.sum.pk).update(**fields)
    cast.sum.refresh_from_db()
    return cast.sum


# -- time to the first accepted submission ---------------------------------------------------


def test_the_time_to_the_first_accepted_submission_counts_from_the_release(cast):
    rules(cast, release_at=T0)
    student(cast, "dave")
    made(cast, "alice", at(0.5), "WA")
    made(cast, "alice", at(2), "AC")  # 2 h after the release
    made(cast, "alice", at(30), "AC")  # a later one changes nothing
    made(cast, "bob", at(5), "WA")
    made(cast, "bob", at(50), "AC")  # 50 h
    made(cast, "dave", at(1), "WA")  # never accepted
    made(cast, "teacher", at(0.1), "AC")  # the staff's own: not a student
    found = assignment_statistics(cast.sum).accepted
    assert found is not None and found.from_release
    by = {s.student_id: s for s in found.students}
    alice, bob, dave = (cast.users[n].id for n in ("alice", "bob", "dave"))
    assert set(by) == {alice, bob, dave}
    assert (by[alice].hours, by[alice].submissions_before) == (2.0, 2)
    assert (by[bob].hours, by[bob].submissions_before) == (50.0, 2)
    assert (by[dave].hours, by[dave].accepted_at, by[dave].submissions_before) == (None, None, 1)
    assert (found.accepted, found.not_yet, found.hours) == (2, 1, [2.0, 50.0])
    assert found.quartiles == (14.0, 26.0, 38.0)
    assert [(b.label, b.count) for b in found.buckets] == [
        ("under 1 hour", 0), ("1–6 hours", 1), ("6–24 hours", 0), ("1–3 days", 1),
        ("3–7 days", 0), ("7 days or more", 0),
    ]  # fmt: skip


def test_without_a_release_date_each_student_is_timed_from_their_first_submission(cast):
    made(cast, "alice", at(0), "WA")
    made(cast, "alice", at(6), "AC")  # 6 h: the bucket's lower end is in it
    made(cast, "bob", at(100), "AC")  # accepted at once: 0 h
    found = activity.time_to_accepted(cast.sum, activity.made(cast.sum))
    assert not found.from_release
    assert found.hours == [0.0, 6.0]
    assert [b.count for b in found.buckets] == [1, 0, 1, 0, 0, 0]


def test_the_quartiles_of_five_times_are_the_inclusive_ones(cast):
    found = activity.TimeToAccepted(from_release=True)
    found.students = [activity.Accepted(i, T0, T0, at(h), 1) for i, h in enumerate([1, 2, 3, 4, 5])]
    assert found.quartiles == (2.0, 3.0, 4.0)
    found.students = found.students[:1]
    assert found.quartiles == (1.0, 1.0, 1.0)
    found.students = []
    assert found.quartiles is None and found.accepted == 0


def test_a_pending_or_failed_evaluation_is_not_an_acceptance(cast):
    made(cast, "alice", at(0), None)  # queued
    s = made(cast, "alice", at(1), "AC")
    Job.objects.filter(submission=s).update(state=Job.FAILED)  # its evaluation failed
    made(cast, "alice", at(3), "AC")
    found = activity.time_to_accepted(cast.sum, activity.made(cast.sum))
    assert found.hours == [3.0] and found.students[0].submissions_before == 3


def test_a_teams_accepted_submission_counts_for_each_member(cast):
    erin = student(cast, "erin")
    s = made(cast, "bob", at(4), "AC")
    SharedSubmission.objects.create(submission=s, user=erin)
    made(cast, "erin", at(1), "WA")
    found = activity.time_to_accepted(cast.sum, activity.made(cast.sum))
    by = {x.student_id: x.hours for x in found.students}
    assert by == {cast.users["bob"].id: 0.0, erin.id: 3.0}


# -- submissions per day --------------------------------------------------------------------


def test_the_submissions_of_each_day_in_the_courses_time_zone_with_the_deadline_marked(cast):
    cast.prog1.time_zone = "Europe/Prague"
    cast.prog1.save()
    day = dt.datetime(2020, 3, 1, tzinfo=PRAGUE)
    made(cast, "alice", day.replace(hour=10))
    made(cast, "alice", day.replace(hour=23, minute=30))  # 22:30 UTC: still the 1st in Prague
    made(cast, "bob", day.replace(hour=12))
    made(cast, "bob", day.replace(day=3, hour=23, minute=29))  # a minute before the deadline
    made(cast, "alice", day.replace(day=4, hour=0, minute=5))  # late, the next day
    made(cast, "teacher", day.replace(day=2, hour=9))  # not counted
    deadline = dt.datetime(2020, 3, 3, 22, 30, tzinfo=UTC)  # 23:30 in Prague, on the 3rd
    rules(cast, deadline=deadline, second_deadline=deadline + dt.timedelta(days=3))
    found = assignment_statistics(cast.sum).days
    assert found is not None and found.time_zone == "Europe/Prague"
    got = [
        (d.date.isoformat(), d.submissions, d.students, d.deadline, d.second_deadline, d.after_deadline)
        for d in found.days
    ]  # fmt: skip
    assert got == [
        ("2020-03-01", 3, 2, False, False, False),
        ("2020-03-02", 0, 0, False, False, False),
        ("2020-03-03", 1, 1, True, False, False),
        ("2020-03-04", 1, 1, False, False, True),
        # the second deadline has passed (the days run to today): its day is shown
        ("2020-03-05", 0, 0, False, False, True),
        ("2020-03-06", 0, 0, False, True, True),
    ]
    assert (found.in_time, found.late) == (4, 1)


def test_a_deadline_still_to_come_does_not_stretch_the_days(cast):
    rules(cast, deadline=at(24 * 30))
    made(cast, "alice", at(0))
    found = activity.per_day(cast.sum, activity.made(cast.sum), today=at(1).date())
    assert [(d.date, d.submissions) for d in found.days] == [(at(0).date(), 1)]
    assert (found.in_time, found.late) == (1, 0)


def test_a_team_submission_is_one_submission_of_two_students_that_day(cast):
    erin = student(cast, "erin")
    s = made(cast, "bob", at(1))
    SharedSubmission.objects.create(submission=s, user=erin)
    found = activity.per_day(cast.sum, activity.made(cast.sum))
    assert [(d.submissions, d.students) for d in found.days] == [(1, 2)]
    # Erin's group alone: the submission counts for her too
    lab = groups.save_group(cast.prog1, name="Lab", kind="lab", members=["erin"])
    days = assignment_statistics(cast.sum, lab).days
    assert days is not None and [(d.submissions, d.students) for d in days.days] == [(1, 1)]


def test_no_submissions_no_days(cast):
    found = assignment_statistics(cast.sum)
    assert found.days is not None and found.days.days == []
    assert found.accepted is not None and found.accepted.students == []


# -- the tests failed most ------------------------------------------------------------------


def test_the_tests_failed_by_the_most_students_with_their_most_common_verdict(cast):
    student(cast, "dave")
    # Alice's best counts (her first one fails 1, 2 and 3 and does not count)
    made(cast, "alice", at(0), "WA", 0.0, {"1": "WA", "2": "WA", "3": "TLE"})
    made(cast, "alice", at(1), "WA", 6.0, {"1": "AC", "2": "AC", "3": "TLE"})
    made(cast, "bob", at(2), "WA", 3.0, {"1": "AC", "2": "WA", "3": "RTE"})
    made(cast, "dave", at(3), "RTE", 0.0, {"1": "RTE", "2": "WA", "3": "TLE"})
    made(cast, "teacher", at(4), "WA", 0.0, {"1": "WA", "2": "WA", "3": "WA"})  # not a student
    failed = assignment_statistics(cast.sum).failed
    assert [(f.name, f.failed, f.runs, f.verdict, f.verdict_count) for f in failed] == [
        ("3", 3, 3, "TLE", 2),
        ("2", 2, 3, "WA", 2),
        ("1", 1, 3, "RTE", 1),
    ]
    assert failed[0].verdicts == {"TLE": 2, "RTE": 1}


def test_equally_failed_tests_keep_the_packages_order_and_equal_verdicts_go_by_name(cast):
    made(cast, "alice", at(0), "WA", 1.0, {"b": "WA", "a": "TLE"})
    made(cast, "bob", at(0), "WA", 1.0, {"b": "RTE", "a": "TLE"})
    failed = assignment_statistics(cast.sum).failed
    assert [(f.name, f.failed, f.verdict) for f in failed] == [("b", 2, "RTE"), ("a", 2, "TLE")]


def test_a_group_counts_only_its_members_failures(cast):
    made(cast, "alice", at(0), "WA", 0.0, {"1": "WA"})
    made(cast, "bob", at(0), "AC", None, {"1": "AC"})
    lab = groups.save_group(cast.prog1, name="Lab", kind="lab", members=["bob"])
    assert assignment_statistics(cast.sum, lab).failed == []
    assert [f.failed for f in assignment_statistics(cast.sum).failed] == [1]


# -- a course's progress per student --------------------------------------------------------


@pytest.fixture
def course(cast):
    """sum (10 points, a deadline yesterday with a second one tomorrow at half the points) and
    "two" (5 points); Dave studies too."""
    from django.utils import timezone

    now = timezone.now()
    rules(
        cast, deadline=now - dt.timedelta(days=1), second_deadline=now + dt.timedelta(days=1),
        second_factor=0.5,
    )  # fmt: skip
    two = Assignment.objects.create(
        course=cast.prog1, slug="two", title="two", points=5,
        current_version=cast.sum.current_version,
    )  # fmt: skip
    student(cast, "dave")
    return cast.sum, two, now


def cells(rows) -> dict[str, list[tuple]]:
    return {
        r.username: [(c.status, c.points, c.late) for c in r.cells] + [(r.total, r.accepted)]
        for r in rows
    }


def test_each_students_progress_in_each_assignment(cast, course):
    sum_, two, now = course
    # Alice: sum accepted in time; two partial, then a queued one
    made(cast, "alice", now - dt.timedelta(days=2), "AC")
    made(cast, "alice", now - dt.timedelta(days=2), "WA", 2.0, assignment=two)
    made(cast, "alice", now - dt.timedelta(hours=1), None, assignment=two)
    # Bob: sum accepted late (× 0.5); two failed
    made(cast, "bob", now - dt.timedelta(hours=3), "AC")
    made(cast, "bob", now - dt.timedelta(days=2), "CE", 0.0, assignment=two)
    # Dave: sum only queued; nothing of two, but the teacher gave him 1 point by hand
    made(cast, "dave", now - dt.timedelta(hours=2), None)
    grading.save(two, cast.users["dave"], cast.users["teacher"], override=1, override_reason="oral")  # fmt: skip
    roster = list(groups.students(cast.prog1))
    rows = overview.progress(cast.prog1, [sum_, two], roster)
    assert cells(rows) == {
        "alice": [("accepted", 10.0, False), ("partial", 2.0, False), (12.0, 1)],
        "bob": [("accepted", 5.0, True), ("failed", 0.0, False), (5.0, 1)],
        "dave": [("pending", None, False), ("not_submitted", 1.0, False), (1.0, 0)],
    }
    assert [r.submitted for r in rows] == [2, 2, 1]
    counts = [c.counts for c in overview.columns([sum_, two], rows)]
    assert counts == [
        {"accepted": 2, "partial": 0, "failed": 0, "pending": 1, "not_submitted": 0},
        {"accepted": 0, "partial": 1, "failed": 1, "pending": 0, "not_submitted": 1},
    ]


def test_a_team_submission_is_progress_for_each_member(cast, course):
    sum_, two, now = course
    erin = student(cast, "erin")
    s = made(cast, "bob", now - dt.timedelta(days=2), "AC", assignment=two)
    SharedSubmission.objects.create(submission=s, user=erin)
    q = made(cast, "bob", now - dt.timedelta(days=2), None)
    SharedSubmission.objects.create(submission=q, user=erin)
    rows = overview.progress(cast.prog1, [sum_, two], [(erin.id, "erin")])
    assert cells(rows) == {"erin": [("pending", None, False), ("accepted", 5.0, False), (5.0, 1)]}


def test_a_course_without_assignments_or_students_has_empty_rows(cast):
    assert [r.cells for r in overview.progress(cast.prog1, [], [(1, "x")])] == [[]]
    assert overview.progress(cast.prog1, [cast.sum], []) == []


# -- the charts' geometry (web/charts.py) ---------------------------------------------------


def test_a_bar_chart_scales_to_its_largest_bar_and_marks_a_time_within_a_bar():
    from assay.storer.web import charts

    c = charts.bar_chart("c", "T", "D", "x", [("a", 2, "a: 2"), ("b", 4, "b: 4")], marks={1.25: "deadline"})  # fmt: skip
    assert [(b.height, b.y, b.label, b.tip) for b in c.bars] == [
        (75.0, c.base - 75.0, "a", "a: 2"), (150.0, c.base - 150.0, "b", "b: 4"),
    ]  # fmt: skip
    slot = (c.right - c.left) / 2
    assert c.marks == [charts.Mark(round(c.left + 1.25 * slot, 1), "deadline")]
    assert [t.value for t in c.ticks] == [0, 1, 2, 3, 4]
    # many bars: every n-th labelled, no numbers above narrow bars
    many = charts.bar_chart("m", "T", "D", "x", [(str(i), i, "") for i in range(60)])
    assert sum(1 for b in many.bars if b.label) == 12 and not many.bars[0].show_value
    assert charts.bar_chart("e", "T", "D", "x", []).bars == []


def test_a_stacked_chart_fills_its_width_and_leaves_out_empty_segments():
    from assay.storer.web import charts

    c = charts.stacked_chart("s", "T", "D", [("sum", [("st-accepted", 3, ""), ("st-failed", 0, ""), ("st-pending", 1, "")])], 4)  # fmt: skip
    (row,) = c.rows
    assert [(s.css, s.value) for s in row.segments] == [("st-accepted", 3), ("st-pending", 1)]
    assert round(sum(s.width for s in row.segments), 1) == c.right - c.left
    assert row.segments[1].x == round(c.left + row.segments[0].width, 1)
