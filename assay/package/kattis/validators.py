"""The validators: the default output validator's flags as a token judge, the package's own
output validator (``output_validators/`` or ``output_validator/``) as a checker or interactive
judge, the output validator arguments of each test, and the input validators."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..model import Judge, PackageError
from .common import FILE, LEGACY, Loader, ProblemType, _words
from .files import _entries, _is_program, _materialize
from .limits import KattisLimits
from .testdata import DataDir


def parse_validator_flags(
    flags: str | list[str] | None, file: str = FILE, where: str = "validator_flags"
) -> Judge:
    """The default output validator's flags as a token judge (Kattis' defaults: case-insensitive,
    white space ignored, no float tolerance)."""
    words = flags.split() if isinstance(flags, str) else list(flags or [])
    judge = Judge(kind="tokens", case_sensitive=False)
    i = 0
    while i < len(words):
        w = words[i]
        if w == "case_sensitive":
            judge.case_sensitive = True
        elif w == "space_change_sensitive":
            judge.space_sensitive = True
        elif w in ("float_tolerance", "float_absolute_tolerance", "float_relative_tolerance"):
            if i + 1 >= len(words):
                raise PackageError(file, f"{w} needs a number after it", where)
            try:
                value = float(words[i + 1])
            except ValueError as e:
                raise PackageError(file, f"{w} needs a number, got {words[i + 1]!r}", where) from e
            if w != "float_relative_tolerance":
                judge.abs_tol = value
            if w != "float_absolute_tolerance":
                judge.rel_tol = value
            i += 1
        else:
            raise PackageError(file, f"unknown flag {w!r}", where)
        i += 1
    return judge


def _single_program(ld: Loader, directory: Path) -> Path:
    """The one program in ``output_validators/`` (legacy: a file or a directory among its
    entries; several plain files together are one program, e.g. validate.cc + validate.h)."""
    entries = _entries(directory)
    where = f"{ld.rel(directory)}/"
    if not entries:
        raise PackageError(where, "empty: expected the output validator (a file or a directory)")
    if len(entries) == 1:
        return entries[0]
    if all(p.is_file() for p in entries):
        return directory
    raise PackageError(
        where,
        f"expected one output validator (a file or a directory), found {len(entries)}: "
        f"{', '.join(p.name for p in entries)}; assay runs a single output validator",
    )


def output_validator(ld: Loader, custom: bool, pt: ProblemType) -> Path | None:
    legacy_dir, new_dir = ld.root / "output_validators", ld.root / "output_validator"
    if ld.version == LEGACY:
        if not custom:
            if legacy_dir.exists():
                ld.warn("output_validators/ is not used: problem.yaml says validation: default")
            return None
        if not legacy_dir.is_dir():
            raise PackageError(
                "output_validators/", "missing, but problem.yaml says validation: custom"
            )
        return _materialize(ld, _single_program(ld, legacy_dir), "output_validator")
    if not new_dir.is_dir():
        if custom:
            what = "interactive" if pt.interactive else "multi-pass" if pt.multi_pass else "custom"
            hint = " (output_validators/ is the legacy name)" if legacy_dir.exists() else ""
            raise PackageError(
                "output_validator/", f"missing, but the problem is {what}: it needs one{hint}"
            )
        return None
    entries = _entries(new_dir)
    if not entries:
        raise PackageError("output_validator/", "empty: expected the output validator program")
    # the specification: the directory is the program; problemtools: the program is in it
    program = entries[0] if len(entries) == 1 and entries[0].is_dir() else new_dir
    return _materialize(ld, program, "output_validator")


def make_judge(
    validator: Path | None,
    pt: ProblemType,
    flags: list[str],
    origin: tuple[str, str],
    limits: KattisLimits,
) -> Judge:
    if validator is None:
        return parse_validator_flags(flags, *origin)
    judge = Judge(kind="interactive" if pt.interactive else "checker")
    judge.checker = validator
    judge.checker_flags = list(flags)
    judge.checker_limits = limits.checker
    return judge


def assign_judge_args(
    ld: Loader, data: DataDir, problem_flags: list[str], package_flags: list[str], default: bool
) -> None:
    """A test's output validator arguments (problem.yaml's validator_flags, then its group's,
    as problemtools passes them): None when they are the package-wide ones."""
    checked: set[tuple[str, ...]] = set()
    for t in data.all_tests():
        args = [*problem_flags, *(t.judge_args or [])]
        if args == package_flags:
            t.judge_args = None
            continue
        t.judge_args = args
        if default and tuple(args) not in checked:  # the default validator must understand them
            checked.add(tuple(args))
            parse_validator_flags(args, *ld.args_origin[t.name])


def validator_flags(
    doc: dict[str, Any], data: DataDir
) -> tuple[list[str], list[str], tuple[str, str]]:
    """problem.yaml's validator_flags (legacy); the package-wide flags: those and the ones
    data/testdata.yaml sets for every test; and where the latter come from."""
    problem = _words(doc.get("validator_flags"), FILE, "validator_flags")
    origin = data.config.get("out_args_from", (FILE, "validator_flags"))
    return problem, [*problem, *(data.config.get("out_args") or [])], origin


def read_input_validators(ld: Loader) -> list[Path]:
    dirs = ["input_validators"]
    if ld.version == LEGACY:
        dirs.append("input_format_validators")
        if (ld.root / "input_format_validators").is_dir():
            ld.warn("input_format_validators/ is the deprecated name of input_validators/")
    programs: list[Path] = []
    for d in dirs:
        directory = ld.root / d
        if not directory.is_dir():
            continue
        for p in _entries(directory):
            if p.suffix in (".ctd", ".viva"):
                kind = "Checktestdata" if p.suffix == ".ctd" else "VIVA"
                ld.warn(f"{d}/{p.name}: {kind} input validators are not supported; skipped")
            elif not _is_program(p, None):
                ld.warn(f"{d}/{p.name}: not a program (no known language); skipped")
            else:
                programs.append(_materialize(ld, p, f"input_validators/{d}"))
    return programs
