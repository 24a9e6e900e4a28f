"""The storer's web defences (issue 9): the Content-Security-Policy header, the client address
behind reverse proxies, and failed-login limits (django-axes) with a clear lockout page.

docs/security.md ("The storer's web interface") says what each one stops and which test shows it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_cool_off, get_failure_limit
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone


class ContentSecurityPolicyMiddleware:
    """Send settings.CONTENT_SECURITY_POLICY with every response (pages, partials, the API, the
    admin): scripts and styles from the storer's own static files only, so markup that gets
    into a page (a file name, a description, a program's output) cannot run script."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = settings.CONTENT_SECURITY_POLICY

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.policy
        return response


def client_address(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or behind ASSAY_PROXY_COUNT reverse proxies the
    address the outermost one saw, counted from the right of X-Forwarded-For (the entries to
    its left come from the client and may be forged)."""
    proxies = settings.PROXY_COUNT
    if proxies <= 0:
        return request.META.get("REMOTE_ADDR")
    forwarded = [
        a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()
    ]
    if len(forwarded) < proxies:
        return request.META.get("REMOTE_ADDR")  # not through all the proxies: take the peer
    return forwarded[-proxies]


class LoginLimits(AxesDatabaseHandler):
    """django-axes' database handler with a limit per account and a higher one per address.

    axes counts the failures in the cool-off window per lockout parameter (["username",
    "ip_address"]: the account's failures from any address, the address's failures on any
    account) and compares the largest count with one limit, AXES_FAILURE_LIMIT (per account).
    Many students may share an address (a lab, a campus NAT), so the address's count is scaled
    to that limit: it reaches it exactly when the address had LOGIN_ADDRESS_FAILURE_LIMIT
    failures."""

    def get_failures(self, request: Any, credentials: dict | None = None) -> int:
        per_account = get_failure_limit(request, credentials)
        per_address = settings.LOGIN_ADDRESS_FAILURE_LIMIT
        counts = []
        for parameter, attempts in zip(
            settings.AXES_LOCKOUT_PARAMETERS,
            self.get_user_attempts(request, credentials),
            strict=True,
        ):
            failures = sum(attempts.values_list("failures_since_start", flat=True))
            if parameter == "ip_address":
                failures = failures * per_account // per_address
            counts.append(failures)
        return max(counts, default=0)

    def unlocks_at(self, request: Any, credentials: dict | None = None) -> dt.datetime | None:
        """When the lockout ends: the cool-off after the last failure that counts."""
        cool_off = get_cool_off(request)
        last = max(
            (
                a.attempt_time
                for attempts in self.get_user_attempts(request, credentials)
                for a in attempts.only("attempt_time")
            ),
            default=None,
        )
        return last + cool_off if last and cool_off else None


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """429 Too Many Requests with a page that says when to try again (and Retry-After)."""
    until = LoginLimits().unlocks_at(request, credentials)
    now = timezone.now()
    if until is None or until <= now:  # the window is a moving one: never "0 minutes"
        until = now + (get_cool_off(request) or dt.timedelta(minutes=1))
    seconds = max(1, math.ceil((until - now).total_seconds()))
    response = render(
        request,
        "registration/locked_out.html",
        {"until": until, "minutes": math.ceil(seconds / 60)},
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response
