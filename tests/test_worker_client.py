"""The tester's HTTP client is per process (Celery's prefork children fork from the tester);
its heartbeats carry a job's progress, at most every PROGRESS_S, the first after PROGRESS_S (a
shorter job sends none)."""

import itertools
import os
import time
from typing import Any

from assay.tester import worker


def test_a_forked_child_gets_its_own_client():
    worker.CONFIG.update(url="http://127.0.0.1:9", token="tst_x")
    parent = worker.client()
    assert worker.client() is parent
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write, b"1" if worker.client() is not parent else b"0")
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"


class Recorder:
    """The storer's side of the heartbeats: what each one carried, and when."""

    def __init__(self) -> None:
        self.beats: list[tuple[float, list[int], Any]] = []

    def heartbeat(self, jobs, runtimes=None, slots=None, progress=None):
        self.beats.append((time.monotonic(), jobs, progress))


def test_progress_rides_the_heartbeat_at_most_twice_a_second(monkeypatch):
    storer = Recorder()
    monkeypatch.setattr(worker, "client", lambda: storer)
    monkeypatch.setattr(worker, "HEARTBEAT_S", 60.0)
    with worker.beating(7, attempt=2) as report:
        report(0, 20)
        time.sleep(worker.PROGRESS_S / 2)
        assert storer.beats == []  # nothing while the job is young
        time.sleep(worker.PROGRESS_S / 2 + 0.1)  # then the first report goes
        assert storer.beats[0][2] == [{"job": 7, "attempt": 2, "tests_done": 0, "tests_total": 20}]
        started = time.monotonic()
        for done in range(1, 21):  # 20 tests in 1.2 s
            report(done, 20)
            time.sleep(0.06)
        time.sleep(worker.PROGRESS_S + 0.2)  # the last report still goes
    carried = [p[0]["tests_done"] for _, _, p in storer.beats if p]
    assert (
        carried[-1] == 20 and len(carried) <= 2 + (time.monotonic() - started) / worker.PROGRESS_S
    )
    times = [t for t, _, p in storer.beats if p]
    assert all(b - a >= worker.PROGRESS_S - 0.01 for a, b in itertools.pairwise(times))
    assert all(jobs == [7] for _, jobs, _ in storer.beats)


def test_without_progress_the_heartbeat_keeps_its_pace(monkeypatch):
    storer = Recorder()
    monkeypatch.setattr(worker, "client", lambda: storer)
    monkeypatch.setattr(worker, "HEARTBEAT_S", 0.2)
    with worker.beating(7):
        time.sleep(worker.PROGRESS_S + 0.5)
    assert 1 <= len(storer.beats) <= 3 and all(p is None for _, _, p in storer.beats)


def test_a_short_job_sends_no_heartbeat(monkeypatch):
    storer = Recorder()
    monkeypatch.setattr(worker, "client", lambda: storer)
    with worker.beating(7) as report:
        for done in range(1, 5):
            report(done, 4)
        time.sleep(worker.PROGRESS_S / 3)
    time.sleep(worker.PROGRESS_S)
    assert storer.beats == []
