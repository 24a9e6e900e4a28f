"""Wake-ups for clients waiting on a submission (long polling), without re-reading it for every
change of every other submission.

A job of a submission saved in this process (``post_save``, or ``touch`` after a bare
``UPDATE``) wakes the requests waiting on that submission once its transaction has committed;
they read it again and answer if it changed. Everything else a waiting request could miss — its
job claimed or finished by another storer process sharing the database, the queue moving ahead
of it — shows in the shared ``snapshot`` of the active jobs: one query per ``RECHECK_S`` for the
whole process, not one per waiting request. A waiter reads its submission again only when its
own entry there (job, state, attempt, queue position) moved.

Each waiter holds a web server thread, so at most ``MAX_WAITERS`` wait at once; the others are
answered at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction

RECHECK_S = 1.0
# a change of the queue position alone (the jobs ahead being taken) is answered once the request
# has waited this long: a queued submission's document would otherwise change with every job
# ahead of it, and each change is a request
QUEUE_MOVES_S = 5.0
MAX_WAITERS = 48  # of the web server's threads (serve.py: THREADS)
# a job claimed or its progress ("running, test 7 of 20") is answered this long after it happened
# at the latest, its end at once: a short evaluation is one answer, not one per step
MINOR_S = 1.0

waiters = threading.BoundedSemaphore(MAX_WAITERS)
_lock = threading.Lock()
_watching: dict[int, set[Waiter]] = {}
_generation = 0

# submission id -> (latest active job id, state, attempt, position in its queue or None)
Entry = tuple[int, str, int, int | None]
_snapshot: tuple[float, dict[int, Entry]] = (-1e9, {})
_snapshot_lock = threading.Lock()


def generation() -> int:
    """How many changes this process has seen (for tests and diagnostics)."""
    return _generation


class Waiter(threading.Event):
    """Set when the submission changes; ``major`` unless every change since was ``minor``."""

    def __init__(self) -> None:
        super().__init__()
        self.major = False


def touch(submission_id: int | None, *, minor: bool = False) -> None:
    """Wake the requests waiting on this submission (now: call it after the change committed).
    A ``minor`` change (a job claimed, its progress) is answered within MINOR_S; any other at
    once."""
    global _generation
    with _lock:
        _generation += 1
        for waiter in _watching.get(submission_id or 0, ()):
            waiter.major = waiter.major or not minor
            waiter.set()


def take(waiter: Waiter) -> bool:
    """Whether a major change woke ``waiter`` (cleared for the next wait)."""
    with _lock:
        major, waiter.major = waiter.major, False
        waiter.clear()
    return major


def touch_on_commit(submission_id: int | None, *, minor: bool = False) -> None:
    if submission_id is not None:
        transaction.on_commit(lambda: touch(submission_id, minor=minor))


def changed(instance: Any = None, **_: Any) -> None:
    """A ``post_save`` receiver of jobs: wake the job's waiters once the change is visible."""
    touch_on_commit(getattr(instance, "submission_id", None))


@contextmanager
def watching(submission_id: int) -> Iterator[Waiter | None]:
    """An event set when the submission changes, while this request waits on it; None when
    ``MAX_WAITERS`` requests already wait (answer at once)."""
    if not waiters.acquire(False):
        yield None
        return
    event = Waiter()
    with _lock:
        _watching.setdefault(submission_id, set()).add(event)
    try:
        yield event
    finally:
        with _lock:
            events = _watching.get(submission_id)
            if events is not None:
                events.discard(event)
                if not events:
                    del _watching[submission_id]
        waiters.release()


def snapshot() -> dict[int, Entry]:
    """The active (queued or running) evaluation jobs by submission, with their queue positions:
    read again when older than half of RECHECK_S, by whichever waiter asks first."""
    global _snapshot
    from .models import Job

    with _snapshot_lock:
        taken, entries = _snapshot
        if time.monotonic() - taken < RECHECK_S / 2:
            return entries
        ahead: dict[str, int] = {}
        fresh: dict[int, Entry] = {}
        rows = (
            Job.objects.filter(state__in=(Job.QUEUED, Job.RUNNING))
            .order_by("id")
            .values_list("id", "submission_id", "state", "attempt", "queue")
        )
        for job_id, submission_id, state, attempt, queue in rows:
            position = None
            if state == Job.QUEUED:
                position = ahead[queue] = ahead.get(queue, 0) + 1
            if submission_id is not None:
                fresh[submission_id] = (job_id, state, attempt, position)
        _snapshot = (time.monotonic(), fresh)
        return fresh


def forget_snapshot() -> None:
    global _snapshot
    with _snapshot_lock:
        _snapshot = (-1e9, {})
