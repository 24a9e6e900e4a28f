"""Similarity runs in the storer (issue 13): what is compared (the latest submission of each
student, each team's once, a past years' archive, without the base code), how a run goes
(queued -> running -> done, its progress, a failure with its reason, a lost runner), and the
staff's pages: start it, follow it, the ranked pairs, a pair side by side.

- Alice wrote her solution; Bob handed in a disguised copy of it: the pair to find.
- Dave (a student of prog1 made here) wrote his own: he must not be paired with them.
- Teacher supervises prog1 and runs the comparison; Admin may too.
- Alice, a student, gets 403 on every page; Tina and Carol (prog2) get 404.
"""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assay.storer.courses.models import Membership
from assay.storer.evaluation import services as evaluation
from assay.storer.groups import services as groups
from assay.storer.similarity import runner, services
from assay.storer.similarity.models import SimilarityPair, SimilarityRun

from .similarity_cases import ALICE, BOB, DAVE, zipped


@pytest.fixture
def inline(monkeypatch):
    """Runs go through the runner in the test's own thread (and its transaction)."""
    monkeypatch.setattr(runner, "launch", lambda run_id: runner.execute(run_id, isolated=False))


@pytest.fixture
def dave(cast):
    user = get_user_model().objects.create_user("dave", "dave@example.org", "pw")
    Membership.objects.create(user=user, course=cast.prog1, role="student")
    cast.users["dave"] = user
    return user


def submit(cast, who: str, code: bytes, name: str = "sum.c"):
    u = cast.users[who]
    return evaluation.create_submission(cast.sum, u, u, {name: code})


def login(cast, who: str | None) -> Client:
    c = Client()
    if who:
        c.force_login(cast.users[who])
    return c


def BASE(cast) -> str:
    return f"/courses/prog1/assignments/{cast.sum.slug}/manage/similarity/"


def run_now(cast, django_capture_on_commit_callbacks, **uploads) -> SimilarityRun:
    with django_capture_on_commit_callbacks(execute=True):
        run = services.start(cast.sum, cast.users["teacher"], **uploads)
    run.refresh_from_db()
    return run


# -- what is compared -----------------------------------------------------------------------


def test_the_latest_submission_of_each_student_is_compared(cast, dave):
    submit(cast, "alice", DAVE)
    latest_alice = submit(cast, "alice", ALICE)
    bob = submit(cast, "bob", BOB)
    assert [s.id for s in services.latest_submissions(cast.sum)] == [latest_alice.id, bob.id]


def test_a_team_is_compared_once_by_its_latest_submission(cast):
    team = groups.save_group(cast.prog1, name="t", kind="team", members=["alice", "bob"])
    assert team
    groups.set_in_teams(cast.sum, True)
    submit(cast, "alice", ALICE)
    bobs = submit(cast, "bob", BOB)  # shared with Alice, newer than hers: the team's
    assert [s.id for s in services.latest_submissions(cast.sum)] == [bobs.id]


def test_the_copy_is_ranked_first_and_the_independent_work_is_not_paired(
    cast, dave, inline, django_capture_on_commit_callbacks
):
    a, b, _ = submit(cast, "alice", ALICE), submit(cast, "bob", BOB), submit(cast, "dave", DAVE)
    run = run_now(cast, django_capture_on_commit_callbacks)
    assert run.state == SimilarityRun.DONE and run.submissions == 3
    assert run.started_at and run.finished_at and run.attempt == 1
    first = SimilarityPair.objects.get(run=run, rank=1)
    assert {first.a_submission_id, first.b_submission_id} == {a.id, b.id}
    assert first.similarity >= 0.8 and first.regions
    for pair in SimilarityPair.objects.filter(run=run).exclude(rank=1):
        assert pair.similarity < 0.5


def test_past_years_are_compared_with_this_year_but_not_with_each_other(
    cast, inline, django_capture_on_commit_callbacks
):
    mine = submit(cast, "alice", ALICE)
    archive = zipped({
        "2023/zoe/main.c": BOB, "2023/yann/main.c": BOB, "2023/yann/notes.txt": b"mine",
        "2023/README": b"loose files are ignored",
    })  # fmt: skip
    run = run_now(cast, django_capture_on_commit_callbacks, archive=("old.zip", archive))
    assert (run.state, run.submissions, run.archived) == ("done", 1, 2)
    pairs = list(SimilarityPair.objects.filter(run=run))
    assert sorted(p.b_archived for p in pairs) == ["yann", "zoe"]
    assert all(p.a_submission_id == mine.id and p.similarity >= 0.8 for p in pairs)


def test_base_code_makes_the_pair_that_shares_only_it_unremarkable(
    cast, dave, inline, django_capture_on_commit_callbacks
):
    skeleton = ALICE.split(b"int main(void)")[0]  # the teacher gave read_all and sum_of
    submit(cast, "alice", ALICE)
    submit(cast, "dave", skeleton + DAVE.split(b"#include <stdio.h>\n")[1])
    without = run_now(cast, django_capture_on_commit_callbacks)
    with_base = run_now(cast, django_capture_on_commit_callbacks, base=("skeleton.c", skeleton))
    before = SimilarityPair.objects.filter(run=without).first()
    after = SimilarityPair.objects.filter(run=with_base).first()
    assert before is not None and before.similarity >= 0.5
    assert after is None or after.similarity < 0.2
    assert with_base.base_name == "skeleton.c"


@pytest.mark.parametrize(
    ("archive", "message"),
    [
        (b"not a zip", "not a zip"),
        (zipped({"../evil/main.c": ALICE}), "'..' is not allowed"),
        (zipped({"main.c": ALICE}), "a folder of their own"),
    ],
)
def test_a_hostile_or_useless_archive_is_refused_before_anything_is_queued(cast, archive, message):
    with pytest.raises(evaluation.ServiceError) as refused:
        services.start(cast.sum, cast.users["teacher"], archive=("x.zip", archive))
    assert refused.value.field == "archive" and message in refused.value.message
    assert not SimilarityRun.objects.exists()


def test_base_code_that_is_not_source_code_is_refused(cast):
    with pytest.raises(evaluation.ServiceError) as refused:
        services.start(cast.sum, cast.users["teacher"], base=("base.bin", b"\x00\x01binary"))
    assert refused.value.field == "base_code"


# -- how a run goes -------------------------------------------------------------------------


def test_a_run_is_claimed_once(cast, inline, django_capture_on_commit_callbacks):
    submit(cast, "alice", ALICE)
    run = run_now(cast, django_capture_on_commit_callbacks)
    assert runner.execute(run.id, isolated=False) is False  # done: nobody runs it again


def test_progress_is_stored_as_the_engine_reports_it(cast, monkeypatch):
    submit(cast, "alice", ALICE)
    submit(cast, "bob", BOB)
    run = SimilarityRun.objects.create(assignment=cast.sum, requested_by=cast.users["teacher"])
    seen = []
    original = runner._progress_writer

    def spying(run_id):
        write = original(run_id)

        def both(stage, done, total):
            write(stage, done, total)
            r = SimilarityRun.objects.get(pk=run_id)
            seen.append((r.state, r.stage, r.done, r.total))

        return both

    monkeypatch.setattr(runner, "_progress_writer", spying)
    runner.execute(run.id, isolated=False)
    assert ("running", "tokenising", 2, 2) in seen and ("running", "comparing", 1, 1) in seen


def test_the_engine_in_its_own_process_gives_the_same_pairs(cast):
    a, b = submit(cast, "alice", ALICE), submit(cast, "bob", BOB)
    run = SimilarityRun.objects.create(assignment=cast.sum, requested_by=cast.users["teacher"])
    assert runner.execute(run.id, isolated=True)
    run.refresh_from_db()
    assert run.state == "done", run.error
    pair = SimilarityPair.objects.get(run=run)
    assert {pair.a_submission_id, pair.b_submission_id} == {a.id, b.id}


def test_a_failure_fails_the_run_with_its_reason(cast, monkeypatch):
    submit(cast, "alice", ALICE)
    run = SimilarityRun.objects.create(assignment=cast.sum)

    def broken(*args, **kwargs):
        raise OSError("the storage is gone")

    monkeypatch.setattr(services, "inputs", broken)
    runner.execute(run.id, isolated=False)
    run.refresh_from_db()
    assert run.state == "failed" and "the storage is gone" in run.error and run.finished_at


def test_a_run_whose_runner_went_silent_is_queued_again_then_failed(cast, monkeypatch):
    launched = []
    monkeypatch.setattr(runner, "launch", launched.append)
    old = timezone.now() - dt.timedelta(seconds=runner.STALE_S + 5)
    run = SimilarityRun.objects.create(
        assignment=cast.sum, state="running", attempt=1, heartbeat_at=old
    )
    assert runner.watch() == {"requeued": 1, "failed": 0, "launched": 1}
    assert SimilarityRun.objects.get(pk=run.pk).state == "queued" and launched == [run.id]
    SimilarityRun.objects.filter(pk=run.pk).update(state="running", attempt=2, heartbeat_at=old)
    assert runner.watch()["failed"] == 1
    run.refresh_from_db()
    assert run.state == "failed" and "stopped" in run.error


# -- the pages ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 302), ("alice", 403), ("carol", 404), ("tina", 404), ("teacher", 200), ("admin", 200)],
)
def test_only_the_staff_open_the_similarity_pages(cast, who, status, inline, django_capture_on_commit_callbacks):  # fmt: skip
    submit(cast, "alice", ALICE)
    submit(cast, "bob", BOB)
    run = run_now(cast, django_capture_on_commit_callbacks)
    c = login(cast, who)
    for path in ("", f"{run.id}/", f"{run.id}/progress/", f"{run.id}/pairs/1/"):
        assert c.get(BASE(cast) + path).status_code == status, path
    before = SimilarityRun.objects.count()
    assert c.post(BASE(cast)).status_code == (302 if status == 200 else status)
    assert SimilarityRun.objects.count() == before + (status == 200)


def test_the_teacher_starts_a_run_and_reads_the_ranked_pairs_and_the_pair(
    cast, inline, django_capture_on_commit_callbacks
):
    a, b = submit(cast, "alice", ALICE), submit(cast, "bob", BOB)
    c = login(cast, "teacher")
    page = c.get(BASE(cast)).content.decode()
    assert "Compare the latest submissions" in page and "2 have submitted" in page
    with django_capture_on_commit_callbacks(execute=True):
        r = c.post(BASE(cast), {"base_code": _file("base.c", b"int unused_base;\n")})
    run = SimilarityRun.objects.get()
    assert r.status_code == 302 and r["Location"] == f"{BASE(cast)}{run.id}/"
    html = c.get(r["Location"]).content.decode()
    assert "alice (submission" in html and "bob (submission" in html
    assert re.search(r"<strong>\d+ %</strong>", html)
    pair = c.get(f"{BASE(cast)}{run.id}/pairs/1/").content.decode()
    # both sides, highlighted, the regions numbered and coloured alike on both
    assert f"/submissions/{a.id}/" in pair and f"/submissions/{b.id}/" in pair
    assert 'id="a-r1" href="#b-r1"' in pair and 'id="b-r1" href="#a-r1"' in pair
    assert 'class="line m0"' in pair and '<span class="kt">' in pair  # Pygments' classes
    # the progress part asks the page to load again once the run is over
    progress = c.get(f"{BASE(cast)}{run.id}/progress/", HTTP_HX_REQUEST="true")
    assert progress["HX-Refresh"] == "true"


def test_a_running_run_shows_its_progress_and_polls(cast):
    run = SimilarityRun.objects.create(
        assignment=cast.sum, state="running", stage="comparing", done=3, total=10
    )
    html = login(cast, "teacher").get(f"{BASE(cast)}{run.id}/").content.decode()
    assert "Comparing the likely pairs: 3 of 10" in html and 'hx-trigger="every 1s"' in html
    assert '<progress id="similarity-bar" max="10" value="3"' in html


def test_a_refused_archive_is_shown_on_the_form(cast):
    r = login(cast, "teacher").post(BASE(cast), {"archive": _file("x.zip", b"junk")})
    assert r.status_code == 400 and "not a zip" in r.content.decode()
    assert not SimilarityRun.objects.exists()


def _file(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def test_an_archive_is_read_up_to_a_total_counted_as_it_is_read(cast, monkeypatch):
    monkeypatch.setattr(services, "ARCHIVE_TOTAL_BYTES", 1000)
    archive = zipped({f"2023/s{n}/main.c": ALICE for n in range(3)})  # 3 × 900 bytes
    with pytest.raises(evaluation.ServiceError) as refused:
        services.start(cast.sum, cast.users["teacher"], archive=("x.zip", archive))
    assert refused.value.field == "archive" and "more than 0 MiB" in refused.value.message


@pytest.mark.django_db(transaction=True)
def test_a_run_launched_after_the_commit_is_done_by_the_runner_thread(cast):
    a, b = submit(cast, "alice", ALICE), submit(cast, "bob", BOB)
    run = services.start(cast.sum, cast.users["teacher"])  # autocommit: launched at once
    deadline = timezone.now() + dt.timedelta(seconds=60)
    while timezone.now() < deadline:
        run.refresh_from_db()
        if run.state in SimilarityRun.FINAL:
            break
        time.sleep(0.1)
    assert run.state == "done", run.error
    pair = SimilarityPair.objects.get(run=run)
    assert {pair.a_submission_id, pair.b_submission_id} == {a.id, b.id}


def test_the_ranked_pairs_cost_the_same_queries_for_two_pairs_or_twenty(
    cast, inline, django_capture_on_commit_callbacks
):
    submit(cast, "alice", ALICE)
    submit(cast, "bob", BOB)
    run = run_now(cast, django_capture_on_commit_callbacks)
    c = login(cast, "teacher")
    c.get(f"{BASE(cast)}{run.id}/")  # warm the caches
    with CaptureQueriesContext(connection) as few:
        c.get(f"{BASE(cast)}{run.id}/")
    first = SimilarityPair.objects.get(run=run, rank=1)
    for rank in range(2, 21):
        first.pk, first.rank = None, rank
        first.save()
    with CaptureQueriesContext(connection) as many:
        html = c.get(f"{BASE(cast)}{run.id}/").content.decode()
    assert html.count(', side by side"') == 20
    assert len(many.captured_queries) == len(few.captured_queries)


def test_a_comparison_that_takes_too_long_is_stopped_and_failed(cast, monkeypatch):
    submit(cast, "alice", ALICE)
    submit(cast, "bob", BOB)
    monkeypatch.setattr(runner, "TIMEOUT_S", 0.05)  # the child has not even started Python
    run = SimilarityRun.objects.create(assignment=cast.sum)
    runner.execute(run.id, isolated=True)
    run.refresh_from_db()
    assert run.state == "failed" and "took more than 0.05 s" in run.error
