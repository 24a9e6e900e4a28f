"""A real LTI 1.3 platform for the tests, on loopback: what Moodle, Canvas or Blackboard do for
a tool, in a few hundred lines (``LtiPlatform``).

- its key set (RSA, ``kid`` platform-1) at ``/jwks``; it signs every id_token with that key,
  or with another (``Message.key``: a bad signature);
- the OIDC authentication endpoint ``/auth``: it checks the tool's redirect (client id,
  redirect URI, ``response_mode=form_post``, a state and a nonce) and answers, as a platform
  does, with an HTML form that posts the signed launch (id_token, state) to the tool;
- the OAuth 2 token endpoint ``/token``: a client-credentials grant whose assertion (RFC 7523)
  must verify with the tool's public key set (read from the tool's ``/lti/jwks/``);
- Assignment and Grade Services: line items under ``/lineitems`` (made by a deep linking
  answer or by the tool) and their ``/scores``, every score kept in ``scores``, each request's
  token checked for the score scope; ``fail_scores`` answers 503 that many times first;
- Names and Role Provisioning at ``/memberships``, two members a page, the pages chained by a
  ``Link: <…>; rel="next"`` header.
"""

from __future__ import annotations

import html
import json
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
INSTRUCTOR, LEARNER = MEMBERSHIP + "Instructor", MEMBERSHIP + "Learner"
TA = "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"
MENTOR = MEMBERSHIP + "Mentor"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINEITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
PAGE = 2


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


@dataclass
class Message:
    """The next launch the platform signs: its claims, and what to spoil."""

    claims: dict[str, Any]
    key: rsa.RSAPrivateKey | None = None  # another key: a bad signature
    expires_in_s: int = 300  # negative: an expired launch


@dataclass
class Member:
    sub: str
    name: str
    email: str
    roles: list[str]
    status: str = "Active"


@dataclass
class LtiPlatform:
    url: str = ""
    client_id: str = "assay-tool"
    deployment_id: str = "deployment-1"
    key: rsa.RSAPrivateKey = field(default_factory=rsa_key)
    kid: str = "platform-1"
    tool_jwks: dict[str, Any] = field(default_factory=dict)  # the tool's public keys
    redirect_uri: str = ""  # the tool's launch URL, as registered
    message: Message | None = None
    logins: list[dict[str, str]] = field(default_factory=list)  # the tool's redirects to /auth
    tokens: dict[str, list[str]] = field(default_factory=dict)  # access token -> scopes
    token_requests: int = 0
    lineitems: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> line item
    scores: list[dict[str, Any]] = field(default_factory=list)  # (line item id in "lineitem")
    fail_scores: int = 0
    members: list[Member] = field(default_factory=list)
    roster_pages: int = 0

    # -- what a test says ------------------------------------------------------------------------

    @property
    def issuer(self) -> str:
        return self.url

    def reset(self) -> None:
        self.message, self.fail_scores, self.token_requests, self.roster_pages = None, 0, 0, 0
        for items in (self.logins, self.scores, self.members):
            items.clear()
        self.tokens.clear()
        self.lineitems.clear()

    def lineitem(self, label: str, score_maximum: float, resource_link_id: str = "") -> str:
        """A line item (grade column), as the platform makes for a placed link; its URL."""
        item_id = f"{self.url}/lineitems/{uuid.uuid4().hex[:8]}"
        self.lineitems[item_id] = {
            "id": item_id, "label": label, "scoreMaximum": score_maximum,
            "resourceLinkId": resource_link_id,
        }  # fmt: skip
        return item_id

    def claims(
        self, sub: str, roles: list[str], *, message_type: str = "LtiResourceLinkRequest",
        context: str = "moodle-course-7", link: str = "link-1", custom: dict | None = None,
        lineitem: str | None = None, email: str = "", name: str = "",
    ) -> dict[str, Any]:  # fmt: skip
        """A launch's claims, as a platform sends them (the nonce, iat and exp come at /auth)."""
        given, _, family = name.partition(" ")
        body: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": sub,
            "email": email,
            "name": name,
            "given_name": given,
            "family_name": family,
            LTI + "message_type": message_type,
            LTI + "version": "1.3.0",
            LTI + "deployment_id": self.deployment_id,
            LTI + "target_link_uri": self.redirect_uri,
            LTI + "roles": roles,
            LTI + "context": {"id": context, "label": "PROG1", "title": "Programming 1 (LMS)",
                              "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"]},
            "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": {
                "scope": [SCORE_SCOPE, LINEITEM_SCOPE],
                "lineitems": f"{self.url}/lineitems",
                **({"lineitem": lineitem} if lineitem else {}),
            },
            "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": {
                "context_memberships_url": f"{self.url}/memberships/{context}",
                "service_versions": ["2.0"],
            },
        }  # fmt: skip
        if message_type == "LtiResourceLinkRequest":
            body[LTI + "resource_link"] = {"id": link, "title": "Sum (in the LMS)"}
        else:
            body["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"] = {
                "deep_link_return_url": f"{self.url}/deep-link-return",
                "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["iframe", "window"],
                "accept_multiple": True,
                "data": "opaque-platform-data",
            }
        if custom:
            body[LTI + "custom"] = custom
        return body

    def sign(self, claims: dict[str, Any], nonce: str, message: Message) -> str:
        now = int(time.time())
        body = {"nonce": nonce, "iat": now, "exp": now + message.expires_in_s, **claims}
        return jwt.encode(body, message.key or self.key, algorithm="RS256",
                          headers={"kid": self.kid})  # fmt: skip

    def verify_tool_jwt(self, token: str, audience: str) -> dict[str, Any]:
        """A JWT the tool signed (a token request's assertion, a deep linking answer)."""
        kid = jwt.get_unverified_header(token)["kid"]
        jwk = next(k for k in self.tool_jwks["keys"] if k["kid"] == kid)
        key = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(jwk))
        return jwt.decode(token, key, algorithms=["RS256"], audience=audience)  # type: ignore[arg-type]

    # -- the HTTP side ---------------------------------------------------------------------------

    def auth(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        self.logins.append(query)
        problems = [
            name for name, ok in (
                ("scope", query.get("scope") == "openid"),
                ("response_type", query.get("response_type") == "id_token"),
                ("response_mode", query.get("response_mode") == "form_post"),
                ("client_id", query.get("client_id") == self.client_id),
                ("redirect_uri", query.get("redirect_uri") == self.redirect_uri),
                ("state", bool(query.get("state"))),
                ("nonce", bool(query.get("nonce"))),
                ("prompt", query.get("prompt") == "none"),
            ) if not ok
        ]  # fmt: skip
        if problems or self.message is None:
            return 400, {}, f"bad authentication request: {problems}".encode()
        token = self.sign(self.message.claims, query["nonce"], self.message)
        page = (
            f'<form method="post" action="{html.escape(query["redirect_uri"])}">'
            f'<input type="hidden" name="id_token" value="{token}">'
            f'<input type="hidden" name="state" value="{html.escape(query["state"])}">'
            "</form>"
        )
        return 200, {"Content-Type": "text/html"}, page.encode()

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        self.token_requests += 1
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_assertion_type")
            != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        ):
            return 400, {}, b'{"error": "unsupported_grant_type"}'
        try:
            claims = self.verify_tool_jwt(form["client_assertion"], f"{self.url}/token")
        except Exception as e:  # noqa: BLE001 - any failure is the client's
            return 401, {}, json.dumps({"error": "invalid_client", "why": str(e)}).encode()
        if claims["iss"] != self.client_id or claims["sub"] != self.client_id:
            return 401, {}, b'{"error": "invalid_client"}'
        access = secrets.token_urlsafe(16)
        scopes = form.get("scope", "").split()
        self.tokens[access] = scopes
        answer = {"access_token": access, "token_type": "Bearer", "expires_in": 3600,
                  "scope": " ".join(scopes)}  # fmt: skip
        return 200, {"Content-Type": "application/json"}, json.dumps(answer).encode()

    def authorized(self, headers: Any, scope: str) -> bool:
        auth = headers.get("Authorization", "")
        return auth.startswith("Bearer ") and scope in self.tokens.get(auth[7:], [])

    def score(self, item_id: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], bytes]:
        if not self.authorized(headers, SCORE_SCOPE):
            return 401, {}, b"no token with the score scope"
        if headers.get("Content-Type") != "application/vnd.ims.lis.v1.score+json":
            return 415, {}, b"scores are application/vnd.ims.lis.v1.score+json"
        if item_id not in self.lineitems:
            return 404, {}, b"no such line item"
        if self.fail_scores > 0:
            self.fail_scores -= 1
            return 503, {}, b"the gradebook is busy"
        score = json.loads(body)
        # AGS: scoreGiven is a number >= 0 (above scoreMaximum is extra credit), and
        # scoreMaximum goes with it
        given, maximum = score.get("scoreGiven"), score.get("scoreMaximum")
        if given is not None and (
            not isinstance(given, int | float) or given < 0 or maximum is None
        ):
            return 400, {}, b"scoreGiven must be a number >= 0, with scoreMaximum"
        self.scores.append({**score, "lineitem": item_id})
        return 200, {}, b""

    def lineitems_request(
        self, method: str, headers: Any, body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        if not self.authorized(headers, LINEITEM_SCOPE):
            return 401, {}, b"no token with the lineitem scope"
        if method == "GET":
            items = list(self.lineitems.values())
            return (
                200,
                {"Content-Type": "application/vnd.ims.lis.v2.lineitemcontainer+json"},
                json.dumps(items).encode(),
            )
        item = json.loads(body)
        item_id = self.lineitem(item.get("label", ""), item.get("scoreMaximum", 0))
        self.lineitems[item_id].update(item, id=item_id)
        return 201, {"Content-Type": "application/vnd.ims.lis.v2.lineitem+json"}, json.dumps(self.lineitems[item_id]).encode()  # fmt: skip

    def memberships(
        self, context: str, query: dict[str, str], headers: Any
    ) -> tuple[int, dict[str, str], bytes]:
        if not self.authorized(headers, NRPS_SCOPE):
            return 401, {}, b"no token with the NRPS scope"
        self.roster_pages += 1
        page = int(query.get("page", "1"))
        chunk = self.members[(page - 1) * PAGE : page * PAGE]
        body = {
            "id": f"{self.url}/memberships/{context}",
            "context": {"id": context, "title": "Programming 1 (LMS)"},
            "members": [
                {"user_id": m.sub, "name": m.name, "email": m.email, "roles": m.roles,
                 "status": m.status, "given_name": m.name.partition(" ")[0],
                 "family_name": m.name.partition(" ")[2]}
                for m in chunk
            ],
        }  # fmt: skip
        out = {"Content-Type": "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"}
        if page * PAGE < len(self.members):
            # a case-sensitive token in the next page's URL, as some platforms have
            out["Link"] = (
                f'<{self.url}/memberships/{context}?page={page + 1}&Cursor=AbC>; rel="next"'
            )
        return 200, out, json.dumps(body).encode()


def serve(platform: LtiPlatform) -> ThreadingHTTPServer:
    """Serve the platform on 127.0.0.1 (a free port) in a thread; sets ``platform.url``."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _route(self, method: str) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = parts.path
            if method == "GET" and path == "/jwks":
                keys = {"keys": [public_jwk(platform.key, platform.kid)]}
                return self._answer(
                    200, {"Content-Type": "application/json"}, json.dumps(keys).encode()
                )
            if method == "GET" and path == "/auth":
                return self._answer(*platform.auth(query))
            if method == "POST" and path == "/token":
                form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
                return self._answer(*platform.token(form))
            if path == "/lineitems":
                return self._answer(*platform.lineitems_request(method, self.headers, body))
            m = re.fullmatch(r"(/lineitems/\w+)/scores", path)
            if method == "POST" and m:
                return self._answer(*platform.score(platform.url + m.group(1), self.headers, body))
            m = re.fullmatch(r"/memberships/([\w-]+)", path)
            if method == "GET" and m:
                if query.get("page", "1") != "1" and query.get("Cursor") != "AbC":
                    return self._answer(400, {}, b"the page's cursor was altered")
                return self._answer(*platform.memberships(m.group(1), query, self.headers))
            return self._answer(404, {}, b"not found")

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    platform.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        daemon=True,
        name="lti-platform",
    ).start()  # a short poll: shutdown() at the end of the module returns at once
    return server


def form_fields(page: str, holding: str = "id_token") -> tuple[str, dict[str, str]]:
    """The action and hidden fields of the page's form that holds the field ``holding``."""
    for attributes, inside in re.findall(r"<form([^>]*)>(.*?)</form>", page, re.DOTALL):
        fields = {
            html.unescape(n): html.unescape(v)
            for n, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', inside)
        }
        if holding in fields:
            action = re.search(r'action="([^"]*)"', attributes)
            return html.unescape(action.group(1) if action else ""), fields
    raise AssertionError(f"no form with {holding} in {page[:2000]}")


def login_url(platform: LtiPlatform, login_hint: str = "hint", **extra: str) -> dict[str, str]:
    """The login initiation's parameters, as a platform sends them."""
    return {"iss": platform.issuer, "login_hint": login_hint, "client_id": platform.client_id,
            "target_link_uri": platform.redirect_uri, "lti_message_hint": "msg", **extra}  # fmt: skip
