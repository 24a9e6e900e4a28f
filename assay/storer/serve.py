"""`assay serve` and `assay demo`: the storer with its testers on this machine.

1. Point Django at the data directory, migrate the database.
2. (demo) Create the demo course, users and assignments, unless they exist.
3. Register the local testers, each with a fresh credential of its own.
4. Serve the storer (waitress) and send again the jobs a previous run left unfinished.
5. Start the tester processes (`assay worker`), restart one that dies (with a back-off), and
   stop them all on SIGINT / SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DEMO_ASSIGNMENTS = [
    "sum-c",
    "groups-python",
    "checker-cpp",
    "java-sort",
    "kattis-distance",
    "kattis-guess",
]
DEMO_USERS = [
    # username, role, what for
    ("admin", "administrator", "administers everything"),
    ("teacher", "supervisor", "supervises the demo course"),
    ("alice", "student", "a student of the demo course"),
    ("bob", "student", "another student of the demo course"),
]


def setup_django(data_dir: Path, *, demo: bool = False) -> None:
    os.environ["ASSAY_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assay.storer.settings")
    if demo:
        os.environ.setdefault(
            "ASSAY_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
        )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


@dataclass
class Login:
    username: str
    password: str
    role: str
    token: str


def create_demo(data_dir: Path) -> list[Login]:
    """The demo course, users and assignments; a second run reuses them (and their tokens)."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from assay.storer.accounts.models import ApiToken
    from assay.storer.courses.models import Assignment, Course, Membership
    from assay.storer.evaluation import services

    saved_path = data_dir / "demo-logins.json"
    saved = json.loads(saved_path.read_text()) if saved_path.exists() else {}
    User = get_user_model()
    logins = []
    with transaction.atomic():
        course, _ = Course.objects.get_or_create(slug="demo", defaults={"title": "Demo course"})
        for username, role, _what in DEMO_USERS:
            entry = saved.get(username)
            user = User.objects.filter(username=username).first()
            if user is None or entry is None:
                password = f"{username}-demo"
                user = user or User(username=username, email=f"{username}@example.org")
                user.set_password(password)
                user.is_superuser = user.is_staff = role == "administrator"
                user.save()
                entry = {"password": password, "token": ApiToken.issue(user, "demo")}
                saved[username] = entry
            if role != "administrator":
                Membership.objects.update_or_create(
                    course=course, user=user, defaults={"role": role}
                )
            logins.append(Login(username, entry["password"], role, entry["token"]))
        admin = User.objects.get(username="admin")
        for slug in DEMO_ASSIGNMENTS:
            if (EXAMPLES / slug).is_dir() and not course.assignments.filter(slug=slug).exists():
                a = Assignment.objects.create(course=course, slug=slug, title=slug)
                # the examples are verified by the test suite (`assay check` on each): published
                # at once, so the demo works before any tester has started
                services.add_version(a, _zip_dir(EXAMPLES / slug), admin, trusted=True)
    saved_path.write_text(json.dumps(saved, indent=2))
    saved_path.chmod(0o600)
    return logins


def _zip_dir(path: Path) -> bytes:
    import io

    from assay.lib.archive import zip_directory

    buf = io.BytesIO()
    zip_directory(path, buf)
    return buf.getvalue()


def register_local_testers(count: int) -> list[tuple[str, str]]:
    from assay.storer.evaluation.models import Tester

    return [
        (f"local-{i}", Tester.register(f"local-{i}", pool="default")[1])
        for i in range(1, count + 1)
    ]


WILDCARD_HOSTS = ("", "0.0.0.0", "::")
# the web server's threads: requests that long-poll a submission each hold one while they wait
# (evaluation/changes.py: MAX_WAITERS of them at most), the others serve everything else
THREADS = 64
LTI_PERIOD_S = 5  # how often the loop sends due scores to the LMSs (retries are slower)


def serving_settings(host: str, port: int, tls: bool) -> dict[str, Any]:
    """deployment (issue 9): the settings that follow from how this server is reached
    (settings.deployment_settings): the host names it answers to are the public URL's
    (ASSAY_SITE_URL, else this server's own URL), localhost, and the address it listens on (its
    local testers use it); on every address (0.0.0.0), also this machine's names. Served with
    TLS, the storer insists on HTTPS (HSTS, secure cookies)."""
    from assay.storer.settings import deployment_settings, env_str, host_pattern

    served_as = [host_pattern(host)] if host not in WILDCARD_HOSTS else []
    if host in WILDCARD_HOSTS:
        served_as += [host_pattern(socket.gethostname()), host_pattern(socket.getfqdn())]
    name = host if host not in WILDCARD_HOSTS else socket.getfqdn()
    own_url = f"{'https' if tls else 'http'}://{host_pattern(name)}:{port}"
    return deployment_settings(env_str("ASSAY_SITE_URL") or own_url, served_as)


def port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def loop_duties(lti_due: float) -> float:
    """One turn (a second) of the storer's loop: the jobs and the similarity runs watched and,
    once ``lti_due`` (a ``time.monotonic()``) has come, the scores due to the LMSs sent,
    retries included (docs/lti.md). A failure is printed, never raised: a database or LMS hiccup must not stop
    the storer. Returns when the LMS duty is due next."""
    from assay.storer.evaluation import services
    from assay.storer.lti import scores as lti_scores
    from assay.storer.similarity import runner as similarity_runner

    try:
        services.watch_jobs()
    except Exception as e:
        print(f"watching jobs failed: {e}", file=sys.stderr)
    try:
        similarity_runner.watch()  # similarity runs: lost ones again, queued ones started
    except Exception as e:
        print(f"watching similarity runs failed: {e}", file=sys.stderr)
    if time.monotonic() >= lti_due:
        lti_due = time.monotonic() + LTI_PERIOD_S
        try:
            lti_scores.periodic()
        except Exception as e:
            print(f"sending scores to the LMS failed: {e}", file=sys.stderr)
    return lti_due


class Supervisor:
    """Runs the storer server, the testers, and the storer's background loop."""

    def __init__(
        self, data_dir: Path, host: str, port: int, testers: int,
        certfile: Path | None = None, keyfile: Path | None = None,
    ) -> None:  # fmt: skip
        self.data_dir, self.host, self.port, self.testers = data_dir, host, port, testers
        self.certfile, self.keyfile = certfile, keyfile
        self.url = f"{'https' if certfile else 'http'}://{host}:{port}"
        from django.conf import settings

        # before the WSGI application (and its middleware) exists
        for name, value in serving_settings(host, port, tls=certfile is not None).items():
            setattr(settings, name, value)
        self.stop = threading.Event()
        self.workers: dict[str, subprocess.Popen[bytes]] = {}

    def serve(self, banner: Any = None) -> None:
        from django.conf import settings
        from waitress import create_server

        from assay.storer.evaluation import services
        from assay.storer.wsgi import application

        if not port_free(self.host, self.port):
            raise SystemExit(
                f"error: port {self.port} on {self.host} is in use; choose another with --port"
            )
        if self.certfile:
            # HTTPS straight from the storer (cheroot); behind a reverse proxy, use plain HTTP
            from cheroot import wsgi
            from cheroot.ssl.builtin import BuiltinSSLAdapter

            tls = wsgi.Server((self.host, self.port), application, numthreads=THREADS)
            tls.ssl_adapter = BuiltinSSLAdapter(
                str(self.certfile), str(self.keyfile or self.certfile)
            )
            tls.prepare()
            threading.Thread(target=tls.serve, daemon=True, name="https").start()
            server: Any = tls
            server.close = tls.stop
        else:
            # waitress refuses a body longer than the largest upload limit from its
            # Content-Length, before it spools a byte of it (the storer's middleware has the
            # per-kind limits)
            largest = max(
                settings.MAX_SUBMISSION_REQUEST_BYTES, settings.MAX_PACKAGE_BYTES,
                settings.MAX_RESULT_BYTES,
            )  # fmt: skip
            server = create_server(
                application, host=self.host, port=self.port, threads=THREADS, ident="assay",
                max_request_body_size=largest + 1024 * 1024,
            )  # fmt: skip
            threading.Thread(target=server.run, daemon=True, name="http").start()
        resent = services.redispatch_unfinished()
        credentials = register_local_testers(self.testers)
        for name, token in credentials:
            self._start_worker(name, token, settings.BROKER_URL)
        if banner:
            banner(self.url, resent)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self.stop.set())
        backoff: dict[str, float] = {}
        tokens = dict(credentials)
        lti_due = 0.0
        while not self.stop.wait(1.0):
            lti_due = loop_duties(lti_due)
            for name, proc in list(self.workers.items()):
                if proc.poll() is not None and time.monotonic() >= backoff.get(name, 0):
                    print(
                        f"tester {name} exited ({proc.returncode}); restarting it", file=sys.stderr
                    )
                    backoff[name] = time.monotonic() + 10  # never crash-loop faster than this
                    self._start_worker(name, tokens[name], settings.BROKER_URL)
        self.shutdown()
        server.close()

    def _start_worker(self, name: str, token: str, broker_url: str) -> None:
        env = {**os.environ, "ASSAY_TESTER_TOKEN": token}
        command = [
            sys.executable,
            "-m",
            "assay",
            "worker",
            "--url",
            self.url,
            "--broker",
            broker_url,
            "--name",
            name,
        ]
        if self.certfile:
            command += ["--ca-file", str(self.certfile)]  # a self-signed certificate is its own CA
        self.workers[name] = subprocess.Popen(command, env=env)

    def shutdown(self) -> None:
        for proc in self.workers.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 15
        for proc in self.workers.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
