"""Read-side questions the API and the web pages share: best results, estimated waits."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import defaultdict
from datetime import timedelta
from typing import Any

from django.utils import timezone

from assay.storer.courses.models import Course

from .models import Job, Tester

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
    """Live, unrevoked testers that take jobs from ``queue`` (assay.<pool>.<runtime>)."""
    _, pool, runtime = queue.split(".", 2)
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
        and (runtime == "validate" or not t.runtimes or runtime in t.runtimes)
    ]


def estimated_wait_s(job: Job, position: int | None) -> float | None:
    """Jobs ahead times the average job time, shared among the slots that serve the queue
    (seed 000's "T1 > 30 s, T2 > 24 s")."""
    if position is None:
        return None
    testers = testers_for(job.queue)
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


def best_points(course: Course) -> dict[tuple[int, int], float]:
    """(author id, assignment id) -> the best points of the author's evaluated submissions."""
    best: dict[tuple[int, int], float] = defaultdict(float)
    seen: set[tuple[int, int]] = set()
    for job in latest_jobs(course).values():
        if job.state != Job.DONE or job.points is None or job.submission is None:
            continue
        key = (job.submission.author_id, job.submission.assignment_id)
        best[key] = max(best[key], job.points) if key in seen else job.points
        seen.add(key)
    return dict(best)


def queue_lengths() -> list[dict[str, Any]]:
    rows = []
    for queue in (
        Job.objects.filter(state=Job.QUEUED)
        .values_list("queue", flat=True)
        .distinct()
        .order_by("queue")
    ):
        jobs = Job.objects.filter(state=Job.QUEUED, queue=queue).order_by("id")
        last = jobs.last()
        rows.append(
            {
                "queue": queue,
                "length": jobs.count(),
                "testers": len(testers_for(queue)),
                "estimated_wait_s": estimated_wait_s(last, jobs.count()) if last else None,
            }
        )
    return rows


def no_tester_for(queue: str) -> bool:
    """No tester offering this queue's runtime was heard from lately: the job would wait in vain."""
    return not testers_for(queue, alive=RECENTLY)
