"""Who is in a course: members added, given another role or removed by its supervisors, and
students who join by themselves with the course's key (or its invitation link) while
self-enrolment is on. A course always keeps one supervisor."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from assay.storer.courses.models import Course, Membership
from assay.storer.evaluation.services import ServiceError

from .models import Enrolment, new_key, normal_key


def enrolment(course: Course) -> Enrolment:
    found, _ = Enrolment.objects.get_or_create(course=course)
    return found


def invitation_path(e: Enrolment) -> str:
    return reverse("web:join_key", kwargs={"key": e.key})


def set_open(course: Course, open_: bool) -> Enrolment:
    e = enrolment(course)
    e.open = open_
    e.save(update_fields=["open"])
    return e


def regenerate(course: Course) -> Enrolment:
    """A new key (and so a new link): the old ones stop working at once."""
    e = enrolment(course)
    e.key, e.key_created_at = new_key(), timezone.now()
    e.save(update_fields=["key", "key_created_at"])
    return e


def course_for_key(typed: str) -> Course:
    """The course whose key this is, if self-enrolment in it is on."""
    key = normal_key(typed)
    e = Enrolment.objects.select_related("course").filter(key=key).first() if key else None
    if e is None:
        raise ServiceError(
            404, "unknown_key", "no course has this key: check it with your course's staff", "key"
        )
    if not e.open:
        raise ServiceError(
            409, "enrolment_closed",
            f"self-enrolment in {e.course.title} is off: ask its supervisors to add you",
            "key",
        )  # fmt: skip
    return e.course


def join(user: Any, typed: str) -> tuple[Course, bool]:
    """The user joins the key's course as a student: (the course, whether they joined now).
    A member already keeps their role (a supervisor following the link stays a supervisor)."""
    course = course_for_key(typed)
    _, created = Membership.objects.get_or_create(
        course=course, user=user, defaults={"role": Membership.STUDENT}
    )
    return course, created


def _last_supervisor(course: Course, user: Any) -> bool:
    supervisors = Membership.objects.filter(course=course, role=Membership.SUPERVISOR)
    return list(supervisors.values_list("user_id", flat=True)[:2]) == [user.pk]


def set_role(course: Course, user: Any, role: str) -> Membership:
    """Add the user with this role, or give a member this role."""
    if role not in (Membership.STUDENT, Membership.SUPERVISOR):
        raise ServiceError(
            400, "invalid", f"role: unknown role {role!r} (student or supervisor)", "role"
        )
    with transaction.atomic():
        m = Membership.objects.select_for_update().filter(course=course, user=user).first()
        demoted = m is not None and m.role == Membership.SUPERVISOR and role != m.role
        if demoted and _last_supervisor(course, user):
            raise ServiceError(
                    409, "last_supervisor",
                    f"the course {course.slug} needs a supervisor and {user.username} is its "
                    "last: make someone else a supervisor first",
                    "role",
                )  # fmt: skip
        m, _ = Membership.objects.update_or_create(
            course=course, user=user, defaults={"role": role}
        )
    return m


def remove(course: Course, user: Any) -> None:
    """Remove the member. Their submissions and results stay (added again, they see them)."""
    with transaction.atomic():
        m = Membership.objects.select_for_update().filter(course=course, user=user).first()
        if m is None:
            raise ServiceError(
                404, "not_found", f"{user.username} is not a member of {course.slug}"
            )
        if m.role == Membership.SUPERVISOR and _last_supervisor(course, user):
            raise ServiceError(
                409, "last_supervisor",
                f"the course {course.slug} needs a supervisor and {user.username} is its last: "
                "make someone else a supervisor first",
            )  # fmt: skip
        m.delete()
