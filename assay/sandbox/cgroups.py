"""Control groups for the sandbox: one group per run, on cgroup v1 or v2, whichever the machine has.

A group gives the three things rlimits cannot: a memory limit over all processes together (with
the peak measured), a limit on processes and threads together, and the cpu time of every process
that ever ran in it. It also lets the sandbox kill everything the program left behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import time
from pathlib import Path

from .base import SandboxError

CGROUP_ROOT = Path("/sys/fs/cgroup")
V1_CONTROLLERS = ("memory", "pids", "cpuacct")


# plain system calls, not open(): a run reads and writes a dozen of these files, on its
# critical path


def _read(path: Path | str) -> str:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return os.read(fd, 65536).decode()
    finally:
        os.close(fd)


def _write(path: Path | str, value: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def _own_cgroups() -> dict[str, str]:
    """Map controller name ('' for the v2 hierarchy) to this process's cgroup path."""
    own: dict[str, str] = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for c in controllers.split(","):
            own[c] = path
    return own


def _v1_mounts() -> dict[str, Path]:
    mounts: dict[str, Path] = {}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        fields = right.split()
        if len(fields) < 3 or fields[0] != "cgroup":
            continue
        mount_point = Path(left.split()[4])
        for opt in fields[2].split(","):
            if opt in V1_CONTROLLERS:
                mounts[opt] = mount_point
    return mounts


class Cgroup:
    """One control group (in v1, one directory per controller)."""

    def __init__(self, version: int, dirs: dict[str, Path], *, swap_files: bool = True):
        self.version = version
        self.dirs = dirs  # controller -> directory; v2 has a single '' entry
        self._mem = dirs["memory"] if version == 1 else dirs[""]
        self._pids = dirs["pids"] if version == 1 else dirs[""]
        self._cpu = dirs["cpuacct"] if version == 1 else dirs[""]
        self._swap_files = swap_files  # memory.memsw.* (v1) or memory.swap.* (v2) exist

    @property
    def procs_files(self) -> list[str]:
        """The files a new process writes its pid into to join the group (all of them)."""
        return [str(d / "cgroup.procs") for d in dict.fromkeys(self.dirs.values())]

    def set_limits(self, memory_kib: int | None, pids: int | None) -> None:
        if self.version == 1:
            if memory_kib is not None:
                _write(f"{self._mem}/memory.limit_in_bytes", str(memory_kib * 1024))
                if self._swap_files:  # no swapping out of the limit either
                    _write(f"{self._mem}/memory.memsw.limit_in_bytes", str(memory_kib * 1024))
            if pids is not None:
                _write(f"{self._pids}/pids.max", str(pids))
        else:
            if memory_kib is not None:
                _write(f"{self._mem}/memory.max", str(memory_kib * 1024))
                if self._swap_files:
                    _write(f"{self._mem}/memory.swap.max", "0")
            if pids is not None:
                _write(f"{self._pids}/pids.max", str(pids))

    def cpu_time_s(self) -> float:
        try:
            if self.version == 1:
                return int(_read(f"{self._cpu}/cpuacct.usage")) / 1e9
            for line in _read(f"{self._cpu}/cpu.stat").splitlines():
                key, _, value = line.partition(" ")
                if key == "usage_usec":
                    return int(value) / 1e6
        except (OSError, ValueError):
            pass
        return 0.0

    def memory_peak_kib(self) -> int | None:
        name = "memory.max_usage_in_bytes" if self.version == 1 else "memory.peak"
        try:
            return int(_read(f"{self._mem}/{name}")) // 1024
        except (OSError, ValueError):
            return None

    def oom_killed(self) -> bool:
        """Did the kernel kill a process of this group for memory?"""
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        try:
            for line in _read(f"{self._mem}/{name}").splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value) > 0
            # old v1 kernels do not count kills: any failed charge then counts as one
            if self.version == 1:
                return int(_read(self._mem / "memory.failcnt")) > 0
        except (OSError, ValueError):
            pass
        return False

    def pids(self) -> list[int]:
        try:
            return [int(p) for p in _read(f"{self._pids}/cgroup.procs").split()]
        except OSError:
            return []

    def kill_all(self) -> None:
        """Kill every process in the group, including ones that fork while we kill."""
        kill_file = self._pids / "cgroup.kill"
        if self.version == 2 and kill_file.exists():
            with contextlib.suppress(OSError):
                _write(kill_file, "1")
        for _ in range(200):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.001)
        raise SandboxError(f"could not kill the processes of {self._pids}")

    def remove(self, *, kill: bool = True) -> None:
        """Remove the group, killing what is in it first (``kill=False``: the caller just did)."""
        if kill:
            self.kill_all()
        for d in dict.fromkeys(self.dirs.values()):
            for attempt in range(100):
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError as e:  # EBUSY while the last zombies are reaped
                    if e.errno != errno.EBUSY or attempt == 99:
                        raise SandboxError(f"cannot remove cgroup {d}: {e}") from e
                    time.sleep(0.002)


class CgroupDriver:
    """Creates groups below a base group of the tester's own."""

    def __init__(self) -> None:
        self.version, self.bases = self._find_bases()
        swap = "memory.memsw.limit_in_bytes" if self.version == 1 else "memory.swap.max"
        probe = self.create(f"probe-{os.getpid()}", swap_files=False)
        self.swap_files = (probe.dirs["memory" if self.version == 1 else ""] / swap).exists()
        probe.remove()

    def describe(self) -> str:
        where = ", ".join(str(p) for p in dict.fromkeys(self.bases.values()))
        return f"cgroup v{self.version} at {where}"

    def create(self, name: str, *, swap_files: bool | None = None) -> Cgroup:
        dirs: dict[str, Path] = {}
        try:
            for controller, base in self.bases.items():
                d = base / name
                try:
                    os.mkdir(d)
                except FileExistsError:  # left over from a crashed run with the same name
                    Cgroup(self.version, {**self.bases, controller: d}).remove()
                    os.mkdir(d)
                dirs[controller] = d
        except OSError as e:
            for d in dirs.values():
                with contextlib.suppress(OSError):
                    d.rmdir()
            raise SandboxError(f"cannot create cgroup {name}: {e}") from e
        if swap_files is None:
            swap_files = self.swap_files
        return Cgroup(self.version, dirs, swap_files=swap_files)

    @staticmethod
    def _find_bases() -> tuple[int, dict[str, Path]]:
        own = _own_cgroups()
        if (CGROUP_ROOT / "cgroup.controllers").exists():
            return 2, {"": _prepare_v2_base(CGROUP_ROOT / own.get("", "/").lstrip("/"))}
        mounts = _v1_mounts()
        missing = [c for c in V1_CONTROLLERS if c not in mounts]
        if missing:
            raise SandboxError(
                "no usable control groups: cgroup v2 is not mounted at /sys/fs/cgroup and the "
                f"cgroup v1 controllers {', '.join(missing)} are not mounted; mount them or run "
                "on a machine with cgroup v2"
            )
        bases: dict[str, Path] = {}
        for c in V1_CONTROLLERS:
            base = mounts[c] / own.get(c, "/").lstrip("/") / "assay"
            try:
                base.mkdir(parents=True, exist_ok=True)
                probe = base / f"probe-{os.getpid()}"
                probe.mkdir()
                probe.rmdir()
            except OSError as e:
                raise SandboxError(
                    f"cannot create control groups under {base}: {e.strerror}. The tester needs "
                    "to run as root, or in a cgroup delegated to its user"
                ) from e
            bases[c] = base
        return 1, bases


def _prepare_v2_base(own: Path) -> Path:
    """Return a group below which runs can be created with the memory and pids controllers.

    cgroup v2 forbids enabling controllers for the children of a group that has processes
    itself, so when the tester's group has processes, the tester moves itself into a leaf
    ``assay-tester`` first (as systemd's delegation model expects).
    """
    base = own / "assay"
    try:
        available = _read(own / "cgroup.controllers").split()
        needed = [c for c in ("memory", "pids", "cpu") if c in available]
        if "memory" not in needed or "pids" not in needed:
            raise SandboxError(
                f"cgroup v2 group {own} does not offer the memory and pids controllers "
                f"(it offers: {' '.join(available) or 'none'}); delegate them to the tester"
            )
        enable = " ".join("+" + c for c in needed)
        try:
            _write(own / "cgroup.subtree_control", enable)
        except OSError as e:
            if e.errno != errno.EBUSY:
                raise
            leaf = own / "assay-tester"
            leaf.mkdir(exist_ok=True)
            for pid in _read(own / "cgroup.procs").split():
                with contextlib.suppress(OSError):
                    _write(leaf / "cgroup.procs", pid)
            _write(own / "cgroup.subtree_control", enable)
        base.mkdir(exist_ok=True)
        _write(base / "cgroup.subtree_control", enable)
    except OSError as e:
        raise SandboxError(
            f"cannot set up cgroup v2 under {own}: {e.strerror}. The tester needs to run as root, "
            "or in a cgroup delegated to its user (systemd: Delegate=yes)"
        ) from e
    return base
