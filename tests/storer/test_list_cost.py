"""Every list costs a fixed number of queries, however many rows it shows (healthchecks' habit;
issue 11 found 288 queries for 40 rows), and long lists come in pages: the course's submissions,
the members, the grades, one's submissions on the assignment page, and the API's lists."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from assay.storer.courses.models import Assignment, AssignmentVersion, Course, Membership
from assay.storer.evaluation import models, queries, services
from assay.storer.evaluation.models import Job, Submission

from .conftest import SUM_OK


@pytest.fixture(autouse=True)
def testers_cached_through_the_test(monkeypatch):
    """The live testers are read once a second per process: on a loaded machine the warm-up
    and the counted request can be more than a second apart, and count one query more."""
    monkeypatch.setattr(queries, "TESTERS_TTL_S", 3600.0)


def login(cast, who: str) -> Client:
    c = Client()
    c.force_login(cast.users[who])
    return c


def queries_of(fn) -> int:
    fn()  # caches (the testers, a session) warm up once
    with CaptureQueriesContext(connection) as captured:
        response = fn()
    assert response.status_code == 200, response.content[:500]
    return len(captured.captured_queries)


def students(cast, n: int) -> list:
    User = get_user_model()
    found = []
    start = User.objects.count()
    for i in range(start, start + n):
        u = User.objects.create_user(f"s{i:03}", f"s{i}@example.org", "pw")
        Membership.objects.create(user=u, course=cast.prog1, role=Membership.STUDENT)
        found.append(u)
    return found


def submissions(cast, n: int, author=None) -> list[Submission]:
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


def grow(cast, first: int, then: int, make, count) -> tuple[int, int]:
    make(first)
    few = count()
    make(then - first)
    return few, count()


PAGES = {
    "course submissions": "/courses/prog1/submissions/",
    "course submissions, done only": "/courses/prog1/submissions/?status=done",
    "assignment page": "/courses/prog1/assignments/sum/",
    "assignment page's live list": "/courses/prog1/assignments/sum/submissions/",
}


@pytest.mark.parametrize("page", PAGES)
def test_a_submissions_page_costs_the_same_for_5_and_40_rows(cast, page):
    who = "alice" if "assignment" in page else "teacher"
    web = login(cast, who)
    author = cast.users["alice"] if who == "alice" else None
    few, many = grow(
        cast,
        5,
        40,
        lambda n: submissions(cast, n, author),
        lambda: queries_of(lambda: web.get(PAGES[page])),
    )
    assert few == many


@pytest.mark.parametrize("page", ["/courses/prog1/members/", "/courses/prog1/grades/"])
def test_the_members_and_grades_pages_cost_the_same_for_5_and_40_students(cast, page):
    web = login(cast, "teacher")
    few, many = grow(
        cast, 5, 40, lambda n: students(cast, n), lambda: queries_of(lambda: web.get(page))
    )
    assert few == many


def test_the_members_come_in_pages(cast):
    students(cast, 60)
    html = login(cast, "teacher").get("/courses/prog1/members/?page=2").content.decode()
    assert "page 2 of 2" in html and 'href="?page=1"' in html


API = {
    "submissions": "/submissions",
    "a course's submissions": "/submissions?assignment={a}",
}


@pytest.mark.parametrize("endpoint", API)
def test_an_api_list_costs_the_same_for_5_and_40_rows(cast, endpoint):
    api = cast.api("teacher")
    path = API[endpoint].format(a=cast.sum.id)
    few, many = grow(
        cast, 5, 40, lambda n: submissions(cast, n), lambda: queries_of(lambda: api.get(path))
    )
    assert few == many


def test_the_status_filter_runs_before_the_page_is_cut(cast):
    oldest = submissions(cast, 3)[2]  # done
    submissions(cast, 1)  # queued
    for _ in range(60):
        services.create_submission(cast.sum, cast.users["bob"], cast.users["bob"], {"a.c": SUM_OK})
    html = login(cast, "teacher").get("/courses/prog1/submissions/?status=done").content.decode()
    assert f'href="/submissions/{oldest.id}/"' in html
    assert len(re.findall(r'<td><a href="/submissions/\d+/">', html)) == 1


def test_the_course_submissions_come_in_pages_that_keep_the_filters(cast):
    made = submissions(cast, 120, cast.users["bob"])
    web = login(cast, "teacher")
    first = web.get("/courses/prog1/submissions/?student=bob").content.decode()
    shown = re.findall(r'<td><a href="/submissions/(\d+)/">', first)
    assert len(shown) == 50 and int(shown[0]) == made[-1].id
    nav = re.search(r'<nav aria-label="Pages".*?</nav>', first, re.S)
    assert nav is not None and "page 1 of 3" in nav.group(0)
    assert 'href="?student=bob&amp;page=2"' in nav.group(0)
    third = web.get("/courses/prog1/submissions/?student=bob&page=3").content.decode()
    assert len(re.findall(r'<td><a href="/submissions/(\d+)/">', third)) == 20
    assert 'href="?student=bob&amp;page=2"' in third and "page=4" not in third
    # a page past the end shows the last one
    assert web.get("/courses/prog1/submissions/?page=99").status_code == 200


def test_the_api_lists_submissions_in_pages(cast):
    made = submissions(cast, 12, cast.users["bob"])
    api = cast.api("teacher")
    r = api.get("/submissions", limit=5, page=2)
    assert r.status_code == 200
    assert [d["id"] for d in r.json()] == [s.id for s in made[::-1][5:10]]
    assert r["X-Total-Count"] == "12"
    assert "page=3" in r["Link"] and 'rel="next"' in r["Link"]
    last = api.get("/submissions", limit=5, page=3)
    assert len(last.json()) == 2 and "Link" not in last
    # without page, the first `limit` rows as before (assay's client and scripts rely on it)
    assert [d["id"] for d in api.get("/submissions", limit=3).json()] == [
        s.id for s in made[::-1][:3]
    ]
    assert api.get("/submissions", page=0).status_code == 400


def versions(cast, n: int) -> None:
    start = cast.sum.versions.count()
    v = cast.sum.versions.get(number=1)
    for number in range(start + 1, start + n + 1):
        extra = AssignmentVersion.objects.create(
            assignment=cast.sum, number=number, package=v.package.name, format=v.format, meta=v.meta
        )
        Job.objects.create(kind=Job.VALIDATION, version=extra, queue="assay.default.validate")


def courses(cast, n: int) -> None:
    start = Course.objects.count()
    for i in range(start, start + n):
        c = Course.objects.create(slug=f"c{i}", title=f"Course {i}")
        Membership.objects.create(course=c, user=cast.users["teacher"], role="supervisor")


def some_testers(cast, n: int) -> None:
    start = models.Tester.objects.count()
    for i in range(start, start + n):
        models.Tester.register(f"x{i}")


OTHER_LISTS = {
    # who asks, the path, what makes rows
    "courses": ("teacher", "/courses", courses),
    "versions": ("teacher", "/assignments/{a}/versions", versions),
    "testers": ("admin", "/testers", some_testers),
    "accounts": ("admin", "/users", lambda cast, n: students(cast, n)),
    "members": ("teacher", "/courses/prog1/members", lambda cast, n: students(cast, n)),
    "jobs": ("admin", "/jobs", lambda cast, n: submissions(cast, n)),
    "assignments": ("teacher", "/courses/prog1/assignments", lambda cast, n: [
        Assignment.objects.create(course=cast.prog1, slug=f"a{i}-{n}", title="a")
        for i in range(n)
    ]),
}  # fmt: skip


@pytest.mark.parametrize("endpoint", OTHER_LISTS)
def test_the_other_api_lists_cost_the_same_for_5_and_40_rows(cast, endpoint):
    who, path, make = OTHER_LISTS[endpoint]
    api = cast.api(who)
    path = path.format(a=cast.sum.id)
    few, many = grow(
        cast, 5, 40, lambda n: make(cast, n), lambda: queries_of(lambda: api.get(path))
    )
    assert few == many


OTHER_PAGES = {
    "manage page": ("teacher", "/courses/prog1/assignments/sum/manage/", versions),
    "queue page": ("admin", "/manage/queue/", some_testers),
    "queue page's jobs": ("admin", "/manage/queue/", lambda cast, n: submissions(cast, n)),
    "queue page's live part": (
        "admin",
        "/manage/queue/live/",
        lambda cast, n: submissions(cast, n),
    ),
    "accounts page": ("admin", "/manage/users/", lambda cast, n: students(cast, n)),
    "courses page": ("admin", "/manage/courses/", courses),
}


@pytest.mark.parametrize("page", OTHER_PAGES)
def test_the_manage_and_queue_pages_cost_the_same_for_5_and_40_rows(cast, page):
    who, path, make = OTHER_PAGES[page]
    web = login(cast, who)
    few, many = grow(
        cast, 5, 40, lambda n: make(cast, n), lambda: queries_of(lambda: web.get(path))
    )
    assert few == many


def graded_students(cast, n: int) -> None:
    """n students, each with an evaluated submission made after the first deadline (late, with
    the factor) and an extension for every other one (the rules of docs/deadlines.md)."""
    import datetime as dt

    from django.utils import timezone

    from assay.storer.courses.models import Extension

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


@pytest.mark.parametrize(
    "page", ["/courses/prog1/grades/", "/courses/prog1/assignments/sum/stats/"]
)
def test_the_grades_and_statistics_cost_the_same_for_5_and_40_graded_students(cast, page):
    web = login(cast, "teacher")
    few, many = grow(
        cast, 5, 40, lambda n: graded_students(cast, n), lambda: queries_of(lambda: web.get(page))
    )
    assert few == many


def test_the_grades_come_in_pages_of_students(cast):
    graded_students(cast, 60)
    web = login(cast, "teacher")
    first = web.get("/courses/prog1/grades/").content.decode()
    second = web.get("/courses/prog1/grades/?page=2").content.decode()
    assert "page 2 of 2" in second and 'href="?page=1"' in second
    marked = 'class="late" title='  # a cell's marker (the caption explains it once)
    assert first.count(marked) + second.count(marked) == 30  # those without an extension
    assert first.count('<th scope="row">') == 50
