"""A storer with testers started apart from it, on real services: PostgreSQL, and RabbitMQ or
Redis — each test run in a database, virtual host or Redis database of its own."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

from tests.conftest import ROOT

from .server import Server, free_port, inherited_env

POSTGRES = "postgresql://postgres@127.0.0.1:5432"
RABBITMQ = "amqp://guest:guest@127.0.0.1:5672"
REDIS = "redis://127.0.0.1:6379"


# Test files run on two workers at once (test.sh), and a cluster's storer keeps up to a
# PostgreSQL connection per web server thread (64): two clusters at once can exhaust
# PostgreSQL's 100 connections, and a test restarts RabbitMQ under any other cluster. So
# clusters take turns across the workers: each holds this lock for its life.
CLUSTER_LOCK = Path("/tmp/assay-tests-cluster.lock")


def _take_turn() -> Any:
    lock = open(CLUSTER_LOCK, "a")  # noqa: SIM115 - closed by the cluster's last cleanup
    fcntl.flock(lock, fcntl.LOCK_EX)
    return lock


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


class Cluster:
    def __init__(self, tmp: Path, config: str, host: str = "127.0.0.1", **settings: Any) -> None:
        self.host = host
        self.tmp, self.config, self.name = tmp, config, "assay_t_" + uuid.uuid4().hex[:10]
        self.env = {
            "ASSAY_HEARTBEAT_TIMEOUT_S": "3",
            "ASSAY_REDISPATCH_AFTER_S": "3",
            "ASSAY_HEARTBEAT_S": "0.5",
            **{k: str(v) for k, v in settings.items()},
        }
        self.testers: dict[str, subprocess.Popen] = {}
        self.cleanups: list[Any] = []

    def start(self) -> Cluster:
        self.cleanups.append(_take_turn().close)  # the last cleanup (they run reversed)
        if self.config.startswith("postgres"):
            try:
                with psycopg.connect(POSTGRES + "/postgres", autocommit=True) as db:
                    db.execute(f'CREATE DATABASE "{self.name}"')
            except psycopg.OperationalError as e:
                raise RuntimeError(f"PostgreSQL at {POSTGRES} is needed for this test: {e}") from e
            self.env["ASSAY_DATABASE_URL"] = f"{POSTGRES}/{self.name}"
            self.cleanups.append(self._drop_database)
        if self.config.endswith("rabbitmq"):
            _rabbitmqctl("add_vhost", self.name)
            _rabbitmqctl("set_permissions", "-p", self.name, "guest", ".*", ".*", ".*")
            self.env["ASSAY_BROKER_URL"] = f"{RABBITMQ}/{self.name}"
            self.cleanups.append(lambda: _rabbitmqctl("delete_vhost", self.name))
        elif self.config.endswith("redis"):
            number = 1 + uuid.uuid4().int % 15
            self.env["ASSAY_BROKER_URL"] = f"{REDIS}/{number}"
            import redis

            redis.Redis.from_url(self.env["ASSAY_BROKER_URL"]).flushdb()
        self.server = Server(
            self.tmp / "data", free_port(), self.env, testers=0, host=self.host
        ).start()
        return self

    def _drop_database(self) -> None:
        with psycopg.connect(POSTGRES + "/postgres", autocommit=True) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def assay(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "assay", *args], capture_output=True, text=True, timeout=120, cwd=ROOT,
            env={**inherited_env(), "ASSAY_DATA_DIR": str(self.server.data_dir), **self.env},
        )  # fmt: skip

    def add_tester(
        self,
        name: str,
        runtimes: str = "",
        slots: int = 1,
        prefix: list[str] | None = None,
        broker: str | None = None,
    ) -> subprocess.Popen:
        """Start a tester; ``prefix`` runs it elsewhere (e.g. ip netns exec NS), ``broker``
        is the broker's URL as seen from there."""
        r = self.assay("tester", "register", name, "--data-dir", str(self.server.data_dir))
        assert r.returncode == 0, r.stderr
        token = r.stdout.strip()
        log = open(self.tmp / f"tester-{name}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [*(prefix or []), sys.executable, "-m", "assay", "worker", "--url", self.server.url,
             "--broker", broker or self.env.get("ASSAY_BROKER_URL", f"filesystem://{self.server.data_dir / 'broker'}"),
             "--name", name, "--slots", str(slots), *(["--runtimes", runtimes] if runtimes else [])],
            cwd=ROOT, env={**inherited_env(), **self.env, "ASSAY_TESTER_TOKEN": token}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.testers[name] = proc
        self.wait_for(lambda: self._seen(name), f"tester {name} to say hello")
        return proc

    def _seen(self, name: str) -> bool:
        with self.server.api("admin") as api:
            return any(t["name"] == name and t["last_seen_at"] for t in api.get("/testers").json())

    def tester_log(self, name: str) -> str:
        return (self.tmp / f"tester-{name}.log").read_text(errors="replace")

    def kill_tester(self, name: str, sig: int = signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.testers[name].pid, sig)
        if sig == signal.SIGKILL:
            # this test process may be a subreaper (it ran sandboxes itself): reap what the
            # killed tester's boxes leave to it, as a tester does
            time.sleep(0.2)
            from assay.sandbox import get_host

            get_host().reap_orphans()

    def wait_for(self, condition: Any, what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}\n{self.server.output()}")
            time.sleep(0.1)

    def jobs(self) -> list[dict]:
        with self.server.api("admin") as api:
            return api.get("/jobs", params={"limit": 1000}).json()

    def stop(self) -> None:
        for name in list(self.testers):
            self.kill_tester(name, signal.SIGTERM)
        for proc in self.testers.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
        if getattr(self, "server", None):
            self.server.stop()
        for cleanup in reversed(self.cleanups):
            with contextlib.suppress(Exception):
                cleanup()

    def exactly_one_result_each(self) -> None:
        """Every submission has one finished evaluation, with one set of test results."""
        import sqlite3

        query_jobs = "select submission_id, count(*) from evaluation_job where state = 'done' and kind = 'evaluation' group by submission_id"
        query_tests = "select j.id, count(r.id) from evaluation_job j left join evaluation_testresult r on r.job_id = j.id where j.kind = 'evaluation' group by j.id, j.state"
        if "ASSAY_DATABASE_URL" in self.env:
            with psycopg.connect(self.env["ASSAY_DATABASE_URL"]) as db:
                done = dict(db.execute(query_jobs).fetchall())
                subs = [r[0] for r in db.execute("select id from evaluation_submission").fetchall()]
                tests = db.execute(
                    query_tests.replace(
                        "group by j.id, j.state", "and j.state <> 'done' group by j.id"
                    )
                ).fetchall()
        else:
            db = sqlite3.connect(self.server.data_dir / "db.sqlite3")
            done = dict(db.execute(query_jobs).fetchall())
            subs = [r[0] for r in db.execute("select id from evaluation_submission").fetchall()]
            tests = db.execute(
                query_tests.replace("group by j.id, j.state", "and j.state <> 'done' group by j.id")
            ).fetchall()
        assert subs, "no submissions"
        assert {s: done.get(s, 0) for s in subs} == {s: 1 for s in subs}
        assert all(count == 0 for _, count in tests), (
            "test results stored for a job that is not done"
        )
