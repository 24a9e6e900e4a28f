"""Hostile submissions against the real sandbox, one attack per test, on every backend (the C
launcher and bubblewrap, both with cgroups): each test runs once per backend.

Every test runs a hostile program (tests/hostile/: C compiled on the host, Python and shell run in
the box) and asserts three things:

(a) the status the sandbox gives it;
(b) the usage it measured is within the limits (``Box.run`` checks memory, cpu and wall time of
    every run; the limit tests check them more tightly);
(c) nothing is left behind (``Box.assert_left_nothing``): no process of the box's uid, no process
    in a cgroup of the box (and no cgroup at all once the VM is destroyed), no new file of the box's uid in the host's writable places, and a fresh VM still
    runs a normal program.

The tests use a host of their own (a sandbox root in /var/tmp and box uids from ``UID_BASE``),
not the shared one of conftest.py: other testers on the machine use the default box uids, and
"no file and no process of the box's uid" must only see what these tests did.
See docs/security.md for the threat model and what each case shows.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from assay.sandbox import Limits, RunResult, Status
from assay.sandbox.bwrap import BwrapHost, BwrapVM
from assay.sandbox.launcher import LauncherHost

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the hostile suite needs root")

HOSTILE = Path(__file__).resolve().parent / "hostile"
REPO = Path(__file__).resolve().parent.parent
UID_BASE = 63000  # box uids 63000..63031: unused on this machine, distinct from the default host
MAX_BOXES = 32
BOX_KIB = 64 * 1024
# the host places a process of the box uid could write to, were it not confined
WRITABLE_HOST_DIRS = [Path("/tmp"), Path("/var/tmp"), Path("/run/lock"), Path("/dev/shm")]
CPU_SLACK_S = 0.25  # the tester polls cpu time every 20 ms; a kill takes a little longer
WALL_SLACK_S = 1.0

# a modest run: most attacks must be stopped by one of these
LIMITS = Limits(
    cpu_time_s=1.0, wall_time_s=3.0, memory_kib=64 * 1024, processes=1,
    output_kib=1024, file_size_kib=1024, open_files=64,
)  # fmt: skip


# -- helpers ---------------------------------------------------------------------------------


def processes_of_uid(uid: int) -> list[tuple[int, str]]:
    """(pid, name) of every process with ``uid`` as any of its uids (read from /proc/PID/status,
    which stays right for processes that made themselves non-dumpable)."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = dict(
                line.split(":", 1)
                for line in Path(f"/proc/{entry.name}/status").read_text().splitlines()
                if ":" in line
            )
        except OSError:
            continue
        if uid in (int(v) for v in fields.get("Uid", "").split()):
            found.append((int(entry.name), fields.get("Name", "?").strip()))
    return found


def files_of_uid(uid: int, roots: list[Path], boxes: Path) -> set[str]:
    """Paths below ``roots`` owned by ``uid``, not following symlinks and not entering the boxes
    (the directories in ``boxes``). A process of ``uid`` (no groups) can only make an entry in a
    directory it may write: its own, or one writable by others; only those are entered, so the
    scan stays small however much else a shared /tmp holds."""
    found: set[str] = set()
    stack = list(roots)
    while stack:
        d = stack.pop()
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for e in entries:
            try:
                st = e.stat(follow_symlinks=False)
            except OSError:
                continue
            if st.st_uid == uid:
                found.add(e.path)
            writable = (
                st.st_uid == uid or st.st_mode & 0o002 or (st.st_mode & 0o020 and st.st_gid == uid)
            )
            if stat.S_ISDIR(st.st_mode) and writable and Path(e.path).parent != boxes:
                stack.append(Path(e.path))
    return found


def mount_options(path: Path) -> tuple[str, set[str]]:
    """(filesystem type, mount + super options) of the mount at ``path``."""
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        fields = left.split()
        if fields[4] == str(path):
            fstype, _, super_opts = right.split()[:3]
            return fstype, set(fields[5].split(",")) | set(super_opts.split(","))
    raise AssertionError(f"{path} is not a mount point")


def start_host_sleeper(uid: int | None = None) -> subprocess.Popen[bytes]:
    """A host process for the box to attack: ``sleep 100`` as root, or as ``uid``."""

    def drop() -> None:
        if uid is not None:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)

    return subprocess.Popen(["/bin/sleep", "100"], preexec_fn=drop)


@dataclass
class Run:
    res: RunResult
    out: str
    err: str

    def json(self) -> dict[str, Any]:
        return json.loads(self.out)


class Box:
    """A VM of the hostile host, with what the checks of ``assert_left_nothing`` need."""

    def __init__(self, host: BwrapHost, work: Path, binaries: Path) -> None:
        self.host = host
        self.work = work
        self.binaries = binaries
        self.vm: BwrapVM = host.get_vm(box_size_kib=BOX_KIB)
        self.uid = self.vm.uid
        self.runs = 0
        self.roots = [*WRITABLE_HOST_DIRS, host.root]
        assert processes_of_uid(self.uid) == [], "a process of the box uid before the test"
        self.files_before = files_of_uid(self.uid, self.roots, self.host.root / "boxes")

    def put(self, *names: str) -> None:
        """Copy helpers into the box: a compiled C helper by its name, or a source file."""
        for name in names:
            built = self.binaries / name
            self.vm.copy_in(built if built.exists() else HOSTILE / name)

    def run(self, command: list[str], limits: Limits = LIMITS, **kwargs: Any) -> Run:
        self.runs += 1
        out = kwargs.pop("stdout", self.work / f"run{self.runs}.out")
        err = kwargs.pop("stderr", self.work / f"run{self.runs}.err")
        res = self.vm.run(command, limits, stdout=out, stderr=err, **kwargs)
        assert res.status is not Status.XX, res.message
        assert res.memory_kib <= limits.memory_kib, res
        assert res.cpu_time_s <= limits.cpu_time_s + CPU_SLACK_S, res
        assert res.wall_time_s <= limits.effective_wall_time_s + WALL_SLACK_S, res
        text = [p.read_bytes()[:1 << 20].decode(errors="replace") if isinstance(p, Path) else ""
                for p in (out, err)]  # fmt: skip
        return Run(res, text[0], text[1])

    def assert_left_nothing(self) -> None:
        """No process, cgroup or host file of the box is left, and a fresh VM works."""
        assert processes_of_uid(self.uid) == [], "processes of the box uid outlived the run"
        for base in self.host.cgroups.bases.values():
            for group in self.cgroups(base):  # the VM may keep empty groups until it goes
                assert (group / "cgroup.procs").read_text() == "", f"processes left in {group}"
        new_files = files_of_uid(self.uid, self.roots, self.host.root / "boxes") - self.files_before
        assert new_files == set(), f"files of the box uid outside the box: {sorted(new_files)}"
        with self.host.get_vm(box_size_kib=16 * 1024) as fresh:
            out = self.work / "fresh.out"
            res = fresh.run(["/bin/echo", "fresh"], Limits(processes=1), stdout=out)
            assert res.status is Status.OK, res
            assert out.read_text() == "fresh\n"
            assert processes_of_uid(fresh.uid) == []

    def cgroups(self, base: Path) -> list[Path]:
        prefix = f"box{self.vm.box_id}-{os.getpid()}-"
        return [d for d in base.iterdir() if d.name.startswith(prefix)]

    def destroy(self) -> None:
        self.vm.destroy()
        for base in self.host.cgroups.bases.values():
            assert self.cgroups(base) == [], f"cgroups left in {base} by a destroyed VM"


BACKENDS = {"launcher": LauncherHost, "bwrap": BwrapHost}


def on_image(backend: type[BwrapHost], image: str) -> type[BwrapHost]:
    """The backend with every VM on a course image: the whole suite again, with the image's
    system as the box's instead of the host's."""

    class OnImage(backend):  # type: ignore[valid-type,misc]
        def get_vm(self, *, box_size_kib: int = 256 * 1024, image: str | None = None) -> Any:
            return super().get_vm(box_size_kib=box_size_kib, image=image or self.course_image)

    OnImage.course_image = image  # type: ignore[attr-defined]
    return OnImage


@pytest.fixture(scope="module", params=[*BACKENDS, "launcher-image", "bwrap-image"])
def hostile_host(request: pytest.FixtureRequest) -> Iterator[BwrapHost]:
    root = Path(tempfile.mkdtemp(prefix="assay-hostile-", dir="/var/tmp"))
    root.chmod(0o711)
    backend, _, image = request.param.partition("-")
    cls = BACKENDS[backend]
    if image:
        cls = on_image(cls, request.getfixturevalue("course_image"))
    try:
        yield cls(root, uid_base=UID_BASE, max_boxes=MAX_BOXES)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def binaries(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The C helpers, compiled once on the host."""
    out = tmp_path_factory.mktemp("hostile-bin")
    for source in sorted(HOSTILE.glob("*.c")):
        subprocess.run(
            ["gcc", "-O0", "-pthread", "-o", str(out / source.stem), str(source)],
            check=True, capture_output=True,
        )  # fmt: skip
    return out


@pytest.fixture
def box(hostile_host: BwrapHost, binaries: Path, tmp_path: Path) -> Iterator[Box]:
    b = Box(hostile_host, tmp_path, binaries)
    try:
        yield b
    finally:
        b.destroy()


@pytest.fixture
def outside() -> Iterator[Path]:
    """A world-readable, world-writable host directory: only the sandbox keeps the box out."""
    d = Path(tempfile.mkdtemp(prefix="assay-hostile-outside-", dir="/tmp"))
    d.chmod(0o777)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def token() -> str:
    return "hostile-" + uuid.uuid4().hex


def successes(results: dict[str, str], keys: list[str]) -> dict[str, str]:
    """The attempts among ``keys`` that did not fail (the tests want none)."""
    return {k: results[k] for k in keys if not results[k].startswith("error:")}


# -- processes ---------------------------------------------------------------------------------


def test_fork_bomb_is_stopped_by_the_process_limit(box: Box) -> None:
    box.put("fork_bomb")
    # memory to spare: failed forks churn kernel memory, and this is about processes
    limits = LIMITS.replace(processes=8, memory_kib=256 * 1024)
    run = box.run(["./fork_bomb", "forks"], limits)
    assert run.res.status is Status.TO, run.res
    # no process ever exits: the program and its children existed together
    together = 1 + (box.vm.dir / "forks").stat().st_size
    assert together == limits.processes
    box.assert_left_nothing()


def test_thread_bomb_is_stopped_by_the_process_limit(box: Box) -> None:
    box.put("thread_bomb")
    # memory to spare: failed forks churn kernel memory, and this is about processes
    limits = LIMITS.replace(processes=8, memory_kib=256 * 1024)
    run = box.run(["./thread_bomb", "threads"], limits)
    assert run.res.status is Status.TO, run.res
    together = 1 + (box.vm.dir / "threads").stat().st_size  # the main thread and the sleepers
    assert together == limits.processes
    box.assert_left_nothing()


def test_children_that_outlive_the_program_are_killed_at_its_end(box: Box) -> None:
    box.put("daemonize.py")
    script = "nohup /bin/sleep 30 >/dev/null 2>&1 &\nsetsid /bin/sleep 30 &\npython3 daemonize.py\n"
    run = box.run(["/bin/sh", "-c", script], LIMITS.replace(processes=8))
    assert run.res.status is Status.OK, run.res
    assert "parent done" in run.out
    assert run.res.wall_time_s < 1.5  # the run does not wait for what it left behind
    assert processes_of_uid(box.uid) == []
    time.sleep(1.0)  # the daemon would have written ``late`` after 0.5 s
    assert not box.vm.exists("late")
    box.assert_left_nothing()


def test_host_processes_survive_kill_from_the_box(box: Box) -> None:
    as_root = start_host_sleeper()
    as_box_uid = start_host_sleeper(box.uid)  # only the pid namespace protects this one
    try:
        box.put("privileged")
        script = (
            f"./privileged kill {as_root.pid}; ./privileged kill {as_box_uid.pid}; "
            "kill -9 -1; echo after kill -1"
        )
        run = box.run(["/bin/sh", "-c", script], LIMITS.replace(processes=4))
        assert run.res.status is Status.OK, run.res
        assert run.out.splitlines() == ["kill refused ESRCH", "kill refused ESRCH", "after kill -1"]
        assert as_root.poll() is None and as_box_uid.poll() is None
    finally:
        for p in (as_root, as_box_uid):
            p.kill()
            p.wait()
    box.assert_left_nothing()


def test_ptrace_and_memory_reads_of_host_processes_are_refused(box: Box) -> None:
    as_root = start_host_sleeper()
    as_box_uid = start_host_sleeper(box.uid)
    # the sleeper of the box uid takes one of the uid's processes (RLIMIT_NPROC): one more here
    limits = LIMITS.replace(processes=2)
    try:
        box.put("privileged", "read_probe.py")
        # bwrap: the victims are not in the box's pid namespace; the launcher's seccomp filter
        # refuses the calls before the kernel even looks for the pid
        refusal = "EPERM" if box.host.name == "launcher" else "ESRCH"
        for victim in (as_root, as_box_uid):
            for op in ("ptrace", "vmread"):
                run = box.run(["./privileged", op, str(victim.pid)], limits)
                assert run.res.status is Status.OK, (run.res, run.out, run.err)
                assert run.out == f"{op} refused {refusal}\n"
            run = box.run(["python3", "read_probe.py", f"/proc/{victim.pid}/cmdline"], limits)
            assert run.json()[f"/proc/{victim.pid}/cmdline"] == "error:ENOENT"
        for victim in (as_root, as_box_uid):
            assert victim.poll() is None
            assert "TracerPid:\t0\n" in Path(f"/proc/{victim.pid}/status").read_text()
    finally:
        for p in (as_root, as_box_uid):
            p.kill()
            p.wait()
    box.assert_left_nothing()


def test_destroy_kills_leftover_processes_of_the_box_uid_even_if_non_dumpable(
    box: Box,
) -> None:
    # a crashed tester can leave processes of a box uid behind; the next owner of the box (or
    # destroy) kills them. Making itself non-dumpable (root-owned /proc/PID/*) must not hide one.
    code = "import ctypes, time; ctypes.CDLL(None).prctl(4, 0, 0, 0, 0); time.sleep(100)"
    uid = box.uid

    def drop() -> None:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)

    sleeper = subprocess.Popen(["/usr/bin/python3", "-c", code], preexec_fn=drop)
    try:
        deadline = time.monotonic() + 5
        while Path(f"/proc/{sleeper.pid}/status").stat().st_uid != 0:  # until non-dumpable
            assert time.monotonic() < deadline
            time.sleep(0.01)
        box.destroy()
        assert sleeper.wait(timeout=5) == -signal.SIGKILL
    finally:
        sleeper.kill()
        sleeper.wait()
    assert processes_of_uid(box.uid) == []


# -- memory, time, output, disk ----------------------------------------------------------------


@pytest.mark.parametrize("bomb", ["heap_bomb", "stack_bomb"])
def test_memory_bomb_is_stopped_at_the_memory_limit(box: Box, bomb: str) -> None:
    box.put(bomb)
    run = box.run([f"./{bomb}"], LIMITS.replace(memory_kib=48 * 1024))
    assert run.res.status is Status.ML, run.res
    assert 40 * 1024 <= run.res.memory_kib <= 48 * 1024  # it did reach the limit, not beyond
    box.assert_left_nothing()


@pytest.mark.parametrize("threads", [1, 2])
def test_busy_loop_is_stopped_at_the_cpu_time_limit(box: Box, threads: int) -> None:
    box.put("busy_loop")
    limits = LIMITS.replace(cpu_time_s=0.5, wall_time_s=5.0, processes=threads)
    run = box.run(["./busy_loop", str(threads)], limits)
    assert run.res.status is Status.TO, run.res
    assert "cpu time" in run.res.message
    # the cpu time of all threads together, stopped promptly (the rlimit backstop is at 2 s)
    assert 0.5 <= run.res.cpu_time_s <= 0.5 + CPU_SLACK_S
    assert run.res.wall_time_s < limits.effective_wall_time_s
    box.assert_left_nothing()


def test_sleeping_past_the_wall_time_limit_is_stopped(box: Box) -> None:
    run = box.run(["/bin/sleep", "30"], LIMITS.replace(wall_time_s=1.0))
    assert run.res.status is Status.TO, run.res
    assert "wall time" in run.res.message
    assert 1.0 <= run.res.wall_time_s <= 1.5
    assert run.res.cpu_time_s < 0.2
    box.assert_left_nothing()


@pytest.mark.parametrize(
    "command, suffix",
    [
        (["./flood", "-"], "out"),
        (["./flood", "--"], "err"),
        (["python3", "stdout_flood.py"], "out"),  # Python ignores SIGXFSZ: EFBIG, exit 1
    ],
    ids=["c-stdout", "c-stderr", "python-stdout"],
)
def test_output_flood_is_stopped_at_the_output_limit(
    box: Box, command: list[str], suffix: str
) -> None:
    box.put("flood", "stdout_flood.py")
    limits = LIMITS.replace(output_kib=512, file_size_kib=256)
    run = box.run(command, limits)
    assert run.res.status is Status.OL, run.res
    written = (box.work / f"run{box.runs}.{suffix}").stat().st_size  # the host file
    assert limits.output_kib * 1024 < written <= limits.output_kib * 1024 + 1
    box.assert_left_nothing()


@pytest.mark.parametrize(
    "command", [["./flood", "big"], ["python3", "file_flood.py", "big"]], ids=["c", "python"]
)
def test_huge_file_in_the_box_is_stopped_at_the_file_size_limit(
    box: Box, command: list[str]
) -> None:
    box.put("flood", "file_flood.py")
    limits = LIMITS.replace(output_kib=64, file_size_kib=512)
    run = box.run(command, limits)
    assert run.res.status is Status.OL, run.res
    assert (box.vm.dir / "big").stat().st_size <= limits.file_size_kib * 1024 + 1
    box.assert_left_nothing()


def test_a_big_file_copied_in_by_the_tester_is_not_an_output_limit(box: Box) -> None:
    # the other side of the file size check: only files the run itself wrote count
    box.vm.write_file("input.bin", b"i" * (2 * 1024 * 1024))
    run = box.run(["/usr/bin/wc", "-c", "input.bin"], LIMITS.replace(file_size_kib=1024))
    assert run.res.status is Status.OK, run.res
    assert run.out.startswith(str(2 * 1024 * 1024))
    box.assert_left_nothing()


@pytest.mark.parametrize("mode", ["big", "empty"])
def test_filling_the_box_fails_with_no_space_and_spares_the_host(box: Box, mode: str) -> None:
    box.put("disk_fill.py")
    host_free_before = shutil.disk_usage("/").free
    limits = LIMITS.replace(cpu_time_s=5.0, wall_time_s=10.0, memory_kib=256 * 1024)
    run = box.run(["python3", "disk_fill.py", mode], limits)
    assert run.res.status is Status.RE and run.res.exit_code == 3, (run.res, run.err)
    count, error = run.out.split()
    assert error == "ENOSPC"
    fstype, options = mount_options(box.vm.dir)  # the box is memory, capped, not the host disk
    assert fstype == "tmpfs" and "nosuid" in options and "nodev" in options
    box_fs = os.statvfs(box.vm.dir)
    assert box_fs.f_blocks * box_fs.f_frsize <= BOX_KIB * 1024
    if mode == "big":
        assert box_fs.f_bfree * box_fs.f_frsize < 512 * 1024  # full: the data is in the box
    else:
        assert int(count) < box_fs.f_files <= BOX_KIB // 4  # the inode cap stopped it
        assert box_fs.f_ffree == 0
    assert host_free_before - shutil.disk_usage("/").free < BOX_KIB * 1024
    box.assert_left_nothing()


# -- network -----------------------------------------------------------------------------------


def _host_can_connect(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_network_is_unreachable_from_the_box(box: Box) -> None:
    box.put("net_probe.py")
    # a listener of the test's own, so that the host's loopback always has a service to reach;
    # and the machine's PostgreSQL, Redis, RabbitMQ and MariaDB where they run
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    own = listener.getsockname()[1]
    try:
        ports = [own, 5432, 6379, 5672, 3306]
        running = [port for port in ports if _host_can_connect(port)]
        listener.accept()[0].close()  # the control connection
        assert own in running
        targets = [f"tcp:127.0.0.1:{port}" for port in ports]
        targets += ["tcp:::1:6379", "tcp:1.1.1.1:80", "tcp:8.8.8.8:53", "udp:8.8.8.8:53",
                    "tcp:10.0.0.1:22", "dns:example.com", "unix:/run/mysqld/mysqld.sock",
                    "unix:/var/run/postgresql/.s.PGSQL.5432"]  # fmt: skip
        run = box.run(["python3", "net_probe.py", *targets, "@interfaces"])
        assert run.res.status is Status.OK, run.res
        results = run.json()
        assert successes(results, targets) == {}
        for port in running:  # the box has a loopback of its own, where nothing listens
            assert results[f"tcp:127.0.0.1:{port}"] == "error:ECONNREFUSED"
        assert results["tcp:1.1.1.1:80"] == "error:ENETUNREACH"  # and no route out
        assert results["@interfaces"] == "lo"
        with pytest.raises(BlockingIOError):
            listener.accept()  # the host's listener saw no connection from the box
    finally:
        listener.close()
    box.assert_left_nothing()


# -- reading what is not the box's --------------------------------------------------------------


def test_files_of_another_box_are_unreachable(box: Box, hostile_host: BwrapHost) -> None:
    secret = token()
    other = hostile_host.get_vm(box_size_kib=16 * 1024)
    try:
        other.write_file("secret.txt", secret.encode(), 0o644)
        # the other box is busy while this one looks for it
        busy = other.start(["/bin/sleep", "5"], LIMITS.replace(wall_time_s=6))
        box.put("read_probe.py")
        paths = [
            str(other.dir / "secret.txt"),
            f"/box/../{other.box_id}/secret.txt",
            f"../{other.box_id}/secret.txt",
            "/proc/*/root/box/secret.txt",
            "/proc/*/cwd/secret.txt",
        ]
        run = box.run(["python3", "read_probe.py", *paths])
        assert run.res.status is Status.OK, run.res
        assert secret not in run.out
        results = run.json()
        assert successes(results, paths[:3]) == {}
        assert results["/proc/*/root/box/secret.txt"] == "glob:"  # its processes are invisible
        assert results["/proc/*/cwd/secret.txt"] == "glob:"
        # defence in depth: even with the other box in sight, its uid and mode keep it out
        seen = f"/others/{other.box_id}/secret.txt"
        run = box.run(
            ["python3", "read_probe.py", seen],
            readonly_binds={"/others": hostile_host.root / "boxes"},
        )
        assert run.json()[seen] == "error:EACCES"
        assert secret not in run.out
        busy.kill()
        busy.wait()
        assert (other.dir / "secret.txt").read_text() == secret
    finally:
        other.destroy()
    box.assert_left_nothing()


def test_expected_output_outside_the_box_is_unreachable(box: Box, outside: Path) -> None:
    secret = token()
    (outside / "1.in").write_text("3 4\n")
    (outside / "1.ans").write_text(secret + "\n")
    for f in outside.iterdir():
        f.chmod(0o644)
    box.put("read_probe.py")
    paths = [str(outside / "1.ans"), "@stdin", "@beside-stdin:1.ans", "/proc/1/fd/0"]
    run = box.run(["python3", "read_probe.py", *paths], stdin=outside / "1.in")
    assert run.res.status is Status.OK, run.res
    results = run.json()
    assert results["@stdin"] == "read:3 4\n"  # the input is given, as it should be
    assert secret not in run.out
    assert results[str(outside / "1.ans")] == "error:ENOENT"
    assert results["@beside-stdin:1.ans"].startswith("error:")
    assert results["@beside-stdin:1.ans(via fd)"].startswith("error:")
    box.assert_left_nothing()


def test_shadow_and_root_home_are_unreadable(box: Box) -> None:
    box.put("read_probe.py")
    paths = ["/etc/shadow", "/etc/gshadow", "/root", "/root/.bashrc"]
    run = box.run(["python3", "read_probe.py", *paths])
    assert run.res.status is Status.OK, run.res
    results = run.json()
    assert results["/etc/shadow"] == "error:EACCES"
    assert results["/root"] == "error:ENOENT"
    assert successes(results, paths) == {}
    first_entry = Path("/etc/shadow").read_text().split("\n", 1)[0]
    assert first_entry not in run.out
    box.assert_left_nothing()


def test_tester_files_are_unreadable(box: Box, hostile_host: BwrapHost) -> None:
    box.put("read_probe.py")
    paths = [
        str(hostile_host.root / "locks" / f"{box.vm.box_id}.lock"),
        str(hostile_host.root),
        str(REPO / "pyproject.toml"),
        str(Path(__file__).resolve()),
        str(REPO / "assay" / "sandbox" / "bwrap.py"),
        "/var/lib/assay",
        "/work",
    ]
    run = box.run(["python3", "read_probe.py", *paths])
    assert run.res.status is Status.OK, run.res
    results = run.json()
    assert {k: v for k, v in results.items() if v != "error:ENOENT"} == {}
    box.assert_left_nothing()


def test_tester_environment_is_invisible_to_the_program(
    box: Box, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = token()
    monkeypatch.setenv("ASSAY_SECRET", secret)
    box.put("env_probe.py")
    run = box.run(["python3", "env_probe.py"], env={"GIVEN": "to-the-program"})
    assert run.res.status is Status.OK, run.res
    found = run.json()
    assert found["environ"]["GIVEN"] == "to-the-program"  # the probe does see environments
    assert "ASSAY_SECRET" not in found["environ"]
    assert secret not in run.out
    # bwrap's pid 1 (the box uid's) has an empty environment; the launcher's is root's: unreadable
    assert found["/proc/1/environ"] in ("", f"error:{errno.EACCES}")
    box.assert_left_nothing()


def test_pid1_of_the_box_shows_no_host_paths(box: Box, outside: Path) -> None:
    (outside / "lib.txt").write_text("a read-only file given to the program\n")
    box.put("read_probe.py")
    run = box.run(
        ["python3", "read_probe.py", "/proc/1/cmdline", "/proc/1/environ", "/given/lib.txt"],
        readonly_binds={"/given/lib.txt": outside / "lib.txt"},
    )
    assert run.res.status is Status.OK, run.res
    results = run.json()
    assert results["/given/lib.txt"].startswith("read:a read-only file")
    assert results["/proc/1/environ"] in ("read:", "error:EACCES")
    cmdline = results["/proc/1/cmdline"]
    assert cmdline.startswith("read:")
    for leak in (str(box.host.root), str(outside), "--bind", "--ro-bind", "--setenv"):
        assert leak not in cmdline
    box.assert_left_nothing()


def test_kernel_log_and_sys_are_unreadable(box: Box) -> None:
    box.put("read_probe.py")
    paths = ["/proc/kmsg", "/dev/kmsg", "/sys", "/sys/fs/cgroup", "/proc/kcore"]
    run = box.run(["python3", "read_probe.py", *paths])
    assert run.res.status is Status.OK, run.res
    results = run.json()
    assert successes(results, paths) == {}
    assert results["/sys"] == "error:ENOENT"
    dmesg = box.run(["/usr/bin/dmesg"])
    assert dmesg.res.status is Status.RE, dmesg.res
    assert "Operation not permitted" in dmesg.err
    assert dmesg.out == ""
    box.assert_left_nothing()


# -- writing outside the box ---------------------------------------------------------------------


def test_writes_outside_the_box_do_not_reach_the_host(
    box: Box, hostile_host: BwrapHost, outside: Path
) -> None:
    name = token()
    box.put("write_probe.py")
    inside = {
        f"/tmp/{name}": Path("/tmp") / name,  # the box's own /tmp: allowed, private
        f"/box/../{name}": hostile_host.root / "boxes" / name,  # the box's parent directory
        f"/{name}": Path("/") / name,
        f"/dev/shm/{name}": Path("/dev/shm") / name,
        f"/usr/{name}": Path("/usr") / name,
        f"/etc/{name}": Path("/etc") / name,
        f"/usr/local/bin/{name}": Path("/usr/local/bin") / name,
        f"/var/tmp/{name}": Path("/var/tmp") / name,
        f"/run/lock/{name}": Path("/run/lock") / name,
        str(outside / name): outside / name,
        f"{hostile_host.root}/{name}": hostile_host.root / name,
    }
    run = box.run(["python3", "write_probe.py", *inside])
    assert run.res.status is Status.OK, run.res
    results = run.json()
    assert results[f"/usr/{name}"] in ("error:EROFS", "error:EACCES")
    assert results[f"/etc/{name}"] in ("error:EROFS", "error:EACCES")
    for host_path in inside.values():
        assert not host_path.exists(), f"{host_path} was created on the host"
    assert list(outside.iterdir()) == []
    box.assert_left_nothing()


# -- limits and privileges --------------------------------------------------------------------


def test_limits_cannot_be_raised_from_inside(box: Box) -> None:
    box.put("rlimit_probe.py")
    limits = LIMITS.replace(processes=4, open_files=32, cpu_time_s=1.0)
    run = box.run(["python3", "rlimit_probe.py"], limits)
    assert run.res.status is Status.TO, run.res
    assert "cpu time" in run.res.message
    report = json.loads(run.out.splitlines()[0])
    assert report["raised"] == []
    assert len(report["refused"]) == 14  # 7 limits, each to infinity and to its hard limit + 1
    # exactly the allowance, no more: the limits held after every attempt to raise them
    assert report["open_files"] == limits.open_files
    assert report["processes"] == limits.processes
    shell = box.run(
        ["/bin/sh", "-c", "for l in t f n u; do ulimit -$l unlimited && echo raised $l; done; "
                          "ulimit -t; echo end"],
    )  # fmt: skip
    assert "raised" not in shell.out
    assert shell.out.splitlines()[-2:] == ["2", "end"]
    box.assert_left_nothing()


@pytest.mark.parametrize(
    "op, expected",
    [
        ("mount", "EPERM"),
        ("chroot", "EPERM"),
        ("userns", "ENOSPC"),  # --disable-userns: no user namespace left to create
        ("cloneuser", "ENOSPC"),
        ("netns", "EPERM"),
        ("mountns", "EPERM"),
        ("setuid0", "EINVAL"),  # uid 0 does not even exist in the box's user namespace
        ("sethostname", "EPERM"),
    ],
)
def test_privileged_operations_are_refused(box: Box, op: str, expected: str) -> None:
    if box.host.name == "launcher":  # no user namespace: seccomp refuses, or the kernel does
        expected = "EPERM"
    box.put("privileged")
    run = box.run(["./privileged", op])
    assert run.res.status is Status.OK, (run.res, run.out)  # exit 42 if it had worked
    assert run.out == f"{op} refused {expected}\n"
    box.assert_left_nothing()


def test_user_namespace_tools_fail_inside(box: Box) -> None:
    for command in (
        ["/usr/bin/unshare", "--user", "--map-root-user", "/bin/true"],
        ["/usr/bin/unshare", "--mount", "/bin/true"],
        ["/usr/bin/mount", "-t", "tmpfs", "none", "/box"],  # setuid root on the host
    ):
        run = box.run(command)
        assert run.res.status is Status.RE, (command, run.res, run.err)
    box.assert_left_nothing()


def test_setuid_binaries_do_not_give_root(box: Box, binaries: Path, outside: Path) -> None:
    suid = outside / "whoami"
    shutil.copy(binaries / "whoami", suid)
    os.chown(suid, 0, 0)
    suid.chmod(0o4755)
    run = box.run(["/suid/whoami"], readonly_binds={"/suid/whoami": suid})
    assert run.res.status is Status.OK, (run.res, run.out)  # exit 42 would mean euid 0
    me = box.vm.inside_uid
    assert run.out == f"uid={me} euid={me} gid={me} egid={me}\n"
    su = box.run(["/usr/bin/su", "-c", "/usr/bin/id", "root"], stdin=Path("/dev/null"))
    assert su.res.status is Status.RE, su.res
    assert "uid=0" not in su.out
    # a setuid file the program makes in its box is inert on the host as well
    _, options = mount_options(box.vm.dir)
    assert {"nosuid", "nodev"} <= options
    box.assert_left_nothing()


# -- standard streams ----------------------------------------------------------------------------


def test_closing_stdout_and_stderr_is_judged_normally(box: Box) -> None:
    box.put("stdio_probe.py")
    run = box.run(["python3", "stdio_probe.py", "close"])
    assert run.res.status is Status.OK, run.res
    assert (box.vm.dir / "note").read_text() == "1:error:EBADF 2:error:EBADF\n"
    box.assert_left_nothing()


def test_writing_to_a_closed_pipe_ends_with_sigpipe(box: Box) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        run = box.run(["/usr/bin/yes"], stdout=write_end)
    finally:
        os.close(write_end)
    assert run.res.status is Status.SG and run.res.signal == signal.SIGPIPE, run.res
    box.assert_left_nothing()


def test_reading_past_the_end_of_input_returns_nothing(box: Box, tmp_path: Path) -> None:
    box.put("stdio_probe.py")
    (tmp_path / "input").write_text("only this\n")
    run = box.run(["python3", "stdio_probe.py", "eof"], stdin=tmp_path / "input")
    assert run.res.status is Status.OK, run.res
    assert run.json() == {"data": "only this\n", "empty_reads": 1000}
    box.assert_left_nothing()


def test_the_tester_terminal_is_out_of_reach(hostile_host: BwrapHost, tmp_path: Path) -> None:
    # a tester run from a terminal: the program's stdin is the tester's controlling terminal
    runner = subprocess.run(
        [sys.executable, str(HOSTILE / "tty_runner.py"), hostile_host.name,
         str(hostile_host.root), str(UID_BASE), str(HOSTILE), str(tmp_path)],
        capture_output=True, start_new_session=True, timeout=60, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert runner.returncode == 0, runner.stderr.decode()
    report = json.loads(runner.stdout)
    assert report["status"] == "OK", report
    probe = json.loads(report["probe"])
    assert probe["stdin_is_a_tty"] is True  # the attack had its chance
    assert probe["open /dev/tty"] == "error:ENXIO"  # no controlling terminal in the box
    assert probe["TIOCSCTTY"] == "error:EPERM"
    assert probe["injected"] == 0 and probe["TIOCSTI"] == "error:EPERM"
    assert report["pending_input"] == ""  # nothing typed into the tester's terminal
    assert processes_of_uid(report["uid"]) == []


# -- the tester's own file operations on a hostile box ---------------------------------


def test_symlink_to_shadow_in_the_box_is_not_copied_out(
    box: Box, outside: Path, tmp_path: Path
) -> None:
    (outside / "victim.txt").write_text("the host's file\n")
    box.put("make_links.py")
    traps = {"shadow": "/etc/shadow", "etc": "/etc", "out": str(outside),
             "victim": str(outside / "victim.txt"), "fifo": "@fifo"}  # fmt: skip
    run = box.run(["python3", "make_links.py", *(f"{k}={v}" for k, v in traps.items())])
    assert run.res.status is Status.OK, run.res
    # a link is refused whether it is the file itself or a directory on the way
    for source in ("shadow", "etc/shadow", "etc/passwd", "victim", "out/victim.txt", "fifo"):
        dest = tmp_path / "copied"
        with pytest.raises(FileNotFoundError):
            box.vm.copy_out(source, dest)
        assert not dest.exists(), source
    box.assert_left_nothing()


def test_tester_writes_into_a_box_with_planted_symlinks_stay_in_the_box(
    box: Box, outside: Path, tmp_path: Path
) -> None:
    # the program plants links between its build and the tests; the tester, as root, then
    # writes test files into the box. (The links point to a scratch directory, not to /etc:
    # a regression must fail this test, not damage the machine.)
    victim = outside / "victim.txt"
    victim.write_text("the host's file\n")
    box.put("make_links.py")
    links = ["out", "tests", "tree", "wipe", "sub"]
    traps = {**{name: str(outside) for name in links}, "victim": str(victim), "fifo": "@fifo"}
    run = box.run(["python3", "make_links.py", *(f"{k}={v}" for k, v in traps.items())])
    assert run.res.status is Status.OK, run.res
    source = tmp_path / "test.in"
    source.write_text("tester data")
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "file").write_text("tester data")
    box.vm.write_file("out/planted.txt", b"tester data")
    box.vm.write_file("victim", b"tester data")
    box.vm.write_file("fifo", b"tester data")  # a fifo must not block the tester either
    box.vm.copy_in(source, "tests/1/copied.txt")
    box.vm.copy_in(tmp_path / "tree", "tree")
    box.vm.make_dir("wipe", empty=True)
    box.vm.make_dir("sub/deeper")
    assert victim.read_text() == "the host's file\n"
    assert sorted(p.name for p in outside.iterdir()) == ["victim.txt"]
    for rel in ("out/planted.txt", "victim", "fifo", "tests/1/copied.txt", "tree/file"):
        path = box.vm.dir / rel
        assert not path.is_symlink() and path.read_bytes() == b"tester data", rel
        assert path.stat().st_uid == box.uid
    for rel in ("wipe", "sub/deeper"):
        assert (box.vm.dir / rel).is_dir() and not (box.vm.dir / rel).is_symlink()
    run = box.run(["/bin/cat", "tests/1/copied.txt"])  # and the program sees the real files
    assert run.res.status is Status.OK and run.out == "tester data"
    box.assert_left_nothing()


# -- the launcher's seccomp filter ------------------------------------------------------------

SECCOMP_CALLS = re.findall(r'\{"([a-z0-9_-]+)", sys_', (HOSTILE / "seccomp_probe.c").read_text())


def test_the_seccomp_probe_lists_every_denied_call() -> None:
    assert (
        len(SECCOMP_CALLS) >= 35 and "ptrace" in SECCOMP_CALLS and "io_uring_setup" in SECCOMP_CALLS
    )


@pytest.fixture(scope="module")
def bare_results(binaries: Path) -> dict[str, str]:
    """What each call does outside any box, as an unprivileged uid (the box uid range's)."""

    def drop() -> None:
        os.setgroups([])
        os.setresgid(UID_BASE + MAX_BOXES - 1, UID_BASE + MAX_BOXES - 1, UID_BASE + MAX_BOXES - 1)
        os.setresuid(UID_BASE + MAX_BOXES - 1, UID_BASE + MAX_BOXES - 1, UID_BASE + MAX_BOXES - 1)

    results = {}
    scratch = Path(tempfile.mkdtemp(prefix="assay-seccomp-"))  # where that uid may exec it
    try:
        scratch.chmod(0o755)
        probe = shutil.copy(binaries / "seccomp_probe", scratch)
        for name in SECCOMP_CALLS:
            done = subprocess.run([probe, name], capture_output=True, text=True,
                                  preexec_fn=drop, cwd=scratch)  # fmt: skip
            results[name] = done.stdout.strip()
    finally:
        shutil.rmtree(scratch)
    return results


def test_calls_the_filter_denies_do_work_outside_the_box(bare_results: dict[str, str]) -> None:
    # the probe is sound: without the filter an unprivileged process can make these calls
    worked = {name for name, out in bare_results.items() if out.endswith("SUCCEEDED")}
    assert {"ptrace", "process_vm_readv", "kcmp", "keyctl", "add_key", "clone3"} <= worked


# the filter is the launcher's: bwrap relies on its user namespace, without a filter
@pytest.mark.parametrize("hostile_host", ["launcher"], indirect=True)
@pytest.mark.parametrize("call", SECCOMP_CALLS)
def test_the_seccomp_filter_refuses(box: Box, call: str, bare_results: dict[str, str]) -> None:
    box.put("seccomp_probe")
    run = box.run(["./seccomp_probe", call], LIMITS.replace(processes=2))
    assert run.res.status is Status.OK, (run.res, run.out, run.err)  # exit 42 if it worked
    # clone3's arguments are out of the filter's sight: it fails as "not implemented", and the C
    # library falls back to clone, whose namespace flags the filter sees
    assert run.out == f"{call} refused {'ENOSYS' if call == 'clone3' else 'EPERM'}\n", bare_results[
        call
    ]
    box.assert_left_nothing()


def test_the_filter_is_in_force_in_the_box(box: Box) -> None:
    run = box.run(["/bin/grep", "-E", "^(Seccomp|NoNewPrivs|CapBnd|CapEff)", "/proc/self/status"])
    fields = dict(line.split(":\t") for line in run.out.splitlines())
    assert fields["NoNewPrivs"] == "1" and fields["CapEff"] == "0000000000000000"
    if box.host.name == "launcher":
        assert fields["Seccomp"] == "2" and fields["CapBnd"] == "0000000000000000"
    box.assert_left_nothing()


def test_threads_and_subprocesses_still_work_under_the_filter(box: Box) -> None:
    # glibc starts threads and posix_spawn children with clone3 and falls back to clone
    code = ("import subprocess, threading\n"
            "t = threading.Thread(target=print, args=('thread',)); t.start(); t.join()\n"
            "print(subprocess.run(['/bin/echo', 'child'], capture_output=True, text=True).stdout, end='')\n")  # fmt: skip
    run = box.run(["python3", "-c", code], LIMITS.replace(processes=4))
    assert run.res.status is Status.OK, (run.res, run.err)
    assert run.out == "thread\nchild\n"
    box.assert_left_nothing()
