"""The fileserver and job endpoints testers use, each with its own credential. A tester can
claim, fetch and report only the jobs dispatched to it."""

from __future__ import annotations

from django.http import HttpResponse
from ninja import File, Router, Schema
from ninja.files import UploadedFile

from assay.storer.evaluation import services

from .auth import TESTER_AUTH

router = Router(auth=TESTER_AUTH, tags=["tester"])


class ClaimIn(Schema):
    attempt: int


class FailIn(Schema):
    attempt: int
    error: str
    retry: bool = False


class HeartbeatIn(Schema):
    jobs: list[int] = []
    runtimes: list[str] | None = None
    slots: int | None = None


@router.post("/heartbeat", summary="I am alive, running these jobs")
def heartbeat(request, body: HeartbeatIn):
    tester = request.auth
    if body.runtimes is not None or body.slots is not None:
        if body.runtimes is not None:
            tester.runtimes = body.runtimes
        if body.slots is not None:
            tester.slots = body.slots
        tester.save(update_fields=["runtimes", "slots"])
    services.heartbeat(tester, body.jobs)
    return {"ok": True}


@router.post("/jobs/{job_id}/claim", summary="Take a job announced by the broker")
def claim(request, job_id: int, body: ClaimIn):
    job = services.claim(job_id, body.attempt, request.auth)
    return {"job": job.id, "attempt": job.attempt, "kind": job.kind}


@router.get(
    "/jobs/{job_id}/bundle", summary="Download the job bundle (or, to validate, the package)"
)
def bundle(request, job_id: int, attempt: int):
    job = services.held_job(job_id, attempt, request.auth)
    data = services.job_bundle(job)
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="job-{job.id}-{job.attempt}.zip"'
    return response


@router.post("/jobs/{job_id}/result", summary="Upload the result archive; the storer ingests it")
def result(request, job_id: int, attempt: int, archive: UploadedFile = File(...)):
    job = services.held_job(job_id, attempt, request.auth)
    job = services.notify(job, request.auth, archive.read())
    return {"job": job.id, "state": job.state, "verdict": job.verdict or None}


@router.post("/jobs/{job_id}/fail", summary="Report that the job could not be evaluated")
def fail(request, job_id: int, body: FailIn):
    job = services.held_job(job_id, body.attempt, request.auth)
    job = services.report_failure(job, request.auth, body.error, retry=body.retry)
    return {"job": job.id, "state": job.state, "attempt": job.attempt}
