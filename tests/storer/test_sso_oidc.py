"""Single sign-on with OpenID Connect (issue 13, part 2): the authorization code flow with PKCE
against a real provider on loopback (tests/storer/oidc_provider.py), which signs its ID tokens
with its own RSA key. A login makes the account at the first time and updates it after; a token
with a bad signature, another audience, an expired one, another nonce, and a callback whose
state is not the session's are refused. Local passwords still work unless turned off.

Dana has no account on assay yet: her first login makes one. The cast's Alice has a local
account: the provider's "alice" must not take it over."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from assay.storer import settings as storer_settings
from assay.storer.sso.conf import oidc_settings
from assay.storer.sso.models import Identity

from .oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider, ProviderServer

DANA = {
    "sub": "248289761001",
    "preferred_username": "dana",
    "email": "dana@uni.example",
    "email_verified": True,
    "given_name": "Dana",
    "family_name": "Scully",
}


def conf_from_env(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any] | None:
    """The OIDC settings the storer would read from these ASSAY_OIDC_* variables."""
    for name, value in env.items():
        monkeypatch.setenv(f"ASSAY_OIDC_{name}", value)
    s = storer_settings
    return oidc_settings(s.env_str, s.env_bool, s.env_int, s.env_list)


@pytest.fixture(scope="module")
def server() -> Iterator[Provider]:
    with ProviderServer() as provider:
        yield provider


@pytest.fixture
def provider(server: Provider, settings, monkeypatch, db) -> Provider:
    """The provider with Dana logged in at it, and the storer configured to use it."""
    server.user = dict(DANA)
    server.tamper.clear()
    server.userinfo_only.clear()
    server.token_requests.clear()
    server.authorize_requests.clear()
    settings.OIDC = conf_from_env(
        monkeypatch,
        ISSUER=server.url,
        CLIENT_ID=CLIENT_ID,
        CLIENT_SECRET=CLIENT_SECRET,
        PROVIDER_NAME="Test University",
    )
    return server


def configure(settings, **changes: Any) -> None:
    settings.OIDC = {**settings.OIDC, **changes}


def sign_in(client: Client, next_url: str = "") -> Any:
    """The browser's part of the flow: the login link, the provider's page (the user is
    already logged in there), and the way back with the code."""
    start = client.get("/login/oidc/", {"next": next_url} if next_url else {})
    assert start.status_code == 302, start.content.decode()
    at_provider = httpx.get(start["Location"])
    assert at_provider.status_code == 302, at_provider.text
    back = urlsplit(at_provider.headers["Location"])
    assert back.path == "/login/oidc/callback/"
    return client.get(f"{back.path}?{back.query}")


def logged_in_as(client: Client) -> str | None:
    user_id = client.session.get("_auth_user_id")
    if user_id is None:
        return None
    return get_user_model().objects.get(pk=user_id).username


def password_login(username: str, password: str) -> bool:
    r = Client().post("/login/", {"username": username, "password": password})
    return r.status_code == 302 and "_auth_user_id" in r.client.session


def refused(response: Any, status: int, *phrases: str) -> bool:
    text = response.content.decode()
    return (
        response.status_code == status
        and "Signing in with Test University" in text
        and all(p in text for p in phrases)
        and "_auth_user_id" not in response.client.session
    )


# -- the flow ------------------------------------------------------------------------------


def test_the_login_page_offers_the_provider_beside_the_password_form(provider, settings):
    page = Client().get("/login/?next=/courses/prog1/").content.decode()
    assert "Sign in with Test University" in page
    assert 'href="/login/oidc/?next=%2Fcourses%2Fprog1%2F"' in page
    assert 'name="password"' in page
    settings.OIDC = None
    page = Client().get("/login/").content.decode()
    assert "Sign in with" not in page and 'name="password"' in page
    assert Client().get("/login/oidc/").status_code == 404


def test_the_first_login_makes_the_account_and_the_next_one_updates_it(provider):
    client = Client()
    r = sign_in(client, next_url="/join/")
    assert r.status_code == 302 and r["Location"] == "/join/"
    assert logged_in_as(client) == "dana"
    dana = get_user_model().objects.get(username="dana")
    assert (dana.first_name, dana.last_name, dana.email) == ("Dana", "Scully", "dana@uni.example")
    assert not dana.has_usable_password() and not dana.is_superuser
    assert Identity.objects.get(user=dana).subject == DANA["sub"]
    # the request carried a state, a nonce and a PKCE challenge; the code came back with the
    # verifier and the client's secret (the provider checks both)
    authorize = provider.authorize_requests[-1]
    assert (
        authorize["state"] and authorize["nonce"] and authorize["code_challenge_method"] == "S256"
    )
    assert provider.token_requests[-1]["code_verifier"]
    assert client.get("/").status_code == 200

    # she married and changed her address and her username at the provider: the same account
    provider.user |= {
        "family_name": "Mulder",
        "email": "dana.mulder@uni.example",
        "preferred_username": "dmulder",
    }
    client = Client()
    assert sign_in(client).status_code == 302
    assert logged_in_as(client) == "dana"
    dana.refresh_from_db()
    assert (dana.last_name, dana.email) == ("Mulder", "dana.mulder@uni.example")
    assert get_user_model().objects.filter(username="dmulder").count() == 0
    assert Identity.objects.count() == 1


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ({"sign_with_other_key": True}, "BadSignatureError"),
        # a token for another application, also when it names us as the authorized party
        ({"aud": "another-client"}, "'aud'"),
        ({"aud": ["another-client"], "azp": CLIENT_ID}, "'aud'"),
        ({"exp": 1_000_000_000}, "ExpiredTokenError"),  # 2001
        # a token from another login (a replayed one)
        ({"nonce": "not-the-session-nonce"}, "'nonce'"),
        ({"iss": "https://evil.example"}, "'iss'"),
    ],
    ids=["bad-signature", "wrong-audience", "wrong-audience-right-azp", "expired",
         "wrong-nonce", "wrong-issuer"],
)  # fmt: skip
def test_an_id_token_that_fails_a_check_is_refused(provider, tamper, reason, caplog):
    provider.tamper.update(tamper)
    r = sign_in(Client())
    assert refused(r, 400, "did not complete")
    assert reason in caplog.text  # refused for that reason, not another
    assert not get_user_model().objects.filter(username="dana").exists()
    assert not Identity.objects.exists()


def test_a_token_response_without_an_id_token_is_refused(provider, caplog):
    # plain OAuth 2.0 (an access token only) proves nothing about who the user is
    provider.tamper["no_id_token"] = True
    assert refused(sign_in(Client()), 502)
    assert "no ID token" in caplog.text
    assert not Identity.objects.exists()


def test_a_callback_whose_state_is_not_the_sessions_is_refused(provider):
    provider.tamper["state"] = "forged-state"
    assert refused(sign_in(Client()), 400, "did not complete")
    assert provider.token_requests == []  # the code was never even used
    # a callback in a browser that never started a login (login CSRF: an attacker's code)
    provider.tamper.clear()
    client = Client()
    start = client.get("/login/oidc/")
    back = urlsplit(httpx.get(start["Location"]).headers["Location"])
    victim = Client()
    assert refused(victim.get(f"{back.path}?{back.query}"), 400)
    # the right browser can use its callback once, not twice
    assert client.get(f"{back.path}?{back.query}").status_code == 302
    client.logout()
    assert refused(client.get(f"{back.path}?{back.query}"), 400)


def test_an_error_from_the_provider_is_shown_on_the_login_page(provider):
    client = Client()
    start = client.get("/login/oidc/")
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    r = client.get("/login/oidc/callback/", {"error": "access_denied", "state": state})
    assert refused(r, 400, "did not complete", 'name="password"')


def test_an_unreachable_provider_or_a_foreign_discovery_document_is_a_clear_error(
    provider, settings, caplog
):
    configure(settings, DISCOVERY_URL="http://127.0.0.1:9/.well-known/openid-configuration")
    assert refused(Client().get("/login/oidc/"), 502, "could not be reached")
    assert "127.0.0.1:9" in caplog.text  # the log names the address it tried
    provider.tamper["discovery_issuer"] = "https://evil.example"
    configure(settings, DISCOVERY_URL=provider.url + "/.well-known/openid-configuration")
    assert refused(Client().get("/login/oidc/"), 502, "could not be reached")
    assert "names the issuer 'https://evil.example'" in caplog.text


def test_an_outside_next_address_is_not_followed(provider):
    r = sign_in(Client(), next_url="https://evil.example/")
    assert r.status_code == 302 and r["Location"] == "/"


# -- accounts --------------------------------------------------------------------------


def test_a_local_account_with_the_same_username_is_not_taken_over(provider, cast, caplog):
    provider.user = {**DANA, "sub": "x-alice", "preferred_username": "alice",
                     "email": "alice@example.org"}  # fmt: skip
    r = sign_in(Client())
    assert refused(r, 403, "already exists and is not linked")
    assert not Identity.objects.exists()
    # the log names what an administrator needs to link it by hand
    assert f"refused subject x-alice of {provider.url}" in caplog.text


def test_a_verified_address_links_an_existing_account_only_when_the_setting_says_so(
    provider, cast, settings
):
    configure(settings, MATCH_EMAIL=True)
    provider.user = {**DANA, "sub": "x-alice", "preferred_username": "alice.smith",
                     "email": "ALICE@example.org", "email_verified": False}  # fmt: skip
    # an address the provider did not verify links nothing (and alice.smith is new)
    client = Client()
    assert sign_in(client).status_code == 302 and logged_in_as(client) == "alice.smith"
    Identity.objects.all().delete()
    get_user_model().objects.filter(username="alice.smith").delete()
    provider.user["email_verified"] = True
    client = Client()
    assert sign_in(client).status_code == 302
    assert logged_in_as(client) == "alice"
    assert Identity.objects.get(subject="x-alice").user == cast.users["alice"]
    # her local password still works too
    assert password_login("alice", "pw")


def test_only_addresses_in_the_allowed_domains_get_in(provider, settings):
    configure(settings, ALLOWED_DOMAINS=["uni.example"])
    assert sign_in(Client()).status_code == 302
    provider.user = {**DANA, "sub": "mallory", "preferred_username": "mallory",
                     "email": "mallory@gmail.example"}  # fmt: skip
    assert refused(sign_in(Client()), 403, "not in uni.example")
    provider.user = {**DANA, "sub": "eve", "preferred_username": "eve",
                     "email": "eve@uni.example", "email_verified": False}  # fmt: skip
    assert refused(sign_in(Client()), 403, "did not verify")
    assert sorted(get_user_model().objects.values_list("username", flat=True)) == ["dana"]


def test_a_group_claim_makes_an_administrator_and_its_absence_unmakes_one(provider, settings):
    configure(settings, ADMIN_CLAIM="groups", ADMIN_VALUES=["assay-admins"])
    provider.user["groups"] = ["staff", "assay-admins"]
    sign_in(Client())
    dana = get_user_model().objects.get(username="dana")
    assert dana.is_superuser and dana.is_staff
    provider.user["groups"] = ["staff"]
    sign_in(Client())
    dana.refresh_from_db()
    assert not dana.is_superuser and not dana.is_staff


def test_a_disabled_account_cannot_sign_in(provider):
    sign_in(Client())
    get_user_model().objects.filter(username="dana").update(is_active=False)
    assert refused(sign_in(Client()), 403, "disabled")


def test_claims_the_id_token_lacks_come_from_the_userinfo_endpoint(provider):
    provider.userinfo_only = {"email", "given_name", "family_name", "preferred_username"}
    client = Client()
    assert sign_in(client).status_code == 302 and logged_in_as(client) == "dana"
    dana = get_user_model().objects.get(username="dana")
    assert (dana.first_name, dana.email) == ("Dana", "dana@uni.example")


# -- local passwords -------------------------------------------------------------------


def test_local_passwords_stay_unless_turned_off(provider, cast, settings):
    assert password_login("bob", "pw")
    settings.LOCAL_PASSWORD_LOGIN = False
    page = Client().get("/login/").content.decode()
    assert "Sign in with Test University" in page and 'name="password"' not in page
    assert not password_login("bob", "pw")


# -- settings --------------------------------------------------------------------------


def test_the_settings_refuse_a_plain_http_issuer_and_a_missing_secret(monkeypatch):
    assert conf_from_env(monkeypatch) is None  # not configured: off
    with pytest.raises(ImproperlyConfigured, match="https://"):
        conf_from_env(monkeypatch, ISSUER="http://login.uni.example", CLIENT_ID="a",
                      CLIENT_SECRET="b")  # fmt: skip
    monkeypatch.delenv("ASSAY_OIDC_CLIENT_SECRET")
    with pytest.raises(ImproperlyConfigured, match="ASSAY_OIDC_CLIENT_SECRET"):
        conf_from_env(monkeypatch, ISSUER="https://login.uni.example/realms/x/")
    conf = conf_from_env(monkeypatch, CLIENT_SECRET="b", ALLOWED_DOMAINS="@Uni.Example, b.example")
    assert conf is not None
    assert conf["DISCOVERY_URL"] == (
        "https://login.uni.example/realms/x/.well-known/openid-configuration"
    )
    assert conf["PROVIDER_NAME"] == "login.uni.example"
    assert conf["ALLOWED_DOMAINS"] == ["uni.example", "b.example"]
