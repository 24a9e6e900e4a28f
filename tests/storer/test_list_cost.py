"""Every list costs a fixed number of queries, however many rows it shows (healthchecks' habit;
issue 11 found 288 queries for 40 rows), and long lists come in pages: the course's submissions,
the members, the grades, one's submissions on the assignment page, and the API's lists
(``test_list_pages.py`` has the pages of the others)."""

from __future__ import annotations

import re

import pytest

from assay.storer.evaluation import queries, services

from . import rows
from .conftest import SUM_OK
from .rows import (
    courses,
    graded_students,
    grow,
    login,
    queries_of,
    some_testers,
    students,
    submissions,
    versions,
)


@pytest.fixture(autouse=True)
def testers_cached_through_the_test(monkeypatch):
    """The live testers are read once a second per process: on a loaded machine the warm-up
    and the counted request can be more than a second apart, and count one query more."""
    monkeypatch.setattr(queries, "TESTERS_TTL_S", 3600.0)


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


def group_path(cast) -> str:
    return f"/courses/prog1/groups/{rows.one_group(cast).id}"


def api_grades_of(who: str):
    return lambda cast, n: (
        graded_students(cast, n) if who == "teacher" else rows.assignments(cast, n)
    )


OTHER_LISTS = {
    # who asks, the path (a str with {a}, sum's id, or a function of the cast), what makes rows
    "courses": ("teacher", "/courses", courses),
    "a student's courses": ("alice", "/courses", courses),
    "versions": ("teacher", "/assignments/{a}/versions", versions),
    "testers": ("admin", "/testers", some_testers),
    "accounts": ("admin", "/users", lambda cast, n: students(cast, n)),
    "members": ("teacher", "/courses/prog1/members", lambda cast, n: students(cast, n)),
    "jobs": ("admin", "/jobs", lambda cast, n: submissions(cast, n)),
    "jobs, page 2": ("admin", "/jobs?limit=3&page=2", lambda cast, n: submissions(cast, n)),
    "assignments": ("teacher", "/courses/prog1/assignments", lambda cast, n: rows.assignments(cast, n)),
    "a student's assignments": ("alice", "/courses/prog1/assignments", lambda cast, n: rows.assignments(cast, n)),
    "groups": ("teacher", "/courses/prog1/groups", lambda cast, n: rows.groups(cast, n)),
    "teams": ("teacher", "/courses/prog1/groups", lambda cast, n: rows.teams(cast, n)),
    "a student's groups": ("alice", "/courses/prog1/groups", lambda cast, n: rows.groups(cast, n)),
    "a group": ("teacher", group_path, rows.group_members),
    "extensions": ("teacher", "/assignments/{a}/extensions", rows.extensions),
    "rubric": ("teacher", "/assignments/{a}/rubric", rows.rubric_items),
    "a student's rubric": ("alice", "/assignments/{a}/rubric", rows.rubric_items),
    "grades": ("teacher", "/courses/prog1/grades", api_grades_of("teacher")),
    "a student's grades": ("alice", "/courses/prog1/grades", api_grades_of("alice")),
    "progress": ("teacher", "/courses/prog1/progress", api_grades_of("teacher")),
    "progress of more assignments": ("teacher", "/courses/prog1/progress", lambda cast, n: rows.assignments(cast, n)),
    "queues": ("teacher", "/queues", rows.queues),
    "a draft's files": ("teacher", "/assignments/{a}/draft", rows.draft_tests),
    "a draft's tests": ("teacher", "/assignments/{a}/draft/tests", rows.draft_tests),
    "a draft's solutions": ("teacher", "/assignments/{a}/draft/solutions", rows.draft_solutions),
}  # fmt: skip


@pytest.mark.parametrize("endpoint", OTHER_LISTS)
def test_the_other_api_lists_cost_the_same_for_5_and_40_rows(cast, endpoint):
    who, path, make = OTHER_LISTS[endpoint]
    api = cast.api(who)
    path = path(cast) if callable(path) else path.format(a=cast.sum.id)
    few, many = grow(
        cast, 5, 40, lambda n: make(cast, n), lambda: queries_of(lambda: api.get(path))
    )
    assert few == many


def group_page(cast) -> str:
    return group_path(cast) + "/"


A = "/courses/prog1/assignments/sum"
OTHER_PAGES = {
    "manage page": ("teacher", f"{A}/manage/", versions),
    "queue page": ("admin", "/manage/queue/", some_testers),
    "queue page's jobs": ("admin", "/manage/queue/", lambda cast, n: submissions(cast, n)),
    "queue page's queues": ("admin", "/manage/queue/", rows.queues),
    "queue page's live part": ("admin", "/manage/queue/live/", lambda cast, n: submissions(cast, n)),
    "accounts page": ("admin", "/manage/users/", lambda cast, n: students(cast, n)),
    "courses page": ("admin", "/manage/courses/", courses),
    "home page": ("teacher", "/", courses),
    "a student's home page": ("alice", "/", courses),
    "course page": ("teacher", "/courses/prog1/", lambda cast, n: rows.assignments(cast, n)),
    "a student's course page": ("alice", "/courses/prog1/", lambda cast, n: rows.assignments(cast, n)),
    "a student's course page, their groups": ("alice", "/courses/prog1/", lambda cast, n: rows.groups(cast, n)),
    "groups page": ("teacher", "/courses/prog1/groups/", lambda cast, n: rows.groups(cast, n)),
    "groups page, teams": ("teacher", "/courses/prog1/groups/", lambda cast, n: rows.teams(cast, n)),
    "a group's page": ("teacher", group_page, rows.group_members),
    "extensions page": ("teacher", f"{A}/manage/extensions/", rows.extensions),
    "rubric page": ("teacher", f"{A}/manage/rubric/", rows.rubric_items),
}  # fmt: skip


@pytest.mark.parametrize("page", OTHER_PAGES)
def test_the_other_pages_cost_the_same_for_5_and_40_rows(cast, page):
    who, path, make = OTHER_PAGES[page]
    web = login(cast, who)
    path = path(cast) if callable(path) else path
    few, many = grow(
        cast, 5, 40, lambda n: make(cast, n), lambda: queries_of(lambda: web.get(path))
    )
    assert few == many


@pytest.mark.parametrize(
    "page",
    [
        "/courses/prog1/grades/",
        "/courses/prog1/assignments/sum/stats/",
        # issue 13: the statistics' CSV files, and the course's progress per student
        "/courses/prog1/assignments/sum/stats/first-accepted.csv",
        "/courses/prog1/progress/",
        "/courses/prog1/progress.csv",
    ],
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
