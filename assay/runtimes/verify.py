"""Verify runtimes inside the sandbox: the version the box sees, and a hello-world built and run.

A tester offers only the runtimes that pass (``assay worker``), and ``assay runtimes`` shows the
table. A toolchain the host has on PATH but the box cannot see (rustup in root's home, say)
fails here, not in a student's build. Results are cached in a file keyed by the runtime's
definition and the installed versions of its Debian packages, so a restart costs one
``dpkg-query``; a package upgrade or an edited definition verifies again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from assay.lib.workdir import scratch_dir
from assay.sandbox import Host, Limits, SandboxError, Status

from . import Runtime, all_runtimes

EXPECTED = "Hello, World!"
CACHE_NAME = "runtimes-verified.json"
VERSION_LIMITS = Limits(
    cpu_time_s=20, wall_time_s=40, memory_kib=1024 * 1024, processes=128, output_kib=64
)


class ToolchainError(SandboxError):
    """A runtime's toolchain is missing or broken in the box: the tester's fault, never a CE."""


_verified_here: set[str] = set()  # runtimes this process has seen work (name or name@image)


def require_runtime(host: Host, name: str, image: str | None = None) -> None:
    """Raise ToolchainError unless ``name`` works in the sandbox (in course image ``image``, if
    given); verified once per process and image version."""
    image = image if image is not None else host.default_image
    key = _label(name, image)
    if key in _verified_here:
        return
    (status,) = verify_runtimes(host, [name], image=image)
    if not status.ok:
        where = f" in image {image}" if image else ""
        raise ToolchainError(
            f"runtime {name} does not work{where} on this tester: {status.message}"
        )
    _verified_here.add(key)


def _label(name: str, image: str | None) -> str:
    if image is None:
        return name
    from assay.sandbox.images import resolve

    return f"{name}@{resolve(image).label}"


@dataclass
class RuntimeStatus:
    name: str
    title: str
    ok: bool
    version: str = ""
    message: str = ""  # why it is not usable
    debian: str = ""  # the packages and the versions installed ("" when not installed)
    build_s: float = 0.0  # wall time of the hello-world's build
    run_s: float = 0.0
    cached: bool = False

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def build_limits(runtime: Runtime, base: Limits) -> Limits:
    """The limits of a build in ``runtime``: the package's, raised to what the compiler needs."""
    return base.replace(
        memory_kib=max(base.memory_kib, runtime.build_memory_mib * 1024),
        processes=base.processes + runtime.extra_processes,
        open_files=base.open_files + runtime.extra_open_files,
    )


HELLO_BUILD_LIMITS = Limits(
    cpu_time_s=120, wall_time_s=240, memory_kib=1024 * 1024, processes=64,
    output_kib=1024, file_size_kib=256 * 1024, open_files=256,
)  # fmt: skip
HELLO_RUN_LIMITS = Limits(cpu_time_s=10, wall_time_s=20, memory_kib=256 * 1024, processes=1)


def debian_versions(runtime: Runtime, system_root: Path | None = None) -> str:
    """``pkg=version`` of the runtime's Debian packages ("" if one of them is not installed),
    on the host or in the course image whose root is ``system_root``."""
    if not runtime.debian:
        return ""
    admindir = [f"--admindir={system_root}/var/lib/dpkg"] if system_root is not None else []
    try:
        out = subprocess.run(
            ["dpkg-query", *admindir, "-W", "-f", "${Package}=${Version} ${db:Status-Abbrev}\n",
             *runtime.debian],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return ""
    found = [ln.split()[0] for ln in out.stdout.splitlines() if ln.split()[1:2] == ["ii"]]
    return " ".join(found) if len(found) == len(runtime.debian) else ""


def _key(runtime: Runtime, debian: str) -> str:
    text = runtime.model_dump_json() + "\n" + debian
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _first_line(path: Path) -> str:
    text = path.read_bytes()[:4096].decode(errors="replace").strip()
    return text.splitlines()[0].strip() if text else ""


def verify_runtime(host: Host, runtime: Runtime, image: str | None = None) -> RuntimeStatus:
    """Run the version command, build and run the hello-world in a fresh box (on the course
    image ``image``, if given)."""
    vm = host.get_vm(box_size_kib=256 * 1024, image=image)
    scratch = scratch_dir("assay-verify-")
    try:
        status = RuntimeStatus(
            runtime.name, runtime.title, False, debian=debian_versions(runtime, vm.system_root)
        )
        binds = runtime.readonly_binds_in(vm.system_root) or None
        res = vm.run(
            ["/bin/sh", "-c", runtime.version], VERSION_LIMITS,
            stdout=scratch / "v.out", stderr=scratch / "v.err", readonly_binds=binds,
        )  # fmt: skip
        if res.status is Status.XX:
            raise SandboxError(res.message)
        status.version = _first_line(scratch / "v.out") or _first_line(scratch / "v.err")
        if not res.ok:
            status.message = f"the version command failed ({res.message}): {status.version}"
            return status
        vm.write_file(runtime.hello.file, runtime.hello.source.encode())
        from . import find_main

        main = find_main(runtime, {runtime.hello.file: runtime.hello.source.encode()})
        build = runtime.build_command(main, [runtime.hello.file])
        if build:
            started = time.monotonic()
            res = vm.run(
                build, build_limits(runtime, HELLO_BUILD_LIMITS),
                stdout=scratch / "b.out", stderr=scratch / "b.err", readonly_binds=binds,
            )  # fmt: skip
            status.build_s = round(time.monotonic() - started, 3)
            if res.status is Status.XX:
                raise SandboxError(res.message)
            if not res.ok:
                err = (scratch / "b.err").read_bytes()[-2000:].decode(errors="replace").strip()
                status.message = f"hello-world does not build ({res.message}): {err}"
                return status
        run_limits = HELLO_RUN_LIMITS.replace(
            processes=HELLO_RUN_LIMITS.processes + runtime.extra_processes,
            memory_kib=HELLO_RUN_LIMITS.memory_kib + runtime.extra_memory_mib * 1024,
            open_files=HELLO_RUN_LIMITS.open_files + runtime.extra_open_files,
        )
        started = time.monotonic()
        res = vm.run(
            runtime.run_command(main, 256), run_limits,
            stdout=scratch / "r.out", stderr=scratch / "r.err", readonly_binds=binds,
        )  # fmt: skip
        status.run_s = round(time.monotonic() - started, 3)
        if res.status is Status.XX:
            raise SandboxError(res.message)
        out = (scratch / "r.out").read_bytes()[:4096].decode(errors="replace").strip()
        if not res.ok:
            err = (scratch / "r.err").read_bytes()[-2000:].decode(errors="replace").strip()
            status.message = f"hello-world does not run ({res.message}): {err}"
        elif out != EXPECTED:
            status.message = f"hello-world printed {out[:200]!r}, not {EXPECTED!r}"
        else:
            status.ok = True
        return status
    finally:
        vm.destroy()
        shutil.rmtree(scratch, ignore_errors=True)


def cache_path() -> Path:
    root = os.environ.get("ASSAY_SANDBOX_ROOT", "/var/lib/assay/sandbox")
    return Path(root) / CACHE_NAME


def _read_cache(path: Path) -> dict[str, dict[str, object]]:
    try:
        doc = json.loads(path.read_text())
        return doc if isinstance(doc, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_cache(path: Path, doc: dict[str, dict[str, object]]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(doc, indent=1, sort_keys=True))
        os.replace(tmp, path)
    except OSError:
        pass  # a cache only


def verify_runtimes(
    host: Host,
    names: Iterable[str] | None = None,
    *,
    use_cache: bool = True,
    tick: Callable[[RuntimeStatus], None] | None = None,
    image: str | None = None,
) -> list[RuntimeStatus]:
    """Verify the named runtimes (default: all), on the host's system or in course image
    ``image``; a cached success is reused, a failure is not (on the host: a toolchain may be
    installed since), except in an image. The cache keys an image's runtimes by its version (a
    rebuilt image verifies again)."""
    from assay.sandbox.images import resolve

    image = image if image is not None else host.default_image
    found = resolve(image) if image is not None else None
    system_root = found.root if found is not None else None
    runtimes = all_runtimes()
    chosen = [runtimes[n] for n in names] if names is not None else list(runtimes.values())
    path = cache_path()
    cache = _read_cache(path) if use_cache else {}
    results = []
    changed = False  # a cache hit costs no write (every job's first check of its runtime)
    for runtime in chosen:
        debian = debian_versions(runtime, system_root)
        key = _key(runtime, debian + (f"\n{found.label}" if found else ""))
        entry = runtime.name + (f"@{found.name}" if found else "")
        hit = cache.get(entry)
        # an image never changes (a rebuilt one is another version): what failed in it fails
        # again, and is not tried at every tester start
        if hit and hit.get("key") == key and (debian or found is not None):
            status = RuntimeStatus(**{k: v for k, v in hit.items() if k != "key"})  # type: ignore[arg-type]
            status.cached = True
        else:
            status = verify_runtime(host, runtime, image)
            if status.ok or found is not None:
                cache[entry] = {**status.to_dict(), "key": key}
            else:
                cache.pop(entry, None)
            changed = True
        results.append(status)
        if tick:
            tick(status)
    if changed:
        _write_cache(path, cache)
    return results
