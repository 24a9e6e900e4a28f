"""Long polling of a submission (GET /api/submissions/ID?wait=S&since=VERSION): the answer comes
when the submission changes, not after a fixed polling interval; `Client.wait` (behind
`assay submit --wait`) follows a submission that way. Over a real socket (live_server)."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from assay.client import Client
from assay.storer.evaluation import changes, services
from assay.storer.evaluation.models import Job

from .conftest import SUM_OK

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def submission(cast):
    return services.create_submission(
        cast.sum, cast.users["alice"], cast.users["alice"], {"sum.c": SUM_OK}
    )


def get(live_server, cast, sid: int, **params) -> httpx.Response:
    return httpx.get(
        f"{live_server.url}/api/submissions/{sid}",
        params=params,
        headers={"Authorization": f"Bearer {cast.tokens['alice']}"},
        timeout=60,
    )


def set_state(submission, state: str) -> None:
    job = submission.jobs.get()
    job.state = state
    job.save()


def test_the_answer_comes_when_the_submission_changes(live_server, cast, submission, monkeypatch):
    # no periodic re-reading within the test's time: only the change's wake-up can answer
    monkeypatch.setattr(changes, "RECHECK_S", 60.0)
    first = get(live_server, cast, submission.id).json()
    assert first["status"] == "queued" and len(first["version"]) == 24
    answered: dict[str, object] = {}

    def long_poll() -> None:
        r = get(live_server, cast, submission.id, wait=20, since=first["version"])
        answered["at"] = time.monotonic()
        answered["doc"] = r.json()

    waiter = threading.Thread(target=long_poll)
    waiter.start()
    time.sleep(0.5)
    assert "doc" not in answered  # nothing changed yet: the request is still waiting
    changed_at = time.monotonic()
    set_state(submission, Job.RUNNING)
    waiter.join(timeout=15)
    assert not waiter.is_alive(), "the long poll did not end on the change"
    doc = answered["doc"]
    assert doc["status"] == "running" and doc["version"] != first["version"]
    assert changed_at <= answered["at"]  # answered because of the change, well before 20 s


def test_an_unchanged_submission_is_answered_after_the_wait(live_server, cast, submission):
    first = get(live_server, cast, submission.id).json()
    started = time.monotonic()
    again = get(live_server, cast, submission.id, wait=1, since=first["version"]).json()
    assert time.monotonic() - started >= 1.0  # it did wait
    assert again["version"] == first["version"] and again["status"] == "queued"


def test_a_stale_version_is_answered_at_once_and_bad_waits_are_refused(
    live_server, cast, submission
):
    doc = get(live_server, cast, submission.id, wait=20, since="an-older-version").json()
    assert doc["status"] == "queued"  # different from what the client has: no waiting
    for bad in ({"wait": 31}, {"wait": -1}, {"since": "x" * 65}):
        assert get(live_server, cast, submission.id, **bad).status_code in (400, 422)


def test_the_client_follows_a_submission_to_its_result(live_server, cast, submission):
    client = Client(live_server.url, cast.tokens["alice"])
    seen: list[str] = []

    def progress() -> None:
        time.sleep(0.4)
        set_state(submission, Job.RUNNING)
        time.sleep(0.4)
        job = submission.jobs.get()
        job.state, job.verdict = Job.DONE, "AC"
        job.save()

    worker = threading.Thread(target=progress)
    worker.start()
    doc = client.wait(submission.id, on_update=lambda d: seen.append(d["status"]), timeout=30)
    worker.join()
    assert doc["status"] == "done"
    assert seen == ["queued", "running", "done"]  # every state once, none repeated


def test_a_change_made_elsewhere_is_seen_at_the_next_recheck(live_server, cast, submission):
    # another storer process's change wakes nobody here (an UPDATE without signals stands in
    # for it): the waiter reads again every RECHECK_S and answers then
    first = get(live_server, cast, submission.id).json()
    answered: dict[str, object] = {}
    waiter = threading.Thread(
        target=lambda: answered.update(
            doc=get(live_server, cast, submission.id, wait=20, since=first["version"]).json()
        )
    )
    waiter.start()
    time.sleep(0.3)
    Job.objects.filter(submission=submission).update(state=Job.RUNNING)
    waiter.join(timeout=10)
    assert not waiter.is_alive() and answered["doc"]["status"] == "running"


def long_poll_in_thread(live_server, cast, sid: int, since: str) -> tuple[threading.Thread, dict]:
    answered: dict[str, object] = {}

    def poll() -> None:
        r = get(live_server, cast, sid, wait=20, since=since)
        answered["at"], answered["doc"] = time.monotonic(), r.json()

    waiter = threading.Thread(target=poll)
    waiter.start()
    time.sleep(0.3)
    return waiter, answered


def test_a_claim_is_answered_within_minor_s_and_the_end_at_once(
    live_server, cast, submission, monkeypatch
):
    # the job taken by a tester is a minor change: told within MINOR_S, not at once, so that a
    # short evaluation's end arrives in the same answer; the end itself wakes the waiter at once
    monkeypatch.setattr(changes, "RECHECK_S", 60.0)
    monkeypatch.setattr(changes, "MINOR_S", 30.0)
    first = get(live_server, cast, submission.id).json()
    waiter, answered = long_poll_in_thread(live_server, cast, submission.id, first["version"])
    job = submission.jobs.get()
    services.claim(job.id, job.attempt, cast.tester)
    time.sleep(1.0)
    assert "doc" not in answered  # claimed: a minor change, the waiter waits on
    job.refresh_from_db()
    job.state, job.verdict = Job.DONE, "AC"
    job.save()
    waiter.join(timeout=15)
    assert not waiter.is_alive(), "the end of the job did not answer the long poll"
    assert answered["doc"]["status"] == "done"  # one answer for claimed + done


def test_a_claim_alone_is_answered_after_minor_s(live_server, cast, submission, monkeypatch):
    monkeypatch.setattr(changes, "RECHECK_S", 60.0)
    monkeypatch.setattr(changes, "MINOR_S", 1.5)
    first = get(live_server, cast, submission.id).json()
    waiter, answered = long_poll_in_thread(live_server, cast, submission.id, first["version"])
    job = submission.jobs.get()
    claimed_at = time.monotonic()
    services.claim(job.id, job.attempt, cast.tester)
    waiter.join(timeout=15)
    assert not waiter.is_alive() and answered["doc"]["status"] == "running"
    assert answered["at"] - claimed_at >= 1.5  # held back MINOR_S, then told (well before 20 s)
