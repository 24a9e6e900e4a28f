"""Guest images and running guests of the qemu backend (qemu.py builds the VM API on them).

A guest image is a course image (images.py) built with ``--guest``: the recipe adds a kernel
(``linux-image-amd64``, whose Debian initramfs loads the virtio and ext4 modules), python3 and
kmod; then the root filesystem becomes an ext4 disk image (``mkfs.ext4 -d``: no loop mount, no
root filesystem of the host touched), with the guest agent (guest_agent.py) and its init
script inside. Beside the image's ``root/``::

    guest/
      vmlinuz, initrd.img          copied out of root/boot
      disk-AGENT.ext4              AGENT: a hash of the agent and init (a new agent, a new disk)
      state-AGENT-ACCEL-MEM.bin    a booted, idle guest saved by qemu (see ``Snapshot``)

A :class:`Guest` is one qemu process: q35, one vCPU, no network device, the disk
read-only (the guest mounts it read-only; the box, /tmp and /run are tmpfs in its memory), the
agent on a virtio-serial port behind a unix socket, QMP on another. It runs as an unprivileged
uid under qemu's seccomp filter (``-sandbox``), and dies with the tester.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import json
import logging
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import images
from .base import SandboxError

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
AGENT_SOURCE = HERE / "guest_agent.py"
GUEST_PACKAGES = ("linux-image-amd64", "python3", "kmod")
PORT_NAME = "assay.agent"
QEMU = "qemu-system-x86_64"
# q35, not microvm: microvm has no HPET nor ACPI timer, and on a loaded host (software
# emulation) the guest kernel's TSC calibration against the PIT alone fails and its boot hangs
MACHINE = "q35"
KERNEL_ARGS = (
    "root=/dev/vda ro rootfstype=ext4 init=/usr/lib/assay/init console=ttyS0 quiet "
    "panic=-1 fsck.mode=skip"
)
SANDBOX = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"
QEMU_UID = 59999  # qemu itself runs as this uid (below the box uids, 60000...)
PR_SET_PDEATHSIG = 1

INIT_SCRIPT = """#!/bin/sh
# pid 1 of an assay guest (qemu backend): the system's mounts, the agent's port, then the agent
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mountpoint -q /proc || mount -t proc -o nosuid,nodev,noexec proc /proc
mountpoint -q /sys || mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
mountpoint -q /dev || mount -t devtmpfs -o nosuid,noexec devtmpfs /dev
mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 /sys/fs/cgroup
mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs /tmp
mount -t tmpfs -o nosuid,nodev,mode=755 tmpfs /run
mkdir -p /dev/shm && mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs /dev/shm
modprobe -q virtio_console
export PYTHONHASHSEED=0  # python would otherwise wait for the guest's entropy at start
exec /usr/bin/python3 -I -S /usr/lib/assay/guest_agent.py
"""

_libc = ctypes.CDLL(None, use_errno=True)


def agent_hash() -> str:
    """What a disk and a saved guest depend on besides the image: the agent, its init, and how
    the guest is booted."""
    digest = hashlib.sha256(
        AGENT_SOURCE.read_bytes() + INIT_SCRIPT.encode() + KERNEL_ARGS.encode() + MACHINE.encode()
    )
    return digest.hexdigest()[:12]


def qemu_binary() -> str:
    path = shutil.which(QEMU)
    if not path:
        raise SandboxError(
            f"qemu is not installed (no {QEMU} on PATH): install the Debian package "
            "'qemu-system-x86' (./setup.sh does)"
        )
    return path


def qemu_version(binary: str) -> str:
    done = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    return (done.stdout.splitlines() or ["?"])[0]


# -- guest images ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GuestFiles:
    """What qemu boots: a kernel, its initramfs and the disk, of one image version."""

    image: images.Image
    kernel: Path
    initrd: Path
    disk: Path

    @property
    def folder(self) -> Path:
        return self.disk.parent


def build_guest_image(
    name: str, packages: list[str], suite: str = images.DEFAULT_SUITE, **kwargs: Any
) -> tuple[GuestFiles, bool]:
    """Build course image ``name`` with what a guest needs, and its disk (see the module doc)."""
    image, built = images.build(name, [*GUEST_PACKAGES, *packages], suite, **kwargs)
    return guest_files(image), built


def guest_files(image: images.Image) -> GuestFiles:
    """The guest files of ``image``, the disk made now if the agent changed since
    (ImageError if the image was not built with ``--guest``)."""
    root = image.root
    kernels = sorted(root.glob("boot/vmlinuz-*"))
    initrds = sorted(root.glob("boot/initrd.img-*"))
    if not kernels or not initrds or not (root / "usr/bin/python3").exists():
        raise images.ImageError(
            f"image {image.label} has no kernel or no python3: it was not built for the qemu "
            f"backend; build it with `assay image build {image.name} --guest`"
        )
    folder = image.path / "guest"
    disk = folder / f"disk-{agent_hash()}.ext4"
    files = GuestFiles(image, folder / "vmlinuz", folder / "initrd.img", disk)
    if not disk.exists():
        with _lock(image.path.parent / ".lock"):
            if not disk.exists():
                _make_disk(root, kernels[-1], initrds[-1], files)
    return files


@contextlib.contextmanager
def _lock(path: Path) -> Any:
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def _make_disk(root: Path, kernel: Path, initrd: Path, files: GuestFiles) -> None:
    """The agent and init go into the root, which becomes an ext4 image (written beside its
    final name, renamed when complete); stale disks and states of older agents go."""
    mkfs = shutil.which("mkfs.ext4") or "/usr/sbin/mkfs.ext4"
    agent_dir = root / "usr/lib/assay"
    agent_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(AGENT_SOURCE, agent_dir / "guest_agent.py")
    (agent_dir / "init").write_text(INIT_SCRIPT)
    (agent_dir / "init").chmod(0o755)
    (root / "box").mkdir(exist_ok=True)
    folder = files.folder
    folder.mkdir(exist_ok=True)
    for stale in [*folder.glob("disk-*"), *folder.glob("state-*"), *folder.glob(".tmp-*")]:
        stale.unlink()
    used_kib = int(subprocess.run(["du", "-sk", "-x", str(root)], capture_output=True,
                                  text=True, check=True).stdout.split()[0])  # fmt: skip
    size_mib = used_kib * 12 // 10 // 1024 + 64
    tmp = folder / f".tmp-{os.getpid()}.ext4"
    done = subprocess.run(
        [mkfs, "-q", "-F", "-t", "ext4", "-O", "^has_journal", "-L", "assay-guest",
         "-E", "root_owner=0:0", "-d", str(root), str(tmp), f"{size_mib}M"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise images.ImageError(f"mkfs.ext4 failed: {done.stderr.strip()}")
    for source, target in ((kernel, files.kernel), (initrd, files.initrd)):
        shutil.copyfile(source, target)
        target.chmod(0o644)
    tmp.chmod(0o644)
    os.replace(tmp, files.disk)


# -- running guests -------------------------------------------------------------------------


class GuestDied(SandboxError):
    """The guest's qemu process ended, or its agent stopped answering."""


class Qmp:
    """A minimal QMP client (the machine protocol of qemu's monitor)."""

    def __init__(self, path: Path, timeout_s: float) -> None:
        self.sock = _connect(path, timeout_s)
        self.sock.settimeout(timeout_s)
        self.buffer = b""
        self._line()  # the greeting
        self.execute("qmp_capabilities")

    def _line(self) -> dict[str, Any]:
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise GuestDied("qemu closed its monitor")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def execute(self, command: str, fds: list[int] | None = None, **arguments: Any) -> Any:
        message = json.dumps({"execute": command, "arguments": arguments}).encode()
        if fds:
            socket.send_fds(self.sock, [message], fds)
        else:
            self.sock.sendall(message)
        while True:
            doc = self._line()
            if "return" in doc:
                return doc["return"]
            if "error" in doc:
                raise SandboxError(f"qemu {command}: {doc['error'].get('desc')}")

    def close(self) -> None:
        self.sock.close()


def _connect(path: Path, timeout_s: float, alive: Any = None) -> socket.socket:
    deadline = time.monotonic() + timeout_s
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            sock.connect(str(path))
            return sock
        except OSError:
            sock.close()
            if time.monotonic() > deadline or (alive is not None and not alive()):
                raise GuestDied(f"qemu did not open {path.name}") from None
            time.sleep(0.02)


class Guest:
    """One qemu process and the connection to its agent."""

    def __init__(
        self,
        files: GuestFiles,
        accel: str,
        memory_mib: int,
        base: Path,
        *,
        binary: str | None = None,
        state: Path | None = None,
        timeout_s: float = 180.0,
    ) -> None:
        self.files = files
        self.accel = accel
        self.memory_mib = memory_mib
        base.mkdir(parents=True, exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(prefix="guest-", dir=base))
        self.restored = state is not None
        self.started = time.monotonic()
        self.sock: socket.socket | None = None
        self._dead = False
        run_as = QEMU_UID if os.geteuid() == 0 and (accel != "kvm" or _kvm_group_usable()) else None
        if run_as is not None:
            os.chown(self.dir, run_as, run_as)
        args = self.command(binary or qemu_binary(), state is not None)
        state_fd = os.open(state, os.O_RDONLY | os.O_CLOEXEC) if state is not None else None
        if state_fd is not None:
            args += ["-incoming", f"fd:{state_fd}"]
        with open(self.dir / "qemu.log", "wb") as log_file:
            self.process = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                pass_fds=(state_fd,) if state_fd is not None else (), env={"LC_ALL": "C"},
                preexec_fn=_qemu_child(run_as), start_new_session=True,
            )  # fmt: skip
        if state_fd is not None:
            os.close(state_fd)
        (self.dir / "pid").write_text(str(self.process.pid))
        try:
            self._attach(timeout_s)
        except BaseException:
            self.kill()
            raise
        self.ready_s = time.monotonic() - self.started

    def command(self, binary: str, incoming: bool) -> list[str]:
        f = self.files
        accel = ["-accel", "kvm", "-cpu", "host"] if self.accel == "kvm" else ["-accel", "tcg"]
        return [
            binary, "-machine", MACHINE, *accel, "-m", str(self.memory_mib), "-smp", "1",
            "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-sandbox", SANDBOX,
            "-kernel", str(f.kernel), "-initrd", str(f.initrd), "-append", KERNEL_ARGS,
            "-drive", f"file={f.disk},format=raw,if=none,id=root,readonly=on",
            "-device", "virtio-blk-pci,drive=root",
            "-device", "virtio-serial-pci",
            "-chardev", f"socket,id=agent,path={self.dir / 'agent.sock'},server=on,wait=off",
            "-device", f"virtserialport,chardev=agent,name={PORT_NAME}",
            "-qmp", f"unix:{self.dir / 'qmp.sock'},server=on,wait=off",
            "-serial", f"file:{self.dir / 'console.log'}",
            "-nic", "none",
        ]  # fmt: skip

    def alive(self) -> bool:
        return not self._dead and self.process.poll() is None

    def _attach(self, timeout_s: float) -> None:
        """Connect to the agent: a booted guest says hello; a restored one is resumed first
        (a guest saved while paused stays paused on arrival) and answers a ping."""
        deadline = time.monotonic() + timeout_s
        if self.restored:
            qmp = Qmp(self.dir / "qmp.sock", timeout_s)
            try:
                while qmp.execute("query-status")["status"] == "inmigrate":
                    if time.monotonic() > deadline or not self.alive():
                        raise GuestDied(f"the guest was not restored: {self.diagnosis()}")
                    time.sleep(0.02)
                qmp.execute("cont")
            finally:
                qmp.close()
        try:
            self.sock = _connect(self.dir / "agent.sock", timeout_s, self.alive)
        except GuestDied as e:
            raise GuestDied(f"{e}: {self.diagnosis()}") from None
        if self.restored:
            self.request({"op": "ping"}, timeout_s=deadline - time.monotonic())
        else:
            header, _ = self._receive(deadline - time.monotonic())
            if header.get("op") != "hello":
                raise GuestDied(f"the agent did not say hello: {header}")

    def diagnosis(self) -> str:
        """The end of qemu's own messages and of the guest's console, for an error message."""
        parts = []
        for name in ("qemu.log", "console.log"):
            with contextlib.suppress(OSError):
                text = (self.dir / name).read_text(errors="replace").strip()
                if text:
                    parts.append(f"{name}: ...{text[-600:]}")
        code = self.process.poll()
        if code is not None:
            parts.insert(0, f"qemu exited with {code}")
        return "; ".join(parts) or "no message"

    # -- the agent's protocol (guest_agent.py) --
    def request(
        self, header: dict[str, Any], payload: bytes = b"", *, timeout_s: float = 120.0
    ) -> tuple[dict[str, Any], bytes]:
        self.send(header, payload)
        return self.receive(timeout_s)

    def send(self, header: dict[str, Any], payload: bytes = b"") -> None:
        if self.sock is None or self._dead:
            raise GuestDied("the guest is gone")
        header = {**header, "size": len(payload)}
        data = json.dumps(header).encode()
        try:
            self.sock.settimeout(60)
            self.sock.sendall(struct.pack(">I", len(data)) + data)
            self.sock.sendall(payload)
        except OSError as e:
            self._dead = True
            raise GuestDied(f"the guest's agent is unreachable ({e}): {self.diagnosis()}") from e

    def receive(self, timeout_s: float) -> tuple[dict[str, Any], bytes]:
        header, payload = self._receive(timeout_s)
        if "error" in header:
            if header.get("kind") == "box":
                raise BoxError(header["error"])
            raise SandboxError(f"guest agent: {header['error']}")
        return header, payload

    def _receive(self, timeout_s: float) -> tuple[dict[str, Any], bytes]:
        if self.sock is None:
            raise GuestDied("the guest is gone")
        try:
            self.sock.settimeout(max(timeout_s, 0.1))
            (length,) = struct.unpack(">I", self._exact(4))
            header = json.loads(self._exact(length))
            return header, self._exact(int(header.get("size", 0)))
        except (OSError, ValueError, GuestDied) as e:
            self._dead = True
            why = "timed out" if isinstance(e, TimeoutError) else str(e) or type(e).__name__
            raise GuestDied(f"the guest's agent stopped answering ({why}): "
                            f"{self.diagnosis()}") from e  # fmt: skip

    def _exact(self, n: int) -> bytes:
        assert self.sock is not None
        chunks, left = [], n
        while left:
            chunk = self.sock.recv(min(left, 1 << 20))
            if not chunk:
                raise GuestDied("the guest's agent closed the connection")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def save(self, target: Path, timeout_s: float = 120.0) -> None:
        """Pause the guest and save its whole state (memory, devices) to ``target`` through a
        descriptor handed to qemu (its seccomp filter forbids it to start a program)."""
        qmp = Qmp(self.dir / "qmp.sock", timeout_s)
        tmp = target.with_name(f".tmp-{os.getpid()}-{target.name}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            qmp.execute("stop")
            qmp.execute("getfd", fds=[fd], fdname="state")
            qmp.execute("migrate", uri="fd:state")
            deadline = time.monotonic() + timeout_s
            while (status := qmp.execute("query-migrate").get("status")) != "completed":
                if status in ("failed", "cancelled") or time.monotonic() > deadline:
                    raise SandboxError(f"saving the guest failed ({status}): {self.diagnosis()}")
                time.sleep(0.05)
            os.replace(tmp, target)
        finally:
            os.close(fd)
            qmp.close()
            tmp.unlink(missing_ok=True)

    def kill(self) -> None:
        """End the qemu process and remove its directory. Safe to call twice."""
        self._dead = True
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        if not os.environ.get("ASSAY_QEMU_KEEP"):  # kept for a post-mortem
            shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def pid(self) -> int:
        return self.process.pid


class BoxError(SandboxError):
    """The agent refused a path of the box (outside it, a symlink, not a regular file...)."""


def _qemu_child(uid: int | None) -> Any:
    kvm_gid = None
    with contextlib.suppress(OSError):
        kvm_gid = os.stat("/dev/kvm").st_gid

    def prepare() -> None:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # dies with the tester
        if uid is not None:
            os.setgroups([kvm_gid] if kvm_gid else [])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)

    return prepare


def _kvm_group_usable() -> bool:
    """Can qemu reach /dev/kvm through its group, as an unprivileged uid?"""
    try:
        st = os.stat("/dev/kvm")
    except OSError:
        return False
    return st.st_gid != 0 and st.st_mode & 0o060 == 0o060


def remove_stale_guests(base: Path) -> int:
    """Remove the directories of guests whose qemu is gone (a tester that died, its qemu
    killed with it, left them); the number removed."""
    removed = 0
    with contextlib.suppress(FileNotFoundError):
        for entry in base.iterdir():
            try:
                pid = int((entry / "pid").read_text())
                alive = b"qemu" in Path(f"/proc/{pid}/cmdline").read_bytes()
            except (OSError, ValueError):
                alive = False
            if not alive and time.time() - entry.stat().st_mtime > 60:
                shutil.rmtree(entry, ignore_errors=True)
                removed += 1
    return removed
