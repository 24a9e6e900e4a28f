"""The sandbox contract: ``Host.get_vm() -> VM``; a VM runs untrusted commands with limits.

Every backend (bubblewrap today; a KVM pool or a machine over SSH later) implements this
interface and returns the same :class:`RunResult`. Two kinds of failure never mix:

* :class:`SandboxError` (status ``XX``) is a failure of the sandbox itself — the run did not
  happen as asked. Callers retry it or report it to an administrator; it is never a student's 0.
* ``RE``, ``SG``, ``TO``, ``ML``, ``OL`` are what the program inside did.
"""

from __future__ import annotations

import abc
import enum
import subprocess
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import IO, Any


class SandboxError(RuntimeError):
    """The sandbox could not do what was asked (not the program's fault)."""


class Status(enum.StrEnum):
    OK = "OK"  # exited with code 0 within every limit
    RE = "RE"  # exited with a non-zero code
    SG = "SG"  # killed by a signal (other than for a limit)
    TO = "TO"  # cpu time or wall time limit exceeded
    ML = "ML"  # memory limit exceeded
    OL = "OL"  # output or file size limit exceeded
    XX = "XX"  # sandbox error


@dataclass(frozen=True)
class Limits:
    """Limits of one run. ``None`` means "no limit of this kind" (only sensible for builds)."""

    cpu_time_s: float = 1.0
    wall_time_s: float | None = None  # default: 2 * cpu_time_s + 1
    memory_kib: int = 256 * 1024
    processes: int = 1  # processes + threads the program may have at once
    output_kib: int = 64 * 1024  # stdout + stderr, each
    file_size_kib: int = 64 * 1024  # any file the program writes
    open_files: int = 64

    @property
    def effective_wall_time_s(self) -> float:
        if self.wall_time_s is not None:
            return self.wall_time_s
        return 2 * self.cpu_time_s + 1.0

    def replace(self, **changes: Any) -> Limits:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RunResult:
    """What one run did, as measured by the sandbox. Units are in the names."""

    status: Status
    exit_code: int | None = None
    signal: int | None = None
    cpu_time_s: float = 0.0
    wall_time_s: float = 0.0
    memory_kib: int = 0  # peak memory of all the run's processes together (the cgroup's peak)
    message: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["status"] = str(self.status)
        d["cpu_time_s"] = round(self.cpu_time_s, 4)
        d["wall_time_s"] = round(self.wall_time_s, 4)
        if not d["extra"]:
            del d["extra"]
        return d


# What a run reads from and writes to: a host path, an open file, a raw descriptor, or nothing.
Stream = Path | str | int | IO[bytes] | None


class Process(abc.ABC):
    """A command started in a VM; ``wait()`` ends it and measures it."""

    @abc.abstractmethod
    def wait(self) -> RunResult: ...

    @abc.abstractmethod
    def kill(self) -> None: ...


class VM(abc.ABC):
    """A private box: files are copied in, commands run in it, files are copied out."""

    #: the path of the box as the programs inside see it
    box_path: str = "/box"
    #: the host directory whose /etc, /usr, /bin, /lib... the box sees (None: the host's own)
    system_root: Path | None = None
    #: the course image the VM runs on (``name@version``), if any
    image: str | None = None

    @abc.abstractmethod
    def copy_in(self, source: Path, dest: str = ".") -> None:
        """Copy a host file or directory into the box (``dest`` is relative to the box)."""

    @abc.abstractmethod
    def copy_out(self, source: str, dest: Path) -> None:
        """Copy a file out of the box, refusing anything that is not a regular file."""

    @abc.abstractmethod
    def write_file(self, dest: str, data: bytes, mode: int = 0o644) -> None:
        """Create or replace a file in the box."""

    @abc.abstractmethod
    def make_dir(self, dest: str, *, empty: bool = False) -> None:
        """Create a directory in the box (emptied first with ``empty``)."""

    @abc.abstractmethod
    def start(
        self,
        command: list[str],
        limits: Limits,
        *,
        stdin: Stream = None,
        stdout: Stream = None,
        stderr: Stream = None,
        env: dict[str, str] | None = None,
        readonly_binds: dict[str, Path] | None = None,
    ) -> Process:
        """Start ``command`` in the box. Paths in ``stdin``/``stdout``/``stderr`` are host paths."""

    def run(self, command: list[str], limits: Limits, **kwargs: Any) -> RunResult:
        return self.start(command, limits, **kwargs).wait()

    @abc.abstractmethod
    def destroy(self) -> None:
        """Kill whatever is left and remove the box. Safe to call twice."""

    def __enter__(self) -> VM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()


class Host(abc.ABC):
    """Makes VMs. One host per tester process."""

    name: str = "host"
    #: the course image of a VM that names none (the qemu backend's guest image), if any:
    #: runtimes are verified there, not on the tester's own system
    default_image: str | None = None

    @abc.abstractmethod
    def get_vm(self, *, box_size_kib: int = 256 * 1024, image: str | None = None) -> VM:
        """A fresh VM; with ``image``, the box's system is that course image's, not the
        host's (SandboxError if this machine does not have it)."""

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name}

    def reap_orphans(self) -> int:
        """Reap leftovers of dead runs that this process inherited (backend-specific)."""
        return 0


def open_stream(stream: Stream, mode: str) -> tuple[int | None, IO[bytes] | None]:
    """Turn a :data:`Stream` into a raw descriptor for the child; returns (fd, file-to-close)."""
    if stream is None:
        return None, None
    if isinstance(stream, int):
        return stream, None
    if isinstance(stream, (str, Path)):
        f = open(stream, mode)  # noqa: SIM115 - closed by the caller after the child starts
        return f.fileno(), f
    return stream.fileno(), None


def open_streams(
    stdin: Stream, stdout: Stream, stderr: Stream
) -> tuple[list[int], list[IO[bytes]]]:
    """Descriptors for a child's stdin, stdout and stderr (``subprocess.DEVNULL`` for None),
    and the files this opened, to close once the child has started."""
    fds: list[int] = []
    opened: list[IO[bytes]] = []
    for stream, mode in ((stdin, "rb"), (stdout, "wb"), (stderr, "wb")):
        fd, f = open_stream(stream, mode)
        fds.append(fd if fd is not None else subprocess.DEVNULL)
        if f is not None:
            opened.append(f)
    return fds, opened
