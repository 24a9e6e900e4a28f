"""Long lists come in pages (issue 11): the API's lists answer ``?page=N`` with the number of
all the rows in ``X-Total-Count`` and the next page in ``Link``, the first page when no page is
asked for; the pages (one's submissions on the assignment page, the groups, the extensions) show
50 rows with the page links the course's submissions page has.

- Teacher supervises prog1 and lists its members, groups, extensions, versions, assignments.
- Alice is a student of prog1 with a long list of her own submissions.
- Admin lists the accounts, the courses and the jobs."""

from __future__ import annotations

import re

import httpx
import pytest
from django.core.wsgi import get_wsgi_application

from assay.client import ApiError, Client
from assay.storer.api.paging import PAGE_SIZE
from assay.storer.evaluation.lists import PAGE_SIZE as PAGE_ROWS

from . import rows
from .rows import login

LISTS = {
    # who asks, the path ({a}: sum's id), what makes rows, a row's key
    "members": ("teacher", "/courses/prog1/members", rows.students, "username"),
    "accounts": ("admin", "/users", rows.students, "username"),
    "courses": ("teacher", "/courses", rows.courses, "slug"),
    "assignments": ("teacher", "/courses/prog1/assignments", rows.assignments, "id"),
    "a student's assignments": ("alice", "/courses/prog1/assignments", rows.assignments, "id"),
    "versions": ("teacher", "/assignments/{a}/versions", rows.versions, "number"),
    "groups": ("teacher", "/courses/prog1/groups", rows.groups, "id"),
    "a student's groups": ("alice", "/courses/prog1/groups", rows.groups, "id"),
    "extensions": ("teacher", "/assignments/{a}/extensions", rows.extensions, "student"),
}


@pytest.mark.parametrize("endpoint", LISTS)
def test_an_api_list_comes_in_pages_of_100_with_the_total_and_the_next_page(cast, endpoint):
    who, path, make, key = LISTS[endpoint]
    make(cast, PAGE_SIZE + 5)
    api, path = cast.api(who), path.format(a=cast.sum.id)
    first = api.get(path)
    assert first.status_code == 200, first.content[:300]
    total = int(first["X-Total-Count"])
    assert total >= PAGE_SIZE + 5 and len(first.json()) == PAGE_SIZE
    assert re.fullmatch(rf'</api{re.escape(path)}\?page=2>; rel="next"', first["Link"])
    second = api.get(path, page=2)
    assert second["X-Total-Count"] == str(total) and "Link" not in second
    shown = [r[key] for r in first.json() + second.json()]
    assert len(shown) == total == len(set(shown))  # every row once
    # without a page, the first one (as before, for the callers that never ask for one)
    assert api.get(path, page=1).json() == first.json()
    past = api.get(path, page=3)
    assert past.json() == [] and past["X-Total-Count"] == str(total)
    if endpoint != "accounts":  # which has always read page 0 as page 1
        assert api.get(path, page=0).status_code == 400


def test_the_jobs_come_in_pages_of_limit_that_keep_the_filter(cast):
    rows.submissions(cast, 12)  # 10 evaluated (2 never), 2 of them failed
    api = cast.api("admin")
    first = api.get("/jobs", limit=4)
    assert first["X-Total-Count"] == "10"
    assert first["Link"] == '</api/jobs?limit=4&page=2>; rel="next"'
    ids = [j["id"] for p in (1, 2, 3) for j in api.get("/jobs", limit=4, page=p).json()]
    assert len(ids) == 10 and ids == sorted(ids, reverse=True)  # newest first
    assert "Link" not in api.get("/jobs", limit=4, page=3)
    failed = api.get("/jobs", state="failed", limit=1)
    assert failed["X-Total-Count"] == "2"
    assert failed["Link"] == '</api/jobs?state=failed&limit=1&page=2>; rel="next"'
    assert [j["state"] for j in api.get("/jobs", state="failed", limit=1, page=2).json()] == [
        "failed"
    ]


def test_the_grades_link_their_next_page_of_students(cast):
    rows.graded_students(cast, PAGE_ROWS + 1)
    api = cast.api("teacher")
    first = api.get("/courses/prog1/grades")
    assert first["X-Total-Count"] == str(PAGE_ROWS + 3)  # with Alice and Bob
    assert first["Link"] == '</api/courses/prog1/grades?page=2>; rel="next"'
    assert "Link" not in api.get("/courses/prog1/grades", page=2)


def test_the_openapi_schema_declares_the_pages_headers_and_parameter(cast):
    schema = cast.api("teacher").get("/openapi.json").json()
    for path in ("/api/courses/{slug}/members", "/api/jobs", "/api/submissions"):
        get = schema["paths"][path]["get"]
        assert {"X-Total-Count", "Link"} <= set(get["responses"]["200"]["headers"]), path
        assert "page" in {p["name"] for p in get["parameters"]}, path


def rows_shown(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<td><a href="/submissions/(\d+)/">', html)]


def test_ones_submissions_on_the_assignment_page_come_in_pages(cast):
    made = rows.submissions(cast, PAGE_ROWS + 10, cast.users["alice"])
    newest = [s.id for s in reversed(made)]
    web = login(cast, "alice")
    first = web.get("/courses/prog1/assignments/sum/").content.decode()
    assert rows_shown(first) == newest[:PAGE_ROWS]
    nav = re.search(r'<nav aria-label="Pages".*?</nav>', first, re.S)
    assert nav is not None and "page 1 of 2" in nav.group(0) and 'href="?page=2"' in nav.group(0)
    # page 1's live part polls page 1; page 2's polls page 2 (its rows are not all final)
    assert re.search(r'hx-get="/courses/prog1/assignments/sum/submissions/"', first)
    second = web.get("/courses/prog1/assignments/sum/?page=2").content.decode()
    assert rows_shown(second) == newest[PAGE_ROWS:]
    assert 'hx-get="/courses/prog1/assignments/sum/submissions/?page=2"' in second
    live = web.get("/courses/prog1/assignments/sum/submissions/?page=2").content.decode()
    assert rows_shown(live) == newest[PAGE_ROWS:] and "page 2 of 2" in live
    assert (
        rows_shown(web.get("/courses/prog1/assignments/sum/submissions/").content.decode())
        == (newest[:PAGE_ROWS])
    )


def test_the_groups_page_comes_in_pages_and_keeps_its_form(cast):
    rows.groups(cast, PAGE_ROWS + 2)
    web = login(cast, "teacher")
    first = web.get("/courses/prog1/groups/").content.decode()
    assert first.count('<th scope="row">') == PAGE_ROWS and "page 1 of 2" in first
    second = web.get("/courses/prog1/groups/?page=2").content.decode()
    assert second.count('<th scope="row">') == 2 and 'href="?page=1"' in second
    assert "Create the group" in second


def test_the_extensions_page_comes_in_pages(cast):
    rows.extensions(cast, PAGE_ROWS + 3)
    web = login(cast, "teacher")
    path = "/courses/prog1/assignments/sum/manage/extensions/"
    first = web.get(path).content.decode()
    taken_back = "Take back the extension of"
    assert first.count(taken_back) == PAGE_ROWS and "page 1 of 2" in first
    second = web.get(path + "?page=2").content.decode()
    assert second.count(taken_back) == 3 and "Give the extension" in second


def test_the_command_line_client_finds_an_assignment_on_a_later_page(cast):
    made = rows.assignments(cast, PAGE_SIZE + 1)
    client = Client("http://testserver", cast.tokens["alice"])
    client.http = httpx.Client(  # the storer in this process, without a socket
        transport=httpx.WSGITransport(app=get_wsgi_application()),
        base_url="http://testserver/api",
        headers=client.http.headers,
    )
    assert client.resolve_assignment(f"prog1/{made[-1].slug}") == made[-1].id
    with pytest.raises(ApiError, match="no assignment 'nope'"):
        client.resolve_assignment("prog1/nope")
