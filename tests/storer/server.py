"""A real `assay demo` server in a subprocess, for end-to-end and browser tests."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import ROOT


def inherited_env() -> dict[str, str]:
    """This process's environment without the storer's settings: a server gets only what its
    test gives it (the test run itself may point the storer's suite at PostgreSQL)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("ASSAY_")}


def _die_with_parent() -> None:
    """In the child: SIGTERM when the test process dies (a test run killed by a timeout must not
    leave its demo server and testers running)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[str] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(envelope.content.decode(errors="replace"))
        return "250 OK"


class Server:
    def __init__(
        self,
        data_dir: Path,
        port: int,
        env: dict[str, str],
        testers: int = 2,
        certfile: Path | None = None,
        keyfile: Path | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.host = host
        # the demo users' and every login's password hash: MD5, as the in-process tests (Django's
        # PBKDF2 costs about a second of cpu a hash, minutes over the suite's servers)
        env = {"ASSAY_PASSWORD_HASHERS": "django.contrib.auth.hashers.MD5PasswordHasher", **env}
        self.data_dir, self.port, self.env, self.testers = data_dir, port, env, testers
        self.tls = ["--certfile", str(certfile), "--keyfile", str(keyfile)] if certfile else []
        self.verify: bool | ssl.SSLContext = (
            ssl.create_default_context(cafile=str(certfile)) if certfile else True
        )
        self.url = f"{'https' if certfile else 'http'}://{host}:{port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Server:
        self.log = open(self.data_dir.parent / f"server-{time.monotonic_ns()}.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "assay", "demo", "--data-dir", str(self.data_dir), "--port", str(self.port), "--testers", str(self.testers), "--host", self.host, *self.tls],
            cwd=ROOT, env={**inherited_env(), **self.env}, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=_die_with_parent,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.output()
            try:
                if (
                    httpx.get(
                        self.url + "/api/openapi.json", timeout=1, verify=self.verify
                    ).status_code
                    == 200
                ):
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError("the demo did not come up:\n" + self.output())
        self.logins = json.loads((self.data_dir / "demo-logins.json").read_text())
        return self

    def wait_for_testers(self, timeout: float = 180) -> Server:
        """Until every local tester has said hello (verified its runtimes and images): on a
        busy machine that takes longer than a test's wait for one evaluation."""
        names = {f"local-{i}" for i in range(1, self.testers + 1)}
        deadline = time.monotonic() + timeout
        with self.api("admin") as api:
            while time.monotonic() < deadline:
                assert self.proc is not None and self.proc.poll() is None, self.output()
                seen = {t["name"] for t in api.get("/testers").json() if t["last_seen_at"]}
                if names <= seen:
                    return self
                time.sleep(0.2)
        raise AssertionError(f"the demo's testers did not say hello:\n{self.output()}")

    def output(self) -> str:
        return (self.data_dir.parent / Path(self.log.name).name).read_text(errors="replace")[-5000:]

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)
        if sig == signal.SIGKILL:  # see Cluster.kill_tester: leftovers of killed testers' boxes
            time.sleep(0.2)
            from assay.sandbox import get_host

            get_host().reap_orphans()

    def api(self, user: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.url + "/api",
            headers={"Authorization": f"Bearer {self.logins[user]['token']}"},
            timeout=30,
            verify=self.verify,
        )

    def wait(self, user: str, submission_id: int, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        with self.api(user) as api:
            while time.monotonic() < deadline:
                doc = api.get(f"/submissions/{submission_id}").json()
                if doc["status"] in ("done", "failed"):
                    return doc
                time.sleep(0.1)
        raise AssertionError(
            f"submission {submission_id} is still {doc['status']}:\n{self.output()}"
        )
