"""A running evaluation's progress ("test 7 of 20"), as its tester's heartbeats carry it.

The tester sends it at most every half second (assay/tester/worker.py: ``beating``); it is kept
with the attempt it belongs to, so a page never shows an old attempt's progress for a new one.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from assay.storer import rawsql

from . import changes
from .models import Job, Tester


def record(tester: Tester, job_id: int, attempt: int, tests_done: int, tests_total: int) -> bool:
    """Store the progress of a job this tester holds (this attempt, running); wake the pages
    waiting on its submission. False when the tester no longer holds it (ignored)."""
    progress = {
        "attempt": attempt,
        "tests_done": min(tests_done, tests_total),
        "tests_total": tests_total,
    }
    held = {"state": Job.RUNNING, "attempt": attempt, "tester": tester.id}
    values = {"progress": progress, "heartbeat_at": timezone.now()}
    if not rawsql.update(Job, job_id, values, where=held):
        return False
    row = rawsql.one(
        f"SELECT {rawsql.column(Job, 'submission')} FROM {rawsql.table(Job)} WHERE id = %s",
        [job_id],
    )
    changes.touch_on_commit(row[0] if row else None, minor=True)
    return True


def shown(job: Job) -> dict[str, Any] | None:
    """The progress a page shows for the job: only while it runs, and only its attempt's."""
    p = job.progress or {}
    if job.state != Job.RUNNING or p.get("attempt") != job.attempt:
        return None
    return {"tests_done": p["tests_done"], "tests_total": p["tests_total"]}
