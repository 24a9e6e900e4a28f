"""The REST API for groups and teams: a course's supervisors list, create, change and delete its
groups and switch team submissions on per assignment; a student lists the groups they are in."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from ninja import Field, Router, Schema, Status

from assay.storer.courses.models import Course
from assay.storer.courses.permissions import can_supervise
from assay.storer.groups import services
from assay.storer.groups.models import Group

from .auth import USER_AUTH
from .errors import ApiError, not_found
from .paging import PAGE_SIZE, PAGED, page_of
from .schemas import Id, errors
from .users import get_assignment, get_course, require_supervisor

router = Router(auth=USER_AUTH)


class GroupIn(Schema):
    name: str = Field(max_length=services.MAX_NAME)
    kind: str = Field(Group.LAB, description="`lab` or `team`")
    supervisors: list[str] = Field([], description="usernames of the course's supervisors")
    members: list[str] = Field([], description="usernames of the course's students")


class GroupPatch(Schema):
    name: str | None = Field(None, max_length=services.MAX_NAME)
    kind: str | None = None
    supervisors: list[str] | None = None
    members: list[str] | None = None


class TeamsIn(Schema):
    in_teams: bool = Field(strict=True)


def group_json(g: Group) -> dict[str, Any]:
    return {
        "id": g.id,
        "course": g.course.slug,
        "name": g.name,
        "kind": g.kind,
        "supervisors": sorted(u.username for u in g.supervisors.all()),
        "members": sorted(u.username for u in g.members.all()),
    }


def _group(slug: str, group_id: int, user: Any) -> Group:
    course = get_course(slug, user)
    require_supervisor(user, course)
    g = Group.objects.filter(pk=group_id, course=course).select_related("course").first()
    if g is None:
        raise not_found(f"group {group_id}")
    return g


def chosen_group(course: Course, group_id: int | None, user: Any) -> Group | None:
    """The group a ``?group=ID`` filter names (none: every student): one of the course's, for a
    student one they are in; any other is a 404 naming ``group``."""
    if group_id is None:
        return None
    qs = Group.objects.filter(pk=group_id, course=course)
    if not can_supervise(user, course):
        qs = qs.filter(members=user)
    g = qs.first()
    if g is None:
        raise ApiError(404, "not_found", f"group {group_id} not found", "group")
    return g


@router.get(
    "/courses/{slug}/groups",
    response={200: list[dict], **errors(400, 401, 404)},
    openapi_extra=PAGED,
    summary="A course's groups (a student: the ones they are in)",
)
def list_groups(request, response: HttpResponse, slug: str, page: Id = 1):
    """Supervisors: labs, then teams, by name; in pages of 100 (``X-Total-Count``, ``Link``)."""
    user = request.auth
    course = get_course(slug, user)
    if can_supervise(user, course):
        qs = services.course_groups(course)
    else:
        qs = services.groups_of(user.pk, course)
    return [group_json(g) for g in page_of(request, response, qs, page, PAGE_SIZE)]


@router.post(
    "/courses/{slug}/groups",
    response={201: dict, **errors(400, 401, 403, 404)},
    summary="Create a group or team (supervisors)",
)
def create_group(request, slug: str, body: GroupIn):
    course = get_course(slug, request.auth)
    require_supervisor(request.auth, course)
    g = services.save_group(course, **body.dict())
    return Status(201, group_json(g))


@router.get(
    "/courses/{slug}/groups/{group_id}",
    response={200: dict, **errors(400, 401, 403, 404)},
    summary="One group (supervisors)",
)
def group_detail(request, slug: str, group_id: Id):
    return group_json(_group(slug, group_id, request.auth))


@router.patch(
    "/courses/{slug}/groups/{group_id}",
    response={200: dict, **errors(400, 401, 403, 404)},
    summary="Rename a group, change its kind, supervisors or members (supervisors)",
)
def update_group(request, slug: str, group_id: Id, patch: GroupPatch):
    g = _group(slug, group_id, request.auth)
    now = {k: v for k, v in group_json(g).items() if k in GroupPatch.model_fields}
    changed = {k: v for k, v in patch.dict().items() if v is not None}
    return group_json(services.save_group(g.course, **{**now, **changed}, group=g))


@router.delete(
    "/courses/{slug}/groups/{group_id}",
    response={204: None, **errors(400, 401, 403, 404)},
    summary="Delete a group (the submissions its team shared stay shared)",
)
def delete_group(request, slug: str, group_id: Id):
    _group(slug, group_id, request.auth).delete()
    return Status(204, None)


@router.put(
    "/assignments/{assignment_id}/teams",
    response={200: dict, **errors(400, 401, 403, 404)},
    summary="Switch team submissions on or off for an assignment (supervisors)",
)
def set_teams(request, assignment_id: Id, body: TeamsIn):
    a = get_assignment(assignment_id, request.auth)
    require_supervisor(request.auth, a.course)
    services.set_in_teams(a, body.in_teams)
    return {"assignment": a.id, "in_teams": services.in_teams(a)}
