"""The administrators' queue page: the queues, the testers, and the jobs queued, running (with
their tester, since when and "test 7 of 20"), finished lately (verdict, duration) and failed
(with a retry button). Its live part reloads itself every 2 s; an answer that would show the
same as the page has is a 204 (htmx swaps nothing), so a keyboard user's focus and a screen
reader's place stay where they are; when it changes, htmx puts the focus back on the element
with the same id. A fixed number of queries, whatever the number of jobs and testers."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from assay.storer.evaluation import lists, progress, queries
from assay.storer.evaluation.models import Job, Tester

from .staff import admin_required

SHOWN = 50  # rows of each list of jobs (queued, running, finished, failed)
RELATED = ("version__assignment__course", "submission__author", "tester")


def _jobs(state: str, order: tuple[str, ...]) -> list[Job]:
    return list(Job.objects.filter(state=state).select_related(*RELATED).order_by(*order)[:SHOWN])


def _context() -> dict[str, Any]:
    running_jobs = lists.running_jobs()
    testers = []
    for t in Tester.objects.order_by("name"):
        running = running_jobs.get(t.id, [])
        testers.append({
            "t": t, "running": running, "busy": bool(running),
            "average_s": round(t.busy_seconds / t.jobs_done, 2) if t.jobs_done else None,
        })  # fmt: skip
    running_rows = [
        {"j": j, "progress": progress.shown(j)} for j in _jobs(Job.RUNNING, ("claimed_at", "id"))
    ]
    finished = []
    for j in _jobs(Job.DONE, ("-finished_at", "-id")):
        took = (
            (j.finished_at - j.claimed_at).total_seconds()
            if j.finished_at and j.claimed_at
            else None
        )
        finished.append({"j": j, "duration_s": round(took, 1) if took is not None else None})
    queues = queries.queue_lengths()
    return {
        "queues": queues, "testers": testers,
        "queued": _jobs(Job.QUEUED, ("id",)),
        "waiting": sum(q["length"] for q in queues),
        "running": running_rows, "finished": finished,
        "failed": _jobs(Job.FAILED, ("-id",)),
        "shown": SHOWN,
    }  # fmt: skip


def _live(request: HttpRequest) -> tuple[str, str]:
    """The live part's content and its digest (what the page names with ``since``)."""
    body = render_to_string("web/partials/queue_body.html", _context(), request=request)
    # the CSRF token differs between renders of the same content: not part of what changed
    digest = hashlib.sha256(_without_tokens(body).encode()).hexdigest()[:16]
    return body, digest


def _without_tokens(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


@admin_required
def queue(request: HttpRequest) -> HttpResponse:
    body, digest = _live(request)
    return render(request, "web/queue.html", {"body": mark_safe(body), "digest": digest})  # noqa: S308 - rendered by our template


@admin_required
def queue_live(request: HttpRequest) -> HttpResponse:
    body, digest = _live(request)
    if request.GET.get("since", "")[:64] == digest:
        return HttpResponse(status=204)
    return render(
        request, "web/partials/queue_live.html", {"body": mark_safe(body), "digest": digest}
    )  # noqa: S308
