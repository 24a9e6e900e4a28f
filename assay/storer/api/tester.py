"""The fileserver and job endpoints testers use, each with its own credential. A tester can
claim, fetch and report only the jobs dispatched to it."""

from __future__ import annotations

from typing import Annotated

from django.http import HttpResponse
from ninja import Field, File, Router, Schema
from ninja.files import UploadedFile

from assay import broker
from assay.storer.evaluation import progress, services
from assay.storer.evaluation.models import Job

from .auth import TESTER_AUTH
from .schemas import BodyCount, BodyId, Count, Id, errors

router = Router(auth=TESTER_AUTH, tags=["tester"])


class ClaimIn(Schema):
    attempt: BodyCount
    bundle: bool = Field(
        False, strict=True, description="answer with the job's bundle (a zip), as GET …/bundle"
    )


class FailIn(Schema):
    attempt: BodyCount
    error: str  # stored cut to 10000 characters
    retry: bool = Field(False, strict=True)


class ProgressIn(Schema):
    job: BodyId
    attempt: BodyCount
    tests_done: int = Field(..., ge=0, le=1_000_000, strict=True)
    tests_total: int = Field(..., ge=0, le=1_000_000, strict=True)


class HeartbeatIn(Schema):
    jobs: list[BodyId] = Field([], max_length=10_000)
    runtimes: list[str] | None = Field(None, max_length=1000)
    slots: int | None = Field(None, ge=1, le=10_000, strict=True, description="jobs at once")
    versions: (
        dict[Annotated[str, Field(max_length=30)], Annotated[str, Field(max_length=200)]] | None
    ) = Field(None, max_length=1000, description="per runtime, what its version command printed")
    images: list[Annotated[str, Field(max_length=100)]] | None = Field(
        None, max_length=1000, description="the course images offered, as name@version"
    )
    image_runtimes: (
        dict[Annotated[str, Field(max_length=100)], list[Annotated[str, Field(max_length=30)]]]
        | None
    ) = Field(
        None, max_length=1000, description="per offered image (name@version), the runtimes "
        "that work inside it",
    )  # fmt: skip
    progress: list[ProgressIn] = Field(
        [], max_length=10_000, description="running jobs' progress: tests done of tests in all"
    )


@router.post(
    "/heartbeat",
    response={200: dict, **errors(400, 401)},
    summary="I am alive, running these jobs",
)
def heartbeat(request, body: HeartbeatIn):
    tester = request.auth
    said = (body.runtimes, body.slots, body.versions, body.images, body.image_runtimes)
    if any(x is not None for x in said):
        if body.runtimes is not None:
            tester.runtimes = body.runtimes
        if body.images is not None:
            tester.images = body.images
        if body.image_runtimes is not None:
            tester.image_runtimes = body.image_runtimes
        if body.slots is not None:
            tester.slots = body.slots
        if body.versions is not None:
            tester.runtime_versions = body.versions
        tester.save(
            update_fields=["runtimes", "slots", "runtime_versions", "images", "image_runtimes"]
        )
    recorded = {
        p.job for p in body.progress
        if progress.record(tester, p.job, p.attempt, p.tests_done, p.tests_total)
    }  # fmt: skip
    # a job whose progress was recorded has its heartbeat_at already
    services.heartbeat(tester, [j for j in body.jobs if j not in recorded])
    return {"ok": True}


@router.post(
    "/jobs/{job_id}/claim",
    response={200: dict, **errors(400, 401, 409)},
    summary="Take a job announced by the broker",
)
def claim(request, job_id: Id, body: ClaimIn):
    """With ``bundle``, the answer is the bundle itself (a tester's one request per job before
    its result), its kind in the ``X-Assay-Job-Kind`` header."""
    job = services.claim(job_id, body.attempt, request.auth)
    if body.bundle:
        response = _bundle_response(services.held_job(job.id, job.attempt, request.auth))
        response["X-Assay-Job-Kind"] = job.kind
        image = broker.parse_queue(job.queue)[2]
        if image:  # the course image the job was routed by (a package may not name it)
            response["X-Assay-Image"] = image
        return response
    return {"job": job.id, "attempt": job.attempt, "kind": job.kind}


@router.get(
    "/jobs/{job_id}/bundle",
    response={200: None, **errors(400, 401, 403, 404, 409)},
    openapi_extra={
        "responses": {
            200: {
                "description": "the job bundle, a zip",
                "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
    summary="Download the job bundle (or, to validate, the package)",
)
def bundle(request, job_id: Id, attempt: Count):
    return _bundle_response(services.held_job(job_id, attempt, request.auth))


def _bundle_response(job: Job) -> HttpResponse:
    response = HttpResponse(services.job_bundle(job), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="job-{job.id}-{job.attempt}.zip"'
    return response


@router.post(
    "/jobs/{job_id}/result",
    response={200: dict, **errors(400, 401, 403, 404, 409, 413)},
    summary="Upload the result archive; the storer ingests it",
)
def result(request, job_id: Id, attempt: Count, archive: UploadedFile = File(...)):
    job = services.held_job(job_id, attempt, request.auth)
    job = services.notify(job, request.auth, archive.read())
    return {"job": job.id, "state": job.state, "verdict": job.verdict or None}


@router.post(
    "/jobs/{job_id}/fail",
    response={200: dict, **errors(400, 401, 403, 404, 409)},
    summary="Report that the job could not be evaluated",
)
def fail(request, job_id: Id, body: FailIn):
    job = services.held_job(job_id, body.attempt, request.auth)
    job = services.report_failure(job, request.auth, body.error, retry=body.retry)
    return {"job": job.id, "state": job.state, "attempt": job.attempt}
