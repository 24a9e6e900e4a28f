"""The REST API of what the staff do with an assignment as a whole: re-evaluate all its
submissions (confirmed with their number, evaluation/batches.py) and read its statistics
(students, not submissions: evaluation/statistics.py), as the manage and statistics pages do;
and a course's progress per student (evaluation/overview.py), as the progress page shows it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpResponse
from ninja import Field, Router, Schema, Status

from assay.storer.evaluation import batches, lists, overview
from assay.storer.evaluation.statistics import Statistics, assignment_statistics
from assay.storer.groups.services import students

from .auth import USER_AUTH
from .errors import error_body
from .groups import chosen_group
from .paging import PAGED, page_of
from .schemas import BodyCount, ErrorOut, Id, errors
from .users import get_assignment, get_course, require_supervisor

router = Router(auth=USER_AUTH)


class ReevaluationOut(Schema):
    assignment: int
    count: int = Field(description="the submissions a re-evaluation queues: all of them")


class ReevaluateIn(Schema):
    confirm: BodyCount = Field(description="the `count` the caller was shown")


class BatchOut(Schema):
    assignment: int
    count: int = Field(description="the submissions queued")
    batch: str = Field(description="the batch every queued job belongs to")


class CountChangedOut(ErrorOut):
    """409 ``count_changed``: ``confirm`` was not the number of submissions; nothing queued."""

    count: int = Field(description="the number of submissions now: confirm this one")


@router.get(
    "/assignments/{assignment_id}/reevaluate",
    response={200: ReevaluationOut, **errors(400, 401, 403, 404)},
    summary="How many submissions re-evaluating the assignment would queue (supervisors)",
)
def reevaluation(request, assignment_id: Id):
    a = get_assignment(assignment_id, request.auth)
    require_supervisor(request.auth, a.course)
    return {"assignment": a.id, "count": batches.count(a)}


@router.post(
    "/assignments/{assignment_id}/reevaluate",
    response={202: BatchOut, 409: CountChangedOut, **errors(400, 401, 403, 404)},
    summary="Re-evaluate every submission of the assignment, confirming their number (supervisors)",
)
def reevaluate_all(request, assignment_id: Id, body: ReevaluateIn):
    """Queues an evaluation of each submission with the current version, only if ``confirm``
    is their number now (``GET`` tells it); otherwise 409 ``count_changed`` with the ``count``
    and nothing queued."""
    a = get_assignment(assignment_id, request.auth)
    require_supervisor(request.auth, a.course)
    try:
        batch = batches.reevaluate_all(a, request.auth, body.confirm)
    except batches.CountChanged as e:
        return Status(409, error_body(e.code, e.message, e.field) | {"count": e.count})
    return Status(202, {"assignment": a.id, "count": batch.count, "batch": batch.id})


class BinOut(Schema):
    low: float = Field(description="points, from")
    high: float = Field(description="points, to (the last bin includes it)")
    count: int = Field(description="students whose grade is in the bin")


class TestRateOut(Schema):
    name: str
    passed: int = Field(description="students whose counted submission passed the test (AC)")
    runs: int = Field(description="students whose counted submission ran it")
    rate: float = Field(description="passed / runs")


class FailedTestOut(Schema):
    name: str
    failed: int = Field(description="students whose counted submission did not pass the test")
    runs: int = Field(description="students whose counted submission ran it")
    verdict: str = Field(description="the most common verdict of those failures")
    verdict_count: int = Field(description="how many of them got `verdict`")
    verdicts: dict[str, int] = Field(description="every failing verdict: its students")


class BucketOut(Schema):
    label: str
    low_hours: float = Field(description="from (included)")
    high_hours: float | None = Field(description="to (excluded); null: no upper end")
    count: int = Field(description="students whose time falls here")


class StudentTimeOut(Schema):
    student: str
    counted_from: dt.datetime = Field(description="the release date, or their first submission")
    first_submission: dt.datetime
    accepted_at: dt.datetime | None = Field(description="their first accepted submission")
    hours: float | None = Field(description="from `counted_from` to `accepted_at`")
    submissions: int = Field(description="their submissions up to the accepted one (all, if none)")


class AcceptedOut(Schema):
    from_release: bool = Field(description="counted from the release date (else from each one's first submission)")  # fmt: skip
    submitted: int = Field(description="students who submitted")
    accepted: int = Field(description="students with an accepted submission (overall AC)")
    not_yet: int = Field(description="students who submitted and have none")
    median_hours: float | None
    q1_hours: float | None = Field(description="the first quartile (inclusive method)")
    q3_hours: float | None = Field(description="the third quartile")
    buckets: list[BucketOut]
    students: list[StudentTimeOut]


class DayOut(Schema):
    date: dt.date = Field(description="in the course's time zone")
    submissions: int
    students: int = Field(description="different students who submitted that day")
    deadline: bool = Field(description="the first deadline falls on this day")
    second_deadline: bool
    after_deadline: bool = Field(description="the whole day is after the first deadline")


class DaysOut(Schema):
    time_zone: str
    deadline: dt.datetime | None
    second_deadline: dt.datetime | None
    in_time: int = Field(description="submissions up to the first deadline (all, without one)")
    late: int = Field(description="submissions after it")
    days: list[DayOut] = Field(description="from the first day with a submission to the last")


class StatisticsOut(Schema):
    assignment: int
    group: int | None = Field(description="the group counted (null: every student)")
    counts: str = Field(description="which submission counts: `last` or `best`")
    points: float = Field(description="the assignment's points")
    students: int = Field(description="students with a grade")
    enrolled: int = Field(description="students of the course (of the group)")
    distribution: list[BinOut] = Field(description="ten equal bins from 0 to `points`")
    tests: list[TestRateOut]
    failed_tests: list[FailedTestOut] = Field(description="tests some student failed, most failing students first")  # fmt: skip
    first_accepted: AcceptedOut = Field(description="the time to each student's first accepted submission")  # fmt: skip
    per_day: DaysOut = Field(description="the students' submissions per day")


@router.get(
    "/assignments/{assignment_id}/statistics",
    response={200: StatisticsOut, **errors(400, 401, 403, 404)},
    summary="The assignment's statistics: grades, tests passed and failed, time to the first accepted submission, submissions per day (supervisors)",
)
def statistics(request, assignment_id: Id, group: Id | None = None):
    """Counted per student, not per submission: each student's grade (the counted submission
    after the late factor, with the staff's adjustments) and the tests of that submission, the
    tests failed by the most students; each student's time to their first accepted submission
    and the submissions of each day (docs/course-admin.md); ``group``: one group's members
    only."""
    a = get_assignment(assignment_id, request.auth)
    require_supervisor(request.auth, a.course)
    chosen = chosen_group(a.course, group, request.auth)
    found = assignment_statistics(a, chosen)
    return {
        "assignment": a.id, "group": chosen.id if chosen else None, "counts": a.counts,
        "points": a.points, "students": found.students, "enrolled": found.enrolled,
        "distribution": [{"low": b.low, "high": b.high, "count": b.count} for b in found.distribution],
        "tests": [
            {"name": t.name, "passed": t.passed, "runs": t.runs, "rate": t.rate}
            for t in found.tests
        ],
        **_more(found),
    }  # fmt: skip


def _more(found: Statistics) -> dict[str, Any]:
    """The sections issue 13 added: the tests failed most, the first accepted submissions,
    the submissions per day."""
    t, d = found.accepted, found.days
    assert t is not None and d is not None
    q = t.quartiles
    return {
        "failed_tests": [
            {"name": f.name, "failed": f.failed, "runs": f.runs, "verdict": f.verdict,
             "verdict_count": f.verdict_count, "verdicts": f.verdicts}
            for f in found.failed
        ],
        "first_accepted": {
            "from_release": t.from_release, "submitted": len(t.students),
            "accepted": t.accepted, "not_yet": t.not_yet,
            "median_hours": q[1] if q else None, "q1_hours": q[0] if q else None,
            "q3_hours": q[2] if q else None,
            "buckets": [
                {"label": b.label, "low_hours": b.low_hours, "high_hours": b.high_hours, "count": b.count}
                for b in t.buckets
            ],
            "students": [
                {"student": found.roster.get(s.student_id, ""), "counted_from": s.start,
                 "first_submission": s.first_submission, "accepted_at": s.accepted_at,
                 "hours": s.hours, "submissions": s.submissions_before}
                for s in t.students
            ],
        },
        "per_day": {
            "time_zone": d.time_zone, "deadline": d.deadline, "second_deadline": d.second_deadline,
            "in_time": d.in_time, "late": d.late,
            "days": [
                {"date": x.date, "submissions": x.submissions, "students": x.students,
                 "deadline": x.deadline, "second_deadline": x.second_deadline,
                 "after_deadline": x.after_deadline}
                for x in d.days
            ],
        },
    }  # fmt: skip


class CellOut(Schema):
    assignment: str = Field(description="the assignment's slug")
    status: str = Field(
        description="`accepted` (the counted submission's verdict is AC), `partial` (some "
        "points), `failed` (none), `pending` (submitted, no result yet) or `not_submitted`"
    )
    points: float | None = Field(description="the grade (after the late factor, with the staff's adjustments)")  # fmt: skip
    late: bool = Field(description="the counted submission was made after the student's deadline")
    submission: int | None = Field(description="the submission that counts")


class ProgressOut(Schema):
    student: str
    cells: list[CellOut] = Field(description="one per published assignment, in the course's order")  # fmt: skip
    total: float = Field(description="the sum of the points")
    accepted: int = Field(description="assignments accepted")


@router.get(
    "/courses/{slug}/progress",
    response={200: list[ProgressOut], **errors(400, 401, 403, 404)},
    openapi_extra=PAGED,
    summary="The course's progress per student: a cell per published assignment (supervisors)",
)
def progress(request, response: HttpResponse, slug: str, page: Id = 1, group: Id | None = None):
    """What the progress page shows: a row per student, 50 a page (``X-Total-Count``
    students in all, ``Link``), by username; ``group``: one group's members only."""
    course = get_course(slug, request.auth)
    require_supervisor(request.auth, course)
    chosen = chosen_group(course, group, request.auth)
    shown = page_of(request, response, students(course, chosen), page, lists.PAGE_SIZE)
    assignments = list(course.assignments.filter(current_version__isnull=False).order_by("id"))
    slugs = [a.slug for a in assignments]
    return [
        {
            "student": r.username,
            "total": r.total,
            "accepted": r.accepted,
            "cells": [
                {
                    "assignment": slugs[i],
                    "status": c.status,
                    "points": c.points,
                    "late": c.late,
                    "submission": c.grade.submission_id if c.grade else None,
                }
                for i, c in enumerate(r.cells)
            ],
        }  # fmt: skip
        for r in overview.progress(course, assignments, shown)
    ]
