"""Single sign-on in a real `assay demo` configured only by its ASSAY_OIDC_* and ASSAY_LDAP_*
environment variables (the other test files set Django's settings directly): the login page
offers the provider, a browser (httpx with its cookies) signs in through the provider on
loopback, and the login form takes the directory's password."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from .oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider, ProviderServer
from .server import Server, free_port
from .slapd import PEOPLE, Slapd, missing_tools


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with ProviderServer() as p:
        p.user = {"sub": "hank-1", "preferred_username": "hank", "email": "hank@uni.example",
                  "email_verified": True, "given_name": "Hank", "family_name": "Moody"}  # fmt: skip
        yield p


@pytest.fixture(scope="module")
def server(tmp_path_factory, provider) -> Iterator[Server]:
    problem = missing_tools()
    if problem:
        pytest.fail(problem)
    slapd = Slapd(tmp_path_factory.mktemp("slapd")).start()
    env = {
        "ASSAY_OIDC_ISSUER": provider.url,
        "ASSAY_OIDC_CLIENT_ID": CLIENT_ID,
        "ASSAY_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "ASSAY_OIDC_PROVIDER_NAME": "Test University",
        "ASSAY_LDAP_SERVER_URI": slapd.uri,
        "ASSAY_LDAP_USER_DN_TEMPLATE": f"uid=%(user)s,{PEOPLE}",
        "ASSAY_LDAP_START_TLS": "true",
        "ASSAY_LDAP_CA_FILE": str(slapd.ca_file),
    }
    s = Server(tmp_path_factory.mktemp("sso") / "data", free_port(), env, testers=0).start()
    yield s
    s.stop()
    slapd.stop()


def test_a_browser_signs_in_through_the_provider(server, provider):
    with httpx.Client(base_url=server.url) as browser:
        page = browser.get("/login/").text
        assert "Sign in with Test University" in page and 'name="password"' in page
        start = browser.get("/login/oidc/")
        assert start.status_code == 302
        back = httpx.get(start.headers["Location"])  # the provider's page
        assert back.headers["Location"].startswith(server.url + "/login/oidc/callback/?")
        done = browser.get(back.headers["Location"])
        assert done.status_code == 302 and done.headers["Location"] == "/"
        home = browser.get("/")
        assert home.status_code == 200 and "hank" in home.text


def test_the_login_form_takes_the_directorys_password(server):
    with httpx.Client(base_url=server.url) as browser:
        form = browser.get("/login/").text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
        assert token
        data = {"csrfmiddlewaretoken": token[1], "username": "erin", "password": "erin-secret"}
        r = browser.post("/login/", data=data)
        assert r.status_code == 302, r.text
        assert "erin" in browser.get("/").text
        # the demo's local accounts still log in beside the directory
        data |= {"username": "alice", "password": "alice-demo"}
        with httpx.Client(base_url=server.url) as other:
            data["csrfmiddlewaretoken"] = re.search(
                r'name="csrfmiddlewaretoken" value="([^"]+)"', other.get("/login/").text
            )[1]  # type: ignore[index]
            assert other.post("/login/", data=data).status_code == 302
