"""Who may see and do what in a course. Administrators (superusers) may do everything."""

from __future__ import annotations

import functools
from typing import Any

from django.db.models import QuerySet

from assay.storer import rawsql
from assay.storer.request_cache import remember

from .models import Course, Membership


def is_admin(user: Any) -> bool:
    return bool(user and user.is_authenticated and user.is_superuser)


def role(user: Any, course: Course) -> str | None:
    if not user or not user.is_authenticated:
        return None
    return remember(("role", user.pk, course.pk), lambda: _role(user.pk, course.pk))


def _role(user_id: int, course_id: int) -> str | None:
    row = rawsql.one(_role_sql(), [course_id, user_id])
    return row[0] if row else None


@functools.cache
def _role_sql() -> str:
    c = rawsql.column
    return (
        f"SELECT {c(Membership, 'role')} FROM {rawsql.table(Membership)}"
        f" WHERE {c(Membership, 'course')} = %s AND {c(Membership, 'user')} = %s"
    )


def can_view(user: Any, course: Course) -> bool:
    return is_admin(user) or role(user, course) is not None


def can_supervise(user: Any, course: Course) -> bool:
    return is_admin(user) or role(user, course) == Membership.SUPERVISOR


def visible_courses(user: Any) -> QuerySet[Course]:
    if is_admin(user):
        return Course.objects.all()
    return Course.objects.filter(memberships__user=user).distinct()
