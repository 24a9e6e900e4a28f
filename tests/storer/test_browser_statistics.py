"""The statistics pages (issue 13 part 4) in a real browser: chromium, driven by Playwright,
against the storer in this process (pytest-django's live server, no testers: the submissions
and their results are made in the database, so the numbers are known). The teacher reads an
assignment's statistics and the course's progress per student; the charts are SVG images with a
name, drawn under the pages' Content-Security-Policy; axe finds nothing at 1200 and 390 px.
Screenshots of both pages go to docs/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.test import Client
from playwright.sync_api import Browser, Page, expect

from assay.storer.courses.models import Assignment
from tests.conftest import ROOT

from .axe import assert_accessible
from .test_browser import browser  # noqa: F401
from .test_statistics import T0, at, made, rules, student

pytestmark = pytest.mark.slow
DOCS = ROOT / "docs" / "screenshots"


@pytest.fixture(scope="module", autouse=True)
def database_beside_playwright() -> Iterator[None]:
    """Playwright's sync API keeps an event loop in this thread; Django refuses the database
    there unless told. The tests touch it only between the browser's calls, never during one
    (and the database is emptied after the module's browser has closed)."""
    with pytest.MonkeyPatch.context() as m:
        m.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture
def course(cast):
    """sum, released at T0 with a deadline two days later, and "Two", in the cast's prog1:
    eight students at different paces (Dave, Erin, … besides Alice and Bob)."""
    rules(cast, release_at=T0)
    for name in ("dave", "erin", "frank", "grace", "heidi", "ivan"):
        student(cast, name)
    paces = {  # student: [(hours after the release, verdict, points, the tests' verdicts)]
        "alice": [(0.5, "WA", 4.0, "AWA"), (2, "AC", 10.0, "AAA")],
        "bob": [(5, "TLE", 6.0, "AAT"), (30, "AC", 10.0, "AAA")],
        "dave": [(20, "WA", 3.0, "AWW"), (26, "WA", 6.0, "AAW"), (47, "AC", 10.0, "AAA")],
        "erin": [(40, "RTE", 0.0, "RRR")],
        "frank": [(46, "WA", 6.0, "AAW"), (60, "WA", 6.0, "AAW")],
        "grace": [(47.5, "AC", 10.0, "AAA")],
        "heidi": [(1, "AC", 10.0, "AAA")],
    }
    names = {"A": "AC", "W": "WA", "T": "TLE", "R": "RTE"}
    for who, tries in paces.items():
        for hours, verdict, points, tests in tries:
            made(
                cast, who, at(hours), verdict, points,
                {f"test {i + 1}": names[v] for i, v in enumerate(tests)},
            )  # fmt: skip
    rules(cast, deadline=at(48), second_deadline=at(96), second_factor=0.5)
    two = Assignment.objects.create(
        course=cast.prog1, slug="two", title="Second steps", points=5,
        current_version=cast.sum.current_version,
    )  # fmt: skip
    made(cast, "alice", at(70), "AC", None, assignment=two)
    made(cast, "bob", at(71), "WA", 2.0, assignment=two)
    made(cast, "dave", at(72), None, assignment=two)
    return cast


@pytest.fixture
def page(browser: Browser, live_server, course) -> Iterator[Page]:  # noqa: F811
    """The teacher's page: logged in with a session made here (the live server shares the
    database)."""
    web = Client()
    web.force_login(course.users["teacher"])
    session = web.cookies["sessionid"].value
    context = browser.new_context(viewport={"width": 1200, "height": 900}, accept_downloads=True)
    context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
    p = context.new_page()
    yield p
    context.close()


def doc_shot(page: Page, name: str) -> None:
    page.screenshot(path=str(DOCS / f"{name}.png"), full_page=True)


def test_the_teacher_reads_the_statistics_and_the_progress_per_student(page, live_server):
    page.goto(f"{live_server.url}/courses/prog1/assignments/sum/stats/")
    main = page.get_by_role("main")
    expect(main).to_contain_text("7 students of 8 enrolled have a grade")
    # each chart is an image named by its title
    for name in (
        "Score distribution of 7 students",
        "Tests failed by the most students",
        "Time to the first accepted submission",
        "Submissions per day",
    ):
        expect(page.get_by_role("img", name=name)).to_be_visible()
    expect(main).to_contain_text("5 of 7 students who submitted have an accepted submission")
    expect(main).to_contain_text("Median 30.0 h")
    times = page.get_by_role("region", name="Time to the first accepted submission")
    expect(times.get_by_role("row", name=re.compile("^1–6 hours")).locator("td.num")).to_have_text(
        "2"
    )
    failed = page.get_by_role("region", name="Tests failed by the most students")
    expect(failed.locator("tbody tr").first).to_contain_text("test 3")
    expect(failed.locator("tbody tr").first).to_contain_text("2 / 7")
    page.get_by_text("The numbers of each day").click()
    days = page.get_by_role("region", name="Submissions per day")
    expect(days.get_by_role("row", name=re.compile("2030-03-03"))).to_contain_text("deadline")
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV of the submissions per day").click()
    assert download.value.suggested_filename == "prog1-sum-per-day.csv"
    assert_accessible(page)
    doc_shot(page, "supervisor-stats-charts")

    page.goto(f"{live_server.url}/courses/prog1/")
    page.get_by_role("link", name="Progress per student").click()
    expect(
        page.get_by_role("img", name="Where the students stand in each assignment")
    ).to_be_visible()
    table = page.get_by_role("region", name="Progress per student")
    dave = table.get_by_role("row", name=re.compile("^dave"))
    expect(dave).to_contain_text("accepted")
    expect(dave).to_contain_text("pending")
    ivan = table.get_by_role("row", name=re.compile("^ivan"))
    expect(ivan).to_contain_text("not submitted")
    counts = page.get_by_role("region", name="Students in each state, per assignment")
    second = counts.get_by_role("row", name=re.compile("^Second steps"))
    expect(second.locator("td")).to_have_text(["1", "1", "0", "1", "5"])
    assert_accessible(page)
    doc_shot(page, "supervisor-progress")
