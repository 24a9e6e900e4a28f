"""Re-evaluating every submission of an assignment at once, as one batch (the manage page's
"Re-evaluate all" with its progress bar, and ``/api/assignments/{id}/reevaluate``): the staff
confirm the number of submissions they were shown, and a batch costs the same few queries
whether it queues 5 evaluations or 5,000."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from assay import broker
from assay.storer import rawsql
from assay.storer.courses.models import Assignment

from . import changes
from .models import Job, Submission
from .services import ServiceError, _pool, job_image, queue_task


class CountChanged(ServiceError):
    """The confirmed number of submissions is not the assignment's: nothing was queued."""

    def __init__(self, count: int, confirmed: int) -> None:
        super().__init__(
            409,
            "count_changed",
            f"the assignment has {count} submission(s), not {confirmed}: "
            f"confirm {count} to re-evaluate them",
            "confirm",
        )
        self.count = count


@dataclass
class Batch:
    id: str  # Job.batch of every job queued
    count: int  # the submissions queued


def count(assignment: Assignment) -> int:
    """How many submissions a re-evaluation of the whole assignment would queue (all of them)."""
    return Submission.objects.filter(assignment=assignment).count()


def reevaluate_all(assignment: Assignment, user: Any, confirm: int | None = None) -> Batch:
    """Queue an evaluation of every submission of ``assignment`` with its current version (a
    submission of an unpublished one: with its own), as a batch; ``confirm``: the number of
    submissions the caller was shown (None: whatever it is now). In one transaction:

    1. count the submissions by runtime (one query), and refuse with ``CountChanged`` when the
       count is not ``confirm``;
    2. per runtime (its queue), insert a job for each of those submissions in one
       ``INSERT … SELECT`` (the submissions counted, not one made since);
    3. read the new jobs back (one query) and send each to the broker, and wake whoever waits
       on its submission, once the transaction has committed (as ``start_evaluation`` does).
    """
    batch = uuid.uuid4().hex
    column = {
        name: rawsql.column(Submission, name, "s") for name in ("id", "assignment", "runtime")
    }
    source = (
        f"FROM {rawsql.table(Submission)} s WHERE {column['assignment']} = %s"
        f" AND {column['runtime']} = %s AND {column['id']} <= %s ORDER BY {column['id']}"
    )
    current = assignment.current_version_id  # none (unpublished): each submission's own
    computed = {
        "submission": column["id"],
        "version": str(int(current)) if current else rawsql.column(Submission, "version", "s"),
    }
    with transaction.atomic():
        runtimes = list(
            Submission.objects.filter(assignment=assignment)
            .order_by()
            .values_list("runtime")
            .annotate(n=Count("id"), last=Max("id"))
        )
        found = sum(n for _, n, _ in runtimes)
        if confirm is not None and confirm != found:
            raise CountChanged(found, confirm)
        pool = _pool(assignment.course)
        image = job_image(assignment.course, assignment.current_version)
        for runtime, _, last in runtimes:
            template = Job(
                kind=Job.EVALUATION, queue=broker.queue_name(pool, runtime, image),
                requested_by=user,
                batch=batch, dispatched_at=timezone.now(),  # the message follows the commit
            )  # fmt: skip
            rawsql.insert_select(Job, template, computed, source, [assignment.pk, runtime, last])
        queued = (
            Job.objects.filter(batch=batch)
            .order_by("id")
            .only("id", "attempt", "queue", "kind", "submission_id")
        )
        for job in queued:
            changes.touch_on_commit(job.submission_id)
            queue_task(job, stamped=True)
    return Batch(batch, found)
