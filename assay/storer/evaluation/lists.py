"""Lists of submissions at a fixed cost: the status filtered in the database before a page is
cut, and a page's latest jobs, tests and files read in one query each, whatever its length
(``api.users.submission_docs`` builds the documents from them)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Coalesce

from .models import Job, Submission, SubmissionFile, TestResult

NOT_EVALUATED = "not_evaluated"
STATUSES = (NOT_EVALUATED, Job.QUEUED, Job.RUNNING, Job.DONE, Job.FAILED)
PAGE_SIZE = 50  # rows of a page's list


def with_status(qs: QuerySet[Submission], status: str = "") -> QuerySet[Submission]:
    """The submissions with ``status`` (their latest job's state, or not_evaluated); only those
    with the given one, if any (filtered in the database, before a page is cut)."""
    latest = Job.objects.filter(submission=OuterRef("pk")).order_by("-id").values("state")[:1]
    annotated = qs.annotate(status=Coalesce(Subquery(latest), Value(NOT_EVALUATED)))
    return annotated.filter(status=status) if status else annotated


def paginate(qs: QuerySet[Any] | Sequence[Any], number: Any, size: int = PAGE_SIZE) -> Page:
    """Page ``number`` (1-based; a number that is not one, or past the end, gives the first or
    the last page): a count and the page's rows, two queries."""
    return Paginator(qs, size).get_page(number)


def latest_jobs(submission_ids: Sequence[int]) -> dict[int, Job]:
    """submission id -> its latest job, with ``limits`` (its version's) and ``ahead`` (the
    queued jobs before it in its queue), as ``queries.latest_job`` gives them: one query."""
    if not submission_ids:
        return {}
    newest = Job.objects.filter(submission=OuterRef("submission")).order_by("-id").values("id")[:1]
    ahead = (
        Job.objects.filter(state=Job.QUEUED, queue=OuterRef("queue"), id__lt=OuterRef("id"))
        .order_by()
        .values("queue")
        .annotate(n=Count("id"))
        .values("n")
    )
    jobs = Job.objects.filter(submission_id__in=submission_ids, id=Subquery(newest)).annotate(
        limits=KeyTransform("limits", "version__meta"),
        ahead=Coalesce(Subquery(ahead, output_field=IntegerField()), Value(0)),
    )
    return {j.submission_id: j for j in jobs if j.submission_id is not None}


def test_results(job_ids: Sequence[int]) -> dict[int, list[TestResult]]:
    """job id -> its test results, in order: one query."""
    found: dict[int, list[TestResult]] = defaultdict(list)
    if job_ids:
        for t in TestResult.objects.filter(job_id__in=job_ids).order_by("job_id", "order"):
            found[t.job_id].append(t)
    return found


def files(submission_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """submission id -> its files (name and size): one query."""
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if submission_ids:
        for sid, name, size in (
            SubmissionFile.objects.filter(submission_id__in=submission_ids)
            .order_by("id")
            .values_list("submission_id", "name", "size")
        ):
            found[sid].append({"name": name, "size": size})
    return found


def running_jobs() -> dict[int, list[int]]:
    """tester id -> the ids of the jobs it is running: one query."""
    running: dict[int, list[int]] = defaultdict(list)
    for tester_id, job_id in (
        Job.objects.filter(state=Job.RUNNING, tester__isnull=False)
        .order_by("id")
        .values_list("tester_id", "id")
    ):
        running[tester_id].append(job_id)
    return running
