"""Course images: Debian root filesystems built by assay, used as a box's system root.

An image is a minbase Debian system (mmdebstrap) with the packages a course needs (numpy, an
old compiler, ...). Its /etc, /usr, /bin, /lib... replace the host's inside the box; everything
else about a box (tmpfs root, /proc, /dev, /tmp, the box directory, uid, cgroups, seccomp, no
network) stays as it is. The store, below ``ASSAY_IMAGES_DIR`` (default
``/var/lib/assay/images``)::

    NAME/
      VERSION/             a content hash of the suite, the packages and the apt sources
        root/              the root filesystem (what a box sees)
        manifest.json      the recipe and every installed package with its version
      current -> VERSION   the version boxes use (replaced atomically by a newer build)

A build happens in a hidden temporary directory next to its target and is renamed into place
when complete: a box never sees half an image, and an interrupted build leaves only a
``.build-*`` directory that the next build removes.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .base import SandboxError

NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
NAME_HELP = "lower-case letters, digits, '-' and '_', starting with a letter (e.g. py-numpy)"
PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.-]*(=[A-Za-z0-9.+~:-]+)?$")
SUITE = re.compile(r"^[a-z][a-z0-9-]*$")
DEFAULT_SUITE = "bookworm"
CURRENT = "current"
# what a box never reads: left out of the image (smaller, faster to build and to ship)
EXCLUDED_PATHS = ("/usr/share/doc/*", "/usr/share/man/*", "/usr/share/info/*")
# the root filesystem's top-level entries that become the box's system (bound read-only)
SYSTEM_DIRS = ("etc", "usr", "bin", "sbin", "lib", "lib32", "lib64")


class ImageError(SandboxError):
    """An image is missing, malformed, or cannot be built; the message says what to do."""


def images_dir() -> Path:
    return Path(os.environ.get("ASSAY_IMAGES_DIR") or "/var/lib/assay/images")


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise ImageError(f"{name!r} is not an image name: use {NAME_HELP}")
    return name


@dataclass(frozen=True)
class Image:
    """One built version of an image."""

    name: str
    version: str
    path: Path  # NAME/VERSION

    @property
    def root(self) -> Path:
        return self.path / "root"

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"

    def manifest(self) -> dict[str, Any]:
        try:
            doc = json.loads((self.path / "manifest.json").read_text())
        except (OSError, ValueError) as e:
            raise ImageError(f"image {self.label}: unreadable manifest.json ({e})") from e
        return doc if isinstance(doc, dict) else {}


def inside_root(root: Path, path: str) -> bool:
    """Whether ``path`` (a directory of an image's root, as the host sees it) stays inside
    ``root`` when the host follows its links: a bind source must not, through a link such as
    ``usr -> /``, bring the host's own files into a box."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    return real == real_root or real.startswith(real_root + os.sep)


def resolve(name: str, base: Path | None = None) -> Image:
    """The current version of image ``name`` (ImageError if this machine has none)."""
    check_name(name)
    current = (base or images_dir()) / name / CURRENT
    try:
        version = os.readlink(current)
    except OSError:
        raise ImageError(
            f"image {name!r} is not on this tester (no {current}): build it with "
            f"`assay image build {name} --packages ...` or copy it here (docs/deploy.md)"
        ) from None
    image = Image(name, version, current.parent / version)
    if not (image.root / "usr").is_dir():
        raise ImageError(f"image {image.label} has no root filesystem at {image.root}/usr")
    return image


def local_images(base: Path | None = None) -> list[Image]:
    """The current version of every image on this machine, by name."""
    base = base or images_dir()
    found = []
    with contextlib.suppress(FileNotFoundError):
        for entry in sorted(base.iterdir()):
            if NAME.match(entry.name) and (entry / CURRENT).is_symlink():
                with contextlib.suppress(ImageError):
                    found.append(resolve(entry.name, base))
    return found


def all_versions(base: Path | None = None) -> list[tuple[Image, bool]]:
    """Every version of every image, with whether it is the current one."""
    base = base or images_dir()
    rows = []
    with contextlib.suppress(FileNotFoundError):
        for entry in sorted(base.iterdir()):
            if not NAME.match(entry.name):
                continue
            current = os.readlink(entry / CURRENT) if (entry / CURRENT).is_symlink() else None
            versions = (p for p in entry.iterdir() if not p.is_symlink() and (p / "root").is_dir())
            for v in sorted(versions):
                rows.append((Image(entry.name, v.name, v), v.name == current))
    return rows


def remove(name: str, version: str | None = None, base: Path | None = None) -> list[str]:
    """Remove an image (every version) or one version of it; the versions removed."""
    check_name(name)
    folder = (base or images_dir()) / name
    if not folder.is_dir():
        raise ImageError(f"no image {name!r} in {folder.parent}")
    versions = [p.name for p in folder.iterdir() if not p.is_symlink() and p.is_dir()]
    if version is not None:
        if version not in versions:
            raise ImageError(f"image {name!r} has no version {version!r}: {', '.join(versions)}")
        current = folder / CURRENT
        if current.is_symlink() and os.readlink(current) == version:
            current.unlink()
        shutil.rmtree(folder / version)
        return [version]
    shutil.rmtree(folder)
    return [v for v in versions if not v.startswith(".")]


# -- building -------------------------------------------------------------------------------


def host_sources(suite: str) -> list[str]:
    """One-line apt sources for ``suite`` on the mirrors this host's apt uses for Debian (its
    ``suite``, ``suite-updates`` and ``suite-security``); deb.debian.org if it names none."""
    mirror, security = "", ""
    files = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for f in files:
        if f.suffix not in (".list", ".sources") or not f.is_file():
            continue
        for uri in re.findall(r"(?:^deb\s+(?:\[[^]]*\]\s+)?|^URIs:\s*)(\S+)", f.read_text(), re.M):
            if "debian-security" in uri:
                security = security or uri
            elif uri.rstrip("/").endswith("/debian"):
                mirror = mirror or uri
    mirror = mirror or "http://deb.debian.org/debian"
    security = security or "http://deb.debian.org/debian-security"
    lines = [f"deb {mirror} {suite} main"]
    if suite not in ("sid", "unstable"):
        lines += [f"deb {mirror} {suite}-updates main", f"deb {security} {suite}-security main"]
    return lines


def recipe(suite: str, packages: list[str], sources: list[str]) -> dict[str, Any]:
    for p in packages:
        if not PACKAGE.match(p):
            raise ImageError(f"{p!r} is not a Debian package name (optionally =version)")
    if not SUITE.match(suite):
        raise ImageError(f"{suite!r} is not a Debian suite name (bookworm, trixie, ...)")
    return {
        "suite": suite,
        "variant": "minbase",
        "packages": sorted(set(packages)),
        "sources": sources,
        "excluded": list(EXCLUDED_PATHS),
    }


def recipe_version(doc: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:12]


def installed_packages(root: Path) -> dict[str, str]:
    done = subprocess.run(
        ["dpkg-query", f"--admindir={root}/var/lib/dpkg", "-W", "-f", "${Package}\t${Version}\n"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    pairs = (line.split("\t", 1) for line in done.stdout.splitlines() if "\t" in line)
    return dict(sorted(pairs))


def build(
    name: str,
    packages: list[str],
    suite: str = DEFAULT_SUITE,
    *,
    base: Path | None = None,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> tuple[Image, bool]:
    """Build image ``name`` (or find it already built from the same recipe); makes it current.

    Returns (the image, whether it was built now).

    1. The recipe (suite, packages, the host's apt sources) gives the version, a hash.
    2. If that version exists (and not ``force``), it only becomes current.
    3. Else mmdebstrap builds a minbase root into ``NAME/.build-*/root``; the manifest lists
       the installed packages; the directory is renamed to ``NAME/VERSION``.
    4. ``current`` is replaced (a new symlink renamed over the old one)."""
    check_name(name)
    mmdebstrap = shutil.which("mmdebstrap")
    if not mmdebstrap:
        raise ImageError(
            "mmdebstrap is not installed: install the Debian package (./setup.sh does)"
        )
    if os.geteuid() != 0:
        raise ImageError("building an image needs root (the image's files belong to root)")
    doc = recipe(suite, packages, host_sources(suite))
    version = recipe_version(doc)
    folder = (base or images_dir()) / name
    target = folder / version
    built = False
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build of an image at a time (tests, testers)
        if force or not (target / "root" / "usr").is_dir():
            _build_into(mmdebstrap, name, version, doc, folder, target, progress)
            built = True
        link = folder / f".{CURRENT}-{os.getpid()}"
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        os.symlink(version, link)
        os.replace(link, folder / CURRENT)
    return Image(name, version, target), built


def _build_into(
    mmdebstrap: str,
    name: str,
    version: str,
    doc: dict[str, Any],
    folder: Path,
    target: Path,
    progress: Callable[[str], None] | None,
) -> None:
    for stale in folder.glob(".build-*"):  # an interrupted build (we hold the lock)
        shutil.rmtree(stale, ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=folder))
    work.chmod(0o755)  # apt's download user reads it
    try:
        started = time.monotonic()
        _mmdebstrap(mmdebstrap, doc, work / "root", progress)
        manifest = {
            "name": name, "version": version, "recipe": doc,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "build_s": round(time.monotonic() - started, 1),
            "installed": installed_packages(work / "root"),
        }  # fmt: skip
        (work / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
        if target.exists():  # force: the old one goes aside, then away
            aside = folder / f".build-old-{os.getpid()}"
            os.rename(target, aside)
            shutil.rmtree(aside, ignore_errors=True)
        os.rename(work, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _mmdebstrap(
    mmdebstrap: str, doc: dict[str, Any], root: Path, progress: Callable[[str], None] | None
) -> None:
    command = [mmdebstrap, "--variant=minbase", "--mode=root", "--format=directory"]
    if doc["packages"]:
        command.append("--include=" + ",".join(doc["packages"]))
    command += [f"--dpkgopt=path-exclude={p}" for p in doc["excluded"]]
    command += [doc["suite"], str(root), *doc["sources"]]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=_build_env()
    )
    assert process.stderr is not None
    tail: list[str] = []
    for line in process.stderr:
        line = line.rstrip()
        tail = [*tail[-30:], line]
        if progress and line:
            progress(line)
    if process.wait() != 0:
        raise ImageError(f"mmdebstrap failed (exit {process.returncode}): " + "\n".join(tail[-10:]))


def _build_env() -> dict[str, str]:
    keep = ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    env["LC_ALL"] = "C.UTF-8"
    return env
