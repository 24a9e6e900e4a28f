"""The storer's daemon (seed 000: ``queue_task()`` and ``notify()``) and what surrounds it:
package versions, submissions, dispatch, claims, bundles, result ingestion, failures."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import logging
import shutil
import tempfile
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import yaml
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.mail import send_mail
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone

from assay import broker
from assay.lib import yamlio
from assay.lib.archive import ArchiveError, ArchiveLimits, as_submitted, check_zip, extract_zip
from assay.package import Assignment as PackageModel
from assay.package import PackageError, open_package
from assay.package.model import Verdict
from assay.package.samples import samples
from assay.scoring import compute_score
from assay.storer import rawsql
from assay.storer.courses.models import Assignment, AssignmentVersion, Course
from assay.tester.bundle import build_bundle, tests_zip
from assay.tester.spec import SubmissionError, make_spec

from . import changes, queries, signals
from .models import Job, Submission, SubmissionFile, Tester, TestResult

log = logging.getLogger("assay.storer")
RESULT_MEMBERS = ("result.json", "result.yaml")  # an evaluation's result, the first found
RESULT_LIMITS = ArchiveLimits(
    max_members=5000, max_member_bytes=64 << 20, max_total_bytes=256 << 20, max_ratio=1e6
)


class ServiceError(Exception):
    """A refused request: ``status`` is the HTTP status, ``code`` a stable machine-readable name."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


# -- packages -------------------------------------------------------------------------------


def _cache_dir(version: AssignmentVersion) -> Path:
    # the id and the creation time: a database whose ids start again (a test's, a restored
    # backup) never meets another version's files
    stamp = int(version.created_at.timestamp() * 1e6)
    return Path(settings.DATA_DIR) / "cache" / "packages" / f"{version.id}-{stamp}"


def _extracted(version: AssignmentVersion) -> Path:
    """The version's package, extracted once into the local cache."""
    target = _cache_dir(version)
    if not (target / ".complete").exists():
        tmp = Path(
            tempfile.mkdtemp(prefix="pkg-", dir=target.parent if target.parent.exists() else None)
        )
        with version.package.open("rb") as f:
            extract_zip(io.BytesIO(f.read()), tmp, links=True)
        (tmp / ".complete").write_text("")
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            tmp.rename(target)
        except OSError:  # another process got there first
            shutil.rmtree(tmp, ignore_errors=True)
    return target


class _Loaded:
    """A package loaded and kept open (its loader's work files live until it is closed)."""

    def __init__(self, pkg: PackageModel, stack: contextlib.ExitStack) -> None:
        self.pkg, self.stack, self.users = pkg, stack, 0


PACKAGES_KEPT = 16  # loaded packages kept in this process (more only while in use)
_loaded: OrderedDict[tuple[Any, ...], _Loaded] = OrderedDict()
_loaded_lock = threading.Lock()


@contextlib.contextmanager
def load_version(version: AssignmentVersion) -> Iterator[PackageModel]:
    """The version's package, loaded once per process and shared by the requests that use it:
    a stored version's package never changes, and loading it (its YAML, finding its tests) costs
    more than the rest of a submission's POST or a job's bundle. Users only read it."""
    override = version.meta.get("cpu_time_s_override")
    key = (version.id, str(version.created_at), override)
    with _loaded_lock:
        entry = _loaded.get(key)
        if entry is not None:
            entry.users += 1
            _loaded.move_to_end(key)
    if entry is None:
        stack = contextlib.ExitStack()
        try:
            pkg = stack.enter_context(open_package(_extracted(version)))
            if override:
                pkg.limits = pkg.limits.replace(cpu_time_s=override, wall_time_s=None)
        except BaseException:
            stack.close()
            raise
        fresh: _Loaded | None = _Loaded(pkg, stack)
        with _loaded_lock:
            entry = _loaded.get(key)
            if entry is None:
                entry, fresh = _loaded.setdefault(key, fresh), None  # type: ignore[arg-type]
            entry.users += 1
            idle = [k for k, e in _loaded.items() if e.users == 0]
            closing = [_loaded.pop(k) for k in idle[: max(0, len(_loaded) - PACKAGES_KEPT)]]
        if fresh is not None:  # another request loaded it meanwhile
            closing.append(fresh)
        for done in closing:
            done.stack.close()
    try:
        yield entry.pkg
    finally:
        with _loaded_lock:
            entry.users -= 1


def package_meta(pkg: PackageModel) -> dict[str, Any]:
    return {
        "title": pkg.title,
        "format": pkg.format,
        "runtime": pkg.runtime,
        "image": pkg.image,
        "points": pkg.points,
        "evaluation": pkg.evaluation,
        "limits": pkg.limits.to_dict(),
        "judge": pkg.judge.kind,
        "required_files": pkg.required_files,
        "groups": [
            {"name": g.name, "points": g.points, "scoring": g.scoring, "tests": g.tests}
            for g in pkg.groups
        ],
        "tests": [
            {"name": t.name, "group": t.group, "weight": t.weight, "visible": t.visible}
            for t in pkg.tests
        ],
        "solutions": [{"name": s.name, "expected": str(s.expected)} for s in pkg.solutions],
        "time_limit_known": pkg.time_limit_known,
        "samples": samples(pkg),
    }


def _zip_of(data: bytes) -> bytes:
    """Normalise an uploaded package to a zip (it may already be one)."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ServiceError(
            400, "bad_package", "the package must be a zip of the package directory", "package"
        )
    return data


def add_version(
    assignment: Assignment,
    data: bytes,
    user: Any,
    *,
    publish_when_valid: bool = True,
    trusted: bool = False,
) -> AssignmentVersion:
    """Store a new package version; check its structure now and its reference solutions on a
    tester (the version is published when they pass). ``trusted`` publishes at once (demo)."""
    if len(data) > settings.MAX_PACKAGE_BYTES:
        raise ServiceError(
            413,
            "upload_too_large",
            f"the package is larger than {settings.MAX_PACKAGE_BYTES} bytes",
            "package",
        )
    data = _zip_of(data)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "package.zip"
        path.write_bytes(data)
        try:
            with open_package(path) as pkg:
                meta = package_meta(pkg)
        except PackageError as e:
            raise ServiceError(400, "bad_package", str(e), "package") from e
    with transaction.atomic():
        locked = Assignment.objects.select_for_update().get(pk=assignment.pk)
        number = (
            locked.versions.order_by("-number").values_list("number", flat=True).first() or 0
        ) + 1
        version = AssignmentVersion(
            assignment=locked, number=number, format=meta["format"], meta=meta,
            uploaded_by=user, publish_when_valid=publish_when_valid,
        )  # fmt: skip
        version.package.save("package.zip", ContentFile(data), save=False)
        version.save()
        if trusted:
            _publish(version, locked)
        else:
            job = Job.objects.create(
                kind=Job.VALIDATION, version=version,
                # the package's image, else the course's: its solutions run there (the tester
                # reads the package's, and the course's from the claim's X-Assay-Image)
                queue=broker.validation_queue(
                    _pool(locked.course, validation=True), job_image(locked.course, version)
                ),
                requested_by=user,
            )  # fmt: skip
            queue_task(job)
    return version


def _publish(version: AssignmentVersion, assignment: Assignment) -> None:
    version.state = AssignmentVersion.PUBLISHED
    version.save(update_fields=["state"])
    assignment.current_version = version
    # the package's settings, except those the staff changed (Assignment.staff_settings)
    given = {
        "title": version.meta["title"],
        "points": version.meta["points"],
        "evaluation": version.meta.get("evaluation", Assignment.IMMEDIATE),
    }
    for name, value in given.items():
        if name not in assignment.staff_settings:
            setattr(assignment, name, value)
    if "description" not in assignment.staff_settings:
        with contextlib.suppress(Exception), load_version(version) as pkg:
            assignment.description = pkg.description
    assignment.save()


def publish(version: AssignmentVersion) -> None:
    if version.state not in (AssignmentVersion.VALID, AssignmentVersion.PUBLISHED):
        raise ServiceError(
            409,
            "not_valid",
            f"version {version.number} is {version.state}; only a valid version can be published",
        )
    with transaction.atomic():
        _publish(version, Assignment.objects.select_for_update().get(pk=version.assignment_id))


SPOOL_POOL_PREFIX = "spool-"  # a course with an SSH transport: its own pool, never the broker's


def _pool(course: Course, *, validation: bool = False) -> str:
    """The course's pool; a course fed over SSH (ssh.py) has one of its own, for evaluations
    (its packages are validated by the broker's testers)."""
    transport = course.config.get("transport")
    if not validation and isinstance(transport, dict) and transport.get("kind") == "ssh":
        return SPOOL_POOL_PREFIX + course.slug
    return str(course.config.get("pool", "default"))


def job_image(course: Course, version: AssignmentVersion | None) -> str | None:
    """The course image an assignment's jobs run on: the package's ``image:``, else the
    course's (its configuration's ``image``), else none (the tester's own system)."""
    image = (version.meta.get("image") if version is not None else None) or course.config.get(
        "image"
    )
    return str(image) if image else None


# -- submissions ----------------------------------------------------------------------------


# a submitted file's name: its path inside the submission, folders included (the stored path,
# submissions/COURSE/ASSIGNMENT/ID/NAME, stays within the FileField's 400 characters)
MAX_FILE_NAME_CHARS = 200
MAX_FILE_NAME_DEPTH = 16  # folders


def check_file_name(name: str, field: str = "files") -> None:
    """Refuse, naming it, a submitted file name that is unsafe or unreasonable: empty parts,
    '.' or '..', backslashes, characters that are not printable (NUL, control characters, and
    the bidirectional overrides that make a listing show another name than the file has), a name
    too long or nested too deep."""
    shown = repr(name if len(name) <= 80 else name[:80] + "…")

    def refuse(why: str) -> None:
        raise ServiceError(400, "bad_file_name", f"file name {shown} is not allowed: {why}", field)

    parts = name.split("/")
    if not name or any(p in ("", ".", "..") for p in parts):
        refuse("empty, '.' or '..' parts")
    if "\\" in name:
        refuse("backslashes are not allowed")
    if not name.isprintable():
        refuse("control, formatting or bidirectional characters are not allowed")
    if len(name) > MAX_FILE_NAME_CHARS:
        refuse(f"{len(name)} characters; at most {MAX_FILE_NAME_CHARS}")
    if len(parts) - 1 > MAX_FILE_NAME_DEPTH:
        refuse(f"nested {len(parts) - 1} folders deep; at most {MAX_FILE_NAME_DEPTH}")
    if any(len(p.encode(errors="surrogateescape")) > 255 for p in parts):
        refuse("a part longer than 255 bytes")


def check_upload(files: dict[str, bytes]) -> None:
    if not files:
        raise ServiceError(400, "no_files", "the submission has no files", "files")
    for name in files:
        check_file_name(name)
    if len(files) > settings.MAX_UPLOAD_FILES:
        raise ServiceError(
            413,
            "too_many_files",
            f"{len(files)} files; at most {settings.MAX_UPLOAD_FILES}",
            "files",
        )
    for name, data in files.items():
        if len(data) > settings.MAX_UPLOAD_FILE_BYTES:
            raise ServiceError(
                413,
                "file_too_large",
                f"{name}: {len(data)} bytes; at most {settings.MAX_UPLOAD_FILE_BYTES} per file",
                "files",
            )
    total = sum(len(d) for d in files.values())
    if total > settings.MAX_UPLOAD_TOTAL_BYTES:
        raise ServiceError(
            413,
            "upload_too_large",
            f"{total} bytes in all; at most {settings.MAX_UPLOAD_TOTAL_BYTES}",
            "files",
        )


def files_from_uploads(uploads: list[Any]) -> dict[str, bytes]:
    """Uploaded files (name, size, read()) to a submission, refusing unsafe or duplicate names
    and files over the size cap before anything is read."""
    content: dict[str, bytes] = {}
    for f in uploads:
        name = f.name or ""
        if "/" in name or name.startswith("."):
            raise ServiceError(400, "bad_file_name", f"file name {name!r} is not allowed", "files")
        check_file_name(name)
        if name in content:
            raise ServiceError(400, "duplicate_file", f"file {name!r} was sent twice", "files")
        if f.size > settings.MAX_UPLOAD_FILE_BYTES:
            raise ServiceError(
                413,
                "file_too_large",
                f"{name}: {f.size} bytes; at most {settings.MAX_UPLOAD_FILE_BYTES} per file",
                "files",
            )
        content[name] = f.read()
    return content


def files_from_zip(data: bytes) -> dict[str, bytes]:
    limits = ArchiveLimits(
        max_members=settings.MAX_UPLOAD_FILES,
        max_member_bytes=settings.MAX_UPLOAD_FILE_BYTES,
        max_total_bytes=settings.MAX_UPLOAD_TOTAL_BYTES,
        max_ratio=100,
    )
    with tempfile.TemporaryDirectory() as tmp:
        try:
            names = extract_zip(data, Path(tmp), limits)
        except ArchiveError as e:
            raise ServiceError(400, "bad_archive", f"the zip was refused: {e}", "archive") from e
        files = as_submitted({n: (Path(tmp) / n).read_bytes() for n in names})
    for name in files:
        check_file_name(name, "archive")
    return files


def submission_author(assignment: Assignment, user: Any, for_username: str | None) -> Any:
    """Who a submission by ``user`` is for, if the rules allow it: students submit for
    themselves before the deadline; supervisors and administrators at any time, also for a
    student of the course (cross-submitting)."""
    from assay.storer.courses.models import Membership
    from assay.storer.courses.permissions import can_supervise, role

    supervisor = can_supervise(user, assignment.course)
    author = user
    if for_username:
        if not supervisor:
            raise ServiceError(
                403, "forbidden", "only supervisors and administrators may submit for another user"
            )
        member = (
            Membership.objects.select_related("user")
            .filter(course=assignment.course, user__username=for_username)
            .first()
        )
        if member is None:
            raise ServiceError(
                400,
                "unknown_user",
                f"{for_username!r} is not a member of {assignment.course.slug}",
                "for_user",
            )
        author = member.user
    elif not supervisor and role(user, assignment.course) != Membership.STUDENT:
        raise ServiceError(403, "forbidden", "only students of the course may submit")
    check_rules(assignment, author, supervisor)
    return author


def check_rules(assignment: Assignment, author: Any, supervisor: bool) -> None:
    """The assignment's rules for a new submission by ``author`` (courses/rules.py): nothing
    goes into an archived assignment; a student submits only while it is released, before their
    last deadline and within the maximum number of their own submissions. The staff may submit
    after the deadlines (the submission is marked late) and their cross-submits count towards
    no student's maximum."""
    from assay.storer.courses import rules

    if assignment.archived:
        raise ServiceError(
            403, "archived", f"{assignment.title} is archived; it accepts no new submissions"
        )
    if supervisor:
        return
    if not assignment.released():
        raise ServiceError(404, "not_found", f"assignment {assignment.id} is not released")
    due = rules.closed_for(assignment, author.pk)
    if due is not None:
        raise ServiceError(
            403,
            "deadline_passed",
            f"the deadline ({rules.shown(due.last, assignment)}) has passed; submissions are closed",
        )
    _check_limit(assignment, author)


def _check_limit(assignment: Assignment, author: Any) -> None:
    limit = assignment.max_submissions
    if limit is None:
        return
    used = Submission.objects.filter(
        assignment=assignment, author=author, submitted_by=author
    ).count()
    if used >= limit:
        raise ServiceError(
            403,
            "too_many_submissions",
            f"you have used all {limit} submissions of {assignment.title}",
        )


def _recheck_limit(assignment: Assignment, author: Any, submitted_by: Any) -> None:
    """In the submission's transaction, the student's maximum once more: two submissions racing
    for the last one are told apart here. The assignment's row is locked first (PostgreSQL;
    SQLite's IMMEDIATE transactions write one at a time), so the count sees the other's."""
    from assay.storer.courses.permissions import can_supervise

    if assignment.max_submissions is None or submitted_by.pk != author.pk:
        return
    if can_supervise(author, assignment.course):
        return
    list(Assignment.objects.select_for_update().filter(pk=assignment.pk).values_list("pk"))
    _check_limit(assignment, author)


def create_submission(
    assignment: Assignment,
    author: Any,
    submitted_by: Any,
    files: dict[str, bytes],
    language: str | None = None,
) -> Submission:
    """Store a submission and queue its evaluation (unless the assignment is on demand).

    Everything is checked before anything is stored; the files and the rows are written in one
    transaction, and the job reaches the broker only after it commits."""
    from assay.storer.groups.services import share

    version = assignment.current_version
    if version is None:
        raise ServiceError(404, "not_found", "the assignment is not published")
    check_upload(files)
    with load_version(version) as pkg:
        try:
            spec = make_spec(pkg, files, language=language)
        except SubmissionError as e:
            said = str(e)
            field = (
                "language"
                if language and ("assignment is in" in said or "unknown runtime" in said)
                else "files"
            )
            raise ServiceError(400, "bad_submission", str(e), field) from e
    with transaction.atomic():
        _recheck_limit(assignment, author, submitted_by)
        submission = rawsql.create(
            Submission(
                assignment=assignment,
                version=version,
                author=author,
                submitted_by=submitted_by,
                runtime=spec.runtime,
            )
        )
        for name, data in sorted(files.items()):
            sf = SubmissionFile(submission=submission, name=name, size=len(data))
            sf.file.save(name, ContentFile(data), save=False)
            rawsql.create(sf)
        share(submission)  # with the author's team, on a team assignment
        if assignment.evaluation == Assignment.IMMEDIATE:
            start_evaluation(submission, submitted_by)
    return submission


def evaluate_on_demand(submission: Submission, user: Any) -> Job:
    """Start the evaluation an on-demand submission waits for (its author once; supervisors also
    again, as a re-evaluation)."""
    from assay.storer.courses.permissions import can_supervise

    job = submission.latest_job()
    if job is not None and job.state in (Job.QUEUED, Job.RUNNING):
        raise ServiceError(
            409, "in_progress", f"submission {submission.id} is already being evaluated"
        )
    if job is not None and not can_supervise(user, submission.assignment.course):
        raise ServiceError(
            409,
            "already_evaluated",
            f"submission {submission.id} was evaluated; ask a supervisor to re-evaluate it",
        )
    with transaction.atomic():
        return start_evaluation(submission, user)


def start_evaluation(submission: Submission, user: Any) -> Job:
    """Queue a (re-)evaluation of ``submission`` with the assignment's current version."""
    assignment = submission.assignment
    version = assignment.current_version or submission.version
    job = rawsql.create(Job(
        kind=Job.EVALUATION, submission=submission, version=version, requested_by=user,
        queue=broker.queue_name(
            _pool(assignment.course), submission.runtime, job_image(assignment.course, version)
        ),
        dispatched_at=timezone.now(),  # the message follows the commit (no second write)
    ))  # fmt: skip
    changes.touch_on_commit(submission.id)  # what a post_save of the job would do
    queue_task(job, stamped=True)
    return job


# -- dispatch -------------------------------------------------------------------------------

_celery = None


def celery_app():
    global _celery
    if _celery is None:
        _celery = broker.make_celery(settings.BROKER_URL, name="assay-storer")
    return _celery


def queue_task(job: Job, *, stamped: bool = False) -> None:
    """Hand the job to the broker once the transaction that created it has committed, and
    note when (``stamped``: the job was created with its ``dispatched_at`` already; if the
    broker cannot be reached, watch_jobs sends it again REDISPATCH_AFTER_S later either way)."""
    job_id, attempt, queue, kind = job.id, job.attempt, job.queue, job.kind

    def send() -> None:
        if kind == Job.EVALUATION and queue.startswith(f"assay.{SPOOL_POOL_PREFIX}"):
            from . import ssh

            # not in the request: a push takes a connection, and retries; a few at a time
            # (a re-evaluation of a whole course must not open a connection per job at once)
            ssh.pushers().submit(ssh.push_job_thread, job_id, attempt)
            return
        task = broker.VALIDATE_TASK if kind == Job.VALIDATION else broker.EVALUATE_TASK
        try:
            celery_app().send_task(
                task, args=[job_id, attempt], queue=queue, retry=True,
                retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
            )  # fmt: skip
        except (
            Exception
        ) as e:  # the broker is down: the job stays queued; watch_jobs sends it later
            log.warning("job %s: cannot reach the broker (%s); it stays queued", job_id, e)
            return
        if not stamped:
            Job.objects.filter(pk=job_id, state=Job.QUEUED).update(dispatched_at=timezone.now())

    transaction.on_commit(send)


def redispatch_unfinished() -> int:
    """At start: send again what was queued, and give running jobs a new attempt (their testers
    may be gone; a late result of the old attempt is ignored)."""
    count = 0
    for job in Job.objects.filter(state__in=(Job.QUEUED, Job.RUNNING)).order_by("id"):
        with transaction.atomic():
            if job.state == Job.RUNNING:
                requeue(job, "the storer restarted while the job was running")
            else:
                queue_task(job)
        count += 1
    return count


def watch_jobs() -> dict[str, int]:
    """The storer's periodic duty (every second, in `assay serve`):

    1. a running job whose tester sent no heartbeat for HEARTBEAT_TIMEOUT_S gets a new attempt
       (or fails after the last one): its tester was killed, its machine is gone, or the
       network is cut;
    2. a queued job whose message nobody claimed for REDISPATCH_AFTER_S is sent again: a broker
       that restarted or a tester that died holding it may have lost the message. A duplicate
       message is harmless: only one claim of an attempt succeeds.
    """
    now = timezone.now()
    lost = 0
    silent_since = now - dt.timedelta(seconds=settings.HEARTBEAT_TIMEOUT_S)
    # a spool tester (ssh.py) sends no heartbeats: its jobs get SPOOL_TIMEOUT_S
    spool = models.Q(queue__startswith=f"assay.{SPOOL_POOL_PREFIX}")
    spool_since = now - dt.timedelta(seconds=settings.SPOOL_TIMEOUT_S)
    for job in (
        Job.objects.filter(state=Job.RUNNING)
        .filter(
            (~spool & models.Q(heartbeat_at__lt=silent_since))
            | (spool & models.Q(heartbeat_at__lt=spool_since))
        )
        .select_related("tester")
    ):
        with transaction.atomic():
            requeue(
                job,
                f"tester {job.tester} stopped answering (no heartbeat for {settings.HEARTBEAT_TIMEOUT_S} s)",
            )
        lost += 1
    resent = 0
    unclaimed_since = now - dt.timedelta(seconds=settings.REDISPATCH_AFTER_S)
    waiting = Job.objects.filter(state=Job.QUEUED).filter(
        models.Q(dispatched_at__lt=unclaimed_since)
        | models.Q(dispatched_at__isnull=True, queued_at__lt=unclaimed_since)
    )
    for job in waiting:
        with transaction.atomic():
            queue_task(job)
        resent += 1
    return {"requeued": lost, "resent": resent}


def requeue(job: Job, reason: str) -> None:
    """Give the job a new attempt, or fail it after the last one."""
    if job.attempts_used >= settings.MAX_EVALUATION_ATTEMPTS:
        _fail(job, f"gave up after {job.attempts_used} attempts; last: {reason}")
        return
    updated = Job.objects.filter(pk=job.pk, state=job.state, attempt=job.attempt).update(
        state=Job.QUEUED, attempt=F("attempt") + 1, tester=None, queued_at=timezone.now(),
        claimed_at=None, bundle_sent_at=None, heartbeat_at=None, error=reason,
    )  # fmt: skip
    if updated:
        job.refresh_from_db()
        changes.touch_on_commit(job.submission_id)
        queue_task(job)


def queue_position(job: Job) -> int | None:
    if job.state != Job.QUEUED:
        return None
    return Job.objects.filter(state=Job.QUEUED, queue=job.queue, id__lt=job.id).count() + 1


# -- the tester's side ----------------------------------------------------------------------


def claim(job_id: int, attempt: int, tester: Tester) -> Job:
    """Give the job to the tester if it is still waiting for this attempt (a conditional update:
    of two testers holding the same message, exactly one wins). The job comes back with its id,
    kind, state, attempt and submission (the rest loads on use)."""
    now = timezone.now()
    updated = rawsql.update(
        Job, job_id, {"state": Job.RUNNING, "tester": tester.id, "claimed_at": now, "heartbeat_at": now},
        where={"state": Job.QUEUED, "attempt": attempt},
    )  # fmt: skip
    if not updated:
        raise ServiceError(
            409, "stale", f"job {job_id} attempt {attempt} is not waiting for a tester"
        )
    row = rawsql.one(
        f"SELECT {rawsql.columns(Job, 'j', CLAIMED)} FROM {rawsql.table(Job)} j WHERE j.id = %s",
        [job_id],
    )
    assert row is not None  # a job is never deleted while it runs
    job = rawsql.load(Job, row, CLAIMED)
    # queued -> running, for those waiting on it: shown within changes.MINOR_S, or with the end
    changes.touch_on_commit(job.submission_id, minor=True)
    return job


CLAIMED = ("id", "kind", "state", "attempt", "submission")


def held_job(job_id: int, attempt: int, tester: Tester) -> Job:
    """The job, if this tester holds this attempt of it; else a 403/409. It comes with its
    version, assignment, course and submission (one query)."""
    job = queries.job_with_context(job_id)
    if job is None:
        raise ServiceError(404, "not_found", f"no job {job_id}")
    if job.attempt != attempt and job.attempt > attempt:
        raise ServiceError(409, "stale", f"job {job_id} attempt {attempt} was given up")
    if job.tester_id != tester.id:
        raise ServiceError(403, "not_your_job", f"job {job_id} is not held by tester {tester.name}")
    if job.attempt != attempt or job.state != Job.RUNNING:
        raise ServiceError(409, "stale", f"job {job_id} attempt {attempt} was given up or finished")
    return job


def job_bundle(job: Job) -> bytes:
    """The seed's job bundle (evaluation) or the package itself (validation)."""
    if job.kind == Job.VALIDATION:
        with job.version.package.open("rb") as f:
            data = f.read()
    else:
        submission = job.submission
        assert submission is not None
        files = {}
        for name, path in queries.submission_files(submission.id):
            with default_storage.open(path, "rb") as f:
                files[name] = f.read()
        with load_version(job.version) as pkg:
            spec = make_spec(pkg, files, job_id=str(job.id), language=submission.runtime)
            spec.attempt = job.attempt
            course = job.version.assignment.course
            spec.image = broker.parse_queue(job.queue)[2]  # the image the job was routed by
            data = build_bundle(
                pkg,
                spec,
                files,
                {"course": course.slug, **course.config},
                _tests_zip(job.version, pkg),
            )
    rawsql.update(Job, job.id, {"bundle_sent_at": timezone.now()})
    return data


def _tests_zip(version: AssignmentVersion, pkg: PackageModel) -> bytes:
    """The bundles' tests.zip of this version, made once and kept next to its extracted
    package (a file, not memory: test data may be large)."""
    path = _cache_dir(version).with_suffix(".tests.zip")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    data = tests_zip(pkg)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tests-", dir=path.parent)
    with open(fd, "wb") as f:
        f.write(data)
    Path(tmp).replace(path)  # whole or not at all, whoever writes it
    return data


# a tester's last_seen_at is written again once it is this old (a heartbeat carrying a job's
# progress comes every 0.5 s; "alive" is 60 s, queries.ALIVE)
SEEN_RESOLUTION = dt.timedelta(seconds=10)


def heartbeat(tester: Tester, job_ids: list[int]) -> None:
    now = timezone.now()
    if tester.last_seen_at is None or now - tester.last_seen_at >= SEEN_RESOLUTION:
        rawsql.update(Tester, tester.pk, {"last_seen_at": now})
    if tester.last_seen_at is None or now - tester.last_seen_at > dt.timedelta(seconds=30):
        queries.forget_testers()  # a tester back (or new): estimates and "no tester" see it now
    if job_ids:
        Job.objects.filter(pk__in=job_ids, tester=tester, state=Job.RUNNING).update(
            heartbeat_at=now
        )


def notify(job: Job, tester: Tester, archive: bytes) -> Job:
    """Ingest a result archive (seed 001): unzip, load result.yaml, take time and memory,
    compute score and points with the storer's own copy of the groups, store all at once."""
    received = timezone.now()
    if len(archive) > settings.MAX_RESULT_BYTES:
        raise ServiceError(413, "too_large", "the result archive is too large")
    # every member is checked (names, types, sizes, ratios), only the one read is unpacked: the
    # archive is stored as it came, and its other files are read from it, within limits, when
    # a page shows them
    # an evaluation's result.json, the same document as its result.yaml, parses forty times
    # faster; testers before it sent result.yaml alone
    members = {"evaluation": RESULT_MEMBERS, "validation": ("report.json",)}[job.kind]
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as zf:
            names = {name: info for info, name in check_zip(zf, RESULT_LIMITS)}
            member = next((m for m in members if m in names), members[-1])
            info = names.get(member)
            content = None
            if info is not None:
                with zf.open(info) as f:
                    content = f.read(RESULT_LIMITS.max_member_bytes + 1)
                if len(content) > RESULT_LIMITS.max_member_bytes:
                    raise ArchiveError(f"{member}: larger than allowed")
    except ArchiveError as e:
        _fail_malformed(job, f"malformed result archive: {e}")
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        _fail_malformed(job, f"malformed result archive: not a valid zip archive: {e}")
    if job.kind == Job.VALIDATION:
        return _ingest_validation(job, tester, content, received)
    return _ingest_evaluation(job, tester, content, member, archive, received)


def _fail_malformed(job: Job, message: str) -> NoReturn:
    with transaction.atomic():
        _fail(job, message)
    raise ServiceError(400, "bad_result", message)


def _load_result(job: Job, content: bytes | None, member: str) -> dict[str, Any]:
    """The result document, from result.json or (an older tester's) result.yaml."""
    if content is None:
        _fail_malformed(job, "malformed result archive: no result.yaml")
    try:
        if member.endswith(".json"):
            doc = json.loads(content)
        else:
            doc = yamlio.safe_load(content.decode())  # libyaml: ten times the pure-Python loader
    except (yaml.YAMLError, UnicodeDecodeError, ValueError) as e:
        _fail_malformed(job, f"malformed {member}: {e}")
    if not isinstance(doc, dict):
        _fail_malformed(job, f"malformed {member}: not a mapping")
    if str(doc.get("job_id")) != str(job.id) or int(doc.get("attempt", 0)) != job.attempt:
        _fail_malformed(
            job,
            f"{member} is for job {doc.get('job_id')} attempt {doc.get('attempt')}, not job {job.id} attempt {job.attempt}",
        )
    return doc


def _ingest_evaluation(
    job: Job, tester: Tester, content: bytes | None, member: str, archive: bytes, received: Any
) -> Job:
    doc = _load_result(job, content, member)
    if doc.get("status") == "failed":
        error = str(doc.get("error") or "the tester reported a failure")
        # a sandbox hiccup may pass on another attempt; a broken checker will not
        return report_failure(
            job, tester, error, retry=error.startswith(("SandboxError", "ToolchainError"))
        )
    meta = job.version.meta
    expected = [t["name"] for t in meta["tests"]]
    tests = doc.get("tests")
    try:
        if not isinstance(tests, list):
            raise TypeError("tests: not a list")
        by_name = {t["name"]: t for t in tests}
        missing = [n for n in expected if n not in by_name]
        if missing:
            raise ValueError(f"no result for test(s) {', '.join(missing[:5])}")
        for t in by_name.values():
            Verdict(t["verdict"])
            float(t.get("score", 0))
        build_failed = (doc.get("build") or {}).get("status") != "OK"
        score = compute_score(
            meta["groups"], [by_name[n] for n in expected], build_failed=build_failed
        )
    except (TypeError, KeyError, ValueError) as e:
        _fail_malformed(job, f"malformed {member}: {e}")
    points = job.version.assignment.points
    # the groups and the tests' shares, in the assignment's points
    groups = [
        g.scaled(points / score.max_points if score.max_points else 0.0) for g in score.groups
    ]
    shares = {name: share for g in groups for name, share in g.tests.items()}
    stored = {
        "state": Job.DONE, "verdict": str(score.verdict), "score": score.score,
        "max_points": points, "points": round(score.score * points, 4),
        "build": doc.get("build") or {}, "steps": doc.get("steps") or {},
        "result_received_at": received, "finished_at": timezone.now(), "error": "",
        "groups": [
            {"name": g.name, "scoring": g.scoring, "points": g.points, "max_points": g.max_points}
            for g in groups
        ],
    }  # fmt: skip
    visible = {t["name"]: t["visible"] for t in meta["tests"]}
    with transaction.atomic():
        # the tester still holds this attempt: a conditional update (it locks the row)
        held = {"state": Job.RUNNING, "attempt": job.attempt, "tester": tester.id}
        if not rawsql.update(Job, job.id, stored, where=held):
            raise ServiceError(409, "stale", "the job was given up or finished meanwhile")
        rawsql.insert(
            [
                TestResult(
                    job_id=job.id,
                    order=i,
                    name=n,
                    group=by_name[n].get("group", ""),
                    visible=visible[n],
                    status=by_name[n].get("status") or "",
                    exit_code=by_name[n].get("exit_code"),
                    signal=by_name[n].get("signal"),
                    cpu_time_s=by_name[n].get("cpu_time_s"),
                    wall_time_s=by_name[n].get("wall_time_s"),
                    memory_kib=by_name[n].get("memory_kib"),
                    verdict=by_name[n]["verdict"],
                    score=float(by_name[n].get("score", 0)),
                    points=shares.get(n, (None, None))[0],
                    max_points=shares.get(n, (None, None))[1],
                    message=str(by_name[n].get("message") or "")[:2000],
                    judge_message=str(by_name[n].get("judge_message") or "")[:2000],
                    student_message=str(by_name[n].get("student_message") or "")[:2000],
                    # a hidden test's output stays with the storer, whatever the tester sent
                    stderr_head=str(by_name[n].get("stderr_head") or "")[:1024]
                    if visible[n]
                    else "",
                )  # fmt: skip
                for i, n in enumerate(expected)
            ]
        )
        for name, value in stored.items():
            setattr(job, name, value)
        job.result_archive.save("result.zip", ContentFile(archive), save=False)
        rawsql.update(Job, job.id, {"result_archive": job.result_archive.name})
        _count_done(tester, job)
        changes.touch_on_commit(job.submission_id)
        signals.send_on_commit(signals.result_stored, submission_id=job.submission_id)
    return job


def _ingest_validation(job: Job, tester: Tester, content: bytes | None, received: Any) -> Job:
    try:
        if content is None:
            raise FileNotFoundError("no report.json")
        report = json.loads(content)
        ok = bool(report["ok"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        _fail_malformed(job, f"malformed validation report: {e}")
    if report.get("error"):
        return report_failure(job, tester, str(report["error"]))
    with transaction.atomic():
        locked = _lock_held(job, tester)
        locked.state, locked.report = Job.DONE, report
        locked.verdict = "AC" if ok else "WA"
        locked.result_received_at, locked.finished_at = received, timezone.now()
        locked.save()
        version = AssignmentVersion.objects.select_for_update().get(pk=job.version_id)
        version.validation = report
        version.state = AssignmentVersion.VALID if ok else AssignmentVersion.INVALID
        if ok and not version.meta.get("time_limit_known", True):
            version.meta = {**version.meta, "cpu_time_s_override": report["limits"]["cpu_time_s"]}
        version.save()
        if ok and version.publish_when_valid:
            _publish(version, Assignment.objects.select_for_update().get(pk=version.assignment_id))
        _count_done(tester, locked)
    return locked


def _lock_held(job: Job, tester: Tester) -> Job:
    """Lock the job's row, if the tester still holds this attempt of it (else 409)."""
    locked = Job.objects.select_for_update().get(pk=job.pk)
    if (
        locked.state != Job.RUNNING
        or locked.attempt != job.attempt
        or locked.tester_id != tester.id
    ):
        raise ServiceError(409, "stale", "the job was given up or finished meanwhile")
    return locked


def _count_done(tester: Tester, job: Job) -> None:
    busy = (
        (job.finished_at - job.claimed_at).total_seconds()
        if job.claimed_at and job.finished_at
        else 0.0
    )
    c = rawsql.column
    rawsql.execute(
        f"UPDATE {rawsql.table(Tester)} SET {c(Tester, 'jobs_done')} = {c(Tester, 'jobs_done')} + 1,"
        f" {c(Tester, 'busy_seconds')} = {c(Tester, 'busy_seconds')} + %s,"
        f" {c(Tester, 'last_seen_at')} = %s WHERE id = %s",
        [busy, rawsql.when(timezone.now()), tester.id],
    )


def report_failure(job: Job, tester: Tester, error: str, *, retry: bool = False) -> Job:
    """The tester could not evaluate the job: retry on a sandbox hiccup, else store the failure."""
    with transaction.atomic():
        locked = _lock_held(job, tester)
        if retry:
            requeue(locked, f"tester {tester.name}: {error}")
        else:
            _fail(locked, f"tester {tester.name}: {error}")
    locked.refresh_from_db()
    return locked


def _fail(job: Job, error: str) -> None:
    """Store the job as failed and e-mail the administrators (after commit)."""
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(state=Job.FAILED, error=error[:10000], finished_at=now)
    changes.touch_on_commit(job.submission_id)
    job_id = job.id

    def mail() -> None:
        try:
            mail_failure(job_id)
        except Exception as e:  # the failure is stored; a broken mail server must not hide it
            log.error("cannot e-mail the administrators about job %s: %s", job_id, e)

    transaction.on_commit(mail)


def mail_failure(job_id: int) -> None:
    job = Job.objects.select_related("version__assignment__course", "submission__author").get(
        pk=job_id
    )
    recipients = list(
        get_user_model()
        .objects.filter(is_superuser=True, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if not recipients:
        return
    a = job.version.assignment
    what = (
        f"submission {job.submission_id} of {job.submission.author}"
        if job.submission
        else f"package {job.version}"
    )
    send_mail(
        subject=f"[assay] {job.kind} job {job.id} failed ({a.course.slug}/{a.slug})",
        message=(
            f"The {job.kind} of {what} for {a.course.slug}/{a.slug} failed and cannot be completed.\n\n"
            f"Job: {job.id}, attempt {job.attempt}\nError: {job.error}\n\n"
            f"Retry it from the administration once the cause is fixed.\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=recipients,
    )


def retry_failed(job: Job, user: Any) -> Job:
    """An administrator retries a failed job: a fresh attempt counter, queued again."""
    if job.state != Job.FAILED:
        raise ServiceError(409, "not_failed", f"job {job.id} is {job.state}, not failed")
    with transaction.atomic():
        Job.objects.filter(pk=job.pk, state=Job.FAILED).update(
            state=Job.QUEUED,
            attempt=F("attempt") + 1,
            series_start=F("attempt") + 1,  # a new series: a full budget of attempts
            tester=None,
            claimed_at=None,
            bundle_sent_at=None,
            heartbeat_at=None,
            finished_at=None,
            queued_at=timezone.now(),
            error="",
        )
        job.refresh_from_db()
        changes.touch_on_commit(job.submission_id)
        queue_task(job)
    return job


def read_result_file(job: Job, member: str, limit: int = 64 * 1024) -> bytes | None:
    """A file of a job's result archive (e.g. ``NAME/run_stdout.vmr``), or None."""
    return read_result_files(job, [member], limit)[member]


def read_result_files(
    job: Job, members: list[str], limit: int = 64 * 1024
) -> dict[str, bytes | None]:
    """Files of a job's result archive, the archive opened once: each one's first ``limit``
    bytes, or None when it has no such file."""
    found: dict[str, bytes | None] = dict.fromkeys(members)
    if not job.result_archive or not job.result_archive.name:
        return found
    with (
        default_storage.open(job.result_archive.name, "rb") as f,
        zipfile.ZipFile(io.BytesIO(f.read())) as zf,
    ):
        for member in members:
            try:
                with zf.open(member) as m:
                    found[member] = m.read(limit)
            except KeyError:
                pass
    return found
