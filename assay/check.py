"""`assay check`: evaluate every reference solution of a package in the real sandbox and compare
its verdict with the one it is filed under (a package verifier)."""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assay.lib.workdir import scratch_dir
from assay.package.model import Assignment, Judge, PackageError, ReferenceSolution, Verdict
from assay.sandbox import Host
from assay.scoring import compute_score
from assay.tester.checker import CheckerError, PreparedChecker
from assay.tester.executor import Evaluation, Executor
from assay.tester.spec import (
    SubmissionError,
    checker_runtime,
    make_spec,
    read_files,
    with_includes,
)

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
# Kattis knows four verdicts per test: running out of memory or output is a run-time error
# (problemtools), a partial score is an accepted run
KATTIS_VERDICT = {Verdict.MLE: Verdict.RTE, Verdict.OLE: Verdict.RTE, Verdict.PA: Verdict.AC}
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
    verdict_high: str = ""  # the verdict at the time limit x time_limit_to_tle

    @property
    def sensitive(self) -> bool:
        return bool(self.verdict_high) and self.verdict_high != self.verdict

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.solution.name,
            "expected": str(self.solution.expected),
            "verdict": self.verdict,
            "verdict_at_tle_margin": self.verdict_high,
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
    """Evaluate the package's reference solutions (those named in ``only``, if given).

    1. The input validators check every test's input (a failure is reported, not fatal).
    2. Without a time limit in the package (Kattis), the accepted solutions run first with a
       generous cap; the limit is their slowest finished run x ``time_multiplier``, rounded up
       to ``time_resolution_s`` (as problemtools computes it). Their runs are kept, not redone.
    3. Every other solution runs once with the limit x ``time_limit_to_tle``; its verdicts at the
       limit itself are read off the same run (a test slower than the limit is TLE there), and a
       solution whose verdict differs between the two is noted as sensitive to the time limit.
    4. Each solution's verdicts are compared with what its folder expects (the whole
       submission's verdict for native packages; Kattis' permitted / required verdicts per test).
    """
    solutions = [
        s for s in assignment.solutions if not only or s.name in only or s.path.name in only
    ]
    if only and not solutions:
        raise PackageError(
            "submissions",
            f"no reference solution named {', '.join(only)}; the package has "
            f"{', '.join(s.name for s in assignment.solutions) or 'none'}",
        )
    notes = [f"warning: {w}" for w in assignment.warnings]
    if not assignment.solutions:
        notes.append("the package has no reference solutions: nothing was checked")
    work = scratch_dir("assay-check-")
    checker = None
    try:
        notes += validate_inputs(assignment, host, work / "validators", tick)
        if assignment.judge.checker is not None:
            spec_runtime = checker_runtime(assignment.judge.checker)
            checker = PreparedChecker.build(host, assignment.judge, *spec_runtime)
        executor = Executor(host, tester_name="assay check")
        runner = _Runner(assignment, executor, checker, out or work / "results", tick)
        done: dict[str, Run] = {}
        if not assignment.time_limit_known:
            # only solutions expected to pass every test in full bound the limit from below
            accepted = [
                s for s in solutions
                if s.expected is Verdict.AC and s.score_range is None
                and (s.permitted is None or s.permitted <= {Verdict.AC})
            ]  # fmt: skip
            limit = PROBE_TIME_LIMIT_S
            if accepted:
                for sol in accepted:
                    done[sol.name] = runner.run(sol, PROBE_TIME_LIMIT_S)
                slowest = max((r.slowest_finished() for r in done.values()), default=0.0)
                limit = time_limit_from(
                    slowest, assignment.time_multiplier, assignment.time_resolution_s
                )
                notes.append(
                    f"time limit {limit:g} s = slowest accepted run {slowest:.3f} s "
                    f"x {assignment.time_multiplier:g}, rounded up to "
                    f"{assignment.time_resolution_s:g} s (the package sets none)"
                )
            else:
                notes.append(
                    f"the package sets no time limit and no accepted solution was run to derive "
                    f"one: ran with {PROBE_TIME_LIMIT_S:g} s"
                )
            assignment.limits = assignment.limits.replace(cpu_time_s=limit, wall_time_s=None)
        limit = assignment.limits.cpu_time_s
        high = round(limit * assignment.time_limit_to_tle, 3)
        reports = []
        for sol in solutions:
            run = done.get(sol.name) or runner.run(sol, high)
            report = _report(sol, run, limit, assignment.format == "kattis")
            if run.evaluation is not None and report.sensitive:
                notes.append(
                    f"{sol.name} is sensitive to the time limit: {report.verdict} at {limit:g} s, "
                    f"{report.verdict_high} at {high:g} s"
                )
            reports.append(report)
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


@dataclass
class Run:
    """One evaluation of a reference solution at some cpu time limit."""

    evaluation: Evaluation | None
    error: str = ""  # the submission could not even be set up (no file to run, ...)
    groups: list[dict[str, Any]] = field(default_factory=list)
    cpu_limit_s: float = 0.0

    def slowest_finished(self) -> float:
        """The slowest cpu time among tests that finished (a timed-out test says nothing)."""
        if self.evaluation is None or self.evaluation.failed:
            return 0.0
        times = [
            float(t.get("cpu_time_s", 0.0))
            for t in self.evaluation.doc.get("tests", [])
            if t.get("verdict") not in (str(Verdict.TLE), str(Verdict.SKIP))
        ]
        return max(times, default=0.0)


class _Runner:
    def __init__(
        self, assignment: Assignment, executor: Executor, checker: PreparedChecker | None,
        out: Path, tick: Tick | None,
    ) -> None:  # fmt: skip
        self.assignment = assignment
        self.executor = executor
        self.checker = checker
        self.out = out
        self.tick = tick

    def run(self, sol: ReferenceSolution, cpu_limit_s: float) -> Run:
        a = self.assignment
        files = read_files(sol.path)
        saved = a.limits
        a.limits = saved.replace(cpu_time_s=cpu_limit_s, wall_time_s=None)
        try:
            spec = make_spec(a, files, job_id=sol.name, language=sol.language)
        except SubmissionError as e:
            return Run(None, error=str(e), cpu_limit_s=cpu_limit_s)
        finally:
            a.limits = saved
        scripts = {}
        if a.build_script:
            scripts["build.sh"] = a.build_script
        if a.run_script:
            scripts["run.sh"] = a.run_script

        def progress(step: str, entry: dict[str, Any]) -> None:
            if self.tick:
                self.tick(f"{sol.name}: {'build' if step == 'build' else entry['name']}")

        target = self.out / sol.name
        if target.exists():
            shutil.rmtree(target)
        evaluation = self.executor.evaluate(
            spec, with_includes(a, spec.runtime, files), {t.name: t for t in a.tests}, target,
            scripts=scripts, checker=self.checker, progress=progress,
        )  # fmt: skip
        return Run(evaluation, groups=spec.groups, cpu_limit_s=cpu_limit_s)


def at_limit(run: Run, cpu_limit_s: float) -> dict[str, Any]:
    """The run's result as it would be with a lower cpu time limit: every test that used more
    cpu time than that (or ended at the run's own limit) is TLE, and the score is computed
    again."""
    assert run.evaluation is not None
    doc = dict(run.evaluation.doc)
    if cpu_limit_s >= run.cpu_limit_s:
        return doc
    wall_limit = 2 * cpu_limit_s + 1.0  # the default wall limit of that cpu limit
    tests = []
    for t in doc.get("tests", []):
        t = dict(t)
        slow = float(t.get("cpu_time_s", 0.0)) > cpu_limit_s or (
            float(t.get("wall_time_s", 0.0)) > wall_limit
        )
        if slow and t.get("verdict") not in (str(Verdict.SKIP), str(Verdict.IE)):
            t.update(verdict=str(Verdict.TLE), score=0.0, status="TO")
        tests.append(t)
    score = compute_score(run.groups, tests, build_failed=doc["build"].get("status") != "OK")
    doc.update(
        tests=tests, verdict=str(score.verdict), points=score.points, max_points=score.max_points
    )
    return doc


def expectation_met(sol: ReferenceSolution, doc: dict[str, Any], kattis: bool) -> str:
    """'' when the result is what the solution's folder expects, else what is wrong."""
    verdict = Verdict(doc["verdict"])
    if sol.permitted is None:
        if kattis:
            verdict = KATTIS_VERDICT.get(verdict, verdict)
            expected = KATTIS_VERDICT.get(sol.expected, sol.expected)
            return "" if verdict is expected else f"got {verdict}, expected {expected}"
        return "" if verdict in ACCEPTS[sol.expected] else f"expected {sol.expected}"
    if verdict is Verdict.CE:
        wanted = sol.required or sol.permitted
        return "" if Verdict.CE in wanted else "does not compile"
    got = [
        (t["name"], KATTIS_VERDICT.get(Verdict(t["verdict"]), Verdict(t["verdict"])))
        for t in doc.get("tests", [])
    ]
    bad = [(n, v) for n, v in got if v not in sol.permitted]
    if bad:
        name, v = bad[0]
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        allowed = ", ".join(sorted(str(p) for p in sol.permitted))
        return f"got {v} on {name}{more}, which is not permitted (permitted: {allowed})"
    if sol.required and not any(v in sol.required for _, v in got):
        need = " or ".join(sorted(str(r) for r in sol.required))
        return f"no test got {need}"
    if sol.score_range is not None:
        low, high = sol.score_range
        points = float(doc.get("points", 0.0))
        if not low <= points <= high:
            return f"scored {points:g} points, expected between {low:g} and {high:g}"
    return ""


def _report(sol: ReferenceSolution, run: Run, limit: float, kattis: bool) -> SolutionReport:
    if run.evaluation is None:
        # the submission could not even be set up (e.g. no file to run): a compile error
        ok = sol.expected is Verdict.CE or bool(sol.permitted and Verdict.CE in sol.permitted)
        return SolutionReport(sol, str(Verdict.CE), ok, error=run.error)
    high_doc = run.evaluation.doc
    if run.evaluation.failed:
        return SolutionReport(
            sol, "IE", False, error=high_doc.get("error", ""), tests=high_doc.get("tests", [])
        )
    doc = at_limit(run, limit)
    problem = expectation_met(sol, doc, kattis)
    return SolutionReport(
        sol,
        doc["verdict"],
        not problem,
        points=doc["points"],
        max_points=doc["max_points"],
        error=problem,
        tests=doc["tests"],
        build=doc["build"],
        limits={**doc.get("limits", {}), "cpu_time_s": limit},
        verdict_high=high_doc["verdict"],
    )


def validate_inputs(
    assignment: Assignment, host: Host, work: Path, tick: Tick | None = None
) -> list[str]:
    """Run every input validator on every test's input; the notes name each failure."""
    notes: list[str] = []
    for source in assignment.input_validators:
        try:
            runtime, main = checker_runtime(source)
            judge = Judge(kind="checker", checker=source)
            judge.checker_limits = assignment.judge.checker_limits
            validator = PreparedChecker.build(host, judge, runtime, main)
        except (PackageError, CheckerError) as e:
            notes.append(f"input validator {source.name}: {e}")
            continue
        failed = 0
        try:
            for t in assignment.tests:
                if tick:
                    tick(f"input validator {source.name}: {t.name}")
                res = validator.validate_input(t.input, t.input_validator_args)
                if res:
                    failed += 1
                    notes.append(f"input validator {source.name} rejects {t.name}: {res}")
        finally:
            validator.close()
        if not failed:
            notes.append(
                f"input validator {source.name} accepts all {len(assignment.tests)} inputs"
            )
    return notes


def time_limit_from(slowest_s: float, multiplier: float, resolution_s: float = 1.0) -> float:
    """problemtools' rule: the slowest accepted time x the multiplier, rounded up to a multiple
    of the resolution, and at least one resolution step."""
    steps = max(1, math.ceil(round(slowest_s * multiplier / resolution_s, 9)))
    return round(steps * resolution_s, 6)
