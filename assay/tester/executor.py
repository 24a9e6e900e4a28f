"""The executor (seed 000): build a submission once, run every test, judge, write the result archive.

1. Copy the submission (and build.sh / run.sh, if the package has its own) into a fresh box.
2. Build with the build limits; a failed build is a compile error (CE) with the compiler's
   output in build_stderr.vmr, and no test runs.
3. For each test: copy its extra files in, run with its input on stdin and the output captured,
   then judge: a run that did not end OK gets the verdict of its status (TLE, MLE, OLE, RTE);
   otherwise the built-in judge or the sandboxed checker decides.
4. Write result.yaml (for people), result.json (the same document, for the storer: parsed in a
   fortieth of the time) and the .vmr files (capped) to the output directory.

A failure of the sandbox itself (SandboxError) or of the checker (CheckerError) does not become
a verdict: the evaluation is marked ``failed`` with the error, for a retry or an administrator.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assay.judges import JudgeResult, judge_files
from assay.lib import yamlio
from assay.package.kattis import parse_validator_flags as default_judge
from assay.package.model import TestCase, Verdict
from assay.runtimes import get_runtime
from assay.runtimes.verify import ToolchainError, require_runtime
from assay.sandbox import VM, Host, RunResult, SandboxError, Status
from assay.scoring import compute_score

from .checker import CheckerError, PreparedChecker, verdict_of_run
from .spec import JobSpec, test_files

EXIT_NOT_FOUND = 127  # the shell's "command not found"
VMR_CAP = 64 * 1024  # bytes of each captured stream kept in the result archive
STDERR_HEAD = 1024  # bytes of a crashed visible test's stderr quoted in result.yaml
CRASHES = (Verdict.RTE, Verdict.MLE)  # the runs whose stderr tells the student why
RESULT_FORMAT = "assay-result/1"

Progress = Callable[[str, dict[str, Any]], None]


@dataclass
class Evaluation:
    """The outcome of one evaluation; ``doc`` is result.yaml's content."""

    doc: dict[str, Any]
    out: Path

    @property
    def failed(self) -> bool:
        return self.doc["status"] == "failed"

    @property
    def verdict(self) -> str:
        return self.doc.get("verdict", "IE")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def _cap(path: Path, cap: int = VMR_CAP) -> bool:
    """Truncate a captured stream to the cap; True if it was longer."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        path.write_bytes(b"")
        return False
    if size > cap:
        os.truncate(path, cap)
        return True
    return False


def _read_capped(path: Path, limit: int) -> bytes:
    with open(path, "rb") as f:
        return f.read(limit)


class Executor:
    def __init__(
        self, host: Host, tester_name: str | None = None, *, verify_runtimes: bool = True
    ) -> None:
        self.host = host
        self.verify_runtimes = verify_runtimes
        self.tester_name = tester_name or socket.gethostname()

    def evaluate(
        self,
        spec: JobSpec,
        files: dict[str, bytes],
        tests: dict[str, TestCase],
        out: Path,
        *,
        scripts: dict[str, str] | None = None,
        checker: PreparedChecker | None = None,
        checker_source: Path | None = None,
        progress: Progress | None = None,
        steps: dict[str, float] | None = None,
    ) -> Evaluation:
        """Evaluate ``files`` under ``spec``; write the result archive's files into ``out``.
        ``steps``: the tester's timings before the evaluation (seconds), kept in result.yaml."""
        out.mkdir(parents=True, exist_ok=True)
        doc: dict[str, Any] = {
            "format": RESULT_FORMAT,
            "job_id": spec.job_id,
            "attempt": spec.attempt,
            "tester": self.tester_name,
            "runtime": spec.runtime,
            "started_at": _now(),
            "status": "done",
            "limits": spec.limits.to_dict(),
            "steps": dict(steps or {}),
        }
        started = time.monotonic()
        own_checker = None
        vm: VM | None = None
        try:
            if self.verify_runtimes:
                require_runtime(self.host, spec.runtime, spec.image)
            vm = self.host.get_vm(box_size_kib=spec.box_size_kib, image=spec.image)
            if vm.image:
                doc["image"] = vm.image
            self._build(vm, spec, files, scripts or {}, out, doc)
            doc["steps"]["build_s"] = round(time.monotonic() - started, 4)
            if progress:
                progress("build", doc["build"])
            if doc["build"]["status"] == "OK":
                judge = spec.judge_model()
                if judge.custom and checker is None:
                    if checker_source is None or spec.checker_runtime is None:
                        raise CheckerError("the judge needs a checker, and the job has none")
                    judge.checker = checker_source
                    if self.verify_runtimes and spec.image:
                        require_runtime(self.host, spec.checker_runtime, spec.image)
                    own_checker = checker = PreparedChecker.build(
                        self.host, judge, spec.checker_runtime, spec.checker_main, spec.image
                    )
                doc["tests"] = []
                for t in spec.tests:
                    entry = self._run_test(vm, spec, tests[t.name], t, out, checker)
                    doc["tests"].append(entry)
                    if progress:
                        progress("test", entry)
            else:
                doc["tests"] = [
                    {"name": t.name, "group": t.group, "weight": t.weight, "visible": t.visible,
                     "verdict": str(Verdict.SKIP), "score": 0.0, "message": "not run: the build failed"}
                    for t in spec.tests
                ]  # fmt: skip
            if any(t["verdict"] == Verdict.IE for t in doc["tests"]):
                bad = next(t for t in doc["tests"] if t["verdict"] == Verdict.IE)
                raise CheckerError(
                    f"test {bad['name']}: {bad.get('judge_message') or bad.get('message')}"
                )
            score = compute_score(
                spec.groups, doc["tests"], build_failed=doc["build"]["status"] != "OK"
            )
            doc.update(
                verdict=str(score.verdict),
                score=round(score.score, 4),
                points=score.points,
                max_points=score.max_points,
                groups=[
                    {
                        "name": g.name,
                        "points": g.points,
                        "max_points": g.max_points,
                        "score": round(g.score, 4),
                    }
                    for g in score.groups
                ],
            )
        except (SandboxError, CheckerError) as e:
            doc["status"] = "failed"
            doc["error"] = f"{type(e).__name__}: {e}"
        finally:
            if own_checker is not None:
                own_checker.close()
            if vm is not None:
                vm.destroy()
            doc["finished_at"] = _now()
            doc["steps"]["total_s"] = round(time.monotonic() - started, 4)
            (out / "result.yaml").write_text(
                yamlio.safe_dump(doc, sort_keys=False, allow_unicode=True)
            )
            (out / "result.json").write_text(json.dumps(doc, ensure_ascii=False))
        return Evaluation(doc, out)

    def _build(
        self, vm: VM, spec: JobSpec, files: dict[str, bytes], scripts: dict[str, str], out: Path,
        doc: dict[str, Any],
    ) -> None:  # fmt: skip
        for name, data in files.items():
            vm.write_file(name, data, 0o644)
        for name, text in scripts.items():
            vm.write_file(name, text.encode(), 0o755)
        stdout, stderr = out / "build_stdout.vmr", out / "build_stderr.vmr"
        if not spec.build_command:
            stdout.write_bytes(b"")
            stderr.write_bytes(b"")
            doc["build"] = {"status": "OK", "message": "nothing to build"}
            return
        res = vm.run(
            spec.build_command, spec.build_limits, stdout=stdout, stderr=stderr,
            readonly_binds=_binds(spec, vm),
        )  # fmt: skip
        if res.status is Status.XX:
            raise SandboxError(f"build: {res.message}")
        if res.exit_code == EXIT_NOT_FOUND and not scripts.get("build.sh"):
            # the shell found no compiler: the tester's toolchain, not the student's code
            err = _read_capped(stderr, 500).decode(errors="replace").strip()
            raise ToolchainError(f"the {spec.runtime} build found no compiler: {err}")
        doc["build"] = res.to_dict()
        doc["build"]["stdout_truncated"] = _cap(stdout)
        doc["build"]["stderr_truncated"] = _cap(stderr)

    def _run_test(
        self, vm: VM, spec: JobSpec, test: TestCase, t: Any, out: Path,
        checker: PreparedChecker | None,
    ) -> dict[str, Any]:  # fmt: skip
        test_dir = out / t.name
        test_dir.mkdir(parents=True, exist_ok=True)
        for source, rel in test_files(test):
            vm.copy_in(source, rel)
        stdout, stderr = test_dir / "run_stdout.vmr", test_dir / "run_stderr.vmr"
        passes = max(1, spec.validation_passes)
        pass_input = test.input
        runs: list[RunResult] = []
        for number in range(1, passes + 1):
            res, judged = self._run_pass(
                vm, spec, test, t, pass_input, stdout, stderr, checker, fresh=number == 1
            )
            runs.append(res)
            if passes == 1 or checker is None:
                break
            next_input = checker.next_pass_input(number)
            if next_input is None or judged.verdict is not Verdict.AC or not res.ok:
                break
            if number == passes:
                judged = JudgeResult(
                    Verdict.IE, 0.0,
                    f"the output validator asked for pass {number + 1}, but the package allows "
                    f"{passes} (limits.validation_passes)",
                )  # fmt: skip
                break
            pass_input = next_input
        if len(runs) > 1:  # limits hold per pass; the test reports its most costly pass
            res.cpu_time_s = max(r.cpu_time_s for r in runs)
            res.wall_time_s = max(r.wall_time_s for r in runs)
            res.memory_kib = max(r.memory_kib for r in runs)
        entry = {
            "name": t.name,
            "group": t.group,
            "weight": t.weight,
            "visible": t.visible,
            **res.to_dict(),
            "verdict": str(judged.verdict),
            "score": round(judged.score, 4),
            "judge_message": judged.message,  # for the staff (may quote the expected output)
            "student_message": judged.student_message,  # what the student may read
            "stdout_truncated": _cap(stdout),
            "stderr_truncated": _cap(stderr),
        }
        if passes > 1:
            entry["passes"] = len(runs)
        if t.visible and judged.verdict in CRASHES:  # a hidden test's output never leaves
            entry["stderr_head"] = _read_capped(stderr, STDERR_HEAD).decode(errors="replace")
        return entry

    def _run_pass(
        self, vm: VM, spec: JobSpec, test: TestCase, t: Any, pass_input: Path, stdout: Path,
        stderr: Path, checker: PreparedChecker | None, *, fresh: bool,
    ) -> tuple[RunResult, JudgeResult]:  # fmt: skip
        """Run the program once on ``pass_input`` and judge it (a test has one pass, or more
        for a multi-pass problem)."""
        if spec.judge.get("kind") == "interactive":
            assert checker is not None
            res, judged = checker.interact(
                vm, [*spec.run_command, *t.args], spec.limits, pass_input, test.answer, stderr,
                flags=t.judge_args, fresh=fresh, program_binds=_binds(spec, vm),
            )  # fmt: skip
            stdout.write_bytes(b"")
            return res, judged
        res = vm.run(
            [*spec.run_command, *t.args], spec.limits, stdin=pass_input, stdout=stdout, stderr=stderr,
            readonly_binds=_binds(spec, vm),
        )  # fmt: skip
        if res.status is Status.XX:
            raise SandboxError(f"test {t.name}: {res.message}")
        if res.status is Status.RE and _ran_out_of_memory(spec, stderr):
            res.status, res.message = (
                Status.ML,
                "memory limit exceeded (the runtime ran out of memory)",
            )
        if res.status is not Status.OK:
            return res, verdict_of_run(res)
        if checker is not None:
            return res, checker.check(
                pass_input, test.answer, stdout, flags=t.judge_args, fresh=fresh
            )
        judge = spec.judge_model()
        if t.judge_args is not None:  # the test's own flags for the default judge (Kattis)
            judge = default_judge(t.judge_args)
        return res, judge_files(judge, test.answer, stdout)


def _binds(spec: JobSpec, vm: VM) -> dict[str, Path] | None:
    """Directories the runtime's toolchain reads besides /usr and /etc (read-only), from the
    VM's system (the host's or the course image's)."""
    try:
        return get_runtime(spec.runtime).readonly_binds_in(vm.system_root) or None
    except KeyError:
        return None


def _ran_out_of_memory(spec: JobSpec, stderr: Path) -> bool:
    markers = get_runtime(spec.runtime).out_of_memory_markers
    if not markers:
        return False
    with open(stderr, "rb") as f:
        head = f.read(VMR_CAP)
    return any(m in head for m in markers)


def zip_result(out: Path, target: Path) -> None:
    """Pack a result directory as the result archive (result.yaml, result.json, .vmr files)."""
    from assay.lib.archive import zip_directory

    zip_directory(out, target)
