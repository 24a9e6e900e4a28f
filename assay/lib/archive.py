"""Safe zip extraction: every archive a user or a tester sends is hostile until checked.

Refused, with a message naming the member: absolute paths and ``..``, symlinks and other special
files, duplicate names (also ones that differ only in case), a name that is both a file and a
folder of other members, names nested too deep or too long for a file system, too many members,
members or totals larger than the caps (counted on the bytes actually written, not on what the
header claims, so a lying header does not help a zip bomb), and a suspicious compression ratio.
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath


class ArchiveError(ValueError):
    """An archive was refused; the message says which member and why."""


@dataclass(frozen=True)
class ArchiveLimits:
    max_members: int = 1000
    max_member_bytes: int = 64 * 1024 * 1024
    max_total_bytes: int = 256 * 1024 * 1024
    max_ratio: float = 200.0  # uncompressed / compressed, for members over 1 MiB
    max_depth: int = 64  # folders a member may sit in


# what a file system takes: one part of a path (NAME_MAX), and a whole member name (well below
# PATH_MAX, with room for the folder the archive is extracted into)
MAX_NAME_PART_BYTES = 255
MAX_NAME_BYTES = 1024


DEFAULT_LIMITS = ArchiveLimits()


def safe_member_name(name: str) -> str:
    """Normalise a member name or raise ArchiveError if it could escape the target."""
    if "\\" in name or "\x00" in name:
        raise ArchiveError(f"{name!r}: backslashes and NUL bytes are not allowed in names")
    p = PurePosixPath(name)
    if p.is_absolute() or name.startswith("/"):
        raise ArchiveError(f"{name!r}: absolute paths are not allowed")
    parts = [x for x in p.parts if x not in ("", ".")]
    if any(x == ".." for x in parts):
        raise ArchiveError(f"{name!r}: '..' is not allowed in paths")
    if not parts:
        raise ArchiveError(f"{name!r}: empty name")
    return "/".join(parts)


def _shown(name: str, at_most: int = 80) -> str:
    return repr(name if len(name) <= at_most else name[:at_most] + "…")


def _check_name_size(name: str, limits: ArchiveLimits) -> None:
    parts = name.split("/")
    if len(parts) - 1 > limits.max_depth:
        raise ArchiveError(
            f"{_shown(name)}: nested {len(parts) - 1} folders deep (at most {limits.max_depth})"
        )
    if any(len(part.encode(errors="surrogateescape")) > MAX_NAME_PART_BYTES for part in parts):
        raise ArchiveError(
            f"{_shown(name)}: a file or folder name longer than {MAX_NAME_PART_BYTES} bytes"
        )
    if len(name.encode(errors="surrogateescape")) > MAX_NAME_BYTES:
        raise ArchiveError(f"{_shown(name)}: a path longer than {MAX_NAME_BYTES} bytes")


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    kind = stat.S_IFMT(info.external_attr >> 16)  # 0 when the archiver recorded no type
    return kind not in (0, stat.S_IFREG, stat.S_IFDIR)


def _is_link(info: zipfile.ZipInfo) -> bool:
    return stat.S_IFMT(info.external_attr >> 16) == stat.S_IFLNK


def check_zip(
    zf: zipfile.ZipFile, limits: ArchiveLimits = DEFAULT_LIMITS, *, links: bool = False
) -> list[tuple[zipfile.ZipInfo, str]]:
    """Check every member's name and type; return (info, safe name) for the files (and, with
    ``links``, the symbolic links, which the caller resolves inside the archive)."""
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        raise ArchiveError(f"too many members: {len(infos)} (at most {limits.max_members})")
    seen: dict[str, str] = {}
    files = []
    for info in infos:
        name = safe_member_name(info.filename)
        _check_name_size(name, limits)
        if _is_symlink(info) and not (links and _is_link(info)):
            raise ArchiveError(f"{info.filename!r}: symlinks and special files are not allowed")
        key = name.lower()
        if key in seen:
            raise ArchiveError(f"{info.filename!r}: duplicate name (also {seen[key]!r})")
        seen[key] = info.filename
        if info.is_dir():
            continue
        if info.file_size > limits.max_member_bytes:
            raise ArchiveError(
                f"{info.filename!r}: {info.file_size} bytes, more than {limits.max_member_bytes}"
            )
        if info.file_size > 1024 * 1024 and info.file_size > limits.max_ratio * max(
            info.compress_size, 1
        ):
            raise ArchiveError(f"{info.filename!r}: compression ratio too high (a zip bomb?)")
        files.append((info, name))
    folders = {key.rsplit("/", i)[0] for key in seen for i in range(1, key.count("/") + 1)}
    for info, name in files:
        if name.lower() in folders:
            raise ArchiveError(f"{info.filename!r}: is a file, and also a folder of other members")
    return files


def extract_zip(
    source: Path | bytes | io.BytesIO,
    dest: Path,
    limits: ArchiveLimits = DEFAULT_LIMITS,
    *,
    links: bool = False,
) -> list[str]:
    """Extract ``source`` into ``dest`` safely; return the names of the files written.

    With ``links`` (problem packages: the Kattis format reuses test data through symbolic
    links), a link whose target stays inside the archive is written as a copy of its target
    (file or directory; copies count against the size caps); a link that leaves the archive,
    dangles or loops is refused. Without it every link is refused."""
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError) as e:  # ValueError: a name's encoding
        raise ArchiveError(f"not a valid zip archive: {e}") from e
    with zf:
        members = check_zip(zf, limits, links=links)
        total = 0
        written = []
        pending_links = []
        dest.mkdir(parents=True, exist_ok=True)
        for info, name in members:
            if _is_link(info):
                pending_links.append((name, zf.read(info)[:4096].decode(errors="replace")))
                continue
            target = dest / name
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:  # checked above; what is left is the file system's own refusal
                raise ArchiveError(f"{_shown(name)}: cannot be written: {e.strerror}") from e
            if target.is_symlink() or (target.exists() and not target.is_file()):
                raise ArchiveError(f"{name!r}: clashes with a directory of the archive")
            budget = min(limits.max_member_bytes, limits.max_total_bytes - total)
            try:
                with zf.open(info) as src, open(target, "wb") as out:
                    n = 0
                    while chunk := src.read(1024 * 1024):
                        n += len(chunk)
                        if n > budget:
                            raise ArchiveError(
                                f"{name!r}: larger than allowed (member or total size cap)"
                            )
                        out.write(chunk)
            except (zipfile.BadZipFile, EOFError, ValueError) as e:  # ValueError: CRC, etc.
                if isinstance(e, ArchiveError):
                    raise
                raise ArchiveError(f"{name!r}: corrupt member: {e}") from e
            except OSError as e:
                raise ArchiveError(f"{_shown(name)}: cannot be written: {e.strerror}") from e
            total += n
            if info.external_attr >> 16 & 0o111:
                os.chmod(target, 0o755)
            written.append(name)
        if pending_links:
            written += _materialize_links(dest, pending_links, limits, total)
        return written


def _materialize_links(
    dest: Path, pending: list[tuple[str, str]], limits: ArchiveLimits, total: int
) -> list[str]:
    """Write each link as a copy of its target inside ``dest``, links to links included (in
    as many rounds as needed; what is left after that dangles or loops)."""
    written: list[str] = []
    root = dest.resolve()
    targets: dict[str, str] = {}
    for name, target in pending:
        if target.startswith("/") or "\x00" in target or "\\" in target:
            raise ArchiveError(f"{name!r}: a link to {target!r} leaves the archive")
        joined = os.path.normpath(os.path.join(os.path.dirname(name), target))
        if joined == ".." or joined.startswith("../") or joined == ".":
            raise ArchiveError(f"{name!r}: a link to {target!r} leaves the archive")
        targets[name] = joined
    while targets:
        progress = False
        for name, target in list(targets.items()):
            source = root / target
            if not source.exists() or target in targets:
                continue  # not there yet (a link itself), or dangling: maybe next round
            if root not in source.resolve().parents:
                raise ArchiveError(f"{name!r}: a link to {target!r} leaves the archive")
            out = dest / name
            out.parent.mkdir(parents=True, exist_ok=True)
            if out.exists() or out.is_symlink():
                raise ArchiveError(f"{name!r}: clashes with another member of the archive")
            files = [source] if source.is_file() else sorted(source.rglob("*"))
            for f in files:
                if f.is_symlink() or not (f.is_file() or f.is_dir()):
                    raise ArchiveError(f"{name!r}: links to something that is not a file")
                if f.is_file():
                    total += f.stat().st_size
                    if total > limits.max_total_bytes:
                        raise ArchiveError(f"{name!r}: the copies of links exceed the size cap")
            if source.is_file():
                shutil.copyfile(source, out)
                written.append(name)
            else:
                shutil.copytree(source, out)
                written += [
                    f"{name}/{f.relative_to(out).as_posix()}" for f in out.rglob("*") if f.is_file()
                ]
            del targets[name]
            progress = True
        if not progress:
            name, target = next(iter(targets.items()))
            raise ArchiveError(f"{name!r}: a link to {target!r} dangles or loops")
    return written


# what archivers add on their own: macOS's resource forks and Finder files
ARCHIVER_JUNK_DIRS = ("__MACOSX",)
ARCHIVER_JUNK_FILES = (".DS_Store", "Thumbs.db", "desktop.ini")


def as_submitted(files: dict[str, bytes]) -> dict[str, bytes]:
    """The files of an uploaded zip as the student meant them: without what the archiver added
    on its own (``__MACOSX/``, ``.DS_Store``), and, when every file sits in one top folder (what
    "compress folder" makes), with that folder as the root."""
    kept = {
        name: data
        for name, data in files.items()
        if name.split("/", 1)[0] not in ARCHIVER_JUNK_DIRS
        and name.rsplit("/", 1)[-1] not in ARCHIVER_JUNK_FILES
    }
    while kept and all("/" in name for name in kept):
        tops = {name.split("/", 1)[0] for name in kept}
        if len(tops) != 1:
            break
        kept = {name.split("/", 1)[1]: data for name, data in kept.items()}
    return kept


def zip_directory(source: Path, target: Path | io.BytesIO, *, base: str = "") -> None:
    """Zip the regular files below ``source`` (symlinks are skipped) with stable order."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for path in sorted(source.rglob("*")):
            if path.is_symlink() or not path.is_file():
                continue
            arcname = str(PurePosixPath(base) / path.relative_to(source).as_posix()).lstrip("/")
            zf.write(path, arcname)
