"""Safe zip extraction: every archive a user or a tester sends is hostile until checked.

Refused, with a message naming the member: absolute paths and ``..``, symlinks and other special
files, duplicate names (also ones that differ only in case), too many members, members or totals
larger than the caps (counted on the bytes actually written, not on what the header claims, so a
lying header does not help a zip bomb), and a suspicious compression ratio.
"""

from __future__ import annotations

import io
import os
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


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    kind = stat.S_IFMT(info.external_attr >> 16)  # 0 when the archiver recorded no type
    return kind not in (0, stat.S_IFREG, stat.S_IFDIR)


def check_zip(
    zf: zipfile.ZipFile, limits: ArchiveLimits = DEFAULT_LIMITS
) -> list[tuple[zipfile.ZipInfo, str]]:
    """Check every member's name and type; return (info, safe name) for the files."""
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        raise ArchiveError(f"too many members: {len(infos)} (at most {limits.max_members})")
    seen: dict[str, str] = {}
    files = []
    for info in infos:
        name = safe_member_name(info.filename)
        if _is_symlink(info):
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
    return files


def extract_zip(
    source: Path | bytes | io.BytesIO,
    dest: Path,
    limits: ArchiveLimits = DEFAULT_LIMITS,
) -> list[str]:
    """Extract ``source`` into ``dest`` safely; return the names of the files written."""
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as e:
        raise ArchiveError(f"not a valid zip archive: {e}") from e
    with zf:
        members = check_zip(zf, limits)
        total = 0
        written = []
        dest.mkdir(parents=True, exist_ok=True)
        for info, name in members:
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
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
            total += n
            if info.external_attr >> 16 & 0o111:
                os.chmod(target, 0o755)
            written.append(name)
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
