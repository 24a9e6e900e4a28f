"""Pages of feedback: the comments on a submission (a section of the submission page that htmx
loads, and a page of its own that works without JavaScript), the staff's forms to add, edit and
delete one, the student's list of unread feedback and the header's badge.

Who sees a submission's comments is who sees the submission (``views.submission_or_404``);
only the course's staff write them (``feedback.services.can_comment``). The author opening the
section marks its comments read, and the badge is told to count again (``feedback-read``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from assay.storer.evaluation import submitted
from assay.storer.evaluation.models import Submission
from assay.storer.evaluation.services import ServiceError
from assay.storer.feedback import services
from assay.storer.feedback.models import MAX_TEXT_CHARS, Comment

from .templatetags.assay_web import printable
from .views import submission_or_404

WHOLE = ""


class CommentForm(forms.Form):
    file = forms.ChoiceField(
        required=False, label="On", help_text="A file's line, or the whole submission."
    )
    line = forms.IntegerField(
        required=False, min_value=1, label="Line",
        help_text="The line's number in the file (or choose a line number in the code).",
    )  # fmt: skip
    text = forms.CharField(
        max_length=MAX_TEXT_CHARS, label="Comment", help_text="Markdown: **bold**, `code`, lists.",
        widget=forms.Textarea(attrs={"rows": 4}),
    )  # fmt: skip

    def __init__(self, *args: Any, file_names: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(WHOLE, "The whole submission")]
        choices += [(name, printable(name)) for name in file_names]
        self.fields["file"].choices = choices  # type: ignore[attr-defined]


class EditForm(forms.Form):
    text = forms.CharField(
        max_length=MAX_TEXT_CHARS, label="Comment", help_text="Markdown: **bold**, `code`, lists.",
        widget=forms.Textarea(attrs={"rows": 4, "autofocus": True}),
    )  # fmt: skip


def _refusal_to_form(form: forms.Form, e: ServiceError) -> None:
    field = e.field if e.field in form.fields else None
    message = e.message.split(": ", 1)[1] if field and ": " in e.message else e.message
    form.add_error(field, message)


def line_anchor(file_names: list[str], c: Comment) -> str:
    """``f{k}-L{n}``: line n of the k-th file by name, as the code view numbers them."""
    if c.file_name not in file_names:
        return ""
    return f"f{file_names.index(c.file_name) + 1}-L{c.line}"


def _context(
    request: HttpRequest, s: Submission, form: CommentForm | None = None, notice: str = ""
) -> dict[str, Any]:
    """The section's context: three queries whatever the number of comments (the files, the
    comments with their authors, the read mark)."""
    names = [f.name for f in submitted.files_of(s)]
    comments = services.comments_of(s)
    staff = services.can_comment(request.user, s)
    shown = [{"c": c, "anchor": line_anchor(names, c), "new": c.read_at is None} for c in comments]
    if s.author_id == request.user.pk:
        services.mark_read(s, request.user)
    return {
        "s": s, "a": s.assignment, "course": s.assignment.course, "comments": shown,
        "staff": staff, "notice": notice, "is_author": s.author_id == request.user.pk,
        "form": form or (CommentForm(file_names=names) if staff else None),
    }  # fmt: skip


def _section(
    request: HttpRequest, s: Submission, status: int = 200, changed: bool = True, **kwargs: Any
) -> HttpResponse:
    """The section; the page's code view shows the comments again once they ``changed``; the
    header's badge counts once the section is there (on the submission page it waits for it:
    the section marks the author's comments read)."""
    response = render(request, "web/partials/feedback.html", _context(request, s, **kwargs))
    response.status_code = status
    response["HX-Trigger"] = "feedback-changed, feedback-read" if changed else "feedback-read"
    return response


def _htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _done(
    request: HttpRequest, s: Submission, notice: str, fragment: str = "feedback"
) -> HttpResponse:
    """After a change: the section again, saying what changed (htmx), or back to the page."""
    if _htmx(request):
        return _section(request, s, notice=notice)
    return redirect(reverse("web:submission", args=[s.id]) + f"#{fragment}")


@login_required
def page(request: HttpRequest, submission_id: int) -> HttpResponse:
    """The feedback on a page of its own (works without JavaScript)."""
    s = submission_or_404(submission_id, request.user)
    return render(request, "web/feedback.html", _context(request, s))


@login_required
def part(request: HttpRequest, submission_id: int) -> HttpResponse:
    """The feedback section of the submission page (htmx loads it after the page)."""
    return _section(request, submission_or_404(submission_id, request.user), changed=False)


@login_required
@require_POST
def add(request: HttpRequest, submission_id: int) -> HttpResponse:
    s = submission_or_404(submission_id, request.user)
    if not services.can_comment(request.user, s):
        raise PermissionDenied("only the course's supervisors and administrators comment")
    names = [f.name for f in submitted.files_of(s)]
    form = CommentForm(request.POST, file_names=names)
    if form.is_valid():
        d = form.cleaned_data
        line = d["line"] if d["file"] else None
        try:
            c = services.add(s, request.user, d["text"], d["file"], line)
        except ServiceError as e:
            _refusal_to_form(form, e)
        else:
            return _done(request, s, f"Comment added ({_where(c)}).", c.anchor_name)
    if _htmx(request):
        return _section(request, s, changed=False, form=form)  # htmx swaps a 200 only
    return render(request, "web/feedback.html", _context(request, s, form=form), status=400)


def _where(c: Comment) -> str:
    return printable(c.place)


def _comment_or_404(request: HttpRequest, comment_id: int) -> tuple[Comment, Submission]:
    """The comment and its submission, for the submission's staff; 404 for anyone who may not
    see the submission, 403 for its author."""
    c = services.get(comment_id)
    if c is None:
        raise Http404("no such comment")
    s = submission_or_404(c.submission_id, request.user)
    if not services.can_comment(request.user, s):
        raise PermissionDenied("only the course's supervisors and administrators edit comments")
    return c, s


@login_required
def edit(request: HttpRequest, comment_id: int) -> HttpResponse:
    c, s = _comment_or_404(request, comment_id)
    form = EditForm(request.POST or None, initial={"text": c.text}, prefix=f"c{c.id}")
    if request.method == "POST" and form.is_valid():
        try:
            services.edit(c, request.user, s, form.cleaned_data["text"])
        except ServiceError as e:
            _refusal_to_form(form, e)
        else:
            return _done(request, s, f"Comment on {_where(c)} saved.", c.anchor_name)
    context = {"s": s, "a": s.assignment, "course": s.assignment.course, "c": c, "form": form}
    status = 400 if form.is_bound and not _htmx(request) else 200
    template = "web/partials/comment_edit.html" if _htmx(request) else "web/comment_edit.html"
    return render(request, template, context, status=status)


@login_required
@require_POST
def delete(request: HttpRequest, comment_id: int) -> HttpResponse:
    c, s = _comment_or_404(request, comment_id)
    services.delete(c, request.user, s)
    return _done(request, s, f"Comment on {_where(c)} deleted.")


@login_required
def unread(request: HttpRequest) -> HttpResponse:
    """The user's submissions with feedback they have not read yet."""
    return render(
        request, "web/feedback_unread.html", {"rows": services.unread_submissions(request.user)}
    )


@login_required
def badge(request: HttpRequest) -> HttpResponse:
    """The header's count of unread comments (htmx loads it after each page, and again when a
    submission's feedback was read)."""
    count = services.unread_count(request.user)
    return render(request, "web/partials/feedback_badge.html", {"unread": count})
