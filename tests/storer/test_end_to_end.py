"""The whole flow on one machine, with real parts: `assay demo` (storer + tester processes +
the file-system broker), the real sandbox, HTTP, the `assay submit` client, a package validated
by the testers, the failure path e-mailing the administrators through a real SMTP server on
loopback, and a storer killed in the middle of an evaluation."""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import EXAMPLES, ROOT

from .server import Mailbox, Server, free_port

SUM = EXAMPLES / "sum-c" / "solutions"
SLOW_SUM = b"""#include <stdio.h>
#include <time.h>
int main(void) { long long a, b; scanf("%lld %lld", &a, &b);
  /* 0.3 s asleep: slow in wall time, cheap in cpu, so a loaded machine never makes it a TLE */
  struct timespec t = {0, 300000000L}; nanosleep(&t, NULL);
  printf("%lld\\n", a + b); return 0; }
"""


@pytest.fixture(scope="module")
def mailbox():
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield box, controller.port
    controller.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory, mailbox):
    _, smtp_port = mailbox
    env = {
        "ASSAY_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "ASSAY_EMAIL_HOST": "127.0.0.1",
        "ASSAY_EMAIL_PORT": str(smtp_port),
    }
    s = Server(tmp_path_factory.mktemp("demo") / "data", free_port(), env).start()
    yield s
    s.stop()


def submit(server: Server, user: str, assignment: str, files: dict[str, bytes], **data) -> dict:
    with server.api(user) as api:
        course, slug = assignment.split("/")
        a = next(x for x in api.get(f"/courses/{course}/assignments").json() if x["slug"] == slug)
        r = api.post(
            f"/assignments/{a['id']}/submissions",
            data=data,
            files=[("files", (n, d)) for n, d in files.items()],
        )
        assert r.status_code == 201, r.text
        return r.json()


def test_a_submission_through_the_api_gets_its_results(server):
    doc = submit(
        server, "alice", "demo/sum-c", {"sum.c": (SUM / "accepted" / "sum.c").read_bytes()}
    )
    doc = server.wait("alice", doc["id"])
    assert (doc["status"], doc["verdict"], doc["points"], doc["max_points"]) == (
        "done",
        "AC",
        10,
        10,
    )
    visible = doc["tests"][0]
    assert (
        visible["verdict"] == "AC"
        and 0 < visible["cpu_time_s"] < 1
        and 0 < visible["memory_kib"] < 64 * 1024
    )
    assert [t["verdict"] for t in doc["tests"]] == ["AC"] * 4
    # every step was timed, and the steps account for the whole (how long is the benchmarks'
    # business, bench/submission_latency.py, not a test's)
    t = doc["timings"]
    steps = [t[k] for k in ("queue_s", "bundle_s", "evaluation_s", "ingestion_s")]
    assert all(s is not None and s >= 0 for s in steps), t
    assert abs(sum(steps) - t["total_s"]) < 0.01 + t["total_s"] * 0.01, t


def test_a_wrong_solution_gets_partial_points_and_a_compile_error_its_output(server):
    wrong = server.wait(
        "bob",
        submit(
            server,
            "bob",
            "demo/sum-c",
            {"s.c": (SUM / "wrong_answer" / "int-overflow.c").read_bytes()},
        )["id"],
    )
    assert (wrong["verdict"], wrong["points"]) == ("WA", 5)
    ce = server.wait(
        "bob",
        submit(
            server,
            "bob",
            "demo/sum-c",
            {"s.c": (SUM / "compile_error" / "missing-semicolon.c").read_bytes()},
        )["id"],
    )
    assert ce["verdict"] == "CE" and "expected" in ce["build"]["stderr"]


def assay_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "assay", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


def test_assay_submit_waits_and_prints_the_per_test_table(server):
    token = server.logins["alice"]["token"]
    r = assay_cli(
        "submit",
        "demo/sum-c",
        str(SUM / "accepted" / "sum.c"),
        "--url",
        server.url,
        "--token",
        token,
        "--wait",
    )
    assert r.returncode == 0, r.stderr
    assert "done" in r.stdout and "verdict AC, 10/10 points" in r.stdout
    assert "1/64 MiB" in r.stdout or "/64 MiB" in r.stdout


def test_assay_submit_cross_submits_for_a_student_as_json(server):
    token = server.logins["teacher"]["token"]
    r = assay_cli(
        "submit",
        "demo/sum-c",
        str(SUM / "accepted" / "sum.c"),
        "--url",
        server.url,
        "--token",
        token,
        "--for",
        "bob",
        "--wait",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["author"], doc["submitted_by"], doc["cross_submitted"], doc["verdict"]) == (
        "bob",
        "teacher",
        True,
        "AC",
    )
    # and a student may not
    r = assay_cli(
        "submit",
        "demo/sum-c",
        str(SUM / "accepted" / "sum.c"),
        "--url",
        server.url,
        "--token",
        server.logins["alice"]["token"],
        "--for",
        "bob",
    )
    assert r.returncode == 2 and "403" in r.stderr


def test_on_demand_evaluation_starts_when_asked(server):
    with server.api("teacher") as api:
        a = next(x for x in api.get("/courses/demo/assignments").json() if x["slug"] == "sum-c")
        assert (
            api.patch(f"/assignments/{a['id']}", json={"evaluation": "on_demand"}).status_code
            == 200
        )
    try:
        doc = submit(
            server, "alice", "demo/sum-c", {"sum.c": (SUM / "accepted" / "sum.c").read_bytes()}
        )
        assert doc["status"] == "not_evaluated"
        with server.api("alice") as api:
            assert api.post(f"/submissions/{doc['id']}/evaluate").status_code == 202
        assert server.wait("alice", doc["id"])["verdict"] == "AC"
    finally:
        with server.api("teacher") as api:
            api.patch(f"/assignments/{a['id']}", json={"evaluation": "immediate"})


CRASHY_CHECKER = """import sys
output = sys.stdin.read()
if "BOOM" in output:
    sys.exit(7)  # a checker bug: neither 42 nor 43
expected = open(sys.argv[2]).read()
sys.exit(42 if output.split() == expected.split() else 43)
"""


def crashy_package() -> bytes:
    files = {
        "assignment.yaml": "title: Echo\nruntime: python3\njudge: {type: checker, checker: checker.py}\n",
        "checker.py": CRASHY_CHECKER,
        "tests/1/input": "7\n",
        "tests/1/output": "7\n",
        "solutions/accepted/echo.py": "print(input())\n",
        "solutions/wrong_answer/zero.py": "print(0)\n",
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buf.getvalue()


def test_a_package_is_validated_by_the_testers_and_a_failed_evaluation_mails_the_administrators(
    server, mailbox
):
    box, _ = mailbox
    with server.api("teacher") as api:
        r = api.post(
            "/courses/demo/assignments",
            data={"slug": "echo"},
            files={"package": ("p.zip", crashy_package())},
        )
        assert r.status_code == 201, r.text
        deadline = time.monotonic() + 60
        while not api.get(f"/assignments/{r.json()['id']}").json()["published"]:
            assert time.monotonic() < deadline, api.get(
                f"/assignments/{r.json()['id']}/versions"
            ).json()
            time.sleep(0.2)
    ok = server.wait(
        "alice", submit(server, "alice", "demo/echo", {"echo.py": b"print(input())\n"})["id"]
    )
    assert ok["verdict"] == "AC"
    failed = server.wait(
        "alice", submit(server, "alice", "demo/echo", {"echo.py": b"print('BOOM')\n"})["id"]
    )
    assert failed["status"] == "failed" and failed["verdict"] is None and failed["points"] is None
    assert "administrators were notified" in failed["error"]
    with server.api("admin") as api:
        jobs = api.get("/jobs", params={"state": "failed"}).json()
        assert any("checker failed" in j["error"] for j in jobs), [j["error"] for j in jobs]
    deadline = time.monotonic() + 10
    while (
        not any(f"job {failed['job']} failed" in m for m in box.messages)
        and time.monotonic() < deadline
    ):
        time.sleep(0.1)
    mail = next(m for m in box.messages if f"job {failed['job']} failed" in m)
    assert "To: admin@example.org" in mail and "checker failed" in mail


def test_a_storer_killed_mid_evaluation_still_ends_with_exactly_one_result(tmp_path):
    port = free_port()
    server = Server(tmp_path / "data", port, {}).start()
    try:
        doc = submit(server, "alice", "demo/sum-c", {"sum.c": SLOW_SUM})
        deadline = time.monotonic() + 30
        with server.api("alice") as api:
            while api.get(f"/submissions/{doc['id']}").json()["status"] != "running":
                assert time.monotonic() < deadline
                time.sleep(0.02)
        server.stop(signal.SIGKILL)  # the storer and its testers die at once, mid-job
        server.start()
        result = server.wait("alice", doc["id"])
        assert (result["status"], result["verdict"]) == ("done", "AC")
        assert result["attempt"] == 2
    finally:
        server.stop()
    db = sqlite3.connect(tmp_path / "data" / "db.sqlite3")
    rows = db.execute(
        "select count(*) from evaluation_testresult r join evaluation_job j on r.job_id = j.id where j.submission_id = ?",
        (doc["id"],),
    ).fetchone()[0]
    assert rows == 4  # one result: four tests, not eight
    assert (
        db.execute(
            "select count(*) from evaluation_job where submission_id = ? and state = 'done'",
            (doc["id"],),
        ).fetchone()[0]
        == 1
    )
