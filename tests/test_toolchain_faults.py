"""A toolchain the box cannot see is the tester's fault, never the student's: the job fails over
(``ToolchainError``, retried elsewhere) and the tester stops offering that runtime."""

from __future__ import annotations

import pytest

from assay.package import open_package
from assay.runtimes import verify
from assay.tester import worker
from assay.tester.executor import Executor
from assay.tester.spec import make_spec, read_files
from assay.tester.worker import offered_runtimes

from .conftest import EXAMPLES

# C as a tester would have it if its compiler lived outside the box (rustup in root's home...)
BROKEN_C = """\
name: c
title: C (a compiler the box cannot see)
extensions: [.c]
companions: [.h]
debian: [gcc]
version: not-in-the-box-cc --version
build: not-in-the-box-cc -o main {sources}
run: ./main
entry: none
hello:
  file: hello.c
  source: 'int main(void) { return 0; }'
"""
GHOST = BROKEN_C.replace("name: c", "name: ghost").replace("[.c]", "[.ghost]")


@pytest.fixture
def broken_c(tmp_path, monkeypatch):
    defs = tmp_path / "defs"
    defs.mkdir()
    (defs / "c.yaml").write_text(BROKEN_C)
    (defs / "ghost.yaml").write_text(GHOST)
    monkeypatch.setenv("ASSAY_RUNTIMES_DIR", str(defs))
    monkeypatch.setattr(verify, "_verified_here", set())


def evaluate_sum(host, tmp_path, **executor_options):
    with open_package(EXAMPLES / "sum-c") as a:
        sol = next(s for s in a.solutions if s.expected == "AC")
        files = read_files(sol.path)
        spec = make_spec(a, files)
        return Executor(host, **executor_options).evaluate(
            spec, files, {t.name: t for t in a.tests}, tmp_path / "result"
        )


def test_a_runtime_that_fails_verification_fails_the_job_not_the_student(host, tmp_path, broken_c):
    ev = evaluate_sum(host, tmp_path)
    assert ev.failed and ev.doc["error"].startswith("ToolchainError: runtime c"), ev.doc
    assert "verdict" not in ev.doc


def test_a_build_that_finds_no_compiler_fails_the_job_not_the_student(host, tmp_path, broken_c):
    ev = evaluate_sum(host, tmp_path, verify_runtimes=False)
    assert ev.failed and "found no compiler" in ev.doc["error"], ev.doc
    assert ev.doc["error"].startswith("ToolchainError")


def test_a_tester_offers_only_the_runtimes_that_work_in_its_sandbox(host, broken_c, capsys):
    assert offered_runtimes(["python3", "ghost"]) == ["python3"]
    assert "not offering runtime ghost" in capsys.readouterr().err
    # what the first heartbeat tells the storer: the version the sandbox printed
    assert set(worker.VERSIONS) == {"python3"} and worker.VERSIONS["python3"].startswith(
        "Python 3."
    )
    with pytest.raises(ValueError, match="no runtime works"):
        offered_runtimes(["ghost"])
    with pytest.raises(ValueError, match="unknown runtime"):
        offered_runtimes(["klingon"])
