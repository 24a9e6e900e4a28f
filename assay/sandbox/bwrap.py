"""The default sandbox backend: bubblewrap namespaces + control groups + rlimits.

Each VM is a box: a private directory (a size-capped tmpfs when the tester is root) owned by a
uid of its own (``uid_base + box id``, as isolate does), so that no box can read another's files
and ``RLIMIT_NPROC`` counts only the box's processes. A run is::

    tester (root) ─fork─> child: join the run's cgroup, set rlimits, drop to the box uid
                          └─exec─> bwrap: new user, pid, net, ipc, uts, mount, cgroup namespaces;
                                   /usr and /etc read-only, /box read-write, fresh /proc /dev /tmp
                                   └─> the command (uid 1000 inside, no capabilities)

The tester polls the cgroup's cpu time while the command runs, kills the whole group on the cpu
or wall limit, and measures cpu time and peak memory from the cgroup.

bwrap is started with an empty environment and its options in a memfd (``--args``): its pid 1,
which the program can read through /proc/1, then shows neither the tester's environment nor
host paths. The tester's own file operations on a box (copy_in, write_file, make_dir, copy_out)
walk the box one directory descriptor at a time and never follow a symlink the program made.
See docs/security.md.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import math
import os
import resource
import select
import shutil
import signal as signals
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from . import images
from .base import VM, Host, Limits, Process, RunResult, SandboxError, Status, Stream, open_streams
from .cgroups import Cgroup, CgroupDriver

INSIDE_UID = 1000
BOX_PATH = "/box"
DEFAULT_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": BOX_PATH,
    "LANG": "C.UTF-8",
    "TMPDIR": "/tmp",
}
# cpu time is polled at this interval while a program runs; a short program never waits for it
CPU_POLL_S = 0.02
# what bwrap needs beyond the program's own processes: its outer process and its pid 1 (the
# command itself, forked by pid 1, is the program's first process)
BWRAP_PROCESSES = 2
SENSITIVE_ETC = ("/etc/assay",)  # tester configuration, if any, is masked inside boxes

_libc = ctypes.CDLL(None, use_errno=True)
MS_NOSUID, MS_NODEV = 2, 4
MNT_DETACH = 2
PR_SET_CHILD_SUBREAPER = 36
# files and directories a box may hold: one per 4 KiB of its size (empty files cost kernel memory
# that the box size does not count)
MIN_BOX_INODES = 4096
# the scan for a file over the size limit after a run stops after this many entries
SCAN_MAX_ENTRIES = 100_000
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def box_inodes(size_kib: int) -> int:
    return max(MIN_BOX_INODES, size_kib // 4)


def _mount_tmpfs(target: Path, size_kib: int, uid: int) -> None:
    data = (
        f"size={size_kib}k,nr_inodes={box_inodes(size_kib)},mode=0700,uid={uid},gid={uid}"
    ).encode()
    if _libc.mount(b"tmpfs", str(target).encode(), b"tmpfs", MS_NOSUID | MS_NODEV, data) != 0:
        e = ctypes.get_errno()
        raise SandboxError(f"cannot mount a tmpfs box at {target}: {os.strerror(e)}")


def _umount(target: Path) -> None:
    _libc.umount2(str(target).encode(), MNT_DETACH)


def system_dirs(root: Path | None = None) -> list[tuple[str, str, str]]:
    """The box's system: ``(kind, source, inside)`` with kind ``ro`` (a read-only bind of the
    source) or ``link`` (a symlink to the source), for /etc, /usr, and /bin, /sbin, /lib* as
    ``root`` (default: the host) has them."""
    base = str(root) if root is not None else ""
    found = [("ro", f"{base}/etc", "/etc"), ("ro", f"{base}/usr", "/usr")]
    for d in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        if os.path.islink(base + d):
            found.append(("link", os.readlink(base + d), d))
        elif os.path.isdir(base + d):
            found.append(("ro", base + d, d))
    if root is not None:  # an image's: every bound directory its own, none a way out
        for kind, source, inside in found:
            if kind == "ro" and (os.path.islink(source) or not images.inside_root(root, source)):
                raise SandboxError(
                    f"image root {root}: {inside} leads out of the image ({source} -> "
                    f"{os.path.realpath(source)}); rebuild the image"
                )
    return found


def masked_dirs(root: Path | None = None) -> list[str]:
    """SENSITIVE_ETC directories the box's /etc has (each hidden under an empty tmpfs)."""
    base = str(root) if root is not None else ""
    return [d for d in SENSITIVE_ETC if os.path.isdir(base + d)]


def _system_binds(root: Path | None = None) -> list[str]:
    """bwrap options for /usr read-only, with /bin, /sbin and /lib* as the host (or the image
    at ``root``) has them (not /etc: the caller binds it)."""
    args = []
    for kind, source, inside in system_dirs(root):
        if inside != "/etc":
            args += ["--symlink" if kind == "link" else "--ro-bind", source, inside]
    return args


def find_bwrap() -> str:
    path = shutil.which("bwrap")
    if not path:
        raise SandboxError(
            "bubblewrap is not installed (no 'bwrap' on PATH): install the Debian package "
            "'bubblewrap' (./setup.sh does)"
        )
    return path


class BwrapHost(Host):
    """Makes boxes below ``root``. Several tester processes may share one root safely."""

    name = "bwrap"

    def __init__(
        self,
        root: Path | None = None,
        *,
        uid_base: int = 60000,
        max_boxes: int = 1000,
    ) -> None:
        self.is_root = os.geteuid() == 0
        self.root = Path(root or _default_root(self.is_root))
        self.uid_base = uid_base
        self.max_boxes = max_boxes
        self.cgroups = CgroupDriver()
        self._become_subreaper()
        for d in (self.root, self.root / "locks", self.root / "boxes"):
            d.mkdir(parents=True, exist_ok=True)
            d.chmod(0o711)  # box uids must traverse to their own box, and list nothing
        self._prepare_backend()

    def _prepare_backend(self) -> None:
        """Find what runs the boxes and check that it works here (raises SandboxError)."""
        self.bwrap = find_bwrap()
        self._check_userns()

    def _check_userns(self) -> None:
        # the probe runs as the uid of a box whose lock it holds: whoever holds a box's lock
        # kills every process of its uid (at get_vm and destroy), and would kill the probe
        lock = self._lock_free_box() if self.is_root else None
        uid = self.uid_base + lock[0] if lock else self.uid_base
        status_r, status_w = os.pipe()
        try:
            probe = subprocess.run(
                # not --ro-bind / /: its recursive remount fails when a box is mounted or
                # unmounted meanwhile (other testers sharing the machine)
                [self.bwrap, "--unshare-all", *_system_binds()]
                + ["--json-status-fd", str(status_w), "--", "/bin/true"],
                capture_output=True,
                pass_fds=(status_w,),
                env={},
                preexec_fn=self._drop_to(uid) if self.is_root else None,
            )
        finally:
            os.close(status_w)
            if lock:
                lock[1].close()
        _reap(_read_all(status_r))
        if probe.returncode != 0:
            raise SandboxError(
                "bubblewrap cannot create namespaces here: "
                f"{probe.stderr.decode(errors='replace').strip() or probe.returncode}. Allow "
                "unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, "
                "user.max_user_namespaces>0)"
            )

    def _lock_free_box(self) -> tuple[int, IO[str]] | None:
        for box_id in range(self.max_boxes):
            lock = open(self.root / "locks" / f"{box_id}.lock", "w")  # noqa: SIM115
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                continue
            return box_id, lock
        return None

    def _drop_to(self, uid: int) -> Any:
        def drop() -> None:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)

        return drop

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "bwrap": self.bwrap,
            "cgroups": self.cgroups.describe(),
            "root": str(self.root),
            "box_uids": f"{self.uid_base}..{self.uid_base + self.max_boxes - 1}"
            if self.is_root
            else f"{os.geteuid()} (not root: boxes share the tester's uid, no box size cap)",
        }

    def _become_subreaper(self) -> None:
        """bwrap's outer process exits without reaping the namespace's pid 1; as a subreaper the
        tester inherits and reaps it, so no zombie of a box uid counts against RLIMIT_NPROC.
        The setting is not inherited across fork (a prefork tester's children): set it again in
        every process that runs boxes."""
        _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        self._subreaper_pid = os.getpid()

    def reap_orphans(self) -> int:
        """Reap the zombies of box uids this process inherited as a subreaper: what is left of
        the runs of a tester process that died (a killed pool process, a killed tester started
        from this one). Unreaped, they count against the box uid's RLIMIT_NPROC and every later
        run in that box fails to start. Only box-uid zombies are touched, never other children."""
        reaped = 0
        for pid, uid, _ in zombie_children():
            if self.uid_base <= uid < self.uid_base + self.max_boxes:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)
                    reaped += 1
        return reaped

    def get_vm(self, *, box_size_kib: int = 256 * 1024, image: str | None = None) -> BwrapVM:
        found_image = images.resolve(image) if image is not None else None
        if self._subreaper_pid != os.getpid():
            self._become_subreaper()
        self.reap_orphans()
        found = self._lock_free_box()
        if found is None:
            raise SandboxError(f"all {self.max_boxes} boxes under {self.root} are in use")
        box_id, lock = found
        try:
            vm = self._make_vm(box_id, lock, box_size_kib)
        except BaseException:
            lock.close()
            raise
        if found_image is not None:
            vm.system_root, vm.image = found_image.root, found_image.label
        return vm

    def _make_vm(self, box_id: int, lock: IO[str], box_size_kib: int) -> BwrapVM:
        return BwrapVM(self, box_id, lock, box_size_kib)


def zombie_children() -> Iterator[tuple[int, int, str]]:
    """(pid, uid, name) of this process's children that are zombies. Their pids come from
    /proc/self/task/*/children (a few reads), or from a scan of /proc where the kernel lacks
    that file."""
    try:
        pids = {
            int(pid)
            for task in os.scandir("/proc/self/task")
            for pid in Path(task.path, "children").read_text().split()
        }
    except OSError:
        pids = {int(e.name) for e in os.scandir("/proc") if e.name.isdigit()}
    me = os.getpid()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                line = f.read().decode(errors="replace")
            state, ppid = line.rsplit(")", 1)[1].split()[:2]
            if state != "Z" or int(ppid) != me:
                continue
            uid = os.stat(f"/proc/{pid}").st_uid
        except (OSError, ValueError):
            continue
        yield pid, uid, line[line.find("(") + 1 : line.rfind(")")]


def _default_root(is_root: bool) -> Path:
    env = os.environ.get("ASSAY_SANDBOX_ROOT")
    if env:
        return Path(env)
    if is_root:
        return Path("/var/lib/assay/sandbox")
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "assay" / "sandbox"


class BwrapVM(VM):
    box_path = BOX_PATH

    def __init__(self, host: BwrapHost, box_id: int, lock: IO[str], box_size_kib: int) -> None:
        self.host = host
        self.box_id = box_id
        self._lock = lock
        self.uid = host.uid_base + box_id if host.is_root else os.geteuid()
        self.box_size_kib = box_size_kib
        self.dir = host.root / "boxes" / str(box_id)
        self._runs = 0
        self._destroyed = False
        self._cleanup_leftovers()
        self.dir.mkdir(mode=0o700)
        if host.is_root:
            _mount_tmpfs(self.dir, box_size_kib, self.uid)

    @property
    def inside_uid(self) -> int:
        """The uid the programs see (bwrap maps the box uid to this one)."""
        return INSIDE_UID

    def _cleanup_leftovers(self) -> None:
        """A crashed tester may have left this box behind: its processes, its mount, its files."""
        if self.host.is_root:
            self._kill_uid_processes()
        if self.dir.exists() or self.dir.is_symlink():
            if self.host.is_root:
                _umount(self.dir)
            shutil.rmtree(self.dir, ignore_errors=True)

    def _kill_uid_processes(self) -> None:
        """Kill any process running as this box's uid (none should outlive a run)."""
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                if entry.stat().st_uid == self.uid:
                    os.kill(int(entry.name), signals.SIGKILL)

    # -- files ---------------------------------------------------------------------------
    # The box is the program's: between runs it may hold symlinks to anywhere on the host, fifos
    # or files where the tester expects directories. The tester works on it as root, so every
    # operation walks the box one directory descriptor at a time with O_NOFOLLOW: a symlink is
    # never followed (reading through one is refused; writing replaces the link itself).

    def _inside(self, rel: str) -> Path:
        p = Path(os.path.normpath(self.dir / rel))
        if p != self.dir and self.dir not in p.parents:
            raise SandboxError(f"path {rel!r} is outside the box")
        return p

    def _parts(self, rel: str) -> tuple[str, ...]:
        return self._inside(rel).relative_to(self.dir).parts

    @contextlib.contextmanager
    def _open_parent(self, rel: str, *, create: bool) -> Iterator[tuple[int, str]]:
        """Yield (descriptor of the directory holding ``rel``, last name; '' for the box)."""
        parts = self._parts(rel)
        fd = os.open(self.dir, _DIR_FLAGS)
        try:
            for part in parts[:-1]:
                sub = self._enter(fd, part, create=create)
                os.close(fd)
                fd = sub
            yield fd, (parts[-1] if parts else "")
        finally:
            os.close(fd)

    def _enter(self, dir_fd: int, name: str, *, create: bool) -> int:
        """Open the subdirectory ``name`` of ``dir_fd``. With ``create``, a missing
        directory is made, and a symlink in its place is replaced by a real directory (the link
        is removed, its target is never touched); otherwise a symlink is refused."""
        try:
            return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
        except OSError as e:
            st = self._lstat_at(dir_fd, name)
            if st is None and create:
                pass
            elif st is not None and stat.S_ISLNK(st.st_mode) and create:
                os.unlink(name, dir_fd=dir_fd)
            elif st is not None and not stat.S_ISDIR(st.st_mode):
                raise NotADirectoryError(
                    errno.ENOTDIR, f"{name!r} in the box is a symlink or not a directory"
                ) from e
            else:
                raise
        os.mkdir(name, 0o755, dir_fd=dir_fd)
        self._chown_at(dir_fd, name)
        return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)

    def _chown_at(self, dir_fd: int, name: str) -> None:
        if self.host.is_root:
            os.chown(name, self.uid, self.uid, dir_fd=dir_fd, follow_symlinks=False)

    def _lstat_at(self, dir_fd: int, name: str) -> os.stat_result | None:
        try:
            return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def _write_at(self, dir_fd: int, name: str, source: IO[bytes] | bytes, mode: int) -> None:
        """Create or replace the regular file ``name``; a symlink, fifo… there is replaced."""
        st = self._lstat_at(dir_fd, name)
        if st is not None and not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode):
            os.unlink(name, dir_fd=dir_fd)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_NONBLOCK
        fd = os.open(name, flags | os.O_CLOEXEC, mode, dir_fd=dir_fd)
        with os.fdopen(fd, "wb") as f:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise SandboxError(f"{name!r} in the box changed while it was written")
            if isinstance(source, bytes):
                f.write(source)
            else:
                shutil.copyfileobj(source, f)
            os.fchmod(fd, mode)
            if self.host.is_root:
                os.fchown(fd, self.uid, self.uid)

    def _copy_at(self, source: Path, dir_fd: int, name: str) -> None:
        if source.is_dir():
            sub = self._enter(dir_fd, name, create=True)
            try:
                for child in source.iterdir():
                    self._copy_at(child, sub, child.name)
            finally:
                os.close(sub)
        else:
            with open(source, "rb") as f:
                self._write_at(dir_fd, name, f, stat.S_IMODE(os.fstat(f.fileno()).st_mode))

    def copy_in(self, source: Path, dest: str = ".") -> None:
        with self._open_parent(dest, create=True) as (dir_fd, name):
            if not name:  # into the box itself
                if source.is_dir():
                    for child in source.iterdir():
                        self._copy_at(child, dir_fd, child.name)
                else:
                    self._copy_at(source, dir_fd, source.name)
                return
            st = self._lstat_at(dir_fd, name)
            if not source.is_dir() and st is not None and stat.S_ISDIR(st.st_mode):
                sub = self._enter(dir_fd, name, create=False)
                try:
                    self._copy_at(source, sub, source.name)
                finally:
                    os.close(sub)
                return
            self._copy_at(source, dir_fd, name)

    def write_file(self, rel: str, data: bytes, mode: int = 0o644) -> None:
        with self._open_parent(rel, create=True) as (dir_fd, name):
            if not name:
                raise IsADirectoryError(f"{rel!r} is the box itself")
            self._write_at(dir_fd, name, data, mode)

    def make_dir(self, dest: str, *, empty: bool = False) -> None:
        with self._open_parent(dest, create=True) as (dir_fd, name):
            if not name:  # the box itself
                if empty:
                    for entry in os.listdir(dir_fd):
                        self._remove_at(dir_fd, entry)
                return
            if empty:
                self._remove_at(dir_fd, name)
            os.close(self._enter(dir_fd, name, create=True))

    def _remove_at(self, dir_fd: int, name: str) -> None:
        st = self._lstat_at(dir_fd, name)
        if st is None:
            return
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(name, dir_fd=dir_fd)  # never follows symlinks
        else:
            os.unlink(name, dir_fd=dir_fd)

    def copy_out(self, source: str, dest: Path, max_bytes: int | None = None) -> None:
        """Copy a regular file out; a symlink (anywhere in the path), a device or a directory
        is refused with FileNotFoundError."""
        try:
            with self._open_parent(source, create=False) as (dir_fd, name):
                if not name:
                    raise IsADirectoryError(errno.EISDIR, "the box itself")
                fd = os.open(
                    name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                    dir_fd=dir_fd,
                )  # fmt: skip
        except OSError as e:
            raise FileNotFoundError(f"{source}: {e.strerror or e} in the box") from e
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise FileNotFoundError(f"{source} in the box is not a regular file")
            data = f.read(max_bytes if max_bytes is not None else -1)
        dest.write_bytes(data)

    def exists(self, rel: str) -> bool:
        """Is there anything (a symlink too) at ``rel``, without following symlinks?"""
        try:
            with self._open_parent(rel, create=False) as (dir_fd, name):
                return not name or self._lstat_at(dir_fd, name) is not None
        except OSError:
            return False

    def oversized_file(self, limit_bytes: int, since_ns: int) -> str | None:
        """A regular file of the box over ``limit_bytes`` changed after ``since_ns`` (its ctime),
        if any; the scan is bounded and never follows symlinks."""
        seen = 0
        stack = [""]
        while stack and seen < SCAN_MAX_ENTRIES:
            rel = stack.pop()
            try:
                with os.scandir(self.dir / rel) as it:
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

    # -- runs ----------------------------------------------------------------------------
    def bwrap_args(
        self, limits: Limits, env: dict[str, str] | None, readonly_binds: dict[str, Path] | None
    ) -> list[str]:
        args = [
            self.host.bwrap,
            "--unshare-all",
            "--unshare-user",
            "--disable-userns",
            "--die-with-parent",
            "--new-session",
            "--uid", str(INSIDE_UID),
            "--gid", str(INSIDE_UID),
            "--hostname", "box",
            "--ro-bind", str(self.system_root or "") + "/etc", "/etc",
            *_system_binds(self.system_root),
        ]  # fmt: skip
        for d in masked_dirs(self.system_root):
            args += ["--tmpfs", d]
        tmp_size = min(self.box_size_kib, max(limits.file_size_kib, 1024)) * 1024
        args += ["--proc", "/proc", "--dev", "/dev", "--size", str(tmp_size), "--tmpfs", "/tmp"]
        args += ["--bind", str(self.dir), BOX_PATH]
        for inside, host_path in (readonly_binds or {}).items():
            args += ["--ro-bind", str(host_path), inside]
        args += ["--chdir", BOX_PATH, "--clearenv"]
        for key, value in {**DEFAULT_ENV, **(env or {})}.items():
            args += ["--setenv", key, value]
        return args

    def _new_cgroup(self) -> Cgroup:
        self._runs += 1
        return self.host.cgroups.create(f"box{self.box_id}-{os.getpid()}-{self._runs}")

    def _run_cgroup(
        self, limits: Limits, extra_processes: int, cgroup: Cgroup | None = None
    ) -> Cgroup:
        """The next run's control group (a new one unless given), with the run's limits."""
        cgroup = cgroup or self._new_cgroup()
        try:
            cgroup.set_limits(limits.memory_kib, limits.processes + extra_processes)
        except OSError as e:
            cgroup.remove()
            raise SandboxError(f"cannot set cgroup limits: {e}") from e
        return cgroup

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
    ) -> BwrapProcess:
        if self._destroyed:
            raise SandboxError("the VM was destroyed")
        cgroup = self._run_cgroup(limits, BWRAP_PROCESSES)
        status_r, status_w = os.pipe()
        fds, opened = open_streams(stdin, stdout, stderr)
        procs_files = cgroup.procs_files
        uid = self.uid if self.host.is_root else None
        rlimits = _rlimits(limits)

        def prepare_child() -> None:
            # runs in the forked child, before exec: anything that fails here fails the run
            for pf in procs_files:
                with open(pf, "w") as f:
                    f.write(str(os.getpid()))
            for which, value in rlimits:
                resource.setrlimit(which, value)
            if uid is not None:
                os.setgroups([])
                os.setresgid(uid, uid, uid)
                os.setresuid(uid, uid, uid)

        # bwrap's options go through a memfd, not its argv: the program can read the argv of
        # bwrap's pid 1 in /proc/1/cmdline, and the options name host paths
        options = self.bwrap_args(limits, env, readonly_binds)
        args_fd = os.memfd_create("bwrap-args")
        os.write(args_fd, b"".join(os.fsencode(a) + b"\0" for a in options[1:]))
        os.lseek(args_fd, 0, os.SEEK_SET)
        args = [options[0], "--args", str(args_fd), "--json-status-fd", str(status_w)]
        args += ["--", *command]
        started = time.monotonic()
        started_files_ns = time.time_ns()
        try:
            popen = subprocess.Popen(
                args,
                stdin=fds[0],
                stdout=fds[1],
                stderr=fds[2],
                pass_fds=(status_w, args_fd),
                # bwrap's pid 1 keeps the environment bwrap was started with (--clearenv only
                # clears the command's), and the program can read it in /proc/1/environ
                env={},
                preexec_fn=prepare_child,
            )
        except (OSError, subprocess.SubprocessError) as e:
            cgroup.remove()
            raise SandboxError(f"cannot start bwrap: {e}") from e
        finally:
            os.close(status_w)
            os.close(args_fd)
            for f in opened:
                f.close()
        process = BwrapProcess(self, popen, cgroup, limits, started, status_r, stdout, stderr)
        process.started_files_ns = started_files_ns
        return process

    def destroy(self) -> None:
        if self._destroyed:
            return
        self._destroyed = True
        try:
            if self.host.is_root:
                self._kill_uid_processes()
                _umount(self.dir)
            shutil.rmtree(self.dir, ignore_errors=True)
        finally:
            self._lock.close()


def _rlimits(
    limits: Limits, extra_processes: int = BWRAP_PROCESSES
) -> list[tuple[int, tuple[int, int]]]:
    inf = resource.RLIM_INFINITY
    cpu = math.ceil(limits.cpu_time_s) + 1  # a backstop: the tester kills on the exact limit
    fsize = max(limits.output_kib, limits.file_size_kib) * 1024 + 1
    return [
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        (resource.RLIMIT_FSIZE, (fsize, fsize)),
        (resource.RLIMIT_NOFILE, (max(limits.open_files, 8),) * 2),
        (resource.RLIMIT_NPROC, (limits.processes + extra_processes,) * 2),
        (resource.RLIMIT_CORE, (0, 0)),
        (resource.RLIMIT_STACK, (inf, inf)),  # stack use counts against the memory limit
        (resource.RLIMIT_MEMLOCK, (0, 0)),
        (resource.RLIMIT_MSGQUEUE, (0, 0)),
    ]


class BwrapProcess(Process):
    def __init__(
        self,
        vm: BwrapVM,
        popen: subprocess.Popen[bytes],
        cgroup: Any,
        limits: Limits,
        started: float,
        status_fd: int,
        stdout: Stream,
        stderr: Stream,
    ) -> None:
        self.vm = vm
        self.popen = popen
        self.cgroup = cgroup
        self.limits = limits
        self.started = started
        self.status_fd = status_fd
        self.stdout = stdout
        self.stderr = stderr
        self._killed_for: str | None = None
        self._result: RunResult | None = None
        # files of the box changed after this were written by this run (a file written before
        # has an older ctime, on the kernel's coarse or fine clock alike)
        self.started_files_ns = time.time_ns()

    def kill(self) -> None:
        with contextlib.suppress(SandboxError):
            self.cgroup.kill_all()

    def _over_limit(self, wall_deadline: float) -> bool:
        """Has the run passed its wall or cpu time limit? (Notes which, for the verdict.)"""
        if time.monotonic() >= wall_deadline:
            self._killed_for = "wall time"
        elif self.cgroup.cpu_time_s() > self.limits.cpu_time_s:
            self._killed_for = "cpu time"
        return self._killed_for is not None

    def _watch(self) -> None:
        """Wait for the outer bwrap to exit, killing the group on the cpu or wall limit."""
        wall_deadline = self.started + self.limits.effective_wall_time_s
        pidfd = os.pidfd_open(self.popen.pid)
        try:
            poller = select.poll()
            poller.register(pidfd, select.POLLIN)
            while True:
                now = time.monotonic()
                timeout = min(wall_deadline - now, CPU_POLL_S)
                if timeout > 0 and poller.poll(timeout * 1000):
                    return
                if self._over_limit(wall_deadline):
                    self.kill()
                    return
        finally:
            os.close(pidfd)

    def wait(self) -> RunResult:
        if self._result is not None:
            return self._result
        try:
            self._watch()
            _, wait_status, _ = os.wait4(self.popen.pid, 0)
            wall = time.monotonic() - self.started
            self.popen.returncode = os.waitstatus_to_exitcode(wait_status)
            self.cgroup.kill_all()  # whatever the program left behind
            status_lines = _read_all(self.status_fd)
            self.status_fd = -1
            self._reap(status_lines, wait_status)
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
        self._result = self._judge(wait_status, cpu, wall, oom, memory, status_lines)
        if self._result.status in (Status.OK, Status.RE, Status.SG):
            self._check_file_sizes(self._result)
        return self._result

    def _check_file_sizes(self, result: RunResult) -> None:
        """A program that ignores SIGXFSZ (every Python program does) gets EFBIG instead of
        being killed; a file over the limit left in the box still makes the run OL."""
        limit = self.limits.file_size_kib * 1024
        try:
            name = self.vm.oversized_file(limit, self.started_files_ns)
        except OSError:
            return
        if name is not None:
            result.status = Status.OL
            result.message = f"file size limit exceeded ({name} in the box)"

    def _judge(
        self,
        wait_status: int,
        cpu: float,
        wall: float,
        oom: bool,
        memory: int,
        status_lines: str,
    ) -> RunResult:
        if "child-pid" not in status_lines:
            # bwrap failed before it could start the command: the sandbox's fault
            if self._killed_for:
                message = f"bwrap did not start within the {self._killed_for} limit"
            else:
                message = "bwrap failed: " + _head(self.stderr)
            return RunResult(Status.XX, cpu_time_s=cpu, wall_time_s=wall, memory_kib=memory,
                             message=message)  # fmt: skip
        return self._verdict(_bwrap_exit_code(status_lines, wait_status), cpu, wall, oom, memory)

    def _reap(self, status_lines: str, wait_status: int) -> None:
        _reap(status_lines)

    def _verdict(self, code: int, cpu: float, wall: float, oom: bool, memory: int) -> RunResult:
        """The run's status from the command's exit code (128 + N for signal N) and what the
        cgroup measured."""
        # cpu time and peak memory are the control group's: every process of the run together,
        # as the limits count them (rusage would miss processes the box's pid 1 never reaped)
        result = RunResult(Status.OK, cpu_time_s=cpu, wall_time_s=wall, memory_kib=memory)
        if 128 < code < 128 + 65:  # bwrap reports a signal N as 128 + N, like a shell
            result.signal = code - 128
        else:
            result.exit_code = code
        sig = result.signal
        limits = self.limits
        if self._killed_for:
            result.status = Status.TO
            result.message = f"{self._killed_for} limit exceeded"
        elif result.cpu_time_s > limits.cpu_time_s or sig == signals.SIGXCPU:
            result.status = Status.TO
            result.message = "cpu time limit exceeded"
        elif oom:
            result.status = Status.ML
            result.message = "memory limit exceeded"
        elif (
            sig == signals.SIGXFSZ or _too_big(self.stdout, limits) or _too_big(self.stderr, limits)
        ):
            result.status = Status.OL
            result.message = "output limit exceeded"
        elif sig is not None:
            result.status = Status.SG
            result.message = f"killed by signal {sig} ({_signal_name(sig)})"
        elif code != 0:
            result.status = Status.RE
            result.message = f"exit code {code}"
        return result


def _bwrap_exit_code(status_lines: str, wait_status: int) -> int:
    for line in status_lines.splitlines():
        with contextlib.suppress(ValueError):
            doc = json.loads(line)
            if "exit-code" in doc:
                return int(doc["exit-code"])
    code = os.waitstatus_to_exitcode(wait_status)
    return 128 - code if code < 0 else code


def _read_all(fd: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError as e:
            if e.errno == errno.EINTR:
                continue
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks).decode(errors="replace")


def _reap(status_lines: str) -> None:
    """Reap the namespace's pid 1, which bwrap leaves to its parent's reaper (us)."""
    for line in status_lines.splitlines():
        with contextlib.suppress(ValueError, TypeError):
            pid = json.loads(line).get("child-pid")
            if pid:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(int(pid), 0)


def _too_big(stream: Stream, limits: Limits) -> bool:
    if isinstance(stream, (str, Path)):
        try:
            return os.path.getsize(stream) > limits.output_kib * 1024
        except OSError:
            return False
    return False


def _head(stream: Stream, n: int = 2000) -> str:
    if isinstance(stream, (str, Path)):
        with contextlib.suppress(OSError), open(stream, "rb") as f:
            return f.read(n).decode(errors="replace").strip()
    return "(its message went to the program's stderr)"


def _signal_name(sig: int) -> str:
    try:
        return signals.Signals(sig).name
    except ValueError:
        return "unknown"
