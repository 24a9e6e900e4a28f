"""Who a launch (or a roster line of Names and Role Provisioning) is in assay: the account of a
platform's user, and the course role that their LTI roles give (docs/lti.md):

- Instructor, TeachingAssistant (a sub-role of Instructor), Administrator and
  ContentDeveloper of the context: supervisor (assay's staff role);
- Learner: student;
- any other role (Mentor, Member, an institution or system role alone): no access.

A new account gets the platform's name and e-mail and no usable password (its owner comes in
through the LMS; an administrator may send a set-password e-mail from the accounts page). An
existing account is linked by e-mail only when the registration trusts the platform's e-mail
addresses (``trust_email``)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from assay.storer.courses.models import Course, Membership
from assay.storer.roster.accounts import NAME_CHARS, new_account

from .models import LtiAccount, Platform

MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
SUB_ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership/"  # e.g. Instructor#TeachingAssistant
STAFF = {"Instructor", "Administrator", "ContentDeveloper", "TeachingAssistant"}
STUDENT = {"Learner"}


def context_roles(roles: Iterable[str]) -> set[str]:
    """The context roles' short names: 'Instructor' for
    http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor, 'TeachingAssistant' for
    …/membership/Instructor#TeachingAssistant, and the bare names of LTI 1.1 ('Learner')."""
    found = set()
    for role in roles:
        if role.startswith(MEMBERSHIP):
            found.add(role[len(MEMBERSHIP) :])
        elif role.startswith(SUB_ROLE) or "/" not in role and ":" not in role:
            found.add(role.rsplit("#", 1)[-1])
    return found


def course_role(roles: Iterable[str]) -> str | None:
    """The assay course role these LTI roles give, or None (no access)."""
    short = context_roles(roles)
    if short & STAFF:
        return Membership.SUPERVISOR
    if short & STUDENT:
        return Membership.STUDENT
    return None


def role_names(roles: Iterable[str]) -> str:
    """The roles as people read them, for an error message."""
    names = sorted(context_roles(roles)) or [r.rsplit("#", 1)[-1] for r in roles]
    return ", ".join(names) or "none"


def _username(platform: Platform, claims: Mapping[str, Any]) -> str:
    """A free username: the e-mail's local part, else the name, else lti-<sub>."""
    User = get_user_model()
    email = str(claims.get("email") or "")
    base = email.split("@", 1)[0] if email else str(claims.get("name") or "")
    base = re.sub(r"[^\w.@+-]", "", slugify(base).replace("-", ".")) or "lti"
    if base == "lti":
        base = "lti-" + re.sub(r"[^\w]", "", str(claims.get("sub") or ""))[:20]
    base = base[: NAME_CHARS - 8]
    candidate, n = base, 1
    while User.objects.filter(username__iexact=candidate).exists():
        n += 1
        candidate = f"{base}{n}"
    return candidate


def _names(claims: Mapping[str, Any]) -> dict[str, str]:
    given = str(claims.get("given_name") or "")[:NAME_CHARS]
    family = str(claims.get("family_name") or "")[:NAME_CHARS]
    if not given and not family and claims.get("name"):
        given, _, family = str(claims["name"]).partition(" ")
    return {"first_name": given[:NAME_CHARS], "last_name": family[:NAME_CHARS]}


def account(platform: Platform, claims: Mapping[str, Any]) -> Any:
    """The assay account of the platform's user ``claims["sub"]`` (made or linked on first
    sight); its name and e-mail follow the platform's when it sends them."""
    sub = str(claims.get("sub") or claims.get("user_id") or "")
    if not sub:
        raise ValueError("the launch names no user (no sub): an anonymous launch cannot log in")
    found = LtiAccount.objects.select_related("user").filter(platform=platform, sub=sub).first()
    email = str(claims.get("email") or "")
    names = _names(claims)
    if found is not None:
        known = found.user
        changed = {k: v for k, v in names.items() if v and getattr(known, k) != v}
        if email and known.email != email:
            changed["email"] = email
        if changed:
            for k, v in changed.items():
                setattr(known, k, v)
            known.save(update_fields=list(changed))
        return known
    User = get_user_model()
    user: Any = None
    if platform.trust_email and email:
        user = User.objects.filter(email__iexact=email).order_by("id").first()
    with transaction.atomic():
        if user is None:
            user = new_account(
                _username(platform, claims), email, names["first_name"], names["last_name"]
            )
            user.save()
        try:
            with transaction.atomic():
                LtiAccount.objects.create(platform=platform, sub=sub, user=user)
        except IntegrityError:  # a second launch of the same user at the same moment
            return LtiAccount.objects.get(platform=platform, sub=sub).user
    return user


def enrol(course: Course, user: Any, role: str) -> tuple[Membership, str]:
    """Make the user a member with at least this role: (membership, what happened: 'added',
    'promoted' or 'unchanged'). Never lowers a role (a supervisor trying the student view in
    the LMS stays a supervisor)."""
    m, created = Membership.objects.get_or_create(course=course, user=user, defaults={"role": role})
    if created:
        return m, "added"
    if role == Membership.SUPERVISOR and m.role != role:
        m.role = role
        m.save(update_fields=["role"])
        return m, "promoted"
    return m, "unchanged"


def new_course(title: str, label: str, supervisor: Any) -> Course:
    """A course made for an LMS course (its label or title as the slug), the user its
    supervisor."""
    base = slugify(label or title)[:40] or "course"
    slug, n = base, 1
    while Course.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    with transaction.atomic():
        course = Course.objects.create(slug=slug, title=(title or label or slug)[:200])
        Membership.objects.create(course=course, user=supervisor, role=Membership.SUPERVISOR)
    return course
