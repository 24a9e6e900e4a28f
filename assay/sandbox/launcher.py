"""The root tester's sandbox backend: a small C launcher instead of bubblewrap.

Boxes, box uids, cgroups and the tester's file operations are the bubblewrap backend's (this
module subclasses it); what differs is how commands start. ``launcher.c`` is compiled once per
machine (with the system's C compiler and libseccomp, by ``./setup.sh`` or on first use). Each
tester process starts one ``assay-launcher --serve``; each VM is a request to it (the box's
configuration, with descriptors attached), answered with a pidfd of the VM's launcher, whose
pid 1 stays for the VM's life and starts the VM's runs::

    tester (root) ─VM request─> the server ─fork─> a launcher: clone new mount, pid, ipc, uts,
                                                    net namespaces
                                                    └─> pid 1 (root, outside the runs' cgroups):
                                                        tmpfs root, binds, /proc, /dev, /tmp;
                                                        pivot_root; then, per run request:
    tester ─run request (the VM's socket)─────────────> fork (a fresh /tmp and IPC namespace)
                                                        └─> the command: born in the run's
                                                            cgroup, rlimits, box uid, no
                                                            capabilities, no_new_privs,
                                                            seccomp filter, exec

Compared with bubblewrap started through ``preexec_fn`` this saves Python's fork of the whole
tester (and any spawn or exec per run), bwrap's user namespace and its extra processes, and
every namespace and mount per run, and charges nothing of the set-up to the program's cgroup.
The status pipe tells a launcher failure (XX) from the program's own end. See
docs/performance.md and docs/security.md.
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
    BwrapHost,
    BwrapProcess,
    BwrapVM,
    _libc,
    _read_all,
    _rlimits,
    masked_dirs,
    system_dirs,
    zombie_children,
)
from .cgroups import Cgroup

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("launcher.c")
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

    def get_vm(self, *, box_size_kib: int = 256 * 1024, image: str | None = None) -> LauncherVM:
        vm = super().get_vm(box_size_kib=box_size_kib, image=image)
        assert isinstance(vm, LauncherVM)
        return vm

    def _make_vm(self, box_id: int, lock: IO[str], box_size_kib: int) -> LauncherVM:
        return LauncherVM(self, box_id, lock, box_size_kib)


class LauncherVM(BwrapVM):
    """A box whose pid 1 stays: started by the server on the first run (with that run's
    read-only binds), it sets the box's root up once and forks one command per run request
    sent over the VM's own socket. Each VM has its own mount, pid, ipc, uts and net
    namespaces; each run gets a fresh /tmp and IPC namespace, its own cgroup, and is killed
    with it."""

    host: LauncherHost

    def __init__(self, host: LauncherHost, box_id: int, lock: IO[str], box_size_kib: int) -> None:
        super().__init__(host, box_id, lock, box_size_kib)
        self._keeper: Launched | None = None  # the launcher whose pid 1 is this VM's
        self._keeper_pid = 0  # the tester process that started it
        self._keeper_binds: dict[str, Path] = {}
        self._keeper_server: LauncherServer
        self._ctrl: socket.socket | None = None
        self._send_lock = threading.Lock()
        # cgroups are made for the next run and removed after the last one while a program
        # runs: off the runs' critical path
        self._next_cgroup: Cgroup | None = None
        self._dead_cgroups: list[Cgroup] = []

    @property
    def inside_uid(self) -> int:
        return self.uid

    # -- the VM's pid 1 ---------------------------------------------------------------------

    def _vm_config(
        self,
        readonly_binds: dict[str, Path],
        tmp_size: int,
        number: dict[int, int],
        status_w: int,
        ctrl: int,
    ) -> bytes:
        words = ["status", str(number[status_w]), "vm", str(number[ctrl])]
        words += ["uid", str(self.uid), "gid", str(self.uid), "root", str(self.host.newroot)]
        words += ["tmp", str(tmp_size), "seccomp-bpf", str(number[self.host.seccomp_bpf])]
        for kind, source, inside in system_dirs(self.system_root):
            words += [kind, source, inside]
        words += ["rw", str(self.dir), BOX_PATH]
        for inside, host_path in readonly_binds.items():
            words += ["ro", str(host_path), inside]
        for d in masked_dirs(self.system_root):
            words += ["mask", d]
        return _encode(words)

    def _keeper_alive(self) -> bool:
        if self._keeper is None or self._ctrl is None or self._keeper_pid != os.getpid():
            return False
        if self._keeper_server.process.poll() is not None:  # its launcher dies with it
            return False
        return not select.select([self._keeper.pidfd], [], [], 0)[0]

    def _start_keeper(self, readonly_binds: dict[str, Path], tmp_size: int) -> None:
        """Start the VM's pid 1 and wait until its box is ready."""
        self._stop_keeper()
        status_r, status_w = os.pipe()
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            devnull = self.host.devnull
            extra = [status_w, self.host.seccomp_bpf, theirs.fileno()]
            number = {fd: SERVE_FD_BASE + i for i, fd in enumerate(extra)}
            config = self._vm_config(readonly_binds, tmp_size, number, status_w, theirs.fileno())
            server = self.host.server
            launched = server.launch(config, [devnull, devnull, devnull, *extra])
        except BaseException:
            mine.close()
            os.close(status_r)
            raise
        finally:
            os.close(status_w)
            theirs.close()
        lines = ""
        try:
            with os.fdopen(status_r, "rb") as status:
                deadline = time.monotonic() + VM_START_S
                while "ready" not in lines.split():
                    left = deadline - time.monotonic()
                    if left <= 0 or not select.select([status], [], [], left)[0]:
                        raise SandboxError("the sandbox launcher did not set the box up in time")
                    chunk = os.read(status.fileno(), 4096)
                    if not chunk:
                        errors = [ln[6:] for ln in lines.splitlines() if ln.startswith("error ")]
                        raise SandboxError(
                            "sandbox launcher failed: "
                            + ("; ".join(errors) or "it ended before its box was ready")
                        )
                    lines += chunk.decode(errors="replace")
        except SandboxError:
            _kill_launched(launched)
            mine.close()
            raise
        self._keeper, self._keeper_pid, self._keeper_server = launched, os.getpid(), server
        self._keeper_binds, self._ctrl = dict(readonly_binds), mine

    def _stop_keeper(self) -> None:
        """End the VM's pid 1 (and with it every process of the box)."""
        if self._ctrl is not None:
            self._ctrl.close()
            self._ctrl = None
        if self._keeper is not None:
            if self._keeper_pid == os.getpid():
                _kill_launched(self._keeper)
            else:  # a forked copy: the launcher is the parent process's
                os.close(self._keeper.pidfd)
            self._keeper = None

    def _send_run(
        self, config: bytes, fds: list[int], binds: dict[str, Path], tmp_size: int
    ) -> Launched:
        """Hand a run to the VM's pid 1 (started, or restarted once if it has gone)."""
        with self._send_lock:
            for attempt in (1, 2):
                if not self._keeper_alive() or binds != self._keeper_binds:
                    self._start_keeper(binds, tmp_size)
                assert self._ctrl is not None and self._keeper is not None
                try:
                    socket.send_fds(self._ctrl, [config], fds)
                    return self._keeper
                except OSError as e:
                    if attempt == 2:
                        raise SandboxError(f"the box's pid 1 is gone ({e})") from e
                    self._stop_keeper()
        raise AssertionError("unreachable")

    # -- runs -------------------------------------------------------------------------------

    def _tmp_size(self, limits: Limits) -> int:
        return min(self.box_size_kib, max(limits.file_size_kib, 1024)) * 1024

    def _config(
        self,
        command: list[str],
        limits: Limits,
        env: dict[str, str] | None,
        status_fd: int,
        cgroup_fds: list[int],
    ) -> bytes:
        """A run's request to pid 1. Descriptors are named by the numbers they get in the
        command (``status_fd`` and ``cgroup_fds`` already are)."""
        words = ["status", str(status_fd), "tmp", str(self._tmp_size(limits)), "cwd", BOX_PATH]
        kind = "cgroup-procs" if self.host.cgroups.version == 1 else "cgroup-dir"
        for fd in cgroup_fds:
            words += [kind, str(fd)]
        for which, (soft, hard) in _rlimits(limits, LAUNCHER_PROCESSES):
            words += ["rlimit", str(which), _rlim(soft), _rlim(hard)]
        for key, value in {**DEFAULT_ENV, **(env or {})}.items():
            words += ["env", f"{key}={value}"]
        words += ["command", str(len(command)), *command]
        return _encode(words)

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
            number = {fd: SERVE_FD_BASE + i for i, fd in enumerate([status_w, *cgroup_fds])}
            config = self._config(
                command, limits, env, number[status_w], [number[fd] for fd in cgroup_fds]
            )
            started = time.monotonic()
            started_files_ns = time.time_ns()
            keeper = self._send_run(
                config,
                [*stdio, status_w, *cgroup_fds],
                dict(readonly_binds or {}),
                self._tmp_size(limits),
            )
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
        process = LauncherProcess(self, keeper, cgroup, limits, started, status_r, stdout, stderr)
        process.started_files_ns = started_files_ns
        process.command = command
        self._tidy_cgroups()  # while the command starts
        return process

    def _run_cgroup(
        self, limits: Limits, extra_processes: int, cgroup: Cgroup | None = None
    ) -> Cgroup:
        cgroup, self._next_cgroup = cgroup or self._next_cgroup, None
        return super()._run_cgroup(limits, extra_processes, cgroup)

    def _tidy_cgroups(self, *, next_run: bool = True) -> None:
        """Remove the groups of ended runs, and make the next run's."""
        with contextlib.suppress(SandboxError):
            while self._dead_cgroups:
                self._dead_cgroups.pop().remove(kill=False)
            if next_run and self._next_cgroup is None:
                self._next_cgroup = self._new_cgroup()

    def restart(self) -> None:
        """End the VM's pid 1 (the next run starts a new one): after a run that would not die."""
        with self._send_lock:
            self._stop_keeper()

    def destroy(self) -> None:
        with self._send_lock:
            self._stop_keeper()
        if self._next_cgroup is not None:
            self._dead_cgroups.append(self._next_cgroup)
            self._next_cgroup = None
        self._tidy_cgroups(next_run=False)
        super().destroy()


def _encode(words: list[str]) -> bytes:
    for w in words:
        if "\0" in w:
            raise SandboxError(f"a NUL byte in the run's configuration: {w!r}")
    return b"".join(os.fsencode(w) + b"\0" for w in words)


def _kill_launched(launched: Launched) -> None:
    """Kill a launcher (its pid 1 and the box's processes die with it; the server reaps)."""
    with contextlib.suppress(ProcessLookupError, OSError):
        signals.pidfd_send_signal(launched.pidfd, signals.SIGKILL)
    os.close(launched.pidfd)
    launched.pidfd = -1


VM_START_S = 30.0  # setting a box up takes milliseconds; this only bounds a kernel hiccup


def _rlim(value: int) -> str:
    return "inf" if value == resource.RLIM_INFINITY or value < 0 else str(value)


KILL_WAIT_S = 5.0  # a killed launcher is gone at once; this only bounds a kernel hiccup
# a line on the status pipe that means the command has ended (or never ran): the run is over
FINAL_KEYS = ("exit", "signal", "exec", "error")


class LauncherProcess(BwrapProcess):
    """A run in a VM: over when the VM's pid 1 reports the command's end on the run's status
    pipe (or when pid 1 itself is gone: then the sandbox failed, XX)."""

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
            self.vm._dead_cgroups.append(self.cgroup)  # removed while the next run starts
        except SandboxError as e:
            self._result = RunResult(Status.XX, message=str(e))
            return self._result
        finally:
            if self.status_fd >= 0:
                os.close(self.status_fd)
                self.status_fd = -1
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
            if self._over_limit(wall_deadline):
                self.kill()
                while True:  # pid 1 reports the killed command's end at once
                    if not select.select([self.status_fd], [], [], KILL_WAIT_S)[0]:
                        self.vm.restart()  # it did not: the whole VM goes
                        return received.decode(errors="replace"), True
                    chunk = os.read(self.status_fd, 65536)
                    received += chunk
                    text = received.decode(errors="replace")
                    if not chunk or any(
                        line.split(" ", 1)[0] in FINAL_KEYS for line in text.splitlines()
                    ):
                        return text, not chunk

    def kill(self) -> None:
        """Kill the program's processes (its cgroup's); pid 1 then reports its end."""
        with contextlib.suppress(SandboxError):
            self.cgroup.kill_all()

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
