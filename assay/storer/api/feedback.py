"""The REST API for feedback: a submission's comments (read by its author and its course's staff,
written by the staff), and the current user's unread feedback. Who may read them is who may
read the submission (``users.get_submission``); who may write, ``feedback.services``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Router, Schema, Status

from assay.storer.feedback import services
from assay.storer.feedback.models import MAX_TEXT_CHARS, Comment

from .auth import USER_AUTH
from .errors import not_found
from .schemas import Id, errors
from .users import get_submission

router = Router(auth=USER_AUTH)


class CommentOut(Schema):
    id: int
    submission: int
    author: str | None
    file: str | None = Field(description="the file the line is in; null: the whole submission")
    line: int | None
    text: str = Field(description="Markdown, as written")
    created_at: datetime
    edited_at: datetime | None
    read: bool = Field(description="whether the submission's author has seen it")


class CommentIn(Schema):
    text: str = Field(max_length=MAX_TEXT_CHARS)
    file: str | None = Field(None, max_length=255, description="omit for the whole submission")
    line: int | None = Field(None, ge=1, description="with `file`: the line, from 1")


class CommentEdit(Schema):
    text: str = Field(max_length=MAX_TEXT_CHARS)


class UnreadOut(Schema):
    unread: int
    submissions: list[dict[str, Any]]


def comment_json(c: Comment) -> dict[str, Any]:
    return {
        "id": c.id, "submission": c.submission_id,
        "author": c.author.username if c.author else None, "file": c.file_name or None,
        "line": c.line, "text": c.text, "created_at": c.created_at, "edited_at": c.edited_at,
        "read": c.read_at is not None,
    }  # fmt: skip


def _comment(comment_id: int, user: Any) -> tuple[Comment, Any]:
    """The comment and its submission, if the user may see the submission (404 otherwise)."""
    c = services.get(comment_id)
    if c is None:
        raise not_found(f"comment {comment_id}")
    s = get_submission(c.submission_id, user)
    return c, s


@router.get(
    "/submissions/{submission_id}/comments",
    response={200: list[CommentOut], **errors(400, 401, 404)},
    summary="A submission's comments, oldest first",
)
def list_comments(request, submission_id: Id):
    """Reading them does not mark them read: ``POST .../comments/read`` does (the pages do it when
    the author opens the submission)."""
    s = get_submission(submission_id, request.auth)
    return [comment_json(c) for c in services.comments_of(s)]


@router.post(
    "/submissions/{submission_id}/comments",
    response={201: CommentOut, **errors(400, 401, 403, 404)},
    summary="Comment on a line of a file (`file`, `line`) or on the whole submission (staff)",
)
def add_comment(request, submission_id: Id, body: CommentIn):
    """The student is e-mailed that feedback arrived (at most once per submission per ten
    minutes)."""
    s = get_submission(submission_id, request.auth)
    c = services.add(s, request.auth, body.text, body.file or "", body.line)
    return Status(201, comment_json(c))


@router.patch(
    "/comments/{comment_id}",
    response={200: CommentOut, **errors(400, 401, 403, 404)},
    summary="Change a comment's text (staff); the student sees it as unread again",
)
def edit_comment(request, comment_id: Id, body: CommentEdit):
    c, s = _comment(comment_id, request.auth)
    return comment_json(services.edit(c, request.auth, s, body.text))


@router.delete(
    "/comments/{comment_id}",
    response={204: None, **errors(400, 401, 403, 404)},
    summary="Delete a comment (staff)",
)
def delete_comment(request, comment_id: Id):
    c, s = _comment(comment_id, request.auth)
    services.delete(c, request.auth, s)
    return Status(204, None)


@router.post(
    "/submissions/{submission_id}/comments/read",
    response={200: dict, **errors(400, 401, 403, 404)},
    summary="Mark a submission's comments read (its author; for anyone else nothing changes)",
)
def mark_read(request, submission_id: Id):
    s = get_submission(submission_id, request.auth)
    return {"marked": services.mark_read(s, request.auth)}


@router.get(
    "/feedback/unread",
    response={200: UnreadOut, **errors(401)},
    summary="How many comments on the user's own submissions are unread, and on which",
)
def unread(request):
    rows = services.unread_submissions(request.auth)
    return {"unread": sum(r["unread"] for r in rows), "submissions": rows}
