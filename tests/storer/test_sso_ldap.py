"""Single sign-on with LDAP (issue 13, part 2): the login form's password is checked by a bind
to a real slapd on loopback (tests/storer/slapd.py). The first login makes the account from
the directory's entry, later ones update it; a wrong password is refused and counts towards
the login limits; a user the directory does not know logs in with a local account; a group
makes administrators; StartTLS is verified against the server's certificate.

Erin is a student in the directory; Frank is in its assay-admins group; Gina is in no group.
Bob has only a local account."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from assay.storer import settings as storer_settings
from assay.storer.sso.conf import ldap_settings

from .slapd import GROUPS, PEOPLE, SERVICE_DN, SERVICE_PASSWORD, Slapd, missing_tools

LDAP_BACKEND = "assay.storer.sso.ldap.DirectoryBackend"


@pytest.fixture(scope="module")
def slapd(tmp_path_factory) -> Iterator[Slapd]:
    problem = missing_tools()
    if problem:
        pytest.fail(problem)  # not a skip: the suite must run these (README: ./setup.sh)
    server = Slapd(tmp_path_factory.mktemp("slapd")).start()
    yield server
    server.stop()


def ldap_conf(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    """The AUTH_LDAP_* settings the storer would read from these ASSAY_LDAP_* variables."""
    for name, value in env.items():
        monkeypatch.setenv(f"ASSAY_LDAP_{name}", value)
    s = storer_settings
    return ldap_settings(s.env_str, s.env_bool, s.env_int, s.env_list)


@pytest.fixture
def directory(slapd, settings, monkeypatch, db):
    """The storer logging in against slapd (by a DN template), with Bob's local account
    beside it; returns a function that reconfigures it from ASSAY_LDAP_* values."""
    get_user_model().objects.create_user("bob", "bob@example.org", "pw")

    def use(**env: str) -> None:
        for name in [n for n in dir(settings) if n.startswith("AUTH_LDAP_")]:
            delattr(settings, name)
        for name, value in ldap_conf(monkeypatch, **env).items():
            setattr(settings, name, value)

    settings.LDAP_ENABLED = True
    settings.AUTHENTICATION_BACKENDS = [
        settings.AUTHENTICATION_BACKENDS[0], LDAP_BACKEND, *settings.AUTHENTICATION_BACKENDS[1:]
    ]  # fmt: skip
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=15)
    use(SERVER_URI=slapd.uri, USER_DN_TEMPLATE=f"uid=%(user)s,{PEOPLE}")
    return use


def log_in(username: str, password: str, address: str = "198.51.100.1") -> Any:
    return Client().post(
        "/login/", {"username": username, "password": password}, REMOTE_ADDR=address
    )


def logged_in(response: Any) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.client.session


def test_the_directorys_password_logs_in_and_makes_the_account(directory):
    assert not get_user_model().objects.filter(username="erin").exists()
    r = log_in("erin", "erin-secret")
    assert logged_in(r)
    erin = get_user_model().objects.get(username="erin")
    assert (erin.first_name, erin.last_name, erin.email) == ("Erin", "Hopper", "erin@uni.example")
    assert not erin.has_usable_password()  # her password stays in the directory
    assert not erin.is_superuser
    # her session goes on working page after page
    assert r.client.get("/").status_code == 200


def test_a_later_login_brings_the_account_up_to_date(directory, slapd):
    assert logged_in(log_in("erin", "erin-secret"))
    slapd.modify(
        f"dn: uid=erin,{PEOPLE}\nchangetype: modify\nreplace: sn\nsn: Hopper-Kay\n-\n"
        "replace: mail\nmail: erin.kay@uni.example\n"
    )
    try:
        assert logged_in(log_in("erin", "erin-secret"))
        erin = get_user_model().objects.get(username="erin")
        assert (erin.last_name, erin.email) == ("Hopper-Kay", "erin.kay@uni.example")
    finally:
        slapd.modify(
            f"dn: uid=erin,{PEOPLE}\nchangetype: modify\nreplace: sn\nsn: Hopper\n-\n"
            "replace: mail\nmail: erin@uni.example\n"
        )


def test_a_wrong_password_is_refused_and_counts_towards_the_lockout(directory):
    for _ in range(4):
        r = log_in("erin", "guess", address="203.0.113.7")
        assert r.status_code == 200 and "Please enter a correct username" in r.content.decode()
    assert not get_user_model().objects.filter(username="erin").exists()
    r = log_in("erin", "guess", address="203.0.113.7")  # the 5th failure locks the account
    assert r.status_code == 429
    # even the directory's right password, from another address, until the cool-off ends
    r = log_in("erin", "erin-secret")
    assert r.status_code == 429 and not logged_in(r)


def test_a_user_the_directory_does_not_know_logs_in_with_a_local_account(directory):
    assert logged_in(log_in("bob", "pw"))
    assert log_in("bob", "wrong").status_code == 200
    # a directory user cannot use a local password, nor a local user the directory's
    assert not logged_in(log_in("erin", "pw"))


def test_a_group_makes_administrators_and_leaving_it_unmakes_them(directory, slapd):
    directory(GROUP_SEARCH_BASE=GROUPS, ADMIN_GROUP=f"cn=assay-admins,{GROUPS}")
    assert logged_in(log_in("frank", "frank-secret"))
    frank = get_user_model().objects.get(username="frank")
    assert frank.is_superuser and frank.is_staff
    assert logged_in(log_in("erin", "erin-secret"))
    assert not get_user_model().objects.get(username="erin").is_superuser
    slapd.modify(
        f"dn: cn=assay-admins,{GROUPS}\nchangetype: modify\nreplace: member\n"
        f"member: uid=erin,{PEOPLE}\n"
    )
    try:
        assert logged_in(log_in("frank", "frank-secret"))
        frank.refresh_from_db()
        assert not frank.is_superuser and not frank.is_staff
    finally:
        slapd.modify(
            f"dn: cn=assay-admins,{GROUPS}\nchangetype: modify\nreplace: member\n"
            f"member: uid=frank,{PEOPLE}\n"
        )


def test_a_required_group_keeps_the_others_out(directory):
    directory(GROUP_SEARCH_BASE=GROUPS, REQUIRE_GROUP=f"cn=students,{GROUPS}")
    assert logged_in(log_in("erin", "erin-secret"))
    assert not logged_in(log_in("gina", "gina-secret"))
    assert not get_user_model().objects.filter(username="gina").exists()


def test_a_service_account_can_search_for_the_user_first(directory, monkeypatch):
    monkeypatch.delenv("ASSAY_LDAP_USER_DN_TEMPLATE")
    directory(
        BIND_DN=SERVICE_DN,
        BIND_PASSWORD=SERVICE_PASSWORD,
        USER_SEARCH_BASE=PEOPLE,
        USER_SEARCH_FILTER="(&(objectClass=inetOrgPerson)(uid=%(user)s))",
    )
    assert logged_in(log_in("gina", "gina-secret"))
    assert not logged_in(log_in("gina", "erin-secret"))
    assert logged_in(log_in("bob", "pw"))  # and local accounts still work


def test_starttls_checks_the_servers_certificate(directory, slapd, tmp_path):
    directory(START_TLS="true", CA_FILE=str(slapd.ca_file))
    assert logged_in(log_in("erin", "erin-secret"))
    # a certificate from an authority we do not trust: no LDAP login (local ones still work)
    other = tmp_path / "other-ca.pem"
    other.write_text(_another_certificate(tmp_path))
    directory(START_TLS="true", CA_FILE=str(other))
    assert not logged_in(log_in("gina", "gina-secret"))
    assert logged_in(log_in("bob", "pw"))


def _another_certificate(tmp_path) -> str:
    import subprocess

    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(tmp_path / "k.pem"), "-out", str(tmp_path / "c.pem"),
         "-subj", "/CN=127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return (tmp_path / "c.pem").read_text()


def test_a_directory_that_is_down_leaves_local_accounts_working(directory):
    directory(SERVER_URI="ldap://127.0.0.1:9")
    assert logged_in(log_in("bob", "pw"))
    assert not logged_in(log_in("erin", "erin-secret"))


def test_local_passwords_can_be_turned_off_leaving_the_directorys(directory, settings):
    settings.LOCAL_PASSWORD_LOGIN = False
    assert 'name="password"' in Client().get("/login/").content.decode()
    assert logged_in(log_in("erin", "erin-secret"))
    assert not logged_in(log_in("bob", "pw"))


# -- settings --------------------------------------------------------------------------


def test_the_settings_say_what_is_missing_or_wrong(monkeypatch):
    assert ldap_conf(monkeypatch) == {}  # not configured: off
    with pytest.raises(ImproperlyConfigured, match="USER_DN_TEMPLATE.*USER_SEARCH_BASE"):
        ldap_conf(monkeypatch, SERVER_URI="ldaps://ldap.uni.example")
    with pytest.raises(ImproperlyConfigured, match="%\\(user\\)s"):
        ldap_conf(monkeypatch, USER_DN_TEMPLATE="uid=alice,ou=people")
    with pytest.raises(ImproperlyConfigured, match="FIELD=attribute"):
        ldap_conf(monkeypatch, USER_DN_TEMPLATE="uid=%(user)s", ATTRIBUTES="name=cn")
    monkeypatch.delenv("ASSAY_LDAP_ATTRIBUTES")
    with pytest.raises(ImproperlyConfigured, match="GROUP_SEARCH_BASE"):
        ldap_conf(monkeypatch, ADMIN_GROUP="cn=admins,ou=groups")
    with pytest.raises(ImproperlyConfigured, match="activeDirectory"):
        ldap_conf(monkeypatch, GROUP_SEARCH_BASE="ou=groups", GROUP_TYPE="nis")
    conf = ldap_conf(monkeypatch, GROUP_TYPE="activeDirectory")
    assert conf["AUTH_LDAP_USER_FLAGS_BY_GROUP"] == {
        "is_staff": "cn=admins,ou=groups",
        "is_superuser": "cn=admins,ou=groups",
    }
    assert type(conf["AUTH_LDAP_GROUP_TYPE"]).__name__ == "NestedActiveDirectoryGroupType"
