"""Names and Role Provisioning Services: a course's roster from its LMS course (docs/lti.md).

``sync`` reads the context's memberships, a page at a time (the ``Link: <…>; rel="next"``
header; pylti1p3's own paging lowercases the URL, which breaks platforms whose page URLs carry
a case-sensitive token), then:

1. every active member with a role that gives access gets their account (made on first sight,
   as a launch would) and membership: added, or promoted to supervisor (a role is never
   lowered, as with a roster import);
2. a student of the course whose account came from this platform and who is no longer an
   active member (absent, Inactive or Deleted) is removed from the course; their submissions
   stay. Staff are never removed by a sync (an assay supervisor may not be in the LMS course).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests
from django.utils import timezone
from pylti1p3.exception import LtiException, LtiServiceException
from pylti1p3.service_connector import ServiceConnector

from assay.storer.courses.models import Membership
from assay.storer.roster import members as roster_members

from . import people
from .models import LtiAccount, LtiContext
from .tool import http_session, registration

NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
MEDIA_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
MAX_PAGES = 1000


class SyncError(Exception):
    """The roster could not be read; the message says what to do."""


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    promoted: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)  # members whose role gives no access

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.promoted)} made supervisor, "
            f"{len(self.removed)} removed, {self.unchanged} unchanged"
            + (f", {len(self.skipped)} without a role that gives access" if self.skipped else "")
        )


def members(ctx: LtiContext) -> list[dict[str, Any]]:
    """Every member of the LMS course, across pages."""
    if not ctx.memberships_url:
        raise SyncError(
            "the LMS did not offer its roster service (NRPS) for this course: enable "
            "'Names and Role Provisioning' for the tool, then open an assay link from the "
            "course once"
        )
    connector = ServiceConnector(registration(ctx.platform), http_session())
    url: str | None = ctx.memberships_url
    found: list[dict[str, Any]] = []
    pages = 0
    try:
        while url and pages < MAX_PAGES:
            answer = connector.make_service_request([NRPS_SCOPE], url, accept=MEDIA_TYPE)
            body: dict[str, Any] = answer["body"] if isinstance(answer["body"], dict) else {}
            listed = body.get("members")
            if isinstance(listed, list):
                found.extend(m for m in listed if isinstance(m, dict))
            url = _next_page(answer["headers"])
            pages += 1
    except LtiServiceException as e:
        raise SyncError(
            f"the LMS refused the roster request ({e.response.status_code}): check that the "
            "tool may use Names and Role Provisioning"
        ) from e
    except (LtiException, requests.RequestException, ValueError) as e:
        raise SyncError(f"cannot read the roster from the LMS: {e}") from e
    return found


def _next_page(headers: Any) -> str | None:
    link = headers.get("Link") or headers.get("link") or ""
    for entry in requests.utils.parse_header_links(link):
        if entry.get("rel") == "next" and entry.get("url"):
            return str(entry["url"])
    return None


def sync(ctx: LtiContext) -> SyncReport:
    """Bring the assay course's members in line with the LMS course's (see the module)."""
    if ctx.course is None:
        raise SyncError("this LMS course is not linked to an assay course")
    course, platform = ctx.course, ctx.platform
    report = SyncReport()
    active: set[int] = set()
    for m in members(ctx):
        name = str(m.get("name") or m.get("email") or m.get("user_id") or "?")
        role = people.course_role(m.get("roles") or [])
        if str(m.get("status") or "Active") != "Active":
            continue
        if role is None:
            report.skipped.append(name)
            continue
        try:
            user = people.account(platform, m)
        except ValueError:
            report.skipped.append(name)
            continue
        active.add(user.pk)
        _, what = people.enrol(course, user, role)
        if what == "added":
            report.added.append(user.username)
        elif what == "promoted":
            report.promoted.append(user.username)
        else:
            report.unchanged += 1
    linked = LtiAccount.objects.filter(platform=platform).values("user_id")
    gone = (
        Membership.objects.filter(course=course, role=Membership.STUDENT, user_id__in=linked)
        .exclude(user_id__in=active)
        .select_related("user")
    )
    for membership in gone:
        roster_members.remove(course, membership.user)
        report.removed.append(membership.user.username)
    ctx.synced_at = timezone.now()
    ctx.save(update_fields=["synced_at"])
    return report
