"""Load the native package format: ``assignment.yaml`` + ``tests/`` + ``solutions/`` (docs/package-format.md)."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from assay.lib.archive import ArchiveError, extract_zip
from assay.runtimes import get_runtime
from assay.sandbox import Limits
from assay.sandbox.images import NAME as IMAGE_NAME
from assay.sandbox.images import NAME_HELP as IMAGE_NAME_HELP

from .model import (
    EXPECTED_VERDICTS,
    JUDGE_KINDS,
    Assignment,
    Judge,
    PackageError,
    ReferenceSolution,
    TestCase,
    TestGroup,
)

NAME_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
INPUT_NAMES = ("input", "in", "input.txt", "stdin")
ANSWER_NAMES = ("output", "out", "answer", "ans", "output.txt", "expected", "stdout")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class LimitsSpec(Strict):
    time_s: float | None = Field(None, gt=0, le=600, description="cpu time per run, seconds")
    wall_time_s: float | None = Field(None, gt=0, le=3600)
    memory_mib: int | None = Field(None, gt=0, le=64 * 1024)
    processes: int | None = Field(None, ge=1, le=4096)
    output_kib: int | None = Field(None, gt=0, le=1024 * 1024)
    file_size_kib: int | None = Field(None, gt=0, le=1024 * 1024)
    open_files: int | None = Field(None, ge=4, le=65536)

    def apply(self, base: Limits) -> Limits:
        changes: dict[str, Any] = {}
        if self.time_s is not None:
            changes["cpu_time_s"] = self.time_s
        if self.wall_time_s is not None:
            changes["wall_time_s"] = self.wall_time_s
        if self.memory_mib is not None:
            changes["memory_kib"] = self.memory_mib * 1024
        for key in ("processes", "output_kib", "file_size_kib", "open_files"):
            if getattr(self, key) is not None:
                changes[key] = getattr(self, key)
        return base.replace(**changes)


class JudgeSpec(Strict):
    type: str = "tokens"
    case_sensitive: bool = True
    abs_tol: float | None = Field(None, ge=0)
    rel_tol: float | None = Field(None, ge=0)
    checker: str | None = None
    checker_limits: LimitsSpec = LimitsSpec()

    @field_validator("type")
    @classmethod
    def known_type(cls, v: str) -> str:
        aliases = {"case_insensitive": "tokens", "float": "tokens", "whitespace": "tokens"}
        if v not in JUDGE_KINDS and v not in aliases:
            raise ValueError(
                f"unknown judge {v!r}; use one of {', '.join(JUDGE_KINDS + tuple(aliases))}"
            )
        return v


class GroupSpec(Strict):
    name: str
    points: float = Field(ge=0)
    scoring: Literal["proportional", "all"] = "proportional"
    tests: list[str] = Field(min_length=1, description="test names or glob patterns")
    visible: bool | None = None


class TestSpec(Strict):
    weight: float = Field(1.0, ge=0)
    visible: bool | None = None


class AssignmentSpec(Strict):
    title: str = Field(min_length=1, max_length=200)
    description: str | None = None
    runtime: str | None = None
    image: str | None = Field(None, description="a course image: " + IMAGE_NAME_HELP)
    entry: str | None = None
    files: list[str] = []
    points: float = Field(10, ge=0)
    evaluation: Literal["immediate", "on_demand"] = "immediate"
    limits: LimitsSpec = LimitsSpec()
    build_limits: LimitsSpec = LimitsSpec()
    box_size_mib: int = Field(256, ge=1, le=16 * 1024)
    judge: JudgeSpec = JudgeSpec()
    groups: list[GroupSpec] = []
    tests: dict[str, TestSpec] = {}
    visible_tests: list[str] = Field(default_factory=lambda: ["sample*", "example*"])

    @field_validator("runtime")
    @classmethod
    def known_runtime(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                return get_runtime(v).name
            except KeyError as e:
                raise ValueError(str(e.args[0])) from e
        return v

    @field_validator("image")
    @classmethod
    def image_name(cls, v: str | None) -> str | None:
        if v is not None and not IMAGE_NAME.match(v):
            raise ValueError(f"{v!r} is not an image name: use {IMAGE_NAME_HELP}")
        return v


DEFAULT_RUN_LIMITS = Limits(cpu_time_s=1.0, memory_kib=256 * 1024, processes=1)
DEFAULT_BUILD_LIMITS = Limits(
    cpu_time_s=30.0, wall_time_s=60.0, memory_kib=1024 * 1024, processes=64,
    output_kib=1024, file_size_kib=256 * 1024, open_files=256,
)  # fmt: skip


# a package's YAML is written by people: these bound what a hostile file can make the storer
# and testers do (a "billion laughs" of nested aliases, a deep nesting, a huge file)
MAX_YAML_BYTES = 1024 * 1024
MAX_YAML_DEPTH = 50
MAX_YAML_ALIASES = 100
MAX_YAML_NODES = 100_000  # nodes of the document with every alias expanded


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing deep nesting and too many aliases while composing."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0
        self.aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_YAML_ALIASES:
                raise _YamlLimit(f"more than {MAX_YAML_ALIASES} aliases")
        self.depth += 1
        try:
            if self.depth > MAX_YAML_DEPTH:
                raise _YamlLimit(f"nested deeper than {MAX_YAML_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class _YamlLimit(ValueError):
    pass


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """How many nodes the document has with every alias expanded (shared nodes counted each
    time they are used, computed once each)."""
    key = id(node)
    if key not in memo:
        memo[key] = 1  # a node reached again while being counted: a recursive alias
        if isinstance(node, yaml.SequenceNode):
            memo[key] += sum(_expanded_size(n, memo) for n in node.value)
        elif isinstance(node, yaml.MappingNode):
            memo[key] += sum(
                _expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value
            )
        memo[key] = min(memo[key], MAX_YAML_NODES + 1)
    return memo[key]


def load_bounded_yaml(text: str) -> Any:
    """``yaml.safe_load`` within MAX_YAML_* (raises _YamlLimit, or yaml.YAMLError)."""
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, {}) > MAX_YAML_NODES:
            raise _YamlLimit(f"more than {MAX_YAML_NODES} values once its aliases are expanded")
        return loader.construct_document(node)
    finally:
        loader.dispose()


def read_yaml(path: Path, name: str) -> dict[str, Any]:
    try:
        size = path.stat().st_size
    except OSError as e:
        raise PackageError(name, f"cannot read it: {e.strerror}") from e
    if size > MAX_YAML_BYTES:
        raise PackageError(
            name, f"{size} bytes: a package's YAML file may have at most {MAX_YAML_BYTES}"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise PackageError(name, f"not UTF-8 text ({e.reason} at byte {e.start})") from e
    try:
        doc = load_bounded_yaml(text)
    except _YamlLimit as e:
        raise PackageError(name, f"refused: {e}") from e
    except RecursionError as e:
        raise PackageError(name, "refused: nested too deeply") from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise PackageError(name, f"invalid YAML{where}: {problem}") from e
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise PackageError(name, f"must be a mapping of keys to values, not a {type(doc).__name__}")
    return doc


def parse_spec(model: type[BaseModel], doc: dict[str, Any], name: str) -> Any:
    try:
        return model.model_validate(doc)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(x) for x in err["loc"]) or None
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling; see docs/package-format.md)"
        elif "input" in err and err["type"] != "missing":
            msg += f" (got {err['input']!r})"
        extra = f" (and {len(e.errors()) - 1} more problems)" if len(e.errors()) > 1 else ""
        raise PackageError(name, msg + extra, loc) from e


def check_test_name(name: str, file: str) -> str:
    for seg in name.split("/"):
        if not NAME_SEGMENT.match(seg):
            raise PackageError(
                file, f"test name {name!r} may only use letters, digits, '_', '.', '-'"
            )
    return name


def natural_key(name: str) -> list[Any]:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def _find_one(directory: Path, names: tuple[str, ...], suffixes: tuple[str, ...]) -> Path | None:
    for n in names:
        if (directory / n).is_file():
            return directory / n
    matches = [p for p in directory.iterdir() if p.is_file() and p.suffix in suffixes]
    return matches[0] if len(matches) == 1 else None


def _test_from_dir(directory: Path, name: str, where: str) -> TestCase:
    inp = _find_one(directory, INPUT_NAMES, (".in",))
    ans = _find_one(directory, ANSWER_NAMES, (".out", ".ans"))
    if inp is None:
        raise PackageError(where, f"test {name!r} has no input file (name it 'input' or '*.in')")
    if ans is None:
        raise PackageError(
            where, f"test {name!r} has no expected output (name it 'output' or '*.out')"
        )
    files = sorted(p for p in directory.rglob("*") if p.is_file() and p not in (inp, ans))
    return TestCase(name=name, input=inp, answer=ans, files=files)


def discover_tests(root: Path, work: Path) -> list[TestCase]:
    """Tests in ``tests/``: directories, ``NAME.zip`` archives (the seed's testN.zip), or
    ``NAME.in`` + ``NAME.out`` pairs."""
    tests_dir = root / "tests"
    if not tests_dir.is_dir():
        raise PackageError("tests/", "missing: the package needs a tests/ directory")
    tests: dict[str, TestCase] = {}
    for entry in sorted(tests_dir.iterdir(), key=lambda p: natural_key(p.name)):
        where = f"tests/{entry.name}"
        if entry.is_symlink():
            raise PackageError(where, "symlinks are not allowed in packages")
        if entry.is_dir():
            name = check_test_name(entry.name, where)
            tests[name] = _test_from_dir(entry, name, where)
        elif entry.suffix == ".zip":
            name = check_test_name(entry.stem, where)
            target = work / "tests" / name
            try:
                extract_zip(entry, target)
            except ArchiveError as e:
                raise PackageError(where, str(e)) from e
            tests[name] = _test_from_dir(target, name, where)
        elif entry.suffix == ".in":
            name = check_test_name(entry.stem, where)
            ans = next(
                (entry.with_suffix(s) for s in (".out", ".ans") if entry.with_suffix(s).is_file()),
                None,
            )
            if ans is None:
                raise PackageError(where, f"no expected output {entry.stem}.out beside it")
            tests[name] = TestCase(name=name, input=entry, answer=ans)
        elif entry.suffix in (".out", ".ans"):
            if not entry.with_suffix(".in").is_file():
                raise PackageError(where, f"no input {entry.stem}.in beside it")
        else:
            raise PackageError(
                where, "not a test: use a directory, NAME.zip, or NAME.in + NAME.out"
            )
    if not tests:
        raise PackageError("tests/", "no tests found")
    return list(tests.values())


def discover_solutions(directory: Path, prefix: str) -> list[ReferenceSolution]:
    solutions: list[ReferenceSolution] = []
    if not directory.is_dir():
        return solutions
    for verdict_dir in sorted(directory.iterdir()):
        if not verdict_dir.is_dir():
            raise PackageError(
                f"{prefix}/{verdict_dir.name}",
                f"expected a directory named after a verdict ({', '.join(EXPECTED_VERDICTS)})",
            )
        expected = EXPECTED_VERDICTS.get(verdict_dir.name)
        if expected is None:
            raise PackageError(
                f"{prefix}/{verdict_dir.name}",
                f"unknown verdict directory; use one of {', '.join(EXPECTED_VERDICTS)}",
            )
        for sol in sorted(verdict_dir.iterdir()):
            if sol.name.startswith("."):
                continue
            solutions.append(ReferenceSolution(f"{verdict_dir.name}/{sol.name}", expected, sol))
    return solutions


def _match(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def assign_groups(tests: list[TestCase], spec: AssignmentSpec, file: str) -> list[TestGroup]:
    by_name = {t.name: t for t in tests}
    for name in spec.tests:
        if name not in by_name:
            raise PackageError(file, f"no test named {name!r} in tests/", f"tests.{name}")
    for t in tests:
        override = spec.tests.get(t.name)
        t.visible = _match(t.name, spec.visible_tests)
        if override:
            t.weight = override.weight
            if override.visible is not None:
                t.visible = override.visible
    if not spec.groups:
        for t in tests:
            t.group = "all"
        return [TestGroup("all", spec.points, "proportional", [t.name for t in tests])]
    groups = []
    taken: dict[str, str] = {}
    for i, g in enumerate(spec.groups):
        names = [t.name for t in tests if _match(t.name, g.tests)]
        if not names:
            raise PackageError(file, f"matches no test: {g.tests}", f"groups.{i}.tests")
        for n in names:
            if n in taken:
                raise PackageError(
                    file, f"test {n!r} is already in group {taken[n]!r}", f"groups.{i}.tests"
                )
            taken[n] = g.name
            by_name[n].group = g.name
            if g.visible is not None and n not in spec.tests:
                by_name[n].visible = g.visible
        groups.append(TestGroup(g.name, g.points, g.scoring, names))
    orphans = [t.name for t in tests if t.name not in taken]
    if orphans:
        raise PackageError(file, f"tests in no group: {', '.join(orphans)}", "groups")
    return groups


def package_path(root: Path, name: str, file: str, field: str) -> Path:
    """``name`` (a path the package names) inside the package, or a PackageError: absolute
    paths, ``..`` and links that lead out of the package are refused."""
    if not name or name.startswith(("/", "\\")) or "\x00" in name or Path(name).is_absolute():
        raise PackageError(file, f"{name!r} must be a path inside the package", field)
    if ".." in Path(name).parts:
        raise PackageError(file, f"{name!r} must not leave the package ('..')", field)
    path = root / name
    try:
        resolved = path.resolve(strict=False)
        inside = root.resolve()
    except (OSError, RuntimeError) as e:  # a link loop
        raise PackageError(file, f"{name!r} cannot be resolved: {e}", field) from e
    if resolved != inside and inside not in resolved.parents:
        raise PackageError(file, f"{name!r} leads out of the package", field)
    return path


def _script(root: Path, name: str) -> str | None:
    path = package_path(root, name, name, "(the file)")
    if not path.exists():
        return None
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise PackageError(name, "not UTF-8 text") from e


def load_native(root: Path, work: Path) -> Assignment:
    file = "assignment.yaml"
    doc = read_yaml(root / file, file)
    if isinstance(doc.get("tests"), dict):  # YAML reads a test named 1 as a number
        doc["tests"] = {str(k): v for k, v in doc["tests"].items()}
    spec: AssignmentSpec = parse_spec(AssignmentSpec, doc, file)
    tests = discover_tests(root, work)
    groups = assign_groups(tests, spec, file)
    kind = spec.judge.type
    judge = Judge(
        kind={"case_insensitive": "tokens", "float": "tokens", "whitespace": "tokens"}.get(
            kind, kind
        ),
        case_sensitive=spec.judge.case_sensitive and kind != "case_insensitive",
        abs_tol=spec.judge.abs_tol if kind != "float" or spec.judge.abs_tol is not None else 1e-6,
        rel_tol=spec.judge.rel_tol if kind != "float" or spec.judge.rel_tol is not None else 1e-6,
        checker_limits=spec.judge.checker_limits.apply(Judge().checker_limits),
    )
    if judge.custom:
        if not spec.judge.checker:
            raise PackageError(file, f"judge {kind!r} needs a checker file", "judge.checker")
        checker = package_path(root, spec.judge.checker, file, "judge.checker")
        if not checker.exists():
            raise PackageError(
                file, f"checker {spec.judge.checker!r} not found in the package", "judge.checker"
            )
        judge.checker = checker
    description = spec.description or ""
    if spec.description and spec.description.endswith(".md"):
        statement = package_path(root, spec.description, file, "description")
        if not statement.is_file():
            raise PackageError(
                file, f"{spec.description!r} is not a file of the package", "description"
            )
    else:
        statement = package_path(root, "statement.md", file, "description")
    if statement.is_file():
        description = statement.read_text(encoding="utf-8", errors="replace")
    return Assignment(
        root=root,
        title=spec.title,
        runtime=spec.runtime,
        limits=spec.limits.apply(DEFAULT_RUN_LIMITS),
        build_limits=spec.build_limits.apply(DEFAULT_BUILD_LIMITS),
        judge=judge,
        tests=tests,
        groups=groups,
        points=sum(g.points for g in groups) if spec.groups else spec.points,
        description=description,
        build_script=_script(root, "build.sh"),
        run_script=_script(root, "run.sh"),
        required_files=spec.files,
        entry=spec.entry,
        solutions=discover_solutions(root / "solutions", "solutions"),
        box_size_kib=spec.box_size_mib * 1024,
        evaluation=spec.evaluation,
        image=spec.image,
    )
