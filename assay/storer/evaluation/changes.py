"""Wake-ups for clients waiting on a submission (long polling), without polling the database.

A job or submission saved in this process bumps a generation counter once its transaction has
committed, and wakes every waiter; a waiter then reads the submission again and answers if it
changed. Changes made by another process (a second storer process sharing the database) are
seen within ``RECHECK_S``, when a waiter reads again anyway. Each waiter holds a web server
thread, so at most ``MAX_WAITERS`` wait at once; the others are answered at once.
"""

from __future__ import annotations

import threading
from typing import Any

from django.db import transaction

RECHECK_S = 1.0
MAX_WAITERS = 4  # of the web server's 8 threads

_condition = threading.Condition()
_generation = 0
waiters = threading.BoundedSemaphore(MAX_WAITERS)


def generation() -> int:
    return _generation


def _bump() -> None:
    global _generation
    with _condition:
        _generation += 1
        _condition.notify_all()


def changed(**_: Any) -> None:
    """A ``post_save`` receiver: wake the waiters once the change is visible to them."""
    transaction.on_commit(_bump)


def wait_for_change(seen: int, timeout: float) -> None:
    """Return when the generation moved past ``seen``, or after ``timeout`` seconds."""
    with _condition:
        _condition.wait_for(lambda: _generation != seen, timeout=timeout)
