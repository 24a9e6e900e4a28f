"""The error pages (400, 403, 404, 500): in the site's layout with a way home, never Django's bare
pages; a 404 says nothing about whether a hidden thing exists; under /api/ the API's JSON shape."""

import re

import pytest
from django.test import Client, RequestFactory
from django.urls import get_resolver

from assay.storer.web import errors

LAYOUT = ('<a class="skip" href="#content">', '<main id="content"', 'class="brand"')


def client(cast, who):
    c = Client()
    if who:
        c.force_login(cast.users[who])
    return c


def without_csrf_token(r):
    """The page's text without its CSRF tokens (masked afresh on every response)."""
    return re.sub(r"\b[A-Za-z0-9]{64}\b", "TOKEN", r.content.decode())


def assert_in_layout(html):
    for marker in LAYOUT:
        assert marker in html
    assert '<a href="/">your courses</a>' in html
    assert "<h1>Not Found</h1>" not in html and "Bad Request (400)" not in html


def error_page(r, status: int, heading: str) -> str:
    """The page's HTML, once it is checked to be the error page of that status in the layout."""
    assert r.status_code == status
    html = r.content.decode()
    assert_in_layout(html)
    assert f"<h1>{heading}</h1>" in html
    return html


def test_a_missing_page_is_a_404_in_the_layout(cast):
    html = error_page(client(cast, "alice").get("/no/such/page/"), 404, "Page not found")
    assert ">alice<" in html  # the header still says who is logged in


def test_a_hidden_course_looks_exactly_like_a_missing_one(cast):
    # Carol is in prog2 only: prog1 exists but must not be said to
    carol = client(cast, "carol")
    hidden, missing = carol.get("/courses/prog1/"), carol.get("/courses/no-such-course/")
    assert hidden.status_code == missing.status_code == 404
    assert without_csrf_token(hidden) == without_csrf_token(missing)


def test_a_hidden_submission_looks_exactly_like_a_missing_one(cast, done):
    carol = client(cast, "carol")
    hidden, missing = carol.get(f"/submissions/{done.id}/"), carol.get("/submissions/999999/")
    assert hidden.status_code == missing.status_code == 404
    assert without_csrf_token(hidden) == without_csrf_token(missing)


def test_a_student_on_a_supervisors_page_gets_a_403_in_the_layout_with_the_reason(cast):
    html = error_page(client(cast, "alice").get("/courses/prog1/grades/"), 403, "Not allowed")
    assert "only supervisors of the course may do this" in html


def test_a_request_django_refuses_is_a_400_in_the_layout(cast, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    r = client(cast, None).get("/login/", HTTP_HOST="evil.example")
    error_page(r, 400, "Bad request")


def test_the_500_page_needs_neither_the_database_nor_the_user():
    # no `db` fixture: any query would fail this test
    r = errors.server_error(RequestFactory().get("/courses/prog1/"))
    html = error_page(r, 500, "Something went wrong")
    assert "Log out" not in html


def test_the_handlers_are_wired_in_the_root_urls():
    resolver = get_resolver()
    for status in (400, 403, 404, 500):
        assert resolver.resolve_error_handler(status).__module__ == errors.__name__


@pytest.mark.parametrize("who", [None, "alice"])
def test_an_unknown_api_path_answers_json_not_a_page(cast, who):
    r = client(cast, who).get("/api/no/such/endpoint")
    assert r.status_code == 404
    assert r["Content-Type"] == "application/json"
    assert r.json()["error"]["code"] == "not_found"


def test_a_hidden_thing_in_the_api_is_still_the_apis_json_404(cast):
    r = cast.api("carol").get("/api/courses/prog1")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


def test_a_request_django_refuses_under_the_api_is_a_json_400(cast, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    r = Client().get("/api/courses", HTTP_HOST="evil.example")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid"


def test_a_server_error_under_the_api_is_json():
    r = errors.server_error(RequestFactory().get("/api/courses"))
    assert r.status_code == 500
    assert r["Content-Type"] == "application/json"
    assert r.content.startswith(b'{"error": {"code": "server_error"')


def test_a_form_without_its_token_gets_the_403_page_saying_to_reload(cast):
    c = Client(enforce_csrf_checks=True)
    c.force_login(cast.users["teacher"])
    html = error_page(c.post("/courses/prog1/new-assignment/", {}), 403, "Not allowed")
    assert "Reload the page and send the form again." in html
