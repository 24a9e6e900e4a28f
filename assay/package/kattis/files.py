"""The package's files on disk: symbolic links are checked (they must stay inside the package),
directories are listed in the format's order and walked with links followed, entries are told
apart as programs or not, and programs or files that contain links are materialized, copied with
the links resolved into the loader's work directory."""

from __future__ import annotations

import errno
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

from assay.runtimes import detect_runtime

from ..model import PackageError
from .common import Loader

NAME_OK = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")  # others are auxiliary: ignored


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


def _real(path: Path) -> Path:
    return path.resolve() if path.is_symlink() else path


def _is_program(path: Path, language: str | None) -> bool:
    if path.is_dir() or language is not None:
        return True
    try:
        detect_runtime([path.name])
    except KeyError:
        return False
    return True
