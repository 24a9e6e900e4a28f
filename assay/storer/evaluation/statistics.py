"""An assignment's statistics, counted per student, not per submission: how the students' grades
are distributed, how many of their counted submissions passed each test and which tests they
fail most, how long each took to the first accepted submission and how many submissions came
each day (the last two: evaluation/activity.py). The statistics page, its CSV files and
``GET /api/assignments/{id}/statistics`` all show this; a fixed number of queries whatever the
number of students."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from assay.storer.courses.models import Assignment
from assay.storer.groups.models import Group
from assay.storer.groups.services import students

from . import activity, lists
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
class FailedTest:
    name: str
    failed: int  # students whose counted submission did not pass it
    runs: int  # students whose counted submission ran it
    verdict: str  # the most common verdict among those failures (the first by name of equals)
    verdict_count: int  # how many of them got it
    verdicts: dict[str, int] = field(default_factory=dict)  # every failing verdict: students


@dataclass
class Statistics:
    students: int  # students with a grade
    enrolled: int  # the course's students (the group's, for a group)
    distribution: list[Bin] = field(default_factory=list)
    tests: list[TestRate] = field(default_factory=list)
    failed: list[FailedTest] = field(default_factory=list)  # most failing students first
    roster: dict[int, str] = field(default_factory=dict)  # the students counted: id -> username
    accepted: activity.TimeToAccepted | None = None
    days: activity.Days | None = None


def assignment_statistics(a: Assignment, group: Group | None = None) -> Statistics:
    """The statistics of ``a`` over the course's students, or over ``group``'s members:

    1. every student's grade (evaluation.grades: the counted submission, the late factor, the
       staff's adjustments), keeping those with points;
    2. their grades in ``BINS`` equal bins from 0 to the assignment's points (a grade outside
       goes to the first or the last bin);
    3. the tests of their counted submissions' latest jobs, where those are done: who passed,
       and the tests failed by the most students with their most common verdict;
    4. every submission of theirs (evaluation/activity.py): the time to each one's first
       accepted submission, and the submissions of each day.

    Only the course's students count (a supervisor's own test submissions do not).
    """
    roster = dict(students(a.course, group))
    members = None if group is None else list(roster)
    graded = [
        g
        for g in course_grades(a.course, [a.id], members).values()
        if g.points is not None and g.student_id in roster
    ]
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
    failing: dict[str, Counter[str]] = {}
    for g in graded:  # a team's submission: once for each member it counts for
        job = jobs.get(g.submission_id) if g.submission_id is not None else None
        for t in results.get(job.id, []) if job is not None else []:
            runs[t.name] += 1
            passed[t.name] += t.verdict == "AC"
            if t.verdict != "AC":
                failing.setdefault(t.name, Counter())[t.verdict] += 1
    made = activity.made(a, roster)
    return Statistics(
        students=len(graded),
        enrolled=len(roster),
        distribution=distribution,
        tests=[TestRate(name, passed[name], runs[name]) for name in runs],
        failed=_most_failed(failing, runs),
        roster=roster,
        accepted=activity.time_to_accepted(a, made),
        days=activity.per_day(a, made),
    )


def _most_failed(failing: dict[str, Counter[str]], runs: Counter[str]) -> list[FailedTest]:
    """The tests some student failed, most failing students first (the package's order among
    equals), each with its most common verdict."""
    order = {name: i for i, name in enumerate(runs)}
    found = []
    for name, verdicts in failing.items():
        verdict, count = min(verdicts.items(), key=lambda kv: (-kv[1], kv[0]))
        found.append(
            FailedTest(name, sum(verdicts.values()), runs[name], verdict, count, dict(verdicts))
        )
    return sorted(found, key=lambda f: (-f.failed, order[f.name]))
