"""Sessions and a session's user, read by raw SQL (assay/storer/accounts/sessions.py), behave as
Django's database sessions and ModelBackend: a login lasts until it expires, a logout or a
password change ends it, a deactivated user is logged out, and a forged session key is nobody."""

from __future__ import annotations

import datetime as dt

from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from assay.storer.accounts.sessions import SessionStore, UserBackend


def logged_in(cast, who: str = "alice") -> Client:
    """Logged in through the login form, as a person is."""
    web = Client()
    r = web.post("/login/", {"username": who, "password": "pw"})
    assert r.status_code == 302 and web.get("/").status_code == 200
    return web


def test_a_login_is_kept_by_the_raw_session_engine(cast, settings):
    assert settings.SESSION_ENGINE == "assay.storer.accounts.sessions"
    web = logged_in(cast)
    key = web.cookies[settings.SESSION_COOKIE_NAME].value
    assert SessionStore(key).load()["_auth_user_backend"] == settings.AUTHENTICATION_BACKENDS[-1]
    assert web.get("/").status_code == 200
    assert web.get("/courses/prog1/").status_code == 200


def test_an_expired_session_is_nobody(cast, settings):
    web = logged_in(cast)
    key = web.cookies[settings.SESSION_COOKIE_NAME].value
    Session.objects.filter(pk=key).update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    assert SessionStore(key).load() == {}
    r = web.get("/")
    assert r.status_code == 302 and r["Location"].startswith("/login/")


def test_a_forged_session_key_is_nobody(cast, settings):
    web = Client()
    web.cookies[settings.SESSION_COOKIE_NAME] = "x" * 32
    assert web.get("/").status_code == 302


def test_a_logout_ends_the_session(cast):
    web = logged_in(cast)
    web.post("/logout/")
    assert web.get("/").status_code == 302


def test_a_password_change_ends_the_other_sessions(cast):
    web = logged_in(cast)
    alice = cast.users["alice"]
    alice.set_password("another")
    alice.save()
    assert web.get("/").status_code == 302


def test_a_deactivated_user_is_logged_out(cast):
    web = logged_in(cast)
    cast.users["alice"].is_active = False
    cast.users["alice"].save()
    assert web.get("/").status_code == 302
    assert UserBackend().get_user(cast.users["alice"].id) is None


def test_the_sessions_user_is_the_whole_user(cast):
    user = UserBackend().get_user(cast.users["admin"].id)
    assert (user.username, user.is_superuser, user.email) == ("admin", True, "admin@example.org")
    assert user.password == cast.users["admin"].password and user.date_joined.tzinfo is not None
    assert UserBackend().get_user(10**9) is None
