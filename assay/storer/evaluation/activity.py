"""When an assignment's students submit, and how long each takes to be accepted: the time to
the first accepted submission and the submissions per day of an assignment's statistics page
(evaluation/statistics.py puts them together). Read at a fixed cost: the assignment's
submissions with their latest job's state and verdict, and the team shares (two queries).

A team submission counts for each member it was shared with (groups/), as for the grades: a
team's accepted submission is each member's first accepted one.
"""

from __future__ import annotations

import datetime as dt
import statistics
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import OuterRef, Subquery

from assay.storer.courses.models import Assignment
from assay.storer.groups.models import SharedSubmission

from .models import Job, Submission

# the histogram of the times to the first accepted submission: (label, from hours, to hours)
BUCKETS: list[tuple[str, float, float | None]] = [
    ("under 1 hour", 0, 1),
    ("1–6 hours", 1, 6),
    ("6–24 hours", 6, 24),
    ("1–3 days", 24, 72),
    ("3–7 days", 72, 168),
    ("7 days or more", 168, None),
]


@dataclass(frozen=True)
class Made:
    """A submission as these statistics see it, once for each student it counts for."""

    submission_id: int
    student_id: int
    created_at: dt.datetime
    accepted: bool  # its latest evaluation is done with the overall verdict AC


@dataclass
class Accepted:
    """One student's way to the first accepted submission."""

    student_id: int
    start: dt.datetime  # the assignment's release, or the student's first submission
    first_submission: dt.datetime
    accepted_at: dt.datetime | None  # their first accepted submission's time, if any
    submissions_before: int  # their submissions up to and including the accepted one

    @property
    def hours(self) -> float | None:
        if self.accepted_at is None:
            return None
        return max((self.accepted_at - self.start).total_seconds(), 0.0) / 3600


@dataclass
class Bucket:
    label: str
    low_hours: float
    high_hours: float | None  # None: no upper end
    count: int


@dataclass
class TimeToAccepted:
    from_release: bool  # counted from the release date (else from each one's first submission)
    students: list[Accepted] = field(default_factory=list)  # who submitted, by student id
    buckets: list[Bucket] = field(default_factory=list)

    @property
    def hours(self) -> list[float]:
        return sorted(h for s in self.students if (h := s.hours) is not None)

    @property
    def accepted(self) -> int:
        return len(self.hours)

    @property
    def not_yet(self) -> int:
        """Students who submitted and have no accepted submission."""
        return len(self.students) - self.accepted

    @property
    def quartiles(self) -> tuple[float, float, float] | None:
        """(first quartile, median, third quartile) of the hours, None without any; the
        inclusive method (the quartiles of 1, 2, 3, 4, 5 are 2, 3, 4)."""
        hours = self.hours
        if not hours:
            return None
        if len(hours) == 1:
            return hours[0], hours[0], hours[0]
        q1, median, q3 = statistics.quantiles(hours, n=4, method="inclusive")
        return q1, median, q3


@dataclass
class Day:
    date: dt.date  # in the course's time zone
    submissions: int
    students: int  # different students who submitted that day
    deadline: bool = False  # the first deadline falls on this day
    second_deadline: bool = False
    after_deadline: bool = False  # the whole day is after the first deadline


@dataclass
class Days:
    time_zone: str
    deadline: dt.datetime | None
    second_deadline: dt.datetime | None
    days: list[Day] = field(default_factory=list)
    in_time: int = 0  # submissions made up to the first deadline (all, without one)
    late: int = 0  # after it


def made(a: Assignment, student_ids: Iterable[int] | None = None) -> list[Made]:
    """The assignment's submissions, once for the author and once for each member they were
    shared with, only for ``student_ids`` when given, in the order they were made."""
    latest = Job.objects.filter(submission=OuterRef("pk"), kind=Job.EVALUATION).order_by("-id")
    rows = list(
        Submission.objects.filter(assignment=a)
        .annotate(
            job_state=Subquery(latest.values("state")[:1]),
            job_verdict=Subquery(latest.values("verdict")[:1]),
        )
        .order_by("created_at", "id")
        .values_list("id", "author_id", "created_at", "job_state", "job_verdict")
    )
    shares: dict[int, list[int]] = defaultdict(list)
    for submission_id, user_id in SharedSubmission.objects.filter(
        submission__assignment=a
    ).values_list("submission_id", "user_id"):
        shares[submission_id].append(user_id)
    wanted = None if student_ids is None else set(student_ids)
    return [
        Made(sid, student, created, state == Job.DONE and verdict == "AC")
        for sid, author, created, state, verdict in rows
        for student in (author, *shares.get(sid, ()))
        if wanted is None or student in wanted
    ]


def time_to_accepted(a: Assignment, found: list[Made]) -> TimeToAccepted:
    """Per student who submitted: from the assignment's release date (when it has one; else
    from the student's first submission) to their first accepted submission; then how many
    fall in each of ``BUCKETS`` (a bucket holds its lower end, not its upper one)."""
    first: dict[int, Accepted] = {}
    for m in found:  # in the order they were made
        s = first.get(m.student_id)
        if s is None:
            start = a.release_at or m.created_at
            s = first[m.student_id] = Accepted(m.student_id, start, m.created_at, None, 0)
        if s.accepted_at is None:
            s.submissions_before += 1
            if m.accepted:
                s.accepted_at = m.created_at
    result = TimeToAccepted(from_release=a.release_at is not None)
    result.students = [first[k] for k in sorted(first)]
    hours = result.hours
    result.buckets = [
        Bucket(label, low, high, sum(1 for h in hours if h >= low and (high is None or h < high)))
        for label, low, high in BUCKETS
    ]
    return result


def per_day(a: Assignment, found: list[Made], today: dt.date | None = None) -> Days:
    """The submissions of each day in the course's time zone, from the first day with one to
    the last (to the deadline's day when that has passed and came later), days without any
    included; each submission once, however many students of a team it counts for."""
    tz = zoneinfo.ZoneInfo(a.course.time_zone)
    result = Days(a.course.time_zone, a.deadline, a.second_deadline)
    seen: set[int] = set()
    counts: dict[dt.date, int] = defaultdict(int)
    students: dict[dt.date, set[int]] = defaultdict(set)
    for m in found:
        day = m.created_at.astimezone(tz).date()
        students[day].add(m.student_id)
        if m.submission_id in seen:
            continue
        seen.add(m.submission_id)
        counts[day] += 1
        if a.deadline is None or m.created_at <= a.deadline:
            result.in_time += 1
        else:
            result.late += 1
    if not counts:
        return result
    start, end = min(counts), max(counts)
    deadline_day = a.deadline.astimezone(tz).date() if a.deadline else None
    second_day = a.second_deadline.astimezone(tz).date() if a.second_deadline else None
    today = today or dt.datetime.now(tz).date()
    for marked in (deadline_day, second_day):
        if marked is not None and end < marked <= today:
            end = marked
    day = start
    while day <= end:
        result.days.append(
            Day(
                day, counts.get(day, 0), len(students.get(day, ())),
                deadline=day == deadline_day, second_deadline=day == second_day,
                after_deadline=deadline_day is not None and day > deadline_day,
            )
        )  # fmt: skip
        day += dt.timedelta(days=1)
    return result
