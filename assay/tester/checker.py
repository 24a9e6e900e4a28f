"""Custom checkers and interactive validators, built once and run in a sandbox of their own.

Interface (the Kattis output validator's): ``checker INPUT ANSWER FEEDBACK_DIR [flags]`` with the
program's output on stdin; exit 42 = accepted, 43 = wrong answer; ``score.txt`` in the feedback
directory may hold a fraction 0..1 (partial score); ``judgemessage.txt`` a message for the teacher,
``teammessage.txt`` one for the student. An interactive validator talks to the program instead:
its stdout is the program's stdin and the program's stdout its stdin.
"""

from __future__ import annotations

import os
import select
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from assay.judges import JudgeResult
from assay.package.model import Judge, Verdict
from assay.runtimes import get_runtime
from assay.sandbox import VM, Host, Limits, RunResult, SandboxError, Status

ACCEPT, REJECT = 42, 43
JUDGE_DIR = "_judge"
FEEDBACK_DIR = f"{JUDGE_DIR}/feedback"
MESSAGE_CAP = 4096


class CheckerError(RuntimeError):
    """The checker itself failed to build or run: a fault of the package, not the student."""


@dataclass
class PreparedChecker:
    """A checker built in its own VM, ready to judge many outputs."""

    vm: VM
    run_command: list[str]
    limits: Limits
    flags: list[str]
    scratch: Path

    @classmethod
    def build(cls, host: Host, judge: Judge, runtime_name: str, main: str) -> PreparedChecker:
        assert judge.checker is not None
        runtime = get_runtime(runtime_name)
        vm = host.get_vm(box_size_kib=256 * 1024)
        scratch = Path(tempfile.mkdtemp(prefix="assay-checker-"))
        try:
            vm.copy_in(judge.checker, ".")
            src = judge.checker
            names = (
                [p.relative_to(src).as_posix() for p in src.rglob("*") if p.is_file()]
                if src.is_dir()
                else [src.name]
            )
            build = runtime.build_command(main, names)
            if build:
                limits = Limits(cpu_time_s=60, wall_time_s=120, memory_kib=1024 * 1024,
                                processes=64, output_kib=1024, open_files=256)  # fmt: skip
                res = vm.run(build, limits, stdout=scratch / "out", stderr=scratch / "err")
                if res.status is Status.XX:
                    raise SandboxError(res.message)
                if not res.ok:
                    text = (scratch / "err").read_bytes()[:MESSAGE_CAP].decode(errors="replace")
                    raise CheckerError(f"the checker does not build ({res.message}): {text}")
            limits = judge.checker_limits.replace(
                processes=judge.checker_limits.processes + runtime.extra_processes
            )
            memory_mib = judge.checker_limits.memory_kib // 1024
            return cls(
                vm, runtime.run_command(main, memory_mib), limits, judge.checker_flags, scratch
            )
        except BaseException:
            vm.destroy()
            shutil.rmtree(scratch, ignore_errors=True)
            raise

    def close(self) -> None:
        self.vm.destroy()
        shutil.rmtree(self.scratch, ignore_errors=True)

    def _prepare(self, input_path: Path, answer_path: Path) -> list[str]:
        vm = self.vm
        vm.write_file(f"{JUDGE_DIR}/input", input_path.read_bytes())
        vm.write_file(f"{JUDGE_DIR}/answer", answer_path.read_bytes())
        vm.make_dir(FEEDBACK_DIR, empty=True)
        box = vm.box_path
        return [
            *self.run_command,
            f"{box}/{JUDGE_DIR}/input",
            f"{box}/{JUDGE_DIR}/answer",
            f"{box}/{FEEDBACK_DIR}/",
            *self.flags,
        ]

    def _feedback(self, name: str) -> str | None:
        path = self.scratch / name
        try:
            self.vm.copy_out(f"{FEEDBACK_DIR}/{name}", path)
        except FileNotFoundError:
            return None
        return path.read_bytes()[:MESSAGE_CAP].decode(errors="replace").strip()

    def verdict(self, res: RunResult) -> JudgeResult:
        """Turn the checker's run into a verdict (42/43 + feedback files)."""
        if res.status is Status.XX:
            raise SandboxError(res.message)
        judge_msg = self._feedback("judgemessage.txt") or ""
        team_msg = self._feedback("teammessage.txt") or ""
        message = "; ".join(m for m in (team_msg, judge_msg) if m)
        if res.exit_code not in (ACCEPT, REJECT) or res.status not in (Status.OK, Status.RE):
            stderr = (
                (self.scratch / "checker_stderr")
                .read_bytes()[:MESSAGE_CAP]
                .decode(errors="replace")
            )
            return JudgeResult(
                Verdict.IE, 0.0,
                f"checker failed ({res.status}: {res.message or 'exit code ' + str(res.exit_code)}) {stderr}".strip(),
            )  # fmt: skip
        score_text = self._feedback("score.txt")
        if score_text is not None:
            try:
                score = min(max(float(score_text.split()[0]), 0.0), 1.0)
            except (ValueError, IndexError):
                return JudgeResult(
                    Verdict.IE,
                    0.0,
                    f"checker wrote a score.txt that is not a number: {score_text!r}",
                )
            if res.exit_code == REJECT and score == 0:
                return JudgeResult(Verdict.WA, 0.0, message)
            if score >= 1.0 and res.exit_code == ACCEPT:
                return JudgeResult(Verdict.AC, 1.0, message)
            return JudgeResult(Verdict.PA if score > 0 else Verdict.WA, score, message)
        if res.exit_code == ACCEPT:
            return JudgeResult(Verdict.AC, 1.0, message)
        return JudgeResult(Verdict.WA, 0.0, message)

    def check(self, input_path: Path, answer_path: Path, output_path: Path) -> JudgeResult:
        command = self._prepare(input_path, answer_path)
        res = self.vm.run(
            command, self.limits, stdin=output_path,
            stdout=os.devnull, stderr=self.scratch / "checker_stderr",
        )  # fmt: skip
        return self.verdict(res)

    def interact(
        self,
        program_vm: VM,
        program_command: list[str],
        program_limits: Limits,
        input_path: Path,
        answer_path: Path,
        program_stderr: Path,
        env: dict[str, str] | None = None,
    ) -> tuple[RunResult, JudgeResult]:
        """Run the program against the interactive validator; return (program run, verdict)."""
        command = self._prepare(input_path, answer_path)
        to_validator_r, to_validator_w = os.pipe()
        to_program_r, to_program_w = os.pipe()
        try:
            validator = self.vm.start(
                command, self.limits.replace(wall_time_s=max(
                    self.limits.effective_wall_time_s, program_limits.effective_wall_time_s + 1)),
                stdin=to_validator_r, stdout=to_program_w, stderr=self.scratch / "checker_stderr",
            )  # fmt: skip
            program = program_vm.start(
                program_command, program_limits,
                stdin=to_program_r, stdout=to_validator_w, stderr=program_stderr, env=env,
            )  # fmt: skip
            first = _FirstToHangUp(program_side=to_validator_r, validator_side=to_program_r)
        finally:
            for fd in (to_validator_r, to_validator_w, to_program_r, to_program_w):
                os.close(fd)
        program_result = program.wait()
        validator_result = validator.wait()
        first.join()
        verdict = self.verdict(validator_result)
        # As Kattis judges: the validator's wrong answer decides when the validator ended first
        # (the program then failed only because its pipes closed); when the program ended first
        # (it crashed or was killed at a limit, and the validator then read end of file), the
        # program's failure is its verdict. When both were seen ending at once, a program killed
        # at a limit counts as first (the limit cannot be the validator's doing).
        program_first = first.side == "program" or (
            first.side == "both" and program_result.status in (Status.TO, Status.ML, Status.OL)
        )
        if verdict.verdict is Verdict.WA and (
            program_result.status is Status.OK or not program_first
        ):
            return program_result, verdict
        if program_result.status is not Status.OK:
            return program_result, verdict_of_run(program_result)
        return program_result, verdict


class _FirstToHangUp(threading.Thread):
    """Which end of an interaction closed its output first, the program's or the validator's.

    Watches a duplicate of the read end of each pipe for the hang-up (every writer gone, the
    sandbox's own processes included), which orders the two ends exactly where wall times
    cannot. The duplicates are closed at the first hang-up, so that writing to a peer that has
    gone still fails (EPIPE) rather than filling a pipe nobody reads."""

    def __init__(self, program_side: int, validator_side: int) -> None:
        super().__init__(daemon=True)
        self.fds = {os.dup(program_side): "program", os.dup(validator_side): "validator"}
        self.side: str | None = None
        self.start()

    def run(self) -> None:
        try:
            poller = select.poll()
            for fd in self.fds:
                poller.register(fd, 0)  # hang-up and error are reported without asking
            while self.side is None:
                ended = [self.fds[fd] for fd, _ in poller.poll() if fd in self.fds]
                if ended:
                    self.side = ended[0] if len(ended) == 1 else "both"
        finally:
            for fd in self.fds:
                os.close(fd)

    def join(self, timeout: float | None = 5.0) -> None:
        super().join(timeout)  # both processes have ended by now, so both have hung up


def verdict_of_run(res: RunResult) -> JudgeResult:
    """The verdict of a run that did not end OK (its output is not judged)."""
    mapping = {
        Status.TO: Verdict.TLE,
        Status.ML: Verdict.MLE,
        Status.OL: Verdict.OLE,
        Status.RE: Verdict.RTE,
        Status.SG: Verdict.RTE,
        Status.XX: Verdict.IE,
    }
    return JudgeResult(mapping[res.status], 0.0, res.message)
