"""Runtime environments: how a submission in each language is built and run in the box.

A runtime is chosen by the package (``runtime:``) or else by the submission's file extensions.
``{main}`` in a command is the entry file (for interpreted languages) or class (Java);
``{memory_mib}`` is the run's memory limit. A package's own ``build.sh`` / ``run.sh`` replace
these defaults (they run with ``/bin/sh`` in the box).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Runtime:
    name: str
    title: str
    extensions: tuple[str, ...]
    build: tuple[str, ...] | None  # argv; None: nothing to build
    run: tuple[str, ...]
    # threads the language's own machinery needs on top of the program's (JVM, node)
    extra_processes: int = 0
    # memory the runtime itself needs beyond what the program is allowed to use (JVM metaspace…)
    extra_memory_mib: int = 0
    compiled: bool = True
    # a run that ends with one of these on stderr ran out of memory inside the runtime's own
    # limit (the JVM's -Xmx), below the sandbox's: it counts as memory limit exceeded
    out_of_memory: tuple[bytes, ...] = ()

    def build_command(self, main: str) -> list[str] | None:
        if self.build is None:
            return None
        return ["/bin/sh", "-c", " ".join(self.build).replace("{main}", main)]

    def run_command(self, main: str, memory_mib: int) -> list[str]:
        return [
            a.replace("{main}", main).replace("{memory_mib}", str(memory_mib)) for a in self.run
        ]


RUNTIMES: dict[str, Runtime] = {
    r.name: r
    for r in (
        Runtime(
            "c", "C (gcc, C17)", (".c", ".h"),
            ("gcc", "-std=gnu17", "-O2", "-pipe", "-Wall", "-o", "main", "*.c", "-lm"), ("./main",),
        ),
        Runtime(
            "cpp", "C++ (g++, C++17)", (".cpp", ".cc", ".cxx", ".hpp", ".hh"),
            ("g++", "-std=gnu++17", "-O2", "-pipe", "-Wall", "-o", "main",
             "$(ls *.cpp *.cc *.cxx 2>/dev/null)"),
            ("./main",),
        ),
        Runtime(
            "python3", "Python 3", (".py",),
            ("python3", "-m", "py_compile", "{main}"), ("python3", "{main}"), compiled=False,
            out_of_memory=(b"\nMemoryError",),
        ),
        Runtime(
            "java", "Java (OpenJDK)", (".java",),
            ("javac", "-J-Xss64m", "-J-XX:+UseSerialGC", "-encoding", "UTF-8", "-d", ".", "*.java"),
            ("java", "-Xmx{memory_mib}m", "-Xss64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
             "-cp", ".", "{main}"),
            extra_processes=64, extra_memory_mib=96,
            out_of_memory=(b"java.lang.OutOfMemoryError",),
        ),
        Runtime(
            "javascript", "JavaScript (node)", (".js", ".mjs"),
            ("node", "--check", "{main}"), ("node", "{main}"),
            extra_processes=16, extra_memory_mib=32, compiled=False,
            out_of_memory=(b"JavaScript heap out of memory",),
        ),
        Runtime(
            "rust", "Rust (rustc)", (".rs",),
            ("rustc", "--edition", "2021", "-O", "-o", "main", "{main}"), ("./main",),
        ),
        Runtime("bash", "Bash", (".sh",), ("bash", "-n", "{main}"), ("bash", "{main}"),
                extra_processes=16, compiled=False),
    )
}  # fmt: skip

ALIASES = {"c++": "cpp", "python": "python3", "py": "python3", "js": "javascript",
           "node": "javascript", "sh": "bash", "kotlin": "java"}  # fmt: skip


def get_runtime(name: str) -> Runtime:
    key = ALIASES.get(name.lower(), name.lower())
    if key not in RUNTIMES:
        raise KeyError(f"unknown runtime {name!r}; known: {', '.join(RUNTIMES)}")
    return RUNTIMES[key]


def detect_runtime(files: list[str]) -> Runtime:
    """Choose the runtime whose source extension the files have (headers do not count)."""
    found = []
    for r in RUNTIMES.values():
        sources = [e for e in r.extensions if e not in (".h", ".hpp", ".hh")]
        if any(Path(f).suffix.lower() in sources for f in files):
            found.append(r)
    if len(found) == 1:
        return found[0]
    if {r.name for r in found} == {"c", "cpp"}:
        return RUNTIMES["cpp"]
    if not found:
        raise KeyError(
            f"cannot tell the language of {', '.join(files) or 'no files'}: use one of the "
            f"extensions {', '.join(sorted({e for r in RUNTIMES.values() for e in r.extensions}))}"
        )
    raise KeyError(
        f"files in several languages ({', '.join(r.name for r in found)}): "
        "name the runtime in the assignment"
    )


JAVA_MAIN = re.compile(rb"public\s+static\s+void\s+main\s*\(")
JAVA_PACKAGE = re.compile(rb"^\s*package\s+([\w.]+)\s*;", re.M)


def find_main(runtime: Runtime, files: dict[str, bytes], entry: str | None = None) -> str:
    """The entry file (interpreted) or class (Java) of a submission; '' when not needed."""
    if runtime.name == "java":
        for name, data in sorted(files.items()):
            if name.endswith(".java") and JAVA_MAIN.search(data):
                cls = Path(name).stem
                pkg = JAVA_PACKAGE.search(data)
                return f"{pkg.group(1).decode()}.{cls}" if pkg else cls
        raise KeyError("no Java class with 'public static void main' among the files")
    if runtime.name in ("c", "cpp"):
        return ""
    if entry:
        if entry not in files:
            raise KeyError(f"the entry file {entry!r} is missing from the submission")
        return entry
    candidates = sorted(n for n in files if Path(n).suffix in runtime.extensions)
    if len(candidates) == 1:
        return candidates[0]
    for name in ("main", "solution", "Main"):
        for n in candidates:
            if Path(n).stem == name:
                return n
    raise KeyError(
        f"cannot tell which file to run among {', '.join(candidates) or 'no files'}: "
        f"name it main{runtime.extensions[0]}"
    )
