"""`assay tester watch DIR`: a tester fed through a spool directory (the seed's Queue Manager)."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from assay.cli import app
from assay.tester import spool
from tests.conftest import EXAMPLES

runner = CliRunner()
SUM = EXAMPLES / "sum-c" / "solutions"


def wait_for(condition: Callable[[], object], timeout_s: float = 30.0, what: str = "") -> object:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what or condition}")


def make_bundle(tmp_path: Path, solution: Path, package: Path = EXAMPLES / "sum-c") -> bytes:
    target = tmp_path / "made_bundle.zip"
    result = runner.invoke(
        app, ["bundle", str(package), str(solution), "--out", str(target), "--job-id", "7"]
    )
    assert result.exit_code == 0, result.output
    return target.read_bytes()


def drop(course: Path, name: str, data: bytes) -> Path:
    """What the storer's push does: a temporary name, then a rename."""
    (course / "queue").mkdir(parents=True, exist_ok=True)
    temporary = course / "queue" / f".{name}.part"
    temporary.write_bytes(data)
    return temporary.rename(course / "queue" / name)


def result_doc(path: Path) -> dict:
    with zipfile.ZipFile(path) as zf:
        return yaml.safe_load(zf.read("result.yaml"))


@pytest.fixture
def watcher(tmp_path: Path) -> Iterator[tuple[spool.Watcher, list[str]]]:
    lines: list[str] = []
    w = spool.Watcher(tmp_path / "spool", tester_name="spool-test", report=lines.append)
    yield w, lines
    w.close()


def test_a_bundle_dropped_in_is_evaluated_and_its_result_appears(tmp_path, watcher):
    w, lines = watcher
    course = tmp_path / "spool" / "course1"
    drop(course, "7-1_bundle.zip", make_bundle(tmp_path, SUM / "accepted" / "sum.c"))
    assert w.run_once() == 1
    result = course / "results" / "7-1_result.zip"
    doc = result_doc(result)
    assert (doc["status"], doc["verdict"], doc["points"], doc["tester"]) == (
        "done",
        "AC",
        10,
        "spool-test",
    )
    with zipfile.ZipFile(result) as zf:
        names = set(zf.namelist())
    assert {"result.yaml", "build_stdout.vmr", "build_stderr.vmr", "1/run_stdout.vmr"} <= names
    assert not os.listdir(course / "queue") and not list((course / "running").rglob("*.zip"))
    assert any("7-1: taken" in line for line in lines)
    assert any("test 1 AC" in line for line in lines)
    assert any("AC 10/10 points" in line for line in lines)


def test_a_temporary_name_is_ignored_until_it_is_renamed(tmp_path, watcher):
    w, _ = watcher
    course = tmp_path / "spool" / "course1"
    (course / "queue").mkdir(parents=True)
    data = make_bundle(tmp_path, SUM / "accepted" / "sum.c")
    for temporary in (".8-1_bundle.zip.part", "8-1_bundle.zip.tmp", "8-1.zip"):
        (course / "queue" / temporary).write_bytes(data)
    assert w.run_once() == 0
    assert not os.listdir(course / "results")
    (course / "queue" / ".8-1_bundle.zip.part").rename(course / "queue" / "8-1_bundle.zip")
    assert w.run_once() == 1
    assert result_doc(course / "results" / "8-1_result.zip")["verdict"] == "AC"


@pytest.mark.parametrize(
    "garbage, message",
    [
        (b"this is not a zip", "not a zip archive"),
        ("bomb", "zip bomb"),
        ("traversal", "'..' is not allowed"),
        ("missing", "missing member"),
    ],
)
def test_a_bad_bundle_ends_in_failed_with_a_message(tmp_path, watcher, garbage, message):
    w, lines = watcher
    course = tmp_path / "spool" / "course1"
    if garbage == "bomb":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("archive.zip", b"\0" * (32 << 20))
        garbage = buf.getvalue()
    elif garbage == "traversal":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("../../escaped", b"x")
        garbage = buf.getvalue()
    elif garbage == "missing":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("run.sh", b"#!/bin/sh\n")
        garbage = buf.getvalue()
    drop(course, "9-2_bundle.zip", garbage)
    assert w.run_once() == 1
    assert (course / "failed" / "9-2_bundle.zip").read_bytes() == garbage
    assert message in (course / "failed" / "9-2_error.txt").read_text()
    doc = result_doc(course / "results" / "9-2_result.zip")
    assert (doc["status"], doc["job_id"], doc["attempt"]) == ("failed", "9", 2)
    assert doc["error"].startswith("BundleError:") and message in doc["error"]
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "spool" / "escaped").exists()
    assert any("refused" in line and message in line for line in lines)
    # the watcher stays healthy: the next bundle is evaluated
    drop(course, "10-1_bundle.zip", make_bundle(tmp_path, SUM / "accepted" / "sum.c"))
    assert w.run_once() == 1
    assert result_doc(course / "results" / "10-1_result.zip")["verdict"] == "AC"


def test_a_bundle_whose_result_was_written_is_not_taken_again(tmp_path):
    # a watcher killed after writing the result and before removing its bundle
    course = tmp_path / "spool" / "course1"
    spool.prepare(course)
    dead = course / "running" / "dead-1"
    dead.mkdir()
    (course / "running" / "dead-1.lock").write_text("")
    (dead / "11-1_bundle.zip").write_bytes(b"bundle")
    (dead / "12-1_bundle.zip").write_bytes(b"bundle")
    (course / "results" / "11-1_result.zip").write_bytes(b"result")
    assert spool.recover(course) == 1
    assert os.listdir(course / "queue") == ["12-1_bundle.zip"]
    assert not dead.exists() and not (course / "running" / "dead-1.lock").exists()


def test_a_live_watchers_bundles_are_not_put_back(tmp_path):
    course = tmp_path / "spool" / "course1"
    spool.prepare(course)
    live = spool.Claimant(course)
    live.open()
    drop(course, "13-1_bundle.zip", b"bundle")
    assert live.take("13-1_bundle.zip") is not None
    assert live.take("13-1_bundle.zip") is None  # taken once
    assert spool.recover(course) == 0
    assert (live.folder / "13-1_bundle.zip").exists()
    live.close()  # leaving cleanly puts it back
    assert os.listdir(course / "queue") == ["13-1_bundle.zip"]


# the accepted solution, after 0.3 s of wall time per test
SLOW_SOLUTION = b"sleep 0.3\ntr -s ' \\n' '\\n\\n' | grep -v '^$' | sort -u\n"


def _start_watcher(root: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "assay", "tester", "watch", str(root), "--name", "w"],
        stdout=open(log, "ab"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def test_a_watcher_killed_mid_job_and_restarted_evaluates_the_bundle_exactly_once(tmp_path):
    root = tmp_path / "spool"
    course = root / "course1"
    spool.prepare(course)
    solution = tmp_path / "slow.sh"
    solution.write_bytes(SLOW_SOLUTION)
    data = make_bundle(tmp_path, solution, EXAMPLES / "hello-bash")
    log = tmp_path / "watch.log"
    first = _start_watcher(root, log)
    try:
        wait_for(lambda: b"watching" in log.read_bytes(), what="the first watcher to start")
        drop(course, "14-1_bundle.zip", data)
        # mid-job: it has taken the bundle and started its tests
        wait_for(lambda: list((course / "running").glob("*/14-1_bundle.zip")), what="the claim")
        wait_for(lambda: b"14-1: bash" in log.read_bytes(), what="the evaluation to start")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        assert not (course / "results" / "14-1_result.zip").exists()
        second = _start_watcher(root, log)
        try:
            result = course / "results" / "14-1_result.zip"
            wait_for(result.exists, what="the result")
            doc = result_doc(result)
            assert (doc["status"], doc["verdict"]) == ("done", "AC")
            wait_for(lambda: not list((course / "running").glob("*/*.zip")), what="the cleanup")
            assert not os.listdir(course / "queue")
            text = log.read_text()
            assert (
                text.count("14-1: taken") == 2
            )  # the first watcher's, cut short, then the second's
            assert text.count("-> course1/results/14-1_result.zip") == 1
            assert "put back 14-1_bundle.zip" in text
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(20) == 0
    finally:
        if first.poll() is None:
            first.kill()
    assert not list((course / "running").iterdir())  # a clean stop leaves nothing behind


def test_a_tester_failure_is_reported_and_the_watcher_goes_on(tmp_path):
    def broken(bundle: Path, work: Path, report) -> dict:
        raise OSError("No space left on device")

    course = tmp_path / "spool" / "course1"
    w = spool.Watcher(tmp_path / "spool", evaluate=broken, report=lambda line: None)
    try:
        drop(course, "15-1_bundle.zip", make_bundle(tmp_path, SUM / "accepted" / "sum.c"))
        assert w.run_once() == 1
    finally:
        w.close()
    assert "No space left on device" in (course / "failed" / "15-1_error.txt").read_text()
    doc = result_doc(course / "results" / "15-1_result.zip")
    assert doc["status"] == "failed" and doc["error"].startswith("the tester failed: OSError")
