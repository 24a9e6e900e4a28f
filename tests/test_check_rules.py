"""`assay check`'s rules: the Kattis verdict expectations, the time limit derived from the accepted
solutions, the verdicts at the limit read off one run at the limit x time_limit_to_tle, multi-pass
tests, and input validators."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay.check import Run, at_limit, check_package, expectation_met, time_limit_from
from assay.package.model import (
    Assignment,
    Judge,
    ReferenceSolution,
    Verdict,
)
from assay.package.model import TestCase as Case
from assay.package.model import TestGroup as Group
from assay.package.native import DEFAULT_BUILD_LIMITS, DEFAULT_RUN_LIMITS
from assay.tester.executor import Evaluation

AC, WA, TLE, RTE, MLE = Verdict.AC, Verdict.WA, Verdict.TLE, Verdict.RTE, Verdict.MLE


def test_the_time_limit_is_rounded_up_to_the_resolution_as_problemtools_does():
    assert time_limit_from(0.21, 2.0, 0.1) == 0.5
    assert time_limit_from(0.21, 5.0, 1.0) == 2.0  # legacy: whole seconds
    assert time_limit_from(0.01, 2.0, 1.0) == 1.0  # at least one step
    assert time_limit_from(0.25, 2.0, 0.5) == 0.5  # exactly on a step stays there
    assert time_limit_from(0.21, 3, 0.1) == 0.7
    assert time_limit_from(0.2, 2, 0.1) == 0.4  # not 0.5 by rounding error
    assert time_limit_from(1.26, 2, 0.5) == 3.0
    assert time_limit_from(0.0, 2, 1.0) == 1.0


def doc(*verdicts: Verdict, points: float = 0.0) -> dict:
    tests = [{"name": f"t{i}", "verdict": str(v)} for i, v in enumerate(verdicts, 1)]
    first_bad = next((v for v in verdicts if v is not AC), AC)
    return {"verdict": str(first_bad), "tests": tests, "points": points}


def kattis_solution(folder: str, permitted: set, required: set | None) -> ReferenceSolution:
    return ReferenceSolution(f"{folder}/x.py", Verdict.TLE, Path("x.py"), permitted, required)


TLE_FOLDER = kattis_solution("time_limit_exceeded", {AC, WA, TLE}, {TLE})
RTE_FOLDER = kattis_solution("run_time_error", {AC, WA, TLE, RTE}, {RTE})


def test_a_tle_solution_may_be_wrong_elsewhere_as_long_as_it_times_out_once():
    assert expectation_met(TLE_FOLDER, doc(WA, TLE, AC), kattis=True) == ""
    assert "no test got TLE" in expectation_met(TLE_FOLDER, doc(WA, WA), kattis=True)
    assert "not permitted" in expectation_met(TLE_FOLDER, doc(TLE, RTE), kattis=True)


def test_running_out_of_memory_is_a_run_time_error_in_kattis_packages():
    assert expectation_met(RTE_FOLDER, doc(AC, MLE), kattis=True) == ""
    legacy = ReferenceSolution("run_time_error/m.cc", RTE, Path("m.cc"))
    assert expectation_met(legacy, doc(AC, MLE), kattis=True) == ""
    # a native package keeps its own MLE verdict
    assert expectation_met(legacy, doc(AC, MLE), kattis=False) != ""


def test_a_partially_accepted_solution_needs_a_score_in_its_range():
    pac = ReferenceSolution("partially_accepted/p.py", AC, Path("p.py"), {AC, WA}, None, (1, 9.99))
    assert expectation_met(pac, doc(AC, WA, points=5), kattis=True) == ""
    assert "scored 10 points" in expectation_met(pac, doc(AC, AC, points=10), kattis=True)


def test_the_verdict_at_the_limit_is_read_off_a_run_at_the_higher_limit():
    tests = [
        {"name": "fast", "verdict": "AC", "score": 1.0, "cpu_time_s": 0.2, "wall_time_s": 0.3},
        {"name": "slow", "verdict": "AC", "score": 1.0, "cpu_time_s": 1.2, "wall_time_s": 1.3},
    ]
    evaluation = Evaluation(
        {"verdict": "AC", "tests": tests, "build": {"status": "OK"}, "points": 2},
        Path("."),
    )
    groups = [{"name": "all", "points": 2, "scoring": "proportional", "tests": ["fast", "slow"]}]
    run = Run(evaluation, groups=groups, cpu_limit_s=1.5)
    low = at_limit(run, 1.0)
    assert [t["verdict"] for t in low["tests"]] == ["AC", "TLE"]
    assert (low["verdict"], low["points"]) == ("TLE", 1.0)
    assert at_limit(run, 1.5)["verdict"] == "AC"


# --- in the sandbox ---------------------------------------------------------------------------


def make_assignment(tmp_path: Path, judge: Judge, inputs: dict[str, str], **kw) -> Assignment:
    data = tmp_path / "data"
    data.mkdir()
    tests = []
    for name, text in inputs.items():
        (data / f"{name}.in").write_text(text)
        (data / f"{name}.ans").write_text(text)
        tests.append(Case(name=name, input=data / f"{name}.in", answer=data / f"{name}.ans"))
    return Assignment(
        root=tmp_path,
        title="rules",
        runtime=None,
        limits=DEFAULT_RUN_LIMITS.replace(cpu_time_s=2.0),
        build_limits=DEFAULT_BUILD_LIMITS,
        judge=judge,
        tests=tests,
        groups=[Group("all", 1.0, "all", [t.name for t in tests])],
        points=1.0,
        format="kattis",
        **kw,
    )


def solution(tmp_path: Path, folder: str, name: str, code: str, expected: Verdict, **kw):
    path = tmp_path / "submissions" / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(code)
    return ReferenceSolution(f"{folder}/{name}", expected, path, **kw)


# pass n: the program gets n and must print n+1; the validator asks for a next pass until 3
MULTI_PASS_VALIDATOR = """
import sys
n = int(open(sys.argv[1]).read())
out = sys.stdin.read().split()
if out != [str(n + 1)]:
    sys.exit(43)
if n + 1 < 3:
    open(sys.argv[3] + "nextpass.in", "w").write(str(n + 1))
sys.exit(42)
"""
PLUS_ONE = "print(int(input()) + 1)\n"


def multi_pass(tmp_path: Path, passes: int) -> Assignment:
    validator = tmp_path / "output_validator"
    validator.mkdir()
    (validator / "validate.py").write_text(MULTI_PASS_VALIDATOR)
    a = make_assignment(
        tmp_path, Judge(kind="checker", checker=validator), {"one": "1\n"},
        validation_passes=passes,
    )  # fmt: skip
    a.solutions = [solution(tmp_path, "accepted", "plus.py", PLUS_ONE, AC)]
    return a


def test_a_multi_pass_test_runs_the_program_again_on_the_validators_next_input(host, tmp_path):
    report = check_package(multi_pass(tmp_path, passes=3), host)
    (sol,) = report.solutions
    assert sol.ok, sol.to_dict()
    assert sol.tests[0]["passes"] == 2 and sol.tests[0]["verdict"] == "AC"


def test_a_validator_asking_for_a_pass_beyond_the_limit_fails_the_evaluation(host, tmp_path):
    a = multi_pass(tmp_path, passes=2)
    (a.tests[0].input).write_text("0\n")  # 0 -> 1 -> 2 -> would need a third pass
    report = check_package(a, host)
    (sol,) = report.solutions
    assert sol.verdict == "IE" and "validation_passes" in sol.error


BURN = """
import time
end = time.process_time() + {seconds}
while time.process_time() < end:
    pass
print(input())
"""


def test_the_time_limit_comes_from_the_accepted_runs_and_tle_runs_at_the_margin(host, tmp_path):
    a = make_assignment(
        tmp_path, Judge(kind="tokens"), {"a": "1\n", "b": "2\n"},
        time_limit_known=False, time_multiplier=2.0, time_limit_to_tle=1.5,
        time_resolution_s=0.5,
    )  # fmt: skip
    a.solutions = [
        solution(tmp_path, "accepted", "ok.py", BURN.format(seconds=0.3), AC),
        solution(tmp_path, "time_limit_exceeded", "loop.py", BURN.format(seconds=60), TLE,
                 permitted={AC, WA, TLE}, required={TLE}),
    ]  # fmt: skip
    report = check_package(a, host)
    ok, loop = report.solutions
    # 0.3 s x 2 = 0.6..0.7 s, rounded up to 0.5 s steps: 1.0 s
    assert report.limits["cpu_time_s"] == 1.0, report.notes
    assert ok.ok and loop.ok, (ok.to_dict(), loop.to_dict())
    # the looping solution ran until the margin (1.5 s), not until the probe's cap
    assert all(1.4 < t["cpu_time_s"] < 2.5 for t in loop.tests), loop.tests


VALIDATOR = """
import sys
text = sys.stdin.read()
sys.exit(42 if text.strip().isdigit() else 43)
"""


def test_input_validators_check_every_input(host, tmp_path):
    source = tmp_path / "input_validators" / "digits.py"
    source.parent.mkdir()
    source.write_text(VALIDATOR)
    a = make_assignment(
        tmp_path, Judge(kind="tokens"), {"good": "12\n", "bad": "x\n"}, input_validators=[source]
    )
    report = check_package(a, host)
    rejected = [n for n in report.notes if "rejects" in n]
    assert rejected == ["input validator digits.py rejects bad: invalid"], report.notes


@pytest.mark.parametrize("folder", ["time_limit_exceeded"])
def test_a_tle_solution_that_never_times_out_is_reported(host, tmp_path, folder):
    a = make_assignment(tmp_path, Judge(kind="tokens"), {"a": "1\n"})
    a.solutions = [
        solution(tmp_path, folder, "fast.py", "print(input())\n", TLE,
                 permitted={AC, WA, TLE}, required={TLE}),
    ]  # fmt: skip
    (sol,) = check_package(a, host).solutions
    assert not sol.ok and "no test got TLE" in sol.error
