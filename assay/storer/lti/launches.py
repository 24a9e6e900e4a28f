"""What a validated launch does in assay (docs/lti.md):

- a **resource link** launch opens its assignment: the platform's user gets their account, the
  LMS course's assay course its membership with the role the launch's roles give, the link its
  assignment (named by the deep linking's custom parameter ``assignment``), and the line item
  and service URLs are kept for the scores and the roster;
- a **deep linking** launch lets a teacher pick assignments (``deep_link_items``).

An LMS course (context) is linked to an assay course only by someone entitled to it: a
deep linking pick by a supervisor of the course (or an administrator), a course created for the
context, or an administrator (the admin pages, ``assay lti link``). A student's launch never
links anything: a link whose context is not linked yet is refused with what to do."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from assay.storer.courses.models import Assignment, Course, Membership
from assay.storer.courses.permissions import can_supervise

from . import people
from .models import LtiContext, LtiLink, Platform

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DEEP_LINKING = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"


class Refused(Exception):
    """A launch assay will not follow; the message says why and what to do."""


def roles(body: Mapping[str, Any]) -> list[str]:
    return list(body.get(LTI + "roles") or [])


def context(platform: Platform, body: Mapping[str, Any]) -> LtiContext:
    """The launch's LMS course, made on first sight; its title and service URLs follow the
    latest launch."""
    claim = body.get(LTI + "context") or {}
    if not claim.get("id"):
        raise Refused(
            "the launch comes from outside an LMS course (no context): place assay's "
            "assignments inside a course"
        )
    found, _ = LtiContext.objects.get_or_create(platform=platform, context_id=str(claim["id"]))
    fields = {
        "title": str(claim.get("title") or "")[:300],
        "label": str(claim.get("label") or "")[:100],
    }
    nrps = body.get(NRPS) or {}
    if nrps.get("context_memberships_url"):
        fields["memberships_url"] = nrps["context_memberships_url"]
    ags = body.get(AGS) or {}
    if ags.get("lineitems"):
        fields["lineitems_url"] = ags["lineitems"]
    changed = [k for k, v in fields.items() if getattr(found, k) != v]
    if changed:
        for k in changed:
            setattr(found, k, fields[k])
        found.save(update_fields=changed)
    return found


def _assignment_named(value: str) -> Assignment | None:
    """The assignment a custom parameter names: its id, or COURSE/SLUG."""
    value = value.strip()
    qs = Assignment.objects.select_related("course")
    if value.isdigit():
        return qs.filter(pk=int(value)).first()
    course, _, slug = value.partition("/")
    return qs.filter(course__slug=course, slug=slug).first() if slug else None


def link_course(ctx: LtiContext, course: Course, user: Any) -> None:
    """Link the LMS course to the assay course, if the user supervises it."""
    if ctx.course_id == course.id:
        return
    if not can_supervise(user, course):
        raise Refused(
            f"only a supervisor of the assay course {course.title} may link an LMS course to it"
        )
    if ctx.course_id is not None:
        raise Refused(
            f"this LMS course is linked to the assay course {ctx.course} already: an "
            "administrator may change that in the admin pages"
        )
    ctx.course = course
    ctx.save(update_fields=["course"])


def resource_link(platform: Platform, body: Mapping[str, Any], user: Any) -> LtiLink:
    """Record the resource link of a launch and find its assignment (see the module's
    docstring for who may link what)."""
    ctx = context(platform, body)
    claim = body.get(LTI + "resource_link") or {}
    ags = body.get(AGS) or {}
    with transaction.atomic():
        link, _ = LtiLink.objects.select_for_update().get_or_create(
            context=ctx, resource_link_id=str(claim["id"])
        )
        link.title = str(claim.get("title") or "")[:300]
        if ags.get("lineitem"):
            link.lineitem_url = ags["lineitem"]
        if ags.get("scope"):
            link.scopes = list(ags["scope"])
        custom = body.get(LTI + "custom") or {}
        named = str(custom.get("assignment") or "")
        if named:
            a = _assignment_named(named)
            if a is None:
                raise Refused(
                    f"the link names the assignment {named!r}, which assay does not have: "
                    "place the link again with the LMS's tool picker (deep linking)"
                )
            if ctx.course_id is None and people.course_role(roles(body)) == Membership.SUPERVISOR:
                link_course(ctx, a.course, user)
            if ctx.course_id != a.course_id:
                raise Refused(
                    "this LMS course is not linked to the assignment's assay course: its "
                    "teacher links them by adding the assignment with the LMS's tool picker "
                    "(deep linking)"
                )
            link.assignment = a
        link.save()
    link.context = ctx
    return link


def enter_course(ctx: LtiContext, user: Any, body: Mapping[str, Any]) -> Course:
    """The user's membership in the context's course, from the launch's roles."""
    if ctx.course is None:
        raise Refused(
            "this LMS course is not linked to an assay course yet: its teacher adds an assay "
            "assignment to it with the LMS's tool picker (deep linking) first"
        )
    role = people.course_role(roles(body))
    if role is None and not can_supervise(user, ctx.course):
        raise Refused(
            f"your role in the LMS course ({people.role_names(roles(body))}) gives no access "
            "to assay: ask the course's teacher"
        )
    if role is not None:
        people.enrol(ctx.course, user, role)
    return ctx.course


def deep_link_choices(ctx: LtiContext, user: Any) -> list[Course]:
    """The courses whose assignments the user may place in the LMS course: the linked one, or
    (not linked yet) every course they supervise."""
    if ctx.course is not None:
        return [ctx.course]
    courses = Course.objects.order_by("title")
    if not user.is_superuser:
        courses = courses.filter(
            memberships__user=user, memberships__role=Membership.SUPERVISOR
        ).distinct()
    return list(courses)
