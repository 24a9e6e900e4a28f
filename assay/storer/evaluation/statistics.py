"""An assignment's statistics, counted per student, not per submission: how the students' grades
are distributed and how many of their counted submissions passed each test. The statistics page
and ``GET /api/assignments/{id}/statistics`` both show this; a fixed number of queries whatever
the number of students."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from assay.storer.courses.models import Assignment, Membership
from assay.storer.groups.models import Group
from assay.storer.groups.services import students

from . import lists
from .grades import course_grades
from .models import Job

BINS = 10  # of the score distribution, each a tenth of the assignment's points


@dataclass
class Bin:
    low: float  # points, from
    high: float  # to
    count: int  # students whose grade falls here (the last bin includes its upper end)


@dataclass
class TestRate:
    name: str
    passed: int  # students whose counted submission passed it (AC)
    runs: int  # students whose counted submission ran it

    @property
    def rate(self) -> float:
        return self.passed / self.runs if self.runs else 0.0


@dataclass
class Statistics:
    students: int  # students with a grade
    enrolled: int  # the course's students (the group's, for a group)
    distribution: list[Bin] = field(default_factory=list)
    tests: list[TestRate] = field(default_factory=list)


def assignment_statistics(a: Assignment, group: Group | None = None) -> Statistics:
    """The statistics of ``a`` over the course's students, or over ``group``'s members:

    1. every student's grade (evaluation.grades: the counted submission, the late factor, the
       staff's adjustments), keeping those with points;
    2. their grades in ``BINS`` equal bins from 0 to the assignment's points (a grade outside
       goes to the first or the last bin);
    3. the tests of their counted submissions' latest jobs, where those are done: who passed.
    """
    members = None if group is None else [sid for sid, _ in students(a.course, group)]
    graded = [g for g in course_grades(a.course, [a.id], members).values() if g.points is not None]
    histogram = [0] * BINS
    for g in graded:
        value = g.points or 0.0
        index = min(max(int(value / a.points * BINS), 0), BINS - 1) if a.points else 0
        histogram[index] += 1
    step = a.points / BINS if a.points else 0
    distribution = [
        Bin(round(i * step, 2), round((i + 1) * step, 2), count)
        for i, count in enumerate(histogram)
    ]
    counted = [g.submission_id for g in graded if g.submission_id is not None]
    jobs = lists.latest_jobs(counted)
    results = lists.test_results([j.id for j in jobs.values() if j.state == Job.DONE])
    passed: Counter[str] = Counter()
    runs: Counter[str] = Counter()
    for job in jobs.values():
        for t in results.get(job.id, []):
            runs[t.name] += 1
            passed[t.name] += t.verdict == "AC"
    enrolled = (
        len(members)
        if members is not None
        else Membership.objects.filter(course=a.course, role=Membership.STUDENT).count()
    )
    return Statistics(
        students=len(graded),
        enrolled=enrolled,
        distribution=distribution,
        tests=[TestRate(name, passed[name], runs[name]) for name in runs],
    )
