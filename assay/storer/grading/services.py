"""Manual grading for the pages and the API alike: who may read and change a student's grade,
the rubric of an assignment, saving an adjustment with its history, and the document that shows
one student's grade (``sheet``).

- The course's staff (supervisors, administrators) define the rubric and adjust any student's
  grade; a student reads their own grade (reasons, bonus, rubric items awarded), never another's,
  and not the history of changes.
- The points a student gets: the override if there is one, else the automatic points; plus the
  bonus (negative: a penalty) and the rubric items awarded. Nothing caps the total: a bonus may
  take it above the assignment's points, a penalty below zero is not raised to zero.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from assay.storer import rawsql
from assay.storer.courses.models import Assignment, Membership
from assay.storer.courses.permissions import can_supervise
from assay.storer.evaluation import signals
from assay.storer.evaluation.grades import Grade, course_grades
from assay.storer.evaluation.services import ServiceError

from .models import (
    MAX_POINTS,
    MAX_REASON_CHARS,
    Adjustment,
    AdjustmentChange,
    RubricAward,
    RubricItem,
)

MAX_RUBRIC_ITEMS = 100


def can_grade(user: Any, a: Assignment) -> bool:
    return can_supervise(user, a.course)


def require_staff(user: Any, a: Assignment) -> None:
    if not can_grade(user, a):
        raise ServiceError(
            403, "forbidden", "only the course's supervisors and administrators grade by hand"
        )


def student_of(a: Assignment, username: str, viewer: Any) -> Any:
    """The course's student ``username`` if the viewer may read their grade (the staff: any
    student; a student: themselves); 404 otherwise, as for anything that is not one's own."""
    user = (
        get_user_model()
        .objects.filter(
            username=username,
            memberships__course_id=a.course_id,
            memberships__role=Membership.STUDENT,
        )
        .first()
    )
    if user is None or (user.pk != viewer.pk and not can_grade(viewer, a)):
        raise ServiceError(
            404, "not_found", f"no student {username!r} in {a.course.slug} whose grade you may see"
        )
    return user


# -- checking what comes in -------------------------------------------------------------------


def _number(value: Any, field: str, low: float, high: float, what: str) -> float:
    try:
        n = float(value)
    except (TypeError, ValueError):
        raise ServiceError(400, "invalid", f"{field}: give a number", field) from None
    if not math.isfinite(n) or n < low or n > high:
        raise ServiceError(400, "invalid", f"{field}: give {what}", field)
    return n


def _text(value: Any, field: str, required: str = "") -> str:
    text = (value or "").strip()
    if required and not text:
        raise ServiceError(400, "invalid", f"{field}: {required}", field)
    if len(text) > MAX_REASON_CHARS:
        raise ServiceError(
            400, "invalid", f"{field}: at most {MAX_REASON_CHARS} characters, shorten it", field
        )
    return text


# -- the rubric ---------------------------------------------------------------------------------


def rubric_of(a: Assignment) -> list[RubricItem]:
    return list(RubricItem.objects.filter(assignment_id=a.id))


def get_item(item_id: int) -> RubricItem | None:
    return RubricItem.objects.filter(pk=item_id).select_related("assignment__course").first()


def _item_fields(title: Any, points: Any, description: Any, order: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if title is not None:
        fields["title"] = _text(title, "title", "name the item")
        if len(fields["title"]) > 200:
            raise ServiceError(400, "invalid", "title: at most 200 characters", "title")
    if points is not None:
        fields["points"] = _number(
            points, "points", 0.0, MAX_POINTS, f"a number of points above 0, at most {MAX_POINTS:g}"
        )
        if fields["points"] <= 0:
            raise ServiceError(
                400,
                "invalid",
                "points: give a number above 0 (a penalty is a negative bonus)",
                "points",
            )
    if description is not None:
        fields["description"] = _text(description, "description")
    if order is not None:
        fields["order"] = int(_number(order, "order", 0, 10_000, "a position from 0 to 10000"))
    return fields


def add_item(
    a: Assignment, user: Any, title: str, points: float, description: str = "",
    order: int | None = None,
) -> RubricItem:  # fmt: skip
    """A new item, last unless ``order`` says where."""
    require_staff(user, a)
    fields = _item_fields(title, points, description, order)
    items = rubric_of(a)
    if len(items) >= MAX_RUBRIC_ITEMS:
        raise ServiceError(400, "invalid", f"at most {MAX_RUBRIC_ITEMS} rubric items", "title")
    fields.setdefault("order", max((i.order for i in items), default=0) + 1)
    return RubricItem.objects.create(assignment=a, **fields)


def edit_item(item: RubricItem, user: Any, **changes: Any) -> RubricItem:
    """Change an item; awards above its new points come down to them."""
    require_staff(user, item.assignment)
    fields = _item_fields(
        changes.get("title"), changes.get("points"), changes.get("description"),
        changes.get("order"),
    )  # fmt: skip
    with transaction.atomic():
        for key, value in fields.items():
            setattr(item, key, value)
        item.save()
        if "points" in fields:
            RubricAward.objects.filter(item=item, points__gt=item.points).update(points=item.points)
    return item


def delete_item(item: RubricItem, user: Any) -> None:
    """The item goes, and with it what it gave every student."""
    require_staff(user, item.assignment)
    item.delete()


# -- one student's grade ----------------------------------------------------------------------


def has_adjustment(a: Assignment, student_id: int) -> bool:
    """Whether the staff ever adjusted the student's grade for the assignment (one indexed
    SELECT): without an adjustment, ``sheet(...)["adjusted"]`` is false, and a page that shows
    the grade only when adjusted need not compute it (a grade costs a dozen ORM queries)."""
    return rawsql.one(_has_adjustment_sql(), [a.id, student_id]) is not None


@functools.cache
def _has_adjustment_sql() -> str:
    c = rawsql.column
    return (
        f"SELECT 1 FROM {rawsql.table(Adjustment)} WHERE {c(Adjustment, 'assignment')} = %s"
        f" AND {c(Adjustment, 'student')} = %s"
    )


def sheet(a: Assignment, student: Any, viewer: Any) -> dict[str, Any]:
    """One student's grade for the assignment, as the grade page and the API show it: the
    automatic points and the submission they come from, the adjustment, each rubric item with
    what it gave, and the total; for the staff also the history of changes."""
    g = course_grades(a.course, [a.id], [student.pk]).get((student.pk, a.id))
    g = g or Grade(student.pk, a.id)
    adjustment = Adjustment.objects.filter(assignment_id=a.id, student_id=student.pk).first()
    awarded: dict[int, float] = {}
    history: list[dict[str, Any]] = []
    if adjustment is not None:
        awarded = dict(adjustment.awards.values_list("item_id", "points"))
        if can_grade(viewer, a):
            history = [
                {"by": c.changed_by.username if c.changed_by else None, "at": c.changed_at,
                 "changes": c.changes}
                for c in adjustment.changes.select_related("changed_by")[:100]
            ]  # fmt: skip
    return {
        "assignment": a.id,
        "student": student.username,
        "max_points": a.points,
        "submission": g.submission_id,
        "automatic": g.automatic,
        "late": g.late,
        "override": g.override,
        "override_reason": g.override_reason,
        "bonus": g.bonus,
        "bonus_reason": g.bonus_reason,
        "rubric": [
            {
                "id": i.id,
                "title": i.title,
                "description": i.description,
                "points": i.points,
                "awarded": awarded.get(i.id, 0.0),
            }
            for i in rubric_of(a)
        ],  # fmt: skip
        "rubric_points": g.rubric,
        "points": g.points,
        "adjusted": g.adjusted,
        "adjusted_by": g.adjusted_by or None,
        "adjusted_at": g.adjusted_at,
        "history": history,
    }


def save(
    a: Assignment,
    student: Any,
    user: Any,
    *,
    override: Any = None,
    override_reason: str = "",
    bonus: Any = 0.0,
    bonus_reason: str = "",
    awards: dict[int, Any] | None = None,
) -> Adjustment:
    """Set the whole adjustment (what is not given is cleared: no override, no bonus, no rubric
    item awarded). Every value is checked before anything is written; a save that changes
    something is recorded in the history with who and when."""
    require_staff(user, a)
    new_override = (
        None
        if override is None or override == ""
        else _number(override, "override", 0.0, MAX_POINTS, f"0 to {MAX_POINTS:g} points")
    )
    reason = _text(
        override_reason,
        "override_reason",
        "say why the points are overridden (the student reads it)"
        if new_override is not None
        else "",
    )
    if new_override is None:
        reason = ""  # a reason goes with an override
    new_bonus = _number(
        bonus if bonus not in (None, "") else 0.0, "bonus", -MAX_POINTS, MAX_POINTS,
        f"a number of points from {-MAX_POINTS:g} to {MAX_POINTS:g} (negative: a penalty)",
    )  # fmt: skip
    new_bonus_reason = _text(bonus_reason, "bonus_reason")
    items = {i.id: i for i in rubric_of(a)}
    new_awards: dict[int, float] = {}
    for item_id, value in (awards or {}).items():
        field = f"rubric.{item_id}"
        item = items.get(int(item_id)) if str(item_id).isdigit() else None
        if item is None:
            raise ServiceError(
                400, "invalid", f"{field}: {a.title} has no rubric item {item_id}", field
            )
        n = _number(value, field, 0.0, item.points, f"0 to {item.points:g} points ({item.title})")
        if n:
            new_awards[item.id] = n

    with transaction.atomic():
        adjustment, _ = Adjustment.objects.select_for_update().get_or_create(
            assignment_id=a.id, student_id=student.pk
        )
        old_awards = dict(adjustment.awards.values_list("item_id", "points"))
        changes: dict[str, list[Any]] = {}
        for key, old, new in (
            ("override", adjustment.override, new_override),
            ("override_reason", adjustment.override_reason, reason),
            ("bonus", adjustment.bonus, new_bonus),
            ("bonus_reason", adjustment.bonus_reason, new_bonus_reason),
        ):
            if old != new:
                changes[key] = [old, new]
        for item_id in sorted(set(old_awards) | set(new_awards)):
            old, new = old_awards.get(item_id, 0.0), new_awards.get(item_id, 0.0)
            if old != new:
                changes[f"rubric: {items[item_id].title}"] = [old, new]
        if not changes:
            return adjustment
        adjustment.override, adjustment.override_reason = new_override, reason
        adjustment.bonus, adjustment.bonus_reason = new_bonus, new_bonus_reason
        adjustment.changed_by, adjustment.changed_at = user, timezone.now()
        adjustment.save()
        RubricAward.objects.filter(adjustment=adjustment).exclude(item_id__in=new_awards).delete()
        for item_id, points in new_awards.items():
            RubricAward.objects.update_or_create(
                adjustment=adjustment, item_id=item_id, defaults={"points": points}
            )
        AdjustmentChange.objects.create(
            adjustment=adjustment, changed_by=user, changed_at=adjustment.changed_at,
            changes=changes,
        )  # fmt: skip
        signals.send_on_commit(signals.grade_adjusted, assignment_id=a.id, student_id=student.pk)
    return adjustment
