"""Per-student extensions: the staff give a student their own deadline (and, optionally, second
deadline) for an assignment; the pages and the API share these functions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet

from assay.storer.evaluation.services import ServiceError

from .models import Assignment, Extension, Membership


def grant(
    assignment: Assignment,
    username: str,
    deadline: dt.datetime,
    second_deadline: dt.datetime | None,
    reason: str,
    by: Any,
) -> Extension:
    """Give ``username`` (a student of the course) these deadlines, replacing an extension they
    had. Refused, naming the field: a student who is not one, an assignment without a deadline,
    a deadline not after the assignment's, a second deadline not after the first."""
    member = (
        Membership.objects.select_related("user")
        .filter(course=assignment.course, user__username=username, role=Membership.STUDENT)
        .first()
    )
    if member is None:
        raise ServiceError(
            400, "unknown_student", f"{username!r} is not a student of {assignment.course.slug}",
            "student",
        )  # fmt: skip
    if assignment.deadline is None:
        raise ServiceError(
            400, "no_deadline", f"{assignment.title} has no deadline to extend; set one first",
            "deadline",
        )  # fmt: skip
    if deadline <= assignment.deadline:
        raise ServiceError(
            400, "invalid", "deadline: an extension must end after the assignment's deadline",
            "deadline",
        )  # fmt: skip
    extension = Extension(
        assignment=assignment, student=member.user, deadline=deadline,
        second_deadline=second_deadline, reason=reason, granted_by=by,
    )  # fmt: skip
    try:
        extension.clean()
    except ValidationError as e:
        field, messages = next(iter(e.message_dict.items()))
        raise ServiceError(400, "invalid", f"{field}: {messages[0]}", field) from e
    with transaction.atomic():
        Extension.objects.filter(assignment=assignment, student=member.user).delete()
        extension.save()
    return extension


def revoke(assignment: Assignment, username: str) -> None:
    deleted, _ = Extension.objects.filter(
        assignment=assignment, student__username=username
    ).delete()
    if not deleted:
        raise ServiceError(
            404, "not_found", f"{username!r} has no extension for {assignment.title}"
        )


def extension_json(e: Extension) -> dict[str, Any]:
    return {
        "student": e.student.username,
        "deadline": e.deadline,
        "second_deadline": e.second_deadline,
        "reason": e.reason,
        "granted_by": e.granted_by.username if e.granted_by else None,
        "created_at": e.created_at,
    }


def of_assignment(assignment: Assignment) -> QuerySet[Extension]:
    """The assignment's extensions by student, with the student and who gave it (one query, for
    all of them or a page)."""
    return assignment.extensions.select_related("student", "granted_by").order_by(
        "student__username", "id"
    )
