"""`assay check`: evaluate every reference solution of a package in the real sandbox and compare
its verdict with the one it is filed under (a package verifier)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assay.package.kattis import time_limit_from
from assay.package.model import Assignment, ReferenceSolution, Verdict
from assay.sandbox import Host
from assay.tester.checker import PreparedChecker
from assay.tester.executor import Evaluation, Executor
from assay.tester.spec import SubmissionError, checker_runtime, make_spec, read_files

# a solution filed under a verdict passes when its overall verdict is one of these
ACCEPTS = {
    Verdict.AC: {Verdict.AC},
    Verdict.WA: {Verdict.WA, Verdict.PA},
    Verdict.TLE: {Verdict.TLE},
    Verdict.MLE: {Verdict.MLE},
    Verdict.RTE: {Verdict.RTE},
    Verdict.OLE: {Verdict.OLE},
    Verdict.CE: {Verdict.CE},
}
# used to measure accepted solutions when a Kattis package leaves the time limit to them
PROBE_TIME_LIMIT_S = 10.0


@dataclass
class SolutionReport:
    solution: ReferenceSolution
    verdict: str
    ok: bool
    points: float = 0.0
    max_points: float = 0.0
    error: str = ""
    tests: list[dict[str, Any]] = field(default_factory=list)
    build: dict[str, Any] = field(default_factory=dict)
    limits: dict[str, Any] = field(default_factory=dict)  # as applied (runtime overheads included)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.solution.name,
            "expected": str(self.solution.expected),
            "verdict": self.verdict,
            "ok": self.ok,
            "points": self.points,
            "max_points": self.max_points,
            "error": self.error,
            "build": self.build,
            "limits": self.limits,
            "tests": self.tests,
        }


@dataclass
class CheckReport:
    title: str
    format: str
    limits: dict[str, Any]
    solutions: list[SolutionReport]
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.solutions) and all(s.ok for s in self.solutions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "format": self.format,
            "ok": self.ok,
            "limits": self.limits,
            "notes": self.notes,
            "solutions": [s.to_dict() for s in self.solutions],
        }


Tick = Callable[[str], None]


def check_package(
    assignment: Assignment,
    host: Host,
    *,
    only: list[str] | None = None,
    out: Path | None = None,
    tick: Tick | None = None,
) -> CheckReport:
    """Evaluate the package's reference solutions (those named in ``only``, if given)."""
    solutions = [
        s for s in assignment.solutions if not only or s.name in only or s.path.name in only
    ]
    notes = []
    if not assignment.solutions:
        notes.append("the package has no reference solutions: nothing was checked")
    work = Path(tempfile.mkdtemp(prefix="assay-check-"))
    checker = None
    try:
        if assignment.judge.checker is not None:
            spec_runtime = checker_runtime(assignment.judge.checker)
            checker = PreparedChecker.build(host, assignment.judge, *spec_runtime)
        executor = Executor(host, tester_name="assay check")
        if not assignment.time_limit_known:
            slowest = _probe_time_limit(assignment, executor, checker, work, tick)
            if slowest is not None:
                limit = time_limit_from(slowest, assignment.time_multiplier)
                assignment.limits = assignment.limits.replace(cpu_time_s=limit, wall_time_s=None)
                notes.append(
                    f"time limit {limit} s = slowest accepted run {slowest:.3f} s "
                    f"x {assignment.time_multiplier} (no .timelimit in the package)"
                )
        reports = []
        for sol in solutions:
            target = (out / sol.name) if out else work / "results" / sol.name
            evaluation = _evaluate(assignment, sol, executor, checker, target, tick)
            reports.append(_report(sol, evaluation))
        return CheckReport(
            title=assignment.title,
            format=assignment.format,
            limits=assignment.limits.to_dict(),
            solutions=reports,
            notes=notes,
        )
    finally:
        if checker is not None:
            checker.close()
        shutil.rmtree(work, ignore_errors=True)


def _evaluate(
    assignment: Assignment,
    sol: ReferenceSolution,
    executor: Executor,
    checker: PreparedChecker | None,
    out: Path,
    tick: Tick | None,
) -> Evaluation | str:
    files = read_files(sol.path)
    try:
        spec = make_spec(assignment, files, job_id=sol.name)
    except SubmissionError as e:
        return str(e)
    scripts = {}
    if assignment.build_script:
        scripts["build.sh"] = assignment.build_script
    if assignment.run_script:
        scripts["run.sh"] = assignment.run_script

    def progress(step: str, entry: dict[str, Any]) -> None:
        if tick:
            tick(f"{sol.name}: {'build' if step == 'build' else entry['name']}")

    return executor.evaluate(
        spec, files, {t.name: t for t in assignment.tests}, out,
        scripts=scripts, checker=checker, progress=progress,
    )  # fmt: skip


def _probe_time_limit(
    assignment: Assignment,
    executor: Executor,
    checker: PreparedChecker | None,
    work: Path,
    tick: Tick | None,
) -> float | None:
    accepted = [s for s in assignment.solutions if s.expected is Verdict.AC]
    if not accepted:
        return None
    saved = assignment.limits
    assignment.limits = saved.replace(
        cpu_time_s=PROBE_TIME_LIMIT_S, wall_time_s=2 * PROBE_TIME_LIMIT_S
    )
    slowest = 0.0
    try:
        for sol in accepted:
            ev = _evaluate(assignment, sol, executor, checker, work / "probe" / sol.name, tick)
            if isinstance(ev, Evaluation) and not ev.failed:
                for t in ev.doc.get("tests", []):
                    slowest = max(slowest, float(t.get("cpu_time_s", 0.0)))
    finally:
        assignment.limits = saved
    return slowest


def _report(sol: ReferenceSolution, evaluation: Evaluation | str) -> SolutionReport:
    if isinstance(evaluation, str):
        # the submission could not even be set up (e.g. no file to run): a compile error
        ok = sol.expected is Verdict.CE
        return SolutionReport(sol, str(Verdict.CE), ok, error=evaluation)
    doc = evaluation.doc
    if evaluation.failed:
        return SolutionReport(
            sol, "IE", False, error=doc.get("error", ""), tests=doc.get("tests", [])
        )
    verdict = Verdict(doc["verdict"])
    return SolutionReport(
        sol,
        str(verdict),
        verdict in ACCEPTS[sol.expected],
        points=doc["points"],
        max_points=doc["max_points"],
        tests=doc["tests"],
        build=doc["build"],
        limits=doc.get("limits", {}),
    )
