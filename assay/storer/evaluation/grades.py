"""Grades: for each (student, assignment) the submission that counts and the points it gives.

The one place where a course's rules meet, so that the course page, the grades page, its CSV,
the statistics and the API agree:

- which submission counts and what its automatic points are (`_automatic`: by the
  assignment's rule, the last or the best of the student's evaluated submissions, with the late
  factor of courses/rules.py applied);
- the staff's adjustments (`_adjust`: overrides, bonus points, rubric items).

Every reader calls `course_grades` (one or two queries for the whole course, whatever its size).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q, Sum

from assay.storer.courses import rules
from assay.storer.courses.models import Assignment, Course
from assay.storer.grading.models import Adjustment
from assay.storer.groups.models import SharedSubmission

from .models import Job


@dataclass
class Grade:
    student_id: int
    assignment_id: int
    submission_id: int | None = None  # the submission whose points count, if any
    automatic: float | None = None  # the points the evaluation gave it
    late: bool = False  # the counted submission came after the (first) deadline
    unfactored: float | None = None  # its points before the late factor
    late_factor: float = 1.0  # what `automatic` is of `unfactored` (courses/rules.py)
    override: float | None = None  # staff: these points instead of the automatic ones
    override_reason: str = ""
    adjusted_by: str = ""  # who last changed the override, bonus or rubric (username)
    adjusted_at: dt.datetime | None = None
    bonus: float = 0.0  # staff: added on top (negative: a penalty)
    bonus_reason: str = ""
    rubric: float = 0.0  # staff: the sum of the rubric items awarded

    @property
    def adjusted(self) -> bool:
        return self.override is not None or bool(self.bonus) or bool(self.rubric)

    @property
    def points(self) -> float | None:
        """What the student gets; None when there is nothing to grade yet."""
        if self.automatic is None and not self.adjusted:
            return None
        base = self.override if self.override is not None else (self.automatic or 0.0)
        return base + self.bonus + self.rubric


Key = tuple[int, int]  # (student id, assignment id)
# an evaluated submission: (submission id, student id, assignment id, created at, points)
Evaluated = tuple[int, int, int, dt.datetime, float]


def course_grades(
    course: Course,
    assignment_ids: Iterable[int] | None = None,
    student_ids: Iterable[int] | None = None,
) -> dict[Key, Grade]:
    """(student id, assignment id) -> Grade, for every student with something to grade;
    only these assignments / students when given."""
    scope = Scope(
        course,
        None if assignment_ids is None else set(assignment_ids),
        None if student_ids is None else set(student_ids),
    )
    grades = _automatic(scope)
    _adjust(scope, grades)
    return grades


@dataclass(frozen=True)
class Scope:
    course: Course
    assignment_ids: set[int] | None
    student_ids: set[int] | None


def _automatic(scope: Scope) -> dict[Key, Grade]:
    """The submission that counts for each author and assignment, and its points after the
    late factor:

    1. read the latest job of every submission in scope (one query), keeping the evaluated ones
       (done, with points) with their times;
    2. read the assignments' rules and the extensions of the late ones (one query each);
    3. per author and assignment: ``last``, the latest evaluated submission; ``best``, the highest
       points after the factor (the earlier of equals).
    """
    qs = Job.objects.filter(kind=Job.EVALUATION, submission__assignment__course=scope.course)
    if scope.assignment_ids is not None:
        qs = qs.filter(submission__assignment_id__in=scope.assignment_ids)
    if scope.student_ids is not None:  # their own submissions, and their teams' shared ones
        shared = SharedSubmission.objects.filter(user_id__in=scope.student_ids)
        qs = qs.filter(
            Q(submission__author_id__in=scope.student_ids)
            | Q(submission_id__in=shared.values("submission_id"))
        )
    rows = qs.order_by("id").values_list(
        "submission_id", "submission__author_id", "submission__assignment_id",
        "submission__created_at", "state", "points",
    )  # fmt: skip
    latest: dict[int, tuple[int, int, dt.datetime, str, float | None]] = {}
    for submission_id, author_id, assignment_id, created_at, state, points in rows:
        latest[submission_id] = (author_id, assignment_id, created_at, state, points)
    evaluated = [
        (submission_id, author_id, assignment_id, created_at, points)
        for submission_id, (author_id, assignment_id, created_at, state, points) in latest.items()
        if state == Job.DONE and points is not None
    ]
    evaluated = _credited(scope, evaluated)
    if not evaluated:
        return {}
    assignments = {a.id: a for a in Assignment.objects.filter(id__in={row[2] for row in evaluated})}
    late_ones = [r for r in evaluated if not rules.in_time(assignments[r[2]], r[3])]
    extended = (
        rules.extensions({r[2] for r in late_ones}, {r[1] for r in late_ones}) if late_ones else {}
    )
    grades: dict[Key, Grade] = {}
    for submission_id, author_id, assignment_id, created_at, points in sorted(
        evaluated, key=lambda r: (r[3], r[0])
    ):
        a = assignments[assignment_id]
        key = (author_id, assignment_id)
        late, factor = rules.submission_lateness(a, author_id, created_at, extended.get(key))
        grade = Grade(
            author_id, assignment_id, submission_id, points * factor, late,
            unfactored=points, late_factor=factor,
        )  # fmt: skip
        current = grades.get(key)
        if (
            current is None
            or a.counts == Assignment.COUNTS_LAST  # sorted by time: the later one wins
            or (grade.automatic or 0.0) > (current.automatic or 0.0)
        ):
            grades[key] = grade
    return grades


def _credited(scope: Scope, evaluated: list[Evaluated]) -> list[Evaluated]:
    """A team submission counts for each member it was shared with (groups/), as if each had
    made it: one row per student it counts for (one query)."""
    shares: dict[int, list[int]] = {}
    for submission_id, user_id in SharedSubmission.objects.filter(
        submission_id__in=[row[0] for row in evaluated]
    ).values_list("submission_id", "user_id"):
        shares.setdefault(submission_id, []).append(user_id)
    if not shares:
        return evaluated
    wanted = scope.student_ids
    return [
        (submission_id, student_id, assignment_id, created_at, points)
        for submission_id, author_id, assignment_id, created_at, points in evaluated
        for student_id in (author_id, *shares.get(submission_id, ()))
        if wanted is None or student_id in wanted
    ]


def _adjust(scope: Scope, grades: dict[Key, Grade]) -> None:
    """Apply the staff's overrides, bonus points and rubric items (``grading.Adjustment``): one
    query, the rubric items' points summed by the database. A student with an adjustment but no
    evaluated submission gets a grade of the adjustment alone."""
    qs = Adjustment.objects.filter(assignment__course=scope.course)
    if scope.assignment_ids is not None:
        qs = qs.filter(assignment_id__in=scope.assignment_ids)
    if scope.student_ids is not None:
        qs = qs.filter(student_id__in=scope.student_ids)
    rows = qs.annotate(rubric_sum=Sum("awards__points")).values_list(
        "student_id", "assignment_id", "override", "override_reason", "bonus", "bonus_reason",
        "changed_by__username", "changed_at", "rubric_sum",
    )  # fmt: skip
    for student_id, assignment_id, override, reason, bonus, bonus_reason, by, at, rubric in rows:
        key = (student_id, assignment_id)
        g = grades.get(key)
        if g is None:
            g = grades[key] = Grade(student_id, assignment_id)
        g.override, g.override_reason = override, reason
        g.bonus, g.bonus_reason, g.rubric = bonus, bonus_reason, rubric or 0.0
        g.adjusted_by, g.adjusted_at = by or "", at
