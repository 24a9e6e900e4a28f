"""Failed logins are limited per account and per address (issue 9, item 8; django-axes,
assay/storer/security.py): password guessing stops after a few tries, a locked-out user is told
when to try again (429, not a 500), and other accounts from other addresses go on working."""

from __future__ import annotations

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.test.client import RequestFactory

from assay.storer.security import client_address

ATTACKER, ALICE_HOME, BOB_HOME = "203.0.113.7", "198.51.100.1", "198.51.100.2"


@pytest.fixture(autouse=True)
def limits(settings):
    settings.AXES_FAILURE_LIMIT = 5
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 12
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=15)
    return settings


def log_in(username: str, password: str, address: str, path: str = "/login/"):
    return Client().post(path, {"username": username, "password": password}, REMOTE_ADDR=address)


def logged_in(response) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.client.session


def locked(response) -> bool:
    return response.status_code == 429 and "Too many failed logins" in response.content.decode()


def age_failures(minutes: int) -> None:
    """As if the failures happened `minutes` earlier."""
    for attempt in AccessAttempt.objects.all():
        attempt.attempt_time -= dt.timedelta(minutes=minutes)
        attempt.save()


def test_failed_logins_lock_the_account_until_the_cool_off(cast):
    for _ in range(4):
        r = log_in("alice", "guess", ATTACKER)
        assert r.status_code == 200 and "Please enter a correct username" in r.content.decode()
    r = log_in("alice", "guess", ATTACKER)  # the 5th failure locks
    assert locked(r)
    # from any address, even with the right password, until the cool-off ends
    r = log_in("alice", "pw", ALICE_HOME)
    assert locked(r) and not logged_in(r)
    assert 14 * 60 < int(r["Retry-After"]) <= 15 * 60
    assert "You can try again at" in r.content.decode() and "UTC" in r.content.decode()
    # another account from another address still works
    assert logged_in(log_in("bob", "pw", BOB_HOME))
    # trying while locked out does not push the end further away
    age_failures(10)
    assert locked(log_in("alice", "pw", ALICE_HOME))
    assert int(log_in("alice", "pw", ALICE_HOME)["Retry-After"]) <= 5 * 60
    age_failures(6)  # 16 minutes after the last failure
    assert logged_in(log_in("alice", "pw", ALICE_HOME))


def test_failed_logins_from_one_address_lock_the_address(cast):
    # guessing at many accounts (each below its own limit) from one address
    for i in range(11):
        r = log_in(["teacher", "tina", "carol", "admin"][i % 4], "guess", ATTACKER)
        assert r.status_code == 200
    assert locked(log_in("nobody", "guess", ATTACKER))  # the address's 12th failure
    # the address is locked for every account, also with a right password ...
    assert locked(log_in("bob", "pw", ATTACKER))
    # ... the accounts are not: from another address they work
    assert logged_in(log_in("teacher", "pw", ALICE_HOME))
    assert logged_in(log_in("bob", "pw", BOB_HOME))


def test_a_classroom_behind_one_address_is_not_locked_out_by_a_few_typos(cast):
    # 4 users share an address; each mistypes twice (8 failures: over the per-account limit
    # together, under the address's)
    for who in ("alice", "bob", "carol", "tina"):
        for _ in range(2):
            assert log_in(who, "typo", ATTACKER).status_code == 200
    for who in ("alice", "bob", "carol", "tina", "teacher"):
        assert logged_in(log_in(who, "pw", ATTACKER))


def test_the_admin_login_is_limited_too(cast):
    for _ in range(5):
        r = log_in("admin", "guess", ATTACKER, "/admin/login/")
    assert locked(r)
    assert locked(log_in("admin", "pw", ALICE_HOME, "/admin/login/"))
    assert locked(log_in("admin", "pw", ALICE_HOME))  # and the same account on the web login


def test_behind_a_proxy_the_address_is_the_one_the_proxy_saw(settings):
    factory = RequestFactory()
    forged = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": f"1.2.3.4, {ATTACKER}"}
    settings.PROXY_COUNT = 0  # no proxy: the header is the client's and is ignored
    assert client_address(factory.get("/", **forged)) == "10.0.0.1"
    settings.PROXY_COUNT = 1  # one proxy: the last entry is the one it added
    assert client_address(factory.get("/", **forged)) == ATTACKER
    assert client_address(factory.get("/", REMOTE_ADDR="10.0.0.1")) == "10.0.0.1"
