"""`assay worker`: the tester process (seed 000's queue manager + executor, seed 001's worker).

It takes job ids from the broker — only from the queues of the runtimes it offers, one per free
slot — and for each:

1. claims the job from the storer over HTTP with its own credential (a conditional update on the
   storer: a stale or duplicate message gets 409 and is dropped);
2. downloads the job bundle, evaluates it in the sandbox (heartbeats go on meanwhile);
3. uploads the result archive; the storer ingests it (``notify``) and answers.

A job it cannot evaluate is reported with its error: a sandbox error asks for a retry (another
attempt, maybe on another tester), a malformed bundle does not. Never imports Django.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import shutil
import signal
import socket
import ssl
import sys
import threading
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from assay import broker
from assay.lib.workdir import scratch_dir
from assay.runtimes import all_runtimes
from assay.sandbox import SandboxError, get_host

log = logging.getLogger("assay.worker")
HEARTBEAT_S = float(os.environ.get("ASSAY_HEARTBEAT_S", "5"))
PROGRESS_S = 0.5  # the shortest time between two heartbeats that carry a job's progress
STORER_RETRY_S = 60.0  # how long a request waits for a storer that is restarting


class StorerClient:
    """The tester's side of the storer's tester API."""

    def __init__(
        self, url: str, token: str, timeout: float = 60.0, verify: bool | str = True
    ) -> None:
        # a CA file to trust (e.g. the storer's self-signed certificate), or True / False
        trust: bool | ssl.SSLContext = (
            ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify
        )
        self.http = httpx.Client(
            base_url=url.rstrip("/") + "/api/tester",
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            verify=trust,
        )

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """A request that waits out a restarting storer (connection refused, 502/503) for a while."""
        deadline = time.monotonic() + STORER_RETRY_S
        delay = 0.2
        while True:
            try:
                response = self.http.request(method, url, **kwargs)
                if response.status_code not in (502, 503, 504) or time.monotonic() > deadline:
                    return response
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _check(self, response: httpx.Response) -> httpx.Response:
        if response.status_code >= 400:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text[:200]
            raise StorerRefused(response.status_code, message)
        return response

    def claim(self, job_id: int, attempt: int) -> dict[str, Any] | None:
        r = self._send("POST", f"/jobs/{job_id}/claim", json={"attempt": attempt})
        if r.status_code == 409:
            return None  # already taken, finished or given up: drop the message
        return self._check(r).json()

    def claim_bundle(self, job_id: int, attempt: int) -> tuple[bytes, str | None] | None:
        """Claim the job and receive its bundle in one request, with the course image the job
        was routed by (a validation's package may not name it: the course's); None: already
        taken."""
        r = self._send("POST", f"/jobs/{job_id}/claim", json={"attempt": attempt, "bundle": True})
        if r.status_code == 409:
            return None
        return self._check(r).content, r.headers.get("X-Assay-Image") or None

    def bundle(self, job_id: int, attempt: int) -> bytes:
        return self._check(
            self._send("GET", f"/jobs/{job_id}/bundle", params={"attempt": attempt})
        ).content

    def result(self, job_id: int, attempt: int, archive: bytes) -> dict[str, Any]:
        files = {"archive": ("result.zip", archive, "application/zip")}
        return self._check(
            self._send("POST", f"/jobs/{job_id}/result", params={"attempt": attempt}, files=files)
        ).json()

    def fail(self, job_id: int, attempt: int, error: str, retry: bool) -> None:
        self._check(
            self._send(
                "POST",
                f"/jobs/{job_id}/fail",
                json={"attempt": attempt, "error": error, "retry": retry},
            )
        )

    def heartbeat(
        self,
        jobs: list[int],
        runtimes: list[str] | None = None,
        slots: int | None = None,
        progress: list[dict[str, int]] | None = None,
        versions: dict[str, str] | None = None,
        images: dict[str, list[str]] | None = None,
    ) -> None:
        """``progress``: per running job, ``{job, attempt, tests_done, tests_total}``;
        ``versions``: per offered runtime, what its version command printed; ``images``: the
        course images offered (``name@version``), each with the runtimes that work in it."""
        body: dict[str, Any] = {"jobs": jobs}
        if runtimes is not None:
            body["runtimes"] = runtimes
        if images is not None:
            body["images"] = sorted(images)
            body["image_runtimes"] = images
        if versions is not None:
            body["versions"] = versions
        if slots is not None:
            body["slots"] = slots
        if progress:
            body["progress"] = progress
        self._check(self.http.post("/heartbeat", json=body))


class StorerRefused(RuntimeError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"storer answered {status}: {message}")
        self.status = status


# -- configuration of this process (set by `assay worker` before the broker starts) ----------

CONFIG: dict[str, Any] = {}
_clients: dict[int, StorerClient] = {}


def client() -> StorerClient:
    """This process's client. A prefork tester's children must not share the parent's
    connections: two processes on one socket would read each other's responses."""
    pid = os.getpid()
    if pid not in _clients:
        _clients.clear()
        _clients[pid] = StorerClient(
            CONFIG["url"], CONFIG["token"], verify=CONFIG.get("verify", True)
        )
    return _clients[pid]


ProgressReport = Callable[[int, int], None]  # (tests done, tests in all)


@contextmanager
def beating(job_id: int, attempt: int = 1) -> Iterator[ProgressReport]:
    """Send the job's heartbeat every few seconds while the block runs. The block reports its
    progress through the function it gets; the heartbeat carries it to the storer at once, but
    at most every PROGRESS_S and not before the job has run that long (the claim told the
    storer it runs; the evaluation never waits for the storer)."""
    stop, moved = threading.Event(), threading.Event()
    latest: dict[str, int] = {}

    def report(done: int, total: int) -> None:
        latest.update(job=job_id, attempt=attempt, tests_done=done, tests_total=total)
        moved.set()

    def loop() -> None:
        sent: dict[str, int] = {}
        # a job done within PROGRESS_S needs no progress shown: its result is the next news
        if stop.wait(PROGRESS_S):
            return
        while True:
            moved.wait(HEARTBEAT_S)
            if stop.is_set():
                return
            moved.clear()
            progress = dict(latest)
            try:
                client().heartbeat([job_id], progress=[progress] if progress != sent else None)
                sent = progress
            except Exception as e:  # the storer may be restarting; the job goes on
                log.warning("heartbeat for job %s failed: %s", job_id, e)
            if stop.wait(PROGRESS_S):
                return

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield report
    finally:
        stop.set()
        moved.set()


def _run_claimed(job_id: int, attempt: int, work_prefix: str, body: Any) -> str:
    """Claim the job and receive its bundle (one request), then run ``body(client, work_dir,
    steps, report, bundle)`` with heartbeats going (steps: the tester's timings so far, in
    seconds; report: the evaluation's progress, for the heartbeats). A job given up meanwhile (409 from the storer, at the claim or later) is
    dropped as "stale"."""
    c = client()
    started = time.monotonic()
    claimed = c.claim_bundle(job_id, attempt)
    if claimed is None:
        return "stale"
    bundle, image = claimed
    steps = {"claim_s": round(time.monotonic() - started, 4)}  # the bundle's download included
    work = scratch_dir(f"{work_prefix}-{job_id}-")
    try:
        with beating(job_id, attempt) as report:
            return body(c, work, steps, report, bundle, image)
    except StorerRefused as e:
        if e.status == 409:
            return "stale"  # given up meanwhile: another attempt owns it now
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_evaluation(job_id: int, attempt: int) -> str:
    from assay.lib.archive import zip_directory
    from assay.tester.bundle import BundleError, open_bundle
    from assay.tester.executor import Executor

    def evaluate(
        c: StorerClient, work: Path, steps: dict[str, float], report: ProgressReport,
        bundle: bytes, _image: str | None,
    ) -> str:  # fmt: skip
        started = time.monotonic()
        try:
            opened = open_bundle(bundle, work / "bundle")
            steps["unpack_s"] = round(time.monotonic() - started, 4)
        except BundleError as e:
            c.fail(job_id, attempt, str(e), retry=False)
            return "failed"
        try:
            host = get_host()
        except SandboxError as e:
            c.fail(job_id, attempt, f"SandboxError: {e}", retry=True)
            return "failed"
        total, done = len(opened.spec.tests), [0]

        def progress(step: str, _entry: dict[str, Any]) -> None:
            done[0] += step == "test"
            report(done[0], total)

        evaluation = Executor(host, tester_name=CONFIG.get("name")).evaluate(
            opened.spec, opened.files, opened.tests, work / "result",
            scripts=opened.scripts, checker_source=opened.checker_source, steps=steps,
            progress=progress,
        )  # fmt: skip
        buf = io.BytesIO()
        zip_directory(work / "result", buf)
        c.result(job_id, attempt, buf.getvalue())
        return evaluation.doc["status"]

    return _run_claimed(job_id, attempt, "assay-job", evaluate)


def validate_package(package: Path, image: str | None = None) -> dict[str, Any]:
    """The validation report of a package (its reference solutions evaluated); on ``image``
    (the course's) when the package names none. SandboxError when this tester cannot."""
    from assay.check import check_package
    from assay.package import PackageError, open_package

    try:
        with open_package(package) as assignment:
            if assignment.image is None and image:
                assignment.image = image
            return check_package(assignment, get_host()).to_dict()
    except PackageError as e:
        return {"ok": False, "error": f"the package is malformed: {e}"}


def run_validation(job_id: int, attempt: int) -> str:
    def validate(
        c: StorerClient, work: Path, steps: dict[str, float], _: ProgressReport, bundle: bytes,
        image: str | None,
    ) -> str:  # fmt: skip
        package = work / "package.zip"
        package.write_bytes(bundle)
        try:
            report = validate_package(package, image)
        except SandboxError as e:
            c.fail(job_id, attempt, f"SandboxError: {e}", retry=True)
            return "failed"
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("report.json", json.dumps(report, default=str))
        c.result(job_id, attempt, buf.getvalue())
        return "done"

    return _run_claimed(job_id, attempt, "assay-validate", validate)


def _stop_revoked() -> None:
    """Stop the whole tester (not only this pool process): its credential is no good."""
    sys.stderr.write(
        "assay worker: the storer refused this tester's credential (revoked?); stopping\n"
    )
    sys.stderr.flush()
    if CONFIG.get("main_pid") and CONFIG["main_pid"] != os.getpid():
        os.kill(CONFIG["main_pid"], signal.SIGTERM)
        os._exit(4)  # a pool process: leave without acknowledging the message
    os.kill(os.getpid(), signal.SIGTERM)


def _guarded(run: Any, job_id: int, attempt: int) -> str:
    """Run a job; a credential the storer no longer accepts stops this tester at once, without
    acknowledging the message (the broker gives it to another tester)."""
    try:
        return run(job_id, attempt)
    except StorerRefused as e:
        if e.status == 401:
            _stop_revoked()
        raise


def make_worker_app(broker_url: str) -> Any:
    app = broker.make_celery(broker_url, name="assay-tester")

    @app.task(name=broker.EVALUATE_TASK, acks_late=True, ignore_result=True)
    def evaluate_job_task(job_id: int, attempt: int) -> str:
        return _guarded(run_evaluation, job_id, attempt)

    @app.task(name=broker.VALIDATE_TASK, acks_late=True, ignore_result=True)
    def validate_package_task(job_id: int, attempt: int) -> str:
        return _guarded(run_validation, job_id, attempt)

    return app


def queues_for(
    pool: str,
    runtimes: list[str],
    validate: bool = True,
    images: dict[str, list[str]] | None = None,
) -> list[str]:
    """The queues of the runtimes offered, and of each image's runtimes (image -> runtimes)."""
    queues = [broker.queue_name(pool, r) for r in runtimes]
    for image, in_image in (images or {}).items():
        queues += [broker.queue_name(pool, r, image) for r in in_image]
    if validate:  # a package may have solutions in every language: only testers not restricted
        queues.append(broker.validation_queue(pool))
        queues += [broker.validation_queue(pool, image) for image in images or {}]
    return queues


VERSIONS: dict[str, str] = {}  # runtime -> the first line its version command printed


def offered_runtimes(requested: list[str]) -> list[str]:
    """The runtimes this tester offers: those requested (default: all) that work in the sandbox.

    A runtime that fails verification is left out with a warning, so its jobs go to testers
    that have it; if none works the tester cannot start. The versions the sandbox reported for
    them go into VERSIONS (the first heartbeat tells the storer)."""
    from assay.runtimes.verify import verify_runtimes

    known = all_runtimes()
    unknown = [r for r in requested if r not in known]
    if unknown:
        raise ValueError(f"unknown runtime(s) {', '.join(unknown)}; known: {', '.join(known)}")
    results = verify_runtimes(get_host(), requested or list(known))
    for s in results:
        if not s.ok:
            log.warning("not offering runtime %s: %s", s.name, s.message)
            sys.stderr.write(f"assay worker: not offering runtime {s.name}: {s.message}\n")
    offered = [s.name for s in results if s.ok]
    VERSIONS.clear()
    VERSIONS.update({s.name: s.version[:200] for s in results if s.ok and s.version})
    if not offered:
        raise ValueError("no runtime works in the sandbox on this machine (see `assay runtimes`)")
    return offered


def offered_images(requested: list[str] | None, runtimes: list[str]) -> dict[str, list[str]]:
    """The course images this tester offers (``requested``, default: every image on this
    machine), each with the runtimes (of ``runtimes``, default: all) that work inside it. An
    image that is missing, or in which no runtime works, is left out with a warning."""
    from assay.runtimes.verify import verify_runtimes
    from assay.sandbox import images

    names = requested if requested is not None else [i.name for i in images.local_images()]
    offered: dict[str, list[str]] = {}
    for name in names:
        try:
            results = verify_runtimes(get_host(), runtimes or None, image=name)
        except SandboxError as e:
            sys.stderr.write(f"assay worker: not offering image {name}: {e}\n")
            continue
        working = [s.name for s in results if s.ok]
        if working:
            offered[images.resolve(name).label] = working
        else:
            sys.stderr.write(f"assay worker: not offering image {name}: no runtime works in it\n")
    return offered


def start_worker(
    url: str,
    token: str,
    broker_url: str,
    *,
    name: str | None = None,
    slots: int = 1,
    runtimes: list[str] | None = None,
    pool: str = "default",
    verify: bool | str = True,
    images: list[str] | None = None,
) -> None:
    """Run the tester until SIGTERM: heartbeats in a thread, jobs from the broker."""
    name = name or socket.gethostname()
    CONFIG.update(url=url, token=token, name=name, verify=verify, main_pid=os.getpid())
    get_host()  # fail now, with the reason, if this machine cannot sandbox
    restricted = bool(runtimes)
    by_image = offered_images(images, runtimes or [])
    runtimes = offered_runtimes(runtimes or [])
    # fail now if the credential is bad
    client().heartbeat([], runtimes=runtimes, slots=slots, versions=VERSIONS, images=by_image)
    by_name = {label.partition("@")[0]: r for label, r in by_image.items()}

    def idle_beat() -> None:
        while True:
            threading.Event().wait(HEARTBEAT_S)
            with contextlib.suppress(Exception):
                get_host().reap_orphans()  # what a dead pool process left behind
            try:
                client().heartbeat([])
            except StorerRefused as e:
                if e.status == 401:
                    _stop_revoked()
                    return
                log.warning("heartbeat failed: %s", e)
            except Exception as e:
                log.warning("heartbeat failed: %s", e)

    threading.Thread(target=idle_beat, daemon=True).start()
    app = make_worker_app(broker_url)
    warnings.filterwarnings("ignore", message=".*superuser privileges.*")
    argv = [
        "--quiet",
        "worker",
        "--loglevel=WARNING",
        "-Q", ",".join(queues_for(pool, runtimes, validate=not restricted, images=by_name)),
        "-c", str(slots),
        "-P", "prefork",
        "-n", f"{name}@{socket.gethostname()}-{os.getpid()}",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    app.worker_main(argv)
