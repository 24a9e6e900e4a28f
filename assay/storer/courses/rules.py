"""An assignment's rules as ReCodEx has them (issue 11 part 5; docs/deadlines.md): a release
date, a first deadline, an optional second deadline with a points factor, per-student extensions,
a maximum number of submissions.

- Before the first deadline (the student's own, when they have an extension) a submission is in
  time: factor 1.
- After it and before the second deadline it is *late*: its points are multiplied by the
  assignment's ``second_factor``.
- After the last deadline students cannot submit; the staff can (a cross-submit), and such a
  submission is late with factor 0 (ReCodEx gives it no points; an override can).

Lateness is computed from the deadlines as they are now, so moving a deadline or granting an
extension changes the marks and the grades of submissions made already.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone

from .models import Assignment, Extension


@dataclass(frozen=True)
class Deadlines:
    """A student's deadlines for an assignment (none: no deadline at all)."""

    first: dt.datetime | None
    second: dt.datetime | None
    factor: float  # of the points of a submission made between them
    extended: bool = False  # the first (and maybe the second) come from an extension

    @property
    def last(self) -> dt.datetime | None:
        return self.second or self.first

    def factor_at(self, when: dt.datetime) -> float:
        """What a submission made at ``when`` gets of its points."""
        if self.first is None or when <= self.first:
            return 1.0
        if self.second is not None and when <= self.second:
            return self.factor
        return 0.0

    def late(self, when: dt.datetime) -> bool:
        return self.first is not None and when > self.first

    def closed(self, now: dt.datetime | None = None) -> bool:
        """Past the last deadline: students may not submit."""
        return self.last is not None and (now or timezone.now()) > self.last


def deadlines(assignment: Assignment, extension: Extension | None = None) -> Deadlines:
    """The student's deadlines. An extension never takes time away: its deadline counts when
    it is later than the assignment's (which the staff may move after granting it), and without
    a second deadline of its own it keeps the assignment's when that one is later. An assignment
    without a deadline has nothing to extend."""
    a = assignment
    if extension is None or a.deadline is None or extension.deadline <= a.deadline:
        return Deadlines(a.deadline, a.second_deadline, a.second_factor)
    later = [
        d
        for d in (extension.second_deadline, a.second_deadline)
        if d is not None and d > extension.deadline
    ]
    second = max(later) if later else None
    return Deadlines(extension.deadline, second, a.second_factor, extended=True)


def in_time(assignment: Assignment, when: dt.datetime) -> bool:
    """Made before the assignment's deadline: in time whatever the student's extension (no
    query; a poll during the deadline rush asks for no extension)."""
    return assignment.deadline is None or when <= assignment.deadline


def submission_lateness(
    assignment: Assignment,
    author_id: int,
    when: dt.datetime,
    extension: Extension | None | bool = True,
) -> tuple[bool, float]:
    """(late, factor) of a submission by ``author_id`` made at ``when`` (``extension``: read
    already, or True to read it when it matters)."""
    if in_time(assignment, when):
        return False, 1.0
    if extension is True:
        extension = extension_of(assignment, author_id)
    due = deadlines(assignment, extension or None)
    return due.late(when), due.factor_at(when)


def extension_of(assignment: Assignment, student_id: int | None) -> Extension | None:
    if student_id is None:
        return None
    return Extension.objects.filter(assignment=assignment, student_id=student_id).first()


def student_deadlines(assignment: Assignment, student_id: int | None) -> Deadlines:
    if assignment.deadline is None:  # nothing to extend: no query
        return deadlines(assignment)
    return deadlines(assignment, extension_of(assignment, student_id))


def closed_for(assignment: Assignment, student_id: int | None) -> Deadlines | None:
    """The student's deadlines when their last one has passed (they may not submit), else None.
    Before the assignment's own last deadline no extension is read (the deadline rush's
    submissions cost no query more)."""
    plain = deadlines(assignment)
    if not plain.closed():
        return None
    due = student_deadlines(assignment, student_id)
    return due if due.closed() else None


def extensions(
    assignment_ids: Iterable[int], student_ids: Iterable[int] | None = None
) -> dict[tuple[int, int], Extension]:
    """(student id, assignment id) -> the extension: one query."""
    qs = Extension.objects.filter(assignment_id__in=list(assignment_ids))
    if student_ids is not None:
        qs = qs.filter(student_id__in=list(student_ids))
    return {(e.student_id, e.assignment_id): e for e in qs}


def shown(when: dt.datetime | None, assignment: Assignment) -> str:
    """A time in the assignment's course's time zone, with its abbreviation (messages)."""
    if when is None:
        return "none"
    local = timezone.localtime(when, assignment.course.tz)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"
