"""Groups and teams: who is in which, who may read a team's submissions, and whom a submission
counts for. The pages and the API both go through here (docs/groups.md)."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, QuerySet

from assay.storer import rawsql
from assay.storer.courses.models import Assignment, Course, Membership
from assay.storer.courses.permissions import can_supervise
from assay.storer.evaluation.models import Submission
from assay.storer.evaluation.services import ServiceError

from .models import Group, SharedSubmission, TeamAssignment

MAX_NAME = 100


def course_groups(course: Course) -> QuerySet[Group]:
    """The course's groups, labs then teams, by name, with their course, supervisors and
    members (three queries, for all of them or a page)."""
    return (
        Group.objects.filter(course=course)
        .select_related("course")
        .prefetch_related("supervisors", "members")
        .order_by("kind", "name", "id")
    )


def groups_of(user_id: int, course: Course) -> QuerySet[Group]:
    """The groups a student is in, by name, with their course, supervisors and members."""
    return (
        Group.objects.filter(course=course, members__id=user_id)
        .select_related("course")
        .prefetch_related("supervisors", "members")
        .order_by("name", "id")
    )


def students(course: Course, group: Group | None = None) -> Any:
    """The course's students as (user id, username), by username; only ``group``'s members when
    given (the grades and statistics of one lab group). A query, not run yet."""
    qs = Membership.objects.filter(course=course, role=Membership.STUDENT)
    if group is not None:
        qs = qs.filter(user__course_groups=group)
    return qs.order_by("user__username").values_list("user_id", "user__username")


def usernames(text: str | Iterable[str]) -> list[str]:
    """Usernames from a list, or from text: one per line, or separated by commas or spaces."""
    items = re.split(r"[\s,;]+", text) if isinstance(text, str) else list(text)
    seen: dict[str, None] = {}
    for name in items:
        name = name.strip()
        if name:
            seen.setdefault(name, None)
    return list(seen)


def _members_with_role(
    course: Course, names: list[str], role: str, field: str, what: str
) -> list[Any]:
    found = {
        m.user.username: m.user
        for m in Membership.objects.filter(
            course=course, role=role, user__username__in=names
        ).select_related("user")
    }
    missing = [n for n in names if n not in found]
    if missing:
        listed = ", ".join(repr(n) for n in missing[:10]) + (" …" if len(missing) > 10 else "")
        raise ServiceError(400, "invalid", f"{field}: not {what} of {course.slug}: {listed}", field)
    return [found[n] for n in names]


def save_group(
    course: Course,
    *,
    name: str,
    kind: str,
    supervisors: Iterable[str] = (),
    members: Iterable[str] = (),
    group: Group | None = None,
) -> Group:
    """Create a group, or change one; every problem is a ServiceError naming its field."""
    name = (name or "").strip()
    if not name:
        raise ServiceError(400, "invalid", "name: a group needs a name", "name")
    if len(name) > MAX_NAME:
        raise ServiceError(400, "invalid", f"name: at most {MAX_NAME} characters", "name")
    if kind not in (Group.LAB, Group.TEAM):
        raise ServiceError(400, "invalid", f"kind: {kind!r} is neither 'lab' nor 'team'", "kind")
    clash = Group.objects.filter(course=course, name=name)
    if group is not None:
        clash = clash.exclude(pk=group.pk)
    if clash.exists():
        raise ServiceError(400, "invalid", f"name: {course.slug} has a group {name!r}", "name")
    staff = _members_with_role(
        course, usernames(supervisors), Membership.SUPERVISOR, "supervisors", "supervisors"
    )
    students = _members_with_role(
        course, usernames(members), Membership.STUDENT, "members", "students"
    )
    if kind == Group.TEAM and students:
        teams = Group.objects.filter(course=course, kind=Group.TEAM, members__in=students)
        if group is not None:
            teams = teams.exclude(pk=group.pk)
        others = teams.values_list("members__username", "name")
        taken = sorted({(u, g) for u, g in others if u in {s.username for s in students}})
        if taken:
            said = ", ".join(f"{u!r} (in {g!r})" for u, g in taken[:10])
            raise ServiceError(
                400, "invalid", f"members: a student is in one team at most: {said}", "members"
            )
    with transaction.atomic():
        if group is None:
            group = Group.objects.create(course=course, name=name, kind=kind)
        else:
            group.name, group.kind = name, kind
            group.save(update_fields=["name", "kind"])
        group.supervisors.set(staff)
        group.members.set(students)
    return group


def in_teams(assignment: Assignment) -> bool:
    return TeamAssignment.objects.filter(assignment=assignment).exists()


def set_in_teams(assignment: Assignment, enabled: bool) -> None:
    if enabled:
        TeamAssignment.objects.get_or_create(assignment=assignment)
    else:
        TeamAssignment.objects.filter(assignment=assignment).delete()


def share(submission: Submission) -> list[int]:
    """Share a new submission with its author's team if the assignment is evaluated in teams
    (in the caller's transaction; one query when there is nothing to share): the ids of the
    members it is shared with."""
    rows = rawsql.rows(_team_mates_sql(), [submission.assignment_id, submission.author_id])
    SharedSubmission.objects.bulk_create(
        SharedSubmission(submission=submission, user_id=uid, group_id=gid) for gid, uid in rows
    )
    return [uid for _, uid in rows]


@functools.cache
def _team_mates_sql() -> str:
    """(team, user) of the author's team mates when the assignment is evaluated in teams (params:
    the assignment, the author): a student is in at most one team of a course."""
    c, t = rawsql.column, rawsql.table
    Member = Group.members.through
    return (
        f"SELECT m.{c(Member, 'group')}, m.{c(Member, 'user')}"
        f" FROM {t(TeamAssignment)} ta"
        f" JOIN {t(Assignment)} a ON a.id = ta.{c(TeamAssignment, 'assignment')}"
        f" JOIN {t(Group)} g ON g.{c(Group, 'course')} = a.{c(Assignment, 'course')}"
        f" AND g.{c(Group, 'kind')} = '{Group.TEAM}'"
        f" JOIN {t(Member)} mine ON mine.{c(Member, 'group')} = g.id"
        f" JOIN {t(Member)} m ON m.{c(Member, 'group')} = g.id"
        f" WHERE ta.{c(TeamAssignment, 'assignment')} = %s AND mine.{c(Member, 'user')} = %s"
        f" AND m.{c(Member, 'user')} <> mine.{c(Member, 'user')}"
        f" ORDER BY m.{c(Member, 'group')}, m.{c(Member, 'user')}"
    )


def shares_of(submission_id: int) -> list[Any]:
    """The users a submission is shared with (not its author), with their ids and usernames
    (the page's one SELECT, no ORM query to build)."""
    User = get_user_model()
    return [
        rawsql.load(User, row, SHARE_FIELDS) for row in rawsql.rows(_shares_sql(), [submission_id])
    ]


SHARE_FIELDS = ("id", "username")


@functools.cache
def _shares_sql() -> str:
    User = get_user_model()
    c = rawsql.column
    return (
        f"SELECT {rawsql.columns(User, 'u', SHARE_FIELDS)} FROM {rawsql.table(User)} u"
        f" JOIN {rawsql.table(SharedSubmission)} s ON {c(SharedSubmission, 'user', 's')} = u.id"
        f" WHERE {c(SharedSubmission, 'submission', 's')} = %s ORDER BY u.id"
    )


def may_read(user: Any, submission: Submission) -> bool:
    """Its author, the course's staff, and the team members it was shared with, asked in this
    order: the author's poll costs no query, the staff's the role the request already knows."""
    if not user or not user.is_authenticated:
        return False
    if submission.author_id == user.pk or can_supervise(user, submission.assignment.course):
        return True
    return SharedSubmission.objects.filter(submission_id=submission.pk, user_id=user.pk).exists()


def shared_or_own(user_id: int) -> Q:
    """A filter of Submission rows: one's own and those shared with one."""
    shared = SharedSubmission.objects.filter(user_id=user_id).values("submission_id")
    return Q(author_id=user_id) | Q(id__in=shared)
