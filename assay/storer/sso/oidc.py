"""Log in with an OpenID Connect provider (authlib's Django client).

1. `login` sends the browser to the provider's authorization endpoint (from its discovery
   document) with a fresh state, nonce and PKCE code challenge (S256), kept in the session.
2. The provider sends the browser back to `callback` with a code. authlib checks the state
   against the session, trades the code (with the PKCE verifier and the client secret) for
   tokens at the token endpoint, and verifies the ID token: its signature against the
   provider's JWKS, its issuer, audience (our client id), expiry, issue time and nonce.
3. `accounts.account_for` finds the account linked to the token's issuer and subject, or makes
   one at the first login, and brings it up to date; then the user is logged in as with a
   password.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.django_client import DjangoOAuth2App, OAuth
from django.conf import settings
from django.contrib.auth import login as auth_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET
from joserfc.errors import JoseError

from .accounts import SignInRefused, account_for
from .views import login_context

log = logging.getLogger(__name__)

# the session's key for the page to go to after the login
NEXT_KEY = "sso_next"
# an OIDC user's session is read as a local account's (UserBackend reads sessions, it is always
# configured, and it checks no password here)
SESSION_BACKEND = "assay.storer.accounts.sessions.UserBackend"


class ProviderError(Exception):
    """The provider could not be reached or answered something unusable."""


_clients: dict[str, DjangoOAuth2App] = {}


def client(conf: dict[str, Any]) -> DjangoOAuth2App:
    """authlib's client for the configured provider; kept, with the discovery document and
    the key set it fetches, as long as the settings stay the same."""
    key = json.dumps(conf, sort_keys=True)
    app = _clients.get(key)
    if app is None:
        session_kwargs: dict[str, Any] = {
            "scope": " ".join(conf["SCOPES"]),
            "code_challenge_method": "S256",
            "default_timeout": conf["TIMEOUT_S"],
        }
        if conf["CA_FILE"]:
            session_kwargs["verify"] = conf["CA_FILE"]
        app = OAuth().register(
            "oidc",
            client_id=conf["CLIENT_ID"],
            client_secret=conf["CLIENT_SECRET"],
            server_metadata_url=conf["DISCOVERY_URL"],
            client_kwargs=session_kwargs,
        )
        _clients.clear()
        _clients[key] = app
    return app


def provider_metadata(app: DjangoOAuth2App, conf: dict[str, Any]) -> dict[str, Any]:
    """The discovery document, which must name the configured issuer (OpenID Connect
    Discovery §4.3: else a document from elsewhere could send the keys and the logins to a
    provider of its own)."""
    try:
        metadata = app.load_server_metadata()
    except (requests.RequestException, ValueError) as e:
        raise ProviderError(f"its discovery document {conf['DISCOVERY_URL']}: {e}") from e
    issuer = metadata.get("issuer")
    if str(issuer or "").rstrip("/") != conf["ISSUER"]:
        app.server_metadata.clear()  # fetched again next time
        raise ProviderError(
            f"its discovery document names the issuer {issuer!r}, "
            f"not ASSAY_OIDC_ISSUER={conf['ISSUER']!r}"
        )
    for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not metadata.get(endpoint):
            raise ProviderError(f"its discovery document has no {endpoint}")
    return metadata


def redirect_uri() -> str:
    """The callback's address as registered with the provider: from the storer's public URL,
    never from the request's Host header."""
    site_url: str = getattr(settings, "SITE_URL")  # noqa: B009 - set by deployment_settings
    return site_url.rstrip("/") + reverse("sso:oidc_callback")


def _conf() -> dict[str, Any]:
    if not settings.OIDC:
        raise Http404("OpenID Connect is not configured (ASSAY_OIDC_ISSUER)")
    return settings.OIDC


@require_GET
def login(request: HttpRequest) -> HttpResponse:
    conf = _conf()
    app = client(conf)
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = settings.LOGIN_REDIRECT_URL
    try:
        provider_metadata(app, conf)
        response = app.authorize_redirect(request, redirect_uri())
    except ProviderError as e:
        log.warning("OpenID Connect: cannot use the provider %s: %s", conf["ISSUER"], e)
        return failed(request, conf, "could not be reached. Try again in a few minutes.", 502)
    request.session[NEXT_KEY] = next_url
    return response


@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    conf = _conf()
    app = client(conf)
    try:
        issuer, claims = verified_claims(request, app, conf)
    except (AuthlibBaseError, JoseError) as e:
        # a wrong state (a stale or forged callback), an error the provider sent back, or an
        # ID token that failed a check (signature, issuer, audience, expiry, nonce)
        log.warning("OpenID Connect: login failed: %r", e)
        return failed(request, conf, "did not complete. Start again from the login page.", 400)
    except (ProviderError, requests.RequestException, ValueError) as e:
        log.warning("OpenID Connect: the provider %s failed: %s", conf["ISSUER"], e)
        return failed(request, conf, "could not be reached. Try again in a few minutes.", 502)
    try:
        user = account_for(issuer, claims, conf)
    except SignInRefused as e:
        # with the issuer and subject an administrator needs to link an account by hand
        log.info("OpenID Connect: refused subject %s of %s: %s", claims["sub"], issuer, e)
        return failed(request, conf, f"worked, but assay cannot let you in: {e}", 403)
    next_url = request.session.get(NEXT_KEY) or settings.LOGIN_REDIRECT_URL
    auth_login(request, user, backend=SESSION_BACKEND)
    return HttpResponseRedirect(next_url)


def verified_claims(
    request: HttpRequest, app: DjangoOAuth2App, conf: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The issuer and the claims of the callback's ID token, once the state, the code and the
    token have passed every check (steps 2 and 3), with the userinfo endpoint's claims for
    those the token lacks."""
    metadata = provider_metadata(app, conf)
    token = app.authorize_access_token(
        request,
        claims_options={
            "iss": {"essential": True, "values": [metadata["issuer"]]},
            # the audience must name us (authlib would otherwise only compare `azp`)
            "aud": {"essential": True, "values": [conf["CLIENT_ID"]]},
            "exp": {"essential": True},
        },
        leeway=60,
    )
    claims = token.get("userinfo")
    if claims is None:  # authlib verifies an ID token only when there is one
        raise ProviderError("its token response has no ID token")
    claims = dict(claims)
    if _missing_profile(claims, conf) and metadata.get("userinfo_endpoint"):
        claims = _with_userinfo(app, token, claims)
    return metadata["issuer"], claims


def failed(request: HttpRequest, conf: dict[str, Any], what: str, status: int) -> HttpResponse:
    """The login page again, saying what went wrong with the provider."""
    context = login_context(request)
    context["sso_error"] = f"Signing in with {conf['PROVIDER_NAME']} {what}"
    return render(request, "registration/login.html", context, status=status)


def _missing_profile(claims: dict[str, Any], conf: dict[str, Any]) -> bool:
    names = ("USERNAME_CLAIM", "EMAIL_CLAIM", "FIRST_NAME_CLAIM", "LAST_NAME_CLAIM", "ADMIN_CLAIM")
    return any(conf[name] and conf[name] not in claims for name in names)


def _with_userinfo(
    app: DjangoOAuth2App, token: dict[str, Any], claims: dict[str, Any]
) -> dict[str, Any]:
    """The ID token's claims and, for those it lacks, the userinfo endpoint's (some providers
    put only `sub` in the ID token). The endpoint's answer must be about the same subject."""
    info = dict(app.userinfo(token=token))
    if info.get("sub") != claims["sub"]:
        raise ProviderError("its userinfo endpoint answered about another subject")
    return {**info, **claims}
