"""Rows for the lists' tests (``test_list_cost.py``, ``test_list_pages.py``): makers that add n
students, submissions, courses, groups, extensions, … to the cast's course prog1, and the
counting of a request's queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assay.storer.courses.models import (
    Assignment,
    AssignmentVersion,
    Course,
    Extension,
    Membership,
)
from assay.storer.evaluation import models, services
from assay.storer.evaluation.models import Job, Submission
from assay.storer.grading.models import RubricItem
from assay.storer.groups.models import Group

from .conftest import SUM_OK


def login(cast: Any, who: str) -> Client:
    c = Client()
    c.force_login(cast.users[who])
    return c


def queries_of(fn: Callable[[], Any]) -> int:
    fn()  # caches (the testers, a session) warm up once
    with CaptureQueriesContext(connection) as captured:
        response = fn()
    assert response.status_code == 200, response.content[:500]
    return len(captured.captured_queries)


def grow(cast: Any, first: int, then: int, make: Callable[[int], Any], count) -> tuple[int, int]:
    """The queries ``count()`` makes with ``first`` rows, and with ``then``."""
    make(first)
    few = count()
    make(then - first)
    return few, count()


def students(cast: Any, n: int) -> list:
    User = get_user_model()
    found = []
    start = User.objects.count()
    for i in range(start, start + n):
        u = User.objects.create_user(f"s{i:03}", f"s{i}@example.org", "pw")
        Membership.objects.create(user=u, course=cast.prog1, role=Membership.STUDENT)
        found.append(u)
    return found


def supervisors(cast: Any, n: int) -> list:
    User = get_user_model()
    found = []
    start = User.objects.count()
    for i in range(start, start + n):
        u = User.objects.create_user(f"t{i:03}", f"t{i}@example.org", "pw")
        Membership.objects.create(user=u, course=cast.prog1, role=Membership.SUPERVISOR)
        found.append(u)
    return found


def submissions(cast: Any, n: int, author: Any = None) -> list[Submission]:
    """n submissions in every state: queued, running, done (with points), failed, and one never
    evaluated."""
    made = []
    for i in range(n):
        who = author or cast.users["alice" if i % 2 else "bob"]
        s = services.create_submission(cast.sum, who, who, {"sum.c": SUM_OK})
        state = [Job.QUEUED, Job.RUNNING, Job.DONE, Job.FAILED, None][i % 5]
        if state is None:
            s.jobs.all().delete()
        elif state != Job.QUEUED:
            s.jobs.update(state=state, points=5.0 if state == Job.DONE else None, verdict="AC")
        made.append(s)
    return made


def versions(cast: Any, n: int) -> None:
    start = cast.sum.versions.count()
    v = cast.sum.versions.get(number=1)
    for number in range(start + 1, start + n + 1):
        extra = AssignmentVersion.objects.create(
            assignment=cast.sum, number=number, package=v.package.name, format=v.format, meta=v.meta
        )
        Job.objects.create(kind=Job.VALIDATION, version=extra, queue="assay.default.validate")


def courses(cast: Any, n: int) -> None:
    """n courses the teacher supervises and Alice is a student of."""
    start = Course.objects.count()
    for i in range(start, start + n):
        c = Course.objects.create(slug=f"c{i}", title=f"Course {i}")
        Membership.objects.create(course=c, user=cast.users["teacher"], role="supervisor")
        Membership.objects.create(course=c, user=cast.users["alice"], role="student")


def assignments(cast: Any, n: int) -> list[Assignment]:
    """n published assignments of prog1 (their package is sum's), with deadlines."""
    start = Assignment.objects.count()
    now = timezone.now()
    made = []
    for i in range(start, start + n):
        a = Assignment.objects.create(
            course=cast.prog1, slug=f"a{i}", title=f"a{i}",
            current_version=cast.sum.current_version, deadline=now + dt.timedelta(days=i),
        )  # fmt: skip
        made.append(a)
    return made


def some_testers(cast: Any, n: int) -> None:
    start = models.Tester.objects.count()
    for i in range(start, start + n):
        models.Tester.register(f"x{i}")


def queues(cast: Any, n: int) -> None:
    """A job waiting in each of n queues more (one runtime each), with a tester serving it."""
    start = Job.objects.values("queue").distinct().count()
    for i in range(start, start + n):
        Job.objects.create(
            kind=Job.VALIDATION, version=cast.sum.current_version, queue=f"assay.default.r{i}"
        )
    models.Tester.objects.filter(pk=cast.tester.pk).update(last_seen_at=timezone.now())


def groups(cast: Any, n: int, kind: str = Group.LAB) -> list[Group]:
    """n groups of prog1, each with a supervisor of its own and two students of its own, and
    Alice in each lab group."""
    made = []
    start = Group.objects.count()
    staff, members = supervisors(cast, n), students(cast, 2 * n)
    for i in range(n):
        g = Group.objects.create(course=cast.prog1, name=f"g{start + i:03}", kind=kind)
        g.supervisors.add(staff[i])
        g.members.add(*members[2 * i : 2 * i + 2])
        if kind == Group.LAB:
            g.members.add(cast.users["alice"])
        made.append(g)
    return made


def teams(cast: Any, n: int) -> list[Group]:
    return groups(cast, n, Group.TEAM)


def one_group(cast: Any) -> Group:
    g, _ = Group.objects.get_or_create(course=cast.prog1, name="big", kind=Group.TEAM)
    return g


def group_members(cast: Any, n: int) -> None:
    """n students and n supervisors more in prog1's group "big"."""
    g = one_group(cast)
    g.members.add(*students(cast, n))
    g.supervisors.add(*supervisors(cast, n))


def extensions(cast: Any, n: int) -> None:
    """n students with an extension of sum (which gets a deadline)."""
    now = timezone.now()
    Assignment.objects.filter(pk=cast.sum.pk).update(deadline=now)
    for u in students(cast, n):
        Extension.objects.create(
            assignment=cast.sum, student=u, deadline=now + dt.timedelta(days=1),
            second_deadline=now + dt.timedelta(days=2), reason="ill", granted_by=cast.users["teacher"],
        )  # fmt: skip


def rubric_items(cast: Any, n: int) -> None:
    start = RubricItem.objects.filter(assignment=cast.sum).count()
    for i in range(start, start + n):
        RubricItem.objects.create(assignment=cast.sum, title=f"item {i}", points=1.0, order=i)


def graded_students(cast: Any, n: int) -> None:
    """n students, each with an evaluated submission made after the first deadline (late, with
    the factor) and an extension for every other one (the rules of docs/deadlines.md)."""
    now = timezone.now()
    Assignment.objects.filter(pk=cast.sum.pk).update(
        deadline=now - dt.timedelta(days=1), second_deadline=now + dt.timedelta(days=1)
    )
    cast.sum.refresh_from_db()
    for i, u in enumerate(students(cast, n)):
        s = services.create_submission(cast.sum, u, u, {"sum.c": SUM_OK})
        s.jobs.update(state=Job.DONE, points=8.0, verdict="AC")
        if i % 2:
            Extension.objects.create(
                assignment=cast.sum, student=u, deadline=now + dt.timedelta(days=2)
            )


def draft_of_sum(cast: Any) -> Any:
    from assay.storer.authoring import drafts
    from assay.storer.authoring.models import Draft

    found = Draft.objects.filter(assignment=cast.sum).first()
    return found or drafts.start_from_version(cast.sum, cast.users["teacher"])


def draft_tests(cast: Any, n: int) -> None:
    from assay.storer.authoring import drafts

    d = draft_of_sum(cast)
    start = len(drafts.tests_of(d)[0])
    for i in range(start, start + n):
        drafts.put_test(d, f"t{i:03}", input=b"1 2\n", output=b"3\n", visible=i % 2 == 0, new=True)


def draft_solutions(cast: Any, n: int) -> None:
    from assay.storer.authoring import drafts

    d = draft_of_sum(cast)
    start = len(drafts.solutions_of(d))
    for i in range(start, start + n):
        drafts.put_solution(d, "accepted", {f"s{i:03}.c": SUM_OK})
