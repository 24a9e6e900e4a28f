"""Read-side questions the API and the web pages share: best results, estimated waits."""

from __future__ import annotations

import datetime as dt
import functools
import threading
import time
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count
from django.utils import timezone

from assay import broker
from assay.storer import rawsql
from assay.storer.courses.models import Assignment, AssignmentVersion, Course

from .models import Job, Submission, SubmissionFile, Tester, TestResult

ALIVE = timedelta(seconds=60)  # a tester heard from this recently counts for estimates
RECENTLY = timedelta(minutes=10)  # … and for "is there any tester for this at all"
DEFAULT_JOB_S = 1.0


TESTERS_TTL_S = 1.0  # how long this process reuses the list of a pool's testers
_testers: dict[str, tuple[float, dt.datetime, list[Tester]]] = {}
_testers_lock = threading.Lock()


def forget_testers(**_: Any) -> None:
    """Read the testers again next time (a tester was added, changed, or woke up)."""
    with _testers_lock:
        _testers.clear()


def _recent_testers(pool: str) -> tuple[dt.datetime, list[Tester]]:
    """(when, the pool's unrevoked testers heard from within RECENTLY of then): read at most
    once per TESTERS_TTL_S in this process (every student's poll asks; they change with the
    testers' heartbeats, every few seconds)."""
    now = time.monotonic()
    with _testers_lock:
        hit = _testers.get(pool)
    if hit is not None and 0 <= now - hit[0] < TESTERS_TTL_S:
        return hit[1], hit[2]
    at = timezone.now()
    found = list(Tester.objects.filter(revoked=False, pool=pool, last_seen_at__gte=at - RECENTLY))
    with _testers_lock:
        _testers[pool] = (now, at, found)
    return at, found


def testers_for(queue: str, alive: timedelta = ALIVE) -> list[Tester]:
    """Live, unrevoked testers that take jobs from ``queue`` (assay.<pool>.<runtime>, or
    assay.<pool>.<runtime>.<image>: those that offer the image, whatever its version)."""
    pool, runtime, image = broker.parse_queue(queue)
    if alive > RECENTLY:
        at = timezone.now()
        candidates = list(
            Tester.objects.filter(revoked=False, pool=pool, last_seen_at__gte=at - alive)
        )
    else:
        at, candidates = _recent_testers(pool)
    return [
        t
        for t in candidates
        if t.last_seen_at is not None
        and t.last_seen_at >= at - alive
        and (runtime == "validate" or not t.runtimes or runtime in t.runtimes or image)
        and (image is None or _offers(t, image, runtime))
    ]


def _offers(tester: Tester, image: str, runtime: str) -> bool:
    """Whether the tester offers ``image`` (any version) with ``runtime`` working inside it (a
    tester that did not say which runtimes work in it: any)."""
    return any(
        label.partition("@")[0] == image
        and (
            runtime == "validate"
            or label not in (tester.image_runtimes or {})
            or runtime in tester.image_runtimes[label]
        )
        for label in tester.images
    )


def estimated_wait_s(job: Job, position: int | None) -> float | None:
    """Jobs ahead times the average job time, shared among the slots that serve the queue
    (seed 000's "T1 > 30 s, T2 > 24 s")."""
    return _wait_s(job.queue, position)


def _wait_s(queue: str, position: int | None) -> float | None:
    if position is None:
        return None
    testers = testers_for(queue)
    if not testers:
        return None
    done = [t for t in testers if t.jobs_done]
    average = (
        sum(t.busy_seconds for t in done) / sum(t.jobs_done for t in done)
        if done
        else DEFAULT_JOB_S
    )
    slots = sum(max(t.slots, 1) for t in testers)
    return round(position * average / slots, 1)


def latest_jobs(course: Course, assignment_id: int | None = None) -> dict[int, Job]:
    """submission id -> its latest evaluation job."""
    qs = Job.objects.filter(kind=Job.EVALUATION, submission__assignment__course=course)
    if assignment_id is not None:
        qs = qs.filter(submission__assignment_id=assignment_id)
    latest: dict[int, Job] = {}
    for job in qs.select_related("submission").order_by("id"):
        if job.submission_id is not None:
            latest[job.submission_id] = job
    return latest


def queue_lengths() -> list[dict[str, Any]]:
    """Per queue with jobs waiting, by name: their number, the live testers that serve it and
    the estimated wait of its last job. One query for the queues (the testers are read once a
    second per pool)."""
    waiting = (
        Job.objects.filter(state=Job.QUEUED)
        .values("queue")
        .annotate(length=Count("id"))
        .order_by("queue")
        .values_list("queue", "length")
    )
    return [
        {
            "queue": queue,
            "length": length,
            "testers": len(testers_for(queue)),
            "estimated_wait_s": _wait_s(queue, length),
        }
        for queue, length in waiting
    ]


def no_tester_for(queue: str) -> bool:
    """No tester offering this queue's runtime was heard from lately: the job would wait in vain."""
    return not testers_for(queue, alive=RECENTLY)


# -- a submission and its latest job, as a poll reads them (raw SQL: docs/performance.md §12) --

PERSON = ("id", "username")  # what a submission's author and submitter are loaded with


def submission(submission_id: int) -> Submission | None:
    """The submission with its assignment, course, author and submitter (their id and username;
    other fields load on use): one query."""
    row = rawsql.one(_submission_sql(), [submission_id])
    if row is None:
        return None
    User, joined = get_user_model(), rawsql.Joined(row)
    s = joined.load(Submission)
    assert s is not None
    s.assignment = _assignment_of(joined)
    author = joined.load(User, PERSON)
    assert author is not None
    s.author, s.submitted_by = author, joined.load(User, PERSON)
    return s


@functools.cache
def _submission_sql() -> str:
    User = get_user_model()
    c = rawsql.column
    return (
        f"SELECT {rawsql.columns(Submission, 's')}, {_assignment_columns()},"
        f" {rawsql.columns(User, 'au', PERSON)}, {rawsql.columns(User, 'sb', PERSON)}"
        f" FROM {rawsql.table(Submission)} s {_assignment_join(c(Submission, 'assignment', 's'))}"
        f" JOIN {rawsql.table(User)} au ON au.id = {c(Submission, 'author', 's')}"
        f" LEFT JOIN {rawsql.table(User)} sb ON sb.id = {c(Submission, 'submitted_by', 's')}"
        " WHERE s.id = %s"
    )


def latest_job(submission_id: int) -> Job | None:
    """The submission's latest job, with ``limits`` (its version's) and ``ahead`` (the queued
    jobs before it in its queue): one query."""
    row = rawsql.one(_latest_job_sql(), [submission_id])
    if row is None:
        return None
    *values, limits, ahead = row
    job = rawsql.load(Job, values)
    job.limits = rawsql.from_json(limits)  # type: ignore[attr-defined]
    job.ahead = ahead  # type: ignore[attr-defined]
    return job


@functools.cache
def _latest_job_sql() -> str:
    c = rawsql.column
    jobs = rawsql.table(Job)
    return (
        f"SELECT {rawsql.columns(Job, 'j')},"
        f" {rawsql.json_member(c(AssignmentVersion, 'meta', 'v'), 'limits')},"
        f" (SELECT COUNT(*) FROM {jobs} q WHERE {c(Job, 'state', 'q')} = '{Job.QUEUED}'"
        f"  AND {c(Job, 'queue', 'q')} = {c(Job, 'queue', 'j')} AND q.id < j.id)"
        f" FROM {jobs} j JOIN {rawsql.table(AssignmentVersion)} v"
        f" ON v.id = {c(Job, 'version', 'j')}"
        f" WHERE {c(Job, 'submission', 'j')} = %s ORDER BY j.id DESC LIMIT 1"
    )


def test_results(job_id: int) -> list[TestResult]:
    """A job's test results, in order: one query."""
    return [rawsql.load(TestResult, row) for row in rawsql.rows(_tests_sql(), [job_id])]


@functools.cache
def _tests_sql() -> str:
    c = rawsql.column
    return (
        f"SELECT {rawsql.columns(TestResult, 't')} FROM {rawsql.table(TestResult)} t"
        f" WHERE {c(TestResult, 'job', 't')} = %s ORDER BY {c(TestResult, 'order', 't')}"
    )


def assignment(assignment_id: int) -> Assignment | None:
    """The assignment with its course and current version: one query."""
    row = rawsql.one(_assignment_sql(), [assignment_id])
    if row is None:
        return None
    joined = rawsql.Joined(row)
    a = _assignment_of(joined)
    a.current_version = joined.load(AssignmentVersion)
    return a


def _assignment_of(joined: rawsql.Joined) -> Assignment:
    """The next assignment of a joined row, with the course that follows it."""
    a = joined.load(Assignment)
    course = joined.load(Course)
    assert a is not None and course is not None
    a.course = course
    return a


def _assignment_columns() -> str:
    """The select list of ``_assignment_of``."""
    return f"{rawsql.columns(Assignment, 'a')}, {rawsql.columns(Course, 'c')}"


def _assignment_join(on: str) -> str:
    """Joins the assignment ``a`` whose id is ``on``, and its course ``c``."""
    c = rawsql.column
    return (
        f"JOIN {rawsql.table(Assignment)} a ON a.id = {on}"
        f" JOIN {rawsql.table(Course)} c ON c.id = {c(Assignment, 'course', 'a')}"
    )


@functools.cache
def _assignment_sql() -> str:
    c = rawsql.column
    return (
        f"SELECT {_assignment_columns()}, {rawsql.columns(AssignmentVersion, 'v')}"
        f" FROM {rawsql.table(Assignment)} a"
        f" JOIN {rawsql.table(Course)} c ON c.id = {c(Assignment, 'course', 'a')}"
        f" LEFT JOIN {rawsql.table(AssignmentVersion)} v"
        f" ON v.id = {c(Assignment, 'current_version', 'a')} WHERE a.id = %s"
    )


def version(version_id: int) -> AssignmentVersion | None:
    """A package version: one query."""
    row = rawsql.one(
        f"SELECT {rawsql.columns(AssignmentVersion, 'v')}"
        f" FROM {rawsql.table(AssignmentVersion)} v WHERE v.id = %s",
        [version_id],
    )
    return rawsql.load(AssignmentVersion, row) if row is not None else None


# -- a tester's job, as its bundle and result requests read it -------------------------------


def job_with_context(job_id: int) -> Job | None:
    """The job with its version, the version's assignment and course, and its submission:
    one query."""
    row = rawsql.one(_job_sql(), [job_id])
    if row is None:
        return None
    joined = rawsql.Joined(row)
    job = joined.load(Job)
    version = joined.load(AssignmentVersion)
    assert job is not None and version is not None
    version.assignment = _assignment_of(joined)
    job.version = version
    job.submission = joined.load(Submission)
    return job


@functools.cache
def _job_sql() -> str:
    c = rawsql.column
    return (
        f"SELECT {rawsql.columns(Job, 'j')}, {rawsql.columns(AssignmentVersion, 'v')},"
        f" {_assignment_columns()}, {rawsql.columns(Submission, 's')}"
        f" FROM {rawsql.table(Job)} j"
        f" JOIN {rawsql.table(AssignmentVersion)} v ON v.id = {c(Job, 'version', 'j')}"
        f" {_assignment_join(c(AssignmentVersion, 'assignment', 'v'))}"
        f" LEFT JOIN {rawsql.table(Submission)} s ON s.id = {c(Job, 'submission', 'j')}"
        " WHERE j.id = %s"
    )


def submission_files(submission_id: int) -> list[tuple[str, str]]:
    """(name, stored path) of a submission's files."""
    c = rawsql.column
    return [
        (name, path)
        for name, path in rawsql.rows(
            f"SELECT {c(SubmissionFile, 'name')}, {c(SubmissionFile, 'file')}"
            f" FROM {rawsql.table(SubmissionFile)}"
            f" WHERE {c(SubmissionFile, 'submission')} = %s ORDER BY id",
            [submission_id],
        )
    ]
