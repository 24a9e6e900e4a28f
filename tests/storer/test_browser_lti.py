"""The LTI and single sign-on pages in a real browser (chromium, as test_browser.py), checked
with axe at 1200 and 390 px and photographed for the README: the deep linking picker a teacher
reaches from the LMS, the page of a refused launch, the course's LMS page, and the login page
with its *Sign in with …* button.

No storer is started: the browser's requests to the site (ASSAY_SITE_URL) are answered in
process by Django's test client (``serve_site``), so the pages are the storer's own answers —
headers, Content-Security-Policy and static files included — over the test database and
test_lti.py's LMS (tests/storer/lti_platform.py, a real HTTP server on loopback: the browser
goes to it and back as from Moodle)."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import pytest
from django.conf import settings as django_settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.test import Client
from playwright.sync_api import Browser, Page, Route, expect

from assay.storer.lti.models import LtiContext, LtiLink, ScoreReport
from tests.conftest import ROOT

from .axe import assert_accessible
from .lti_platform import INSTRUCTOR, LEARNER, MENTOR, Member, Message, login_url

# test_lti.py's LMS and registration, test_browser.py's chromium
# ruff: noqa: F811
from .test_browser import browser  # noqa: F401
from .test_lti import LENA, TEACHER, lms, platform, tool_key  # noqa: F401
from .test_sso_oidc import conf_from_env

SHOTS = ROOT / "docs" / "screenshots"


@pytest.fixture(autouse=True)
def sync_django_under_playwright(monkeypatch) -> None:
    """Playwright's sync API keeps an asyncio loop in this thread, which Django takes for an
    async context; the test's code, the client's requests included, still runs one step at a
    time in this thread."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def serve_site(page: Page, client: Client) -> None:
    """Answer the page's requests to the site with ``client`` (whose cookies are the
    browser's session there); requests elsewhere (the LMS) go out as usual."""
    site = django_settings.SITE_URL.rstrip("/")
    host = urlsplit(site).netloc
    # Playwright calls the handler in a greenlet of its own, where Django would open another
    # connection to the test database (and wait on the test's transaction): the test's one
    connection = connections[DEFAULT_DB_ALIAS]

    def answer(route: Route) -> None:
        connections[DEFAULT_DB_ALIAS] = connection
        request = route.request
        url = urlsplit(request.url)
        r = client.generic(
            request.method, url.path + (f"?{url.query}" if url.query else ""),
            data=request.post_data_buffer or b"",
            content_type=request.headers.get("content-type", "application/octet-stream"),
            HTTP_HOST=host,
        )  # fmt: skip
        body = b"".join(r.streaming_content) if r.streaming else r.content  # type: ignore[attr-defined]
        headers = {k: v for k, v in r.items() if k.lower() != "set-cookie"}  # the client keeps them
        route.fulfill(status=r.status_code, headers=headers, body=body)

    page.route(f"{site}/**", answer)


def new_page(browser: Browser, client: Client, width: int = 1200) -> Page:
    page = browser.new_page(viewport={"width": width, "height": 900})
    serve_site(page, client)
    return page


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def launch_in(page: Page, lms, claims: dict) -> None:
    """The LMS's launch in the browser: the login initiation at the site, the LMS's
    authentication (its page posts the signed launch back; it has no script, so the test
    submits it as a platform's script does)."""
    lms.message = Message(claims)
    site = django_settings.SITE_URL.rstrip("/")
    page.goto(f"{site}/lti/login/?{urlencode(login_url(lms))}")
    assert page.url.startswith(lms.url + "/auth"), page.url
    with page.expect_navigation():
        page.evaluate("document.forms[0].submit()")


def test_the_lti_pages_a_teacher_and_a_mentor_reach_from_the_lms(browser, cast, platform):
    # the teacher places assignments: the picker of her courses' assignments
    teacher = Client()
    page = new_page(browser, teacher)
    launch_in(page, platform, platform.claims("t-42", [INSTRUCTOR],
              message_type="LtiDeepLinkingRequest", **TEACHER))  # fmt: skip
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_label(f"{cast.sum.title}", exact=False)).to_be_visible()
    assert_accessible(page)
    shot(page, "supervisor-lti-deep-link")
    # the course's LMS page: a linked LMS course, its roster synced, a score the LMS refused
    ctx = LtiContext.objects.get()  # the launch brought it; the pick would link it
    ctx.course = cast.prog1
    ctx.save()
    link = LtiLink.objects.create(context=ctx, resource_link_id="link-1", title="Sum",
                                  assignment=cast.sum, lineitem_url=f"{platform.url}/lineitems/x")  # fmt: skip
    ScoreReport.objects.create(
        link=link, student=cast.users["alice"], score_given=7, score_maximum=10,
        state=ScoreReport.FAILED, attempts=1,
        error="the LMS answered 404: no such line item",
    )  # fmt: skip
    platform.members[:] = [
        Member("s-1", "Lena Learner", LENA["email"], [LEARNER]),
        Member("t-42", TEACHER["name"], TEACHER["email"], [INSTRUCTOR]),
    ]
    page.goto(django_settings.SITE_URL.rstrip("/") + "/lti/courses/prog1/")
    page.get_by_role("button", name="Sync the roster from the LMS").click()
    expect(page.get_by_text("Roster synced: 1 added")).to_be_visible()
    expect(page.get_by_role("table", name="Scores the LMS did not take")).to_be_visible()
    assert_accessible(page)
    shot(page, "supervisor-lti-course")
    page.close()
    # a mentor's launch is refused, with the reason
    page = new_page(browser, Client())
    launch_in(page, platform, platform.claims("m-1", [MENTOR], custom={"assignment": "prog1/sum"}))
    expect(page.locator("#lti-error")).to_contain_text("gives no access")
    assert_accessible(page)
    shot(page, "error-lti-refused")
    page.close()


def test_the_login_page_offers_the_institutions_sign_in(browser, db, settings, monkeypatch):
    settings.OIDC = conf_from_env(
        monkeypatch, ISSUER="https://login.uni.example", CLIENT_ID="assay",
        CLIENT_SECRET="s3cret", PROVIDER_NAME="Uni Login",
    )  # fmt: skip
    page = new_page(browser, Client())
    page.goto(django_settings.SITE_URL.rstrip("/") + "/login/")
    expect(page.get_by_role("link", name="Sign in with Uni Login")).to_be_visible()
    expect(page.get_by_label("Username")).to_be_visible()  # local accounts still log in
    assert_accessible(page)
    shot(page, "sso-login")
    page.close()
