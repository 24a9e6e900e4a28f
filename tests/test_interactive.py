"""Interactive judging: the program and the validator talk through two pipes.

The rules (problemtools' and Kattis'): the program's output stays open until both have ended,
so no verdict depends on a SIGPIPE race; a program still running after the validator's verdict
gets the validator's verdict; a program that fails before the validator ends gets its own.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assay.package.model import Judge, Verdict
from assay.runtimes import get_runtime
from assay.sandbox import Limits
from assay.tester.checker import PreparedChecker

# reads one number from the program and accepts it if it is 7; writes the question first
VALIDATOR = """
import sys
print("guess", flush=True)
line = sys.stdin.readline()
sys.exit(42 if line.strip() == "7" else 43)
"""
PROGRAM_LIMITS = Limits(cpu_time_s=2, wall_time_s=4, memory_kib=64 * 1024, processes=1)


@pytest.fixture
def checker(host, tmp_path):
    source = tmp_path / "validator"
    source.mkdir()
    (source / "validate.py").write_text(VALIDATOR)
    judge = Judge(kind="interactive", checker=source)
    judge.checker_limits = Limits(cpu_time_s=5, memory_kib=128 * 1024, processes=1)
    prepared = PreparedChecker.build(host, judge, "python3", "validate.py")
    yield prepared
    prepared.close()


def interact(host, checker, tmp_path: Path, program: str):
    vm = host.get_vm()
    try:
        vm.write_file("main.py", program.encode())
        data = tmp_path / "in"
        data.write_text("7\n")
        command = get_runtime("python3").run_command("main.py", 64)
        return checker.interact(
            vm, command, PROGRAM_LIMITS, data, data, tmp_path / "program_stderr"
        )
    finally:
        vm.destroy()


ANSWER_THEN_FLOOD = """
import sys
sys.stdin.readline()
print(7, flush=True)
while True:  # goes on writing long after the validator has accepted
    sys.stdout.write("x" * 4096 + "\\n")
    sys.stdout.flush()
"""


def test_a_program_still_writing_after_the_verdict_gets_the_validators_verdict(
    host, checker, tmp_path
):
    for _ in range(3):
        res, judged = interact(host, checker, tmp_path, ANSWER_THEN_FLOOD)
        assert judged.verdict is Verdict.AC, (res, judged)


ANSWER_THEN_MORE = """
import sys, time
sys.stdin.readline()
print(7, flush=True)
time.sleep(0.2)  # the validator has accepted and exited by now
print("a last line", flush=True)  # with a closed pipe this would be SIGPIPE / BrokenPipeError
"""


def test_writing_after_the_validator_ended_is_not_a_run_time_error(host, checker, tmp_path):
    res, judged = interact(host, checker, tmp_path, ANSWER_THEN_MORE)
    assert judged.verdict is Verdict.AC, (res, judged)
    assert res.ok, res


WRONG_THEN_LOOP = """
import sys
sys.stdin.readline()
print(8, flush=True)
while True:
    pass
"""


def test_a_wrong_answer_stays_wrong_when_the_program_goes_on(host, checker, tmp_path):
    res, judged = interact(host, checker, tmp_path, WRONG_THEN_LOOP)
    assert judged.verdict is Verdict.WA, (res, judged)


CRASH_FIRST = """
import sys
sys.stdin.readline()
raise SystemExit(3)
"""


def test_a_program_that_crashes_first_gets_a_run_time_error(host, checker, tmp_path):
    res, judged = interact(host, checker, tmp_path, CRASH_FIRST)
    assert judged.verdict is Verdict.RTE, (res, judged)
