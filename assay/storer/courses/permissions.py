"""Who may see and do what in a course. Administrators (superusers) may do everything."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from assay.storer.request_cache import remember

from .models import Course, Membership


def is_admin(user: Any) -> bool:
    return bool(user and user.is_authenticated and user.is_superuser)


def role(user: Any, course: Course) -> str | None:
    if not user or not user.is_authenticated:
        return None
    return remember(
        ("role", user.pk, course.pk),
        lambda: (
            Membership.objects.filter(course=course, user=user)
            .values_list("role", flat=True)
            .first()
        ),
    )


def can_view(user: Any, course: Course) -> bool:
    return is_admin(user) or role(user, course) is not None


def can_supervise(user: Any, course: Course) -> bool:
    return is_admin(user) or role(user, course) == Membership.SUPERVISOR


def visible_courses(user: Any) -> QuerySet[Course]:
    if is_admin(user):
        return Course.objects.all()
    return Course.objects.filter(memberships__user=user).distinct()
