"""The REST API of similarity runs (docs/similarity.md, docs/api.md): start a comparison of an
assignment's latest submissions (with a past years' archive and base code, as multipart
files), follow it, read its pairs most similar first and one pair's matching regions. The
supervisors of the course and administrators only: a student gets 403, anyone outside the
course 404."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpResponse
from ninja import Field, File, Router, Schema, Status
from ninja.files import UploadedFile

from assay.storer.similarity import services
from assay.storer.similarity.models import SimilarityPair, SimilarityRun

from .auth import USER_AUTH
from .errors import not_found
from .paging import PAGE_SIZE, PAGED, page_of
from .schemas import Id, errors
from .users import get_assignment, require_supervisor

router = Router(auth=USER_AUTH, tags=["similarity"])


class ProgressOut(Schema):
    stage: str = Field(description="`reading`, `tokenising` or `comparing` (empty: not started)")
    done: int
    total: int


class RunOut(Schema):
    id: int
    assignment: int
    state: str = Field(description="`queued`, `running`, `done` or `failed`")
    progress: ProgressOut
    requested_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    archive: bool = Field(description="past years' submissions were added")
    base_code: str | None = Field(description="the base code's file name, if any")
    submissions: int = Field(description="this year's latest submissions compared (when done)")
    archived: int = Field(description="past years' authors compared (when done)")
    candidates: int = Field(description="likely pairs compared in full (when done)")
    without_code: list[str] = Field(description="documents with no source file, set aside")
    options: dict[str, Any] = Field(description="the engine's parameters")
    error: str = Field(description="why it failed (empty otherwise)")


class SideOut(Schema):
    submission: int | None = Field(description="this year's submission (null: a past year's)")
    author: str = Field(description="its author's username, or the archive's folder name")
    archived: bool
    coverage: float = Field(description="the share of its tokens in matching regions")


class PairOut(Schema):
    rank: int = Field(description="1: the most similar")
    similarity: float = Field(description="2 · matched / (tokens of a + tokens of b), 0 to 1")
    matched: int = Field(description="tokens in matching regions")
    a: SideOut
    b: SideOut
    regions: int = Field(description="the number of matching regions")


class RegionOut(Schema):
    a_file: str
    a_first: int = Field(description="first line (1-based)")
    a_last: int = Field(description="last line (inclusive)")
    b_file: str
    b_first: int
    b_last: int
    tokens: int


class PairDetailOut(PairOut):
    matches: list[RegionOut] = Field(description="the matching regions, by their place in a")


def run_json(run: SimilarityRun) -> dict[str, Any]:
    return {
        "id": run.id, "assignment": run.assignment_id, "state": run.state,
        "progress": {"stage": run.stage, "done": run.done, "total": run.total},
        "requested_by": run.requested_by.username if run.requested_by else None,
        "created_at": run.created_at, "started_at": run.started_at,
        "finished_at": run.finished_at, "archive": bool(run.archive),
        "base_code": run.base_name or None, "submissions": run.submissions,
        "archived": run.archived, "candidates": run.candidates,
        "without_code": run.without_code, "options": run.options, "error": run.error,
    }  # fmt: skip


def _side(submission: Any, archived: str, coverage: float) -> dict[str, Any]:
    return {
        "submission": submission.id if submission else None,
        "author": submission.author.username if submission else archived,
        "archived": submission is None, "coverage": coverage,
    }  # fmt: skip


def pair_json(p: SimilarityPair) -> dict[str, Any]:
    return {
        "rank": p.rank, "similarity": p.similarity, "matched": p.matched,
        "a": _side(p.a_submission, p.a_archived, p.coverage_a),
        "b": _side(p.b_submission, p.b_archived, p.coverage_b), "regions": len(p.regions),
    }  # fmt: skip


def _run(run_id: int, user: Any) -> SimilarityRun:
    run = SimilarityRun.objects.select_related("requested_by").filter(pk=run_id).first()
    if run is None:
        raise not_found(f"similarity run {run_id}")
    a = get_assignment(run.assignment_id, user)  # 404 outside the course
    require_supervisor(user, a.course)  # 403 for its students
    return run


@router.post(
    "/assignments/{assignment_id}/similarity",
    response={202: RunOut, **errors(400, 401, 403, 404, 413)},
    summary="Start a comparison of the latest submissions for similarity (supervisors)",
)
def start_run(
    request,
    assignment_id: Id,
    archive: UploadedFile | None = File(None),
    base_code: UploadedFile | None = File(None),
):
    """Queues a comparison of the latest submission of each student (each team); optional
    multipart files: ``archive``, a zip of past years' submissions with a folder per author
    (compared with this year's, not with each other), and ``base_code``, a source file or a
    zip the students were given (what matches it counts for nobody). Follow it with
    ``GET /similarity/{id}``."""
    a = get_assignment(assignment_id, request.auth)
    require_supervisor(request.auth, a.course)
    run = services.start(
        a, request.auth,
        (archive.name or "archive.zip", archive.read()) if archive else None,
        (base_code.name or "base", base_code.read()) if base_code else None,
    )  # fmt: skip
    return Status(202, run_json(run))


@router.get(
    "/assignments/{assignment_id}/similarity",
    response={200: list[RunOut], **errors(400, 401, 403, 404)},
    summary="The assignment's similarity runs, newest first (supervisors)",
    openapi_extra=PAGED,
)
def list_runs(request, response: HttpResponse, assignment_id: Id, page: Id = 1):
    a = get_assignment(assignment_id, request.auth)
    require_supervisor(request.auth, a.course)
    runs = SimilarityRun.objects.filter(assignment=a).select_related("requested_by")
    return [run_json(r) for r in page_of(request, response, runs, page, PAGE_SIZE)]


@router.get(
    "/similarity/{run_id}",
    response={200: RunOut, **errors(400, 401, 403, 404)},
    summary="A similarity run: its state and progress (supervisors)",
)
def get_run(request, run_id: Id):
    return run_json(_run(run_id, request.auth))


@router.get(
    "/similarity/{run_id}/pairs",
    response={200: list[PairOut], **errors(400, 401, 403, 404)},
    summary="A run's pairs, most similar first (supervisors)",
    openapi_extra=PAGED,
)
def list_pairs(request, response: HttpResponse, run_id: Id, page: Id = 1):
    """In pages of 100 (``X-Total-Count``, ``Link``); empty until the run is done."""
    run = _run(run_id, request.auth)
    return [pair_json(p) for p in page_of(request, response, services.ranked_pairs(run), page, PAGE_SIZE)]  # fmt: skip


@router.get(
    "/similarity/{run_id}/pairs/{rank}",
    response={200: PairDetailOut, **errors(400, 401, 403, 404)},
    summary="One pair of a run with its matching regions (supervisors)",
)
def get_pair(request, run_id: Id, rank: Id):
    run = _run(run_id, request.auth)
    pair = services.ranked_pairs(run).filter(rank=rank).first()
    if pair is None:
        raise not_found(f"pair {rank} of similarity run {run_id}")
    return pair_json(pair) | {"matches": pair.regions}
