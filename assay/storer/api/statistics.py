"""The REST API of what the staff do with an assignment as a whole: re-evaluate all its
submissions (confirmed with their number, evaluation/batches.py) and read its statistics
(students, not submissions: evaluation/statistics.py), as the manage and statistics pages do."""

from __future__ import annotations

from ninja import Field, Router, Schema, Status

from assay.storer.evaluation import batches
from assay.storer.evaluation.statistics import assignment_statistics

from .auth import USER_AUTH
from .errors import error_body
from .groups import chosen_group
from .schemas import BodyCount, ErrorOut, Id, errors
from .users import get_assignment, require_supervisor

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


class StatisticsOut(Schema):
    assignment: int
    group: int | None = Field(description="the group counted (null: every student)")
    counts: str = Field(description="which submission counts: `last` or `best`")
    points: float = Field(description="the assignment's points")
    students: int = Field(description="students with a grade")
    enrolled: int = Field(description="students of the course (of the group)")
    distribution: list[BinOut] = Field(description="ten equal bins from 0 to `points`")
    tests: list[TestRateOut]


@router.get(
    "/assignments/{assignment_id}/statistics",
    response={200: StatisticsOut, **errors(400, 401, 403, 404)},
    summary="The assignment's statistics: students' grades and tests' pass rates (supervisors)",
)
def statistics(request, assignment_id: Id, group: Id | None = None):
    """Counted per student, not per submission: each student's grade (the counted submission
    after the late factor, with the staff's adjustments) and the tests of that submission;
    ``group``: one group's members only."""
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
    }  # fmt: skip
