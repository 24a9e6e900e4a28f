"""Custom checkers and interactive validators, built once and run in a sandbox of their own.

Interface (the Kattis output validator's): ``checker INPUT ANSWER FEEDBACK_DIR [flags]`` with the
program's output on stdin; exit 42 = accepted, 43 = wrong answer; ``score.txt`` in the feedback
directory may hold a fraction 0..1 (partial score); ``judgemessage.txt`` a message for the teacher,
``teammessage.txt`` one for the student. An interactive validator talks to the program instead:
its stdout is the program's stdin and the program's stdout its stdin.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from assay.judges import JudgeResult
from assay.lib.workdir import scratch_dir
from assay.package.model import Judge, Verdict
from assay.runtimes import get_runtime
from assay.runtimes.verify import build_limits
from assay.sandbox import VM, Host, Limits, RunResult, SandboxError, Status

ACCEPT, REJECT = 42, 43
JUDGE_DIR = "_judge"
FEEDBACK_DIR = f"{JUDGE_DIR}/feedback"
MESSAGE_CAP = 4096
NEXT_PASS = "nextpass.in"
CHECKER_BUILD_LIMITS = Limits(
    cpu_time_s=60, wall_time_s=120, memory_kib=1024 * 1024, processes=64, output_kib=1024,
    open_files=256,
)  # fmt: skip  # multi-pass: the validator's input for the next pass


def _head(path: Path, cap: int = MESSAGE_CAP) -> bytes:
    """The first bytes of a file a program wrote (never the whole of it: it may be huge)."""
    with open(path, "rb") as f:
        return f.read(cap)


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
    binds: dict[str, Path] | None = None  # host directories the checker's runtime reads

    @classmethod
    def build(
        cls, host: Host, judge: Judge, runtime_name: str, main: str, image: str | None = None
    ) -> PreparedChecker:
        """``image``: the course image the job runs on; the checker runs on it too (what the
        teacher's checker needs, numpy say, is on the image, not on the tester host)."""
        assert judge.checker is not None
        runtime = get_runtime(runtime_name)
        vm = host.get_vm(box_size_kib=256 * 1024, image=image)
        scratch = scratch_dir("assay-checker-")
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
                limits = build_limits(runtime, CHECKER_BUILD_LIMITS)
                res = vm.run(
                    build, limits, stdout=scratch / "out", stderr=scratch / "err",
                    readonly_binds=runtime.readonly_binds or None,
                )  # fmt: skip
                if res.status is Status.XX:
                    raise SandboxError(res.message)
                if not res.ok:
                    text = _head(scratch / "err").decode(errors="replace")
                    raise CheckerError(f"the checker does not build ({res.message}): {text}")
            limits = judge.checker_limits.replace(
                processes=judge.checker_limits.processes + runtime.extra_processes,
                open_files=judge.checker_limits.open_files + runtime.extra_open_files,
            )
            memory_mib = judge.checker_limits.memory_kib // 1024
            return cls(
                vm, runtime.run_command(main, memory_mib), limits, judge.checker_flags, scratch,
                runtime.readonly_binds or None,
            )  # fmt: skip
        except BaseException:
            vm.destroy()
            shutil.rmtree(scratch, ignore_errors=True)
            raise

    def close(self) -> None:
        self.vm.destroy()
        shutil.rmtree(self.scratch, ignore_errors=True)

    def _prepare(
        self, input_path: Path, answer_path: Path, flags: list[str] | None = None,
        fresh: bool = True,
    ) -> list[str]:  # fmt: skip
        """The checker's command for one test; ``fresh``: empty the feedback directory (a
        multi-pass test keeps it from one pass to the next: the validator's memory)."""
        vm = self.vm
        vm.write_file(f"{JUDGE_DIR}/input", input_path.read_bytes())
        vm.write_file(f"{JUDGE_DIR}/answer", answer_path.read_bytes())
        vm.make_dir(FEEDBACK_DIR, empty=fresh)
        box = vm.box_path
        return [
            *self.run_command,
            f"{box}/{JUDGE_DIR}/input",
            f"{box}/{JUDGE_DIR}/answer",
            f"{box}/{FEEDBACK_DIR}/",
            *(self.flags if flags is None else flags),
        ]

    def next_pass_input(self, number: int) -> Path | None:
        """The input the validator wrote for the next pass (``nextpass.in``), taken out of its
        feedback directory; None when it wrote none (the test ends with this pass)."""
        target = self.scratch / f"nextpass-{number}.in"
        try:
            self.vm.copy_out(f"{FEEDBACK_DIR}/{NEXT_PASS}", target)
        except FileNotFoundError:
            return None
        res = self.vm.run(
            ["/bin/rm", "-f", f"{self.vm.box_path}/{FEEDBACK_DIR}/{NEXT_PASS}"],
            Limits(cpu_time_s=5, processes=1),
        )
        if not res.ok:
            raise SandboxError(f"cannot clear {NEXT_PASS}: {res.message}")
        return target

    def _feedback(self, name: str) -> str | None:
        path = self.scratch / name
        try:
            self.vm.copy_out(f"{FEEDBACK_DIR}/{name}", path)
        except FileNotFoundError:
            return None
        return _head(path).decode(errors="replace").strip()

    def verdict(self, res: RunResult) -> JudgeResult:
        """Turn the checker's run into a verdict (42/43 + feedback files)."""
        if res.status is Status.XX:
            raise SandboxError(res.message)
        judge_msg = self._feedback("judgemessage.txt") or ""
        team_msg = self._feedback("teammessage.txt") or ""
        message = "; ".join(m for m in (team_msg, judge_msg) if m)
        if res.exit_code not in (ACCEPT, REJECT) or res.status not in (Status.OK, Status.RE):
            stderr = _head(self.scratch / "checker_stderr").decode(errors="replace")
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
                return JudgeResult(Verdict.WA, 0.0, message, team_msg)
            if score >= 1.0 and res.exit_code == ACCEPT:
                return JudgeResult(Verdict.AC, 1.0, message, team_msg)
            return JudgeResult(Verdict.PA if score > 0 else Verdict.WA, score, message, team_msg)
        if res.exit_code == ACCEPT:
            return JudgeResult(Verdict.AC, 1.0, message, team_msg)
        return JudgeResult(Verdict.WA, 0.0, message, team_msg)

    def validate_input(self, input_path: Path, flags: list[str]) -> str:
        """Run the program as a Kattis input validator on ``input_path`` (on its stdin, with
        ``flags`` as arguments): '' when it exits 42 (valid), else what it said."""
        res = self.vm.run(
            [*self.run_command, *flags], self.limits, stdin=input_path, readonly_binds=self.binds,
            stdout=self.scratch / "validator_stdout", stderr=self.scratch / "validator_stderr",
        )  # fmt: skip
        if res.status is Status.XX:
            raise SandboxError(res.message)
        if res.exit_code == ACCEPT and res.status in (Status.OK, Status.RE):
            return ""
        said = b"".join(
            _head(self.scratch / name) for name in ("validator_stdout", "validator_stderr")
        )
        why = (
            "invalid"
            if res.exit_code == REJECT
            else f"{res.status}: {res.message or res.exit_code}"
        )
        return f"{why} {said.decode(errors='replace').strip()[:300]}".strip()

    def check(
        self, input_path: Path, answer_path: Path, output_path: Path,
        flags: list[str] | None = None, fresh: bool = True,
    ) -> JudgeResult:  # fmt: skip
        command = self._prepare(input_path, answer_path, flags, fresh)
        res = self.vm.run(
            command, self.limits, stdin=output_path, readonly_binds=self.binds,
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
        flags: list[str] | None = None,
        fresh: bool = True,
        program_binds: dict[str, Path] | None = None,
    ) -> tuple[RunResult, JudgeResult]:
        """Run the program against the interactive validator; return (program run, verdict).

        As problemtools does, the program's output pipe stays open until both have ended (what
        the program writes after the validator has ended is read and dropped), so a program never
        dies of SIGPIPE in a race with the validator's exit: the verdict does not depend on
        timing. A program still running ``GRACE_AFTER_VERDICT_S`` after the validator's verdict
        is stopped and gets the validator's verdict."""
        command = self._prepare(input_path, answer_path, flags, fresh)
        to_validator_r, to_validator_w = os.pipe()
        to_program_r, to_program_w = os.pipe()
        try:
            validator = self.vm.start(
                command, self.limits.replace(wall_time_s=max(
                    self.limits.effective_wall_time_s, program_limits.effective_wall_time_s + 1)),
                stdin=to_validator_r, stdout=to_program_w, stderr=self.scratch / "checker_stderr",
                readonly_binds=self.binds,
            )  # fmt: skip
            try:
                program = program_vm.start(
                    program_command, program_limits,
                    stdin=to_program_r, stdout=to_validator_w, stderr=program_stderr, env=env,
                    readonly_binds=program_binds,
                )  # fmt: skip
            except BaseException:
                validator.kill()
                validator.wait()
                raise
            pipes = _Interaction(program_out=to_validator_r, validator_out=to_program_r)
        finally:
            for fd in (to_validator_r, to_validator_w, to_program_r, to_program_w):
                os.close(fd)
        results: list[RunResult] = []
        waiter = threading.Thread(target=lambda: results.append(program.wait()), daemon=True)
        waiter.start()
        validator_result = validator.wait()
        pipes.validator_ended()  # from now on, the program's output is drained
        waiter.join(GRACE_AFTER_VERDICT_S)
        stopped = waiter.is_alive()
        if stopped:
            program.kill()
            waiter.join()
        pipes.finish()
        program_result = results[0]
        verdict = self.verdict(validator_result)
        if verdict.verdict is Verdict.IE:
            return program_result, verdict
        if stopped:
            # still running (writing, or waiting for more) after the validator's verdict
            return program_result, verdict
        # As Kattis judges: the validator's wrong answer decides when the validator ended first
        # (the program then failed only because its input ended); when the program ended first
        # (it crashed or was killed at a limit, and the validator then read end of file), the
        # program's failure is its verdict. When both were seen ending at once, a program killed
        # at a limit counts as first (the limit cannot be the validator's doing).
        program_first = pipes.first == "program" or (
            pipes.first == "both" and program_result.status in (Status.TO, Status.ML, Status.OL)
        )
        if verdict.verdict is Verdict.WA and (
            program_result.status is Status.OK or not program_first
        ):
            return program_result, verdict
        if program_result.status is not Status.OK:
            return program_result, verdict_of_run(program_result)
        return program_result, verdict


GRACE_AFTER_VERDICT_S = 1.0
DRAIN_CHUNK = 1 << 16


class _Interaction(threading.Thread):
    """Watches the two pipes of an interaction from the tester's side.

    It holds a duplicate of the read end of each pipe and:

    1. records which end closed its output first (the hang-up of every writer, the sandbox's
       own processes included), which orders the two ends exactly where wall times cannot;
    2. once the program has ended, closes its duplicate of the program's input, so that a
       validator still writing to it gets EPIPE rather than filling a pipe nobody reads;
    3. keeps the program's output open until the end, and once the validator has ended reads
       and drops what the program still writes (no SIGPIPE, no blocked writer)."""

    def __init__(self, program_out: int, validator_out: int) -> None:
        super().__init__(daemon=True)
        self.program_out = os.dup(program_out)  # the program writes, the validator reads
        self.validator_out: int | None = os.dup(validator_out)  # the validator writes
        self.wake_r, self.wake_w = os.pipe()
        self.first: str | None = None
        self._draining = False
        self._done = False
        self.start()

    def validator_ended(self) -> None:
        self._draining = True
        os.write(self.wake_w, b"d")

    def finish(self) -> None:
        self._done = True
        os.write(self.wake_w, b"f")
        self.join(5.0)
        for fd in (self.program_out, self.wake_r, self.wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def run(self) -> None:
        poller = select.poll()
        poller.register(self.program_out, 0)  # hang-up and error are reported without asking
        assert self.validator_out is not None
        poller.register(self.validator_out, 0)
        poller.register(self.wake_r, select.POLLIN)
        program_gone = False
        validator_watched = True
        try:
            while not self._done:
                events = dict(poller.poll())
                if self.wake_r in events:
                    os.read(self.wake_r, 64)
                    if self._draining and not program_gone:
                        poller.modify(self.program_out, select.POLLIN)
                ended = []
                if self.program_out in events and not program_gone:
                    if self._draining and events[self.program_out] & select.POLLIN:
                        if not os.read(self.program_out, DRAIN_CHUNK):
                            program_gone = True
                    elif events[self.program_out] & (select.POLLHUP | select.POLLERR):
                        program_gone = True
                    if program_gone:
                        ended.append("program")
                        poller.unregister(self.program_out)
                        if self.validator_out is not None:
                            if validator_watched:
                                poller.unregister(self.validator_out)
                            os.close(self.validator_out)
                            self.validator_out = None
                if validator_watched and self.validator_out in events:
                    ended.append("validator")
                    poller.unregister(self.validator_out)
                    validator_watched = False
                if ended and self.first is None:
                    self.first = ended[0] if len(ended) == 1 else "both"
        finally:
            if self.validator_out is not None:
                os.close(self.validator_out)
                self.validator_out = None


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
    return JudgeResult(mapping[res.status], 0.0, res.message, res.message)
