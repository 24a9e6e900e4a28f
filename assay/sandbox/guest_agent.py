"""The guest agent of the qemu backend: pid 1 of a guest, it runs commands for the tester.

This file is copied into the guest's disk image and run there by ``/usr/lib/assay/init`` with
the guest's python3; it uses only the standard library and imports nothing of assay. It talks to
the tester over a virtio-serial port (``/dev/virtio-ports/assay.agent``, or the port whose
sysfs name says so) with frames::

    4 bytes big-endian: length of the header | header: JSON object | payload: header["size"] bytes

A request's header has ``op``; the answer's has ``ok`` (true) or ``error`` with ``kind``
(``box``: a path the box does not allow or have; ``agent``: anything else). The operations:

``hello`` (sent by the agent once the port is open), ``setup`` (mount the box: a tmpfs of
``box_size_kib``), ``copy_in`` (files and directories, payload concatenated), ``write_file``,
``make_dir``, ``copy_out``, ``exists``, and ``run``: one command as the box user (uid 1000) in a
cgroup v2 of its own with the run's limits; the answer has the measurements and, as its payload,
the captured stdout and stderr.

The box belongs to the program between runs: it may hold symlinks to anywhere in the guest.
Every file operation walks it one directory descriptor at a time with O_NOFOLLOW.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import math
import os
import resource
import shutil
import signal
import stat
import struct
import sys
import time

BOX = "/box"
WORK = "/run/assay"  # the run's stdin, stdout and stderr files: out of the program's reach
CGROUP = "/sys/fs/cgroup"
PORT_NAME = "assay.agent"
BOX_UID = 1000
CPU_POLL_S = 0.02
SCAN_MAX_ENTRIES = 100_000
QUIESCE_FLOOR_KIB = 96 * 1024
ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": BOX, "LANG": "C.UTF-8", "TMPDIR": "/tmp"}
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
MS_NOSUID, MS_NODEV = 2, 4

_libc = ctypes.CDLL(None, use_errno=True)


class BoxError(Exception):
    """A path the box does not allow, or does not have as asked (the tester's error, not ours)."""


# -- the port -------------------------------------------------------------------------------


def find_port() -> str:
    """The virtio-serial port named ``assay.agent`` (udev is not running: sysfs tells)."""
    while True:
        with contextlib.suppress(OSError):
            for entry in os.listdir("/sys/class/virtio-ports"):
                with open(f"/sys/class/virtio-ports/{entry}/name") as f:
                    if f.read().strip() == PORT_NAME:
                        return f"/dev/{entry}"
        time.sleep(0.05)


class Channel:
    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)

    def read_exact(self, n: int) -> bytes:
        chunks, left = [], n
        while left:
            chunk = os.read(self.fd, min(left, 1 << 20))
            if not chunk:  # the host is not connected (yet, or any more): wait for it
                time.sleep(0.05)
                continue
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def receive(self) -> tuple[dict, bytes]:
        (length,) = struct.unpack(">I", self.read_exact(4))
        header = json.loads(self.read_exact(length))
        return header, self.read_exact(int(header.get("size", 0)))

    def send(self, header: dict, *payloads: bytes) -> None:
        header["size"] = sum(len(p) for p in payloads)
        data = json.dumps(header).encode()
        self.write_all(struct.pack(">I", len(data)) + data)
        for p in payloads:
            self.write_all(p)

    def write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view[: 1 << 20]) :]


# -- the box's files ----------------------------------------------------------------------


def parts_of(rel: str) -> list[str]:
    """The path's parts below the box; BoxError for one that leaves it."""
    full = os.path.normpath(os.path.join(BOX, rel))
    if full != BOX and not full.startswith(BOX + "/"):
        raise BoxError(f"path {rel!r} is outside the box")
    return [p for p in full[len(BOX) :].split("/") if p]


def lstat_at(dir_fd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def enter(dir_fd: int, name: str, *, create: bool) -> int:
    """Open subdirectory ``name``; with ``create`` a missing one is made and a symlink or file
    in its place is replaced (its target never touched); without, anything else is refused."""
    try:
        return os.open(name, DIR_FLAGS, dir_fd=dir_fd)
    except OSError:
        st = lstat_at(dir_fd, name)
        if st is not None and not create:
            raise BoxError(f"{name!r} in the box is a symlink or not a directory") from None
        if st is None and not create:
            raise BoxError(f"{name!r} is not in the box") from None
        if st is not None:
            os.unlink(name, dir_fd=dir_fd)
    os.mkdir(name, 0o755, dir_fd=dir_fd)
    os.chown(name, BOX_UID, BOX_UID, dir_fd=dir_fd, follow_symlinks=False)
    return os.open(name, DIR_FLAGS, dir_fd=dir_fd)


@contextlib.contextmanager
def open_parent(parts: list[str], *, create: bool):
    """Yield (descriptor of the directory that holds the last part, last part or '')."""
    fd = os.open(BOX, DIR_FLAGS)
    try:
        for part in parts[:-1]:
            sub = enter(fd, part, create=create)
            os.close(fd)
            fd = sub
        yield fd, (parts[-1] if parts else "")
    finally:
        os.close(fd)


def write_at(dir_fd: int, name: str, data: bytes | memoryview, mode: int) -> None:
    st = lstat_at(dir_fd, name)
    if st is not None and stat.S_ISDIR(st.st_mode):
        shutil.rmtree(name, dir_fd=dir_fd)
    elif st is not None and not stat.S_ISREG(st.st_mode):
        os.unlink(name, dir_fd=dir_fd)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    fd = os.open(name, flags, mode & 0o7777, dir_fd=dir_fd)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise BoxError(f"{name!r} in the box changed while it was written")
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fchmod(fd, mode & 0o777)
        os.fchown(fd, BOX_UID, BOX_UID)
    finally:
        os.close(fd)


def remove_at(dir_fd: int, name: str) -> None:
    st = lstat_at(dir_fd, name)
    if st is None:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(name, dir_fd=dir_fd)  # never follows symlinks
    else:
        os.unlink(name, dir_fd=dir_fd)


def is_dir_at(parts: list[str]) -> bool:
    try:
        with open_parent(parts, create=False) as (dir_fd, last):
            st = lstat_at(dir_fd, last) if last else os.fstat(dir_fd)
            return st is not None and stat.S_ISDIR(st.st_mode)
    except (OSError, BoxError):
        return False


def make_dir_at(parts: list[str]) -> None:
    with open_parent(parts, create=True) as (dir_fd, last):
        if last:
            os.close(enter(dir_fd, last, create=True))


def op_copy_in(req: dict, payload: bytes) -> dict:
    """Place a host file or directory as bwrap's copy_in would: into the box (dest '.'), a
    file into an existing directory ``dest``, else as ``dest``. ``entries`` are
    [path below the target ('' for a file source), "dir" or "file", mode, size], the files'
    contents concatenated in the payload."""
    parts = parts_of(req["dest"])
    is_dir = req["is_dir"]
    if not parts:
        target = [] if is_dir else [req["name"]]
    elif not is_dir and is_dir_at(parts):
        target = [*parts, req["name"]]
    else:
        target = parts
    if is_dir:
        make_dir_at(target)
    view, offset = memoryview(payload), 0
    for path, kind, mode, size in req["entries"]:
        below = [p for p in path.split("/") if p]
        if any(p in ("..", ".") for p in below):
            raise BoxError(f"entry {path!r} leaves the box")
        if kind == "dir":
            make_dir_at([*target, *below])
            continue
        with open_parent([*target, *below], create=True) as (dir_fd, last):
            if not last:
                raise BoxError("a file cannot replace the box itself")
            write_at(dir_fd, last, view[offset : offset + size], mode)
        offset += size
    return {"ok": True}


def op_write_file(req: dict, payload: bytes) -> dict:
    with open_parent(parts_of(req["path"]), create=True) as (dir_fd, last):
        if not last:
            raise BoxError(f"{req['path']!r} is the box itself")
        write_at(dir_fd, last, payload, req.get("mode", 0o644))
    return {"ok": True}


def op_make_dir(req: dict, payload: bytes) -> dict:
    parts = parts_of(req["path"])
    with open_parent(parts, create=True) as (dir_fd, last):
        if not last:
            if req.get("empty"):
                for entry in os.listdir(dir_fd):
                    remove_at(dir_fd, entry)
            return {"ok": True}
        if req.get("empty"):
            remove_at(dir_fd, last)
        os.close(enter(dir_fd, last, create=True))
    return {"ok": True}


def op_copy_out(req: dict, payload: bytes) -> tuple[dict, bytes]:
    try:
        with open_parent(parts_of(req["path"]), create=False) as (dir_fd, last):
            if not last:
                raise BoxError("the box itself is not a file")
            flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
            fd = os.open(last, flags, dir_fd=dir_fd)
    except OSError as e:
        raise BoxError(f"{req['path']}: {e.strerror or e} in the box") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise BoxError(f"{req['path']} in the box is not a regular file")
    with os.fdopen(fd, "rb") as f:
        max_bytes = req.get("max_bytes")
        data = f.read(max_bytes if max_bytes is not None else -1)
    return {"ok": True}, data


def op_exists(req: dict, payload: bytes) -> dict:
    try:
        with open_parent(parts_of(req["path"]), create=False) as (dir_fd, last):
            return {"ok": True, "exists": not last or lstat_at(dir_fd, last) is not None}
    except (OSError, BoxError):
        return {"ok": True, "exists": False}


def op_setup(req: dict, payload: bytes) -> dict:
    """Mount the box: a tmpfs of the VM's size, owned by the box user."""
    size_kib = int(req["box_size_kib"])
    inodes = max(4096, size_kib // 4)
    data = f"size={size_kib}k,nr_inodes={inodes},mode=0700,uid={BOX_UID},gid={BOX_UID}"
    if _libc.mount(b"tmpfs", BOX.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, data.encode()) != 0:
        raise OSError(ctypes.get_errno(), "cannot mount the box")
    return {"ok": True}


def mem_free_kib() -> int:
    with open("/proc/meminfo") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("MemFree:"))


def op_quiesce(req: dict, payload: bytes) -> dict:
    """Before the tester saves this guest: drop the page cache and zero the free memory, so
    that the saved state holds only what is in use (qemu saves a zero page as a flag). Memory
    is taken 16 MiB at a time, all held until the end (a page given back could be taken again),
    and never below QUIESCE_FLOOR_KIB free: the kernel must not run out (the agent is the one
    process it may not kill)."""
    import mmap

    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3")
    held, chunk = [], 16 << 20
    while mem_free_kib() > QUIESCE_FLOOR_KIB:
        area = mmap.mmap(-1, chunk, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        area.write(bytes(chunk))  # every page faulted in: zeroed by the kernel
        held.append(area)
    for area in held:
        area.close()
    return {"ok": True, "zeroed_kib": len(held) * chunk // 1024}


# -- runs -----------------------------------------------------------------------------------


def cgroup_read(group: str, name: str) -> str:
    try:
        with open(f"{group}/{name}") as f:
            return f.read()
    except OSError:
        return ""


def cgroup_cpu_s(group: str) -> float:
    for line in cgroup_read(group, "cpu.stat").splitlines():
        key, _, value = line.partition(" ")
        if key == "usage_usec":
            return int(value) / 1e6
    return 0.0


def cgroup_kill(group: str) -> None:
    with contextlib.suppress(OSError), open(f"{group}/cgroup.kill", "w") as f:
        f.write("1")


def memory_stall_s(group: str) -> float:
    """Seconds during which every process of the group waited for memory (PSI "full")."""
    for line in cgroup_read(group, "memory.pressure").splitlines():
        if line.startswith("full "):
            return int(line.rsplit("total=", 1)[1]) / 1e6
    return 0.0


class ThrashWatch:
    """Tells a program stuck at its memory limit. Without swap, the kernel's out-of-memory
    killer comes only when reclaim makes no progress, and dropping the program's own code and
    libraries from the page cache (to read them again from the disk) counts as progress: an
    emulated guest can spend many seconds so before the kill. A program at its limit that has
    been stalled on memory for most of WINDOW_S is judged as over it."""

    WINDOW_S = 0.5
    STALLED = 0.5  # of the window

    def __init__(self, group: str, limit_bytes: int) -> None:
        self.group = group
        self.limit_bytes = limit_bytes
        self.samples: list[tuple[float, float]] = []

    def thrashing(self, now: float) -> bool:
        self.samples.append((now, memory_stall_s(self.group)))
        while len(self.samples) > 2 and now - self.samples[1][0] >= self.WINDOW_S:
            self.samples.pop(0)
        first_t, first_stall = self.samples[0]
        if now - first_t < self.WINDOW_S:
            return False
        if self.samples[-1][1] - first_stall < self.STALLED * (now - first_t):
            return False
        current = int(cgroup_read(self.group, "memory.current") or 0)
        return current >= 0.9 * self.limit_bytes


def reap_all() -> dict[int, tuple[int, float]]:
    """Reap every child that has ended (the agent is pid 1: orphans are ours)."""
    ended: dict[int, tuple[int, float]] = {}
    while True:
        try:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return ended
        if pid == 0:
            return ended
        ended[pid] = (status, usage.ru_utime + usage.ru_stime)


def oversized_file(limit_bytes: int, since_ns: int) -> str | None:
    """A regular file of the box over ``limit_bytes`` changed during the run, if any."""
    seen, stack = 0, [""]
    while stack and seen < SCAN_MAX_ENTRIES:
        rel = stack.pop()
        try:
            with os.scandir(os.path.join(BOX, rel)) as it:
                for entry in it:
                    seen += 1
                    st = entry.stat(follow_symlinks=False)
                    name = f"{rel}/{entry.name}" if rel else entry.name
                    if stat.S_ISDIR(st.st_mode):
                        stack.append(name)
                    elif (
                        stat.S_ISREG(st.st_mode)
                        and st.st_size > limit_bytes
                        and st.st_ctime_ns > since_ns
                    ):
                        return name
        except OSError:
            continue
    return None


RUNS = [0]


def op_run(req: dict, payload: bytes) -> tuple[dict, bytes]:
    """Run one command with the limits; answer with what it did (the tester judges it)."""
    limits = req["limits"]
    RUNS[0] += 1
    group = f"{CGROUP}/run{RUNS[0]}"
    os.mkdir(group)
    try:
        return _run_in(group, req, payload, limits)
    finally:
        cgroup_kill(group)
        deadline = time.monotonic() + 5
        while "populated 1" in cgroup_read(group, "cgroup.events"):
            reap_all()
            if time.monotonic() > deadline:
                break
            time.sleep(0.005)
        reap_all()
        with contextlib.suppress(OSError):
            os.rmdir(group)


def _run_in(group: str, req: dict, payload: bytes, limits: dict) -> tuple[dict, bytes]:
    with open(f"{group}/memory.max", "w") as f:
        f.write(str(int(limits["memory_kib"]) * 1024))
    with contextlib.suppress(OSError), open(f"{group}/memory.swap.max", "w") as f:
        f.write("0")
    with open(f"{group}/pids.max", "w") as f:
        f.write(str(int(limits["processes"])))
    paths = {n: f"{WORK}/{n}" for n in ("stdin", "stdout", "stderr")}
    with open(paths["stdin"], "wb") as f:
        f.write(payload)
    fsize = max(int(limits["output_kib"]), int(limits["file_size_kib"])) * 1024 + 1
    cpu_backstop = math.ceil(float(limits["cpu_time_s"])) + 1
    nofile = max(int(limits["open_files"]), 8)
    procs_file = f"{group}/cgroup.procs"
    env = {**ENV, **(req.get("env") or {})}
    command = req["command"]
    stdin_fd = os.open(paths["stdin"], os.O_RDONLY | os.O_CLOEXEC)
    out_fds = [
        os.open(paths[n], os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        for n in ("stdout", "stderr")
    ]
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    started_files_ns = time.time_ns()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: join the group, limit itself, become the box user, exec
        try:
            os.setsid()
            with open(procs_file, "w") as f:
                f.write("0")
            for fd, target in ((stdin_fd, 0), (out_fds[0], 1), (out_fds[1], 2)):
                os.dup2(fd, target)
            for which, value in (
                (resource.RLIMIT_CPU, (cpu_backstop, cpu_backstop + 1)),
                (resource.RLIMIT_FSIZE, (fsize, fsize)),
                (resource.RLIMIT_NOFILE, (nofile, nofile)),
                (resource.RLIMIT_NPROC, (int(limits["processes"]) + 1,) * 2),
                (resource.RLIMIT_CORE, (0, 0)),
                (resource.RLIMIT_STACK, (resource.RLIM_INFINITY,) * 2),
                (resource.RLIMIT_MEMLOCK, (0, 0)),
                (resource.RLIMIT_MSGQUEUE, (0, 0)),
            ):
                resource.setrlimit(which, value)
            os.setgroups([])
            os.setresgid(BOX_UID, BOX_UID, BOX_UID)
            os.setresuid(BOX_UID, BOX_UID, BOX_UID)
            os.chdir(BOX)
            for sig in (
                signal.SIGPIPE,
                signal.SIGXFSZ,
                signal.SIGINT,
                signal.SIGTERM,
                signal.SIGHUP,
            ):
                signal.signal(sig, signal.SIG_DFL)
            os.execvpe(command[0], command, env)
        except BaseException as e:  # noqa: BLE001 - reported to the parent, then gone
            with contextlib.suppress(BaseException):
                os.write(err_w, f"{type(e).__name__}: {e}".encode()[:1000])
        os._exit(127)
    os.close(err_w)
    for fd in (stdin_fd, *out_fds):
        os.close(fd)
    exec_error = os.read(err_r, 1000).decode(errors="replace")  # empty: exec succeeded
    os.close(err_r)
    wall_limit = float(limits["wall_time_s"])
    cpu_limit = float(limits["cpu_time_s"])
    killed_for = None
    status = None
    thrash = ThrashWatch(group, int(limits["memory_kib"]) * 1024)
    while True:
        ended = reap_all()
        if pid in ended:
            status = ended[pid][0]
            break
        now = time.monotonic()
        if now - started >= wall_limit:
            killed_for = "wall time"
        elif cgroup_cpu_s(group) > cpu_limit:
            killed_for = "cpu time"
        elif thrash.thrashing(now):
            killed_for = "memory"
        if killed_for:
            cgroup_kill(group)
            while pid not in ended:
                time.sleep(0.002)
                ended = reap_all()
            status = ended[pid][0]
            break
        time.sleep(CPU_POLL_S)
    wall = time.monotonic() - started
    cgroup_kill(group)  # whatever the program left behind
    while "populated 1" in cgroup_read(group, "cgroup.events"):
        reap_all()
        time.sleep(0.002)
    events = dict(
        line.split(" ", 1) for line in cgroup_read(group, "memory.events").splitlines() if line
    )
    result = {
        "ok": True,
        "wait_status": status,
        "exec_error": exec_error or None,
        "cpu_time_s": cgroup_cpu_s(group),
        "wall_time_s": wall,
        "memory_kib": int(cgroup_read(group, "memory.peak") or 0) // 1024,
        "oom": int(events.get("oom_kill", "0")) > 0,
        "killed_for": killed_for,
        "oversized": None,
    }
    if status is not None and not killed_for:
        result["oversized"] = oversized_file(int(limits["file_size_kib"]) * 1024, started_files_ns)
    outputs = []
    for n in ("stdout", "stderr"):
        with open(paths[n], "rb") as f:
            outputs.append(f.read())
    if exec_error:
        outputs[1] += f"cannot run {command[0]}: {exec_error}\n".encode()
    result["stdout_size"] = len(outputs[0])
    return result, outputs[0] + outputs[1]


# -- the loop -------------------------------------------------------------------------------

OPS = {
    "ping": lambda req, payload: {"ok": True},
    "quiesce": op_quiesce,
    "setup": op_setup,
    "copy_in": op_copy_in,
    "write_file": op_write_file,
    "make_dir": op_make_dir,
    "copy_out": op_copy_out,
    "exists": op_exists,
    "run": op_run,
}


def prepare() -> None:
    """What init did not: the cgroup controllers for runs, the agent's own safety."""
    with open(f"{CGROUP}/cgroup.subtree_control", "w") as f:
        f.write("+memory +pids")
    with open("/proc/self/oom_score_adj", "w") as f:
        f.write("-1000")  # the guest's out-of-memory killer takes the program, never the agent
    os.makedirs(WORK, mode=0o700, exist_ok=True)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)


def serve() -> None:
    prepare()
    channel = Channel(find_port())
    channel.send({"ok": True, "op": "hello", "kernel": os.uname().release})
    while True:
        req, payload = channel.receive()
        handler = OPS.get(req.get("op", ""))
        answer: object
        try:
            if handler is None:
                raise BoxError(f"unknown operation {req.get('op')!r}")
            answer = handler(req, payload)
        except BoxError as e:
            answer = {"error": str(e), "kind": "box"}
        except Exception as e:  # noqa: BLE001 - the tester hears of every failure
            answer = {"error": f"{type(e).__name__}: {e}", "kind": "agent"}
        if isinstance(answer, tuple):
            channel.send(*answer)
        else:
            channel.send(answer)  # type: ignore[arg-type]


if __name__ == "__main__":
    try:
        serve()
    except BaseException as e:  # pid 1 must not return: say why, then power off
        print(f"assay agent: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        os.sync()
        _libc.reboot(0x4321FEDC)  # LINUX_REBOOT_CMD_POWER_OFF
        while True:
            time.sleep(3600)
