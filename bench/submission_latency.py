"""From POST of a submission to its result stored, on the embedded default, split into steps.

Starts `assay demo` in a temporary data directory (2 tester processes, the file-system broker),
uploads a Python hello-world assignment with 10 tests (validated by the testers), submits it
N times one after another, and prints the median of each step, measured with the timestamps the
jobs keep (queue, bundle download, evaluation = build + runs on the tester, ingestion), and
the client's own POST-to-result time (following the submission as `assay submit --wait` does,
by long polling), next to the programs' own run time.

    uv run python bench/submission_latency.py [--runs 20]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import httpx

from assay.client import Client

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hello_package(tests: int = 10) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("assignment.yaml", "title: Hello\nruntime: python3\n")
        for i in range(1, tests + 1):
            zf.writestr(f"tests/{i}/input", f"world{i}\n")
            zf.writestr(f"tests/{i}/output", f"Hello, world{i}!\n")
        zf.writestr("solutions/accepted/hello.py", 'print(f"Hello, {input()}!")\n')
    return buf.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="assay-bench-")) / "data"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(data.parent / "server.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "assay", "demo", "--data-dir", str(data), "--port", str(port), "--testers", "2"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        for _ in range(300):
            try:
                if httpx.get(url + "/api/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        logins = json.loads((data / "demo-logins.json").read_text())

        def client(user: str) -> httpx.Client:
            return httpx.Client(
                base_url=url + "/api",
                headers={"Authorization": f"Bearer {logins[user]['token']}"},
                timeout=60,
            )

        teacher, alice = client("teacher"), client("alice")
        follower = Client(url, logins["alice"]["token"])
        r = teacher.post(
            "/courses/demo/assignments",
            data={"slug": "hello"},
            files={"package": ("p.zip", hello_package())},
        )
        r.raise_for_status()
        assignment = r.json()["id"]
        while not teacher.get(f"/assignments/{assignment}").json()["published"]:
            time.sleep(0.1)
        rows = []
        for i in range(args.runs + 2):
            start = time.perf_counter()
            doc = alice.post(
                f"/assignments/{assignment}/submissions",
                files=[("files", ("hello.py", b'print(f"Hello, {input()}!")\n'))],
            ).json()
            # followed as `assay submit --wait` does: long polling, answered when it changes
            doc = follower.wait(doc["id"])
            client_s = time.perf_counter() - start
            if doc["status"] != "done" or doc["verdict"] != "AC":
                raise SystemExit(f"unexpected result: {doc}")
            if i < 2:
                continue  # warm-up: caches, first imports
            staff = teacher.get(f"/submissions/{doc['id']}").json()
            t = staff["timings"]
            program_wall = sum(x["wall_time_s"] for x in staff["tests"])
            program_cpu = sum(x["cpu_time_s"] for x in staff["tests"])
            rows.append(
                {
                    **t,
                    "client_s": client_s,
                    "program_wall_s": program_wall,
                    "program_cpu_s": program_cpu,
                }
            )
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)

    def med(key: str) -> float:
        values = [r[key] for r in rows if r.get(key) is not None]
        return statistics.median(values) if values else float("nan")

    print(
        f"Python hello-world, 10 tests, {len(rows)} submissions one after another, embedded default"
    )
    print(f"{'step':<40} {'median':>10}")
    for key, label in [
        ("queue_s", "queue (POST committed -> claimed)"),
        ("tester_claim_s", "  tester: claim request -> bundle received"),
        ("bundle_s", "bundle (claimed -> bundle sent)"),
        ("evaluation_s", "evaluation (bundle sent -> result up)"),
        ("tester_unpack_s", "  tester: unpack the bundle"),
        ("tester_build_s", "  tester: build (python3 compile)"),
        ("tester_total_s", "  tester: build + tests"),
        ("ingestion_s", "ingestion (notify)"),
        ("total_s", "total on the storer (created -> stored)"),
        ("client_s", "client: POST -> result seen (long poll)"),
        ("program_wall_s", "the programs' own wall time (10 runs)"),
        ("program_cpu_s", "the programs' own cpu time (10 runs)"),
    ]:
        print(f"{label:<40} {med(key) * 1000:>8.1f} ms")
    seen_after = statistics.median(r["client_s"] - r["total_s"] for r in rows)
    print(f"{'client minus storer total (POST + notice)':<40} {seen_after * 1000:>8.1f} ms")
    overhead = med("total_s") - med("program_wall_s")
    print(
        f"{'storer total minus program wall time':<40} {overhead * 1000:>8.1f} ms  (goal: < 100 ms)"
    )


if __name__ == "__main__":
    main()
