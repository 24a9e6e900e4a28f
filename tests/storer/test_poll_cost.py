"""What following a submission costs the storer (docs/performance.md §9, the deadline rush): a
student's poll and a page's live part cost a fixed, small number of queries however many jobs,
tests, files and testers there are; the page's poll is a 204 when nothing changed; the queue
moving alone is answered every QUEUE_MOVES_S, not at every job taken ahead; a connection and a
token's last use are not written per request."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from assay.storer.evaluation import changes, queries, services
from assay.storer.web import views

from .conftest import SUM_OK
from .test_api_tester import claim, evaluate, fetch, upload

# the token, the submission, its latest job (with its place in the queue), a done job's tests
POLL_QUERIES = {"queued": 3, "running": 3, "done": 5}


def submit(cast, who: str = "alice"):
    user = cast.users[who]
    return services.create_submission(cast.sum, user, user, {"sum.c": SUM_OK})


def queries_of(fn) -> int:
    with CaptureQueriesContext(connection) as captured:
        fn()
    return len(captured.captured_queries)


def heartbeat(cast) -> None:
    cast.api("tester").post("/tester/heartbeat", json={"jobs": [], "runtimes": ["c"]})


def test_a_students_poll_costs_the_same_few_queries_however_many_rows(cast, tmp_path):
    heartbeat(cast)
    api = cast.api("alice")
    mine = submit(cast)
    api.get(f"/submissions/{mine.id}")  # the testers, read once a second per process
    counts = {"queued": [queries_of(lambda: api.get(f"/submissions/{mine.id}"))]}
    for _ in range(20):  # jobs of others ahead in the queue, testers, files
        submit(cast, "bob")
    later = submit(cast)
    api.get(f"/submissions/{later.id}")  # its files: read once (the POST's answer reads them)
    counts["queued"].append(queries_of(lambda: api.get(f"/submissions/{later.id}")))
    job = mine.jobs.get()
    claim(cast, job)
    counts["running"] = [queries_of(lambda: api.get(f"/submissions/{mine.id}"))]
    upload(cast, job, evaluate(fetch(cast, job).content, tmp_path))
    doc = api.get(f"/submissions/{mine.id}").json()
    assert doc["status"] == "done" and len(doc["tests"]) == 4
    counts["done"] = [queries_of(lambda: api.get(f"/submissions/{mine.id}"))]
    for state, found in counts.items():
        assert found == [POLL_QUERIES[state]] * len(found), (state, found)


def test_a_supervisors_poll_is_no_dearer(cast, django_assert_max_num_queries):
    heartbeat(cast)
    s = submit(cast)
    teacher = cast.api("teacher")
    teacher.get(f"/submissions/{s.id}")
    with django_assert_max_num_queries(POLL_QUERIES["queued"] + 1):  # + the role
        assert teacher.get(f"/submissions/{s.id}").json()["status"] == "queued"


def test_the_testers_are_read_once_a_second_and_again_when_one_comes_back(cast):
    heartbeat(cast)
    assert queries.testers_for("assay.default.c")
    with CaptureQueriesContext(connection) as captured:
        for _ in range(5):
            queries.testers_for("assay.default.c")
            queries.no_tester_for("assay.default.c")
    assert not captured.captured_queries
    cast.api("tester").post("/tester/heartbeat", json={"jobs": [], "runtimes": ["python3"]})
    assert not queries.testers_for("assay.default.c")  # a changed tester is seen at once


def test_the_web_page_polls_for_changes_and_gets_a_204_while_there_is_none(
    cast, monkeypatch, tmp_path
):
    monkeypatch.setattr(views, "LONG_POLL_S", 0.2)
    heartbeat(cast)
    s = submit(cast)
    web = Client()
    web.force_login(cast.users["alice"])
    page = web.get(f"/submissions/{s.id}/").content.decode()
    version = cast.api("alice").get(f"/submissions/{s.id}").json()["version"]
    url = f"/submissions/{s.id}/body/?since={version}"
    assert f'hx-get="{url}"' in page and 'hx-sync="this:drop"' in page
    web.get(url)
    with CaptureQueriesContext(connection) as captured:
        r = web.get(url)
    assert r.status_code == 204 and not r.content  # htmx swaps nothing, and polls again
    # session, user, submission, job with its place in the queue
    assert len(captured.captured_queries) == 4, [q["sql"][:80] for q in captured.captured_queries]
    job = s.jobs.get()
    claim(cast, job)
    r = web.get(url)
    assert r.status_code == 200 and 'data-status="running"' in r.content.decode()
    assert "hx-get" in r.content.decode() and f"since={version}" not in r.content.decode()
    upload(cast, job, evaluate(fetch(cast, job).content, tmp_path))
    r = web.get(url)
    assert r.status_code == 200 and "hx-get" not in r.content.decode()  # final: no more polls


@pytest.mark.django_db(transaction=True)
def test_the_queue_moving_alone_is_answered_after_queue_moves_s(live_server, cast, monkeypatch):
    monkeypatch.setattr(changes, "QUEUE_MOVES_S", 1.5)
    monkeypatch.setattr(changes, "RECHECK_S", 0.2)
    ahead, mine = submit(cast, "bob"), submit(cast)
    headers = {"Authorization": f"Bearer {cast.tokens['alice']}"}
    url = f"{live_server.url}/api/submissions/{mine.id}"
    first = httpx.get(url, headers=headers, timeout=30).json()
    assert first["queue_position"] == 2
    answered: dict[str, object] = {}

    def long_poll() -> None:
        started = time.monotonic()
        doc = httpx.get(
            url, params={"wait": 20, "since": first["version"]}, headers=headers, timeout=30
        ).json()
        answered.update(doc=doc, after=time.monotonic() - started)

    waiter = threading.Thread(target=long_poll)
    waiter.start()
    time.sleep(0.3)
    services.claim(ahead.jobs.get().id, 1, cast.tester)  # the job ahead is taken
    waiter.join(timeout=15)
    assert answered["doc"]["queue_position"] == 1  # type: ignore[index]
    assert 1.5 <= answered["after"] < 10  # type: ignore[operator]
    # a change of its own is answered at once
    second = answered["doc"]
    answered.clear()
    waiter = threading.Thread(
        target=lambda: answered.update(
            doc=httpx.get(
                url,
                params={"wait": 20, "since": second["version"]},
                headers=headers,
                timeout=30,  # type: ignore[index]
            ).json()
        )
    )
    started = time.monotonic()
    waiter.start()
    time.sleep(0.3)
    services.claim(mine.jobs.get().id, 1, cast.tester)
    waiter.join(timeout=15)
    # at once: not at the next 5 s answer of queue moves, nor at the 20 s end of the wait (4 s
    # leaves room for a loaded test machine)
    assert answered["doc"]["status"] == "running" and time.monotonic() - started < 4  # type: ignore[index]


def test_a_tokens_last_use_is_written_once_a_minute(cast):
    s = submit(cast)
    api = cast.api("alice")
    api.get(f"/submissions/{s.id}")
    with CaptureQueriesContext(connection) as captured:
        for _ in range(3):
            api.get(f"/submissions/{s.id}")
    assert not [q for q in captured.captured_queries if q["sql"].startswith("UPDATE")]


@pytest.mark.django_db(transaction=True)
def test_a_request_keeps_its_database_connection(cast):
    """SQLite connections persist across requests (CONN_MAX_AGE): opening one per request cost
    more than the requests' queries."""
    assert connection.settings_dict["CONN_MAX_AGE"] > 0
    api = cast.api("alice")
    api.get("/me")
    opened = connection.connection
    assert opened is not None
    api.get("/me")
    assert connection.connection is opened
    journal = connection.cursor().execute("PRAGMA journal_mode").fetchone()[0]
    assert journal in ("wal", "memory")  # the test database may live in memory


# the token, then: claim: the conditional update, the claimed job; bundle: the job with its
# version, course and submission, the submission's files, the bundle's time; result: the job,
# then in one transaction (a savepoint here) the conditional update, the tests, the archive's
# name, the tester's count
TESTER_QUERIES = {"claim": 3, "bundle": 4, "result": 8}


def test_a_testers_claim_bundle_and_result_cost_a_fixed_number_of_queries(cast, tmp_path):
    tester = cast.api("tester")
    for _ in range(5):  # other jobs, ahead and done
        submit(cast, "bob")
    job = submit(cast).jobs.get()
    counts = {"claim": queries_of(lambda: claim(cast, job, api=tester))}
    bundle = None

    def get_bundle():
        nonlocal bundle
        bundle = fetch(cast, job, api=tester)

    counts["bundle"] = queries_of(get_bundle)
    archive = evaluate(bundle.content, tmp_path)
    counts["result"] = queries_of(lambda: upload(cast, job, archive, api=tester))
    job.refresh_from_db()
    assert job.state == "done"
    assert counts == TESTER_QUERIES


def test_a_submissions_post_costs_a_fixed_number_of_queries(cast):
    """The token, the assignment with its course and version, the role; in one transaction (a
    savepoint here) the submission, its file, the author's team if the assignment is evaluated
    in teams (groups/: one query, none shared here) and its job; then its latest job for the
    answer (its files are known)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    heartbeat(cast)
    api = cast.api("alice")

    def post():
        r = api.post(
            f"/assignments/{cast.sum.id}/submissions",
            {"files": [SimpleUploadedFile("sum.c", SUM_OK)]},
        )
        assert r.status_code == 201, r.content

    post()
    first = queries_of(post)
    for _ in range(10):
        submit(cast, "bob")
    assert [first, queries_of(post)] == [10, 10]
