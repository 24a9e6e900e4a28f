"""The job spec (the bundle's ``submission_config``): everything a tester needs to evaluate one
submission, as plain data. Built from an assignment package and a submission's files."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from assay.package.model import Assignment, Judge, PackageError, TestCase
from assay.runtimes import Runtime, detect_runtime, find_main, get_runtime
from assay.runtimes.verify import build_limits
from assay.sandbox import Limits

FORMAT = "assay-job/1"


class SubmissionError(ValueError):
    """The submission cannot be evaluated as it is (wrong files); said to the student."""


@dataclass
class TestSpec:
    name: str
    group: str
    weight: float
    visible: bool
    judge_args: list[str] | None = None  # this test's checker flags (Kattis), None: the judge's
    args: list[str] = field(default_factory=list)  # the program's arguments on this test


@dataclass
class JobSpec:
    job_id: str
    runtime: str
    main: str
    build_command: list[str] | None
    run_command: list[str]
    limits: Limits
    build_limits: Limits
    judge: dict[str, Any]
    tests: list[TestSpec]
    groups: list[dict[str, Any]]
    points: float
    box_size_kib: int = 256 * 1024
    checker_runtime: str | None = None
    checker_main: str = ""
    attempt: int = 1
    validation_passes: int = 1  # Kattis multi-pass: the most runs of the program per test
    # the course image the build and runs use as their system (None: the tester's own)
    image: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def judge_model(self) -> Judge:
        d = dict(self.judge)
        limits = Limits(**d.pop("checker_limits")) if "checker_limits" in d else None
        judge = Judge(**{k: v for k, v in d.items() if k in Judge.__dataclass_fields__})
        if limits is not None:
            judge.checker_limits = limits
        return judge

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["format"] = FORMAT
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> JobSpec:
        if d.get("format") != FORMAT:
            raise ValueError(
                f"submission_config: unknown format {d.get('format')!r}, expected {FORMAT}"
            )
        d = {k: v for k, v in d.items() if k != "format"}
        try:
            d["limits"] = Limits(**d["limits"])
            d["build_limits"] = Limits(**d["build_limits"])
            d["tests"] = [TestSpec(**t) for t in d["tests"]]
            return cls(**d)
        except (KeyError, TypeError) as e:
            raise ValueError(f"submission_config: malformed: {e}") from e


def _run_limits(assignment: Assignment, runtime: Runtime) -> Limits:
    base = assignment.limits
    return base.replace(
        processes=base.processes + runtime.extra_processes,
        memory_kib=base.memory_kib + runtime.extra_memory_mib * 1024,
        open_files=base.open_files + runtime.extra_open_files,
    )


def make_spec(
    assignment: Assignment,
    files: dict[str, bytes],
    job_id: str = "local",
    language: str | None = None,
) -> JobSpec:
    """The spec for evaluating ``files`` (name -> content) against ``assignment``.

    The runtime is the one the assignment names, else the ``language`` the submission names,
    else the one its file extensions tell. Raises SubmissionError when the files do not fit
    (missing required file, unknown or conflicting language).
    """
    names = sorted(files)
    missing = [f for f in assignment.required_files if f not in files]
    if missing:
        raise SubmissionError(f"missing required file(s): {', '.join(missing)}")
    if not files:
        raise SubmissionError("the submission has no files")
    try:
        runtime = choose_runtime(assignment.runtime, language, names)
        main = find_main(runtime, files, assignment.entry)
    except KeyError as e:
        raise SubmissionError(str(e.args[0])) from e
    if not assignment.build_script and not any(
        Path(n).suffix.lower() in runtime.extensions for n in names
    ):
        raise SubmissionError(
            f"no {runtime.title} source among {', '.join(names)} "
            f"(expected {' or '.join(runtime.extensions)})"
        )
    run_limits = _run_limits(assignment, runtime)
    memory_mib = max(assignment.limits.memory_kib // 1024, 16)
    build_command = (
        ["/bin/sh", "build.sh"]
        if assignment.build_script
        else runtime.build_command(main, names, memory_mib)
    )
    run_command = (
        ["/bin/sh", "run.sh"] if assignment.run_script else runtime.run_command(main, memory_mib)
    )
    spec = JobSpec(
        job_id=job_id,
        runtime=runtime.name,
        main=main,
        build_command=build_command,
        run_command=run_command,
        limits=run_limits,
        build_limits=build_limits(runtime, assignment.build_limits),
        judge=assignment.judge.to_dict(),
        tests=[
            TestSpec(t.name, t.group, t.weight, t.visible, t.judge_args, list(t.args))
            for t in assignment.tests
        ],
        groups=[
            {"name": g.name, "points": g.points, "scoring": g.scoring, "tests": list(g.tests)}
            for g in assignment.groups
        ],
        points=assignment.points,
        box_size_kib=assignment.box_size_kib,
        validation_passes=assignment.validation_passes,
        image=assignment.image,
    )
    if assignment.judge.checker is not None:
        spec.checker_runtime, spec.checker_main = checker_runtime(assignment.judge.checker)
    return spec


def choose_runtime(package: str | None, language: str | None, names: list[str]) -> Runtime:
    if language:
        chosen = get_runtime(language)
        if package and get_runtime(package).name != chosen.name:
            raise KeyError(f"the assignment is in {get_runtime(package).title}, not {chosen.title}")
        return chosen
    return get_runtime(package) if package else detect_runtime(names)


def read_files(path: Path) -> dict[str, bytes]:
    """A submission from a file or a directory of a package (regular files, relative names).

    Symbolic links are followed: the package loaders refuse every link that leaves the
    package, and the Kattis format reuses files through links."""
    if path.is_file():
        return {path.name: path.read_bytes()}
    files = {}
    for p in sorted(path.rglob("*")):
        if p.is_file():
            files[p.relative_to(path).as_posix()] = p.read_bytes()
    return files


def with_includes(
    assignment: Assignment, runtime: str, files: dict[str, bytes]
) -> dict[str, bytes]:
    """The submission's files with the package's ``include`` files for its runtime added (Kattis
    ``include/<language>/`` and ``include/default/``); the package's file wins a name clash."""
    merged = dict(files)
    for key in ("default", runtime):
        source = assignment.include.get(key)
        if source is not None:
            merged.update(
                read_files(source) if source.is_dir() else {source.name: source.read_bytes()}
            )
    return merged


def checker_runtime(checker: Path) -> tuple[str, str]:
    files = read_files(checker)
    try:
        runtime = detect_runtime(sorted(files))
        return runtime.name, find_main(runtime, files)
    except KeyError as e:
        raise PackageError(f"checker {checker.name}", str(e.args[0])) from e


def test_files(test: TestCase) -> list[tuple[Path, str]]:
    """Extra files of a test with their names relative to the test's directory."""
    base = test.files_base or test.input.parent
    return [(p, p.relative_to(base).as_posix()) for p in test.files]
