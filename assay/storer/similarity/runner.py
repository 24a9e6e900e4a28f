"""Similarity runs in the background of the storer (``assay serve``), one at a time per storer
process, each comparison in a child process of its own (``python -m assay.similarity``, at a
lower priority), so that its cpu never holds the web server's threads.

1. ``launch``: once the request's transaction has committed, the run's id goes to this
   process's runner thread.
2. ``execute``: claim the run with a conditional update (queued -> running; another storer that
   got it first wins), read its documents, feed them to the engine's process, store the
   progress it reports (stage, done, total; ``heartbeat_at``) and then the pairs.
3. ``watch`` (every second, beside ``watch_jobs``): a run whose runner has sent no sign of life
   for ``STALE_S`` (its storer stopped) is queued again, or failed after ``MAX_ATTEMPTS``; a
   queued run no runner of this process holds is launched (after a restart).

An error of the engine or of the storage fails the run with its message; it is never a pair.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from typing import Any

from django.db import close_old_connections, connection
from django.db.models import F
from django.utils import timezone

from assay.similarity import engine

from . import services
from .models import SimilarityRun

log = logging.getLogger("assay.similarity")

STALE_S = 120  # no progress for this long: the runner is gone
MAX_ATTEMPTS = 2
TIMEOUT_S = 3600  # a comparison that takes longer is stopped (failed)
PROGRESS_EVERY_S = 0.5  # at most this often a progress update is written

_queue: queue.SimpleQueue[int] = queue.SimpleQueue()
_worker: threading.Thread | None = None
_lock = threading.Lock()
_held: set[int] = set()  # runs this process has launched and not finished


def launch(run_id: int) -> None:
    """Run ``run_id`` in this process's runner thread (after what it runs now). The thread is
    a daemon: stopping the storer does not wait for a comparison (its child process ends at
    its next progress line, its pipe closed, and the run is taken again: ``watch``)."""
    global _worker
    with _lock:
        if run_id in _held:
            return
        _held.add(run_id)
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_work, name="similarity", daemon=True)
            _worker.start()
    _queue.put(run_id)


def _work() -> None:
    while True:
        run_id = _queue.get()
        try:
            close_old_connections()
            execute(run_id)
        except Exception:  # noqa: BLE001 - a runner thread must survive any run
            log.exception("similarity run %s failed", run_id)
        finally:
            with _lock:
                _held.discard(run_id)
            connection.close()


def execute(run_id: int, isolated: bool = True) -> bool:
    """Claim and run ``run_id`` (the module's step 2); False when it was not queued.
    ``isolated``: the engine in a child process (the storer), or in this one (tests)."""
    now = timezone.now()
    claimed = SimilarityRun.objects.filter(pk=run_id, state=SimilarityRun.QUEUED).update(
        state=SimilarityRun.RUNNING, started_at=now, heartbeat_at=now, stage="reading",
        done=0, total=0, attempt=F("attempt") + 1, error="",
    )  # fmt: skip
    if not claimed:
        return False
    run = SimilarityRun.objects.select_related("assignment__course").get(pk=run_id)
    try:
        given = services.inputs(run)
        progress = _progress_writer(run_id)
        options = engine.Options(**run.options) if run.options else engine.Options()
        if isolated:
            report: Any = _in_child(given, options, progress)
        else:
            report = engine.compare(given.documents, given.base, options, progress)
        services.save_report(run, given, report)
    except Exception as e:
        log.warning("similarity run %s failed: %s", run_id, e)
        SimilarityRun.objects.filter(pk=run_id, state=SimilarityRun.RUNNING).update(
            state=SimilarityRun.FAILED, finished_at=timezone.now(), error=str(e)[:2000] or repr(e)
        )
    return True


def _progress_writer(run_id: int) -> engine.Progress:
    last: dict[str, Any] = {"at": 0.0, "stage": ""}

    def write(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if stage == last["stage"] and done not in (0, total) and now - last["at"] < PROGRESS_EVERY_S:  # fmt: skip
            return
        last.update(at=now, stage=stage)
        SimilarityRun.objects.filter(pk=run_id, state=SimilarityRun.RUNNING).update(
            stage=stage, done=done, total=total, heartbeat_at=timezone.now()
        )

    return write


class EngineFailed(RuntimeError):
    pass


def _in_child(given: services.Inputs, options: engine.Options, progress: engine.Progress) -> dict[str, Any]:  # fmt: skip
    """The engine's report from ``python -m assay.similarity`` (its JSON lines protocol)."""
    body = {
        "documents": [
            {"key": d.key, "files": d.files, "current": d.current} for d in given.documents
        ],
        "base": given.base,
        "options": asdict(options),
    }
    nice = [shutil.which("nice") or "", "-n", "10"] if shutil.which("nice") else []
    with tempfile.TemporaryFile() as stdin, tempfile.TemporaryFile() as stderr:
        stdin.write(json.dumps(body).encode())
        stdin.seek(0)
        child = subprocess.Popen(
            [*nice, sys.executable, "-m", "assay.similarity"],
            stdin=stdin, stdout=subprocess.PIPE, stderr=stderr, text=True,
        )  # fmt: skip
        timed_out = threading.Event()

        def stop() -> None:
            timed_out.set()
            child.kill()

        watchdog = threading.Timer(TIMEOUT_S, stop)  # even if it says nothing more
        watchdog.start()
        report = None
        try:
            assert child.stdout is not None
            for line in child.stdout:
                message = json.loads(line)
                if "report" in message:
                    report = message["report"]
                else:
                    progress(message["stage"], message["done"], message["total"])
            child.wait(timeout=60)
        finally:
            watchdog.cancel()
            if child.poll() is None:
                child.kill()
                child.wait()
        if timed_out.is_set():
            raise EngineFailed(f"the comparison took more than {TIMEOUT_S} s: stopped")
        if child.returncode != 0 or report is None:
            stderr.seek(0)
            said = stderr.read().decode(errors="replace").strip().splitlines()
            raise EngineFailed(
                f"the comparison's process ended with {child.returncode}: "
                f"{said[-1] if said else 'no message'}"
            )
        return report


def watch() -> dict[str, int]:
    """The module's step 3 (the storer's loop calls it every second)."""
    stale = timezone.now() - dt.timedelta(seconds=STALE_S)
    requeued = failed = 0
    for run in SimilarityRun.objects.filter(state=SimilarityRun.RUNNING, heartbeat_at__lt=stale):
        if run.id in _held:
            continue  # this process runs it (a long step without progress): not lost
        if run.attempt >= MAX_ATTEMPTS:
            failed += SimilarityRun.objects.filter(pk=run.pk, state=SimilarityRun.RUNNING, heartbeat_at=run.heartbeat_at).update(  # fmt: skip
                state=SimilarityRun.FAILED, finished_at=timezone.now(),
                error=f"the storer stopped while comparing, {run.attempt} times",
            )  # fmt: skip
        else:
            requeued += SimilarityRun.objects.filter(
                pk=run.pk, state=SimilarityRun.RUNNING, heartbeat_at=run.heartbeat_at
            ).update(  # fmt: skip
                state=SimilarityRun.QUEUED
            )
    launched = 0
    for run_id in SimilarityRun.objects.filter(state=SimilarityRun.QUEUED).values_list("id", flat=True):  # fmt: skip
        if run_id not in _held:
            launch(run_id)
            launched += 1
    return {"requeued": requeued, "failed": failed, "launched": launched}
