"""Comments on a submission, for the pages and the API alike: who may write and read them, adding,
editing and deleting one, and the student's unread count. Whether a user sees the submission at
all is decided before (``views.submission_or_404``, ``users.get_submission``): here only what
the staff may do on top of that (``can_comment``)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db import transaction
from django.utils import timezone

from assay.storer.courses.permissions import can_supervise
from assay.storer.evaluation import submitted
from assay.storer.evaluation.models import Submission
from assay.storer.evaluation.services import ServiceError

from . import mail
from .models import MAX_TEXT_CHARS, Comment


def can_comment(user: Any, s: Submission) -> bool:
    """The course's staff (its supervisors and the administrators) comment; the author reads."""
    return can_supervise(user, s.assignment.course)


def require_staff(user: Any, s: Submission) -> None:
    if not can_comment(user, s):
        raise ServiceError(
            403, "forbidden", "only the course's supervisors and administrators comment"
        )


def comments_of(s: Submission) -> list[Comment]:
    """The submission's comments, oldest first, with their authors: one query."""
    return list(Comment.objects.filter(submission_id=s.id).select_related("author"))


def by_line(comments: list[Comment]) -> dict[str, dict[int, list[Comment]]]:
    """The line comments by file name, then line number."""
    out: dict[str, dict[int, list[Comment]]] = defaultdict(lambda: defaultdict(list))
    for c in comments:
        if c.file_name and c.line:
            out[c.file_name][c.line].append(c)
    return out


def _clean_text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ServiceError(400, "invalid", "text: write the comment", "text")
    if len(text) > MAX_TEXT_CHARS:
        raise ServiceError(
            400, "invalid", f"text: at most {MAX_TEXT_CHARS} characters, shorten it", "text"
        )
    return text


def _check_place(s: Submission, file_name: str, line: int | None) -> None:
    """A line comment names one of the submission's files and a line it has (when the file is
    text and short enough to be read whole; else any line from 1)."""
    if not file_name:
        if line is not None:
            raise ServiceError(400, "invalid", "file: say which file the line is in", "file")
        return
    f = submitted.find(s, file_name)
    if f is None:
        raise ServiceError(
            400, "invalid", f"file: submission {s.id} has no file {file_name!r}", "file"
        )
    if line is None or line < 1:
        raise ServiceError(400, "invalid", "line: give a line number from 1", "line")
    if f.size <= submitted.FILE_CAP_BYTES:
        data = submitted.read(f)
        if not submitted.is_binary(data):
            lines = max(1, len(submitted.decode(data).splitlines()))
            if line > lines:
                raise ServiceError(
                    400,
                    "invalid",
                    f"line: {file_name} has {lines} lines, give 1 to {lines}",
                    "line",
                )


def add(
    s: Submission, user: Any, text: str, file_name: str = "", line: int | None = None
) -> Comment:
    """A new comment; the student is e-mailed once it is committed (``mail.notify``)."""
    require_staff(user, s)
    text = _clean_text(text)
    _check_place(s, file_name, line)
    with transaction.atomic():
        c = Comment.objects.create(
            submission=s, student_id=s.author_id, author=user, file_name=file_name,
            line=line if file_name else None, text=text,
        )  # fmt: skip
        if s.author_id == user.pk:
            Comment.objects.filter(pk=c.pk).update(read_at=c.created_at)  # one's own note
        else:
            transaction.on_commit(lambda: mail.notify(s.id))
    return c


def get(comment_id: int) -> Comment | None:
    return Comment.objects.filter(pk=comment_id).select_related("author").first()


def edit(c: Comment, user: Any, s: Submission, text: str) -> Comment:
    """A changed comment is unread again (the badge shows it), without another e-mail."""
    require_staff(user, s)
    c.text = _clean_text(text)
    c.edited_at = timezone.now()
    c.read_at = None if s.author_id != user.pk else c.edited_at
    Comment.objects.filter(pk=c.pk).update(text=c.text, edited_at=c.edited_at, read_at=c.read_at)
    return Comment.objects.select_related("author").get(pk=c.pk)


def delete(c: Comment, user: Any, s: Submission) -> None:
    require_staff(user, s)
    Comment.objects.filter(pk=c.pk).delete()


def mark_read(s: Submission, user: Any) -> int:
    """The author has seen the submission's feedback: how many comments were unread."""
    if s.author_id != user.pk:
        return 0
    return Comment.objects.filter(submission_id=s.id, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def unread_count(user: Any) -> int:
    """Comments on the user's own submissions they have not seen: one query."""
    if not user.is_authenticated:
        return 0
    return Comment.objects.filter(student_id=user.pk, read_at__isnull=True).count()


def unread_submissions(user: Any) -> list[dict[str, Any]]:
    """The user's submissions with feedback they have not seen, newest first: one query."""
    rows = (
        Comment.objects.filter(student_id=user.pk, read_at__isnull=True)
        .values(
            "submission_id",
            "submission__assignment__title",
            "submission__assignment__course__title",
        )
        .order_by("-submission_id")
    )
    found: dict[int, dict[str, Any]] = {}
    for r in rows:
        entry = found.setdefault(
            r["submission_id"],
            {
                "id": r["submission_id"],
                "assignment": r["submission__assignment__title"],
                "course": r["submission__assignment__course__title"],
                "unread": 0,
            },
        )
        entry["unread"] += 1
    return list(found.values())
