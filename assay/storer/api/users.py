"""The REST API for people: courses, assignments, package versions, submissions, results."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpResponse
from django.utils import timezone
from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from assay.storer.courses import rules
from assay.storer.courses.models import Assignment, AssignmentVersion, Course, Membership
from assay.storer.courses.permissions import can_supervise, can_view, is_admin, visible_courses
from assay.storer.evaluation import changes, lists, progress, queries, services
from assay.storer.evaluation.models import Job, Submission, Tester
from assay.storer.evaluation.visibility import test_view
from assay.storer.groups.services import may_read, shared_or_own
from assay.storer.languages import submission_rules

from .auth import USER_AUTH
from .errors import ApiError, forbidden, not_found
from .paging import PAGE_SIZE, PAGED, page_of
from .schemas import Count, Id, errors

router = Router(auth=USER_AUTH)
MAX_LIMIT = 1000  # the most rows a page of submissions or jobs may have (`limit`)


# -- serialisation --------------------------------------------------------------------------


def course_json(c: Course, user: Any, roles: dict[int, str] | None = None) -> dict[str, Any]:
    """The course and the user's role in it (``roles``: course id -> role, read already)."""
    if is_admin(user):
        role: str | None = "administrator"
    elif roles is not None:
        role = roles.get(c.id)
    else:
        role = Membership.objects.filter(course=c, user=user).values_list("role", flat=True).first()
    return {"slug": c.slug, "title": c.title, "role": role, "time_zone": c.time_zone}


def assignment_json(a: Assignment) -> dict[str, Any]:
    v = a.current_version
    return {
        "id": a.id,
        "course": a.course.slug,
        "slug": a.slug,
        "title": a.title,
        "description": a.description,
        "release_at": a.release_at,
        "deadline": a.deadline,
        "second_deadline": a.second_deadline,
        "second_factor": a.second_factor,
        "max_submissions": a.max_submissions,
        "counts": a.counts,
        "archived": a.archived,
        "time_zone": a.course.time_zone,
        "points": a.points,
        "evaluation": a.evaluation,
        "test_details": a.test_details,
        "published": a.published,
        "version": v.number if v else None,
        "limits": v.meta.get("limits") if v else None,
        "runtime": v.meta.get("runtime") if v else None,
        "required_files": v.meta.get("required_files", []) if v else [],
        "tests": len(v.meta.get("tests", [])) if v else 0,
        # the languages (compiler, build command), files and upload limits (issue 11, part 6)
        **submission_rules(v.meta if v else None),
    }


def version_docs(versions: Sequence[AssignmentVersion]) -> list[dict[str, Any]]:
    """``version_json`` of each, with their validation jobs read in one query."""
    latest: dict[int, Job] = {}
    for job in Job.objects.filter(
        kind=Job.VALIDATION, version_id__in=[v.id for v in versions]
    ).order_by("id"):
        latest[job.version_id] = job
    return [version_json(v, latest.get(v.id)) for v in versions]


def version_json(v: AssignmentVersion, job: Job | None | bool = True) -> dict[str, Any]:
    """The version and its latest validation job (``job``: read already; True: read it)."""
    if job is True:
        job = v.jobs.filter(kind=Job.VALIDATION).order_by("-id").first()
    assert job is None or isinstance(job, Job)
    return {
        "number": v.number,
        "format": v.format,
        "state": v.state,
        "title": v.meta.get("title"),
        "tests": len(v.meta.get("tests", [])),
        "solutions": v.meta.get("solutions", []),
        "validation": v.validation,
        "validation_job": {"id": job.id, "state": job.state, "error": job.error} if job else None,
        "created_at": v.created_at,
    }


def submission_json(s: Submission, user: Any) -> dict[str, Any]:
    """A submission as ``user`` may see it: a student sees hidden tests' verdicts only."""
    return submission_doc(s, user)[0]


def submission_docs(submissions: Sequence[Submission], user: Any) -> list[dict[str, Any]]:
    """``submission_json`` of each, at a fixed number of queries however many there are."""
    ids = [s.id for s in submissions]
    jobs = lists.latest_jobs(ids)
    tests = lists.test_results([j.id for j in jobs.values() if j.state == Job.DONE])
    found = lists.files(ids)
    for s in submissions:  # files_of reads them from there
        _keep_files((s.id, str(s.created_at)), found.get(s.id, []))
    late = [s for s in submissions if not rules.in_time(s.assignment, s.created_at)]
    extended = rules.extensions({s.assignment_id for s in late}, {s.author_id for s in late})
    docs = []
    for s in submissions:
        doc = submission_doc(s, user, (jobs.get(s.id), tests))[0]
        _lateness(doc, s, extended.get((s.author_id, s.assignment_id)))
        docs.append(doc)
    return docs


def _lateness(doc: dict[str, Any], s: Submission, extension: Any = True) -> None:
    """``late``: made after the author's (extended) first deadline; ``late_factor``: what its
    points are multiplied by in the grade (courses/rules.py)."""
    doc["late"], doc["late_factor"] = rules.submission_lateness(
        s.assignment, s.author_id, s.created_at, extension
    )


# a submission's latest job and tests by job id, read for a list of submissions at once
Loaded = tuple[Job | None, dict[int, list[Any]]]


def submission_doc(
    s: Submission, user: Any, loaded: Loaded | None = None
) -> tuple[dict[str, Any], Job | None]:
    """``submission_json``, and the latest job it shows (``loaded``: read already)."""
    # the latest job, with its version's limits (not the whole of the version's meta) and the
    # jobs ahead of it in its queue: one query
    job = queries.latest_job(s.id) if loaded is None else loaded[0]
    doc: dict[str, Any] = {
        "id": s.id,
        "assignment": s.assignment_id,
        "course": s.assignment.course.slug,
        "author": s.author.username,
        "submitted_by": s.submitted_by.username if s.submitted_by else None,
        "cross_submitted": s.cross_submitted,
        "created_at": s.created_at,
        "late": False,  # _lateness below
        "late_factor": 1.0,
        "runtime": s.runtime,
        "files": files_of(s),
        "status": job.state if job else "not_evaluated",
        "progress": progress.shown(job) if job else None,  # while running: tests done of all
        "job": job.id if job else None,
        "attempt": job.attempt if job else None,
        "queue_position": (job.ahead or 0) + 1 if job and job.state == Job.QUEUED else None,  # type: ignore[attr-defined]
        "estimated_wait_s": None,
        "no_tester": False,
        "verdict": job.verdict or None if job else None,
        "points": job.points if job else None,
        "max_points": job.max_points if job else s.assignment.points,
        "score": job.score if job else None,
        "limits": job.limits if job else None,  # type: ignore[attr-defined]
        "tests": [],
    }
    if loaded is None:  # a list's documents have theirs from submission_docs
        _lateness(doc, s)
    if job is None:
        return doc, None
    if job.state == Job.QUEUED:
        doc["estimated_wait_s"] = queries.estimated_wait_s(job, doc["queue_position"])
        doc["no_tester"] = queries.no_tester_for(job.queue)
    # what only staff see is in a final job's document: a waiting one asks nothing more
    supervisor = job.state in Job.FINAL and can_supervise(user, s.assignment.course)
    if job.state == Job.FAILED:
        # an infrastructure failure is not the student's: they see that it failed, staff see why
        doc["error"] = (
            job.error if supervisor else "the evaluation failed; the administrators were notified"
        )
    if job.state == Job.DONE:
        doc["build"] = {
            k: job.build.get(k)
            for k in ("status", "message", "exit_code", "cpu_time_s", "wall_time_s")
            if k in job.build
        }
        if job.build.get("status") not in (None, "OK"):
            out = services.read_result_file(job, "build_stderr.vmr") or b""
            doc["build"]["stderr"] = out.decode(errors="replace")
        doc["timings"] = step_timings(job)
        doc["groups"] = job.groups  # name, scoring, points, max_points
        tests = queries.test_results(job.id) if loaded is None else loaded[1].get(job.id, [])
        doc["tests"] = [test_view(t, s.assignment, supervisor) for t in tests]
    return doc, job


FILES_KEPT = 4096  # submissions whose file lists this process keeps
_files: OrderedDict[tuple[int, str], list[dict[str, Any]]] = OrderedDict()
_files_lock = threading.Lock()


def files_of(s: Submission) -> list[dict[str, Any]]:
    """A submission's files (name and size): they never change once it is stored, so a
    student's polls read them once."""
    key = (s.id, str(s.created_at))
    with _files_lock:
        found = _files.get(key)
    if found is None:
        found = [{"name": f.name, "size": f.size} for f in s.files.order_by("id")]
        _keep_files(key, found)
    return [dict(f) for f in found]


def _keep_files(key: tuple[int, str], files: list[dict[str, Any]]) -> None:
    with _files_lock:
        _files[key] = files
        while len(_files) > FILES_KEPT:
            _files.popitem(last=False)


def step_timings(job: Job) -> dict[str, float | None]:
    def gap(a: dt.datetime | None, b: dt.datetime | None) -> float | None:
        return round((b - a).total_seconds(), 4) if a and b else None

    return {
        "queue_s": gap(job.queued_at, job.claimed_at),
        "bundle_s": gap(job.claimed_at, job.bundle_sent_at),
        "evaluation_s": gap(job.bundle_sent_at, job.result_received_at),
        "ingestion_s": gap(job.result_received_at, job.finished_at),
        "total_s": gap(job.created_at, job.finished_at),
        **{f"tester_{k}": v for k, v in (job.steps or {}).items()},
    }


# -- lookups with permission checks ---------------------------------------------------------


def get_course(slug: str, user: Any) -> Course:
    if "\x00" in slug:  # PostgreSQL cannot even compare it
        raise not_found("course")
    course = Course.objects.filter(slug=slug).first()
    if course is None or not can_view(user, course):
        raise not_found(f"course {slug!r}")  # no difference between absent and not yours
    return course


def get_assignment(assignment_id: int, user: Any) -> Assignment:
    a = queries.assignment(assignment_id)
    if (
        a is None
        or not can_view(user, a.course)
        or (not a.released() and not can_supervise(user, a.course))  # unpublished, unreleased
    ):
        raise not_found(f"assignment {assignment_id}")
    return a


def get_submission(submission_id: int, user: Any) -> Submission:
    s = queries.submission(submission_id)
    if s is None or not may_read(user, s):
        raise not_found(f"submission {submission_id}")
    return s


def require_supervisor(user: Any, course: Course) -> None:
    if not can_supervise(user, course):
        raise forbidden(f"only supervisors of {course.slug} and administrators may do this")


# -- endpoints ------------------------------------------------------------------------------


@router.get("/me", response={200: dict, **errors(401)}, summary="The authenticated user")
def me(request):
    u = request.auth
    return {"username": u.username, "email": u.email, "administrator": is_admin(u)}


@router.get(
    "/courses",
    response={200: list[dict], **errors(400, 401)},
    openapi_extra=PAGED,
    summary="Courses the user belongs to (all, for administrators)",
)
def list_courses(request, response: HttpResponse, page: Id = 1):
    """By slug, in pages of 100 (``X-Total-Count``, ``Link``)."""
    shown = page_of(
        request, response, visible_courses(request.auth).order_by("slug"), page, PAGE_SIZE
    )
    roles = dict(
        Membership.objects.filter(user=request.auth, course__in=shown).values_list(
            "course_id", "role"
        )
    )
    return [course_json(c, request.auth, roles) for c in shown]


@router.get("/courses/{slug}", response={200: dict, **errors(401, 404)}, summary="One course")
def course_detail(request, slug: str):
    return course_json(get_course(slug, request.auth), request.auth)


@router.get(
    "/courses/{slug}/assignments",
    response={200: list[dict], **errors(400, 401, 404)},
    openapi_extra=PAGED,
    summary="A course's assignments (published ones, for students)",
)
def list_assignments(request, response: HttpResponse, slug: str, page: Id = 1):
    """By id (the order they were made in), in pages of 100 (``X-Total-Count``, ``Link``)."""
    course = get_course(slug, request.auth)
    qs = course.assignments.select_related("course", "current_version").order_by("id")
    if not can_supervise(request.auth, course):  # students: released, not archived
        qs = qs.filter(current_version__isnull=False, archived=False).exclude(
            release_at__gt=timezone.now()
        )
    return [assignment_json(a) for a in page_of(request, response, qs, page, PAGE_SIZE)]


@router.post(
    "/courses/{slug}/assignments",
    response={201: dict, **errors(400, 401, 403, 404, 409, 413)},
    summary="Create an assignment from a package",
)
def create_assignment(
    request,
    slug: str,
    slug_: str = Form(..., alias="slug", pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=50),
    publish: Form[bool] = True,
    package: UploadedFile = File(...),
):
    """Upload a package (zip, native or Kattis). Its structure is checked now; its reference
    solutions run on a tester, and the assignment is published when they get their verdicts
    (``publish=false`` waits for an explicit publish)."""
    course = get_course(slug, request.auth)
    require_supervisor(request.auth, course)
    if course.assignments.filter(slug=slug_).exists():
        raise ApiError(409, "exists", f"assignment {slug_!r} already exists in {slug}", "slug")
    data = package.read()

    with transaction.atomic():
        a = Assignment.objects.create(course=course, slug=slug_, title=slug_)
        version = services.add_version(a, data, request.auth, publish_when_valid=publish)
    a.refresh_from_db()
    return Status(
        201, {**assignment_json(a), "version": version.number, "validation": version_json(version)}
    )


@router.get(
    "/assignments/{assignment_id}",
    response={200: dict, **errors(400, 401, 404)},
    summary="One assignment",
)
def assignment_detail(request, assignment_id: Id):
    """With ``my_deadlines``: the requester's own deadlines (an extension's, if they have one)."""
    a = get_assignment(assignment_id, request.auth)
    due = rules.student_deadlines(a, request.auth.id)
    mine = {"deadline": due.first, "second_deadline": due.second, "extended": due.extended}
    return assignment_json(a) | {"my_deadlines": mine}


class AssignmentPatch(Schema):
    """Only the fields sent change; ``null`` clears a date or the maximum of submissions."""

    release_at: dt.datetime | None = None
    deadline: dt.datetime | None = None
    # strict: `false` or "3" is not a number of points (JSON has the types to say it)
    clear_deadline: bool = Field(False, strict=True)
    second_deadline: dt.datetime | None = None
    second_factor: float | None = Field(None, allow_inf_nan=False, strict=True)
    max_submissions: int | None = Field(None, ge=1, le=1_000_000, strict=True)
    counts: Literal["last", "best"] | None = None
    archived: bool | None = Field(None, strict=True)
    points: float | None = Field(None, ge=0, le=1e9, allow_inf_nan=False, strict=True)
    evaluation: Literal["immediate", "on_demand"] | None = None
    test_details: Literal["verdicts", "visible", "all"] | None = None
    title: str | None = Field(None, min_length=1, max_length=200)


NULLABLE = ("release_at", "deadline", "second_deadline", "max_submissions")


@router.patch(
    "/assignments/{assignment_id}",
    response={200: dict, **errors(400, 401, 403, 404)},
    summary="Change deadline, points, evaluation mode, visibility",
)
def update_assignment(request, assignment_id: Id, patch: AssignmentPatch):
    """The settings and rules (docs/deadlines.md): release date, deadlines, late factor,
    maximum of submissions, which submission counts, archived. Checked together: a second
    deadline after the first, a factor in [0, 1]; a refusal names the field."""
    a = get_assignment(assignment_id, request.auth)
    require_supervisor(request.auth, a.course)
    return patch_assignment(a, patch)


def patch_assignment(a: Assignment, patch: AssignmentPatch) -> dict[str, Any]:
    sent = patch.model_fields_set
    changed = [
        key
        for key in AssignmentPatch.model_fields
        if key != "clear_deadline"
        and (getattr(patch, key) is not None or (key in NULLABLE and key in sent))
    ]
    for key in changed:
        setattr(a, key, getattr(patch, key))
    a.set_by_staff(changed)  # no publish overwrites them now
    if patch.clear_deadline:
        a.deadline = None
    try:
        a.clean()
    except DjangoValidationError as e:
        field, messages = next(iter(e.message_dict.items()))
        raise ApiError(400, "invalid", f"{field}: {messages[0]}", field) from e
    a.save()
    a.refresh_from_db(fields=[*NULLABLE])  # the times as stored (UTC), as GET gives them
    return assignment_json(a)


@router.get(
    "/assignments/{assignment_id}/versions",
    response={200: list[dict], **errors(400, 401, 403, 404)},
    openapi_extra=PAGED,
    summary="Package versions with their validation",
)
def list_versions(request, response: HttpResponse, assignment_id: Id, page: Id = 1):
    """By number, in pages of 100 (``X-Total-Count``, ``Link``)."""
    a = get_assignment(assignment_id, request.auth)
    require_supervisor(request.auth, a.course)
    return version_docs(page_of(request, response, a.versions.order_by("number"), page, PAGE_SIZE))


@router.post(
    "/assignments/{assignment_id}/versions",
    response={201: dict, **errors(400, 401, 403, 404, 413)},
    summary="Upload a new package version",
)
def upload_version(
    request, assignment_id: Id, publish: Form[bool] = True, package: UploadedFile = File(...)
):
    a = get_assignment(assignment_id, request.auth)
    require_supervisor(request.auth, a.course)
    version = services.add_version(a, package.read(), request.auth, publish_when_valid=publish)
    return Status(201, version_json(version))


@router.post(
    "/assignments/{assignment_id}/versions/{number}/publish",
    response={200: dict, **errors(400, 401, 403, 404, 409)},
    summary="Publish a validated version",
)
def publish_version(request, assignment_id: Id, number: Id):
    a = get_assignment(assignment_id, request.auth)
    require_supervisor(request.auth, a.course)
    v = a.versions.filter(number=number).first()
    if v is None:
        raise not_found(f"version {number}")
    services.publish(v)
    return version_json(v)


@router.post(
    "/assignments/{assignment_id}/submissions",
    response={201: dict, **errors(400, 401, 403, 404, 413)},
    summary="Submit files",
)
def submit(
    request,
    assignment_id: Id,
    files: list[UploadedFile] = File(None),
    archive: UploadedFile = File(None),
    for_user: Form[str | None] = None,
    language: Form[str | None] = None,
):
    """Upload several files (``files``), or one zip (``archive``; when all its files sit in one
    folder, that folder is the root). A supervisor or an administrator may submit for a student
    of the course (``for_user``). ``language`` names the runtime (``cpp``, ``python3``, a Kattis
    code such as ``C++``); without it the file extensions tell."""
    user = request.auth
    a = get_assignment(assignment_id, user)
    author = services.submission_author(a, user, for_user)
    if files and archive:
        raise ApiError(400, "invalid", "send either files or one archive, not both", "archive")
    if archive:
        content = services.files_from_zip(archive.read())
    else:
        content = services.files_from_uploads(files or [])
    submission = services.create_submission(a, author, user, content, language)
    # the files as stored (by name): the submission's polls need not read them
    stored = [{"name": n, "size": len(d)} for n, d in sorted(content.items())]
    _keep_files((submission.id, str(submission.created_at)), stored)
    return Status(201, submission_json(submission, user))


@router.get(
    "/submissions",
    response={200: list[dict], **errors(400, 401)},
    openapi_extra=PAGED,
    summary="Submissions: one's own, or a course's for its supervisors",
)
def list_submissions(
    request,
    response: HttpResponse,
    assignment: Id | None = None,
    author: str | None = None,
    limit: Count = 100,
    page: Id | None = None,
):
    """Newest first, ``limit`` (at most 1000) a page. With ``page`` (1, 2, …) the answer says
    the total in ``X-Total-Count`` and links the next page in ``Link`` (rel="next"); without
    it, the first ``limit`` rows, as before."""
    user = request.auth
    qs = Submission.objects.select_related("assignment__course", "author", "submitted_by")
    if not is_admin(user):
        supervised = Course.objects.filter(
            memberships__user=user, memberships__role=Membership.SUPERVISOR
        )
        qs = qs.filter(shared_or_own(user.pk) | Q(assignment__course__in=supervised))
    if assignment is not None:
        qs = qs.filter(assignment_id=assignment)
    if author:
        qs = qs.filter(author__username=author)
    size = max(1, min(limit, MAX_LIMIT))
    qs = qs.order_by("-id")
    if page is None:
        return submission_docs(list(qs[:size]), user)
    return submission_docs(page_of(request, response, qs, page, size), user)


MAX_WAIT_S = 30.0
# long polling: seconds to wait for a change from `since` (the `version` the client has seen)
WaitSeconds = Annotated[float, Field(ge=0, le=MAX_WAIT_S)]
Version = Annotated[str, Field(max_length=64)]


@router.get(
    "/submissions/{submission_id}",
    response={200: dict, **errors(400, 401, 404)},
    summary="A submission's status and results",
)
def submission_detail(
    request,
    submission_id: Id,
    wait: WaitSeconds = 0,
    since: Version = "",
):
    """With ``wait`` and ``since``, the answer comes as soon as the submission's document
    differs from the one with that ``version`` (queued -> running -> done, a test done), or after
    ``wait`` seconds unchanged: a client sees the result the moment it is stored, without
    polling. The queue moving ahead of a queued submission is answered once the request has
    waited QUEUE_MOVES_S (5 s)."""
    user = request.auth
    s = get_submission(submission_id, user)
    return follow(s.id, since, wait, lambda: versioned(submission_json(s, user)))


def follow(
    submission_id: int, since: str, wait: float, read: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """``read()`` (a document with its ``version``) now, or, when it is still the version
    ``since``, once it changes (or after ``wait`` seconds): the long polling of a submission,
    for the API and the web page."""
    doc = read()
    if not (wait and since) or _significant(doc["version"]) != _significant(since):
        return doc
    started = time.monotonic()
    deadline = started + wait
    with changes.watching(submission_id) as event:
        if event is None:  # every waiting slot is taken: answer now
            return doc
        seen = changes.snapshot().get(submission_id)
        minor_at: float | None = None  # when a minor change (below) woke it, not read since
        while (left := deadline - time.monotonic()) > 0:
            if minor_at is not None:
                left = min(left, max(0.0, minor_at + changes.MINOR_S - time.monotonic()))
            woken = event.wait(min(left, changes.RECHECK_S))
            major = changes.take(event)
            now = changes.snapshot().get(submission_id)
            waited = time.monotonic() - started
            # read again when this submission's job changed, not for every job of the others:
            # its end (or a new attempt) at once; the job claimed or its progress (minor: the
            # page says "running, test 3 of 4") within MINOR_S, at once if its end follows; the
            # queue moving alone once the request has waited QUEUE_MOVES_S
            if _state(now) != _state(seen):
                if _minor_move(seen, now):
                    woken = True
                else:
                    major = True
            if woken and not major and minor_at is None:
                minor_at = time.monotonic()
            queue_moves_s = changes.QUEUE_MOVES_S
            if (
                major
                or (minor_at is not None and time.monotonic() - minor_at >= changes.MINOR_S)
                or (now != seen and waited >= queue_moves_s)
            ):
                seen, minor_at = now, None
                doc = read()
                if _significant(doc["version"]) != _significant(since):
                    return doc
            if doc["version"] != since and waited >= queue_moves_s:
                return doc
    return doc


def _minor_move(seen: changes.Entry | None, now: changes.Entry | None) -> bool:
    """The same job and attempt, taken by a tester since (queued -> running)."""
    return seen is not None and now is not None and seen[0] == now[0] and seen[2] == now[2]


def _state(entry: changes.Entry | None) -> tuple[Any, ...] | None:
    """A snapshot entry without its queue position: (job, state, attempt)."""
    return entry[:3] if entry else None


# a document's fields that change as the queue moves; the rest of it is its significant part
QUEUE_FIELDS = ("queue_position", "estimated_wait_s")


def versioned(doc: dict[str, Any]) -> dict[str, Any]:
    """The document with ``version``: a digest of its significant part (12 hex digits), then of
    all of it (12 more)."""

    def digest(d: dict[str, Any]) -> str:
        text = json.dumps(d, sort_keys=True, default=str).encode()
        return hashlib.blake2b(text, digest_size=6).hexdigest()

    significant = {k: v for k, v in doc.items() if k not in QUEUE_FIELDS}
    doc["version"] = digest(significant) + digest(doc)
    return doc


def _significant(version: str) -> str:
    return version[:12]


@router.post(
    "/submissions/{submission_id}/evaluate",
    response={202: dict, **errors(400, 401, 403, 404, 409)},
    summary="Evaluate an on-demand submission",
)
def evaluate(request, submission_id: Id):
    s = get_submission(submission_id, request.auth)
    services.evaluate_on_demand(s, request.auth)
    return Status(202, submission_json(s, request.auth))


@router.post(
    "/submissions/{submission_id}/reevaluate",
    response={202: dict, **errors(400, 401, 403, 404)},
    summary="Re-evaluate (supervisors)",
)
def reevaluate(request, submission_id: Id):
    s = get_submission(submission_id, request.auth)
    require_supervisor(request.auth, s.assignment.course)

    with transaction.atomic():
        services.start_evaluation(s, request.auth)
    return Status(202, submission_json(s, request.auth))


# -- administration -------------------------------------------------------------------------


def require_admin(user: Any) -> None:
    if not is_admin(user):
        raise forbidden("only administrators may do this")


@router.get(
    "/jobs",
    response={200: list[dict], **errors(400, 401, 403)},
    openapi_extra=PAGED,
    summary="Jobs, e.g. the failed ones (administrators)",
)
def list_jobs(
    request,
    response: HttpResponse,
    state: str | None = None,
    limit: Count = PAGE_SIZE,
    page: Id = 1,
):
    """Newest first, ``limit`` (at most 1000) a page (``X-Total-Count``, ``Link``)."""
    require_admin(request.auth)
    qs = Job.objects.select_related("tester", "version__assignment__course")
    if state:
        qs = qs.filter(state=state)
    return [
        {
            "id": j.id,
            "kind": j.kind,
            "state": j.state,
            "attempt": j.attempt,
            "attempts_used": j.attempts_used,  # of MAX_EVALUATION_ATTEMPTS, since the last retry
            "queue": j.queue,
            "submission": j.submission_id,
            "assignment": str(j.version.assignment),
            "tester": j.tester.name if j.tester else None,
            "error": j.error,
            "verdict": j.verdict or None,
            "created_at": j.created_at,
            "finished_at": j.finished_at,
        }  # fmt: skip
        for j in page_of(request, response, qs.order_by("-id"), page, max(1, min(limit, MAX_LIMIT)))
    ]


@router.post(
    "/jobs/{job_id}/retry",
    response={202: dict, **errors(400, 401, 403, 404, 409)},
    summary="Retry a failed job (administrators)",
)
def retry_job(request, job_id: Id):
    require_admin(request.auth)
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        raise not_found(f"job {job_id}")
    job = services.retry_failed(job, request.auth)
    return Status(202, {"id": job.id, "state": job.state, "attempt": job.attempt})


@router.get(
    "/queues",
    response={200: list[dict], **errors(401)},
    summary="Per runtime environment: jobs waiting, testers, estimated wait",
)
def list_queues(request):
    return queries.queue_lengths()


@router.get(
    "/testers",
    response={200: list[dict], **errors(401, 403)},
    summary="Testers and what they do (administrators)",
)
def list_testers(request):
    require_admin(request.auth)
    running = lists.running_jobs()
    return [
        {
            "name": t.name,
            "runtimes": t.runtimes,
            "pool": t.pool,
            "slots": t.slots,
            "revoked": t.revoked,
            "last_seen_at": t.last_seen_at,
            "jobs_done": t.jobs_done,
            "running": running.get(t.id, []),
            "average_job_s": round(t.busy_seconds / t.jobs_done, 3) if t.jobs_done else None,
        }  # fmt: skip
        for t in Tester.objects.order_by("name")
    ]
