"""The assignment model every package format loads into (native and Kattis alike)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assay.sandbox import Limits


class PackageError(ValueError):
    """A package is malformed. The message names the file, the field and what is wrong."""

    MAX_MESSAGE = 1000  # a message quoting a hostile value stays readable (and small)

    def __init__(self, file: str, message: str, field: str | None = None):
        if len(message) > self.MAX_MESSAGE:
            message = message[: self.MAX_MESSAGE] + f"… ({len(message)} characters)"
        if field is not None and len(field) > 200:
            field = field[:200] + "…"
        self.file = file
        self.field = field
        self.message = message
        where = f"{file}: {field}" if field else file
        super().__init__(f"{where}: {message}")


class Verdict(enum.StrEnum):
    """The verdict of one test, and (with CE) of a whole submission."""

    AC = "AC"  # accepted
    PA = "PA"  # partially accepted (a checker gave a score between 0 and 1)
    WA = "WA"  # wrong answer
    TLE = "TLE"  # time limit exceeded
    MLE = "MLE"  # memory limit exceeded
    OLE = "OLE"  # output limit exceeded
    RTE = "RTE"  # run-time error (non-zero exit or a signal)
    CE = "CE"  # compile error
    IE = "IE"  # internal error: the sandbox or the checker failed; not the student's fault
    SKIP = "SKIP"  # not run (the build failed)


# how reference solutions are filed, and the verdict each name expects of the whole submission
EXPECTED_VERDICTS = {
    "accepted": Verdict.AC,
    "wrong_answer": Verdict.WA,
    "time_limit_exceeded": Verdict.TLE,
    "memory_limit_exceeded": Verdict.MLE,
    "run_time_error": Verdict.RTE,
    "output_limit_exceeded": Verdict.OLE,
    "compile_error": Verdict.CE,
}


@dataclass
class TestCase:
    name: str  # unique; segments of [A-Za-z0-9_.-] joined by '/'
    input: Path
    answer: Path
    files: list[Path] = field(default_factory=list)  # extra files copied into the box
    files_base: Path | None = (
        None  # extra files keep their path relative to this (default: input's dir)
    )
    weight: float = 1.0
    visible: bool = False  # may students see the input, expected and actual output?
    group: str = "all"
    # Kattis: arguments for the output validator (or the default judge's flags) on this test,
    # None: the package-wide ones; and for the input validators (`assay check`)
    judge_args: list[str] | None = None
    input_validator_args: list[str] = field(default_factory=list)
    # Kattis: a sample's `.interaction` file, shown to students instead of input/answer
    interaction: Path | None = None
    # Kattis `args`: command-line arguments the program gets on this test
    args: list[str] = field(default_factory=list)


@dataclass
class TestGroup:
    name: str
    points: float
    scoring: str = "proportional"  # or "all": full points only when every test passes
    tests: list[str] = field(default_factory=list)


@dataclass
class Judge:
    """How an output is judged. ``kind`` is one of JUDGE_KINDS."""

    kind: str = "tokens"
    case_sensitive: bool = True
    space_sensitive: bool = False
    abs_tol: float | None = None
    rel_tol: float | None = None
    checker: Path | None = None  # a file or directory, built and run in the sandbox
    checker_limits: Limits = field(
        default_factory=lambda: Limits(cpu_time_s=10, memory_kib=512 * 1024)
    )
    checker_flags: list[str] = field(default_factory=list)

    @property
    def custom(self) -> bool:
        return self.kind in ("checker", "interactive")

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind}
        if self.kind == "tokens":
            d.update(case_sensitive=self.case_sensitive, space_sensitive=self.space_sensitive)
            if self.abs_tol is not None:
                d["abs_tol"] = self.abs_tol
            if self.rel_tol is not None:
                d["rel_tol"] = self.rel_tol
        if self.custom:
            d["checker_limits"] = self.checker_limits.to_dict()
            d["checker_flags"] = list(self.checker_flags)
        return d


JUDGE_KINDS = ("exact", "tokens", "lines_unordered", "checker", "interactive")


@dataclass
class ReferenceSolution:
    name: str  # e.g. "accepted/sum.c"
    expected: Verdict
    path: Path  # a file or a directory of files
    # Kattis rules (problemtools): the verdicts any test may get, and which must occur at least
    # once; None: the whole submission's verdict must be ``expected`` (native packages)
    permitted: set[Verdict] | None = None
    required: set[Verdict] | None = None
    # partially_accepted (and submissions.yaml `score:`): the range the score must fall in
    score_range: tuple[float, float] | None = None
    language: str | None = None  # a runtime named by the package (submissions.yaml `language:`)


@dataclass
class Assignment:
    root: Path
    title: str
    runtime: str | None  # None: chosen by the submission's file extensions
    limits: Limits
    build_limits: Limits
    judge: Judge
    tests: list[TestCase]
    groups: list[TestGroup]
    points: float
    description: str = ""
    build_script: str | None = None  # contents of build.sh, if the package has one
    run_script: str | None = None
    required_files: list[str] = field(default_factory=list)
    entry: str | None = None  # the file to run, for interpreted runtimes
    solutions: list[ReferenceSolution] = field(default_factory=list)
    box_size_kib: int = 256 * 1024
    format: str = "assay"  # or "kattis"
    evaluation: str = "immediate"  # or "on_demand"
    # Kattis: without an explicit time limit, `assay check` sets it from the accepted solutions
    time_limit_known: bool = True
    time_multiplier: float = (
        2.0  # time limit = slowest accepted run x this (Kattis ac_to_time_limit)
    )
    # a time-limit-exceeded solution must still time out at time limit x this (Kattis'
    # time_limit_to_tle; legacy time_safety_margin)
    time_limit_to_tle: float = 1.5
    time_resolution_s: float = 0.1  # a derived time limit is rounded up to a multiple of this
    # Kattis multi-pass: the validator writes `nextpass.in` and the program runs again, at most
    # this many passes in all (1: an ordinary problem)
    validation_passes: int = 1
    # files the package adds to every submission, by runtime name ("default": every runtime);
    # the package's file wins over a student's file of the same name
    include: dict[str, Path] = field(default_factory=dict)
    # programs (a file or a directory each) that check every test's input: exit 42 = valid
    input_validators: list[Path] = field(default_factory=list)
    # what `assay check` prints before it runs anything: unknown keys, skipped folders, ...
    warnings: list[str] = field(default_factory=list)
    # the course image (a Debian root filesystem built by `assay image build`) the build and
    # runs use as their system instead of the tester's; None: the tester's own
    image: str | None = None

    def test(self, name: str) -> TestCase:
        for t in self.tests:
            if t.name == name:
                return t
        raise KeyError(name)
