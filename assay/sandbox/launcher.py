"""The root tester's sandbox backend: a small C launcher instead of bubblewrap.

Boxes, box uids, cgroups and the tester's file operations are the bubblewrap backend's (this
module subclasses it); what differs is how a run starts. ``launcher.c`` is compiled once per
machine (with the system's C compiler and libseccomp, by ``./setup.sh`` or on first use). Each
tester process starts one ``assay-launcher --serve``; a run is a request to it over a socketpair
(the configuration, with the run's descriptors attached), answered with a pidfd::

    tester (root) ─request─> the server ─fork─> a launcher: enter the VM's net namespace, clone
                                                new mount, pid, ipc, uts namespaces
                                                └─> pid 1 (root, outside the run's cgroup):
                                                    tmpfs root, binds, /proc, /dev, /tmp;
                                                    pivot_root
                                                    └─> the command: born in the run's cgroup,
                                                        rlimits, box uid, no capabilities,
                                                        no_new_privs, seccomp filter, exec

Compared with bubblewrap started through ``preexec_fn`` this saves Python's fork of the whole
tester (and any spawn or exec per run), bwrap's user namespace and its extra processes, and a
net namespace per run (one per VM, entered with ``setns``), and charges nothing of the set-up
to the program's cgroup. The status
pipe tells a launcher failure (XX) from the program's own end. See docs/performance.md and
docs/security.md.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import hashlib
import logging
import os
import resource
import select
import shutil
import signal as signals
import socket
import struct
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .base import Limits, RunResult, SandboxError, Status, Stream, open_streams
from .bwrap import (
    BOX_PATH,
    CPU_POLL_S,
    DEFAULT_ENV,
    SENSITIVE_ETC,
    BwrapHost,
    BwrapProcess,
    BwrapVM,
    _libc,
    _read_all,
    _rlimits,
    zombie_children,
)

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("launcher.c")
CLONE_NEWNET = 0x40000000
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 1
MS_REMOUNT = 32
# the launcher's pid 1 sits outside the run's cgroup: the program gets exactly its own processes
LAUNCHER_PROCESSES = 0


def source_hash() -> str:
    return hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]


def build_launcher(directory: Path) -> Path:
    """The launcher binary for this source, compiled into ``directory`` if not there yet.

    ``ASSAY_LAUNCHER`` names a prebuilt binary instead. Statically linked where the C library
    allows it (each exec of a dynamic binary costs ~0.5 ms more on a virtual machine)."""
    prebuilt = os.environ.get("ASSAY_LAUNCHER")
    if prebuilt:
        if not os.access(prebuilt, os.X_OK):
            raise SandboxError(f"ASSAY_LAUNCHER={prebuilt} is not an executable file")
        return Path(prebuilt)
    target = directory / f"assay-launcher-{source_hash()}"
    if target.exists():
        return target
    compiler = shutil.which("cc") or shutil.which("gcc")
    if not compiler:
        raise SandboxError(
            "cannot build the sandbox launcher: no C compiler (cc) on PATH; install gcc and "
            "libseccomp-dev (./setup.sh does)"
        )
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    fd, tmp = tempfile.mkstemp(prefix=".build-", dir=directory)
    os.close(fd)
    errors = ""
    try:
        for static in (["-static"], []):
            done = subprocess.run(
                [compiler, "-O2", "-Wall", *static, "-o", tmp, str(SOURCE), "-lseccomp"],
                capture_output=True,
                text=True,
            )
            if done.returncode == 0:
                os.chmod(tmp, 0o700)
                os.replace(tmp, target)
                return target
            errors = done.stderr.strip()
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    hint = " (install libseccomp-dev: ./setup.sh does)" if "seccomp" in errors else ""
    raise SandboxError(f"cannot build the sandbox launcher{hint}: {errors[-2000:]}")


def favordynmods_state() -> str | None:
    """Which cgroup mount has the ``favordynmods`` option, if any (see enable_favordynmods)."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields = right.split()
            options = fields[2].split(",") + left.split()[5].split(",") if len(fields) >= 3 else []
            if fields and fields[0] in ("cgroup", "cgroup2") and "favordynmods" in options:
                return left.split()[4]
    return None


def enable_favordynmods(version: int, run_dir: Path) -> str:
    """Make moving a process into a cgroup cheap after idle gaps; returns what was done.

    By default the kernel's cgroup_threadgroup_rwsem is a per-cpu rwsem, and the first writer
    after a quiet spell waits for an RCU grace period: 5-11 ms added to a run that joins its
    cgroup after the previous run's program ran for 50 ms or more. The ``favordynmods`` mount
    option (kernel 6.0+) switches to a plain rwsem. On cgroup v2 the hierarchy is remounted with
    it; on v1 a tiny named hierarchy is mounted with it (kernels up to 6.17 keep the mode while
    it stays mounted; 6.18 keeps it until reboot). ``ASSAY_CGROUP_FAVORDYNMODS=0`` leaves the
    machine alone."""
    where = favordynmods_state()
    if where:
        return f"on ({where})"
    if os.environ.get("ASSAY_CGROUP_FAVORDYNMODS", "1") == "0":
        return "off (ASSAY_CGROUP_FAVORDYNMODS=0)"
    if version == 2:
        target, fstype, flags, data = "/sys/fs/cgroup", b"cgroup2", MS_REMOUNT, b"favordynmods"
    else:
        mount_point = run_dir / "cgroup-favordynmods"
        mount_point.mkdir(parents=True, exist_ok=True)
        target, fstype, flags, data = (
            str(mount_point),
            b"cgroup",
            0,
            b"none,name=assay,favordynmods",
        )
    if _libc.mount(b"cgroup", target.encode(), fstype, flags, data) != 0:
        e = ctypes.get_errno()
        return f"off (mounting {target} with favordynmods failed: {os.strerror(e)})"
    return f"on ({favordynmods_state() or target})"


def _new_netns() -> int:
    """A fresh network namespace, held by a descriptor: only a loopback device (up, as bwrap
    leaves it: a program may talk to itself), no route anywhere else."""
    result: dict[str, Any] = {}

    def make() -> None:  # in a thread of its own, which ends inside the new namespace
        if _libc.unshare(CLONE_NEWNET) != 0:
            result["error"] = os.strerror(ctypes.get_errno())
            return
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                request = struct.pack("16sH14x", b"lo", 0)
                flags = struct.unpack("16sH14x", fcntl.ioctl(s, SIOCGIFFLAGS, request))[1]
                fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))
        except OSError as e:
            result["error"] = f"cannot bring up its loopback: {e}"
            return
        result["fd"] = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)

    thread = threading.Thread(target=make, name="assay-netns")
    thread.start()
    thread.join()
    if "fd" not in result:
        raise SandboxError(f"cannot create a network namespace: {result.get('error')}")
    return int(result["fd"])


SERVE_FD_BASE = 10  # as in launcher.c: the descriptors after stdio land at 10, 11, ...


@dataclass
class Launched:
    """A launcher started by the server: not the tester's child, watched through its pidfd."""

    pid: int
    pidfd: int


class LauncherServer:
    """The tester process's ``assay-launcher --serve``: it forks a launcher per run, so a run
    costs neither a Python spawn nor an exec of the launcher. One per process (a prefork pool
    process starts its own); restarted once if it has gone."""

    def __init__(self, launcher: Path) -> None:
        self.launcher = launcher
        self.pid = os.getpid()
        self._lock = threading.Lock()
        self._start()

    def _start(self) -> None:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with theirs:
            self.process = subprocess.Popen(
                ["assay-launcher", "--serve", str(theirs.fileno()), str(os.getpid())],
                executable=self.launcher,
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                env={},
            )
        self.sock = mine

    def launch(self, config: bytes, fds: list[int]) -> Launched:
        """Start one run: ``fds`` are stdin, stdout, stderr, then what ``config`` names as
        SERVE_FD_BASE + i."""
        with self._lock:
            for attempt in (1, 2):
                try:
                    socket.send_fds(self.sock, [config], fds)
                    answer, got, _, _ = socket.recv_fds(self.sock, 4, 1)
                    if len(answer) == 4:
                        break
                    error = "the launcher server closed its socket"
                except OSError as e:
                    error = f"the launcher server is gone ({e})"
                self._restart()
                if attempt == 2:
                    raise SandboxError(error)
        pid = int.from_bytes(answer, "little", signed=True)
        if pid < 0 or not got:
            for fd in got:
                os.close(fd)
            raise SandboxError(f"the launcher server cannot start a run: {os.strerror(-pid)}")
        return Launched(pid, got[0])

    def _restart(self) -> None:
        self.close()
        self._start()

    def close(self) -> None:
        self.sock.close()
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            self.process.wait(timeout=5)


class LauncherHost(BwrapHost):
    """Boxes run by the C launcher; needs root. Several testers may share one root."""

    name = "launcher"

    def _prepare_backend(self) -> None:
        if not self.is_root:
            raise SandboxError("the launcher backend needs a root tester (use bwrap otherwise)")
        self.launcher = build_launcher(self.root / "bin")
        self.newroot = self.root / "newroot"  # a mount point, in each run's own mount namespace
        self.newroot.mkdir(exist_ok=True)
        self.newroot.chmod(0o755)
        self.favordynmods = enable_favordynmods(self.cgroups.version, self.root / "run")
        self.seccomp_bpf = self._compile_seccomp()
        self.devnull = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        self._server: LauncherServer | None = None
        with self.get_vm(box_size_kib=1024) as vm:
            probe = vm.run(["/bin/true"], Limits(cpu_time_s=5, processes=1))
        if probe.status is not Status.OK:
            raise SandboxError(f"the sandbox launcher does not work here: {probe.message}")

    def _compile_seccomp(self) -> int:
        """The seccomp filter compiled once, in a sealed memfd every run loads it from."""
        done = subprocess.run(
            ["assay-launcher", "--print-seccomp-filter"],
            executable=self.launcher,
            capture_output=True,
            env={},
        )
        if done.returncode != 0 or not done.stdout or len(done.stdout) % 8:
            raise SandboxError(
                f"the launcher cannot build its seccomp filter: {done.stderr.decode().strip()}"
            )
        fd = os.memfd_create("assay-seccomp", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        os.write(fd, done.stdout)
        seals = fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals)
        return fd

    @property
    def server(self) -> LauncherServer:
        """This process's launcher server (a forked tester process starts its own)."""
        if self._server is None or self._server.pid != os.getpid():
            self._server = LauncherServer(self.launcher)
        return self._server

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "launcher": str(self.launcher),
            "seccomp": "on (namespaces, mount, ptrace, bpf, perf, keys, io_uring, ... denied)",
            "cgroups": self.cgroups.describe(),
            "favordynmods": self.favordynmods,
            "network": "none (a network namespace per VM: its own loopback only)",
            "root": str(self.root),
            "box_uids": f"{self.uid_base}..{self.uid_base + self.max_boxes - 1}",
        }

    def reap_orphans(self) -> int:
        """Box-uid zombies (as bwrap's) and launchers whose tester process died."""
        reaped = super().reap_orphans()
        for pid, _, name in zombie_children():
            if name.startswith("assay-launcher"):
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)
                    reaped += 1
        return reaped

    def get_vm(self, *, box_size_kib: int = 256 * 1024) -> LauncherVM:
        vm = super().get_vm(box_size_kib=box_size_kib)
        assert isinstance(vm, LauncherVM)
        return vm

    def _make_vm(self, box_id: int, lock: IO[str], box_size_kib: int) -> LauncherVM:
        return LauncherVM(self, box_id, lock, box_size_kib)


class LauncherVM(BwrapVM):
    host: LauncherHost

    def __init__(self, host: LauncherHost, box_id: int, lock: IO[str], box_size_kib: int) -> None:
        super().__init__(host, box_id, lock, box_size_kib)
        try:
            self._netns: int | None = _new_netns()
        except SandboxError as e:  # a fresh namespace per run then, made by the launcher
            log.warning("%s; each run makes its own", e)
            self._netns = None

    @property
    def inside_uid(self) -> int:
        return self.uid

    def _config(
        self,
        command: list[str],
        limits: Limits,
        env: dict[str, str] | None,
        readonly_binds: dict[str, Path] | None,
        status_fd: int,
        cgroup_fds: list[int],
        number: dict[int, int],
    ) -> bytes:
        """The run's configuration. Descriptors are named by the numbers they have in the
        launcher: ``status_fd`` and ``cgroup_fds`` already are, ``number`` maps the host's
        (seccomp filter, net namespace)."""
        tmp_size = min(self.box_size_kib, max(limits.file_size_kib, 1024)) * 1024
        words = ["status", str(status_fd), "uid", str(self.uid), "gid", str(self.uid)]
        words += ["root", str(self.host.newroot), "tmp", str(tmp_size), "cwd", BOX_PATH]
        if self._netns is not None:
            words += ["netns", str(number[self._netns])]
        words += ["seccomp-bpf", str(number[self.host.seccomp_bpf])]
        kind = "cgroup-procs" if self.host.cgroups.version == 1 else "cgroup-dir"
        for fd in cgroup_fds:
            words += [kind, str(fd)]
        words += ["ro", "/etc", "/etc", "ro", "/usr", "/usr"]
        for d in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
            if os.path.islink(d):
                words += ["link", os.readlink(d), d]
            elif os.path.isdir(d):
                words += ["ro", d, d]
        words += ["rw", str(self.dir), BOX_PATH]
        for inside, host_path in (readonly_binds or {}).items():
            words += ["ro", str(host_path), inside]
        for d in SENSITIVE_ETC:
            if os.path.isdir(d):
                words += ["mask", d]
        for which, (soft, hard) in _rlimits(limits, LAUNCHER_PROCESSES):
            words += ["rlimit", str(which), _rlim(soft), _rlim(hard)]
        for key, value in {**DEFAULT_ENV, **(env or {})}.items():
            words += ["env", f"{key}={value}"]
        words += ["command", str(len(command)), *command]
        for w in words:
            if "\0" in w:
                raise SandboxError(f"a NUL byte in the run's configuration: {w!r}")
        return b"".join(os.fsencode(w) + b"\0" for w in words)

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
    ) -> LauncherProcess:
        if self._destroyed:
            raise SandboxError("the VM was destroyed")
        if not command:
            raise SandboxError("an empty command")
        cgroup = self._run_cgroup(limits, LAUNCHER_PROCESSES)
        to_close: list[int] = []
        opened: list[IO[bytes]] = []
        try:
            if cgroup.version == 1:
                for pf in cgroup.procs_files:
                    to_close.append(os.open(pf, os.O_WRONLY | os.O_CLOEXEC))
            else:
                to_close.append(
                    os.open(cgroup.dirs[""], os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                )
            cgroup_fds = list(to_close)
            status_r, status_w = os.pipe()
            to_close.append(status_w)
            fds, opened = open_streams(stdin, stdout, stderr)
            stdio = [self.host.devnull if fd == subprocess.DEVNULL else fd for fd in fds]
            extra = [status_w, *cgroup_fds, self.host.seccomp_bpf]
            if self._netns is not None:
                extra.append(self._netns)
            number = {fd: SERVE_FD_BASE + i for i, fd in enumerate(extra)}
            config = self._config(
                command, limits, env, readonly_binds, number[status_w],
                [number[fd] for fd in cgroup_fds], number,
            )  # fmt: skip
            started = time.monotonic()
            started_files_ns = time.time_ns()
            launched = self.host.server.launch(config, [*stdio, *extra])
        except (OSError, SandboxError) as e:
            with contextlib.suppress(SandboxError):
                cgroup.remove()
            if "status_r" in locals():
                os.close(status_r)
            raise (
                e
                if isinstance(e, SandboxError)
                else SandboxError(f"cannot start the launcher: {e}")
            ) from e
        finally:
            for fd in to_close:
                os.close(fd)
            for f in opened:
                f.close()
        process = LauncherProcess(self, launched, cgroup, limits, started, status_r, stdout, stderr)
        process.started_files_ns = started_files_ns
        process.command = command
        return process

    def destroy(self) -> None:
        if self._netns is not None:
            os.close(self._netns)
            self._netns = None
        super().destroy()


def _rlim(value: int) -> str:
    return "inf" if value == resource.RLIM_INFINITY or value < 0 else str(value)


KILL_WAIT_S = 5.0  # a killed launcher is gone at once; this only bounds a kernel hiccup
# a line on the status pipe that means the command has ended (or never ran): the run is over
FINAL_KEYS = ("exit", "signal", "exec", "error")


class LauncherProcess(BwrapProcess):
    """A run of the launcher. It is over when pid 1 reports the command's end on the status
    pipe: the tester does not wait for pid 1 and the launcher to exit (the kernel tears their
    namespaces down meanwhile, ~1.5 ms); the launcher is reaped later (``LauncherVM.reap``)."""

    vm: LauncherVM
    command: list[str]
    _exec_error: int | None = None

    def __init__(self, vm: LauncherVM, launched: Launched, *args: Any) -> None:
        super().__init__(vm, launched, *args)  # type: ignore[arg-type]
        self.launched = launched

    def wait(self) -> RunResult:
        if self._result is not None:
            return self._result
        try:
            lines, ended = self._watch_status()
            wall = time.monotonic() - self.started
            if ended:  # the launcher is gone: whatever it wrote last is in the pipe
                lines += _read_all(self.status_fd)
                self.status_fd = -1
            self.cgroup.kill_all()  # whatever the program left behind
            cpu = self.cgroup.cpu_time_s()
            oom = self.cgroup.oom_killed()
            memory = self.cgroup.memory_peak_kib() or 0
            self.cgroup.remove(kill=False)
        except SandboxError as e:
            self._result = RunResult(Status.XX, message=str(e))
            return self._result
        finally:
            if self.status_fd >= 0:
                os.close(self.status_fd)
                self.status_fd = -1
            if self.launched.pidfd >= 0:
                os.close(self.launched.pidfd)
                self.launched.pidfd = -1
        self._result = self._judge(0, cpu, wall, oom, memory, lines)
        if self._result.status in (Status.OK, Status.RE, Status.SG):
            self._check_file_sizes(self._result)
        return self._result

    def _watch_status(self) -> tuple[str, bool]:
        """Read the status pipe until the command's end is reported, killing the run on the cpu
        or wall limit. Returns (the lines read, whether the launcher itself has exited)."""
        wall_deadline = self.started + self.limits.effective_wall_time_s
        pidfd = self.launched.pidfd
        received = b""
        poller = select.poll()
        poller.register(self.status_fd, select.POLLIN)
        poller.register(pidfd, select.POLLIN)
        while True:
            timeout = min(wall_deadline - time.monotonic(), CPU_POLL_S)
            events = dict(poller.poll(timeout * 1000)) if timeout > 0 else {}
            if self.status_fd in events:
                chunk = os.read(self.status_fd, 65536)
                received += chunk
                text = received.decode(errors="replace")
                if any(line.split(" ", 1)[0] in FINAL_KEYS for line in text.splitlines()):
                    return text, False
                if not chunk:  # every writer is gone: the launcher has exited
                    return text, True
                continue
            if pidfd in events:
                return received.decode(errors="replace"), True
            if not self._over_limit(wall_deadline):
                continue
            self.kill()
            select.select([pidfd], [], [], KILL_WAIT_S)  # the launcher dies at once
            return received.decode(errors="replace"), True

    def kill(self) -> None:
        """Kill the program's processes, and the launcher: its pid 1 dies with it (parent-death
        signal) and takes anything left in the pid namespace along (the server reaps both)."""
        with contextlib.suppress(SandboxError):
            self.cgroup.kill_all()
        if self.launched.pidfd >= 0:
            with contextlib.suppress(ProcessLookupError):
                signals.pidfd_send_signal(self.launched.pidfd, signals.SIGKILL)

    def _command_end(self, status_lines: str, wait_status: int) -> int | str:
        """The command's exit code (128 + N for signal N), or why the sandbox failed."""
        errors: list[str] = []
        end: tuple[str, int] | None = None
        for line in status_lines.splitlines():
            key, _, value = line.partition(" ")
            if key == "error":
                errors.append(value)
            elif key in ("exit", "signal", "exec") and value.lstrip("-").isdigit():
                end = (key, int(value))
        if errors:
            return "sandbox launcher failed: " + "; ".join(errors)
        if end is None:
            if self._killed_for:  # the launcher was killed before its pid 1 could report
                return 128 + signals.SIGKILL
            return "the sandbox launcher ended without reporting the command's end"
        how, code = end
        if how == "signal":
            return 128 + code
        if how == "exec":
            self._exec_error = code
            return 127 if code == errno.ENOENT else 126
        return code

    def _judge(
        self,
        wait_status: int,
        cpu: float,
        wall: float,
        oom: bool,
        memory: int,
        status_lines: str,
    ) -> RunResult:
        self._exec_error = None
        end = self._command_end(status_lines, wait_status)
        if isinstance(end, str):
            return RunResult(Status.XX, cpu_time_s=cpu, wall_time_s=wall, memory_kib=memory,
                             message=end)  # fmt: skip
        result = self._verdict(end, cpu, wall, oom, memory)
        if self._exec_error is not None and result.status is Status.RE:
            result.message = (
                f"cannot execute {self.command[0]!r}: {os.strerror(self._exec_error)} "
                f"(exit code {end})"
            )
        return result
