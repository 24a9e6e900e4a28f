"""The statistics worth looking at (issue 13 part 4) in the pages, their CSV files and the API:
the same numbers everywhere, for the staff only.

- Teacher supervises prog1 and sees everything; Admin too.
- Alice and Bob are students of prog1: 403 on every page, CSV and endpoint of the statistics.
- Carol (a student) and Tina (a supervisor) of prog2: prog1's statistics are not found (404).
"""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from assay.storer.courses.models import Assignment
from assay.storer.groups import services as groups

from .rows import login
from .test_statistics import T0, at, made, rules

A = "/courses/prog1/assignments/sum"
SECTIONS = ["distribution", "tests", "failed-tests", "first-accepted", "per-day"]
PAGES = [f"{A}/stats/", "/courses/prog1/progress/", "/courses/prog1/progress.csv"] + [
    f"{A}/stats/{s}.csv" for s in SECTIONS
]
WHO = [("alice", 403), ("carol", 404), ("tina", 404), ("teacher", 200), ("admin", 200)]


def rows_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.fixture
def data(cast):
    """Released at T0 (2020, the deadline 2 days later): Alice fails test 2 at first, then is
    accepted 3 h in; Bob's only submission, a day after the deadline, fails tests 1 and 2."""
    rules(cast, release_at=T0)
    made(cast, "alice", at(1), "WA", 5.0, {"1": "AC", "2": "WA"})
    made(cast, "alice", at(3), "AC", None, {"1": "AC", "2": "AC"})
    made(cast, "bob", at(72), "WA", 0.0, {"1": "TLE", "2": "WA"})
    rules(cast, deadline=at(48), second_deadline=at(96), second_factor=0.5)
    return cast


@pytest.mark.parametrize(("who", "status"), [(None, 302), *WHO])
def test_only_the_staff_see_the_statistics_pages_and_csv_files(data, who, status):
    web = login(data, who) if who else Client()
    for path in PAGES:
        r = web.get(path)
        assert r.status_code == status, path
        if status == 302:
            assert r["Location"].startswith("/login/")


@pytest.mark.parametrize(("who", "status"), [(None, 401), *WHO])
def test_only_the_staff_read_the_statistics_and_progress_through_the_api(data, who, status):
    rules(data, release_at=None)  # released: Alice sees the assignment (not yet: a 404)
    for path in (f"/assignments/{data.sum.id}/statistics", "/courses/prog1/progress"):
        r = data.api(who).get(path)
        assert r.status_code == status, (path, r.content)
        if status != 200:
            assert set(r.json()["error"]) == {"code", "message", "field"}


def test_an_unknown_section_is_404(data):
    assert login(data, "teacher").get(f"{A}/stats/everything.csv").status_code == 404


def test_the_page_draws_each_section_and_shows_its_numbers(data):
    html = login(data, "teacher").get(f"{A}/stats/").content.decode()
    for chart in ("chart-distribution", "chart-failed", "chart-accepted", "chart-days"):
        assert f'aria-labelledby="{chart}-title {chart}-desc"' in html
        assert f'<title id="{chart}-title">' in html and f'<desc id="{chart}-desc">' in html
    assert "<strong>1 of 2 students</strong> who submitted has an accepted submission" in html
    assert "Median <strong>3.0 h</strong>" in html
    assert "<strong>2</strong> up to the deadline" in html and "<strong>1</strong> after it" in html
    assert 'class="mark"' in html and ">deadline</text>" in html  # the deadline's line
    assert "test 2: failed by 1 of 2 (mostly WA)" in html  # a bar's title
    assert "<script" not in html.split("</header>", 1)[1]  # nothing but SVG


def test_each_section_as_csv(data):
    web = login(data, "teacher")
    r = web.get(f"{A}/stats/failed-tests.csv")
    assert r["Content-Type"] == "text/csv; charset=utf-8"
    assert r["Content-Disposition"] == 'attachment; filename="prog1-sum-failed-tests.csv"'
    assert rows_of(r) == [
        ["test", "failed", "runs", "most common verdict", "its count", "verdicts"],
        ["1", "1", "2", "TLE", "1", "TLE 1"],  # equals: in the package's order
        ["2", "1", "2", "WA", "1", "WA 1"],
    ]
    assert rows_of(web.get(f"{A}/stats/first-accepted.csv")) == [
        ["student", "counted from", "first submission", "first accepted", "hours", "submissions"],
        ["alice", "2030-03-01T08:00:00+00:00", "2030-03-01T09:00:00+00:00",
         "2030-03-01T11:00:00+00:00", "3.00", "2"],
        ["bob", "2030-03-01T08:00:00+00:00", "2030-03-04T08:00:00+00:00", "", "", "1"],
    ]  # fmt: skip
    days = rows_of(web.get(f"{A}/stats/per-day.csv"))
    assert days[0] == ["date", "submissions", "students", "deadline"]
    assert days[1:] == [
        ["2030-03-01", "2", "1", ""], ["2030-03-02", "0", "0", ""],
        ["2030-03-03", "0", "0", "deadline"], ["2030-03-04", "1", "1", ""],
    ]  # fmt: skip
    dist = rows_of(web.get(f"{A}/stats/distribution.csv"))
    assert dist[0] == ["low", "high", "students"] and dist[1] == ["0", "1", "1"]  # Bob's 0
    assert dist[10] == ["9", "10", "1"]  # Alice's 10
    assert rows_of(web.get(f"{A}/stats/tests.csv"))[1:] == [["1", "1", "2", "0.5"], ["2", "1", "2", "0.5"]]  # fmt: skip


def test_a_groups_csv_counts_its_members_and_says_so_in_its_name(data):
    lab = groups.save_group(data.prog1, name="Lab", kind="lab", members=["bob"])
    r = login(data, "teacher").get(f"{A}/stats/first-accepted.csv?group={lab.id}")
    assert f'filename="prog1-sum-first-accepted-group{lab.id}.csv"' in r["Content-Disposition"]
    assert [row[0] for row in rows_of(r)] == ["student", "bob"]


def test_the_api_gives_what_the_page_shows(data):
    found = data.api("teacher").get(f"/assignments/{data.sum.id}/statistics").json()
    assert found["failed_tests"] == [
        {"name": "1", "failed": 1, "runs": 2, "verdict": "TLE", "verdict_count": 1, "verdicts": {"TLE": 1}},
        {"name": "2", "failed": 1, "runs": 2, "verdict": "WA", "verdict_count": 1, "verdicts": {"WA": 1}},
    ]  # fmt: skip
    first = found["first_accepted"]
    assert (first["from_release"], first["submitted"], first["accepted"], first["not_yet"]) == (
        True, 2, 1, 1
    )  # fmt: skip
    assert (first["median_hours"], first["q1_hours"], first["q3_hours"]) == (3.0, 3.0, 3.0)
    assert [b["count"] for b in first["buckets"]] == [0, 1, 0, 0, 0, 0]
    assert first["buckets"][-1] == {"label": "7 days or more", "low_hours": 168.0, "high_hours": None, "count": 0}  # fmt: skip
    assert first["students"][0] == {
        "student": "alice", "counted_from": "2030-03-01T08:00:00Z",
        "first_submission": "2030-03-01T09:00:00Z", "accepted_at": "2030-03-01T11:00:00Z",
        "hours": 3.0, "submissions": 2,
    }  # fmt: skip
    days = found["per_day"]
    assert (days["time_zone"], days["in_time"], days["late"]) == ("UTC", 2, 1)
    assert days["deadline"] == "2030-03-03T08:00:00Z"
    assert [(d["date"], d["submissions"], d["deadline"], d["after_deadline"]) for d in days["days"]] == [
        ("2030-03-01", 2, False, False), ("2030-03-02", 0, False, False),
        ("2030-03-03", 0, True, False), ("2030-03-04", 1, False, True),
    ]  # fmt: skip


def test_the_openapi_schema_declares_the_new_sections_and_the_progress(cast):
    schema = cast.api(None).get("/openapi.json").json()
    out = schema["components"]["schemas"]["StatisticsOut"]["properties"]
    assert {"failed_tests", "first_accepted", "per_day"} <= set(out)
    progress = schema["paths"]["/api/courses/{slug}/progress"]["get"]
    assert {"200", "401", "403", "404"} <= set(progress["responses"])
    assert "X-Total-Count" in progress["responses"]["200"]["headers"]


# -- a course's progress --------------------------------------------------------------------


@pytest.fixture
def two(data):
    """A second published assignment, "two" (5 points), which only Alice submitted, late."""
    a = Assignment.objects.create(
        course=data.prog1, slug="two", title="Two", points=5,
        current_version=data.sum.current_version, deadline=at(10), second_deadline=at(2000),
    )  # fmt: skip
    made(data, "alice", at(11), "AC", None, assignment=a)
    return a


def test_the_progress_page_shows_each_students_cells_and_the_assignments_counts(data, two):
    html = login(data, "teacher").get("/courses/prog1/progress/").content.decode()
    assert 'aria-labelledby="chart-progress-title chart-progress-desc"' in html
    assert "Sum of two numbers: accepted 1, partial 0, failed 1, pending 0, not submitted 0" in html
    assert "Two: accepted 1, partial 0, failed 0, pending 0, not submitted 1" in html
    alice = html.split('<th scope="row">alice</th>', 1)[1].split("</tr>", 1)[0]
    assert alice.count('<span class="st st-accepted">accepted</span>') == 2
    assert '<span class="late">late</span>' in alice and "<strong>12.5</strong>" in alice
    bob = html.split('<th scope="row">bob</th>', 1)[1].split("</tr>", 1)[0]
    assert '<span class="st st-not_submitted">not submitted</span>' in bob


def test_the_progress_csv_has_every_student_and_the_api_a_page_of_them(data, two):
    r = login(data, "teacher").get("/courses/prog1/progress.csv")
    assert r["Content-Disposition"] == 'attachment; filename="prog1-progress.csv"'
    assert rows_of(r) == [
        ["student", "sum points", "sum status", "sum late", "two points", "two status", "two late", "total", "accepted"],
        ["alice", "10", "accepted", "", "2.5", "accepted", "late", "12.5", "2"],
        ["bob", "0", "failed", "late", "", "not submitted", "", "0", "0"],
    ]  # fmt: skip
    api = data.api("teacher").get("/courses/prog1/progress")
    assert api["X-Total-Count"] == "2"
    assert api.json()[0] == {
        "student": "alice", "total": 12.5, "accepted": 2,
        "cells": [
            {"assignment": "sum", "status": "accepted", "points": 10.0, "late": False,
             "submission": api.json()[0]["cells"][0]["submission"]},
            {"assignment": "two", "status": "accepted", "points": 2.5, "late": True,
             "submission": api.json()[0]["cells"][1]["submission"]},
        ],
    }  # fmt: skip
    lab = groups.save_group(data.prog1, name="Lab", kind="lab", members=["bob"])
    assert [x["student"] for x in data.api("teacher").get("/courses/prog1/progress", group=lab.id).json()] == ["bob"]  # fmt: skip
    assert data.api("teacher").get("/courses/prog1/progress", group=0).status_code == 400


def test_the_progress_comes_in_pages_of_50_students(cast):
    from .rows import students

    students(cast, 55)
    web = login(cast, "teacher")
    first = web.get("/courses/prog1/progress/").content.decode()
    assert first.count('<th scope="row">') == 50 + 1  # and the assignment's row of counts
    second = web.get("/courses/prog1/progress/?page=2").content.decode()
    assert "page 2 of 2" in second and second.count('<th scope="row">') == 7 + 1
    api = cast.api("teacher").get("/courses/prog1/progress", page=2)
    assert len(api.json()) == 7 and api["X-Total-Count"] == "57"


def test_the_course_page_links_the_progress_for_the_staff_only(cast):
    assert (
        "/courses/prog1/progress/" in login(cast, "teacher").get("/courses/prog1/").content.decode()
    )
    assert (
        "/courses/prog1/progress/"
        not in login(cast, "alice").get("/courses/prog1/").content.decode()
    )
