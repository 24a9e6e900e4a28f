"""Load a Kattis / ICPC problem package (problem.yaml, data/, output_validators/, submissions/).

What maps where (docs/package-format.md has the full table):

* ``data/sample`` becomes a visible group worth 0 points; ``data/secret`` (or each of its
  subdirectories, for scoring problems with test groups) a hidden group sharing the points.
* ``validator_flags`` configure the default token judge; ``validation: custom`` uses the single
  program in ``output_validators/``; ``custom interactive`` runs it as an interactive validator.
* ``submissions/<verdict>/`` become reference solutions.
* The time limit comes from ``.timelimit``, ``limits.time_limit`` or (as Kattis does) from the
  accepted submissions' slowest time times ``limits.time_multiplier``, measured by ``assay check``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from assay.sandbox import Limits

from .model import (
    EXPECTED_VERDICTS,
    Assignment,
    Judge,
    PackageError,
    ReferenceSolution,
    TestCase,
    TestGroup,
)
from .native import (
    DEFAULT_BUILD_LIMITS,
    DEFAULT_RUN_LIMITS,
    check_test_name,
    natural_key,
    read_yaml,
)

FILE = "problem.yaml"
KATTIS_VERDICTS = {**EXPECTED_VERDICTS, "partially_accepted": EXPECTED_VERDICTS["wrong_answer"]}


def _number(doc: dict[str, Any], key: str, default: float, where: str) -> float:
    value = doc.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise PackageError(FILE, f"must be a positive number (got {value!r})", where)
    return float(value)


def parse_validator_flags(flags: str | list[str] | None) -> Judge:
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
                raise PackageError(FILE, f"{w} needs a number after it", "validator_flags")
            try:
                value = float(words[i + 1])
            except ValueError as e:
                raise PackageError(
                    FILE, f"{w} needs a number, got {words[i + 1]!r}", "validator_flags"
                ) from e
            if w != "float_relative_tolerance":
                judge.abs_tol = value
            if w != "float_absolute_tolerance":
                judge.rel_tol = value
            i += 1
        else:
            raise PackageError(FILE, f"unknown flag {w!r}", "validator_flags")
        i += 1
    return judge


def _collect(directory: Path, prefix: str) -> list[TestCase]:
    """The .in/.ans pairs below ``directory``, in natural order, nested directories included."""
    tests = []
    for path in sorted(directory.rglob("*.in"), key=lambda p: natural_key(str(p))):
        if path.is_symlink():
            raise PackageError(str(path), "symlinks are not allowed in packages")
        ans = path.with_suffix(".ans")
        rel = path.relative_to(directory.parent).with_suffix("")
        if not ans.is_file():
            raise PackageError(f"data/{rel}.in", f"no answer file {ans.name} beside it")
        name = check_test_name(rel.as_posix(), f"data/{rel}.in")
        tests.append(TestCase(name=name, input=path, answer=ans))
    return tests


def _single_program(directory: Path, what: str) -> Path:
    entries = [p for p in sorted(directory.iterdir()) if not p.name.startswith(".")]
    if len(entries) != 1:
        raise PackageError(
            f"{directory.name}/",
            f"expected exactly one {what} (a file or a directory), found {len(entries)}",
        )
    return entries[0]


def load_kattis(root: Path, work: Path) -> Assignment:
    doc = read_yaml(root / FILE, FILE)
    title = doc.get("name") or root.name
    if isinstance(title, dict):  # name: {en: ..., cs: ...}
        title = title.get("en") or next(iter(title.values()), root.name)
    limits_doc = doc.get("limits") or {}
    if not isinstance(limits_doc, dict):
        raise PackageError(FILE, "must be a mapping", "limits")
    memory_mib = int(_number(limits_doc, "memory", 2048, "limits.memory"))
    output_mib = int(_number(limits_doc, "output", 8, "limits.output"))
    time_limit: float | None = None
    if (root / ".timelimit").is_file():
        try:
            time_limit = float((root / ".timelimit").read_text().split()[0])
        except (ValueError, IndexError) as e:
            raise PackageError(".timelimit", "must hold a number of seconds") from e
    elif "time_limit" in limits_doc:
        time_limit = _number(limits_doc, "time_limit", 1, "limits.time_limit")
    multiplier = _number(limits_doc, "time_multiplier", 2, "limits.time_multiplier")

    validation = str(doc.get("validation", "default")).split()
    if validation[0] not in ("default", "custom"):
        raise PackageError(FILE, f"unknown validation {doc.get('validation')!r}", "validation")
    if validation[0] == "default":
        judge = parse_validator_flags(doc.get("validator_flags"))
    else:
        vdir = root / "output_validators"
        if not vdir.is_dir():
            raise PackageError(
                "output_validators/", "missing, but problem.yaml says validation: custom"
            )
        judge = Judge(kind="interactive" if "interactive" in validation else "checker")
        judge.checker = _single_program(vdir, "output validator")
        flags = doc.get("validator_flags") or ""
        judge.checker_flags = flags.split() if isinstance(flags, str) else list(flags)
        judge.checker_limits = Limits(
            cpu_time_s=_number(limits_doc, "validation_time", 60, "limits.validation_time"),
            memory_kib=int(
                _number(limits_doc, "validation_memory", 2048, "limits.validation_memory")
            )
            * 1024,
            processes=16,
        )

    data = root / "data"
    if not data.is_dir():
        raise PackageError(
            "data/", "missing: a Kattis package keeps its tests in data/sample and data/secret"
        )
    samples = _collect(data / "sample", "sample") if (data / "sample").is_dir() else []
    for t in samples:
        t.visible, t.group = True, "sample"
    secret_dir = data / "secret"
    if not secret_dir.is_dir():
        raise PackageError("data/secret/", "missing: the package has no secret tests")
    points = float(doc.get("points", 10))
    subgroups = sorted(
        (p for p in secret_dir.iterdir() if p.is_dir()), key=lambda p: natural_key(p.name)
    )
    groups = (
        [TestGroup("sample", 0.0, "proportional", [t.name for t in samples])] if samples else []
    )
    tests = list(samples)
    if doc.get("type") == "scoring" and subgroups:
        loose = [p for p in secret_dir.glob("*.in")]
        if loose:
            raise PackageError(
                "data/secret/",
                "a scoring problem with groups keeps every test in a group directory",
            )
        shares = []
        for g in subgroups:
            meta = (
                read_yaml(g / "testdata.yaml", f"data/secret/{g.name}/testdata.yaml")
                if (g / "testdata.yaml").is_file()
                else {}
            )
            flags = str(meta.get("grader_flags", ""))
            score = meta.get("accept_score", meta.get("points"))
            shares.append(
                (
                    g,
                    float(score) if score is not None else None,
                    "all" if "min" in flags.split() else "proportional",
                )
            )
        explicit = sum(s for _, s, _ in shares if s is not None)
        unset = [g for g, s, _ in shares if s is None]
        remaining = max(points - explicit, 0.0)
        for g, share, scoring in shares:
            group_tests = _collect(g, "secret")
            if not group_tests:
                raise PackageError(f"data/secret/{g.name}/", "group has no tests")
            name = g.name
            for t in group_tests:
                t.group = name
            tests += group_tests
            groups.append(
                TestGroup(
                    name,
                    share if share is not None else remaining / len(unset),
                    scoring,
                    [t.name for t in group_tests],
                )
            )
        points = sum(g.points for g in groups)
    else:
        secret = _collect(secret_dir, "secret")
        if not secret:
            raise PackageError("data/secret/", "no .in/.ans tests found")
        for t in secret:
            t.group = "secret"
        tests += secret
        groups.append(
            TestGroup(
                "secret",
                points,
                "all" if doc.get("type") != "scoring" else "proportional",
                [t.name for t in secret],
            )
        )

    solutions = []
    sub_dir = root / "submissions"
    if sub_dir.is_dir():
        for vdir in sorted(p for p in sub_dir.iterdir() if p.is_dir()):
            expected = KATTIS_VERDICTS.get(vdir.name)
            if expected is None:
                raise PackageError(
                    f"submissions/{vdir.name}/",
                    f"unknown verdict; use one of {', '.join(KATTIS_VERDICTS)}",
                )
            for sol in sorted(vdir.iterdir()):
                if not sol.name.startswith("."):
                    solutions.append(ReferenceSolution(f"{vdir.name}/{sol.name}", expected, sol))

    statement = ""
    for candidate in (
        "problem_statement/problem.en.md",
        "problem_statement/problem.md",
        "statement.md",
    ):
        if (root / candidate).is_file():
            statement = (root / candidate).read_text(encoding="utf-8", errors="replace")
            break
    run_limits = DEFAULT_RUN_LIMITS.replace(
        cpu_time_s=time_limit or 1.0,
        memory_kib=memory_mib * 1024,
        output_kib=output_mib * 1024,
    )
    assignment = Assignment(
        root=root,
        title=str(title),
        runtime=None,
        limits=run_limits,
        build_limits=DEFAULT_BUILD_LIMITS,
        judge=judge,
        tests=tests,
        groups=groups,
        points=points,
        description=statement,
        solutions=solutions,
        format="kattis",
    )
    assignment.time_multiplier = multiplier
    assignment.time_limit_known = time_limit is not None
    return assignment


def time_limit_from(slowest_s: float, multiplier: float) -> float:
    """Kattis' rule: the slowest accepted time times the multiplier, rounded up to 0.1 s."""
    return max(0.1, math.ceil(slowest_s * multiplier * 10) / 10)
