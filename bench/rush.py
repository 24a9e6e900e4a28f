"""Deadline rush: many students submit at once; how long until everything is evaluated, how the
web interface holds up meanwhile, and whether any result is lost or counted twice.

Starts `assay demo` in a temporary data directory with several tester processes, adds student
users to the demo course (Django, in the data directory's context), then N students each POST
M submissions of the sum-c example (the accepted solution, and every third one a wrong answer)
at the same moment through the REST API, and follow them one after another as `assay submit
--wait` does (`assay.client.Client.wait`: long polling with the `version` seen). Each student
also has a browser on the page of the submission it follows, whose live part htmx polls every
second (`hx-sync="this:drop"`; a 204 swaps nothing). Meanwhile a thread, logged in as alice,
keeps GETting student web pages and API documents (its own load, to measure response times).

Prints the time until all are evaluated, the throughput next to the physical limit (cores /
the testers' cpu per job, their sandboxed builds and runs included: the cgroups' cpu), the
storer's cpu per submission (with and without alice's GETs, costed at what they take idle),
the submission-to-result latency (the job's own created -> stored time, and the client's POST
-> result seen), the web interface's response times during the rush (and idle, before it), the students' and browsers' requests, and the number of lost
results (never done/failed within --timeout) and duplicated results (more than one done job per
submission, or a job's tests stored twice), checked through the API and directly in the
database. Exits 1 if any result is lost or duplicated (or a POST was refused, an evaluation
failed or got the wrong verdict). `--profile OUT.raw` samples the storer with py-spy during the
rush.

    uv run python bench/rush.py [--config embedded|postgres-rabbitmq]
                                [--students 20] [--submissions 3] [--testers 4]
                                [--browsers N] [--profile OUT.raw]

`--config embedded` is exactly `assay demo` (SQLite + the file-system broker);
`--config postgres-rabbitmq` is the same demo on a fresh PostgreSQL database (created here and
dropped at the end) and RabbitMQ, both on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import html
import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/rush.py` puts bench/ first on the path
    sys.path.insert(0, str(ROOT))

from assay.client import ApiError, Client  # noqa: E402 - after the path is set
from assay.sandbox.cgroups import CgroupDriver  # noqa: E402

HOST = "127.0.0.1"  # every request of this script goes to this machine only
SUM_C = ROOT / "examples" / "sum-c"
ACCEPTED = SUM_C / "solutions" / "accepted" / "sum.c"
WRONG = sorted((SUM_C / "solutions" / "wrong_answer").glob("*.c"))
PG_SERVER = f"postgres://postgres@{HOST}:5432"
AMQP_URL = f"amqp://guest:guest@{HOST}:5672//"
FINAL = ("done", "failed")

# run in the server's data directory with DJANGO_SETTINGS_MODULE and ASSAY_* set: student users
# in the demo course, each with an API token (the rush's students log in with tokens only)
CREATE_STUDENTS = r"""
import json, sys
import django
django.setup()
from django.contrib.auth import get_user_model
from django.db import transaction
from assay.storer.accounts.models import ApiToken
from assay.storer.courses.models import Course, Membership

User = get_user_model()
course = Course.objects.get(slug="demo")
out = {}
with transaction.atomic():
    for name in json.loads(sys.argv[1]):
        user, _ = User.objects.get_or_create(username=name, defaults={"email": name + "@example.org"})
        user.set_unusable_password()
        user.save()
        Membership.objects.update_or_create(
            course=course, user=user, defaults={"role": Membership.STUDENT}
        )
        out[name] = {"token": ApiToken.issue(user, "rush")}
print("RUSH-STUDENTS " + json.dumps(out))
"""

# the same context: a logged-in web session for each student (their browser), as a login makes
CREATE_SESSIONS = r"""
import json, sys
import django
django.setup()
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore

out = {}
for user in get_user_model().objects.filter(username__in=json.loads(sys.argv[1])):
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]  # as a login makes
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    out[user.username] = session.session_key
print("RUSH-SESSIONS " + json.dumps({"cookie": settings.SESSION_COOKIE_NAME, "sessions": out}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def pct(values: list[float], p: float) -> float:
    """The p-th percentile, linear between the closest ranks."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def row(label: str, values: list[float], unit: str = "s", width: int = 46) -> str:
    if not values:
        return f"  {label:<{width}} (no samples)"
    scale, fmt = (1000, "{:8.0f} ms") if unit == "ms" else (1, "{:8.2f} s ")
    cells = " ".join(fmt.format(v * scale) for v in (pct(values, 50), pct(values, 95), max(values)))
    return f"  {label:<{width}} {cells}   (n={len(values)})"


def parse_time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def cpu_busy(seconds: float = 1.0) -> float:
    """How busy the machine's cpus were over the next ``seconds`` (from /proc/stat)."""

    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]
        return sum(fields), idle

    total0, idle0 = sample()
    time.sleep(seconds)
    total1, idle1 = sample()
    return 1 - (idle1 - idle0) / max(1, total1 - total0)


TICK = os.sysconf("SC_CLK_TCK")


def proc_ticks(pid: int) -> tuple[int, str, int, int] | None:
    """(parent pid, name, cpu ticks of the process, of its reaped children) from /proc."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = text[text.index("(") + 1 : text.rindex(")")]
    f = text[text.rindex(")") + 2 :].split()
    return int(f[1]), name, int(f[11]) + int(f[12]), int(f[13]) + int(f[14])


def boxes_cpu_s() -> float:
    """The cpu time of every sandboxed build and run so far: the runs' cgroups are children of the
    testers' base group, which the kernel charges too (the launcher's runs are not the testers'
    children, so their time is in no tester process's reaped-children ticks)."""
    version, bases = CgroupDriver._find_bases()
    try:
        if version == 1:
            return int((bases["cpuacct"] / "cpuacct.usage").read_text()) / 1e9
        for line in (bases[""] / "cpu.stat").read_text().splitlines():
            if line.startswith("usage_usec "):
                return int(line.split()[1]) / 1e6
    except (OSError, KeyError, ValueError):
        pass
    return 0.0


def machine_ticks() -> int:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields) - fields[3] - fields[4]  # busy: all but idle and iowait


def request_kind(method: str, route: str) -> str:
    """Which account a request of the rush belongs to: the goal's (issue 10: the POST, the
    tester's claim, bundle, heartbeats and result, and a browser's polls of the page's live
    part), the CLI's (`assay submit --wait` following its submission), a browser opening the
    page, or alice's watching GETs (this script's measurement of the pages)."""
    if (method, route) == ("POST", "/api/assignments/N/submissions") or route.startswith(
        "/api/tester/"
    ):
        return "goal"
    if route == "/submissions/N/body/":
        return "goal"
    if (method, route) == ("GET", "/api/submissions/N"):
        return "cli"
    if route == "/submissions/N/":
        return "page"
    return "alice"


KIND_LABELS = {
    "goal": "the goal's account: POST, claim + bundle, heartbeats, result, a browser's polls",
    "cli": "`assay submit --wait` following it (GET /api/submissions/N)",
    "page": "a browser opening the submission's page",
    "alice": "alice's watching GETs (this script's page timings)",
}


def watcher_routes(samples: list[tuple[Any, ...]], start: float, end: float) -> Counter[str]:
    """alice's GETs during the rush by route, as the storer's log names them."""
    routes: Counter[str] = Counter()
    for t, kind, path, *_ in samples:
        if start <= t <= end:
            path = path.split("?")[0]
            routes[re.sub(r"/\d+(?=/|$)", "/N", ("/api" if kind == "api" else "") + path)] += 1
    return routes


def request_cpu_rows(
    log: Path, start: float, end: float, submissions: int, storer_s: float,
    alice: Counter[str] | None = None,
) -> list[str]:  # fmt: skip
    """Where the storer's cpu went during the rush, per kind of request (the storer's own
    per-request accounting, ASSAY_REQUEST_CPU_LOG: the serving thread's cpu in the application),
    per submission. The rest (the server's loop and its other threads, the broker's publishing
    thread) is shared among the kinds in proportion to their requests."""
    if not log.exists() or not submissions:
        return []
    per: dict[tuple[str, str], list[float]] = {}
    for line in log.read_text().splitlines():
        when, method, route, ms = line.split(" ")
        if start <= float(when) <= end:
            per.setdefault((method, route), []).append(float(ms))
    requests = sum(len(v) for v in per.values())
    total = sum(sum(v) for v in per.values())
    rest = max(0.0, storer_s * 1000 - total)
    rows = [
        f"storer cpu per submission by request ({requests} requests: {total / submissions:.1f}"
        f" core-ms in the application, {rest / submissions:.1f} outside it, of"
        f" {storer_s * 1000 / submissions:.1f})",
        f"  {'request':58s} {'per sub':>8s} {'ms each':>8s} {'ms/sub':>7s}",
    ]
    ranked = sorted(per.items(), key=lambda kv: -sum(kv[1]))
    for (method, route), times in ranked[:14]:
        rows.append(
            f"  {method + ' ' + route:58.58s} {len(times) / submissions:8.2f}"
            f" {sum(times) / len(times):8.2f} {sum(times) / submissions:7.2f}"
        )
    kinds: dict[str, list[float]] = {}
    for (method, route), times in per.items():
        # alice's GETs of the same routes (her watcher's) count as hers, at the route's mean
        theirs = min(len(times), (alice or {}).get(route, 0)) if method == "GET" else 0
        mean = sum(times) / len(times)
        kinds.setdefault("alice", []).extend([mean] * theirs)
        kinds.setdefault(request_kind(method, route), []).extend([mean] * (len(times) - theirs))
    rows.append("  by account, with its share of the cpu outside the application:")
    for kind, label in KIND_LABELS.items():
        times = kinds.get(kind, [])
        share = rest * len(times) / requests if requests else 0.0
        rows.append(
            f"    {label:74.74s} {(sum(times) + share) / submissions:6.1f} core-ms"
            f" ({len(times) / submissions:.1f} requests)"
        )
    return rows


class CpuMeter:
    """Where the cpu time of the rush goes: the storer, its testers (their processes, with the
    builds and runs they reaped), the database's backends, the broker, this script, and everything else."""

    def __init__(self, server_pid: int, config: Embedded | PostgresRabbitmq) -> None:
        self.server_pid, self.config = server_pid, config

    def snapshot(self) -> dict[str, Any]:
        groups: dict[str, dict[int, int]] = {"storer": {}, "testers": {}, "db": {}, "broker": {}}
        backends = set(self.config.backend_pids())
        procs = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit() and (info := proc_ticks(int(entry.name))) is not None:
                procs[int(entry.name)] = info
        # the testers: the storer's children and everything under them (Celery's pool
        # processes, which live as long as their tester and reap the sandboxed runs)
        tester_pids = {pid for pid, info in procs.items() if info[0] == self.server_pid}
        grew = True
        while grew:
            below = {pid for pid, info in procs.items() if info[0] in tester_pids}
            grew = not below <= tester_pids
            tester_pids |= below
        for pid, (_, name, own, children) in procs.items():
            if pid == self.server_pid:
                groups["storer"][pid] = own
            elif pid in tester_pids:
                groups["testers"][pid] = own + children
            elif pid in backends:
                groups["db"][pid] = own
            elif name == "beam.smp" and isinstance(self.config, PostgresRabbitmq):
                groups["broker"][pid] = own
        t = os.times()
        return {
            "groups": groups,
            "boxes": boxes_cpu_s(),
            "self": t.user + t.system,
            "machine": machine_ticks(),
            "wall": time.monotonic(),
        }

    @staticmethod
    def delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
        out = {
            name: sum(v - before["groups"][name].get(pid, 0) for pid, v in pids.items()) / TICK
            for name, pids in after["groups"].items()
        }
        out["boxes"] = after["boxes"] - before["boxes"]
        out["script"] = after["self"] - before["self"]
        out["machine"] = (after["machine"] - before["machine"]) / TICK
        out["else"] = out["machine"] - sum(
            out[k] for k in ("storer", "testers", "boxes", "db", "broker", "script")
        )
        out["wall"] = after["wall"] - before["wall"]
        return out


# -- the two configurations -----------------------------------------------------------------


class Embedded:
    """`assay demo` as it is: SQLite in the data directory, the file-system broker."""

    name = "embedded"

    def env(self) -> dict[str, str]:
        return {}

    def prepare(self) -> None:
        pass

    def cleanup(self) -> None:
        pass

    def describe(self) -> str:
        return "SQLite (WAL) + file-system broker"

    def backend_pids(self) -> list[int]:
        return []

    def db_counts(self, data_dir: Path) -> dict[str, Any]:
        con = sqlite3.connect(f"file:{data_dir / 'db.sqlite3'}?mode=ro", uri=True, timeout=30)
        try:
            return db_counts(con.execute)
        finally:
            con.close()

    def leftover_messages(self, data_dir: Path) -> int | None:
        folder = data_dir / "broker"
        return sum(1 for p in folder.iterdir() if p.is_file()) if folder.is_dir() else None


class PostgresRabbitmq:
    """The same demo with ASSAY_DATABASE_URL on a fresh PostgreSQL database and RabbitMQ."""

    name = "postgres-rabbitmq"

    def __init__(self) -> None:
        self.database = f"assay_rush_{os.getpid()}_{secrets.token_hex(3)}"
        self.created = False
        self.other_consumers: dict[str, int] = {}
        self.purged: dict[str, int] = {}

    def env(self) -> dict[str, str]:
        return {
            "ASSAY_DATABASE_URL": f"{PG_SERVER}/{self.database}",
            "ASSAY_BROKER_URL": AMQP_URL,
        }

    def describe(self) -> str:
        return f"PostgreSQL (database {self.database}) + RabbitMQ"

    def backend_pids(self) -> list[int]:
        """The PostgreSQL backends serving this run's database."""
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/postgres", connect_timeout=10) as c:
            rows = c.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.database,)
            ).fetchall()
        return [r[0] for r in rows]

    @staticmethod
    def queue_names() -> list[str]:
        from assay import broker
        from assay.runtimes import all_runtimes

        return [broker.queue_name("default", r) for r in [*all_runtimes(), "any"]] + [
            broker.validation_queue("default")
        ]

    def _queues(self) -> dict[str, tuple[int, int]]:
        """{queue: (messages, consumers)} of the assay.default.* queues that exist (a passive
        declare: nothing is created)."""
        from kombu import Connection

        found = {}
        with Connection(AMQP_URL, connect_timeout=10) as conn:
            for name in self.queue_names():
                channel = conn.channel()
                try:
                    _, messages, consumers = channel.queue_declare(queue=name, passive=True)
                    found[name] = (messages, consumers)
                except Exception:  # noqa: BLE001, S110 - 404: no such queue
                    pass  # (a failed passive declare closes the channel)
                finally:
                    with contextlib.suppress(Exception):
                        channel.close()
        return found

    def prepare(self) -> None:
        import psycopg
        from kombu import Connection

        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=10) as c:
            c.execute(f'CREATE DATABASE "{self.database}"')
        self.created = True
        # leftovers of other runs would reach this run's testers: purge them first
        with Connection(AMQP_URL, connect_timeout=10) as conn:
            for name, (messages, consumers) in self._queues().items():
                if consumers:
                    self.other_consumers[name] = consumers
                channel = conn.channel()
                try:
                    self.purged[name] = channel.queue_purge(queue=name) or messages
                finally:
                    channel.close()

    def cleanup(self) -> None:
        if not self.created:
            return
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=10) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        self.created = False

    def db_counts(self, data_dir: Path) -> dict[str, Any]:
        import psycopg

        with psycopg.connect(self.env()["ASSAY_DATABASE_URL"], connect_timeout=10) as c:
            return db_counts(lambda sql: c.execute(sql))

    def leftover_messages(self, data_dir: Path) -> int | None:
        return sum(messages for messages, _ in self._queues().values())


def db_counts(execute: Any) -> dict[str, Any]:
    """Straight from the tables: done jobs per submission, test result rows per job."""
    done_per_submission = dict(
        execute(
            "SELECT submission_id, COUNT(*) FROM evaluation_job"
            " WHERE kind = 'evaluation' AND state = 'done' GROUP BY submission_id"
        ).fetchall()
    )
    jobs_per_submission = dict(
        execute(
            "SELECT submission_id, COUNT(*) FROM evaluation_job"
            " WHERE kind = 'evaluation' GROUP BY submission_id"
        ).fetchall()
    )
    tests_per_job = {
        job: (rows, names)
        for job, rows, names in execute(
            "SELECT job_id, COUNT(*), COUNT(DISTINCT name) FROM evaluation_testresult"
            " GROUP BY job_id"
        ).fetchall()
    }
    job_submission = {
        job: (sid, state)
        for job, sid, state in execute(
            "SELECT id, submission_id, state FROM evaluation_job WHERE kind = 'evaluation'"
        ).fetchall()
    }
    submissions = execute("SELECT COUNT(*) FROM evaluation_submission").fetchone()[0]
    return {
        "done_per_submission": done_per_submission,
        "jobs_per_submission": jobs_per_submission,
        "tests_per_job": tests_per_job,
        "job_submission": job_submission,
        "submissions": submissions,
    }


# -- the server -----------------------------------------------------------------------------


class Server:
    def __init__(self, data_dir: Path, testers: int, env: dict[str, str]) -> None:
        self.data_dir, self.testers = data_dir, testers
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        base = {k: v for k, v in os.environ.items() if not k.startswith("ASSAY_")}
        self.env = {**base, **env}
        self.log_path = data_dir.parent / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120) -> None:
        self.log = open(self.log_path, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "assay", "demo", "--data-dir", str(self.data_dir),
             "--host", HOST, "--port", str(self.port), "--testers", str(self.testers)],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the demo exited ({self.proc.returncode}):\n{self.output()}")
            try:
                if httpx.get(self.url + "/api/openapi.json", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        else:
            raise RuntimeError(f"the demo did not come up in {timeout:.0f} s:\n{self.output()}")
        self.logins = json.loads((self.data_dir / "demo-logins.json").read_text())

    def output(self, chars: int = 6000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the demo's own process group
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)

    def api(self, token: str, timeout: float = 60) -> httpx.Client:
        return httpx.Client(
            base_url=self.url + "/api",
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )

    def _django(self, script: str, names: list[str], marker: str) -> Any:
        """Run ``script`` in the data directory's Django context; what it prints after
        ``marker``."""
        env = {
            **self.env,
            "DJANGO_SETTINGS_MODULE": "assay.storer.settings",
            "ASSAY_DATA_DIR": str(self.data_dir),
        }
        out = subprocess.run(
            [sys.executable, "-c", script, json.dumps(names)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        for line in out.stdout.splitlines():
            if line.startswith(marker + " "):
                return json.loads(line.removeprefix(marker + " "))
        raise RuntimeError(f"{marker} failed ({out.returncode}):\n{out.stderr[-3000:]}")

    def create_students(self, names: list[str]) -> dict[str, dict[str, str]]:
        return self._django(CREATE_STUDENTS, names, "RUSH-STUDENTS")  # type: ignore[no-any-return]

    def create_sessions(self, names: list[str]) -> tuple[str, dict[str, str]]:
        """(the session cookie's name, a logged-in session key for each of these users)."""
        found = self._django(CREATE_SESSIONS, names, "RUSH-SESSIONS")
        return found["cookie"], found["sessions"]

    def log_problems(self) -> Counter[str]:
        """The exceptions (last line of each traceback), errors and tester exits in the log."""
        found: Counter[str] = Counter()
        for line in self.log_path.read_text(errors="replace").splitlines():
            if re.match(r"^[\w.]*(Error|Exception)\b", line) or re.search(
                r"\bERROR\b|CRITICAL|exited \(|failed:|Trying to re-establish", line
            ):
                found[re.sub(r"\b\d+\b", "N", line.strip())[:160]] += 1
        return found


# -- the web interface, watched from a student's seat -----------------------------------------


class WebWatcher(threading.Thread):
    """Alice, logged in, keeps GETting her pages and API documents: one request at a time,
    bounded in count and time."""

    def __init__(self, server: Server, assignment_id: int, pause_s: float) -> None:
        super().__init__(daemon=True, name="web-watcher")
        self.server, self.assignment_id, self.pause_s = server, assignment_id, pause_s
        self.submission_ids: list[int] = []  # alice's, filled in as she submits
        self.lock = threading.Lock()
        self.samples: list[tuple[float, str, str, int, float]] = []  # t, kind, path, status, s
        self.stop = threading.Event()
        self.max_requests = 20000
        self.max_seconds = 600.0
        self.login()

    def login(self) -> None:
        creds = self.server.logins["alice"]
        self.web = httpx.Client(base_url=self.server.url, timeout=60, follow_redirects=False)
        page = self.web.get("/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        if token is None:
            raise RuntimeError("no CSRF token on the login page")
        r = self.web.post(
            "/login/",
            data={"username": "alice", "password": creds["password"],
                  "csrfmiddlewaretoken": token.group(1)},
            headers={"Referer": self.server.url + "/login/"},
        )  # fmt: skip
        if r.status_code != 302 or self.web.get("/").status_code != 200:
            raise RuntimeError(f"alice cannot log in to the web interface ({r.status_code})")
        self.api = self.server.api(creds["token"])

    def targets(self) -> list[tuple[str, str]]:
        a = "/courses/demo/assignments/sum-c"
        paths = [
            ("page", f"{a}/"),
            ("page", f"{a}/submissions/"),  # the htmx partial the assignment page polls
            ("page", "/courses/demo/"),
            ("api", f"/submissions?assignment={self.assignment_id}"),
            ("api", "/courses/demo/assignments"),
        ]
        with self.lock:
            ids = list(self.submission_ids[-3:])
        for sid in ids:
            paths += [
                ("page", f"/submissions/{sid}/"),
                ("page", f"/submissions/{sid}/body/"),  # the htmx partial of a submission
                ("api", f"/submissions/{sid}"),
            ]
        return paths

    def get(self, kind: str, path: str) -> None:
        client = self.web if kind == "page" else self.api
        start = time.perf_counter()
        try:
            status = client.get(path).status_code
        except httpx.HTTPError:
            status = -1
        self.samples.append((start, kind, path, status, time.perf_counter() - start))

    def sweep(self, rounds: int) -> None:
        """A fixed number of rounds over every target (the idle baseline)."""
        for _ in range(rounds):
            for kind, path in self.targets():
                self.get(kind, path)

    def run(self) -> None:
        begun, i = time.monotonic(), 0
        while (
            not self.stop.is_set()
            and i < self.max_requests
            and time.monotonic() - begun < self.max_seconds
        ):
            targets = self.targets()
            kind, path = targets[i % len(targets)]
            self.get(kind, path)
            i += 1
            self.stop.wait(self.pause_s)


# -- the rush -------------------------------------------------------------------------------


class Student(threading.Thread):
    """Posts its submissions back to back as soon as the barrier opens, then follows each in turn
    the way `assay submit --wait` does: `Client.wait`, long polling with the `version` seen."""

    def __init__(self, rush: Rush, name: str, token: str, plan: list[tuple[str, bytes, str]]):
        super().__init__(daemon=True, name=f"student-{name}")
        self.rush, self.username, self.plan = rush, name, plan
        self.api = Client(rush.server.url, token)
        self.client = self.api.http
        self.submissions: list[dict[str, Any]] = []
        self.refused: list[str] = []
        self.posted = threading.Event()  # the browser starts on the pages then
        # the GETs of the submissions: (seconds, a long poll?, changed?)
        self.polls: list[tuple[float, bool, bool]] = []
        get = self.client.get

        def timed_get(url: str, **kwargs: Any) -> httpx.Response:
            start = time.perf_counter()
            r = get(url, **kwargs)
            since = (kwargs.get("params") or {}).get("since")
            changed = since is None or r.json().get("version") != since
            self.polls.append((time.perf_counter() - start, since is not None, changed))
            return r

        self.client.get = timed_get  # type: ignore[method-assign]

    def run(self) -> None:
        try:
            self.rush.barrier.wait(timeout=60)
        except threading.BrokenBarrierError:
            self.refused.append(f"{self.username}: the burst never started")
            self.posted.set()
            return
        try:
            self.submit_and_wait()
        except Exception as e:  # noqa: BLE001 - counted, and the run fails
            self.refused.append(f"{self.username}: {e!r}")
        finally:
            self.posted.set()

    def submit_and_wait(self) -> None:
        rush = self.rush
        for filename, content, expected in self.plan:
            start = time.perf_counter()
            try:
                r = self.client.post(
                    f"/assignments/{rush.assignment_id}/submissions",
                    files=[("files", (filename, content))],
                )
            except httpx.HTTPError as e:
                self.refused.append(f"{self.username}: POST failed: {e!r}")
                continue
            end = time.perf_counter()
            if r.status_code != 201:
                self.refused.append(f"{self.username}: POST {r.status_code} {r.text[:300]}")
                continue
            doc = r.json()
            self.submissions.append(
                {"id": doc["id"], "author": self.username, "expected": expected,
                 "post_start": start, "post_end": end, "seen_final": None, "status": doc["status"]}
            )  # fmt: skip
            if self.username == "alice" and rush.watcher is not None:
                with rush.watcher.lock:
                    rush.watcher.submission_ids.append(doc["id"])
        self.posted.set()
        # follow each, as `assay submit --wait` does, until final or the rush's deadline
        for s in self.submissions:
            left = rush.deadline - time.perf_counter()
            if left <= 0:
                break

            def seen(doc: dict[str, Any], s: dict[str, Any] = s) -> None:
                s["status"] = doc.get("status")
                if s["status"] in FINAL and s["seen_final"] is None:
                    s["seen_final"] = time.perf_counter()
                    s["verdict"] = doc.get("verdict")

            try:
                seen(self.api.wait(s["id"], on_update=seen, timeout=left))
            except (ApiError, httpx.HTTPError, ValueError):
                continue


HX_GET = re.compile(r'<div id="submission-body"[^>]*?\shx-get="([^"]+)"')


class Browser(threading.Thread):
    """A student's browser on the pages of its submissions, one after another: the page, then
    its live part as htmx polls it (`hx-trigger="every 1s"`; with `hx-sync="this:drop"` a tick
    while a request is in flight is dropped; a 204 swaps nothing and the polling goes on) until
    the page stops polling (the submission is final)."""

    def __init__(self, rush: Rush, student: Student, cookie: str, session_key: str) -> None:
        super().__init__(daemon=True, name=f"browser-{student.username}")
        self.rush, self.student = rush, student
        self.http = httpx.Client(
            base_url=rush.server.url, cookies={cookie: session_key}, timeout=60,
            follow_redirects=False,
        )  # fmt: skip
        self.samples: list[tuple[float, int]] = []  # the polls: seconds, status
        self.pages: list[tuple[float, int]] = []  # the pages
        self.errors: list[str] = []

    def get(self, url: str, into: list[tuple[float, int]]) -> httpx.Response | None:
        start = time.perf_counter()
        try:
            r = self.http.get(url)
        except httpx.HTTPError as e:
            self.errors.append(f"{url}: {e!r}")
            return None
        into.append((time.perf_counter() - start, r.status_code))
        return r

    def run(self) -> None:
        self.student.posted.wait(timeout=120)
        deadline = self.rush.deadline
        for s in list(self.student.submissions):
            if time.perf_counter() >= deadline:
                break
            page = self.get(f"/submissions/{s['id']}/", self.pages)
            if page is None or page.status_code != 200:
                continue
            found = HX_GET.search(page.text)
            url = html.unescape(found.group(1)) if found else None
            loaded = time.perf_counter()
            while url and time.perf_counter() < deadline:
                # the next tick of "every 1s" after the request in flight ended
                ticks = math.floor(time.perf_counter() - loaded) + 1
                time.sleep(max(0.0, loaded + ticks - time.perf_counter()))
                r = self.get(url, self.samples)
                if r is not None and r.status_code == 200:
                    found = HX_GET.search(r.text)
                    url = html.unescape(found.group(1)) if found else None


class Rush:
    def __init__(self, server: Server, args: argparse.Namespace) -> None:
        self.server, self.args = server, args
        self.deadline = float("inf")
        self.barrier = threading.Barrier(args.students + 1)
        self.assignment_id = 0  # set once the server is up
        self.watcher: WebWatcher | None = None


def plan_for(student: int, count: int) -> list[tuple[str, bytes, str]]:
    """Every third submission (staggered across students) is a wrong answer."""
    plan = []
    for k in range(count):
        if WRONG and (student + k) % 3 == 2:
            wrong = WRONG[(student + k) % len(WRONG)]
            plan.append((wrong.name, wrong.read_bytes(), "WA"))
        else:
            plan.append((ACCEPTED.name, ACCEPTED.read_bytes(), "AC"))
    return plan


def start_profiler(out: Path, pid: int, seconds: float) -> subprocess.Popen[bytes]:
    """py-spy (where installed next to this Python) sampling the storer during the rush: only
    the thread holding the GIL (``--gil``), so that the samples show where its cpu goes, not the
    threads waiting for the GIL in a socket's send or in SQLite."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise RuntimeError("--profile needs py-spy")
    return subprocess.Popen(
        [spy, "record", "-p", str(pid), "-d", str(int(seconds) + 30), "-f", "raw",
         "-o", str(out), "--nonblocking", "--gil", "-r", "100"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def wait_for(predicate: Any, timeout: float, what: str, pause: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(pause)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")


def find_duplicates(
    staff: dict[int, dict[str, Any]],
    done_jobs_api: Counter[int],
    counts: dict[str, Any],
    rush_ids: set[int],
    all_ids: set[int],
    expected_tests: int,
) -> tuple[set[int], set[int], set[int]]:
    """Submissions whose result is counted twice, seen through the API and in the database;
    and those whose done job lacks test results."""
    dup_api, dup_db, incomplete = set(), set(), set()
    for sid in all_ids:
        if done_jobs_api[sid] > 1:  # more than one done job for one submission
            dup_api.add(sid)
    for sid in rush_ids:
        doc = staff[sid]
        if doc.get("status") == "done":  # the latest job: exactly one set of tests
            names = [t["name"] for t in doc.get("tests", [])]
            if len(names) > expected_tests or len(set(names)) != len(names):
                dup_api.add(sid)
            elif len(names) < expected_tests:
                incomplete.add(sid)
    for sid, n in counts["done_per_submission"].items():
        if n > 1:
            dup_db.add(sid)
    for job, (sid, state) in counts["job_submission"].items():
        rows, names = counts["tests_per_job"].get(job, (0, 0))
        if rows > expected_tests or names != rows:
            dup_db.add(sid)  # a test's result stored twice
        elif state != "done" and rows:
            dup_db.add(sid)  # results of a job that did not finish, besides another's
        elif state == "done" and rows < expected_tests:
            incomplete.add(sid)
    return dup_api, dup_db, incomplete


def run(args: argparse.Namespace, config: Embedded | PostgresRabbitmq) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="assay-rush-"))
    data = tmp / "data"
    request_log = data.parent / "requests.log"
    server = Server(data, args.testers, {**config.env(), "ASSAY_REQUEST_CPU_LOG": str(request_log)})
    expected_tests = sum(1 for p in (SUM_C / "tests").iterdir() if p.is_dir())
    load_before = os.getloadavg()
    busy_before = cpu_busy()
    try:
        config.prepare()
        t_start = time.monotonic()
        server.start()
        startup_s = time.monotonic() - t_start
        logins = server.logins
        admin, teacher = (
            server.api(logins["admin"]["token"]),
            server.api(logins["teacher"]["token"]),
        )

        # the students: alice and bob of the demo, and more made in the data dir's Django context
        extra = [f"rush{i:03d}" for i in range(3, args.students + 1)]
        tokens = {"alice": logins["alice"]["token"], "bob": logins["bob"]["token"]}
        if extra:
            tokens.update({n: v["token"] for n, v in server.create_students(extra).items()})
        students = list(tokens)[: args.students]

        assignments = teacher.get("/courses/demo/assignments").json()
        assignment_id = next(a["id"] for a in assignments if a["slug"] == "sum-c")

        # every tester has said hello, and evaluates: a warm-up as the teacher (not measured)
        wait_for(
            lambda: sum(1 for t in admin.get("/testers").json() if t["last_seen_at"])
            >= args.testers,
            90, "the testers' first heartbeat",
        )  # fmt: skip
        warmup_ids = []
        for _ in range(args.warmup):
            r = teacher.post(
                f"/assignments/{assignment_id}/submissions",
                files=[("files", (ACCEPTED.name, ACCEPTED.read_bytes()))],
            )
            r.raise_for_status()
            warmup_ids.append(r.json()["id"])
        for sid in warmup_ids:
            wait_for(
                lambda sid=sid: teacher.get(f"/submissions/{sid}").json()["status"] in FINAL,
                90, f"warm-up submission {sid}",
            )  # fmt: skip

        # the web interface idle, then watched during the rush
        rush = Rush(server, args)
        rush.assignment_id = assignment_id
        watcher = WebWatcher(server, assignment_id, args.web_pause)
        rush.watcher = watcher
        meter = CpuMeter(server.proc.pid, config)
        sweep_before = meter.snapshot()
        watcher.sweep(rounds=3)
        sweep_cpu = CpuMeter.delta(sweep_before, meter.snapshot())
        idle_samples = list(watcher.samples)
        watcher.samples.clear()
        # what one of alice's GETs costs the storer, idle: her GETs during the rush are a load
        # of this script's own (to measure the pages' response times), not the students'
        watcher_get_s = sweep_cpu["storer"] / max(1, len(idle_samples))

        threads = [
            Student(rush, name, tokens[name], plan_for(i, args.submissions))
            for i, name in enumerate(students)
        ]
        watching = students[: args.browsers if args.browsers is not None else len(students)]
        cookie, sessions = server.create_sessions(watching) if watching else ("", {})
        browsers = [
            Browser(rush, t, cookie, sessions[t.username])
            for t in threads
            if t.username in sessions
        ]
        for t in [*threads, *browsers]:
            t.start()
        busy_pre_rush = cpu_busy(0.5)
        spy = start_profiler(args.profile, server.proc.pid, args.timeout) if args.profile else None
        cpu_before = meter.snapshot()
        watcher.start()
        t0 = time.perf_counter()
        wall0 = time.time()
        rush.deadline = t0 + args.timeout
        rush.barrier.wait(timeout=60)
        for t in [*threads, *browsers]:
            t.join(timeout=max(1.0, rush.deadline - time.perf_counter() + 30))
        t_end = time.perf_counter()
        wall_end = time.time()
        cpu = CpuMeter.delta(cpu_before, meter.snapshot())
        if spy is not None:
            spy.send_signal(signal.SIGINT)  # py-spy writes its profile and ends
            spy.wait(timeout=60)
        watcher.stop.set()
        watcher.join(timeout=90)
        during = [s for s in watcher.samples if t0 <= s[0] <= t_end]

        subs = [s for t in threads for s in t.submissions]
        refused = [r for t in threads for r in t.refused]

        # the results as staff see them: timings, tests, verdict
        staff: dict[int, dict[str, Any]] = {}
        for s in subs:
            staff[s["id"]] = teacher.get(f"/submissions/{s['id']}").json()
        jobs = admin.get("/jobs", params={"limit": 1000}).json()
        counts = config.db_counts(data)
        leftover = config.leftover_messages(data)
    except BaseException:
        print(f"the run broke off; data directory and server log kept in {tmp}", file=sys.stderr)
        raise
    finally:
        server.stop()
        try:
            config.cleanup()
        except Exception as e:  # noqa: BLE001 - report, then go on
            print(f"warning: cleanup failed: {e!r}", file=sys.stderr)
    load_after = os.getloadavg()

    # -- lost and duplicated ----------------------------------------------------------------
    rush_ids = {s["id"] for s in subs}
    all_ids = rush_ids | set(warmup_ids)
    lost = sorted(sid for sid in rush_ids if staff[sid].get("status") not in FINAL)
    done_jobs_api: Counter[int] = Counter(
        j["submission"] for j in jobs if j["kind"] == "evaluation" and j["state"] == "done"
    )
    jobs_api: Counter[int] = Counter(j["submission"] for j in jobs if j["kind"] == "evaluation")
    dup_api, dup_db, incomplete = find_duplicates(
        staff, done_jobs_api, counts, rush_ids, all_ids, expected_tests
    )
    duplicated = dup_api | dup_db
    failed = sorted(sid for sid in rush_ids if staff[sid].get("status") == "failed")
    mismatched = sorted(
        s["id"] for s in subs
        if staff[s["id"]].get("status") == "done" and staff[s["id"]].get("verdict") != s["expected"]
    )  # fmt: skip
    extra_jobs = sorted(sid for sid in all_ids if jobs_api[sid] > 1)
    retried = sorted(
        j["submission"] for j in jobs if j["kind"] == "evaluation" and j["attempt"] > 1
    )

    # -- figures ----------------------------------------------------------------------------
    seen = [s["seen_final"] for s in subs if s["seen_final"] is not None]
    client_all_s = (max(seen) - t0) if seen and len(seen) == len(subs) else None
    rush_jobs = [j for j in jobs if j["submission"] in rush_ids and j["kind"] == "evaluation"]
    created = [parse_time(j["created_at"]) for j in rush_jobs]
    finished = [parse_time(j["finished_at"]) for j in rush_jobs if j["finished_at"]]
    storer_all_s = (
        (max(finished) - min(created)).total_seconds()
        if finished and len(finished) == len(rush_jobs)
        else None
    )
    timings = [staff[sid].get("timings") or {} for sid in rush_ids]
    total_s = [t["total_s"] for t in timings if t.get("total_s") is not None]
    queue_s = [t["queue_s"] for t in timings if t.get("queue_s") is not None]
    evaluation_s = [t["evaluation_s"] for t in timings if t.get("evaluation_s") is not None]
    ingestion_s = [t["ingestion_s"] for t in timings if t.get("ingestion_s") is not None]
    client_s = [s["seen_final"] - s["post_start"] for s in subs if s["seen_final"] is not None]
    post_s = [s["post_end"] - s["post_start"] for s in subs]
    last_post = max((s["post_end"] for s in subs), default=t0) - t0

    def web_rows(samples: list[tuple[float, str, str, int, float]], title: str) -> list[str]:
        out = [f"{title}"]
        for kind, label in (
            ("page", "web pages (session)"),
            ("api", "API GETs (token)"),
            (None, "all"),
        ):
            vals = [s[4] for s in samples if kind is None or s[1] == kind]
            out.append(row(label, vals, "ms"))
        errors = [s for s in samples if s[3] != 200]
        if errors:
            kinds = Counter(f"{s[3]} {re.sub(r'/[0-9]+', '/<id>', s[2])}" for s in errors)
            out.append(f"  non-200 responses: {len(errors)}: {dict(kinds)}")
        return out

    wrong = sum(1 for s in subs if s["expected"] != "AC")
    print(f"deadline rush, --config {config.name}: {config.describe()}")
    print(
        f"{len(students)} students x {args.submissions} submissions = "
        f"{len(students) * args.submissions} POSTs in one burst ({wrong} wrong answers), "
        f"sum-c ({expected_tests} tests), {args.testers} tester processes, "
        f"{os.cpu_count()} cpus"
    )
    print(
        f"machine: load average {load_before[0]:.2f} before, {load_after[0]:.2f} after; "
        f"cpu busy {busy_before:.0%} before the server started, {busy_pre_rush:.0%} in the 0.5 s "
        f"before the burst (the server idle; other work shares this machine)"
    )
    print(f"server start-up (migrate, demo data, listening): {startup_s:.1f} s")
    print()
    print(f"  {'':<46} {'p50':>10} {'p95':>10} {'max':>10}")
    print(row("POST /submissions response", post_s, "ms"))
    print(f"  last POST answered after {last_post:.2f} s")
    print(
        "  all evaluated, client (burst start -> last result seen): "
        + (f"{client_all_s:.2f} s" if client_all_s is not None else "NOT ALL (see lost)")
    )
    print(
        "  all evaluated, storer (first job created -> last stored): "
        + (f"{storer_all_s:.2f} s" if storer_all_s is not None else "NOT ALL (see lost)")
    )
    if seen:
        marks = sorted(x - t0 for x in seen)
        print(
            "  results seen by the client after: "
            + ", ".join(
                f"{q}% {marks[max(0, math.ceil(len(subs) * q / 100) - 1)]:.2f} s"
                for q in (50, 90, 95)
                if math.ceil(len(subs) * q / 100) <= len(marks)
            )
        )
    rush_job_of = {j["submission"]: j for j in rush_jobs}
    held = [
        t["total_s"] - t["queue_s"]
        for t in timings
        if t.get("total_s") is not None and t.get("queue_s") is not None
    ]
    if storer_all_s and held:
        print(
            f"  testers held a job {sum(held) / (args.testers * storer_all_s):.0%} of the time"
            f" (claimed -> stored, summed, over {args.testers} x the span);"
            f" jobs per tester: {dict(sorted(Counter(j['tester'] for j in rush_job_of.values()).items()))}"
        )
    cores = os.cpu_count() or 1
    watcher_gets = len([x for x in watcher.samples if t0 <= x[0] <= t_end])
    evaluated = len(finished) or 1
    storer_ms = cpu["storer"] * 1000 / len(subs) if subs else float("nan")
    own_ms = (cpu["storer"] - watcher_gets * watcher_get_s) * 1000 / len(subs) if subs else 0
    tester_ms = (cpu["testers"] + cpu["boxes"]) * 1000 / evaluated
    print(
        f"  storer cpu per submission: {storer_ms:.1f} core-ms;"
        f" without alice's {watcher_gets} watching GETs"
        f" (~{watcher_get_s * 1000:.1f} core-ms each, idle): {own_ms:.1f} core-ms"
    )
    if storer_all_s:
        print(
            f"  throughput {len(finished) / storer_all_s:.2f} evaluations/s"
            f" vs the physical limit {cores * 1000 / tester_ms:.2f} evaluations/s"
            f" ({cores} cores / {tester_ms:.0f} core-ms of tester cpu per job, its builds and runs"
            " included)"
        )
    parts = [("storer", "storer"), ("testers", "testers"), ("boxes", "builds and runs (boxes)")]
    if isinstance(config, PostgresRabbitmq):
        parts += [("db", "PostgreSQL backends"), ("broker", "RabbitMQ (shared)")]
    parts += [("script", "this script"), ("else", "everything else")]
    print(
        f"  cpu during the rush ({cpu['wall']:.1f} s, {cores} cores = {cpu['wall'] * cores:.0f}"
        f" core-s; busy {cpu['machine'] / (cpu['wall'] * cores):.0%}): "
        + ", ".join(f"{label} {cpu[key]:.1f}" for key, label in parts)
        + " core-s"
    )
    # the watcher's sample times are perf_counter's; the log's are the wall clock's
    alice = watcher_routes(watcher.samples, t0, t_end)
    rows = request_cpu_rows(request_log, wall0, wall_end, len(subs), cpu["storer"], alice)
    for line in rows:
        print(line)
    print("submission -> result latency")
    print(row("storer total_s (job created -> stored)", total_s))
    print(row("client (POST -> result seen, long polling)", client_s))
    print(row("  of which queue_s (created -> claimed)", queue_s))
    print(row("  evaluation_s (bundle sent -> result up)", evaluation_s))
    print(row("  ingestion_s (result up -> stored)", ingestion_s, "ms"))
    for line in web_rows(idle_samples, "web interface, idle (before the rush)"):
        print(line)
    for line in web_rows(during, f"web interface during the rush ({t_end - t0:.1f} s)"):
        print(line)
    polls = [p for t in threads for p in t.polls]
    print(
        f"students' GET /api/submissions/<id> (Client.wait): {len(polls)}"
        f" ({len(polls) / max(1, len(subs)):.1f} per submission),"
        f" {sum(1 for p in polls if p[1])} of them long polls,"
        f" {sum(1 for p in polls if p[2])} with a new version"
    )
    print(row("  answered with a new version", [p[0] for p in polls if p[2]], "ms"))
    print(row("  unchanged (the wait ran out, or no slot)", [p[0] for p in polls if not p[2]]))
    b_polls = [x for b in browsers for x in b.samples]
    print(
        f"browsers ({len(browsers)}, a submission page each, its live part polled every 1 s):"
        f" {len(b_polls)} polls ({len(b_polls) / max(1, len(subs)):.1f} per submission),"
        f" by status {dict(sorted(Counter(x[1] for x in b_polls).items()))}"
    )
    print(row("  pages", [x[0] for b in browsers for x in b.pages], "ms"))
    print(row("  polls answered 200 (changed)", [x[0] for x in b_polls if x[1] == 200], "ms"))
    print(row("  polls answered 204 (unchanged)", [x[0] for x in b_polls if x[1] == 204]))
    b_errors = [e for b in browsers for e in b.errors] + [
        f"{x[1]}" for b in browsers for x in [*b.pages, *b.samples] if x[1] not in (200, 204)
    ]
    if b_errors:
        print(f"  browser errors: {len(b_errors)}: {b_errors[:5]}")
    print("correctness")
    print(f"  POSTs refused: {len(refused)}" + (f"  {refused[:5]}" if refused else ""))
    print(f"  submissions stored: {len(subs)} of the rush, {counts['submissions']} in the database")
    print(
        f"  LOST results (not done/failed after {args.timeout:g} s): {len(lost)}"
        + (f" {lost[:20]}" if lost else "")
    )
    print(
        f"  DUPLICATED results: {len(duplicated)}"
        f"  (API: done jobs per submission, tests of the latest job: {len(dup_api)};"
        f" database: done jobs per submission, test rows per job: {len(dup_db)})"
        + (f" {sorted(duplicated)[:20]}" if duplicated else "")
    )
    print(
        f"  done without all {expected_tests} test results: {len(incomplete)}"
        + (f" {sorted(incomplete)[:20]}" if incomplete else "")
    )
    print(f"  failed evaluations: {len(failed)}" + (f" {failed[:20]}" if failed else ""))
    expected_of = {s["id"]: s["expected"] for s in subs}
    print(
        f"  wrong verdicts: {len(mismatched)}"
        + "".join(
            f" [{sid}: expected {expected_of[sid]}, got {staff[sid].get('verdict')},"
            f" attempt {staff[sid].get('attempt')}]"
            for sid in mismatched[:10]
        )
    )
    print(
        f"  submissions with more than one job: {len(extra_jobs)}; jobs retried (attempt > 1): {len(retried)}"
    )
    if leftover is not None:
        print(f"  broker messages left in the queues after the run: {leftover}")
    if isinstance(config, PostgresRabbitmq):
        purged = sum(config.purged.values())
        print(
            f"  RabbitMQ before the run: purged {purged} leftover message(s)"
            + (f"; other consumers on {config.other_consumers}" if config.other_consumers else "")
        )
    problems = server.log_problems()
    if problems:
        print(f"  server log: {sum(problems.values())} error line(s):")
        for line, n in problems.most_common(10):
            print(f"    {n} x {line}")

    missing = len(students) * args.submissions - len(subs) - len(refused)
    if missing:
        refused.append(f"{missing} submission(s) never posted")
    bad = bool(lost or duplicated or refused or failed or mismatched or incomplete)
    odd = sorted(set(lost) | duplicated | set(failed) | set(mismatched) | incomplete | set(retried))
    if odd:  # what the API said of them, for a look after the database is gone
        (tmp / "odd-submissions.json").write_text(
            json.dumps(
                {
                    "submissions": {sid: staff.get(sid) for sid in odd},
                    "jobs": [j for j in jobs if j["submission"] in odd],
                },
                indent=1,
                default=str,
            )
        )
    if not bad and not problems and not odd and not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"data directory and server log kept in {tmp}")
    if lost or duplicated:
        print("FAIL: results were lost or duplicated")
        return 1
    if refused or failed or mismatched or incomplete:
        print("FAIL: submissions were refused, failed, incomplete or got the wrong verdict")
        return 1
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--config", choices=["embedded", "postgres-rabbitmq"], default="embedded")
    parser.add_argument(
        "--students", type=int, default=20, help="students (alice, bob, then extra ones)"
    )
    parser.add_argument("--submissions", type=int, default=3, help="submissions per student")
    parser.add_argument("--testers", type=int, default=4, help="tester processes")
    parser.add_argument(
        "--timeout", type=float, default=120, help="seconds until a result counts as lost"
    )
    parser.add_argument(
        "--browsers", type=int, default=None,
        help="students who also watch their submissions' pages in a browser (default: all)",
    )  # fmt: skip
    parser.add_argument(
        "--web-pause", type=float, default=0.05, help="pause between the web watcher's GETs, s"
    )
    parser.add_argument("--warmup", type=int, default=4, help="warm-up submissions (not measured)")
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    parser.add_argument(
        "--profile", type=Path, metavar="OUT.raw",
        help="sample the storer with py-spy during the rush (raw, collapsed stacks)",
    )  # fmt: skip
    args = parser.parse_args()
    if not 1 <= args.students <= 200 or not 1 <= args.submissions <= 10:
        parser.error("--students must be 1..200 and --submissions 1..10")
    if args.students * args.submissions + args.warmup > 900:
        parser.error("at most 900 submissions in all (the jobs listing shows 1000)")
    if not 1 <= args.testers <= 16 or not 5 <= args.timeout <= 900:
        parser.error("--testers 1..16, --timeout 5..900 s")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up (server, database) on TERM
    config = PostgresRabbitmq() if args.config == "postgres-rabbitmq" else Embedded()
    sys.exit(run(args, config))


if __name__ == "__main__":
    main()
