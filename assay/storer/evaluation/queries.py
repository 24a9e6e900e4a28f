"""Read-side questions the API and the web pages share: best results, estimated waits."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from django.utils import timezone

from assay.storer.courses.models import Course

from .models import Job, Tester

ALIVE = timedelta(seconds=60)  # a tester heard from this recently counts for estimates
RECENTLY = timedelta(minutes=10)  # … and for "is there any tester for this at all"
DEFAULT_JOB_S = 1.0


def testers_for(queue: str, alive: timedelta = ALIVE) -> list[Tester]:
    """Live, unrevoked testers that take jobs from ``queue`` (assay.<pool>.<runtime>)."""
    _, pool, runtime = queue.split(".", 2)
    recent = timezone.now() - alive
    result = []
    for t in Tester.objects.filter(revoked=False, pool=pool, last_seen_at__gte=recent):
        if runtime == "validate" or not t.runtimes or runtime in t.runtimes:
            result.append(t)
    return result


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
