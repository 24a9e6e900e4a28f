"""The REST API of similarity runs (issue 13): the staff start a comparison (with a past
years' archive and base code as multipart files), follow it, read its pairs most similar first
and one pair's regions; the same services as the pages.

- Teacher supervises prog1 and may do all of it; Admin too.
- Alice and Bob are students of prog1: 403 on everything (they may see the assignment, not
  compare it), and nothing is queued for them.
- Tina supervises prog2 and Carol studies there: prog1's assignment and runs are not found.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from assay.storer.evaluation import services as evaluation
from assay.storer.similarity import runner
from assay.storer.similarity.models import SimilarityRun

from .similarity_cases import ALICE, BOB, zipped

ROLES = [(None, 401), ("alice", 403), ("carol", 404), ("tina", 404), ("teacher", 200), ("admin", 200)]  # fmt: skip


@pytest.fixture
def inline(monkeypatch):
    monkeypatch.setattr(runner, "launch", lambda run_id: runner.execute(run_id, isolated=False))


@pytest.fixture
def copied(cast):
    """Alice's solution and Bob's disguised copy."""
    return [
        evaluation.create_submission(cast.sum, cast.users[w], cast.users[w], {"sum.c": code})
        for w, code in (("alice", ALICE), ("bob", BOB))
    ]


def start(cast, who, django_capture_on_commit_callbacks, **files):
    with django_capture_on_commit_callbacks(execute=True):
        return cast.api(who).post(f"/assignments/{cast.sum.id}/similarity", data=files)


@pytest.mark.parametrize(("who", "status"), ROLES)
def test_only_the_staff_start_a_run_and_others_queue_nothing(
    cast, who, status, copied, inline, django_capture_on_commit_callbacks
):
    r = start(cast, who, django_capture_on_commit_callbacks)
    assert r.status_code == (202 if status == 200 else status), r.content
    assert SimilarityRun.objects.count() == (1 if status == 200 else 0)
    if status != 200:
        assert set(r.json()["error"]) == {"code", "message", "field"}


@pytest.mark.parametrize(("who", "status"), ROLES)
def test_only_the_staff_read_a_run_its_pairs_and_a_pair(
    cast, who, status, copied, inline, django_capture_on_commit_callbacks
):
    run = start(cast, "teacher", django_capture_on_commit_callbacks).json()
    api = cast.api(who)
    for path in (
        f"/assignments/{cast.sum.id}/similarity",
        f"/similarity/{run['id']}",
        f"/similarity/{run['id']}/pairs",
        f"/similarity/{run['id']}/pairs/1",
    ):
        r = api.get(path)
        assert r.status_code == status, (path, r.content)
        if status != 200:
            assert "pairs" not in r.content.decode() or r.json()["error"]


def test_a_run_goes_from_queued_to_done_with_the_copy_ranked_first(
    cast, copied, inline, django_capture_on_commit_callbacks
):
    alice, bob = copied
    api = cast.api("teacher")
    started = start(cast, "teacher", django_capture_on_commit_callbacks).json()
    assert started["state"] == "queued" and started["requested_by"] == "teacher"
    run = api.get(f"/similarity/{started['id']}").json()
    assert run["state"] == "done" and run["submissions"] == 2 and run["candidates"] == 1
    assert run["progress"]["stage"] == "comparing"
    assert run["progress"]["done"] == run["progress"]["total"] == 1
    assert run["options"]["min_match"] >= 10 and run["finished_at"]
    r = api.get(f"/similarity/{run['id']}/pairs")
    assert r["X-Total-Count"] == "1"
    (pair,) = r.json()
    assert pair["rank"] == 1 and pair["similarity"] >= 0.8 and pair["regions"] >= 1
    assert {pair["a"]["submission"], pair["b"]["submission"]} == {alice.id, bob.id}
    assert {pair["a"]["author"], pair["b"]["author"]} == {"alice", "bob"}
    detail = api.get(f"/similarity/{run['id']}/pairs/1").json()
    assert len(detail["matches"]) == pair["regions"]
    region = detail["matches"][0]
    assert set(region) == {"a_file", "a_first", "a_last", "b_file", "b_first", "b_last", "tokens"}
    assert region["a_file"] == region["b_file"] == "sum.c" and region["a_first"] >= 1
    assert api.get(f"/similarity/{run['id']}/pairs/2").status_code == 404
    listed = api.get(f"/assignments/{cast.sum.id}/similarity").json()
    assert [x["id"] for x in listed] == [run["id"]]


def test_a_past_years_archive_and_base_code_go_up_as_multipart_files(
    cast, copied, inline, django_capture_on_commit_callbacks
):
    archive = SimpleUploadedFile("old.zip", zipped({"2023/zoe/main.c": ALICE}))
    base = SimpleUploadedFile("base.c", b"#include <stdio.h>\n")
    r = start(cast, "teacher", django_capture_on_commit_callbacks, archive=archive, base_code=base)
    assert r.status_code == 202, r.content
    assert r.json()["archive"] is True and r.json()["base_code"] == "base.c"
    run = cast.api("teacher").get(f"/similarity/{r.json()['id']}").json()
    assert (run["state"], run["submissions"], run["archived"]) == ("done", 2, 1)
    pairs = cast.api("teacher").get(f"/similarity/{run['id']}/pairs").json()
    archived = [p for p in pairs if p["b"]["archived"]]
    assert {p["b"]["author"] for p in archived} == {"zoe"}
    assert all(p["a"]["submission"] for p in pairs)  # this year's on the left


def test_a_hostile_archive_is_a_400_naming_the_field(cast, copied):
    bomb = SimpleUploadedFile("x.zip", zipped({"/etc/passwd": b"x"}))
    r = cast.api("teacher").post(f"/assignments/{cast.sum.id}/similarity", data={"archive": bomb})
    assert r.status_code == 400 and r.json()["error"]["field"] == "archive"
    assert "absolute" in r.json()["error"]["message"]
    assert not SimilarityRun.objects.exists()


def test_an_unknown_run_is_404(cast):
    assert cast.api("teacher").get("/similarity/999").status_code == 404
    assert cast.api("teacher").get("/similarity/0").status_code == 400


def test_the_endpoints_are_in_the_openapi_schema(cast):
    paths = cast.api("teacher").get("/openapi.json").json()["paths"]
    for path in (
        "/api/assignments/{assignment_id}/similarity",
        "/api/similarity/{run_id}",
        "/api/similarity/{run_id}/pairs",
        "/api/similarity/{run_id}/pairs/{rank}",
    ):
        assert path in paths
