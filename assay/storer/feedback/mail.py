"""The e-mail that tells a student feedback arrived on one of their submissions.

Several comments in a row make one mail: a submission's student is mailed at most once per
``FEEDBACK_MAIL_INTERVAL_S`` (``ASSAY_FEEDBACK_MAIL_INTERVAL_MIN``, default 10 minutes). The first comment sends the mail at once;
those that follow within the interval send none (the page's badge still counts them). The mail
is claimed with a conditional update of ``FeedbackMail.mailed_at`` before it is sent, so two
staff commenting at the same moment send one; a mail that cannot be sent releases the claim."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from assay.storer.evaluation.models import Submission

from .models import FeedbackMail

log = logging.getLogger(__name__)


def interval() -> timedelta:
    return timedelta(seconds=settings.FEEDBACK_MAIL_INTERVAL_S)


def _claim(submission_id: int) -> bool:
    """True if this process is to send the submission's mail now."""
    now = timezone.now()
    claimed = FeedbackMail.objects.filter(
        submission_id=submission_id, mailed_at__lt=now - interval()
    ).update(mailed_at=now)
    if claimed:
        return True
    try:
        with transaction.atomic():
            FeedbackMail.objects.create(submission_id=submission_id, mailed_at=now)
        return True
    except IntegrityError:  # mailed within the interval (or being mailed right now)
        return False


def submission_url(submission_id: int) -> str:
    # SITE_URL is set by settings.deployment_settings (globals().update: mypy does not see it)
    site_url: str = getattr(settings, "SITE_URL")  # noqa: B009
    return site_url.rstrip("/") + reverse("web:submission", args=[submission_id])


def notify(submission_id: int) -> bool:
    """Mail the submission's student that feedback arrived, unless they were mailed about it
    within the interval or have no address. Never raises: the comment is saved either way."""
    s = (
        Submission.objects.select_related("author", "assignment__course")
        .filter(pk=submission_id)
        .first()
    )
    if s is None or not s.author.email or not _claim(submission_id):
        return False
    a = s.assignment
    try:
        send_mail(
            subject=f"[assay] Feedback on your submission {s.id} ({a.course.title}: {a.title})",
            message=(
                f"Hello {s.author.get_full_name() or s.author.username},\n\n"
                f"The staff of {a.course.title} commented on your submission {s.id} for "
                f"{a.title}. Read the feedback at:\n\n"
                f"{submission_url(s.id)}#feedback\n\n"
                f"(You get at most one such e-mail per submission every "
                f"{round(interval().total_seconds() / 60)} minutes.)\n"
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[s.author.email],
        )
    except Exception as e:  # noqa: BLE001 - a mail server's failure must not lose the comment
        log.error("cannot e-mail %s about feedback on submission %s: %s", s.author, s.id, e)
        FeedbackMail.objects.filter(submission_id=submission_id).delete()
        return False
    return True
