"""The storer's WSGI application.

With ``ASSAY_REQUEST_CPU_LOG=FILE`` each request's cpu time (of the thread that served it, in
the application: Django, the views, the database driver) is appended to FILE as
``<unix time> <method> <path with numbers as N> <cpu ms>``: `bench/rush.py` reads it to say
which requests the storer's cpu goes to. Off by default (one line per request)."""

import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assay.storer.settings")
application: Callable[..., Iterable[bytes]] = get_wsgi_application()

NUMBERS = re.compile(r"/\d+(?=/|$)")


def cpu_logged(app: Callable[..., Iterable[bytes]], path: str) -> Callable[..., Iterable[bytes]]:
    log = open(path, "a", buffering=1)  # noqa: SIM115 - for the life of the process
    lock = threading.Lock()

    def logged(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start = time.thread_time()
        try:
            return app(environ, start_response)
        finally:
            ms = (time.thread_time() - start) * 1000
            route = NUMBERS.sub("/N", environ.get("PATH_INFO", ""))
            with lock:
                log.write(f"{time.time():.3f} {environ.get('REQUEST_METHOD')} {route} {ms:.3f}\n")

    return logged


if os.environ.get("ASSAY_REQUEST_CPU_LOG"):
    application = cpu_logged(application, os.environ["ASSAY_REQUEST_CPU_LOG"])
