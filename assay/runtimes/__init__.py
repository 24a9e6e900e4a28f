"""Runtime environments (languages) as data: how a submission in each language is built and run.

Every runtime is one YAML file in ``assay/runtimes/defs/`` (and, to add or override runtimes
without touching the code, in the directories named by ``ASSAY_RUNTIMES_DIR``, separated by
``:``). docs/runtimes.md describes the keys. A runtime is chosen by the package (``runtime:``),
by the submission (its language), or else by the submission's file extensions.

In ``build`` and ``run`` commands: ``{main}`` is the entry file (interpreted languages) or class
(JVM languages), ``{main_stem}`` the entry file without its extension, ``{sources}`` the
submission's source files of this language (shell-quoted), ``{memory_mib}`` the run's memory
limit. ``build`` runs with ``/bin/sh -c``; ``run`` is split into words and started directly. A
package's own ``build.sh`` / ``run.sh`` replace these defaults.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

DEFS = Path(__file__).parent / "defs"
NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class RuntimeFileError(ValueError):
    """A runtime definition file is malformed; the message names the file and the key."""


class HelloWorld(BaseModel):
    """A program that prints ``Hello, World!``: built and run in the sandbox to verify the runtime."""

    model_config = ConfigDict(extra="forbid")
    file: str
    source: str


class Runtime(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    title: str
    extensions: tuple[str, ...]  # source files: they decide the language
    companions: tuple[str, ...] = ()  # files that go with sources but do not decide (headers)
    # extensions (among ``extensions``) that do not choose this runtime when the language is
    # detected, as Kattis's parenthesised file endings: Perl's .pl (a .pl file is Prolog's)
    undetected: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()  # other names, including Kattis language ids
    debian: tuple[str, ...] = ()  # the Debian packages that provide it under /usr
    core: bool = False  # installed by ./setup.sh by default (else with --all-runtimes)
    version: str  # a shell command printing the version (the first line is shown)
    build: str | None = None  # None: nothing to build
    run: str
    # how the entry point is found: none (a binary), file (the file to run), java_class (the
    # class with `public static void main`, with its package)
    entry: Literal["none", "file", "java_class"] = "file"
    # threads the language's own machinery needs on top of the program's (JVM, node, mono)
    extra_processes: int = Field(0, ge=0)
    # memory the runtime itself needs beyond what the program is allowed to use (JVM metaspace…)
    extra_memory_mib: int = Field(0, ge=0)
    # a build step needs more than the package's build limits give (JVM compilers, ghc)
    build_memory_mib: int = Field(0, ge=0)
    # open files the runtime itself needs beyond the program's limit (R will not start below 167)
    extra_open_files: int = Field(0, ge=0)
    # host directories the toolchain reads besides /usr and /etc, bound read-only into its boxes
    # (Debian's GHC keeps its package database in /var/lib/ghc)
    system_paths: tuple[str, ...] = ()
    # a run that ends with one of these on stderr ran out of memory inside the runtime's own
    # limit (the JVM's -Xmx), below the sandbox's: it counts as memory limit exceeded
    out_of_memory: tuple[str, ...] = ()
    hello: HelloWorld

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME.match(v):
            raise ValueError("must be lower-case letters, digits and _ (e.g. cpp, python3)")
        return v

    @field_validator("extensions", "companions")
    @classmethod
    def _extensions(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for e in v:
            if not e.startswith(".") or "/" in e or len(e) < 2:
                raise ValueError(f"{e!r} is not a file extension like '.cpp'")
        return v

    @field_validator("undetected")
    @classmethod
    def _undetected(cls, v: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        for e in v:
            if e not in info.data.get("extensions", ()):
                raise ValueError(f"{e!r} is not one of the runtime's extensions")
        return v

    @field_validator("system_paths")
    @classmethod
    def _system_paths(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for p in v:
            if not p.startswith("/") or p == "/" or ".." in p.split("/"):
                raise ValueError(f"{p!r} is not an absolute directory like '/var/lib/ghc'")
        return v

    @property
    def readonly_binds(self) -> dict[str, Path]:
        """``system_paths`` as the sandbox's ``readonly_binds`` (those the host has)."""
        return self.readonly_binds_in(None)

    def readonly_binds_in(self, system_root: Path | None) -> dict[str, Path]:
        """``system_paths`` as they are in a VM's system (a course image's root, or the host)."""
        if system_root is None:
            return {p: Path(p) for p in self.system_paths if Path(p).is_dir()}
        from assay.sandbox.images import inside_root

        base = str(system_root)
        return {
            p: Path(base + p)
            for p in self.system_paths
            if Path(base + p).is_dir() and inside_root(system_root, base + p)
        }  # an image's directory that leads out of it (a link to the host's) is not bound

    @property
    def out_of_memory_markers(self) -> tuple[bytes, ...]:
        return tuple(m.encode() for m in self.out_of_memory)

    def is_source(self, name: str) -> bool:
        return _suffix(name) in self.extensions

    def is_detected_by(self, name: str) -> bool:
        return self.is_source(name) and _suffix(name) not in self.undetected

    def _fill(self, text: str, main: str, sources: list[str], memory_mib: int) -> str:
        return (
            text.replace("{main_stem}", Path(main).stem if main else "main")
            .replace("{main}", main)
            .replace("{sources}", " ".join(shlex.quote(s) for s in sources))
            .replace("{memory_mib}", str(memory_mib))
        )

    def build_command(
        self, main: str, files: list[str] | None = None, memory_mib: int = 256
    ) -> list[str] | None:
        """The build's argv; ``files`` are the submission's file names (sources are picked)."""
        if self.build is None:
            return None
        srcs = sorted(f for f in files or [] if self.is_source(f)) or ([main] if main else [])
        return ["/bin/sh", "-c", self._fill(self.build, main, srcs, memory_mib)]

    def run_command(self, main: str, memory_mib: int) -> list[str]:
        return [self._fill(a, main, [main], memory_mib) for a in shlex.split(self.run)]


def _suffix(name: str) -> str:
    """The extension that decides the language; ``.C`` (upper case) is C++ as in gcc."""
    suffix = Path(name).suffix
    return suffix if suffix == ".C" else suffix.lower()


def load_runtime_file(path: Path) -> Runtime:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise RuntimeFileError(f"{path}: cannot read: {e}") from e
    if not isinstance(doc, dict):
        raise RuntimeFileError(f"{path}: must be a mapping of keys (name, title, extensions, ...)")
    try:
        runtime = Runtime.model_validate(doc)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(x) for x in err["loc"]) or "(top)"
        raise RuntimeFileError(f"{path}: {where}: {err['msg']}") from e
    if runtime.name != path.stem:
        raise RuntimeFileError(f"{path}: name: {runtime.name!r} must match the file name")
    return runtime


def runtime_dirs() -> list[Path]:
    extra = [Path(p) for p in os.environ.get("ASSAY_RUNTIMES_DIR", "").split(":") if p]
    return [DEFS, *extra]


@functools.cache
def _load(dirs: tuple[Path, ...]) -> dict[str, Runtime]:
    found: dict[str, Runtime] = {}
    for d in dirs:
        if not d.is_dir():
            raise RuntimeFileError(f"{d}: ASSAY_RUNTIMES_DIR names no directory")
        for path in sorted(d.glob("*.yaml")):
            r = load_runtime_file(path)
            found[r.name] = r  # a later directory overrides
    return found


def all_runtimes() -> dict[str, Runtime]:
    """Every runtime definition, by name (read once per set of directories)."""
    return _load(tuple(runtime_dirs()))


def get_runtime(name: str) -> Runtime:
    """A runtime by its name or an alias (case-insensitive: ``C++``, ``py3``, ``node``)."""
    key = name.strip().lower()
    runtimes = all_runtimes()
    if key in runtimes:
        return runtimes[key]
    for r in runtimes.values():
        if key in (a.lower() for a in r.aliases):
            return r
    raise KeyError(f"unknown runtime {name!r}; known: {', '.join(runtimes)}")


def detect_runtime(files: list[str]) -> Runtime:
    """Choose the runtime whose source extension the files have (companions, and extensions a
    runtime leaves ``undetected``, do not count)."""
    runtimes = all_runtimes()
    found = [r for r in runtimes.values() if any(r.is_detected_by(f) for f in files)]
    if len(found) == 1:
        return found[0]
    names = {r.name for r in found}
    if names == {"c", "cpp"}:
        return runtimes["cpp"]
    if not found:
        known = sorted({e for r in runtimes.values() for e in r.extensions})
        raise KeyError(
            f"cannot tell the language of {', '.join(files) or 'no files'}: use one of the "
            f"extensions {', '.join(known)}, or name the language"
        )
    # several runtimes share an extension (python3 and pypy3 both take .py): the core one wins
    by_ext = {_suffix(f) for f in files} & {e for r in found for e in r.extensions}
    owners = [r for r in found if r.core]
    if len(owners) == 1 and all(e in owners[0].extensions for e in by_ext):
        return owners[0]
    raise KeyError(
        f"files in several languages ({', '.join(sorted(names))}): "
        "name the language of the submission or the runtime of the assignment"
    )


JAVA_MAIN = re.compile(rb"public\s+static\s+void\s+main\s*\(")
JAVA_PACKAGE = re.compile(rb"^\s*package\s+([\w.]+)\s*;", re.M)
ENTRY_STEMS = ("main", "solution", "Main", "Solution")


def find_main(runtime: Runtime, files: dict[str, bytes], entry: str | None = None) -> str:
    """The entry file (``entry: file``) or class (``java_class``) of a submission; '' for none."""
    if runtime.entry == "java_class":
        for name, data in sorted(files.items()):
            if runtime.is_source(name) and JAVA_MAIN.search(data):
                cls = Path(name).stem
                pkg = JAVA_PACKAGE.search(data)
                return f"{pkg.group(1).decode()}.{cls}" if pkg else cls
        raise KeyError("no Java class with 'public static void main' among the files")
    if runtime.entry == "none":
        return ""
    if entry:
        if entry not in files:
            raise KeyError(f"the entry file {entry!r} is missing from the submission")
        return entry
    candidates = sorted(n for n in files if runtime.is_source(n))
    if len(candidates) == 1:
        return candidates[0]
    for stem in ENTRY_STEMS:
        for n in candidates:
            if Path(n).stem == stem:
                return n
    raise KeyError(
        f"cannot tell which file to run among {', '.join(candidates) or 'no files'}: "
        f"name it main{runtime.extensions[0]}"
    )
