"""Answers that stay the same for the length of one request (a user's role in a course), asked
for once per request instead of once per question: a student's poll asks "is this user a
supervisor here?" in several places.

The middleware gives each request its own empty cache (per thread: the web server runs one
request per thread at a time) and drops it when the response is made; outside a request
(commands, the tests' direct service calls) nothing is cached.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")
_local = threading.local()


def remember(key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, once per request for ``key``."""
    cache: dict[Hashable, Any] | None = getattr(_local, "cache", None)
    if cache is None:
        return compute()
    if key not in cache:
        cache[key] = compute()
    return cache[key]  # type: ignore[no-any-return]


class RequestCacheMiddleware:
    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        _local.cache = {}
        try:
            return self.get_response(request)
        finally:
            _local.cache = None


def forget(**_: Any) -> None:
    """Drop what this request remembered (a receiver of the signals of rows it may hold)."""
    if getattr(_local, "cache", None):
        _local.cache = {}
