"""Assignment and Grade Services: a student's grade goes back to the LMS's grade column (the
resource link's line item) whenever it changes — a new best (or last, by the assignment's
rule) result, a re-evaluation, a staff override, bonus or rubric item (docs/lti.md).

1. ``grade_changed`` (on the evaluation's and the grading's signals, after their commit) reads
   the student's grade once per LTI-linked assignment and writes the score to send into a
   ``ScoreReport`` row per resource link (the latest value wins; an unchanged score is not
   sent again). An assignment without a link costs one indexed query.
2. ``send_due`` posts the due scores, one access token per platform (an RFC 7523 signed
   assertion exchanged at the platform's token URL): at once in a background thread of the
   storer (``kick``), and every few seconds from the storer's loop, which also retries
   failures with a growing delay (``RETRY_DELAYS_S``), then gives up and shows the error on
   the course's LMS page. Nothing of this runs in the request that stored the result.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django import db
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.exception import LtiException, LtiServiceException
from pylti1p3.grade import Grade
from pylti1p3.lineitem import LineItem
from pylti1p3.service_connector import ServiceConnector

from assay.storer import rawsql
from assay.storer.courses.models import Assignment
from assay.storer.evaluation import signals
from assay.storer.evaluation.grades import course_grades
from assay.storer.evaluation.models import Submission
from assay.storer.groups.models import SharedSubmission

from .models import LtiAccount, LtiLink, ScoreReport
from .tool import http_session, purge_expired, registration

log = logging.getLogger("assay.storer.lti")

SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINEITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
RETRY_DELAYS_S = [30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600]
LEASE_S = 120  # a sender holds a claimed score this long (then another may take it)
BATCH = 100
# a platform's answer that no retry will change (bad request, forbidden, no such line item)
PERMANENT = {400, 403, 404, 405, 410, 422}


def connect() -> None:
    signals.result_stored.connect(on_result_stored, dispatch_uid="assay-lti-result")
    signals.grade_adjusted.connect(on_grade_adjusted, dispatch_uid="assay-lti-adjusted")


def on_result_stored(sender: Any, submission_id: int, **kwargs: Any) -> None:
    # every stored result asks: one SELECT, that finds nothing unless the assignment is linked
    found = rawsql.one(_linked_submission_sql(), [submission_id])
    if found is None:
        return
    assignment_id, author_id = found
    team = SharedSubmission.objects.filter(submission_id=submission_id).values_list(
        "user_id", flat=True
    )
    grade_changed(assignment_id, [author_id, *team])


@functools.cache
def _linked_submission_sql() -> str:
    """(assignment, author) of a submission whose assignment has a resource link (params: the
    submission)."""
    c, t = rawsql.column, rawsql.table
    return (
        f"SELECT {c(Submission, 'assignment', 's')}, {c(Submission, 'author', 's')}"
        f" FROM {t(Submission)} s WHERE s.id = %s AND EXISTS (SELECT 1 FROM {t(LtiLink)} l"
        f" WHERE {c(LtiLink, 'assignment', 'l')} = {c(Submission, 'assignment', 's')})"
    )


def on_grade_adjusted(sender: Any, assignment_id: int, student_id: int, **kwargs: Any) -> None:
    if LtiLink.objects.filter(assignment_id=assignment_id).exists():
        grade_changed(assignment_id, [student_id])


def grade_changed(assignment_id: int, student_ids: Iterable[int]) -> int:
    """Queue the students' current grades for every resource link of the assignment whose
    platform knows them; the number of scores queued."""
    a = Assignment.objects.select_related("course").get(pk=assignment_id)
    students = set(student_ids)
    grades = course_grades(a.course, [a.id], students)
    links = list(
        LtiLink.objects.filter(assignment=a).exclude(lineitem_url="", context__lineitems_url="")
        .select_related("context")
    )  # fmt: skip
    subs = dict(
        ((p, u), s)
        for p, u, s in LtiAccount.objects.filter(
            user_id__in=students, platform_id__in={link.context.platform_id for link in links}
        ).values_list("platform_id", "user_id", "sub")
    )
    queued = 0
    now = timezone.now()
    for link in links:
        for student_id in students:
            g = grades.get((student_id, a.id))
            if g is None or g.points is None or (link.context.platform_id, student_id) not in subs:
                continue
            given = max(0.0, round(g.points, 4))
            with transaction.atomic():
                report, created = ScoreReport.objects.select_for_update().get_or_create(
                    link=link, student_id=student_id,
                    defaults={"score_given": given, "score_maximum": a.points, "changed_at": now},
                )  # fmt: skip
                if not created:
                    same = (report.score_given, report.score_maximum) == (given, a.points)
                    if same and report.state != ScoreReport.FAILED:
                        continue  # sent already, or on its way
                    report.score_given, report.score_maximum = given, a.points
                    report.changed_at, report.state, report.attempts = now, ScoreReport.PENDING, 0
                    report.next_attempt_at, report.error = now, ""
                    report.save()
            queued += 1
    if queued:
        transaction.on_commit(kick)
    return queued


# -- sending --------------------------------------------------------------------------------

_sender: ThreadPoolExecutor | None = None
_sender_lock = threading.Lock()


def kick() -> None:
    """Send the due scores in the background (one thread per storer process), unless the
    settings leave it to the storer's loop alone (LTI_SEND_IN_THREAD)."""
    global _sender
    if not getattr(settings, "LTI_SEND_IN_THREAD", True):
        return
    with _sender_lock:
        if _sender is None:
            _sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lti-scores")
    _sender.submit(_send_in_thread)


def _send_in_thread() -> None:
    try:
        send_due()
    except Exception:
        log.exception("sending scores to the LMS failed")
    finally:
        db.connection.close()


def _claim(now: dt.datetime) -> list[int]:
    """The due scores' ids, each claimed for LEASE_S by a conditional update (two senders
    never post the same score at once)."""
    due = ScoreReport.objects.filter(state=ScoreReport.PENDING, next_attempt_at__lte=now)
    claimed = []
    lease = now + dt.timedelta(seconds=LEASE_S)
    for pk, attempt_at in due.order_by("next_attempt_at").values_list("id", "next_attempt_at")[
        :BATCH
    ]:
        if ScoreReport.objects.filter(pk=pk, next_attempt_at=attempt_at).update(
            next_attempt_at=lease
        ):
            claimed.append(pk)
    return claimed


def send_due() -> dict[str, int]:
    """Post every due score; how many were sent, will be retried, or failed for good."""
    counts = {"sent": 0, "retry": 0, "failed": 0}
    ids = _claim(timezone.now())
    if not ids:
        return counts
    reports = (
        ScoreReport.objects.filter(pk__in=ids)
        .select_related("link__context__platform", "link__assignment")
        .order_by("link__context__platform_id", "id")
    )
    subs = {
        (p, u): s
        for p, u, s in LtiAccount.objects.filter(
            user_id__in={r.student_id for r in reports}
        ).values_list("platform_id", "user_id", "sub")
    }
    connectors: dict[int, ServiceConnector] = {}  # one access token per platform and batch
    for report in reports:
        platform = report.link.context.platform
        connector = connectors.get(platform.id)
        if connector is None:
            connector = connectors[platform.id] = ServiceConnector(
                registration(platform), http_session()
            )
        outcome = _send(report, connector, subs.get((platform.id, report.student_id)))
        counts[outcome] += 1
    return counts


def _send(report: ScoreReport, connector: ServiceConnector, sub: str | None) -> str:
    try:
        if sub is None:
            raise LtiException("the student has no account on this platform any more")
        link = report.link
        ags = AssignmentsGradesService(
            connector,
            {
                "scope": link.scopes or [SCORE_SCOPE],
                "lineitem": link.lineitem_url,
                "lineitems": link.context.lineitems_url,
            },  # fmt: skip
        )
        if not link.lineitem_url:
            made = ags.find_or_create_lineitem(_lineitem(link), find_by="resource_id")
            link.lineitem_url = made.get_id() or ""
            LtiLink.objects.filter(pk=link.pk).update(lineitem_url=link.lineitem_url)
        grade = (
            Grade()
            .set_score_given(report.score_given)
            .set_score_maximum(report.score_maximum)
            .set_timestamp(report.changed_at.isoformat(timespec="milliseconds"))
            .set_activity_progress("Completed")
            .set_grading_progress("FullyGraded")
            .set_user_id(sub)
        )
        ags.put_grade(grade, LineItem().set_id(link.lineitem_url))
    except LtiServiceException as e:
        status = e.response.status_code
        return _failed(report, f"the LMS answered {status}: {e.response.text[:500]}", status)
    except (LtiException, OSError) as e:  # requests' errors are OSErrors
        return _failed(report, str(e)[:1000], None)
    # sent: unless a newer score came meanwhile (it is due again, with its own changed_at)
    ScoreReport.objects.filter(pk=report.pk, changed_at=report.changed_at).update(
        state=ScoreReport.SENT, sent_at=timezone.now(), error="", attempts=report.attempts + 1
    )
    return "sent"


def _lineitem(link: LtiLink) -> LineItem:
    """The line item for a link placed without one: found or made by the assignment's id
    (the platform granted the lineitem scope)."""
    if not link.context.lineitems_url or LINEITEM_SCOPE not in link.scopes:
        raise LtiException(
            "the resource link has no line item (grade column) and the LMS did not allow "
            "assay to create one: enable the grade service (AGS) for the tool and place the "
            "link again"
        )
    a = link.assignment
    assert a is not None
    return (
        LineItem()
        .set_resource_id(str(a.id))
        .set_resource_link_id(link.resource_link_id)
        .set_label(a.title)
        .set_score_maximum(a.points)
        .set_tag("assay")
    )


def _failed(report: ScoreReport, error: str, status: int | None) -> str:
    attempts = report.attempts + 1
    permanent = status in PERMANENT
    fields: dict[str, Any] = {"attempts": attempts, "error": error}
    if permanent or attempts > len(RETRY_DELAYS_S):
        fields["state"] = ScoreReport.FAILED
        outcome = "failed"
    else:
        fields["next_attempt_at"] = timezone.now() + dt.timedelta(
            seconds=RETRY_DELAYS_S[attempts - 1]
        )
        outcome = "retry"
    ScoreReport.objects.filter(pk=report.pk, changed_at=report.changed_at).update(**fields)
    log.warning("score %s for %s: %s", report.pk, report.link, error)
    return outcome


def periodic() -> dict[str, int]:
    """The storer loop's LTI duty (every few seconds): the due scores (retries included), and
    login states past their expiry forgotten."""
    purge_expired()
    return send_due()


def resend_failed(course_id: int) -> int:
    """Send a course's failed scores again (a staff action, after fixing the registration)."""
    n = ScoreReport.objects.filter(
        link__context__course_id=course_id, state=ScoreReport.FAILED
    ).update(state=ScoreReport.PENDING, attempts=0, next_attempt_at=timezone.now(), error="")
    if n:
        transaction.on_commit(kick)
    return n
