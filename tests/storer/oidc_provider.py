"""A small OpenID Connect provider on loopback, for the single sign-on tests: a discovery
document, a JWKS with its own RSA key, an authorization endpoint that sends the browser back
with a code for the user the test says is logged in at the provider, a token endpoint that
checks the client's secret, the code, the redirect URI and the PKCE verifier and returns a
really signed ID token, and a userinfo endpoint.

A test can make the provider misbehave (`Provider.tamper`): sign with another key, name
another audience, send an expired token or another nonce."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

CLIENT_ID, CLIENT_SECRET = "assay-test", "assay-test-secret"


@dataclass
class Grant:
    """An authorization code and what it was issued for."""

    user: dict[str, Any]
    redirect_uri: str
    nonce: str | None
    code_challenge: str
    used: bool = False


@dataclass
class Provider:
    """The provider's state. `user` is whoever is logged in at the provider (the claims its ID
    token carries besides iss, aud, exp, iat and nonce); `tamper` changes the next tokens."""

    key: RSAKey
    other_key: RSAKey  # not in the JWKS: a token signed with it must be refused
    url: str = ""
    user: dict[str, Any] = field(default_factory=dict)
    userinfo_only: set[str] = field(default_factory=set)  # claims left out of the ID token
    tamper: dict[str, Any] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
    access_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.tamper.get("discovery_issuer", self.url),
            "authorization_endpoint": self.url + "/authorize",
            "token_endpoint": self.url + "/token",
            "userinfo_endpoint": self.url + "/userinfo",
            "jwks_uri": self.url + "/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        }

    def jwks(self) -> dict[str, Any]:
        return KeySet([self.key]).as_dict(private=False)

    def id_token(self, grant: Grant, access_token: str) -> str:
        now = int(time.time())
        claims = {k: v for k, v in grant.user.items() if k not in self.userinfo_only}
        claims |= {"iss": self.url, "aud": CLIENT_ID, "iat": now, "exp": now + 300}
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        for name in ("aud", "azp", "exp", "nonce", "iss"):
            if name in self.tamper:
                claims[name] = self.tamper[name]
        key = self.other_key if self.tamper.get("sign_with_other_key") else self.key
        return jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, key)


def _b64_sha256(verifier: str) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )


class Handler(BaseHTTPRequestHandler):
    provider: Provider

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def send_json(self, data: Any, status: int = 200) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        p = self.provider
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/.well-known/openid-configuration":
            self.send_json(p.discovery())
        elif url.path == "/jwks":
            self.send_json(p.jwks())
        elif url.path == "/authorize":
            p.authorize_requests.append(query)
            ok = (
                query.get("client_id") == CLIENT_ID
                and query.get("response_type") == "code"
                and query.get("code_challenge_method") == "S256"
                and query.get("code_challenge")
                and "openid" in query.get("scope", "").split()
            )
            if not ok:
                self.send_json({"error": "invalid_request"}, 400)
                return
            code = secrets.token_urlsafe(16)
            p.grants[code] = Grant(
                dict(p.user), query["redirect_uri"], query.get("nonce"), query["code_challenge"]
            )
            back = {"code": code, "state": p.tamper.get("state", query.get("state", ""))}
            self.send_response(302)
            self.send_header("Location", query["redirect_uri"] + "?" + urlencode(back))
            self.end_headers()
        elif url.path == "/userinfo":
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            if token not in p.access_tokens:
                self.send_json({"error": "invalid_token"}, 401)
                return
            self.send_json(p.access_tokens[token])
        else:
            self.send_json({"error": "not_found"}, 404)

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        p = self.provider
        if self.path != "/token":
            self.send_json({"error": "not_found"}, 404)
            return
        length = int(self.headers.get("Content-Length", 0))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        p.token_requests.append(form)
        basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if self.headers.get("Authorization") != f"Basic {basic}":
            self.send_json({"error": "invalid_client"}, 401)
            return
        grant = p.grants.get(form.get("code", ""))
        if (
            form.get("grant_type") != "authorization_code"
            or grant is None
            or grant.used
            or form.get("redirect_uri") != grant.redirect_uri
            or _b64_sha256(form.get("code_verifier", "")) != grant.code_challenge
        ):
            self.send_json({"error": "invalid_grant"}, 400)
            return
        grant.used = True
        access_token = secrets.token_urlsafe(16)
        p.access_tokens[access_token] = dict(grant.user)
        response = {"access_token": access_token, "token_type": "Bearer", "expires_in": 300}
        if not p.tamper.get("no_id_token"):
            response["id_token"] = p.id_token(grant, access_token)
        self.send_json(response)


class ProviderServer:
    """The provider served on 127.0.0.1 in a thread."""

    def __init__(self) -> None:
        self.provider = Provider(
            key=RSAKey.generate_key(2048, parameters={"kid": "test-key"}),
            other_key=RSAKey.generate_key(2048, parameters={"kid": "test-key"}),
        )
        handler = type("BoundHandler", (Handler,), {"provider": self.provider})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.provider.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Provider:
        self.thread.start()
        return self.provider

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
