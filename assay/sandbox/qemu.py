"""The qemu backend: each VM is a guest machine of its own (the seed's kvmVM).

For assignments that need root, kernel features or a whole operating system: the program
runs in a Linux guest booted from a kernel and a disk that ``assay image build NAME --guest``
makes from Debian packages (guest.py). A guest agent (guest_agent.py, the guest's pid 1) runs
each command as an unprivileged user in a cgroup of the guest, with the same limits, statuses
and measurements as the other backends; files go in and out through it. ::

    tester ── unix socket ── qemu (q35, 1 vCPU, no network) ── virtio-serial ── agent
                                                                              └─ run: cgroup,
                                                                                 rlimits, uid

KVM when /dev/kvm works (a probe boot tells, remembered per machine), software emulation (TCG)
otherwise; ``ASSAY_QEMU_ACCEL=kvm|tcg`` decides instead. A pool keeps guests ready so that a job
does not wait for a boot: the first guest of an image boots and is saved (qemu's migration to a
file: memory and devices, paused right after the agent said hello); every later guest is a new
qemu process restored from that clean state. A guest serves one VM and is killed with it: no
guest is used for two VMs, so nothing of one submission reaches another.

Settings: ``ASSAY_QEMU_IMAGE`` (the image of VMs that name none; default ``guest``),
``ASSAY_QEMU_POOL`` (guests kept ready, default 1), ``ASSAY_QEMU_MEMORY_MIB`` (each guest's
memory, default 1024), ``ASSAY_QEMU_SNAPSHOT=0`` (boot every guest instead of restoring one).
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import os
import signal as signals
import stat
import threading
import time
from pathlib import Path
from typing import Any

from . import images
from .base import VM, Host, Limits, Process, RunResult, SandboxError, Status, Stream
from .guest import (
    BoxError,
    Guest,
    GuestDied,
    GuestFiles,
    guest_files,
    qemu_binary,
    qemu_version,
    remove_stale_guests,
)

log = logging.getLogger(__name__)

DEFAULT_IMAGE = "guest"
BOX_PATH = "/box"
PROBE_TIMEOUT_S = 20.0  # a KVM guest that has not said hello by then will not (nested KVM)
BOOT_TIMEOUT_S = 240.0  # software emulation on a loaded machine
RUN_MARGIN_S = 60.0  # beyond a run's wall time limit, before the guest counts as lost


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise SandboxError(f"Unexpected value {name}={value!r}, use a whole number") from None


def _default_root() -> Path:
    env = os.environ.get("ASSAY_SANDBOX_ROOT")
    if env:
        return Path(env) / "qemu"
    if os.geteuid() == 0:
        return Path("/var/lib/assay/sandbox/qemu")
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "assay" / "qemu"


class QemuHost(Host):
    """Makes VMs that are qemu guests; one pool of ready guests per image."""

    name = "qemu"

    def __init__(
        self,
        root: Path | None = None,
        *,
        image: str | None = None,
        pool_size: int | None = None,
        memory_mib: int | None = None,
        snapshot: bool | None = None,
        accel: str | None = None,
    ) -> None:
        self.root = Path(root) / "qemu" if root is not None else _default_root()
        self.root.mkdir(parents=True, exist_ok=True)
        remove_stale_guests(self.root / "guests")
        self.binary = qemu_binary()
        self.version = qemu_version(self.binary)
        self.default_image: str = image or os.environ.get("ASSAY_QEMU_IMAGE") or DEFAULT_IMAGE
        self.pool_size = pool_size if pool_size is not None else _env_int("ASSAY_QEMU_POOL", 1)
        self.memory_mib = memory_mib or _env_int("ASSAY_QEMU_MEMORY_MIB", 1024)
        if snapshot is None:
            snapshot = os.environ.get("ASSAY_QEMU_SNAPSHOT", "1") not in ("0", "false", "no")
        self.snapshot = snapshot
        self._pools: dict[str, GuestPool] = {}
        self._lock = threading.Lock()
        files = self.files(self.default_image)  # fails now, with the way out, if missing
        self.accel, self.accel_reason = self._choose_accel(accel, files)

    # -- what runs the guests --
    def files(self, image: str) -> GuestFiles:
        try:
            return guest_files(images.resolve(image))
        except images.ImageError as e:
            raise SandboxError(
                f"{e}. The qemu backend boots a guest image: `assay image build {image} "
                "--guest` makes one (docs/deploy.md)"
            ) from None

    def _choose_accel(self, wanted: str | None, files: GuestFiles) -> tuple[str, str]:
        """KVM if it works here, else TCG; the verdict of a probe boot is remembered."""
        wanted = wanted or os.environ.get("ASSAY_QEMU_ACCEL") or None
        if wanted is not None:
            if wanted not in ("kvm", "tcg"):
                raise SandboxError(f"Unexpected value ASSAY_QEMU_ACCEL={wanted!r}, use kvm or tcg")
            return wanted, "chosen by ASSAY_QEMU_ACCEL"
        try:
            fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
            os.close(fd)
        except OSError as e:
            return "tcg", f"software emulation: /dev/kvm is not usable ({e.strerror})"
        cache = self.root / "accel.json"
        key = f"{self.version} {os.uname().release}"
        with contextlib.suppress(OSError, ValueError):
            doc = json.loads(cache.read_text())
            if doc.get("key") == key:
                return doc["accel"], doc["reason"] + " (remembered)"
        try:
            guest = Guest(files, "kvm", 256, self.root / "guests", binary=self.binary,
                          timeout_s=PROBE_TIMEOUT_S)  # fmt: skip
        except SandboxError as e:
            accel = "tcg"
            why = " ".join(str(e).split())  # qemu's own words, on one line
            reason = (f"software emulation: a KVM guest did not start within "
                      f"{PROBE_TIMEOUT_S:.0f} s ({why[:300]})")  # fmt: skip
        else:
            guest.kill()
            accel, reason = "kvm", f"KVM: a probe guest booted in {guest.ready_s:.1f} s"
        with contextlib.suppress(OSError):
            cache.write_text(json.dumps({"key": key, "accel": accel, "reason": reason}))
        return accel, reason

    def pool(self, image: str | None = None) -> GuestPool:
        name = image or self.default_image
        with self._lock:
            if name not in self._pools:
                size = self.pool_size if name == self.default_image else 0
                self._pools[name] = GuestPool(self, self.files(name), size)
            return self._pools[name]

    def describe(self) -> dict[str, Any]:
        pool = self.pool()
        return {
            "backend": self.name,
            "qemu": f"{self.binary} ({self.version})",
            "accel": self.accel,
            "why": self.accel_reason,
            "image": pool.files.image.label,
            "machine": f"q35, 1 vCPU, {self.memory_mib} MiB, no network",
            "pool": f"{self.pool_size} guest(s) kept ready",
            "fresh_guest": "restored from a saved clean guest" if self.snapshot else "booted",
            "root": str(self.root),
        } | {
            f"last_{what}": f"{seconds:.1f} s"
            for what, seconds in (("boot", pool.last_boot_s), ("restore", pool.last_restore_s))
            if seconds is not None
        }

    def get_vm(self, *, box_size_kib: int = 256 * 1024, image: str | None = None) -> QemuVM:
        guest = self.pool(image).take()
        try:
            guest.request({"op": "setup", "box_size_kib": box_size_kib})
        except BaseException:
            guest.kill()
            raise
        vm = QemuVM(self, guest)
        vm.image = guest.files.image.label if image is not None else None
        return vm

    def close(self) -> None:
        """Kill every ready guest (the pools stop refilling)."""
        with self._lock:
            pools = list(self._pools.values())
            self._pools.clear()
        for pool in pools:
            pool.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


class GuestPool:
    """Guests of one image, ready to be taken: a background thread keeps ``size`` of them.

    A fresh guest is a restore of the image's saved clean guest (made by booting one, once per
    image, accelerator and memory size) or, without snapshots, a boot."""

    def __init__(self, host: QemuHost, files: GuestFiles, size: int) -> None:
        self.host = host
        self.files = files
        self.size = size
        self.ready: collections.deque[Guest] = collections.deque()
        self.cond = threading.Condition()
        self.closed = False
        self.state: Path | None = None
        self.last_boot_s: float | None = None
        self.last_restore_s: float | None = None
        self._state_lock = threading.Lock()
        if size > 0:
            threading.Thread(target=self._refill, name="assay-qemu-pool", daemon=True).start()

    def state_path(self) -> Path:
        h = self.files.disk.stem.removeprefix("disk-")  # the agent of this disk
        return self.files.folder / f"state-{h}-{self.host.accel}-{self.host.memory_mib}.bin"

    def _saved_state(self) -> Path | None:
        """The saved clean guest, made now if there is none (None: snapshots are off)."""
        if not self.host.snapshot:
            return None
        with self._state_lock:
            target = self.state_path()
            if not target.exists():
                guest = self._boot()
                try:
                    guest.request({"op": "quiesce"}, timeout_s=BOOT_TIMEOUT_S)
                    guest.save(target)
                finally:
                    guest.kill()
            return target

    def _boot(self) -> Guest:
        guest = Guest(self.files, self.host.accel, self.host.memory_mib, self.host.root / "guests",
                      binary=self.host.binary, timeout_s=BOOT_TIMEOUT_S)  # fmt: skip
        self.last_boot_s = guest.ready_s
        return guest

    def fresh(self) -> Guest:
        state = self._saved_state()
        if state is None:
            return self._boot()
        try:
            guest = Guest(self.files, self.host.accel, self.host.memory_mib,
                          self.host.root / "guests", binary=self.host.binary, state=state,
                          timeout_s=BOOT_TIMEOUT_S)  # fmt: skip
        except GuestDied:
            # a state qemu cannot load (another qemu build): make it again, once
            with self._state_lock:
                state.unlink(missing_ok=True)
            state = self._saved_state()
            assert state is not None
            guest = Guest(self.files, self.host.accel, self.host.memory_mib,
                          self.host.root / "guests", binary=self.host.binary, state=state,
                          timeout_s=BOOT_TIMEOUT_S)  # fmt: skip
        self.last_restore_s = guest.ready_s
        return guest

    def take(self) -> Guest:
        """A ready guest (one in the pool, else a fresh one now); the pool refills behind."""
        with self.cond:
            while self.ready:
                guest = self.ready.popleft()
                self.cond.notify_all()
                if guest.alive():
                    return guest
                guest.kill()
        return self.fresh()

    def _refill(self) -> None:
        failures = 0
        while True:
            with self.cond:
                while not self.closed and len(self.ready) >= self.size:
                    self.cond.wait()
                if self.closed:
                    return
            try:
                guest = self.fresh()
            except Exception as e:  # noqa: BLE001 - logged; take() boots its own meanwhile
                failures += 1
                log.warning("qemu pool: a guest of %s failed: %s", self.files.image.label, e)
                time.sleep(min(60, 2**failures))
                continue
            failures = 0
            with self.cond:
                if self.closed:
                    guest.kill()
                    return
                self.ready.append(guest)

    def close(self) -> None:
        with self.cond:
            self.closed = True
            guests = list(self.ready)
            self.ready.clear()
            self.cond.notify_all()
        for guest in guests:
            guest.kill()


def _check_rel(rel: str) -> str:
    path = os.path.normpath(os.path.join(BOX_PATH, rel))
    if path != BOX_PATH and not path.startswith(BOX_PATH + "/"):
        raise SandboxError(f"path {rel!r} is outside the box")
    return rel


class QemuVM(VM):
    """A guest of its own; the box is a tmpfs in the guest's memory."""

    box_path = BOX_PATH

    def __init__(self, host: QemuHost, guest: Guest) -> None:
        self.host = host
        self.guest = guest
        # the guest's system is its image's root: runtimes find their versions and their
        # system paths there (paths a run asks to bind are already in the guest)
        self.system_root = guest.files.image.root
        self._destroyed = False
        self._running: QemuProcess | None = None

    def _request(self, header: dict[str, Any], payload: bytes = b"") -> tuple[dict, bytes]:
        if self._destroyed:
            raise SandboxError("the VM was destroyed")
        if self._running is not None:
            self._running.wait()  # one thing at a time on the agent's channel
        return self.guest.request(header, payload)

    # -- files --
    def copy_in(self, source: Path, dest: str = ".") -> None:
        entries: list[list[Any]] = []
        chunks: list[bytes] = []
        source = Path(source)
        if source.is_dir():
            for dirpath, dirnames, filenames in os.walk(source):
                rel = os.path.relpath(dirpath, source)
                for d in sorted(dirnames):
                    entries.append([os.path.normpath(os.path.join(rel, d)), "dir", 0o755, 0])
                for name in sorted(filenames):
                    path = Path(dirpath, name)
                    if path.is_file():  # sockets, fifos and devices of the host stay there
                        data = path.read_bytes()
                        mode = stat.S_IMODE(path.stat().st_mode)
                        entries.append([os.path.normpath(os.path.join(rel, name)), "file",
                                        mode, len(data)])  # fmt: skip
                        chunks.append(data)
        else:
            data = source.read_bytes()
            entries.append(["", "file", stat.S_IMODE(source.stat().st_mode), len(data)])
            chunks.append(data)
        request = {"op": "copy_in", "dest": _check_rel(dest), "name": source.name,
                   "is_dir": source.is_dir(), "entries": entries}  # fmt: skip
        self._request(request, b"".join(chunks))

    def write_file(self, dest: str, data: bytes, mode: int = 0o644) -> None:
        self._request({"op": "write_file", "path": _check_rel(dest), "mode": mode}, data)

    def make_dir(self, dest: str, *, empty: bool = False) -> None:
        self._request({"op": "make_dir", "path": _check_rel(dest), "empty": empty})

    def copy_out(self, source: str, dest: Path, max_bytes: int | None = None) -> None:
        """Copy a regular file out; a symlink (anywhere in the path), a device or a directory
        is refused with FileNotFoundError."""
        try:
            _, data = self._request(
                {"op": "copy_out", "path": _check_rel(source), "max_bytes": max_bytes}
            )
        except BoxError as e:
            raise FileNotFoundError(str(e)) from None
        Path(dest).write_bytes(data)

    def exists(self, rel: str) -> bool:
        """Is there anything (a symlink too) at ``rel`` in the box, without following links?"""
        header, _ = self._request({"op": "exists", "path": _check_rel(rel)})
        return bool(header.get("exists"))

    # -- runs --
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
    ) -> QemuProcess:
        if self._destroyed:
            raise SandboxError("the VM was destroyed")
        if self._running is not None:
            self._running.wait()
        own = self.guest.files.image.root
        foreign = {
            inside: source
            for inside, source in (readonly_binds or {}).items()
            if Path(source) != own / inside.lstrip("/")
        }
        if foreign:
            raise SandboxError(
                f"the qemu backend cannot bind host directories into a guest ({foreign}): what "
                "a run needs belongs in the guest image (assay image build NAME --guest "
                "--packages ...)"
            )
        data = _read_stdin(stdin)
        wall = limits.effective_wall_time_s
        request = {
            "op": "run",
            "command": list(command),
            "env": env or {},
            "limits": {**limits.to_dict(), "wall_time_s": wall},
        }
        self.guest.send(request, data)
        self._running = QemuProcess(self, limits, stdout, stderr)
        return self._running

    def destroy(self) -> None:
        if self._destroyed:
            return
        self._destroyed = True
        self.guest.kill()


def _read_stdin(stdin: Stream) -> bytes:
    """A run's whole input: the agent gives it to the program as a file (so a program that
    reads from a pipe, as an interactive validator's, is not for this backend)."""
    if stdin is None:
        return b""
    if isinstance(stdin, (str, Path)):
        return Path(stdin).read_bytes()
    fd = stdin if isinstance(stdin, int) else stdin.fileno()
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        raise SandboxError(
            "the qemu backend takes a run's input from a file, not a pipe: interactive "
            "problems need the launcher or bwrap backend"
        )
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _write_stream(stream: Stream, data: bytes) -> None:
    if stream is None:
        return
    if isinstance(stream, (str, Path)):
        Path(stream).write_bytes(data)
        return
    fd = stream if isinstance(stream, int) else stream.fileno()
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class QemuProcess(Process):
    def __init__(self, vm: QemuVM, limits: Limits, stdout: Stream, stderr: Stream) -> None:
        self.vm = vm
        self.limits = limits
        self.stdout = stdout
        self.stderr = stderr
        self._result: RunResult | None = None

    def kill(self) -> None:
        """The agent is busy with the run: killing it means killing the guest (the VM is then
        of no further use)."""
        if self._result is None:
            self.vm.guest.kill()

    def wait(self) -> RunResult:
        if self._result is not None:
            return self._result
        timeout = self.limits.effective_wall_time_s + RUN_MARGIN_S
        try:
            header, payload = self.vm.guest.receive(timeout)
        except SandboxError as e:
            self._result = RunResult(Status.XX, message=str(e))
        else:
            split = int(header.get("stdout_size", 0))
            out, err = payload[:split], payload[split:]
            _write_stream(self.stdout, out)
            _write_stream(self.stderr, err)
            self._result = verdict(header, self.limits, len(out), len(err))
        if self.vm._running is self:
            self.vm._running = None
        return self._result


def verdict(facts: dict[str, Any], limits: Limits, out_bytes: int, err_bytes: int) -> RunResult:
    """The run's status from what the agent measured, by the rules of the other backends."""
    result = RunResult(
        Status.OK,
        cpu_time_s=float(facts["cpu_time_s"]),
        wall_time_s=float(facts["wall_time_s"]),
        memory_kib=int(facts["memory_kib"]),
    )
    wait_status = facts.get("wait_status")
    if wait_status is None:
        return RunResult(Status.XX, message="the agent lost the program")
    if os.WIFSIGNALED(wait_status):
        result.signal = os.WTERMSIG(wait_status)
    else:
        result.exit_code = os.waitstatus_to_exitcode(wait_status)
    sig = result.signal
    output_bytes = limits.output_kib * 1024
    if facts.get("killed_for") == "memory":  # stalled at the limit (guest_agent.ThrashWatch)
        result.status, result.message = Status.ML, "memory limit exceeded"
    elif facts.get("killed_for"):
        result.status, result.message = Status.TO, f"{facts['killed_for']} limit exceeded"
    elif result.cpu_time_s > limits.cpu_time_s or sig == signals.SIGXCPU:
        result.status, result.message = Status.TO, "cpu time limit exceeded"
    elif facts.get("oom"):
        result.status, result.message = Status.ML, "memory limit exceeded"
    elif sig == signals.SIGXFSZ or out_bytes > output_bytes or err_bytes > output_bytes:
        result.status, result.message = Status.OL, "output limit exceeded"
    elif sig is not None:
        result.status = Status.SG
        result.message = f"killed by signal {sig} ({_signal_name(sig)})"
    elif result.exit_code != 0:
        result.status, result.message = Status.RE, f"exit code {result.exit_code}"
        if facts.get("exec_error"):
            result.message = f"cannot run the command: {facts['exec_error']}"
    if result.status in (Status.OK, Status.RE, Status.SG) and facts.get("oversized"):
        result.status = Status.OL
        result.message = f"file size limit exceeded ({facts['oversized']} in the box)"
    return result


def _signal_name(sig: int) -> str:
    try:
        return signals.Signals(sig).name
    except ValueError:
        return "unknown"
