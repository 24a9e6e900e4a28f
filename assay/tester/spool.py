"""`assay tester watch DIR`: the seed's Queue Manager, a tester fed through a spool directory.

Each course has its own directory ``DIR/<course>/`` with

- ``queue/``: bundles come in here, each written under a temporary name (``.NAME.part`` or any
  name not ending in ``_bundle.zip``) and renamed to ``NAME_bundle.zip`` when complete (the
  SFTP push of the storer does so); other names are ignored;
- ``running/<claimant>/``: the bundles a watcher has taken, with ``running/<claimant>.lock``
  locked (``flock``) while that watcher lives;
- ``results/``: the result archives, ``NAME_result.zip`` (the same archive as the HTTP tester
  uploads: ``result.yaml`` and the ``.vmr`` files), written atomically;
- ``failed/``: bundles that could not be opened (not a zip, a zip bomb, a path that leaves the
  archive, a member missing), each with ``NAME_error.txt`` saying why.

One job:

1. Take the bundle by renaming it from ``queue/`` into this watcher's ``running/`` directory:
   of several watchers exactly one succeeds.
2. Check and unpack it, evaluate it with the executor (the sandbox of the HTTP tester).
3. Write the result archive under a temporary name in ``results/`` and rename it.
4. Remove the bundle. A watcher killed before 3 leaves the bundle in its ``running/``
   directory, and the next watcher to start (or any live one, every few seconds) puts it back
   into ``queue/``; killed between 3 and 4, the result is there and the bundle is only removed:
   each bundle is evaluated to the end once.

Files renamed into ``queue/`` wake the watcher at once (inotify, the broker's helper); it also
looks every second. Never imports Django.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import logging
import os
import re
import shutil
import signal
import socket
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assay.broker import RECOVER_S, Wakeup, dead_holders
from assay.lib import yamlio
from assay.lib.archive import ArchiveError, ArchiveLimits, check_zip, zip_directory
from assay.lib.workdir import scratch_dir

log = logging.getLogger("assay.spool")

QUEUE, RUNNING, RESULTS, FAILED = "queue", "running", "results", "failed"
BUNDLE_SUFFIX, RESULT_SUFFIX, ERROR_SUFFIX = "_bundle.zip", "_result.zip", "_error.txt"
# a bundle's own members are zips and a few small files: a high ratio is a bomb, not a bundle
SPOOL_LIMITS = ArchiveLimits(
    max_members=20, max_member_bytes=2 << 30, max_total_bytes=4 << 30, max_ratio=200.0
)
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # a job's name: the part before _bundle.zip
JOB_NAME = re.compile(r"^(\d+)-(\d+)$")  # the storer's bundles: <job id>-<attempt>

Report = Callable[[str], None]  # one line of progress


def is_bundle_name(name: str) -> bool:
    """A complete bundle's name (temporary names start with a dot or end otherwise)."""
    return name.endswith(BUNDLE_SUFFIX) and bool(NAME.match(name.removesuffix(BUNDLE_SUFFIX)))


def job_name(bundle_name: str) -> str:
    return bundle_name.removesuffix(BUNDLE_SUFFIX)


def write_atomically(target: Path, data: bytes) -> None:
    """Write ``data`` under a temporary name beside ``target``, then rename it: a reader of
    the directory sees the whole file or none."""
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
    with open(temporary, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, target)


def course_dirs(root: Path) -> list[Path]:
    """The courses of a spool directory: its subdirectories with a ``queue/``."""
    try:
        return sorted(p for p in root.iterdir() if (p / QUEUE).is_dir())
    except FileNotFoundError:
        return []


def prepare(course: Path) -> None:
    for sub in (QUEUE, RUNNING, RESULTS, FAILED):
        (course / sub).mkdir(parents=True, exist_ok=True)


def _done_already(course: Path, name: str) -> bool:
    stem = job_name(name)
    return (course / RESULTS / f"{stem}{RESULT_SUFFIX}").exists() or (
        course / FAILED / name
    ).exists()


def recover(course: Path) -> int:
    """Put back into ``queue/`` the bundles of watchers that died (their lock can be taken);
    a bundle whose result was already written is removed instead. The number put back."""
    restored = 0
    for held, names in dead_holders(course / RUNNING):
        for name in names:
            source = held / name
            if _done_already(course, name):
                source.unlink(missing_ok=True)
                continue
            with contextlib.suppress(FileNotFoundError):
                os.rename(source, course / QUEUE / name)
                restored += 1
                log.warning("%s: put back %s (its watcher died)", course.name, name)
    return restored


@dataclass
class Claimant:
    """This watcher's ``running/<claimant>/`` directory in one course, locked while it lives."""

    course: Path
    name: str = field(
        default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    )
    fd: int | None = None

    @property
    def folder(self) -> Path:
        return self.course / RUNNING / self.name

    def open(self) -> None:
        running = self.course / RUNNING
        self.folder.mkdir(parents=True)
        # locked before it gets its name: no one can take a live watcher for a dead one
        temporary = running / f".{self.name}.part"
        fd = os.open(temporary, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.rename(temporary, running / f"{self.name}.lock")
        self.fd = fd

    def take(self, name: str) -> Path | None:
        """Take a bundle from the queue (None: another watcher was first)."""
        target = self.folder / name
        try:
            os.rename(self.course / QUEUE / name, target)
        except FileNotFoundError:
            return None
        return target

    def close(self) -> None:
        """Leave cleanly: whatever this watcher still holds goes back to the queue."""
        with contextlib.suppress(FileNotFoundError):
            for name in os.listdir(self.folder):
                os.rename(self.folder / name, self.course / QUEUE / name)
            self.folder.rmdir()
        (self.course / RUNNING / f"{self.name}.lock").unlink(missing_ok=True)
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _failure_result(job: str, error: str, tester: str) -> bytes:
    """A result archive saying the bundle could not be evaluated (for the storer)."""
    match = JOB_NAME.match(job)
    doc: dict[str, Any] = {
        "format": "assay-result/1",
        "job_id": match.group(1) if match else job,
        "attempt": int(match.group(2)) if match else 1,
        "tester": tester,
        "status": "failed",
        "error": error,
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("result.yaml", yamlio.safe_dump(doc, sort_keys=False))
    return buf.getvalue()


def check_bundle_file(path: Path) -> None:
    """Refuse what is not a bundle before unpacking anything (BundleError)."""
    from assay.tester.bundle import BundleError

    try:
        with zipfile.ZipFile(path) as zf:
            check_zip(zf, SPOOL_LIMITS)
    except ArchiveError as e:
        raise BundleError(f"bundle: {e}") from e
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
        raise BundleError(f"bundle: not a zip archive ({e})") from e


class Watcher:
    """Watches the queues of a spool directory and evaluates what comes in, one at a time."""

    def __init__(
        self,
        root: Path,
        *,
        tester_name: str | None = None,
        evaluate: Callable[[Path, Path, Report], dict[str, Any]] | None = None,
        after_result: Callable[[Path, Path], None] | None = None,
        report: Report | None = None,
    ) -> None:
        self.root = root
        self.tester_name = tester_name or socket.gethostname()
        self.evaluate = evaluate or self._evaluate
        self.after_result = after_result  # (course, result file): e.g. send it to the storer
        self.report = report or (lambda line: log.info("%s", line))
        self.claimants: dict[Path, Claimant] = {}
        self.wakeups: dict[Path, Wakeup] = {}
        self.stopping = False
        self._next_recovery = 0.0
        self._host: Any = None

    # -- the loop ------------------------------------------------------------------------

    def stop(self, *_: Any) -> None:
        self.stopping = True
        for w in self.wakeups.values():
            w.wake()

    def run(self, *, until: Callable[[], bool] | None = None) -> None:
        """Evaluate bundles until stopped (SIGTERM / SIGINT) or ``until()`` is true."""
        try:
            while not self.stopping and not (until and until()):
                for w in self.wakeups.values():
                    w.clear()
                if not self.run_once():
                    self._wait()
        finally:
            self.close()

    def run_once(self) -> int:
        """Look at every queue once and evaluate what is there; the number of jobs done."""
        self._discover()
        if time.monotonic() >= self._next_recovery:
            self._next_recovery = time.monotonic() + RECOVER_S
            for course in self.claimants:
                recover(course)
                self._send_left_over(course)
        done = 0
        for course, claimant in list(self.claimants.items()):
            for name in sorted(os.listdir(course / QUEUE)):
                if self.stopping:
                    return done
                if not is_bundle_name(name):
                    continue
                held = claimant.take(name)
                if held is None:
                    continue
                self.process(course, held)
                done += 1
        return done

    def _discover(self) -> None:
        for course in course_dirs(self.root):
            if course in self.claimants:
                continue
            prepare(course)
            recover(course)  # a watcher that died before this one started
            claimant = Claimant(course)
            claimant.open()
            self.claimants[course] = claimant
            self.wakeups[course] = Wakeup(str(course / QUEUE))
            self.report(f"{course.name}: watching {course / QUEUE}")

    def _wait(self) -> None:
        # any queue's news wakes the watcher; the safety poll also finds new course directories
        import select

        fds = [fd for w in self.wakeups.values() for fd in w.fds]
        poll_s = min((w.poll_s for w in self.wakeups.values()), default=1.0)
        if fds:
            with contextlib.suppress(InterruptedError):
                select.select(fds, [], [], poll_s)
        else:
            time.sleep(poll_s)

    def close(self) -> None:
        for claimant in self.claimants.values():
            claimant.close()
        for w in self.wakeups.values():
            w.close()
        self.claimants.clear()
        self.wakeups.clear()

    # -- one job -------------------------------------------------------------------------

    def process(self, course: Path, held: Path) -> None:
        """Evaluate a bundle this watcher holds; leave its result in ``results/`` (or the bundle
        in ``failed/``) and remove it from ``running/``."""
        from assay.tester.bundle import BundleError

        job = job_name(held.name)
        started = time.monotonic()
        self.report(f"{course.name}: {job}: taken")
        work = scratch_dir(f"assay-spool-{job}-")
        result = course / RESULTS / f"{job}{RESULT_SUFFIX}"
        try:
            try:
                check_bundle_file(held)
                doc = self.evaluate(
                    held, work, lambda line: self.report(f"{course.name}: {job}: {line}")
                )
            except BundleError as e:
                self._fail(course, held, job, str(e))
                return
            except Exception as e:  # the tester's own fault: reported, and the watcher goes on
                log.exception("%s: %s: the evaluation failed", course.name, job)
                self._fail(course, held, job, f"the tester failed: {type(e).__name__}: {e}")
                return
            buf = io.BytesIO()
            zip_directory(work / "result", buf)
            write_atomically(result, buf.getvalue())
            held.unlink()  # the result is there: the bundle is done
            if doc.get("status") == "failed":
                summary = f"failed: {doc.get('error')}"
            else:
                summary = f"{doc.get('verdict')} {doc.get('points', 0):g}/{doc.get('max_points', 0):g} points"
            self.report(
                f"{course.name}: {job}: {summary} -> {result.relative_to(self.root)} "
                f"({time.monotonic() - started:.1f} s)"
            )
        finally:
            shutil.rmtree(work, ignore_errors=True)
        self._after(course, result)

    def _fail(self, course: Path, held: Path, job: str, error: str) -> None:
        write_atomically(course / FAILED / f"{job}{ERROR_SUFFIX}", (error + "\n").encode())
        write_atomically(
            course / RESULTS / f"{job}{RESULT_SUFFIX}",
            _failure_result(
                job,
                error if error.startswith("the tester") else f"BundleError: {error}",
                self.tester_name,
            ),
        )
        os.replace(held, course / FAILED / held.name)
        self.report(f"{course.name}: {job}: refused: {error} -> {FAILED}/{held.name}")
        self._after(course, course / RESULTS / f"{job}{RESULT_SUFFIX}")

    def _send_left_over(self, course: Path) -> None:
        """Results a failed push (or a watcher killed before it sent them) left behind."""
        if self.after_result is None:
            return
        for name in sorted(os.listdir(course / RESULTS)):
            if name.endswith(RESULT_SUFFIX) and not name.startswith("."):
                self._after(course, course / RESULTS / name)

    def _after(self, course: Path, result: Path) -> None:
        if self.after_result is None or not result.exists():
            return
        try:
            self.after_result(course, result)
        except Exception as e:  # the result stays in results/ for the next try
            self.report(f"{course.name}: cannot send {result.name}: {e}")

    def _evaluate(self, bundle: Path, work: Path, report: Report) -> dict[str, Any]:
        """Evaluate with the HTTP tester's executor and sandbox; the result files go to
        ``work/result``."""
        from assay.sandbox import SandboxError, get_host
        from assay.tester.bundle import open_bundle
        from assay.tester.executor import Executor

        opened = open_bundle(bundle, work / "bundle")
        total = len(opened.spec.tests)
        report(f"{opened.spec.runtime}, {total} test(s)")
        out = work / "result"
        try:
            if self._host is None:
                self._host = get_host()
        except SandboxError as e:  # written as a failed result: the storer retries elsewhere
            out.mkdir(parents=True, exist_ok=True)
            doc = {
                "format": "assay-result/1", "job_id": opened.spec.job_id,
                "attempt": opened.spec.attempt, "tester": self.tester_name,
                "status": "failed", "error": f"SandboxError: {e}",
            }  # fmt: skip
            (out / "result.yaml").write_text(yamlio.safe_dump(doc, sort_keys=False))
            return doc
        done = [0]

        def progress(step: str, entry: dict[str, Any]) -> None:
            if step == "build":
                report(f"build {entry.get('status')}")
            else:
                done[0] += 1
                report(f"test {entry['name']} {entry['verdict']} ({done[0]}/{total})")

        evaluation = Executor(self._host, tester_name=self.tester_name).evaluate(
            opened.spec, opened.files, opened.tests, out,
            scripts=opened.scripts, checker_source=opened.checker_source, progress=progress,
        )  # fmt: skip
        return evaluation.doc


def watch(root: Path, **kwargs: Any) -> None:
    """Run a watcher on ``root`` until SIGTERM or SIGINT (the job in hand is finished first)."""
    root.mkdir(parents=True, exist_ok=True)
    watcher = Watcher(root, **kwargs)
    signal.signal(signal.SIGTERM, watcher.stop)
    signal.signal(signal.SIGINT, watcher.stop)
    watcher.run()
