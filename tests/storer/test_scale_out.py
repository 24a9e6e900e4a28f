"""Scale out and failure semantics against the real services on this machine (PostgreSQL,
RabbitMQ, Redis): testers started apart from the storer, each with its own credential and
capabilities; a tester killed mid-job, a tester frozen until its job was given up, a revoked
credential, a broker restart, a storer restart. Each ends with exactly one result for every
submission."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from tests.conftest import EXAMPLES

from .cluster import Cluster
from .test_end_to_end import SLOW_SUM, submit

SUM_OK = (EXAMPLES / "sum-c" / "solutions" / "accepted" / "sum.c").read_bytes()
PY_OK = EXAMPLES / "groups-python" / "solutions" / "accepted" / "formula.py"


def python_solution() -> dict[str, bytes]:
    return {PY_OK.name: PY_OK.read_bytes()}


@pytest.fixture
def cluster(request, tmp_path):
    config = getattr(request, "param", "postgres-rabbitmq")
    c = Cluster(tmp_path, config)
    try:
        yield c.start()
    finally:
        c.stop()


def wait_done(c: Cluster, user: str, ids: list[int], timeout: float = 90) -> list[dict]:
    return [c.server.wait(user, i, timeout=timeout) for i in ids]


def running_job(c: Cluster, submission_id: int) -> dict:
    found: dict = {}

    def is_running() -> bool:
        for j in c.jobs():
            if j["submission"] == submission_id and j["state"] == "running":
                found.update(j)
                return True
        return False

    c.wait_for(is_running, f"submission {submission_id} to run")
    return found


@pytest.mark.parametrize("cluster", ["postgres-rabbitmq", "postgres-redis"], indirect=True)
def test_three_testers_with_different_capabilities_take_only_what_they_offer(cluster):
    cluster.add_tester("c-only", runtimes="c")
    cluster.add_tester("python-only", runtimes="python3")
    cluster.add_tester("everything", slots=2)
    ids = [submit(cluster.server, "alice", "demo/sum-c", {"sum.c": SUM_OK})["id"] for _ in range(4)]
    ids += [
        submit(cluster.server, "bob", "demo/groups-python", python_solution())["id"]
        for _ in range(4)
    ]
    docs = wait_done(cluster, "teacher", ids)
    assert all(d["status"] == "done" and d["verdict"] == "AC" for d in docs), [
        (d["status"], d["verdict"], d.get("error")) for d in docs
    ]
    by_submission = {j["submission"]: j for j in cluster.jobs() if j["state"] == "done"}
    for d in docs:
        tester = by_submission[d["id"]]["tester"]
        allowed = {"c": {"c-only", "everything"}, "python3": {"python-only", "everything"}}[
            d["runtime"]
        ]
        assert tester in allowed, (d["runtime"], tester)
    with cluster.server.api("admin") as api:
        testers = {t["name"]: t for t in api.get("/testers").json()}
    assert testers["c-only"]["runtimes"] == ["c"] and testers["everything"]["slots"] == 2
    assert sum(t["jobs_done"] for t in testers.values()) == len(ids)
    cluster.exactly_one_result_each()


def test_a_job_for_a_runtime_no_tester_offers_says_so(cluster):
    cluster.add_tester("c-only", runtimes="c")
    doc = submit(cluster.server, "alice", "demo/groups-python", python_solution())
    with cluster.server.api("alice") as api:
        doc = api.get(f"/submissions/{doc['id']}").json()
    assert doc["status"] == "queued" and doc["no_tester"] is True
    cluster.add_tester("python-only", runtimes="python3")
    assert cluster.server.wait("alice", doc["id"])["verdict"] == "AC"


def test_a_tester_killed_mid_job_is_replaced_and_the_job_ends_once(cluster):
    cluster.add_tester("a")
    cluster.add_tester("b")
    doc = submit(cluster.server, "alice", "demo/sum-c", {"sum.c": SLOW_SUM})
    job = running_job(cluster, doc["id"])
    cluster.kill_tester(job["tester"])  # kill -9: no goodbye, no result
    result = cluster.server.wait("alice", doc["id"])
    assert (result["status"], result["verdict"], result["attempt"]) == ("done", "AC", 2)
    other = "b" if job["tester"] == "a" else "a"
    assert [j["tester"] for j in cluster.jobs() if j["submission"] == doc["id"]] == [other]
    cluster.exactly_one_result_each()


def test_a_result_arriving_after_its_attempt_was_given_up_is_ignored(cluster):
    cluster.add_tester("a")
    cluster.add_tester("b")
    doc = submit(cluster.server, "alice", "demo/sum-c", {"sum.c": SLOW_SUM})
    job = running_job(cluster, doc["id"])
    frozen = job["tester"]
    cluster.kill_tester(frozen, signal.SIGSTOP)  # frozen mid-job: no heartbeats
    result = cluster.server.wait("alice", doc["id"])
    assert result["attempt"] == 2
    cluster.kill_tester(frozen, signal.SIGCONT)  # it wakes up and reports attempt 1 too late
    cluster.wait_for(
        lambda: (
            "stale" in cluster.tester_log(frozen)
            or cluster.testers[frozen].poll() is None
            and _idle(cluster, frozen)
        ),
        "the frozen tester to finish its old job",
        timeout=30,
    )
    time.sleep(1)
    with cluster.server.api("alice") as api:
        again = api.get(f"/submissions/{doc['id']}").json()
    assert (again["attempt"], again["verdict"], again["points"]) == (2, "AC", 10)
    cluster.exactly_one_result_each()


def _idle(cluster: Cluster, name: str) -> bool:
    with cluster.server.api("admin") as api:
        return next(t for t in api.get("/testers").json() if t["name"] == name)["running"] == []


def test_a_revoked_tester_stops_and_its_work_goes_to_another(cluster):
    cluster.add_tester("a", runtimes="c")
    r = cluster.assay("tester", "revoke", "a", "--data-dir", str(cluster.server.data_dir))
    assert r.returncode == 0, r.stderr
    doc = submit(cluster.server, "alice", "demo/sum-c", {"sum.c": SUM_OK})
    cluster.wait_for(
        lambda: cluster.testers["a"].poll() is not None, "the revoked tester to stop", timeout=30
    )
    assert "credential" in cluster.tester_log("a")
    cluster.add_tester("b", runtimes="c")
    assert cluster.server.wait("alice", doc["id"])["verdict"] == "AC"
    assert [j["tester"] for j in cluster.jobs()] == ["b"]
    cluster.exactly_one_result_each()


def test_a_broker_restart_with_jobs_queued_loses_nothing(cluster):
    ids = [submit(cluster.server, "alice", "demo/sum-c", {"sum.c": SUM_OK})["id"] for _ in range(5)]
    subprocess.run(["rabbitmqctl", "-q", "stop_app"], check=True, timeout=120)
    try:
        ids.append(
            submit(cluster.server, "bob", "demo/sum-c", {"sum.c": SUM_OK})["id"]
        )  # while the broker is down
    finally:
        subprocess.run(["rabbitmqctl", "-q", "start_app"], check=True, timeout=120)
    cluster.add_tester("a", slots=2)
    docs = wait_done(cluster, "teacher", ids)
    assert [d["verdict"] for d in docs] == ["AC"] * 6, [(d["status"], d.get("error")) for d in docs]
    cluster.exactly_one_result_each()


def test_a_storer_restart_during_evaluations_loses_nothing(cluster):
    cluster.add_tester("a")
    cluster.add_tester("b")
    ids = [
        submit(cluster.server, "alice", "demo/sum-c", {"sum.c": SLOW_SUM})["id"] for _ in range(4)
    ]
    running_job(cluster, ids[0])
    cluster.server.stop(signal.SIGKILL)  # the storer dies; the testers go on and wait for it
    time.sleep(1)
    cluster.server.start()
    docs = wait_done(cluster, "alice", ids, timeout=120)
    assert [d["verdict"] for d in docs] == ["AC"] * 4, [
        (d["verdict"], d.get("error"), [t.get("message") for t in d["tests"]][:2]) for d in docs
    ]
    cluster.exactly_one_result_each()
