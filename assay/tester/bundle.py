"""The job bundle (seed 000): the unit a tester consumes.

A zip holding ``archive.zip`` (the submission), ``tests.zip`` (``tests/NAME/input``,
``tests/NAME/answer``, ``tests/NAME/files/...``, and ``checker/...`` when the judge has one),
``course_config`` and ``submission_config`` (YAML; the latter is the JobSpec), ``build.sh`` and
``run.sh``. docs/formats.md describes each member.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from assay.lib import yamlio
from assay.lib.archive import ArchiveError, ArchiveLimits, extract_zip
from assay.package.model import Assignment, TestCase
from assay.runtimes import get_runtime

from .spec import JobSpec, test_files, with_includes

BUNDLE_MEMBERS = (
    "archive.zip",
    "tests.zip",
    "course_config",
    "submission_config",
    "build.sh",
    "run.sh",
)
BUNDLE_LIMITS = ArchiveLimits(
    max_members=20, max_member_bytes=2 << 30, max_total_bytes=4 << 30, max_ratio=1e9
)
INNER_LIMITS = ArchiveLimits(
    max_members=100_000, max_member_bytes=1 << 30, max_total_bytes=4 << 30, max_ratio=1e9
)


class BundleError(ValueError):
    """A bundle is malformed; the message names the member."""


FIXED_DATE = (1980, 1, 1, 0, 0, 0)


def _zip_bytes(entries: list[tuple[str, bytes | Path]]) -> bytes:
    """A zip of ``entries``; members that are zips themselves are stored, not deflated again."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, content in entries:
            kind = zipfile.ZIP_STORED if name.endswith(".zip") else None
            if isinstance(content, Path):
                zf.write(content, name, compress_type=kind)
            else:
                # a fixed date: the same job gives the same bytes, whenever it is built
                info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
                info.external_attr = 0o644 << 16
                zf.writestr(info, content, kind or zipfile.ZIP_DEFLATED, compresslevel=1)
    return buf.getvalue()


def default_script(command: list[str] | None) -> str:
    if not command:
        return "#!/bin/sh\n# nothing to build\n"
    if command[:2] == ["/bin/sh", "-c"]:
        return "#!/bin/sh\nset -e\n" + command[2] + "\n"
    return "#!/bin/sh\nexec " + " ".join(_quote(a) for a in command) + ' "$@"\n'


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


def build_bundle(
    assignment: Assignment,
    spec: JobSpec,
    files: dict[str, bytes],
    course_config: dict[str, Any] | None = None,
    tests: bytes | None = None,
) -> bytes:
    """The bundle for evaluating ``files`` as job ``spec``; ``tests`` is ``tests_zip(assignment)``
    when the caller keeps it (the storer, once per package version)."""
    build_sh = assignment.build_script or default_script(spec.build_command)
    run_sh = assignment.run_script or default_script(spec.run_command)
    members: list[tuple[str, bytes | Path]] = [
        ("archive.zip", _zip_bytes(sorted(with_includes(assignment, spec.runtime, files).items()))),
        ("tests.zip", tests if tests is not None else tests_zip(assignment)),
        ("course_config", yamlio.safe_dump(course_config or {"course": "local"}).encode()),
        ("submission_config", yamlio.safe_dump(spec.to_dict(), sort_keys=False).encode()),
        ("build.sh", build_sh.encode()),
        ("run.sh", run_sh.encode()),
    ]
    return _zip_bytes(members)


def tests_zip(assignment: Assignment) -> bytes:
    """The bundle's ``tests.zip``: the same for every job of one package."""
    test_entries: list[tuple[str, bytes | Path]] = []
    for t in assignment.tests:
        test_entries.append((f"tests/{t.name}/input", t.input))
        test_entries.append((f"tests/{t.name}/answer", t.answer))
        for source, rel in test_files(t):
            test_entries.append((f"tests/{t.name}/files/{rel}", source))
    checker = assignment.judge.checker
    if checker is not None:
        if checker.is_dir():
            for p in sorted(checker.rglob("*")):
                if p.is_file():  # links inside the package were checked by its loader
                    test_entries.append((f"checker/{p.relative_to(checker).as_posix()}", p))
        else:
            test_entries.append((f"checker/{checker.name}", checker))
    return _zip_bytes(test_entries)


@dataclass
class OpenedBundle:
    spec: JobSpec
    course_config: dict[str, Any]
    files: dict[str, bytes]
    tests: dict[str, TestCase]
    scripts: dict[str, str]  # build.sh / run.sh when the job runs them (custom scripts)
    checker_source: Path | None


def open_bundle(bundle: Path | bytes, work: Path) -> OpenedBundle:
    """Unpack and check a bundle into ``work``."""
    try:
        extract_zip(bundle if isinstance(bundle, bytes) else Path(bundle), work, BUNDLE_LIMITS)
    except ArchiveError as e:
        raise BundleError(f"bundle: {e}") from e
    missing = [m for m in BUNDLE_MEMBERS if not (work / m).is_file()]
    if missing:
        raise BundleError(f"bundle: missing member(s) {', '.join(missing)}")
    try:
        spec = JobSpec.from_dict(yamlio.safe_load((work / "submission_config").read_text()))
        course_config = yaml.safe_load((work / "course_config").read_text()) or {}
        get_runtime(spec.runtime)
    except (ValueError, KeyError, yaml.YAMLError, TypeError) as e:
        raise BundleError(f"bundle: {e}") from e
    sub = work / "submission"
    tests_dir = work / "testdata"
    try:
        names = extract_zip(work / "archive.zip", sub, INNER_LIMITS)
        extract_zip(work / "tests.zip", tests_dir, INNER_LIMITS)
    except ArchiveError as e:
        raise BundleError(f"bundle: {e}") from e
    files = {n: (sub / n).read_bytes() for n in names}
    tests: dict[str, TestCase] = {}
    for t in spec.tests:
        d = tests_dir / "tests" / t.name
        if not (d / "input").is_file() or not (d / "answer").is_file():
            raise BundleError(f"bundle: tests.zip lacks tests/{t.name}/input or answer")
        extra = (
            sorted(p for p in (d / "files").rglob("*") if p.is_file())
            if (d / "files").is_dir()
            else []
        )
        tests[t.name] = TestCase(
            name=t.name, input=d / "input", answer=d / "answer", files=extra, files_base=d / "files",
            weight=t.weight, visible=t.visible, group=t.group,
        )  # fmt: skip
    scripts = {}
    for name in ("build.sh", "run.sh"):
        if spec.build_command == ["/bin/sh", name] or spec.run_command == ["/bin/sh", name]:
            scripts[name] = (work / name).read_text()
    checker_dir = tests_dir / "checker"
    checker_source = checker_dir if checker_dir.is_dir() else None
    return OpenedBundle(spec, course_config, files, tests, scripts, checker_source)
