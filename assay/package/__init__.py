"""Assignment packages: the native format and Kattis problem packages, loaded into one model."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from assay.lib.archive import ArchiveError, extract_zip

from .kattis import load_kattis
from .model import Assignment, PackageError, ReferenceSolution, TestCase, TestGroup, Verdict
from .native import load_native

__all__ = [
    "Assignment",
    "PackageError",
    "ReferenceSolution",
    "TestCase",
    "TestGroup",
    "Verdict",
    "open_package",
]


def _package_root(directory: Path) -> Path:
    """The directory holding assignment.yaml or problem.yaml (a zip may wrap it in one folder)."""
    for marker in ("assignment.yaml", "problem.yaml"):
        if (directory / marker).is_file():
            return directory
    children = [p for p in directory.iterdir() if not p.name.startswith(".")]
    if len(children) == 1 and children[0].is_dir():
        return _package_root(children[0])
    raise PackageError(
        directory.name,
        "not a package: it has neither assignment.yaml (native format) nor problem.yaml (Kattis)",
    )


@contextlib.contextmanager
def open_package(path: Path) -> Iterator[Assignment]:
    """Load a package directory or zip; files it extracts live until the block ends."""
    path = Path(path)
    if not path.exists():
        raise PackageError(str(path), "no such file or directory")
    work = Path(tempfile.mkdtemp(prefix="assay-package-"))
    try:
        if path.is_file():
            try:
                extract_zip(path, work / "package", links=True)
            except ArchiveError as e:
                raise PackageError(path.name, str(e)) from e
            root = _package_root(work / "package")
        else:
            root = _package_root(path)
        if (root / "assignment.yaml").is_file():
            yield load_native(root, work)
        else:
            yield load_kattis(root, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
