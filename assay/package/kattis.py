"""Load a Kattis / ICPC problem package into assay's model.

Three versions of the format are read, as ``problem_format_version`` says: ``legacy`` (the
default; also ``legacy-icpc``), ``2023-07-draft`` (also ``2023-07``; what problemtools reads) and
``2025-09``. docs/package-format.md has the table of what maps where and where the
specification and problemtools differ; in short:

* ``problem.yaml``: the type (pass-fail, scoring, interactive, multi-pass), the limits (time,
  memory, output, compilation, validation) and the time multipliers; unknown keys are warnings.
* ``data/``: ``sample`` (visible, 0 points) and ``secret``, with ``testdata.yaml`` (legacy,
  2023-07) or ``test_group.yaml`` (2023-07, 2025-09) inherited down the tree: validator
  arguments per test, groups and their points.
* ``output_validators/`` (legacy) or ``output_validator/`` (2023-07 and later): the custom
  validator (a checker, or interactive); otherwise the default validator with its flags.
* ``submissions/<folder>/`` (and ``submissions.yaml``): reference solutions with the verdicts
  each test may get (``permitted``) and must get at least once (``required``).
* ``input_validators/``, ``include/<language>/``: handed to ``assay check`` and the runtimes.

Symbolic links that stay inside the package are followed (the format reuses tests that way);
links that leave it, dangle or loop are refused. Programs and files that contain links are
copied, with the links resolved, into the loader's work directory.
"""

from __future__ import annotations

import errno
import math
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from assay.runtimes import detect_runtime, get_runtime
from assay.sandbox import Limits

from .model import (
    Assignment,
    Judge,
    PackageError,
    ReferenceSolution,
    TestCase,
    TestGroup,
    Verdict,
)
from .native import DEFAULT_BUILD_LIMITS, DEFAULT_RUN_LIMITS, check_test_name, read_yaml

FILE = "problem.yaml"
LEGACY, V2023, V2025 = "legacy", "2023-07", "2025-09"
VERSIONS = {
    "legacy": LEGACY,
    "legacy-icpc": LEGACY,
    "2023-07-draft": V2023,
    "2023-07": V2023,
    "2025-09": V2025,
}
PASS_FAIL_POINTS = 10.0  # a pass-fail problem is worth this much (Kattis has no points for it)

# --- problem.yaml --------------------------------------------------------------------------

COMMON_KEYS = {"problem_format_version", "type", "name", "uuid", "source", "license"}
COMMON_KEYS |= {"rights_owner", "limits", "keywords"}
PROBLEM_KEYS = {
    LEGACY: COMMON_KEYS | {"author", "source_url", "validation", "validator_flags", "grading"},
    V2023: COMMON_KEYS
    | {"version", "credits", "embargo_until", "languages"}
    | {"allow_file_writing", "constants"},
}
PROBLEM_KEYS[V2025] = PROBLEM_KEYS[V2023]
LIMIT_KEYS = {"memory", "output", "code", "compilation_time", "compilation_memory"}
LIMIT_KEYS |= {"validation_time", "validation_memory", "validation_output"}
LIMIT_KEYS_BY_VERSION = {
    LEGACY: LIMIT_KEYS | {"time_multiplier", "time_safety_margin"},
    V2023: LIMIT_KEYS | {"time_multipliers", "time_limit", "time_resolution", "validation_passes"},
}
LIMIT_KEYS_BY_VERSION[V2025] = LIMIT_KEYS_BY_VERSION[V2023]
TYPES = ("pass-fail", "scoring", "multi-pass", "interactive", "submit-answer")
INCOMPATIBLE_TYPES = [
    ("pass-fail", "scoring"),
    ("submit-answer", "multi-pass"),
    ("submit-answer", "interactive"),
]

# --- package layout ------------------------------------------------------------------------

ROOT_ENTRIES = {
    LEGACY: {"problem.yaml", "problem_statement", "attachments", "data", "include"}
    | {"submissions", "input_validators", "input_format_validators", "output_validators"}
    | {"graders"},
    V2023: {"problem.yaml", "statement", "attachments", "solution", "data", "generators"}
    | {"include", "submissions", "input_validators", "static_validator", "output_validator"}
    | {"input_visualizer", "output_visualizer"},
}
ROOT_ENTRIES[V2025] = ROOT_ENTRIES[V2023]
DATA_ENTRIES = {
    LEGACY: {"sample", "secret"},
    V2023: {"sample", "secret", "invalid_input", "invalid_output", "valid_output"},
}
DATA_ENTRIES[V2025] = DATA_ENTRIES[V2023]
NAME_OK = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")  # others are auxiliary: ignored

# --- test data ----------------------------------------------------------------------------

GROUP_FILES = {LEGACY: ("testdata.yaml",), V2023: ("testdata.yaml", "test_group.yaml")}
GROUP_FILES[V2025] = ("test_group.yaml",)
LEGACY_GROUP_KEYS = {"on_reject", "grading", "grader_flags", "input_validator_flags"}
LEGACY_GROUP_KEYS |= {"output_validator_flags", "accept_score", "reject_score", "range"}
GROUP_KEYS = {
    LEGACY: LEGACY_GROUP_KEYS,
    # problemtools reads the legacy keys in 2023-07 packages; the draft added these
    V2023: LEGACY_GROUP_KEYS
    | {"scoring", "args", "input_validator_args", "output_validator_args", "static_validation"}
    | {"full_feedback", "hint", "description"},
    V2025: {"max_score", "score_aggregation", "static_validation_score", "require_pass", "args"}
    | {"input_validator_args", "static_validator_args", "output_validator_args"}
    | {"input_visualizer_args", "output_visualizer_args", "full_feedback"},
}
TEST_KEYS = {
    V2023: {"args", "output_validator_args", "input_validator_args", "full_feedback", "hint"}
    | {"description"},
}
TEST_KEYS[V2025] = TEST_KEYS[V2023] | {"input_visualizer_args", "output_visualizer_args"}
# keys a group does not pass on to its subgroups (everything else is inherited)
NOT_INHERITED = {"score", "aggregation", "require_pass"}
GRADER_SCORE_MODES = ("sum", "avg", "min", "max")
GRADER_FLAGS = set(GRADER_SCORE_MODES) | {"worst_error", "first_error", "always_accept"}
GRADER_FLAGS |= {"ignore_sample", "accept_if_any_accepted"}
# files beside a test that the format defines and assay does not use (X.in is the test)
TEST_SIDE_FILES = (".out", ".in.statement", ".ans.statement", ".in.download", ".ans.download")
TEST_SIDE_FILES += (".desc", ".hint", ".png", ".jpg", ".jpeg", ".svg")

# --- submissions ---------------------------------------------------------------------------

# Kattis' verdicts of a test. A partial score (assay's PA) is still AC in Kattis, and running out
# of memory or output is RTE: `assay check` maps them so before it compares.
AC = frozenset({Verdict.AC})
ANY = frozenset({Verdict.AC, Verdict.WA, Verdict.TLE, Verdict.RTE})
KATTIS_VERDICTS = {
    "AC": AC,
    "WA": frozenset({Verdict.WA}),
    "TLE": frozenset({Verdict.TLE}),
    "RTE": frozenset({Verdict.RTE}),
}


@dataclass(frozen=True)
class Rule:
    """What a submission folder (or a submissions.yaml glob) asks of its submissions."""

    permitted: frozenset[Verdict] = ANY
    required: frozenset[Verdict] = ANY


WA, TLE, RTE = frozenset({Verdict.WA}), frozenset({Verdict.TLE}), frozenset({Verdict.RTE})
# legacy: the specification's table (problemtools checks the first failing test's verdict)
LEGACY_FOLDERS = {
    "accepted": Rule(AC),
    "partially_accepted": Rule(),  # overall AC, score below the maximum
    "wrong_answer": Rule(AC | WA, WA),  # not too slow, does not crash
    "time_limit_exceeded": Rule(AC | WA | TLE, TLE),  # may also be wrong, does not crash
    "run_time_error": Rule(ANY, RTE),
}
# 2023-07-draft and 2025-09: "Default directories"
DEFAULT_FOLDERS = {
    "accepted": Rule(AC),
    "rejected": Rule(ANY, WA | TLE | RTE),
    "wrong_answer": Rule(AC | WA, WA),
    "time_limit_exceeded": Rule(AC | TLE, TLE),
    "run_time_error": Rule(AC | RTE, RTE),
    "brute_force": Rule(AC | TLE | RTE, TLE | RTE),
}
SUBMISSION_FOLDERS = {
    LEGACY: LEGACY_FOLDERS,
    # problemtools also reads partially_accepted in 2023-07 packages
    V2023: {**DEFAULT_FOLDERS, "partially_accepted": LEGACY_FOLDERS["partially_accepted"]},
    V2025: DEFAULT_FOLDERS,
}


@dataclass
class ProblemType:
    scoring: bool = False
    interactive: bool = False
    multi_pass: bool = False

    @property
    def custom_validator(self) -> bool:
        return self.interactive or self.multi_pass


@dataclass
class Loader:
    """The state of loading one package: where it is, its version, and what to warn about."""

    root: Path
    work: Path
    version: str = LEGACY
    warnings: list[str] = field(default_factory=list)
    # legacy problem.yaml grading: accept_score, reject_score, range (problemtools applies them
    # to every test data group)
    grading_overrides: dict[str, Any] = field(default_factory=dict)
    # test name -> (file, key) that set its output validator arguments, for error messages
    args_origin: dict[str, tuple[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.real_root = self.root.resolve()

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()


# ------------------------------------------------------------------------------------------
# small value checks


def _number(
    value: Any, file: str, where: str, *, minimum: float = 0.0, inclusive: bool = False
) -> float:
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
    if ok and (value >= minimum if inclusive else value > minimum):
        return float(value)
    bound = (
        f"at least {minimum:g}" if inclusive else "positive" if minimum == 0 else f"> {minimum:g}"
    )
    raise PackageError(file, f"must be a {bound} number (got {value!r})", where)


def _words(value: Any, file: str, where: str) -> list[str]:
    """Arguments given as a string (split on white space) or a list of strings."""
    if value is None:
        return []
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return [str(v) for v in value]
    raise PackageError(file, f"must be a string or a list of strings (got {value!r})", where)


def _mapping(value: Any, file: str, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PackageError(file, f"must be a mapping (got {value!r})", where)
    return value


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


# ------------------------------------------------------------------------------------------
# symbolic links and directory walks


def _check_link(ld: Loader, link: Path) -> Path:
    """The real path a link inside the package leads to; refused if it leaves, dangles or loops."""
    where = ld.rel(link)
    try:
        target = link.resolve(strict=True)
    except RuntimeError as e:  # Python < 3.13 reports loops this way
        raise PackageError(where, "symbolic link loop") from e
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise PackageError(where, "symbolic link loop") from e
        raise PackageError(
            where, f"symbolic link to {os.readlink(link)!r}, which does not exist"
        ) from e
    if target != ld.real_root and ld.real_root not in target.parents:
        raise PackageError(
            where,
            f"symbolic link to {os.readlink(link)!r} leaves the package "
            "(links must stay inside the package directory)",
        )
    return target


def check_symlinks(ld: Loader) -> None:
    """Every link in the package (hidden entries aside, which the format ignores; but
    ``.timelimit`` is read)."""
    if (ld.root / ".timelimit").is_symlink():
        _check_link(ld, ld.root / ".timelimit")
    for top, dirs, files in os.walk(ld.root, followlinks=False):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in dirs + files:
            path = Path(top) / name
            if not name.startswith(".") and path.is_symlink():
                _check_link(ld, path)


def _entries(directory: Path) -> list[Path]:
    """A directory's entries in the format's order (by name), auxiliary ones left out."""
    return [p for p in sorted(directory.iterdir()) if NAME_OK.match(p.name)]


def _walk_files(ld: Loader, directory: Path, seen: tuple[Path, ...] = ()) -> Iterator[Path]:
    """Regular files below a directory, links followed (and loops refused)."""
    real = directory.resolve()
    if real in seen:
        raise PackageError(
            ld.rel(directory), "symbolic link loop (a directory links to its parent)"
        )
    for p in _entries(directory):
        if p.is_dir():
            yield from _walk_files(ld, p, (*seen, real))
        elif p.is_file():
            yield p


def _has_links(directory: Path) -> bool:
    if directory.is_symlink():
        return True
    return any(p.is_symlink() for p in directory.rglob("*"))


def _materialize(ld: Loader, path: Path, kind: str) -> Path:
    """A program or file as a real file or directory: one that contains symbolic links is
    copied (links resolved) into the work directory, keeping its name."""
    if path.is_file():
        if not path.is_symlink():
            return path
        copy = ld.work / "resolved" / kind / path.name
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path.resolve(), copy)
        shutil.copymode(path.resolve(), copy)
        return copy
    if not _has_links(path):
        return path
    copy = ld.work / "resolved" / kind / path.name
    for f in _walk_files(ld, path):
        target = copy / f.relative_to(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f.resolve(), target)
        shutil.copymode(f.resolve(), target)
    return copy


# ------------------------------------------------------------------------------------------
# problem.yaml


def format_version(doc: dict[str, Any]) -> str:
    value = doc.get("problem_format_version", "legacy")
    version = VERSIONS.get(str(value)) if isinstance(value, (str, int, float)) else None
    if version is None:
        raise PackageError(
            FILE,
            f"unknown version {value!r}; use one of {', '.join(VERSIONS)} (or leave it out: legacy)",
            "problem_format_version",
        )
    return version


def check_problem_keys(ld: Loader, doc: dict[str, Any]) -> None:
    known = PROBLEM_KEYS[ld.version]
    for key in doc:
        if key in known:
            continue
        if key in ("validation", "validator_flags"):  # in a 2023-07 or 2025-09 package
            ld.warn(
                f"{FILE}: {key} is a legacy key (2023-07 and later use type: and "
                "output_validator_args); assay uses it as the legacy format does"
            )
        else:
            ld.warn(f"{FILE}: unknown key {key!r} ignored")


def problem_type(ld: Loader, doc: dict[str, Any]) -> ProblemType:
    raw = doc.get("type", "pass-fail")
    types = [raw] if isinstance(raw, str) else raw
    if not isinstance(types, list) or not types or not all(isinstance(t, str) for t in types):
        raise PackageError(FILE, f"must be a string or a list of strings (got {raw!r})", "type")
    allowed = ("pass-fail", "scoring") if ld.version == LEGACY else TYPES
    for t in types:
        if t not in allowed:
            hint = ""
            if ld.version == LEGACY and t in TYPES:
                hint = (
                    " (the legacy format has pass-fail and scoring; interactive problems say "
                    "validation: custom interactive, or use problem_format_version: 2023-07-draft)"
                )
            raise PackageError(FILE, f"unknown type {t!r}; use {', '.join(allowed)}{hint}", "type")
    if len(set(types)) != len(types):
        raise PackageError(FILE, f"a type is repeated: {types}", "type")
    if ld.version == LEGACY and not isinstance(raw, str):
        raise PackageError(FILE, "the legacy format has a single type", "type")
    for a, b in INCOMPATIBLE_TYPES:
        if a in types and b in types:
            raise PackageError(FILE, f"{a} and {b} cannot be combined", "type")
    if "submit-answer" in types:
        raise PackageError(FILE, "submit-answer problems are not supported by assay", "type")
    pt = ProblemType(
        scoring="scoring" in types,
        interactive="interactive" in types,
        multi_pass="multi-pass" in types,
    )
    _legacy_validation(ld, doc, pt)
    return pt


def _legacy_validation(ld: Loader, doc: dict[str, Any], pt: ProblemType) -> None:
    """``validation: default | custom [score] [interactive]`` (legacy)."""
    if "validation" not in doc:
        return
    words = str(doc["validation"]).split()
    if not words or words[0] not in ("default", "custom"):
        raise PackageError(
            FILE, f"must begin with default or custom (got {doc['validation']!r})", "validation"
        )
    for w in words[1:]:
        if w not in ("score", "interactive") or words[0] == "default":
            raise PackageError(
                FILE,
                f"unknown word {w!r}: use default, or custom followed by score and/or interactive",
                "validation",
            )
    if "interactive" in words:
        pt.interactive = True
    if "score" in words and not pt.scoring:
        ld.warn(f"{FILE}: validation: custom score is only for scoring problems")


def custom_validation(ld: Loader, doc: dict[str, Any], pt: ProblemType) -> bool:
    """Whether the package's own output validator judges (rather than the default one):
    legacy says so with ``validation: custom``; later versions by having ``output_validator/``
    (interactive and multi-pass problems must)."""
    said_custom = str(doc.get("validation", "default")).split()[0] == "custom"
    if ld.version == LEGACY:
        return said_custom
    return said_custom or pt.custom_validator or (ld.root / "output_validator").exists()


def title(ld: Loader, doc: dict[str, Any], statement_dir: Path | None) -> str:
    name = doc.get("name")
    if isinstance(name, dict):  # name: {en: ..., sv: ...}
        name = name.get("en") or next(iter(name.values()), None)
    if isinstance(name, (str, int, float)) and str(name).strip():
        return str(name).strip()
    if statement_dir is not None:  # legacy: \problemname{...} in the LaTeX statement
        for tex in sorted(statement_dir.glob("problem*.tex")):
            m = re.search(r"\\problemname\{([^}]*)\}", tex.read_text(errors="replace"))
            if m and m.group(1).strip():
                return m.group(1).strip()
    return ld.root.name


# ------------------------------------------------------------------------------------------
# limits


@dataclass
class KattisLimits:
    run: Limits
    build: Limits
    checker: Limits
    time_limit: float | None
    ac_to_time_limit: float
    time_limit_to_tle: float
    time_resolution: float
    validation_passes: int


def read_limits(ld: Loader, doc: dict[str, Any], pt: ProblemType) -> KattisLimits:
    lim = _mapping(doc.get("limits"), FILE, "limits")
    known = LIMIT_KEYS_BY_VERSION[ld.version]
    other = LIMIT_KEYS_BY_VERSION[V2025 if ld.version == LEGACY else LEGACY]
    for key in lim:
        if key in known:
            continue
        if key in other:
            ld.warn(
                f"{FILE}: limits.{key} belongs to another version of the format "
                f"(this package is {ld.version}); assay uses it"
            )
        else:
            ld.warn(f"{FILE}: unknown key 'limits.{key}' ignored")

    def get(key: str, default: float, *, minimum: float = 0.0, inclusive: bool = False) -> float:
        if key not in lim:
            return default
        return _number(lim[key], FILE, f"limits.{key}", minimum=minimum, inclusive=inclusive)

    def whole(key: str, default: int) -> int:
        value = get(key, default)
        if value != int(value):
            raise PackageError(FILE, f"must be a whole number (got {lim[key]!r})", f"limits.{key}")
        return int(value)

    # time: the version's own keys win over the other version's
    mult = _mapping(lim.get("time_multipliers"), FILE, "limits.time_multipliers")
    for key in mult:
        if key not in ("ac_to_time_limit", "time_limit_to_tle"):
            ld.warn(f"{FILE}: unknown key 'limits.time_multipliers.{key}' ignored")
    multipliers = {}
    for old_key, new_key, legacy_default, default in (
        ("time_multiplier", "ac_to_time_limit", 5.0, 2.0),
        ("time_safety_margin", "time_limit_to_tle", 2.0, 1.5),
    ):
        old = get(old_key, legacy_default) if old_key in lim else None
        new = None
        if new_key in mult:
            where = f"limits.time_multipliers.{new_key}"
            new = _number(mult[new_key], FILE, where, minimum=1.0, inclusive=True)
        own, foreign = (old, new) if ld.version == LEGACY else (new, old)
        fallback = legacy_default if ld.version == LEGACY else default
        multipliers[new_key] = (
            own if own is not None else foreign if foreign is not None else fallback
        )
    ac, tle = multipliers["ac_to_time_limit"], multipliers["time_limit_to_tle"]
    time_limit = None
    if (ld.root / ".timelimit").is_file():  # DOMjudge's and old Kattis' file wins
        try:
            time_limit = float((ld.root / ".timelimit").read_text().split()[0])
        except (ValueError, IndexError) as e:
            raise PackageError(".timelimit", "must hold a number of seconds") from e
        if not time_limit > 0:
            raise PackageError(".timelimit", f"must be positive (got {time_limit:g})")
    elif "time_limit" in lim:
        time_limit = get("time_limit", 1.0)
    resolution = get("time_resolution", 1.0)
    passes = 1
    if "validation_passes" in lim and not pt.multi_pass:
        ld.warn(f"{FILE}: limits.validation_passes is only for multi-pass problems; ignored")
    elif pt.multi_pass:
        passes = whole("validation_passes", 2)
        if passes < 2:
            raise PackageError(
                FILE, f"must be at least 2 (got {passes})", "limits.validation_passes"
            )
    if "code" in lim:
        ld.warn(f"{FILE}: limits.code ({get('code', 0):g} KiB of source) is not enforced by assay")

    run = DEFAULT_RUN_LIMITS.replace(
        cpu_time_s=time_limit or 1.0,
        memory_kib=int(get("memory", 2048) * 1024),
        output_kib=int(get("output", 8) * 1024),
    )
    build = DEFAULT_BUILD_LIMITS
    if "compilation_time" in lim:
        seconds = get("compilation_time", 60)
        build = build.replace(cpu_time_s=seconds, wall_time_s=2 * seconds)
    if "compilation_memory" in lim:
        build = build.replace(memory_kib=int(get("compilation_memory", 2048) * 1024))
    checker = Limits(
        cpu_time_s=get("validation_time", 60),
        memory_kib=int(get("validation_memory", 2048) * 1024),
        processes=16,
        file_size_kib=int(get("validation_output", 8) * 1024),
    )
    return KattisLimits(run, build, checker, time_limit, ac, tle, resolution, passes)


# ------------------------------------------------------------------------------------------
# output validator


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


# ------------------------------------------------------------------------------------------
# test data


@dataclass
class GroupConfig:
    """One test data group's settings, as read from its testdata.yaml / test_group.yaml and
    inherited from its parent (see NOT_INHERITED)."""

    values: dict[str, Any] = field(default_factory=dict)
    file: str | None = None  # where the group's own settings are

    def child(self) -> GroupConfig:
        return GroupConfig({k: v for k, v in self.values.items() if k not in NOT_INHERITED})

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)


@dataclass
class DataDir:
    rel: str  # the path below data/: "secret/group1"
    path: Path
    config: GroupConfig
    items: list[TestCase | DataDir] = field(default_factory=list)

    @property
    def tests(self) -> list[TestCase]:
        return [t for t in self.items if isinstance(t, TestCase)]

    @property
    def children(self) -> list[DataDir]:
        return [d for d in self.items if isinstance(d, DataDir)]

    def all_tests(self) -> list[TestCase]:
        out: list[TestCase] = []
        for item in self.items:
            out += [item] if isinstance(item, TestCase) else item.all_tests()
        return out


def _input_args(ld: Loader, value: Any, file: str, key: str) -> list[str] | None:
    if isinstance(value, dict):
        ld.warn(
            f"{file}: {key} per input validator (a mapping) is not supported: "
            "the validators run without these arguments"
        )
        return None
    return _words(value, file, key)


def read_group_settings(ld: Loader, doc: dict[str, Any], file: str, scoring: bool) -> dict:
    """A group file's keys, checked and normalized (``out_args``, ``in_args``, ``mode``, ...)."""
    out: dict[str, Any] = {}
    known = GROUP_KEYS[ld.version]
    for key, value in doc.items():
        if key not in known:
            ld.warn(f"{file}: unknown key {key!r} ignored")
            continue
        if key in ("output_validator_flags", "output_validator_args"):
            if isinstance(value, dict) and "flags" in value:  # legacy {name:, flags:}
                value = value["flags"]
            out["out_args"] = _words(value, file, key)
            out["out_args_from"] = (file, key)
        elif key in ("input_validator_flags", "input_validator_args"):
            out["in_args"] = _input_args(ld, value, file, key)
        elif key == "args":
            out["args"] = _words(value, file, key)
        elif key == "full_feedback":
            if not isinstance(value, bool):
                raise PackageError(file, f"must be true or false (got {value!r})", key)
            out["full_feedback"] = value
        elif key in ("accept_score", "reject_score"):
            try:
                out[key] = float(value)
            except (TypeError, ValueError) as e:
                raise PackageError(file, f"must be a number (got {value!r})", key) from e
        elif key == "range":
            try:
                lo, hi = (float(w) for w in str(value).split())
            except ValueError as e:
                raise PackageError(file, f"must be two numbers 'A B' (got {value!r})", key) from e
            if lo > hi:
                raise PackageError(file, f"the minimum is above the maximum ({value!r})", key)
            out["range"] = (lo, hi)
        elif key == "grader_flags":
            flags = _words(value, file, key)
            for f in flags:
                if f not in GRADER_FLAGS:
                    ld.warn(f"{file}: unknown grader flag {f!r} ignored")
            out["grader_flags"] = flags
        elif key == "on_reject":
            if value not in ("break", "continue"):
                raise PackageError(file, f"must be break or continue (got {value!r})", key)
        elif key == "grading":
            if value not in ("default", "custom"):
                raise PackageError(file, f"must be default or custom (got {value!r})", key)
            out["grading"] = value
        elif key == "scoring":  # 2023-07-draft: {score, aggregation, require_pass}
            m = _mapping(value, file, key)
            for k, v in m.items():
                if k == "score":
                    out["score"] = _max_score(v, file, "scoring.score")
                elif k == "aggregation":
                    out["aggregation"] = _aggregation(v, file, "scoring.aggregation")
                elif k == "require_pass":
                    out["require_pass"] = v
                else:
                    ld.warn(f"{file}: unknown key 'scoring.{k}' ignored")
        elif key == "max_score":
            out["score"] = _max_score(value, file, key)
        elif key == "score_aggregation":
            out["aggregation"] = _aggregation(value, file, key)
        elif key == "require_pass":
            out["require_pass"] = value
        elif key.startswith("static_validat") and value not in (False, None):
            ld.warn(f"{file}: {key}: static validation is not supported by assay; ignored")
        # hint, description and the visualizers' arguments are for people and tools
    if not scoring:
        for key in ("accept_score", "reject_score", "range", "score", "aggregation"):
            if key in out:
                name = {"score": "max_score / scoring.score", "aggregation": "score_aggregation"}
                ld.warn(f"{file}: {name.get(key, key)} is only for scoring problems; ignored")
    if "require_pass" in out:
        ld.warn(f"{file}: require_pass is not supported by assay: the group is always scored")
    return out


def _max_score(value: Any, file: str, where: str) -> float:
    if value == "unbounded":
        raise PackageError(file, "unbounded scores are not supported by assay", where)
    return _number(value, file, where, inclusive=True)


def _aggregation(value: Any, file: str, where: str) -> str:
    if value not in ("pass-fail", "sum", "min"):
        raise PackageError(file, f"must be pass-fail, sum or min (got {value!r})", where)
    return str(value)


def _group_file(ld: Loader, directory: Path, depth: int) -> tuple[Path | None, str | None]:
    """The group's settings file, if it has one (``depth``: 0 for data/, 1 for secret, ...)."""
    found = [directory / n for n in GROUP_FILES[ld.version] if (directory / n).is_file()]
    rel = ld.rel(directory)
    if len(found) > 1:
        raise PackageError(f"{rel}/", "has both testdata.yaml and test_group.yaml: keep one")
    if ld.version == V2025 and (directory / "testdata.yaml").is_file():
        ld.warn(f"{rel}/testdata.yaml is not read: 2025-09 calls it test_group.yaml")
    if not found:
        return None, None
    if ld.version == V2025 and depth > 2:
        ld.warn(
            f"{ld.rel(found[0])} is not read: in 2025-09 only data/sample, data/secret and "
            "the groups directly in data/secret have settings"
        )
        return None, None
    return found[0], ld.rel(found[0])


def read_data_dir(
    ld: Loader, path: Path, rel: str, parent: GroupConfig, pt: ProblemType, seen: tuple = ()
) -> DataDir:
    """One directory of the test data tree: its settings, its tests and its subdirectories."""
    real = path.resolve()
    if real in seen:
        raise PackageError(ld.rel(path), "symbolic link loop (a directory links to its parent)")
    config = parent.child()
    cfg_path, cfg_file = _group_file(ld, path, rel.count("/") + 1)
    if cfg_path is not None:
        doc = read_yaml(cfg_path, cfg_file)
        config.values.update(read_group_settings(ld, doc, cfg_file, pt.scoring))
        config.file = cfg_file
    config.values.update(ld.grading_overrides)
    node = DataDir(rel, path, config)
    entries = _entries(path)
    names = {p.name for p in entries}
    bases = {p.name[:-3] for p in entries if p.name.endswith(".in") and p.is_file()}
    unknown: list[str] = []
    for p in entries:
        name = p.name
        if p.is_dir():
            if name.endswith(".files") and name[:-6] in bases:
                continue  # the test's files, read with the test
            node.items.append(read_data_dir(ld, p, f"{rel}/{name}", config, pt, (*seen, real)))
        elif name in GROUP_FILES[ld.version] or (ld.version == V2025 and name == "testdata.yaml"):
            continue  # the group's settings (or, 2025-09, a file warned about)
        elif name.endswith(".in"):
            node.items.append(make_test(ld, p, rel, config, pt, names))
        elif name.endswith(".ans"):
            if name[:-4] not in bases:
                raise PackageError(f"data/{rel}/{name}", f"no input {name[:-4]}.in beside it")
        elif name.endswith(".interaction"):
            if name[:-12] not in bases:
                ld.warn(
                    f"data/{rel}/{name}: an interaction without a test case ({name[:-12]}.in) "
                    "is only shown in the statement; assay does not show it"
                )
        elif name.endswith(".yaml") and name[:-5] in bases and ld.version != LEGACY:
            continue  # the test's settings, read with the test
        elif name.endswith(".download") or any(
            name.endswith(s) and name[: -len(s)] in bases for s in TEST_SIDE_FILES
        ):
            continue  # shown or offered to people; not used in judging
        else:
            unknown.append(name)
    if unknown:
        ld.warn(f"data/{rel}/: files that are not test data ignored: {', '.join(unknown)}")
    return node


def make_test(
    ld: Loader, path: Path, rel: str, config: GroupConfig, pt: ProblemType, names: set[str]
) -> TestCase:
    base = path.name[:-3]
    where = f"data/{rel}/{path.name}"
    name = check_test_name(f"{rel}/{base}", where)
    ans = path.with_name(base + ".ans")
    if not ans.is_file():
        raise PackageError(where, f"no answer file {base}.ans beside it")
    if path.is_symlink() and not ans.is_symlink():
        ld.warn(f"{where} is a symbolic link but {base}.ans is not (problemtools requires both)")
    settings = dict(config.values)
    if f"{base}.yaml" in names and ld.version != LEGACY:
        yfile = f"data/{rel}/{base}.yaml"
        doc = read_yaml(path.with_name(base + ".yaml"), yfile)
        for key, value in doc.items():
            if key not in TEST_KEYS[ld.version]:
                ld.warn(f"{yfile}: unknown key {key!r} ignored")
            elif key == "output_validator_args":
                settings["out_args"] = _words(value, yfile, key)
                settings["out_args_from"] = (yfile, key)
            elif key == "input_validator_args":
                settings["in_args"] = _input_args(ld, value, yfile, key)
            elif key == "args":
                settings["args"] = _words(value, yfile, key)
            elif key == "full_feedback":
                if not isinstance(value, bool):
                    raise PackageError(yfile, f"must be true or false (got {value!r})", key)
                settings["full_feedback"] = value
    test = TestCase(name=name, input=_real(path), answer=_real(ans))
    test.args = list(settings.get("args") or [])
    test.input_validator_args = list(settings.get("in_args") or [])
    test.judge_args = list(settings.get("out_args") or [])  # made relative later
    ld.args_origin[name] = settings.get("out_args_from", (FILE, "validator_flags"))
    sample = rel == "sample" or rel.startswith("sample/")
    test.visible = bool(settings.get("full_feedback", sample)) if ld.version != LEGACY else sample
    files_dir = path.with_name(base + ".files")
    if files_dir.is_dir() and ld.version == LEGACY:
        ld.warn(f"data/{rel}/{base}.files/: test files are not part of the legacy format; ignored")
    elif files_dir.is_dir():  # copied into the submission's working directory
        test.files_base = _materialize(ld, files_dir, f"files/{rel}")
        test.files = list(_walk_files(ld, test.files_base))
    interaction = path.with_name(base + ".interaction")
    if interaction.is_file():
        if pt.custom_validator:
            test.interaction = _real(interaction)
        else:
            ld.warn(
                f"data/{rel}/{base}.interaction: only interactive and multi-pass problems "
                "show interactions; ignored"
            )
    if pt.interactive and test.visible and test.interaction is None:
        test.visible = False
        if sample:
            ld.warn(
                f"{where}: an interactive sample without {base}.interaction: its input and answer "
                "are the validator's, so it is not shown to students"
            )
    return test


def _real(path: Path) -> Path:
    return path.resolve() if path.is_symlink() else path


def read_test_data(ld: Loader, pt: ProblemType) -> DataDir:
    data = ld.root / "data"
    if not data.is_dir():
        raise PackageError(
            "data/", "missing: a Kattis package keeps its tests in data/sample and data/secret"
        )
    root_config = GroupConfig()
    cfg_path, cfg_file = _group_file(ld, data, 0)
    if cfg_path is not None:
        doc = read_yaml(cfg_path, cfg_file)
        root_config.values.update(read_group_settings(ld, doc, cfg_file, pt.scoring))
        root_config.file = cfg_file
    root = DataDir("", data, root_config)
    for p in _entries(data):
        if p.is_file():
            if p.name not in GROUP_FILES[ld.version] + ("testdata.yaml",):
                ld.warn(f"data/{p.name}: not test data (tests are in data/sample and data/secret)")
            continue
        if p.name not in ("sample", "secret"):
            if p.name not in DATA_ENTRIES[ld.version]:
                ld.warn(f"data/{p.name}/: unknown folder ignored (data has sample and secret)")
            continue  # invalid_input, invalid_output, valid_output: for validator checks
        parent = root_config.child()
        parent.values.setdefault("full_feedback", p.name == "sample")
        root.items.append(read_data_dir(ld, p, p.name, parent, pt))
    return root


def _subdir(root: DataDir, name: str) -> DataDir | None:
    return next((d for d in root.children if d.rel == name), None)


# ------------------------------------------------------------------------------------------
# groups and points


def make_groups(ld: Loader, root: DataDir, pt: ProblemType) -> list[TestGroup]:
    groups: list[TestGroup] = []
    sample = _subdir(root, "sample")
    if sample is not None:
        tests = sample.all_tests()
        if sample.children and ld.version != LEGACY:
            ld.warn("data/sample/: samples must not have groups; their tests are samples")
        if sample.config.file and any(k in sample.config.values for k in ("score", "aggregation")):
            ld.warn(
                f"{sample.config.file}: samples are never scored; its score settings are ignored"
            )
        for t in tests:
            t.group = "sample"
        if tests:
            groups.append(TestGroup("sample", 0.0, "proportional", [t.name for t in tests]))
    secret = _subdir(root, "secret")
    if secret is None:
        raise PackageError("data/secret/", "missing: the package has no secret tests")
    if not secret.all_tests():
        raise PackageError("data/secret/", "no test cases (NAME.in with NAME.ans)")
    if not pt.scoring:
        groups.append(_group(secret.rel, PASS_FAIL_POINTS, "all", secret.all_tests()))
        return groups
    found: list[TestGroup] = []
    uses_spec_scoring = ld.version == V2025 or _any_config(secret, ("score", "aggregation"))
    if uses_spec_scoring:
        if ld.version == V2025 and secret.tests and secret.children:
            raise PackageError(
                "data/secret/", "has both test cases and groups (2025-09 allows one or the other)"
            )
        score = secret.config.get("score", 100.0)
        aggregation = secret.config.get("aggregation", "sum")
        _spec_groups(ld, secret, score, aggregation, found)
    else:
        _legacy_groups(ld, secret, found)
    for g in found:
        if not g.tests:
            raise PackageError(f"data/{g.name}/", "the group has no test cases")
    return groups + found


def _group(name: str, points: float, scoring: str, tests: list[TestCase]) -> TestGroup:
    for t in tests:
        t.group = name
    return TestGroup(name, round(points, 9), scoring, [t.name for t in tests])


def _any_config(node: DataDir, keys: tuple[str, ...]) -> bool:
    own = node.config.file is not None and any(k in node.config.values for k in keys)
    return own or any(_any_config(c, keys) for c in node.children)


def _legacy_groups(ld: Loader, node: DataDir, out: list[TestGroup]) -> None:
    """Legacy grading: every test scores ``accept_score`` (else ``reject_score``) and a group
    aggregates with the last of sum/avg/min/max in ``grader_flags`` (default sum)."""
    cfg = node.config
    where = cfg.file or f"data/{node.rel}/"
    modes = [f for f in cfg.get("grader_flags", []) if f in GRADER_SCORE_MODES]
    mode = modes[-1] if modes else "sum"
    score = cfg.get("accept_score", 1.0)
    if cfg.get("reject_score", 0.0) != 0.0:
        ld.warn(
            f"{where}: reject_score {cfg.get('reject_score'):g} is not supported (a failed test scores 0)"
        )
    if mode != "sum" or not node.children:
        tests = node.all_tests()
        if mode == "max":
            ld.warn(f"{where}: grader_flags max (the best test counts) is scored as avg by assay")
        points = score * len(tests) if mode == "sum" else score
        out.append(_group(node.rel, points, "all" if mode == "min" else "proportional", tests))
        return
    if node.tests:
        out.append(_group(node.rel, score * len(node.tests), "proportional", node.tests))
    for child in node.children:
        _legacy_groups(ld, child, out)


def _spec_groups(
    ld: Loader, node: DataDir, score: float, aggregation: str, out: list[TestGroup]
) -> None:
    """2023-07 / 2025-09 scoring: a group's score is its max score when every test passes
    (pass-fail), the sum of its parts' scores (sum) or their minimum (min); parts without a
    max score share what the others leave."""
    where = node.config.file or f"data/{node.rel}/"
    nested = node.children and (ld.version != V2025 or node.rel == "secret")
    if aggregation != "sum" or not nested:
        if aggregation == "min" and nested:
            ld.warn(f"{where}: min over groups is scored by assay as every test passing")
        scoring = "proportional" if aggregation == "sum" else "all"
        out.append(_group(node.rel, score, scoring, node.all_tests()))
        return
    children = node.children
    explicit = sum(c.config.get("score", 0.0) for c in children if "score" in c.config.values)
    unset = [c for c in children if "score" not in c.config.values]
    parts = len(unset) + len(node.tests)
    if explicit > score + 1e-9:
        raise PackageError(
            where, f"the groups' max scores add up to {explicit:g}, above the group's {score:g}"
        )
    share = (score - explicit) / parts if parts else 0.0
    if ld.version == V2025 and unset:
        ld.warn(
            f"data/{node.rel}/: groups without max_score ({', '.join(c.rel for c in unset)}): "
            f"2025-09 asks for one; assay shares the remaining {score - explicit:g} points"
        )
    if node.tests:
        out.append(_group(node.rel, share * len(node.tests), "proportional", node.tests))
    for child in children:
        _spec_groups(
            ld,
            child,
            child.config.get("score", share),
            child.config.get("aggregation", "pass-fail"),
            out,
        )


def uses_custom_grading(node: DataDir) -> str | None:
    if node.config.get("grading") == "custom":
        return node.config.file or f"data/{node.rel}/"
    for child in node.children:
        found = uses_custom_grading(child)
        if found:
            return found
    return None


def check_graders(ld: Loader, data: DataDir) -> None:
    where = uses_custom_grading(data)
    if where is not None:
        raise PackageError(where, "custom graders are not supported by assay", "grading")
    if (ld.root / "graders").exists():
        ld.warn("graders/: no test data group uses grading: custom, so the graders are unused")


# ------------------------------------------------------------------------------------------
# validator arguments per test


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


# ------------------------------------------------------------------------------------------
# submissions


def _braces(pattern: str) -> list[str]:
    m = re.search(r"\{([^{}]*)\}", pattern)
    if not m:
        return [pattern]
    out = []
    for alt in m.group(1).split(","):
        out += _braces(pattern[: m.start()] + alt + pattern[m.end() :])
    return out


def glob_matches(pattern: str, path: str) -> bool:
    """A submissions.yaml glob: ``*`` within a name, ``{a,b}``; a submission matches when it or
    a directory it is in does."""
    parts = path.split("/")
    for alt in _braces(pattern.strip("/")):
        pats = [re.sub(r"([\[\]])", r"[\1]", p) for p in alt.split("/")]
        if len(pats) <= len(parts) and all(
            fnmatchcase(part, pat) for part, pat in zip(parts, pats, strict=False)
        ):
            return True
    return False


def _verdict_set(value: Any, file: str, where: str) -> frozenset[Verdict]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise PackageError(file, f"must be a list of AC, WA, TLE, RTE (got {value!r})", where)
    out: set[Verdict] = set()
    for v in items:
        if v not in KATTIS_VERDICTS:
            raise PackageError(file, f"unknown verdict {v!r}; use AC, WA, TLE, RTE", where)
        out |= KATTIS_VERDICTS[v]
    return frozenset(out)


def _score_range(value: Any, file: str, where: str) -> tuple[float, float]:
    if isinstance(value, list) and len(value) == 2:
        lo = _number(value[0], file, where, inclusive=True)
        hi = _number(value[1], file, where, inclusive=True)
        if lo > hi:
            raise PackageError(file, f"the minimum is above the maximum ({value!r})", where)
        return lo, hi
    score = _number(value, file, where, inclusive=True)
    return score, score


@dataclass
class SubmissionRules:
    """submissions.yaml: glob -> what the submissions it matches must get."""

    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)


def read_submissions_yaml(ld: Loader, pt: ProblemType) -> SubmissionRules:
    path = ld.root / "submissions" / "submissions.yaml"
    rules = SubmissionRules()
    if not path.is_file():
        return rules
    file = "submissions/submissions.yaml"
    if ld.version == LEGACY:
        ld.warn(f"{file} is not read: it belongs to 2023-07 and later")
        return rules
    for glob, spec in read_yaml(path, file).items():
        spec = _mapping(spec, file, str(glob))
        entry: dict[str, Any] = {}
        for key, value in spec.items():
            where = f"{glob}.{key}"
            if key in ("permitted", "required"):
                entry[key] = _verdict_set(value, file, where)
            elif key == "score":
                if not pt.scoring:
                    ld.warn(f"{file}: {where} is only for scoring problems; ignored")
                else:
                    entry["score"] = _score_range(value, file, where)
            elif key == "language":
                try:
                    entry["language"] = get_runtime(str(value)).name
                except KeyError:
                    ld.warn(f"{file}: {where}: unknown language {value!r}; detected by extension")
            elif key in ("entrypoint", "message", "use_for_time_limit"):
                ld.warn(f"{file}: {where} is not supported by assay; ignored")
            elif key in ("authors", "model_solution"):
                pass
            elif "/" in str(key) or str(key).split("/")[0] in ("sample", "secret"):
                ld.warn(
                    f"{file}: {where}: requirements for some test groups only are not "
                    "supported by assay; ignored"
                )
            else:
                ld.warn(f"{file}: unknown key {where!r} ignored")
        rules.entries[str(glob)] = entry
    return rules


def _combine_required(ld: Loader, name: str, sets: list[frozenset[Verdict]]) -> frozenset[Verdict]:
    """Several "at least one test gets one of ..." rules: the smallest implies the others when
    they are nested; otherwise assay keeps the last one."""
    sets = [s for s in sets if s != ANY] or [ANY]
    smallest = min(sets, key=len)
    if all(smallest <= s for s in sets):
        return smallest
    ld.warn(
        f"submissions/{name}: several required: rules that do not nest; assay checks only "
        f"the last ({', '.join(sorted(sets[-1]))})"
    )
    return sets[-1]


def _expected(rule: Rule, score: tuple[float, float] | None) -> Verdict:
    """The one verdict a solution is listed under (the permitted and required sets decide)."""
    if rule.permitted <= AC:
        return Verdict.AC
    for v in (Verdict.WA, Verdict.TLE, Verdict.RTE):
        if v in rule.required and rule.required != ANY:
            return v
    return Verdict.PA if score is not None else Verdict.WA


def _is_program(path: Path, language: str | None) -> bool:
    if path.is_dir() or language is not None:
        return True
    try:
        detect_runtime([path.name])
    except KeyError:
        return False
    return True


def read_submissions(ld: Loader, pt: ProblemType, points: float) -> list[ReferenceSolution]:
    sub_dir = ld.root / "submissions"
    if not sub_dir.is_dir():
        return []
    folders = SUBMISSION_FOLDERS[ld.version]
    yaml_rules = read_submissions_yaml(ld, pt)
    solutions: list[ReferenceSolution] = []
    for folder in _entries(sub_dir):
        if folder.is_file():
            if folder.name != "submissions.yaml":
                ld.warn(f"submissions/{folder.name}: not in a verdict folder; ignored")
            continue
        no_rule: list[str] = []
        not_programs: list[str] = []
        for entry in _entries(folder):
            rule = _rule_for(ld, folder.name, entry.name, folders, yaml_rules)
            if rule is None:
                no_rule.append(entry.name)
            elif not _is_program(entry, rule.language):
                not_programs.append(entry.name)
            else:
                solutions.append(_solution(ld, folder.name, entry, rule, points))
        if no_rule:
            ld.warn(
                f"submissions/{folder.name}/: not a verdict folder of the {ld.version} format "
                f"({', '.join(folders)}); {len(no_rule)} submission(s) skipped"
            )
        if not_programs:
            ld.warn(
                f"submissions/{folder.name}/: not programs (no known language), skipped: "
                f"{', '.join(not_programs)}"
            )
    for glob in yaml_rules.entries:
        if glob not in yaml_rules.used and glob not in folders:
            ld.warn(f"submissions/submissions.yaml: {glob!r} matches no submission")
    if not pt.scoring:
        for s in solutions:
            if s.name.startswith("partially_accepted/"):
                ld.warn("submissions/partially_accepted/ is only for scoring problems")
                break
    return solutions


@dataclass
class SubmissionRule:
    """What one submission must get: its folder's rule and the submissions.yaml globs."""

    permitted: frozenset[Verdict]
    required: frozenset[Verdict]
    score: tuple[float, float] | None = None
    language: str | None = None


def _rule_for(
    ld: Loader, folder: str, entry: str, folders: dict[str, Rule], yaml_rules: SubmissionRules
) -> SubmissionRule | None:
    """None when neither the folder nor any glob says what the submission must get. A glob that
    names the folder itself overrides the folder's default rule; other globs add to it."""
    name = f"{folder}/{entry}"
    matching = [g for g in yaml_rules.entries if glob_matches(g, name)]
    yaml_rules.used.update(matching)
    base = folders.get(folder)
    override = yaml_rules.entries.get(folder, {})
    extra = [yaml_rules.entries[g] for g in matching if g != folder]
    if base is None and folder not in yaml_rules.entries and not extra:
        return None
    rule = base or Rule()
    permitted = override.get("permitted", rule.permitted)
    required = [override.get("required", rule.required)]
    score = override.get("score")
    language = override.get("language")
    for e in extra:
        permitted = permitted & e.get("permitted", ANY)
        required.append(e.get("required", ANY))
        score = e.get("score", score)
        language = e.get("language", language)
    return SubmissionRule(
        frozenset(permitted), _combine_required(ld, name, required), score, language
    )


def _solution(
    ld: Loader, folder: str, entry: Path, rule: SubmissionRule, points: float
) -> ReferenceSolution:
    score = rule.score
    if folder == "partially_accepted" and ld.version != V2025 and score is None:
        score = (0.0, math.nextafter(points, 0.0))  # any score below the maximum
    return ReferenceSolution(
        name=f"{folder}/{entry.name}",
        expected=_expected(Rule(rule.permitted, rule.required), score),
        path=_materialize(ld, entry, f"submissions/{folder}"),
        permitted=set(rule.permitted),
        required=set(rule.required),
        score_range=score,
        language=rule.language,
    )


# ------------------------------------------------------------------------------------------
# input validators, included files, statement, package root


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


def read_include(ld: Loader) -> dict[str, Path]:
    directory = ld.root / "include"
    if not directory.is_dir():
        return {}
    include: dict[str, Path] = {}
    for p in _entries(directory):
        where = f"include/{p.name}"
        if not p.is_dir():
            ld.warn(f"{where}: included files belong in include/<language>/; ignored")
            continue
        if not any(_walk_files(ld, p)):
            ld.warn(f"{where}/: empty; ignored")
            continue
        if p.name == "default":
            runtime = "default"
        else:
            try:
                runtime = get_runtime(p.name).name
            except KeyError:
                ld.warn(f"{where}/: unknown language {p.name!r}; its files are not included")
                continue
        if runtime in include:
            ld.warn(f"{where}/: a second folder for {runtime}; ignored")
            continue
        include[runtime] = _materialize(ld, p, "include")
    return include


def read_statement(ld: Loader) -> tuple[Path | None, str]:
    """The statement directory and the Markdown statement (English preferred)."""
    name = "problem_statement" if ld.version == LEGACY else "statement"
    directory = ld.root / name
    if not directory.is_dir() and ld.version == V2023 and (ld.root / "problem_statement").is_dir():
        ld.warn("problem_statement/ is the legacy name; 2023-07 calls it statement/")
        directory = ld.root / "problem_statement"
    if not directory.is_dir():
        return None, ""
    candidates = [directory / "problem.en.md", directory / "problem.md"]
    candidates += sorted(directory.glob("problem.*.md"))
    for c in candidates:
        if c.is_file():
            return directory, c.read_text(encoding="utf-8", errors="replace")
    if any(directory.glob("problem*.tex")) or any(directory.glob("problem*.pdf")):
        ld.warn(f"{ld.rel(directory)}/: the statement is LaTeX or PDF; assay shows Markdown only")
    return directory, ""


def check_root(ld: Loader) -> None:
    known = ROOT_ENTRIES[ld.version]
    for p in _entries(ld.root):
        if p.name in known or (p.is_file() and p.name.upper().startswith("README")):
            continue
        if ld.version != LEGACY and p.name == "output_validators":
            continue  # warned about below
        legacy_statement = p.name == "problem_statement" and ld.version == V2023
        if legacy_statement and not (ld.root / "statement").is_dir():
            continue  # read, with a warning
        kind = "folder" if p.is_dir() else "file"
        ld.warn(f"{p.name}{'/' if p.is_dir() else ''}: unknown {kind} in the package root ignored")
    if (ld.root / "static_validator").exists():
        ld.warn("static_validator/: static validation is not supported by assay; ignored")
    if ld.version != LEGACY and (ld.root / "output_validators").exists():
        ld.warn(
            "output_validators/ is not read: 2023-07 and later keep the output validator in "
            "output_validator/"
        )


def unsupported_problem_keys(
    ld: Loader, doc: dict[str, Any], pt: ProblemType, custom: bool
) -> None:
    grading = _mapping(doc.get("grading"), FILE, "grading") if ld.version == LEGACY else {}
    known = ("objective", "show_test_data_groups", "accept_score", "reject_score", "range")
    for key in grading:
        if key not in (*known, "on_reject"):
            ld.warn(f"{FILE}: unknown key 'grading.{key}' ignored")
    if grading.get("objective", "max") != "max":
        ld.warn(f"{FILE}: grading.objective {grading['objective']!r}: assay always maximizes")
    for key in ("accept_score", "reject_score", "range", "on_reject"):  # predate legacy
        if key in grading:
            settings = read_group_settings(ld, {key: grading[key]}, FILE, pt.scoring)
            ld.grading_overrides.update(settings)
    languages = doc.get("languages", "all")
    if ld.version != LEGACY and languages not in ("all", ["all"]):
        ld.warn(f"{FILE}: languages {languages} are not enforced: any runtime may submit")
    if ld.version != LEGACY and doc.get("constants"):
        ld.warn(f"{FILE}: constants ({{{{name}}}} substitution) are not supported; not substituted")
    legacy_score = "score" in str(doc.get("validation", "")).split()
    if pt.scoring and custom and (ld.version != LEGACY or legacy_score):
        ld.warn(
            "the output validator's score.txt is read as assay reads it (a fraction of the "
            "test's points), not as a Kattis score"
        )


# ------------------------------------------------------------------------------------------


def load_kattis(root: Path, work: Path) -> Assignment:
    ld = Loader(root, work)
    check_symlinks(ld)
    doc = read_yaml(root / FILE, FILE)
    ld.version = format_version(doc)
    check_problem_keys(ld, doc)
    check_root(ld)
    pt = problem_type(ld, doc)
    limits = read_limits(ld, doc, pt)
    custom = custom_validation(ld, doc, pt)
    unsupported_problem_keys(ld, doc, pt, custom)
    validator = output_validator(ld, custom, pt)

    data = read_test_data(ld, pt)
    check_graders(ld, data)
    groups = make_groups(ld, data, pt)
    problem_flags, package_flags, origin = validator_flags(doc, data)
    judge = make_judge(validator, pt, package_flags, origin, limits)
    assign_judge_args(ld, data, problem_flags, package_flags, default=validator is None)
    tests = [t for d in data.children for t in d.all_tests()]
    points = sum(g.points for g in groups)

    statement_dir, description = read_statement(ld)
    assignment = Assignment(
        root=root,
        title=title(ld, doc, statement_dir),
        runtime=None,
        limits=limits.run,
        build_limits=limits.build,
        judge=judge,
        tests=tests,
        groups=groups,
        points=points,
        description=description,
        solutions=read_submissions(ld, pt, points),
        format="kattis",
    )
    assignment.time_limit_known = limits.time_limit is not None
    assignment.time_multiplier = limits.ac_to_time_limit
    assignment.time_limit_to_tle = limits.time_limit_to_tle
    assignment.time_resolution_s = limits.time_resolution
    assignment.validation_passes = limits.validation_passes
    assignment.input_validators = read_input_validators(ld)
    assignment.include = read_include(ld)
    assignment.warnings = ld.warnings
    return assignment
