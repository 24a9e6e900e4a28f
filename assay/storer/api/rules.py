"""The REST API of an assignment's rules (docs/deadlines.md): its settings by course and slug,
unpublishing, per-student extensions, the course's time zone, and the grades."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.utils import timezone
from ninja import Field, Router, Schema, Status

from assay.storer.courses import extensions
from assay.storer.courses.models import Assignment, validate_time_zone
from assay.storer.courses.permissions import can_supervise
from assay.storer.evaluation import lists
from assay.storer.evaluation.grades import Grade, course_grades
from assay.storer.groups.services import students

from . import users
from .auth import USER_AUTH
from .errors import ApiError, not_found
from .groups import chosen_group
from .paging import PAGE_SIZE, PAGED, page_of
from .schemas import Id, errors
from .users import (
    AssignmentPatch,
    assignment_json,
    course_json,
    get_assignment,
    get_course,
    patch_assignment,
    require_supervisor,
)

router = Router(auth=USER_AUTH)


def _by_slug(request: Any, slug: str, assignment_slug: str) -> Assignment:
    course = get_course(slug, request.auth)
    a = course.assignments.filter(slug=assignment_slug).first()
    if a is None:
        raise not_found(f"assignment {assignment_slug!r}")
    return get_assignment(a.id, request.auth)  # the same visibility as by id


@router.patch(
    "/courses/{slug}/assignments/{assignment_slug}",
    response={200: dict, **errors(400, 401, 403, 404)},
    summary="Change an assignment's settings and rules (by course and slug)",
)
def update_assignment_by_slug(request, slug: str, assignment_slug: str, patch: AssignmentPatch):
    """As ``PATCH /assignments/{id}``."""
    a = _by_slug(request, slug, assignment_slug)
    require_supervisor(request.auth, a.course)
    return patch_assignment(a, patch)


@router.post(
    "/assignments/{assignment_id}/unpublish",
    response={200: dict, **errors(400, 401, 403, 404)},
    summary="Unpublish: students no longer see the assignment (its versions stay)",
)
def unpublish(request, assignment_id: Id):
    """Publishing a version again (``POST .../versions/{n}/publish``) shows it again, with the
    submissions made so far."""
    a = get_assignment(assignment_id, request.auth)
    require_supervisor(request.auth, a.course)
    a.current_version = None
    a.save(update_fields=["current_version"])
    return assignment_json(a)


class TimeZonePatch(Schema):
    time_zone: str = Field(..., min_length=1, max_length=64)


# on the users' router: its GET /courses/{slug} and this PATCH must share one path
@users.router.patch(
    "/courses/{slug}",
    response={200: dict, **errors(400, 401, 403, 404)},
    summary="Change a course's time zone (supervisors)",
)
def update_course(request, slug: str, patch: TimeZonePatch):
    """``time_zone``: an IANA name (``Europe/Prague``); the course's pages show and read times
    in it. The API's times stay ISO 8601 with their offsets."""
    course = get_course(slug, request.auth)
    require_supervisor(request.auth, course)
    try:
        validate_time_zone(patch.time_zone)
    except ValidationError as e:
        raise ApiError(400, "invalid", f"time_zone: {e.messages[0]}", "time_zone") from e
    course.time_zone = patch.time_zone
    course.save(update_fields=["time_zone"])
    return course_json(course, request.auth) | {"time_zone": course.time_zone}


# -- extensions -----------------------------------------------------------------------------


@router.get(
    "/assignments/{assignment_id}/extensions",
    response={200: list[dict], **errors(400, 401, 403, 404)},
    openapi_extra=PAGED,
    summary="The assignment's per-student extensions (supervisors)",
)
def list_extensions(request, response: HttpResponse, assignment_id: Id, page: Id = 1):
    """By student, in pages of 100 (``X-Total-Count``, ``Link``)."""
    a = get_assignment(assignment_id, request.auth)
    require_supervisor(request.auth, a.course)
    shown = page_of(request, response, extensions.of_assignment(a), page, PAGE_SIZE)
    return [extensions.extension_json(e) for e in shown]


class ExtensionIn(Schema):
    deadline: dt.datetime
    second_deadline: dt.datetime | None = None
    reason: str = Field("", max_length=200)


@router.put(
    "/assignments/{assignment_id}/extensions/{username}",
    response={200: dict, **errors(400, 401, 403, 404)},
    summary="Give a student their own deadline(s) (supervisors)",
)
def put_extension(request, assignment_id: Id, username: str, body: ExtensionIn):
    """Replaces the student's extension if they had one. The deadline must be after the
    assignment's; the second deadline, if any, after the extension's deadline."""
    a = get_assignment(assignment_id, request.auth)
    require_supervisor(request.auth, a.course)
    e = extensions.grant(
        a, username, body.deadline, body.second_deadline, body.reason, request.auth
    )
    return extensions.extension_json(e)


@router.delete(
    "/assignments/{assignment_id}/extensions/{username}",
    response={204: None, **errors(400, 401, 403, 404)},
    summary="Take a student's extension back (supervisors)",
)
def delete_extension(request, assignment_id: Id, username: str):
    a = get_assignment(assignment_id, request.auth)
    require_supervisor(request.auth, a.course)
    extensions.revoke(a, username)
    return Status(204, None)


# -- grades ---------------------------------------------------------------------------------


class GradeOut(Schema):
    student: str
    assignment: str = Field(description="the assignment's slug")
    points: float | None = Field(description="the grade, the staff's adjustments included")
    automatic: float | None = Field(description="the counted submission's, after the late factor")
    unfactored: float | None = Field(description="its points before the late factor")
    late: bool
    late_factor: float
    submission: int | None = Field(description="the submission that counts")
    adjusted: bool = Field(description="changed by hand: an override, a bonus or rubric points")
    override: float | None = Field(description="the staff's points instead of `automatic`")
    bonus: float = Field(description="added by the staff (negative: a penalty)")
    rubric_points: float = Field(description="the rubric items awarded")


def grade_json(g: Grade, student: str, assignment: str) -> dict[str, Any]:
    return {
        "student": student,
        "assignment": assignment,
        "points": g.points,
        "automatic": g.automatic,  # after the late factor
        "unfactored": g.unfactored,
        "late": g.late,
        "late_factor": g.late_factor,
        "submission": g.submission_id,
        "adjusted": g.adjusted,
        "override": g.override,
        "bonus": g.bonus,
        "rubric_points": g.rubric,
    }


@router.get(
    "/courses/{slug}/grades",
    response={200: list[GradeOut], **errors(400, 401, 404)},
    openapi_extra=PAGED,
    summary="Grades: a supervisor's of every student (in pages), a student's own",
)
def list_grades(request, response: HttpResponse, slug: str, page: Id = 1, group: Id | None = None):
    """One entry per student and published assignment with something to grade: the points, the
    submission that counts (by the assignment's rule, last or best), whether it was late and
    whether the staff adjusted it. Supervisors get the students 50 a page (``X-Total-Count``
    students in all, ``Link``); ``group``: one group's members only (a student: a group they are in)."""
    course = get_course(slug, request.auth)
    chosen = chosen_group(course, group, request.auth)
    published = course.assignments.filter(current_version__isnull=False)
    supervisor = can_supervise(request.auth, course)
    if not supervisor:  # not what is not released yet
        published = published.exclude(release_at__gt=timezone.now())
    assignments = dict(published.values_list("id", "slug"))
    if supervisor:
        students_shown = dict(
            page_of(request, response, students(course, chosen), page, lists.PAGE_SIZE)
        )
    else:
        students_shown = {request.auth.id: request.auth.username}
    if not students_shown:
        return []
    graded = course_grades(course, assignments, students_shown)
    return [
        grade_json(g, students_shown[sid], assignments[aid])
        for (sid, aid), g in sorted(
            graded.items(), key=lambda kv: (students_shown[kv[0][0]], kv[0][1])
        )
    ]
