"""A course's progress per student: one row per student, one cell per published assignment
saying where the student stands (not submitted, pending, failed, partial, accepted; late) with
the points of the grade (evaluation/grades.py), and totals. The progress page, its CSV and
``GET /api/courses/{slug}/progress`` show it; a fixed number of queries for the whole course,
whatever the number of students and assignments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db.models import Q

from assay.storer.courses.models import Assignment, Course
from assay.storer.groups.models import SharedSubmission

from . import lists
from .grades import Grade, course_grades
from .models import Submission

NOT_SUBMITTED = "not_submitted"  # nothing of theirs (nor their team's)
PENDING = "pending"  # submitted, nothing evaluated yet (queued, running, or evaluation failed)
FAILED = "failed"  # the counted submission got no points
PARTIAL = "partial"  # some points, not accepted
ACCEPTED = "accepted"  # the counted submission's verdict is AC
STATUSES = (ACCEPTED, PARTIAL, FAILED, PENDING, NOT_SUBMITTED)  # the legend's order
LABELS = {
    ACCEPTED: "accepted",
    PARTIAL: "partial",
    FAILED: "failed",
    PENDING: "pending",
    NOT_SUBMITTED: "not submitted",
}


@dataclass
class Cell:
    assignment_id: int
    status: str
    grade: Grade | None  # None: nothing to grade (points: none)

    @property
    def points(self) -> float | None:
        return self.grade.points if self.grade else None

    @property
    def late(self) -> bool:
        return bool(self.grade and self.grade.late)

    @property
    def label(self) -> str:
        return LABELS[self.status]


@dataclass
class Row:
    student_id: int
    username: str
    cells: list[Cell] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(c.points or 0.0 for c in self.cells)

    @property
    def accepted(self) -> int:
        return sum(c.status == ACCEPTED for c in self.cells)

    @property
    def submitted(self) -> int:
        return sum(c.status != NOT_SUBMITTED for c in self.cells)


@dataclass
class Column:
    """An assignment's counts of each status over the rows."""

    assignment: Assignment
    counts: dict[str, int]


def progress(
    course: Course, assignments: Sequence[Assignment], roster: Sequence[tuple[int, str]]
) -> list[Row]:
    """A row for each (student id, username) of ``roster``, in its order:

    1. the grades (course_grades: the counted submission by the assignment's rule, the late
       factor, the staff's adjustments);
    2. the verdicts of the counted submissions' latest jobs (one query);
    3. which (student, assignment) have any submission, their own or shared (one query);
    4. per cell: accepted if the counted submission's verdict is AC, else partial or failed by
       its points before the late factor; with no evaluated submission, pending or not
       submitted. Points are the grade's, with the staff's adjustments.
    """
    ids = [a.id for a in assignments]
    student_ids = [sid for sid, _ in roster]
    if not ids or not student_ids:
        return [Row(sid, name, []) for sid, name in roster]
    grades = course_grades(course, ids, student_ids)
    counted = [g.submission_id for g in grades.values() if g.submission_id is not None]
    verdicts = {sid: job.verdict for sid, job in lists.latest_jobs(counted).items()}
    tried = _submitted(ids, student_ids)
    rows = []
    for sid, username in roster:
        row = Row(sid, username)
        for aid in ids:
            g = grades.get((sid, aid))
            row.cells.append(Cell(aid, _status(g, verdicts, (sid, aid) in tried), g))
        rows.append(row)
    return rows


def columns(assignments: Sequence[Assignment], rows: Sequence[Row]) -> list[Column]:
    """Each assignment's number of students in each status."""
    found = []
    for i, a in enumerate(assignments):
        counts = dict.fromkeys(STATUSES, 0)
        for r in rows:
            counts[r.cells[i].status] += 1
        found.append(Column(a, counts))
    return found


def _status(g: Grade | None, verdicts: dict[int, str], tried: bool) -> str:
    if g is None or g.submission_id is None:  # nothing evaluated (maybe an adjustment alone)
        return PENDING if tried else NOT_SUBMITTED
    if verdicts.get(g.submission_id) == "AC":
        return ACCEPTED
    return PARTIAL if (g.unfactored or 0.0) > 0 else FAILED


def _submitted(assignment_ids: list[int], student_ids: list[int]) -> set[tuple[int, int]]:
    """(student id, assignment id) with a submission of the student's, or shared with them."""
    wanted = set(student_ids)
    shared = SharedSubmission.objects.filter(user_id__in=student_ids).values("submission_id")
    rows = (
        Submission.objects.filter(assignment_id__in=assignment_ids)
        .filter(Q(author_id__in=student_ids) | Q(id__in=shared))
        .values_list("author_id", "assignment_id", "shares__user_id")
        .distinct()
    )
    found: set[tuple[int, int]] = set()
    for author_id, assignment_id, member_id in rows:
        for sid in (author_id, member_id):
            if sid in wanted:
                found.add((sid, assignment_id))
    return found
