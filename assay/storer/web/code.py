"""Pages of submitted code: every file of a submission highlighted (on its own page, and loaded
into the submission page with htmx), the files as a zip or one by one, and the differences from
another submission of the same student for the same assignment. Who may see them is who may see
the submission (its author and the course's supervisors: ``views.submission_or_404``)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from assay.storer.evaluation import submitted
from assay.storer.evaluation.models import Submission
from assay.storer.feedback import services as feedback
from assay.storer.feedback.models import Comment

from .highlight import code_block
from .views import submission_or_404


def _code_context(s: Submission) -> dict[str, Any]:
    """The submission's files as the pages show them, with the staff's comments under their
    lines; a fixed number of queries whatever the number of files and comments (the files, the
    comments, the previous submission)."""
    files = []
    comments = feedback.by_line(feedback.comments_of(s))
    for number, f in enumerate(submitted.shown(submitted.files_of(s)), start=1):
        anchor = f"f{number}-"
        notes = {n: line_comments(cs) for n, cs in comments.get(f.name, {}).items()}
        html = code_block(f.name, f.text, anchor, notes) if f.text is not None else None
        files.append({"file": f, "anchor": anchor, "html": html, "notes": [] if html else notes})
    return {
        "s": s, "a": s.assignment, "course": s.assignment.course, "files": files,
        "previous": submitted.previous(s), "file_cap_kib": submitted.FILE_CAP_BYTES // 1024,
        "page_cap_kib": submitted.PAGE_CAP_BYTES // 1024,
    }  # fmt: skip


def line_comments(comments: list[Comment]) -> SafeString:
    """The comments on one line, as the code view shows them under it."""
    return SafeString(render_to_string("web/partials/line_comments.html", {"comments": comments}))


@login_required
def code(request: HttpRequest, submission_id: int) -> HttpResponse:
    """The code of a submission on a page of its own (works without JavaScript)."""
    s = submission_or_404(submission_id, request.user)
    return render(request, "web/code.html", _code_context(s))


@login_required
def code_part(request: HttpRequest, submission_id: int) -> HttpResponse:
    """The code section of the submission page (htmx loads it after the page)."""
    s = submission_or_404(submission_id, request.user)
    return render(request, "web/partials/code_files.html", _code_context(s))


@login_required
def archive(request: HttpRequest, submission_id: int) -> HttpResponse:
    """Every file of the submission in a zip, at its root, under the names they were sent with."""
    return submitted.archive_download(submission_or_404(submission_id, request.user))


@login_required
def raw(request: HttpRequest, submission_id: int, name: str) -> FileResponse:
    """One file as it was submitted; always a download (never shown as a page of the site)."""
    s = submission_or_404(submission_id, request.user)
    f = submitted.find(s, name)
    if f is None:
        raise Http404("no such file")
    return submitted.file_download(f)


KINDS = {"@": "hunk", "+": "add", "-": "del"}


@login_required
def compare(request: HttpRequest, submission_id: int) -> HttpResponse:
    """What changed from submission ``?against=`` to this one, file by file."""
    s = submission_or_404(submission_id, request.user)
    against = request.GET.get("against", "")
    if not against.isdigit() or len(against) > 18:
        return _refused(request, s, "say which submission to compare with: ?against=ID")
    old = submission_or_404(int(against), request.user)
    refusal = submitted.not_comparable(old, s)
    if refusal:
        return _refused(
            request, s, f"Submissions {old.id} and {s.id} cannot be compared: {refusal}."
        )
    files = submitted.diff(submitted.files_of(old), submitted.files_of(s))
    shown = [
        {"file": f, "rows": [(KINDS.get(line[:1], "ctx"), line) for line in f.lines]} for f in files
    ]
    context = {
        "s": s, "old": old, "a": s.assignment, "course": s.assignment.course, "files": shown,
        "changed": sum(f.status != "unchanged" for f in files),
        "file_cap_kib": submitted.FILE_CAP_BYTES // 1024,
    }  # fmt: skip
    return render(request, "web/code_diff.html", context)


def _refused(request: HttpRequest, s: Submission, message: str) -> HttpResponse:
    context = {"s": s, "a": s.assignment, "course": s.assignment.course, "refusal": message}
    return render(request, "web/code_diff.html", context, status=400)
