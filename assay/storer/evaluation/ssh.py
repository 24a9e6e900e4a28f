"""A course's SSH transport (seed 000's keys 1 and 2): the storer pushes each job bundle into
the course's tester spool by SFTP, and ingests the result archives the tester pushes back.

A course uses it when its config has::

    transport:
      kind: ssh
      queue: sftp://USER@TESTER[:PORT]/DIR/<course>/queue   # where `assay tester watch` looks
      key: /path/to/<course>/storer_to_tester               # key 1 (`assay tester ssh-keys`)
      known_hosts: /path/to/known_hosts                     # the tester's host key (optional)

1. ``push_job``: the job is claimed for the course's spool tester (``spool-<course>``, a
   tester row with no HTTP credential in use), its bundle pushed as ``<job>-<attempt>_bundle.zip``
   (temporary name, renamed at the end). A push that fails gives the job a new attempt.
2. The tester evaluates it and pushes ``<job>-<attempt>_result.zip`` with the course's key 2
   into the course's own incoming directory on the storer, ``INCOMING/<course>/incoming/`` (an
   account per course, chrooted to ``INCOMING/<course>``: a course's key reaches no other's).
3. ``ingest_incoming`` hands each result archive to ``services.notify``, as the HTTP tester API
   does, then moves it to ``done/`` (or to ``rejected/`` with ``NAME.error.txt``). A result in a
   course's directory counts only for a job of that course: one for another course's job is
   rejected, so a course's key 2 cannot forge another course's results.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from django import db
from django.conf import settings
from django.db import transaction

from assay.tester.sftp import SftpError, SftpTarget, push_with_retries

from . import queries, services
from .models import Job, Tester

log = logging.getLogger("assay.storer.ssh")

SPOOL_TESTER_PREFIX = "spool-"
RESULT_NAME = re.compile(r"^(\d+)-(\d+)_result\.zip$")
DONE, REJECTED = "done", "rejected"


def transport(course_config: dict | None) -> SftpTarget | None:
    """The course's SSH transport, or None when its testers take jobs from the broker."""
    conf = (course_config or {}).get("transport")
    if not conf:
        return None
    if not isinstance(conf, dict) or conf.get("kind") != "ssh":
        raise SftpError(f"course transport {conf!r}: expected kind: ssh, queue, key")
    for name in ("queue", "key"):
        if not conf.get(name):
            raise SftpError(f"course transport: '{name}' is missing")
    return SftpTarget.parse(conf["queue"], conf["key"], conf.get("known_hosts"))


def spool_tester(course_slug: str) -> Tester:
    """The tester row the course's spool jobs are held by."""
    name = f"{SPOOL_TESTER_PREFIX}{course_slug}"
    tester = Tester.objects.filter(name=name).first()
    return tester or Tester.register(name)[0]


def push_job(job_id: int, attempt: int) -> str:
    """Claim the job for its course's spool tester and push its bundle; "pushed", "stale" (the
    attempt is not waiting) or "failed" (the push failed: a new attempt was queued)."""
    job = queries.job_with_context(job_id)
    if job is None:
        return "stale"
    course = job.version.assignment.course
    tester = spool_tester(course.slug)
    try:
        target = transport(course.config)
    except SftpError as e:
        services.claim(job_id, attempt, tester)
        services.report_failure(job, tester, f"SftpError: {e}", retry=False)
        return "failed"
    assert target is not None
    try:
        with transaction.atomic():
            services.claim(job_id, attempt, tester)
    except services.ServiceError:
        return "stale"
    job = queries.job_with_context(job_id)
    assert job is not None
    name = f"{job_id}-{attempt}_bundle.zip"
    try:
        push_with_retries(target, name, services.job_bundle(job))
    except SftpError as e:
        log.warning("job %s: %s", job_id, e)
        services.report_failure(job, tester, f"SftpError: {e}", retry=True)
        return "failed"
    log.info("job %s attempt %s: pushed to %s", job_id, attempt, target)
    return "pushed"


PUSHERS = 4  # bundles pushed at once by one storer process
_pushers: ThreadPoolExecutor | None = None
_pushers_lock = threading.Lock()


def pushers() -> ThreadPoolExecutor:
    """The process's few push threads (made on first use)."""
    global _pushers
    with _pushers_lock:
        if _pushers is None:
            _pushers = ThreadPoolExecutor(max_workers=PUSHERS, thread_name_prefix="ssh-push")
        return _pushers


def push_job_thread(job_id: int, attempt: int) -> None:
    """``push_job`` in a thread of its own (the dispatch's): its errors are logged, its
    database connection closed."""
    try:
        push_job(job_id, attempt)
    except Exception:
        log.exception("job %s attempt %s: the push failed", job_id, attempt)
    finally:
        db.connection.close()


def ingest_file(path: Path, course: str) -> str:
    """Ingest one result archive that came into ``course``'s incoming directory: "done",
    "failed" (the job was stored as failed) or "rejected" (not a result of a job of that course
    held by its spool tester, or not a result at all). Whatever the file, the watcher goes on."""
    try:
        return _ingest(path, course)
    except Exception as e:  # a file the course's key made unreadable, a database hiccup ...
        log.exception("%s: not ingested", path)
        try:
            return _set_aside(path, course, REJECTED, f"not ingested: {e}")
        except OSError:
            log.exception("%s: cannot be set aside either", path)
            return REJECTED


def _ingest(path: Path, course: str) -> str:
    match = RESULT_NAME.match(path.name)
    job = None
    if match:
        job_id, attempt = int(match.group(1)), int(match.group(2))
        job = (
            Job.objects.select_related("tester", "version__assignment__course")
            .filter(pk=job_id)
            .first()
        )
    if job is None or job.tester is None or match is None or job.kind != Job.EVALUATION:
        return _set_aside(path, course, REJECTED, "not the result of a job held by a spool tester")
    owner = job.version.assignment.course.slug
    if owner != course:
        return _set_aside(
            path, course, REJECTED,
            f"job {job_id} is course {owner}'s, not {course}'s (whose key sent it)",
        )  # fmt: skip
    if job.tester.name != f"{SPOOL_TESTER_PREFIX}{course}":
        return _set_aside(
            path, course, REJECTED, f"job {job_id} is held by tester {job.tester.name}, not by "
            f"the course's spool tester",
        )  # fmt: skip
    size = path.stat().st_size
    if size > settings.MAX_RESULT_BYTES:
        return _set_aside(
            path, course, REJECTED,
            f"{size} bytes, more than a result may have ({settings.MAX_RESULT_BYTES})",
        )  # fmt: skip
    try:
        held = services.held_job(job_id, attempt, job.tester)
        job = services.notify(held, job.tester, path.read_bytes())
    except services.ServiceError as e:
        return _set_aside(path, course, REJECTED, str(e))
    _set_aside(path, course, DONE, None)
    log.info("job %s attempt %s: ingested (%s)", job_id, attempt, job.state)
    return "failed" if job.state == Job.FAILED else "done"


def _set_aside(path: Path, course: str, where: str, error: str | None) -> str:
    """Move an ingested or refused archive to ``INCOMING/<course>/done|rejected/``: beside the
    course's incoming directory, where its key cannot write (nor make a file of that name)."""
    target = path.parent.parent / where
    target.mkdir(exist_ok=True)
    os.replace(path, target / path.name)
    if error is not None:
        (target / f"{path.name}.error.txt").write_text(error + "\n")
        log.warning("%s (%s): %s", path.name, course, error)
    return where if error is not None else "done"


INCOMING = "incoming"  # INCOMING/<course>/incoming/: where the course's key 2 drops results


def incoming_dirs(root: Path) -> dict[str, Path]:
    """Each course's incoming directory under ``root`` (``root/<course>/incoming/``)."""
    try:
        return {p.name: p / INCOMING for p in sorted(root.iterdir()) if (p / INCOMING).is_dir()}
    except FileNotFoundError:
        return {}


def ingest_incoming(root: Path) -> dict[str, int]:
    """Ingest every complete result archive in the courses' incoming directories under ``root``
    (temporary names are skipped)."""
    counts: dict[str, int] = {}
    for course, directory in incoming_dirs(root).items():
        for name in sorted(os.listdir(directory)):
            if name.startswith(".") or not name.endswith("_result.zip"):
                continue
            outcome = ingest_file(directory / name, course)
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def watch_incoming(root: Path, stop: object = None) -> None:
    """Ingest what arrives under ``root`` until ``stop()``: inotify on each course's incoming
    directory (as the broker waits), the safety poll finding courses added later."""
    import select

    from assay.broker import Wakeup

    root.mkdir(parents=True, exist_ok=True)
    wakeups: dict[str, Wakeup] = {}
    try:
        while not (callable(stop) and stop()):
            for course, directory in incoming_dirs(root).items():
                if course not in wakeups:
                    wakeups[course] = Wakeup(str(directory))
            for w in wakeups.values():
                w.clear()
            ingest_incoming(root)
            fds = [fd for w in wakeups.values() for fd in w.fds]
            poll_s = min([w.poll_s for w in wakeups.values()] + [5.0])  # and new courses
            select.select(fds, [], [], poll_s)
    finally:
        for w in wakeups.values():
            w.close()
