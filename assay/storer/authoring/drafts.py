"""Drafts: start one from a template or from the current version, edit its statement, settings,
tests, judge and reference solutions, and build it into a package (a zip the loader reads, the
same as an upload). Every refusal is a ServiceError naming the field, as the API and the pages
show it. The rules of the format are the loader's (assay/package/native.py): the settings are
checked with its schema, the test names with its rule, the groups and visibility with its
``assign_groups``, and a build loads the zip with ``open_package`` before it becomes a version."""

from __future__ import annotations

import io
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from assay.lib import yamlio
from assay.lib.archive import ArchiveError, ArchiveLimits, extract_zip
from assay.package import PackageError, open_package
from assay.package.model import EXPECTED_VERDICTS, TestCase
from assay.package.native import (
    AssignmentSpec,
    assign_groups,
    check_test_name,
    load_bounded_yaml,
    natural_key,
    parse_spec,
)
from assay.storer.courses.models import Assignment, AssignmentVersion
from assay.storer.evaluation import services
from assay.storer.evaluation.services import ServiceError

from .models import Draft, DraftFile

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
SPEC = "assignment.yaml"
MAX_FILE_BYTES = 16 * 1024 * 1024  # one file of a draft: a test's input, a solution, ...
MAX_STATEMENT_CHARS = 200_000
MAX_TEST_NAME_CHARS = 100
MAX_PATH_CHARS = 300  # DraftFile.path
TEXT_SHOWN_BYTES = 64 * 1024  # a test file larger than this is replaced by upload, not edited
CHECKER_NAMES = ("checker.py", "checker.cpp", "checker.c", "checker.java", "checker.sh")
JUDGE_TYPES = {
    "tokens": "Tokens: white space does not matter",
    "case_insensitive": "Tokens, ignoring case",
    "float": "Tokens, numbers within a tolerance",
    "exact": "Exact: byte for byte",
    "lines_unordered": "Lines in any order",
    "checker": "A custom checker",
}
INPUT_NAMES = ("input", "in")
ANSWER_NAMES = ("output", "out", "answer", "ans")


@dataclass(frozen=True)
class Template:
    key: str
    label: str
    example: str  # a package of examples/ the draft starts as a copy of


TEMPLATES = {
    t.key: t
    for t in (
        Template("tokens", "Standard input and output, compared token by token (C)", "sum-c"),
        Template("exact", "Standard input and output, compared byte for byte (JavaScript)", "hello-js"),
        Template("float", "Numbers compared within a tolerance (Java)", "java-sort"),
        Template("unordered", "Lines in any order (bash)", "hello-bash"),
        Template("checker", "A custom checker with partial scores (C++)", "checker-cpp"),
        Template("groups", "Test groups with their own points (Python)", "groups-python"),
    )
}  # fmt: skip


def refuse(
    message: str, field: str | None = None, status: int = 400, code: str = "invalid"
) -> ServiceError:
    return ServiceError(status, code, message, field)


# -- the draft's files ----------------------------------------------------------------------


def read(draft: Draft, path: str) -> bytes | None:
    row = draft.files.filter(path=path).values_list("content", flat=True).first()
    return bytes(row) if row is not None else None


def paths(draft: Draft) -> dict[str, int]:
    """Every file's path and size, without the contents."""
    return dict(draft.files.order_by("path").values_list("path", "size"))


def write(draft: Draft, changes: dict[str, bytes | None]) -> None:
    """Write (bytes) or delete (None) files of the draft, in one transaction; the whole draft
    stays within the package size limit."""
    for path, data in changes.items():
        if data is not None and len(data) > MAX_FILE_BYTES:
            raise refuse(
                f"{path}: {len(data)} bytes; a file of an assignment may have at most {MAX_FILE_BYTES}",
                "file", 413, "file_too_large",
            )  # fmt: skip
    with transaction.atomic():
        Draft.objects.select_for_update().filter(pk=draft.pk).first()
        for path, data in changes.items():
            if data is None:
                draft.files.filter(path=path).delete()
            else:
                DraftFile.objects.update_or_create(
                    draft=draft, path=path, defaults={"content": data, "size": len(data)}
                )
        total = draft.files.aggregate(total=Sum("size"))["total"] or 0
        if total > settings.MAX_PACKAGE_BYTES:
            raise refuse(
                f"the assignment's files would take {total} bytes; a package may have at most "
                f"{settings.MAX_PACKAGE_BYTES}", "file", 413, "upload_too_large",
            )  # fmt: skip
        Draft.objects.filter(pk=draft.pk).update(updated_at=timezone.now())


# -- starting a draft -----------------------------------------------------------------------


def _package_files(pkg: Any) -> dict[str, bytes]:
    """A loaded native package's files, with every test as tests/NAME/{input,output,extras}:
    the one layout the editor writes (a zipped test or a NAME.in/.out pair becomes one)."""
    root: Path = pkg.root
    files: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not rel.startswith("tests/") and not path.name.startswith("."):
            files[rel] = path.read_bytes()
    for t in pkg.tests:
        files[f"tests/{t.name}/input"] = t.input.read_bytes()
        files[f"tests/{t.name}/output"] = t.answer.read_bytes()
        base = t.files_base or t.input.parent
        for extra in t.files:
            files[f"tests/{t.name}/{extra.relative_to(base).as_posix()}"] = extra.read_bytes()
    return files


def _start(assignment: Assignment, origin: str, files: dict[str, bytes], user: Any) -> Draft:
    with transaction.atomic():
        Draft.objects.filter(assignment=assignment).delete()
        draft = Draft.objects.create(assignment=assignment, origin=origin, created_by=user)
        DraftFile.objects.bulk_create(
            DraftFile(draft=draft, path=p, content=d, size=len(d)) for p, d in files.items()
        )
    return draft


def start_from_template(
    assignment: Assignment, key: str, user: Any, title: str | None = None
) -> Draft:
    template = TEMPLATES.get(key)
    if template is None:
        raise refuse(f"no template {key!r}; choose one of {', '.join(TEMPLATES)}", "template")
    with open_package(EXAMPLES / template.example) as pkg:
        files = _package_files(pkg)
    files.pop("README.md", None)  # the example's notes for the repository, not the students'
    draft = _start(assignment, f"template {key}", files, user)
    if title:
        doc = spec_doc(draft)
        doc["title"] = title
        save_spec(draft, doc)
    return draft


def start_from_version(assignment: Assignment, user: Any) -> Draft:
    """A draft of the current version (else the latest); Kattis packages are not edited here."""
    version = assignment.current_version or assignment.versions.order_by("-number").first()
    if version is None:
        raise refuse(
            "the assignment has no package yet: start from a template", "version", 409, "no_version"
        )
    if version.format != "assay":
        raise refuse(
            f"version {version.number} is a Kattis problem package; the editor writes the native "
            "format only. Download the package, edit it and upload it as a new version, or start "
            "a draft from a template (its build replaces the Kattis package).",
            "version", 409, "kattis_read_only",
        )  # fmt: skip
    with services.load_version(version) as pkg:
        files = _package_files(pkg)
    return _start(assignment, f"version {version.number}", files, user)


# -- assignment.yaml ------------------------------------------------------------------------


def spec_doc(draft: Draft) -> dict[str, Any]:
    raw = read(draft, SPEC) or b""
    try:
        doc = load_bounded_yaml(raw.decode("utf-8"))
    except Exception as e:  # noqa: BLE001 - undecodable, invalid YAML, over the limits
        raise refuse(f"{SPEC} cannot be read: {e}", "assignment.yaml") from e
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise refuse(f"{SPEC} must be a mapping", "assignment.yaml")
    if isinstance(doc.get("tests"), dict):  # YAML reads a test named 1 as a number
        doc["tests"] = {str(k): v for k, v in doc["tests"].items()}
    return doc


def check_spec(doc: dict[str, Any]) -> AssignmentSpec:
    try:
        return parse_spec(AssignmentSpec, doc, SPEC)
    except PackageError as e:
        raise refuse(e.message if not e.field else f"{e.field}: {e.message}", e.field) from e


def save_spec(draft: Draft, doc: dict[str, Any]) -> None:
    check_spec(doc)
    for key in ("tests", "limits", "judge"):  # no empty sections left behind
        if key in doc and not doc[key]:
            del doc[key]
    text = yamlio.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=False)
    write(draft, {SPEC: text.encode()})


# -- statement ------------------------------------------------------------------------------


def statement_path(doc: dict[str, Any]) -> str:
    d = doc.get("description")
    return d if isinstance(d, str) and d.endswith(".md") else "statement.md"


def statement(draft: Draft) -> str:
    doc = spec_doc(draft)
    data = read(draft, statement_path(doc))
    if data is None:
        d = doc.get("description")
        return d if isinstance(d, str) and not d.endswith(".md") else ""
    return data.decode("utf-8", errors="replace")


def save_statement(draft: Draft, text: str) -> None:
    if len(text) > MAX_STATEMENT_CHARS:
        raise refuse(
            f"{len(text)} characters; a statement may have at most {MAX_STATEMENT_CHARS}",
            "statement",
        )
    if "\x00" in text:
        raise refuse("NUL characters are not allowed in a statement", "statement")
    doc = spec_doc(draft)
    path = statement_path(doc)
    if "description" in doc and path == "statement.md":  # inline text: now the file
        del doc["description"]
        save_spec(draft, doc)
    write(draft, {path: text.replace("\r\n", "\n").encode()})


# -- settings and limits --------------------------------------------------------------------

LIMIT_KEYS = ("time_s", "wall_time_s", "memory_mib", "output_kib")
SETTING_KEYS = ("title", "runtime", "points", "evaluation", *LIMIT_KEYS)


def settings_of(draft: Draft) -> dict[str, Any]:
    doc = spec_doc(draft)
    spec = check_spec(doc)
    limits = doc.get("limits") or {}
    return {
        "title": spec.title,
        "runtime": spec.runtime,
        "points": spec.points,
        "evaluation": spec.evaluation,
        **{k: limits.get(k) for k in LIMIT_KEYS},
        "groups": [g.model_dump() for g in spec.groups],
    }


def save_settings(draft: Draft, values: dict[str, Any]) -> None:
    """Change the given settings (None: the format's default); checked by the loader's schema."""
    doc = spec_doc(draft)
    limits = dict(doc.get("limits") or {})
    for key, value in values.items():
        if key not in SETTING_KEYS:
            raise refuse("unknown setting", key)
        target = limits if key in LIMIT_KEYS else doc
        if value is None or value == "":
            target.pop(key, None)
        else:
            target[key] = value
    doc["limits"] = limits
    if doc.get("groups") and "points" in values:
        doc.pop("points", None)  # the groups' points add up to the assignment's
    try:
        save_spec(draft, doc)
    except ServiceError as e:
        if e.field and e.field.startswith("limits."):
            e.field = e.field.removeprefix("limits.")
        raise


def save_groups(draft: Draft, changes: list[dict[str, Any]]) -> None:
    """Change the points and scoring of the package's test groups (by name); which tests a
    group holds stays as the package says (its name patterns)."""
    doc = spec_doc(draft)
    groups = [dict(g) for g in doc.get("groups") or []]
    by_name = {g.get("name"): g for g in groups}
    for i, change in enumerate(changes):
        name = change.get("name")
        if name not in by_name:
            raise refuse(
                f"no test group named {str(name)[:80]!r}", f"groups.{i}.name", 404, "not_found"
            )
        group = by_name[name]
        for key in ("points", "scoring"):
            if change.get(key) is not None:
                group[key] = change[key]
    doc["groups"] = groups
    save_spec(draft, doc)


# -- the judge ------------------------------------------------------------------------------


def judge_of(draft: Draft) -> dict[str, Any]:
    judge = spec_doc(draft).get("judge") or {}
    kind = judge.get("type", "tokens")
    if kind == "tokens" and judge.get("case_sensitive") is False:
        kind = "case_insensitive"
    if kind == "tokens" and (judge.get("abs_tol") is not None or judge.get("rel_tol") is not None):
        kind = "float"
    checker = judge.get("checker")
    source = read(draft, checker) if isinstance(checker, str) else None
    return {
        "type": kind,
        "abs_tol": judge.get("abs_tol"),
        "rel_tol": judge.get("rel_tol"),
        "checker": checker,
        "checker_source": source.decode("utf-8", errors="replace") if source is not None else "",
    }


def save_judge(
    draft: Draft,
    kind: str,
    *,
    abs_tol: float | None = None,
    rel_tol: float | None = None,
    checker: str | None = None,
    checker_source: str | None = None,
) -> None:
    if kind not in JUDGE_TYPES:
        raise refuse(f"unknown judge {kind!r}; use one of {', '.join(JUDGE_TYPES)}", "type")
    doc = spec_doc(draft)
    old = doc.get("judge") or {}
    judge: dict[str, Any] = {"type": kind}
    if kind == "float":
        judge.update(
            abs_tol=1e-6 if abs_tol is None else abs_tol,
            rel_tol=1e-6 if rel_tol is None else rel_tol,
        )
    changes: dict[str, bytes | None] = {}
    if kind == "checker":
        name = checker or old.get("checker") or "checker.py"
        if name not in CHECKER_NAMES:
            raise refuse(f"name the checker one of {', '.join(CHECKER_NAMES)}", "checker")
        if checker_source:
            if "\x00" in checker_source:
                raise refuse("NUL characters are not allowed in a checker", "checker_source")
            changes[name] = checker_source.replace("\r\n", "\n").encode()
        elif read(draft, name) is None:
            raise refuse("give the checker's source", "checker_source")
        judge["checker"] = name
        if old.get("checker_limits"):
            judge["checker_limits"] = old["checker_limits"]
    doc["judge"] = judge
    if changes:
        write(draft, changes)
    save_spec(draft, doc)


# -- tests ----------------------------------------------------------------------------------


def test_name(name: str, field: str = "name") -> str:
    name = (name or "").strip()
    if not name:
        raise refuse("give the test a name", field)
    if len(name) > MAX_TEST_NAME_CHARS or "/" in name:
        raise refuse(f"at most {MAX_TEST_NAME_CHARS} characters, no '/'", field)
    try:
        return check_test_name(name, "tests/")
    except PackageError as e:
        raise refuse(
            f"test name {name[:80]!r} may only use letters, digits, '_', '.', '-' (and start with a letter, digit or '_')",
            field,
        ) from e


def _test_files(all_paths: dict[str, int]) -> dict[str, dict[str, int]]:
    tests: dict[str, dict[str, int]] = {}
    for path, size in all_paths.items():
        parts = path.split("/", 2)
        if parts[0] == "tests" and len(parts) == 3:
            tests.setdefault(parts[1], {})[parts[2]] = size
    return dict(sorted(tests.items(), key=lambda kv: natural_key(kv[0])))


def tests_of(draft: Draft) -> tuple[list[dict[str, Any]], str | None]:
    """The tests with their sizes, visibility, group and weight as the loader will see them, and
    the loader's complaint about the groups, if any (a test in no group, ...)."""
    found = _test_files(paths(draft))
    doc = spec_doc(draft)
    spec = check_spec(doc)
    cases = [TestCase(name=n, input=Path(), answer=Path()) for n in found]
    problem = None
    try:
        assign_groups(cases, spec, SPEC)
    except PackageError as e:
        problem = str(e)
    rows = []
    for case in cases:
        files = found[case.name]
        rows.append({
            "name": case.name, "visible": case.visible, "group": case.group, "weight": case.weight,
            "input_size": files.get("input"), "output_size": files.get("output"),
            "extra": sorted(f for f in files if f not in ("input", "output")),
        })  # fmt: skip
    return rows, problem


def test_detail(draft: Draft, name: str) -> dict[str, Any]:
    rows, _ = tests_of(draft)
    row = next((r for r in rows if r["name"] == name), None)
    if row is None:
        raise refuse(f"no test named {name[:80]!r}", "name", 404, "not_found")
    for key in ("input", "output"):
        data = read(draft, f"tests/{name}/{key}") or b""
        text = None
        if len(data) <= TEXT_SHOWN_BYTES:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = None
        row[key] = text  # None: too large or binary to edit here; upload to replace
    return row


def put_test(
    draft: Draft,
    name: str,
    *,
    input: bytes | None = None,
    output: bytes | None = None,
    visible: bool | None = None,
    new: bool = False,
) -> None:
    """Add (``new``) or change a test; files not given are kept (a new test needs both)."""
    name = test_name(name)
    have = _test_files(paths(draft)).get(name)
    if new and have is not None:
        raise refuse(f"a test named {name!r} exists already", "name", 409, "exists")
    if not new and have is None:
        raise refuse(f"no test named {name!r}", "name", 404, "not_found")
    if have is None and (input is None or output is None):
        raise refuse(
            "a new test needs an input and an expected output",
            "input" if input is None else "output",
        )
    changes: dict[str, bytes | None] = {}
    if input is not None:
        changes[f"tests/{name}/input"] = input
    if output is not None:
        changes[f"tests/{name}/output"] = output
    with transaction.atomic():
        write(draft, changes)
        if visible is not None:
            set_visible(draft, name, visible)


def set_visible(draft: Draft, name: str, visible: bool) -> None:
    if name not in _test_files(paths(draft)):
        raise refuse(f"no test named {name[:80]!r}", "name", 404, "not_found")
    doc = spec_doc(draft)
    tests = dict(doc.get("tests") or {})
    entry = dict(tests.get(name) or {})
    entry["visible"] = bool(visible)
    tests[name] = entry
    doc["tests"] = tests
    save_spec(draft, doc)


def delete_test(draft: Draft, name: str) -> None:
    found = _test_files(paths(draft)).get(name)
    if found is None:
        raise refuse(f"no test named {name[:80]!r}", "name", 404, "not_found")
    with transaction.atomic():
        write(draft, {f"tests/{name}/{f}": None for f in found})
        doc = spec_doc(draft)
        if name in (doc.get("tests") or {}):
            del doc["tests"][name]
            save_spec(draft, doc)


def tests_from_zip(draft: Draft, data: bytes, visible: bool = False) -> list[str]:
    """Add or replace the tests in a zip: NAME.in + NAME.out (or .ans) pairs, or folders NAME/
    with input + output, at its root or in one top folder. Returns the tests' names."""
    limits = ArchiveLimits(
        max_members=2000, max_member_bytes=MAX_FILE_BYTES,
        max_total_bytes=settings.MAX_PACKAGE_BYTES, max_ratio=100,
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        try:
            names = extract_zip(data, Path(tmp), limits)
        except ArchiveError as e:
            raise refuse(f"the zip was refused: {e}", "tests_zip") from e
        files = {
            n: (Path(tmp) / n).read_bytes()
            for n in names
            if not PurePosixPath(n).name.startswith(".")
        }
    tops = {n.split("/", 1)[0] for n in files}
    if len(tops) == 1 and all("/" in n for n in files):
        inner = {n.split("/", 1)[1]: d for n, d in files.items()}
        if any("/" in n or n.endswith(".in") for n in inner):
            files = inner
    pairs: dict[str, dict[str, bytes]] = {}
    for n, d in files.items():
        p = PurePosixPath(n)
        if len(p.parts) == 1 and p.suffix in (".in", ".out", ".ans"):
            pairs.setdefault(p.stem, {})["input" if p.suffix == ".in" else "output"] = d
        elif len(p.parts) == 2 and p.name in INPUT_NAMES + ANSWER_NAMES:
            pairs.setdefault(p.parts[0], {})["input" if p.name in INPUT_NAMES else "output"] = d
        else:
            raise refuse(
                f"{n[:80]!r} is not a test file: use NAME.in + NAME.out, or NAME/input + NAME/output",
                "tests_zip",
            )
    if not pairs:
        raise refuse("the zip has no tests", "tests_zip")
    changes: dict[str, bytes | None] = {}
    for name, pair in sorted(pairs.items()):
        test_name(name, "tests_zip")
        if set(pair) != {"input", "output"}:
            missing = "expected output" if "output" not in pair else "input"
            raise refuse(f"test {name!r} has no {missing} in the zip", "tests_zip")
        changes[f"tests/{name}/input"] = pair["input"]
        changes[f"tests/{name}/output"] = pair["output"]
    with transaction.atomic():
        write(draft, changes)
        if visible:
            for name in pairs:
                set_visible(draft, name, True)
    return sorted(pairs, key=natural_key)


# -- reference solutions --------------------------------------------------------------------


def solutions_of(draft: Draft) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for path, size in paths(draft).items():
        parts = path.split("/")
        if parts[0] != "solutions" or len(parts) < 3:
            continue
        key = "/".join(parts[:3])
        row = rows.setdefault(
            key, {"path": key, "verdict": parts[1], "name": parts[2], "files": [], "size": 0}
        )
        row["files"].append("/".join(parts[3:]) or parts[2])
        row["size"] += size
    return list(rows.values())


def solution_name(name: str, field: str = "file") -> str:
    try:
        services.check_file_name(name, field)
    except ServiceError as e:
        raise refuse(e.message, field) from e
    if "/" in name or name.startswith("."):
        raise refuse(f"file name {name[:80]!r}: no folders, and not starting with '.'", field)
    return name


def put_solution(
    draft: Draft, verdict: str, files: dict[str, bytes], folder: str | None = None
) -> str:
    """Add (or replace) a reference solution filed under ``verdict``: one file, or the files of
    a multi-file solution in ``folder``. Returns its path."""
    if verdict not in EXPECTED_VERDICTS:
        raise refuse(
            f"unknown verdict {verdict!r}; use one of {', '.join(EXPECTED_VERDICTS)}", "verdict"
        )
    if not files:
        raise refuse("choose the solution's file", "file")
    for name in files:
        solution_name(name)
    if folder:
        solution_name(folder, "folder")
    elif len(files) > 1:
        raise refuse("name a folder for a solution of several files", "folder")
    base = f"solutions/{verdict}/{folder}" if folder else f"solutions/{verdict}"
    if max(len(f"{base}/{n}") for n in files) > MAX_PATH_CHARS:
        raise refuse(
            f"the path in the package would be longer than {MAX_PATH_CHARS} characters", "file"
        )
    write(draft, {f"{base}/{n}": d for n, d in files.items()})
    return base if folder else f"{base}/{next(iter(files))}"


def delete_solution(draft: Draft, path: str) -> None:
    doomed = [p for p in paths(draft) if p == path or p.startswith(path + "/")]
    if not path.startswith("solutions/") or not doomed:
        raise refuse(f"no reference solution {path[:80]!r}", "path", 404, "not_found")
    write(draft, dict.fromkeys(doomed))


# -- building -------------------------------------------------------------------------------


def package_zip(draft: Draft) -> bytes:
    """The draft as a package zip (files at its root, stable order)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for f in draft.files.order_by("path").iterator(chunk_size=50):
            info = zipfile.ZipInfo(f.path, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (0o100755 if f.path.endswith(".sh") else 0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, bytes(f.content))
    return buf.getvalue()


def check_package(data: bytes) -> dict[str, Any]:
    """Load the zip with the loader, as an upload is: its meta, or the loader's error."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "package.zip"
        path.write_bytes(data)
        try:
            with open_package(path) as pkg:
                return services.package_meta(pkg)
        except PackageError as e:
            raise refuse(str(e), e.field or e.file, 400, "bad_package") from e


def build(draft: Draft, user: Any, publish_when_valid: bool = True) -> AssignmentVersion:
    """A new version of the assignment from the draft, through the upload's path: checked by
    the loader now, validated on a tester, published when its solutions get their verdicts."""
    data = package_zip(draft)
    check_package(data)
    version = services.add_version(
        draft.assignment, data, user, publish_when_valid=publish_when_valid
    )
    Draft.objects.filter(pk=draft.pk).update(built_version=version.number)
    draft.built_version = version.number
    return version


SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def create_assignment(
    course: Any, slug: str, template: str, user: Any, title: str | None = None
) -> Draft:
    """A new, unpublished assignment whose package is a draft from ``template``."""
    if not SLUG.match(slug or "") or len(slug) > 50:
        raise refuse("lower-case letters, digits and dashes (at most 50)", "slug")
    if template not in TEMPLATES:
        raise refuse(f"no template {template!r}; choose one of {', '.join(TEMPLATES)}", "template")
    with transaction.atomic():
        if course.assignments.filter(slug=slug).exists():
            raise refuse(f"an assignment named {slug!r} exists already", "slug", 409, "exists")
        a = Assignment.objects.create(course=course, slug=slug, title=title or slug)
        return start_from_template(a, template, user, title)
