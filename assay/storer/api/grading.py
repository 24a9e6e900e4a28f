"""The REST API for manual grading: an assignment's rubric (read by whoever sees the assignment,
written by the staff) and one student's grade with the staff's adjustment (read by the student
and the staff, written by the staff). Who may do what: ``grading.services``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Router, Schema, Status

from assay.storer.grading import services
from assay.storer.grading.models import MAX_POINTS, MAX_REASON_CHARS, RubricItem

from .auth import USER_AUTH
from .errors import not_found
from .schemas import BodyId, Id, errors
from .users import get_assignment

router = Router(auth=USER_AUTH)


class RubricItemOut(Schema):
    id: int
    assignment: int
    title: str
    description: str
    points: float = Field(description="the most the item gives")
    order: int


class RubricItemIn(Schema):
    title: str = Field(min_length=1, max_length=200)
    points: float = Field(gt=0, le=MAX_POINTS, allow_inf_nan=False, strict=True)
    description: str = Field("", max_length=MAX_REASON_CHARS)
    order: int | None = Field(None, ge=0, le=10_000, strict=True, description="default: last")


class RubricItemPatch(Schema):
    title: str | None = Field(None, min_length=1, max_length=200)
    points: float | None = Field(None, gt=0, le=MAX_POINTS, allow_inf_nan=False, strict=True)
    description: str | None = Field(None, max_length=MAX_REASON_CHARS)
    order: int | None = Field(None, ge=0, le=10_000, strict=True)


class AwardIn(Schema):
    item: BodyId
    points: float = Field(ge=0, le=MAX_POINTS, allow_inf_nan=False, strict=True)


class AdjustmentIn(Schema):
    override: float | None = Field(
        None, ge=0, le=MAX_POINTS, allow_inf_nan=False, strict=True,
        description="these points instead of the automatic ones; null: the automatic ones",
    )  # fmt: skip
    override_reason: str = Field(
        "", max_length=MAX_REASON_CHARS, description="required with an override"
    )
    bonus: float = Field(
        0.0, ge=-MAX_POINTS, le=MAX_POINTS, allow_inf_nan=False, strict=True,
        description="added on top; negative: a penalty",
    )  # fmt: skip
    bonus_reason: str = Field("", max_length=MAX_REASON_CHARS)
    rubric: list[AwardIn] = Field(
        default_factory=list,
        max_length=100,
        description="the items awarded and their points; the others give nothing",
    )


class RubricAwardOut(Schema):
    id: int
    title: str
    description: str
    points: float
    awarded: float


class ChangeOut(Schema):
    by: str | None
    at: datetime
    changes: dict[str, list[Any]] = Field(description="each changed value as [before, after]")


class GradeOut(Schema):
    assignment: int
    student: str
    max_points: float
    submission: int | None = Field(description="the submission the automatic points come from")
    automatic: float | None
    late: bool
    override: float | None
    override_reason: str
    bonus: float
    bonus_reason: str
    rubric: list[RubricAwardOut]
    rubric_points: float
    points: float | None = Field(description="what the student gets; null: nothing to grade yet")
    adjusted: bool
    adjusted_by: str | None
    adjusted_at: datetime | None
    history: list[ChangeOut] = Field(description="the staff's changes, newest first (staff only)")


def item_json(i: RubricItem) -> dict[str, Any]:
    return {
        "id": i.id, "assignment": i.assignment_id, "title": i.title,
        "description": i.description, "points": i.points, "order": i.order,
    }  # fmt: skip


def _item(item_id: int, user: Any) -> RubricItem:
    """The item, if the user may see its assignment (404 otherwise)."""
    item = services.get_item(item_id)
    if item is None:
        raise not_found(f"rubric item {item_id}")
    get_assignment(item.assignment_id, user)
    return item


@router.get(
    "/assignments/{assignment_id}/rubric",
    response={200: list[RubricItemOut], **errors(400, 401, 404)},
    summary="An assignment's rubric items, in order",
)
def list_rubric(request, assignment_id: Id):
    a = get_assignment(assignment_id, request.auth)
    return [item_json(i) for i in services.rubric_of(a)]


@router.post(
    "/assignments/{assignment_id}/rubric",
    response={201: RubricItemOut, **errors(400, 401, 403, 404)},
    summary="Add a rubric item (staff)",
)
def add_rubric_item(request, assignment_id: Id, body: RubricItemIn):
    a = get_assignment(assignment_id, request.auth)
    item = services.add_item(a, request.auth, body.title, body.points, body.description, body.order)
    return Status(201, item_json(item))


@router.patch(
    "/rubric/{item_id}",
    response={200: RubricItemOut, **errors(400, 401, 403, 404)},
    summary="Change a rubric item (staff); awards above its new points come down to them",
)
def edit_rubric_item(request, item_id: Id, body: RubricItemPatch):
    item = _item(item_id, request.auth)
    changes = body.dict(exclude_none=True)
    return item_json(services.edit_item(item, request.auth, **changes))


@router.delete(
    "/rubric/{item_id}",
    response={204: None, **errors(400, 401, 403, 404)},
    summary="Delete a rubric item and what it gave every student (staff)",
)
def delete_rubric_item(request, item_id: Id):
    item = _item(item_id, request.auth)
    services.delete_item(item, request.auth)
    return Status(204, None)


@router.get(
    "/assignments/{assignment_id}/grades/{username}",
    response={200: GradeOut, **errors(400, 401, 404)},
    summary="A student's grade: automatic points, the staff's adjustment, the total",
)
def get_grade(request, assignment_id: Id, username: str):
    """A student reads their own (without the history); the staff any student's."""
    a = get_assignment(assignment_id, request.auth)
    student = services.student_of(a, username, request.auth)
    return services.sheet(a, student, request.auth)


@router.put(
    "/assignments/{assignment_id}/grades/{username}",
    response={200: GradeOut, **errors(400, 401, 403, 404)},
    summary="Set a student's adjustment: override with reason, bonus, rubric items (staff)",
)
def put_grade(request, assignment_id: Id, username: str, body: AdjustmentIn):
    """The whole adjustment: what the body leaves out is cleared (no override, no bonus, no
    rubric item awarded)."""
    a = get_assignment(assignment_id, request.auth)
    student = services.student_of(a, username, request.auth)
    services.save(
        a, student, request.auth, override=body.override, override_reason=body.override_reason,
        bonus=body.bonus, bonus_reason=body.bonus_reason,
        awards={x.item: x.points for x in body.rubric},
    )  # fmt: skip
    return services.sheet(a, student, request.auth)
