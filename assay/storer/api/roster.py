"""The REST API for running a course: courses and accounts (administrators), members, the
self-enrolment key and link, roster imports (supervisors), and joining with a key (anyone)."""

from __future__ import annotations

from typing import Annotated, Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpResponse
from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from assay.storer.courses.models import Course, Membership
from assay.storer.roster import accounts, csvimport
from assay.storer.roster import members as roster

from .auth import USER_AUTH
from .errors import ApiError, not_found
from .paging import PAGE_SIZE, PAGED, page_of
from .schemas import Count, Id, errors
from .users import course_json, get_course, require_admin, require_supervisor
from .users import router as people

router = Router(auth=USER_AUTH)


class CourseIn(Schema):
    slug: str = Field(..., pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=50)
    title: str = Field(..., min_length=1, max_length=200)
    supervisor: str | None = Field(None, max_length=150, description="an existing username")


class AccountIn(Schema):
    username: str = Field(..., max_length=150)
    email: str = Field(..., max_length=254)
    first_name: str = Field("", max_length=150)
    last_name: str = Field("", max_length=150)
    administrator: bool = Field(False, strict=True)


class AccountPatch(Schema):
    active: bool | None = Field(None, strict=True)
    send_set_password: bool = Field(False, strict=True)


class MemberIn(Schema):
    username: str = Field(..., max_length=150)
    role: str = Field(Membership.STUDENT, description="student or supervisor")


class EnrolmentPatch(Schema):
    self_enrolment: bool | None = Field(None, strict=True)
    regenerate: bool = Field(
        False, strict=True, description="a new key: the old key and link stop working"
    )


class JoinIn(Schema):
    key: str = Field(..., max_length=40)


def account_json(u: Any) -> dict[str, Any]:
    return {
        "username": u.username, "email": u.email, "first_name": u.first_name,
        "last_name": u.last_name, "administrator": bool(u.is_superuser), "active": u.is_active,
        "password_set": u.has_usable_password(), "last_login": u.last_login,
    }  # fmt: skip


def member_json(m: Membership) -> dict[str, Any]:
    return {
        "username": m.user.username, "first_name": m.user.first_name,
        "last_name": m.user.last_name, "email": m.user.email, "role": m.role,
    }  # fmt: skip


def _user(username: str) -> Any:
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise ApiError(404, "unknown_user", f"no account is named {username!r}", "username")
    return user


# -- administrators ---------------------------------------------------------------------------


# on the router that has GET /courses: django-ninja gives a path to the first router with it
@people.post(
    "/courses",
    response={201: dict, **errors(400, 401, 403, 404, 409)},
    summary="Create a course (administrators)",
)
def create_course(request, body: CourseIn):
    require_admin(request.auth)
    if Course.objects.filter(slug=body.slug).exists():
        raise ApiError(409, "exists", f"a course named {body.slug!r} exists already", "slug")
    supervisor = _user(body.supervisor) if body.supervisor else None
    with transaction.atomic():
        course = Course.objects.create(slug=body.slug, title=body.title)
        if supervisor is not None:
            Membership.objects.create(course=course, user=supervisor, role=Membership.SUPERVISOR)
    return Status(201, course_json(course, request.auth))


@router.get(
    "/users",
    response={200: list[dict], **errors(400, 401, 403)},
    openapi_extra=PAGED,
    summary="Accounts (administrators)",
)
def list_users(
    request, response: HttpResponse, page: Count = 1, q: Annotated[str, Field(max_length=150)] = ""
):
    """By username, 100 a page (``X-Total-Count``, ``Link``; page 0 is page 1)."""
    require_admin(request.auth)
    qs = get_user_model().objects.order_by("username")
    if q:
        qs = qs.filter(username__icontains=q)
    return [account_json(u) for u in page_of(request, response, qs, max(page, 1), PAGE_SIZE)]


@router.post(
    "/users",
    response={201: dict, **errors(400, 401, 403, 409)},
    summary="Create an account (administrators)",
)
def create_user(request, body: AccountIn):
    """The account has no password: its owner gets an e-mail with a link to set one
    (``mailed`` says whether it went out)."""
    require_admin(request.auth)
    user = accounts.create_account(
        body.username, body.email, body.first_name, body.last_name, body.administrator
    )
    return Status(201, {**account_json(user), "mailed": accounts.send_set_password([user]) == 1})


@router.patch(
    "/users/{username}",
    response={200: dict, **errors(400, 401, 403, 404, 409)},
    summary="Deactivate or reactivate an account; send the set-password e-mail again (administrators)",
)
def update_user(request, username: str, body: AccountPatch):
    require_admin(request.auth)
    user = _user(username)
    if body.active is not None:
        accounts.set_active(user, body.active, request.auth)
    mailed = None
    if body.send_set_password:
        mailed = (
            accounts.send_set_password([user], "Here is a new link to set your assay password.")
            == 1
        )
    return {**account_json(user), "mailed": mailed}


# -- supervisors ------------------------------------------------------------------------------


@router.get(
    "/courses/{slug}/members",
    response={200: list[dict], **errors(400, 401, 403, 404)},
    openapi_extra=PAGED,
    summary="A course's members (supervisors)",
)
def list_members(request, response: HttpResponse, slug: str, page: Id = 1):
    """Supervisors first, then by username, in pages of 100 (``X-Total-Count``, ``Link``)."""
    course = get_course(slug, request.auth)
    require_supervisor(request.auth, course)
    qs = (
        Membership.objects.filter(course=course)
        .select_related("user")
        .order_by("role", "user__username")
    )
    return [member_json(m) for m in page_of(request, response, qs, page, PAGE_SIZE)]


@router.post(
    "/courses/{slug}/members",
    response={200: dict, **errors(400, 401, 403, 404, 409)},
    summary="Add a member or change a member's role (supervisors)",
)
def put_member(request, slug: str, body: MemberIn):
    course = get_course(slug, request.auth)
    require_supervisor(request.auth, course)
    m = roster.set_role(course, _user(body.username), body.role)
    return member_json(m)


@router.delete(
    "/courses/{slug}/members/{username}",
    response={204: None, **errors(401, 403, 404, 409)},
    summary="Remove a member (supervisors)",
)
def delete_member(request, slug: str, username: str):
    course = get_course(slug, request.auth)
    require_supervisor(request.auth, course)
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise not_found(f"member {username!r}")
    roster.remove(course, user)
    return Status(204, None)


def enrolment_json(request: Any, course: Course) -> dict[str, Any]:
    e = roster.enrolment(course)
    return {
        "self_enrolment": e.open, "key": e.key, "key_created_at": e.key_created_at,
        "link": request.build_absolute_uri(roster.invitation_path(e)),
    }  # fmt: skip


@router.get(
    "/courses/{slug}/enrolment",
    response={200: dict, **errors(401, 403, 404)},
    summary="Self-enrolment: on or off, the key and the invitation link (supervisors)",
)
def get_enrolment(request, slug: str):
    course = get_course(slug, request.auth)
    require_supervisor(request.auth, course)
    return enrolment_json(request, course)


@router.patch(
    "/courses/{slug}/enrolment",
    response={200: dict, **errors(400, 401, 403, 404)},
    summary="Turn self-enrolment on or off; a new key (supervisors)",
)
def update_enrolment(request, slug: str, body: EnrolmentPatch):
    course = get_course(slug, request.auth)
    require_supervisor(request.auth, course)
    if body.self_enrolment is not None:
        roster.set_open(course, body.self_enrolment)
    if body.regenerate:
        roster.regenerate(course)
    return enrolment_json(request, course)


def _plan_json(plan: csvimport.Plan) -> dict[str, Any]:
    return {
        "ok": plan.ok, **plan.summary(),
        "lines": [
            {"line": r.line, "username": r.username, "email": r.email, "first_name": r.first_name,
             "last_name": r.last_name, "role": r.role, "action": r.action or None}
            for r in plan.lines
        ],
        "problems": [{"line": p.line, "field": p.field, "message": p.message} for p in plan.problems],
    }  # fmt: skip


@router.post(
    "/courses/{slug}/roster",
    response={200: dict, **errors(400, 401, 403, 404, 413)},
    summary="Import a roster CSV: a dry run, or applied (supervisors)",
)
def import_roster(
    request, slug: str, roster_: UploadedFile = File(..., alias="roster"), apply: Form[bool] = False
):
    """``apply=false`` (the default): what the file would do, nothing changed. ``apply=true``:
    done, if the file has no problem (a 400 ``bad_roster`` with the same document otherwise,
    and nothing changed)."""
    course = get_course(slug, request.auth)
    require_supervisor(request.auth, course)
    if roster_.size is not None and roster_.size > csvimport.MAX_BYTES:
        raise ApiError(
            413,
            "upload_too_large",
            f"roster: larger than {csvimport.MAX_BYTES // 1024} KiB",
            "roster",
        )
    data = roster_.read()
    if not apply:
        return {**_plan_json(csvimport.read_roster(data, course)), "applied": False}
    done = csvimport.apply_roster(data, course)
    if not done.plan.ok:
        first = done.plan.problems[0] if done.plan.problems else None
        raise ApiError(
            400,
            "bad_roster",
            f"the roster has problems, nothing was imported: {first}",
            first.field if first else "roster",
        )
    return {**_plan_json(done.plan), "applied": True, "mailed": done.mailed}


# -- anyone -----------------------------------------------------------------------------------


@router.post(
    "/join",
    response={200: dict, **errors(400, 401, 403, 404, 409)},
    summary="Join a course as a student with its key",
)
def join(request, body: JoinIn):
    course, joined = roster.join(request.auth, body.key)
    return {**course_json(course, request.auth), "joined": joined}
