"""What the evaluation and the grading tell other apps (the LTI tool sends scores back to the
LMS on them). Sent after the transaction commits, and robustly: a receiver's failure is logged,
never the sender's."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.dispatch import Signal

log = logging.getLogger(__name__)

# submission_id: an evaluation of the submission stored its points
result_stored = Signal()
# assignment_id, student_id: the staff changed the student's grade by hand (override, bonus,
# rubric)
grade_adjusted = Signal()


def send_on_commit(signal: Signal, **kwargs: Any) -> None:
    def send() -> None:
        for receiver, outcome in signal.send_robust(sender=None, **kwargs):
            if isinstance(outcome, Exception):
                log.error("%s failed on %s: %s", receiver, kwargs, outcome, exc_info=outcome)

    transaction.on_commit(send)
