"""The qemu backend: a VM is a guest machine (assay/sandbox/qemu.py, guest.py, guest_agent.py).

The guest image (minbase + a kernel + python3, ``TEST_GUEST_IMAGE``) is built once and kept in
/var/lib/assay/images, like the course image of test_images.py; the first guest of a machine
boots and is saved, every later one is restored from that clean state (about a second).

Software emulation is slow: most attacks share one VM (``shared``), which they leave as they
found it (``assert_clean``: no process of the box user, no cgroup of an earlier run); the tests
about a fresh guest, a killed guest and the pool make their own. The hostile programs are
tests/hostile's, compiled on the host (the guest has the same Debian release's C library).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assay.sandbox import Limits, RunResult, SandboxError, Status
from assay.sandbox.qemu import QemuHost, QemuVM

from .test_measurement import BURN_C, RUSAGE_C

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the qemu backend's tests need root")

HOSTILE = Path(__file__).resolve().parent / "hostile"
REPO = Path(__file__).resolve().parent.parent
TEST_GUEST_IMAGE = "assay-test-guest"
CPU_SLACK_S = 0.3  # the agent polls cpu time every 20 ms, under software emulation
WALL_SLACK_S = 1.5
# cpu time to spare: under software emulation starting a process costs 0.1-0.3 s of the guest's
# cpu (the limit tests set their own)
LIMITS = Limits(
    cpu_time_s=5.0, wall_time_s=10.0, memory_kib=64 * 1024, processes=1,
    output_kib=1024, file_size_kib=1024, open_files=64,
)  # fmt: skip


@pytest.fixture(scope="module")
def guest_image() -> str:
    from assay.sandbox import images
    from assay.sandbox.guest import build_guest_image

    if shutil.which("qemu-system-x86_64") is None:
        pytest.fail("qemu is not installed: ./setup.sh installs qemu-system-x86")
    try:
        build_guest_image(TEST_GUEST_IMAGE, [])
    except images.ImageError as e:
        pytest.fail(f"cannot build the test guest image ({e}): it needs mmdebstrap and mkfs.ext4")
    return TEST_GUEST_IMAGE


@pytest.fixture(scope="module")
def qemu_host(guest_image: str) -> Iterator[QemuHost]:
    host = QemuHost(image=guest_image, pool_size=1)
    try:
        yield host
    finally:
        host.close()


@pytest.fixture(scope="module")
def binaries(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("qemu-bin")
    sources = [*(HOSTILE / f"{n}.c" for n in ("fork_bomb", "heap_bomb", "busy_loop", "flood"))]
    for source in sources:
        subprocess.run(["gcc", "-O0", "-pthread", "-o", str(out / source.stem), str(source)],
                       check=True, capture_output=True)  # fmt: skip
    for name, text in (("burn", BURN_C), ("rusage", RUSAGE_C)):
        (out / f"{name}.c").write_text(text)
        subprocess.run(["gcc", "-O2", "-o", str(out / name), str(out / f"{name}.c")], check=True)
    return out


@pytest.fixture(scope="module")
def shared(qemu_host: QemuHost, binaries: Path) -> Iterator[QemuVM]:
    """One VM for the attacks that do not need a fresh guest, with the helpers in its box."""
    vm = qemu_host.get_vm(box_size_kib=64 * 1024)
    try:
        for name in ("fork_bomb", "heap_bomb", "busy_loop", "flood", "burn", "rusage"):
            vm.copy_in(binaries / name)
        for name in ("net_probe.py", "write_probe.py", "file_flood.py", "stdout_flood.py"):
            vm.copy_in(HOSTILE / name)
        yield vm
    finally:
        vm.destroy()
        assert_gone(vm)


def run(
    vm: QemuVM, tmp: Path, command: list[str], limits: Limits = LIMITS
) -> tuple[RunResult, str, str]:
    """Run, check the measurements against the limits, return (result, stdout, stderr)."""
    out, err = tmp / "out", tmp / "err"
    res = vm.run(command, limits, stdout=out, stderr=err)
    assert res.status is not Status.XX, res.message
    assert res.memory_kib <= limits.memory_kib, res
    assert res.cpu_time_s <= limits.cpu_time_s + CPU_SLACK_S, res
    assert res.wall_time_s <= limits.effective_wall_time_s + WALL_SLACK_S, res
    return (
        res,
        out.read_bytes()[: 1 << 20].decode(errors="replace"),
        err.read_text(errors="replace"),
    )


def assert_clean(vm: QemuVM, tmp: Path) -> None:
    """Nothing of the earlier runs is left in the guest: no process of the box user (but the
    probe itself), no control group but the probe's."""
    script = (
        'ls -d /sys/fs/cgroup/run*; exec find /proc -maxdepth 1 -regex "/proc/[0-9]+" -user 1000'
    )
    res, out, err = run(vm, tmp, ["/bin/sh", "-c", script], LIMITS.replace(processes=2))
    assert res.status is Status.OK, (res, err)
    groups = [line for line in out.split() if line.startswith("/sys/fs/cgroup/")]
    processes = [line for line in out.split() if line.startswith("/proc/")]
    assert len(groups) == 1, f"control groups of earlier runs left: {groups}"
    assert len(processes) == 1, f"processes of the box user left: {processes}"


def assert_gone(vm: QemuVM) -> None:
    """The guest's qemu process has ended and its directory is removed."""
    guest = vm.guest
    assert guest.process.poll() is not None, "the qemu process outlived its VM"
    assert not Path(f"/proc/{guest.pid}").exists() or _is_zombie_free(guest.pid)
    assert not guest.dir.exists()


def _is_zombie_free(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().find(b"qemu") < 0
    except OSError:
        return True


# -- runs: what a program did ------------------------------------------------------------------


def test_a_program_runs_as_the_box_user_with_its_output_and_exit_code(
    shared: QemuVM, tmp_path: Path
) -> None:
    shared.write_file("prog.sh", b"id -u; pwd; echo oops >&2; exit 3\n", 0o755)
    res, out, err = run(shared, tmp_path, ["/bin/sh", "prog.sh"], LIMITS.replace(processes=2))
    assert res.status is Status.RE and res.exit_code == 3, res
    assert out.split() == ["1000", "/box"]
    assert err == "oops\n"
    assert_clean(shared, tmp_path)


def test_a_command_that_does_not_exist_is_a_runtime_error_not_a_sandbox_error(
    shared: QemuVM, tmp_path: Path
) -> None:
    res, _, err = run(shared, tmp_path, ["./no-such-program"])
    assert res.status is Status.RE and res.exit_code == 127, res
    assert "no-such-program" in err


def test_input_reaches_the_program_on_stdin(shared: QemuVM, tmp_path: Path) -> None:
    (tmp_path / "in").write_bytes(b"3 4\n")
    out = tmp_path / "sum"
    res = shared.run(["/bin/sh", "-c", "read a b; echo $((a + b))"], LIMITS,
                     stdin=tmp_path / "in", stdout=out)  # fmt: skip
    assert res.status is Status.OK, res
    assert out.read_text() == "7\n"


def test_a_crash_is_reported_with_its_signal(shared: QemuVM, tmp_path: Path) -> None:
    res, _, _ = run(shared, tmp_path, ["/bin/sh", "-c", "kill -SEGV $$"])
    assert res.status is Status.SG and res.signal == 11, res
    assert_clean(shared, tmp_path)


def test_the_agent_its_port_and_the_kernel_log_are_out_of_the_programs_reach(
    shared: QemuVM, tmp_path: Path
) -> None:
    script = (
        "kill -9 1 2>/dev/null || echo kill-refused; "
        "cat /run/assay/stdin 2>/dev/null || echo work-refused; "
        "for p in /dev/vport*; do cat $p 2>/dev/null || echo port-refused; done; "
        "dmesg >/dev/null 2>&1 || echo dmesg-refused; "
        "cat /proc/1/environ 2>/dev/null || echo environ-refused"
    )
    res, out, _ = run(shared, tmp_path, ["/bin/sh", "-c", script], LIMITS.replace(processes=4))
    assert res.status is Status.OK, res
    assert out.split() == [
        "kill-refused", "work-refused", "port-refused", "dmesg-refused", "environ-refused",
    ]  # fmt: skip
    assert_clean(shared, tmp_path)


# -- the limits ---------------------------------------------------------------------------------


def test_fork_bomb_is_stopped_by_the_process_limit(shared: QemuVM, tmp_path: Path) -> None:
    limits = LIMITS.replace(processes=8, memory_kib=256 * 1024, wall_time_s=3.0)
    res, _, _ = run(shared, tmp_path, ["./fork_bomb", "forks"], limits)
    assert res.status is Status.TO, res
    shared.copy_out("forks", tmp_path / "forks")
    assert 1 + (tmp_path / "forks").stat().st_size == limits.processes  # all of them at once
    assert_clean(shared, tmp_path)


def test_memory_hog_is_stopped_at_the_memory_limit(shared: QemuVM, tmp_path: Path) -> None:
    # cpu to spare: touching memory page by page is slow under software emulation
    limits = LIMITS.replace(memory_kib=48 * 1024, cpu_time_s=10.0, wall_time_s=20.0)
    res, _, _ = run(shared, tmp_path, ["./heap_bomb"], limits)
    assert res.status is Status.ML, res
    assert 40 * 1024 <= res.memory_kib <= 48 * 1024  # it did reach the limit, not beyond
    assert_clean(shared, tmp_path)


def test_busy_loop_is_stopped_at_the_cpu_time_limit(shared: QemuVM, tmp_path: Path) -> None:
    limits = LIMITS.replace(cpu_time_s=0.5, wall_time_s=5.0, processes=2)
    res, _, _ = run(shared, tmp_path, ["./busy_loop", "2"], limits)
    assert res.status is Status.TO and "cpu time" in res.message, res
    assert 0.5 <= res.cpu_time_s <= 0.5 + CPU_SLACK_S
    assert_clean(shared, tmp_path)


def test_sleeping_past_the_wall_time_limit_is_stopped(shared: QemuVM, tmp_path: Path) -> None:
    res, _, _ = run(shared, tmp_path, ["/bin/sleep", "30"], LIMITS.replace(wall_time_s=1.0))
    assert res.status is Status.TO and "wall time" in res.message, res
    assert 1.0 <= res.wall_time_s <= 1.0 + WALL_SLACK_S
    assert_clean(shared, tmp_path)


@pytest.mark.parametrize("command", [["./flood", "-"], ["python3", "stdout_flood.py"]],
                         ids=["c", "python"])  # fmt: skip
def test_output_flood_is_stopped_at_the_output_limit(
    shared: QemuVM, tmp_path: Path, command: list[str]
) -> None:
    limits = LIMITS.replace(output_kib=512, file_size_kib=256, cpu_time_s=3.0, wall_time_s=8.0)
    res, _, _ = run(shared, tmp_path, command, limits)
    assert res.status is Status.OL, res
    written = (tmp_path / "out").stat().st_size
    assert limits.output_kib * 1024 < written <= limits.output_kib * 1024 + 1
    assert_clean(shared, tmp_path)


def test_huge_file_in_the_box_is_stopped_at_the_file_size_limit(
    shared: QemuVM, tmp_path: Path
) -> None:
    limits = LIMITS.replace(output_kib=64, file_size_kib=512)
    res, _, _ = run(shared, tmp_path, ["./flood", "big"], limits)
    assert res.status is Status.OL, res
    shared.copy_out("big", tmp_path / "big")
    assert (tmp_path / "big").stat().st_size <= limits.file_size_kib * 1024 + 1
    shared.write_file("big", b"")


def test_many_files_fill_the_box_and_nothing_else(shared: QemuVM, tmp_path: Path) -> None:
    script = "mkdir many && cd many && seq 20000 | xargs touch 2>&1 | head -n 1; ls | wc -l"
    limits = LIMITS.replace(cpu_time_s=20.0, wall_time_s=40.0, memory_kib=128 * 1024, processes=6)
    res, out, err = run(shared, tmp_path, ["/bin/sh", "-c", script], limits)
    assert res.status is Status.OK, (res, err)
    message, count = out.splitlines()
    assert "No space left" in message
    assert 1000 < int(count) < 64 * 1024 // 4  # the box's inode cap (one per 4 KiB) stopped it
    shared.make_dir("many", empty=True)


# -- what is not the box's ------------------------------------------------------------------


def test_the_network_is_unreachable(shared: QemuVM, tmp_path: Path) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    port = listener.getsockname()[1]
    try:
        targets = [f"tcp:127.0.0.1:{port}", "tcp:10.0.2.2:22", "tcp:1.1.1.1:80",
                   "udp:8.8.8.8:53", "dns:example.com"]  # fmt: skip
        res, out, _ = run(shared, tmp_path, ["python3", "net_probe.py", *targets, "@interfaces"],
                          LIMITS.replace(cpu_time_s=5.0, wall_time_s=20.0))  # fmt: skip
        assert res.status is Status.OK, res
        results = json.loads(out)
        assert {
            t: r for t, r in results.items() if t in targets and not r.startswith("error:")
        } == {}
        assert results["@interfaces"] == "lo"  # the guest has no network device at all
        with pytest.raises(BlockingIOError):
            listener.accept()
    finally:
        listener.close()


def test_writes_outside_the_box_fail(shared: QemuVM, tmp_path: Path) -> None:
    targets = ["/etc/hostile", "/usr/hostile", "/hostile", "/run/assay/hostile", "/root/x"]
    res, out, _ = run(shared, tmp_path, ["python3", "write_probe.py", *targets],
                      LIMITS.replace(cpu_time_s=5.0, wall_time_s=20.0))  # fmt: skip
    assert res.status is Status.OK, res
    results = json.loads(out)
    assert {t: r for t, r in results.items() if not r.startswith("error:")} == {}


def test_another_vm_and_the_host_are_out_of_reach(
    qemu_host: QemuHost, shared: QemuVM, tmp_path: Path
) -> None:
    """Each VM is a machine of its own: the other's box, and the host's files, are not there."""
    secret = f"secret-{os.getpid()}-{time.time_ns()}"
    host_file = Path("/tmp") / secret
    host_file.write_text(secret)
    shared.write_file("secret.txt", secret.encode())
    try:
        with qemu_host.get_vm(box_size_kib=16 * 1024) as other:
            assert not other.exists("secret.txt")
            script = f"ls /box /tmp; grep -rl {secret} /tmp /box /run 2>/dev/null; true"
            res, out, _ = run(other, tmp_path, ["/bin/sh", "-c", script],
                              LIMITS.replace(processes=4, cpu_time_s=5.0, wall_time_s=20.0))  # fmt: skip
            assert res.status is Status.OK, res
            assert secret not in out
            assert other.guest.pid != shared.guest.pid
        assert_gone(other)
    finally:
        host_file.unlink()
        shared.write_file("secret.txt", b"")


# -- files in and out ---------------------------------------------------------------------------


def test_copy_out_refuses_symlinks_and_what_is_not_a_regular_file(
    shared: QemuVM, tmp_path: Path
) -> None:
    script = "ln -sf /etc/shadow link; mkdir -p d; ln -sfn /etc dirlink; mkfifo fifo"
    res, _, err = run(shared, tmp_path, ["/bin/sh", "-c", script], LIMITS.replace(processes=4))
    assert res.status is Status.OK, (res, err)
    for name in ("link", "d", "fifo", "dirlink/passwd", "missing"):
        with pytest.raises(FileNotFoundError):
            shared.copy_out(name, tmp_path / "got")
    assert not (tmp_path / "got").exists()


def test_tester_writes_replace_planted_symlinks_instead_of_following_them(
    shared: QemuVM, tmp_path: Path
) -> None:
    script = "ln -sfn /etc planted; ln -sf /etc/passwd passwd-link"
    run(shared, tmp_path, ["/bin/sh", "-c", script], LIMITS.replace(processes=2))
    mine = f"written-by-the-tester-{time.time_ns()}"
    shared.write_file("planted/hostname", mine.encode())  # a directory of the box now
    shared.write_file("passwd-link", mine.encode())  # a file of the box now
    check = (
        f"cat planted/hostname; echo; test -L passwd-link || echo regular; grep -l {mine} /etc/*"
    )
    res, out, _ = run(shared, tmp_path, ["/bin/sh", "-c", check], LIMITS.replace(processes=4))
    assert res.status is Status.RE, res  # grep found nothing: the guest's /etc is untouched
    assert out.splitlines() == [mine, "regular"]


@pytest.mark.parametrize("path", ["../etc/passwd", "/etc/passwd", "a/../../x"])
def test_paths_outside_the_box_are_refused(shared: QemuVM, tmp_path: Path, path: str) -> None:
    with pytest.raises(SandboxError, match="outside the box"):
        shared.write_file(path, b"x")
    with pytest.raises(SandboxError, match="outside the box"):
        shared.copy_out(path, tmp_path / "x")


def test_a_directory_is_copied_in_and_its_files_out(shared: QemuVM, tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "sub").mkdir(parents=True)
    (source / "sub" / "a.txt").write_text("alpha")
    (source / "run.sh").write_text("#!/bin/sh\ncat sub/a.txt\n")
    (source / "run.sh").chmod(0o755)
    shared.copy_in(source, "job")
    out = tmp_path / "out"
    res = shared.run(["/bin/sh", "-c", "cd job && ./run.sh"], LIMITS.replace(processes=4),
                     stdout=out)  # fmt: skip
    assert res.status is Status.OK and out.read_text() == "alpha", res
    shared.copy_out("job/sub/a.txt", tmp_path / "back.txt")
    assert (tmp_path / "back.txt").read_text() == "alpha"


# -- measurements -----------------------------------------------------------------------------


def test_cpu_time_and_memory_agree_with_the_guest_kernel(shared: QemuVM, tmp_path: Path) -> None:
    """The cgroup's cpu time and peak memory of a known program agree with the guest kernel's
    rusage of the same program (under software emulation the host's figures do not apply)."""
    limits = Limits(cpu_time_s=10.0, wall_time_s=30.0, memory_kib=256 * 1024, processes=2)

    def once(iters: int, mib: int) -> tuple[RunResult, float, int]:
        res, _, err = run(shared, tmp_path, ["./rusage", "./burn", str(iters), str(mib)], limits)
        assert res.status is Status.OK, (res, err)
        us, maxrss = err.split()
        return res, int(us) / 1e6, int(maxrss)

    _, probe_s, _ = once(2_000_000, 0)
    iters = int(2_000_000 * 0.6 / max(probe_s, 1e-3))  # about 0.6 s of the guest's cpu
    rows = [once(iters, 48) for _ in range(3)]
    # the run's cgroup also counts what the guest kernel's rusage of the program leaves out: the
    # agent's fork, the wrapper's exec and fork (~2 ms natively; 0.1-0.2 s emulated on a busy
    # host): measured alike with a program that does nothing
    trivial = [once(0, 0) for _ in range(3)]
    start_s = statistics.median(r.cpu_time_s - c for r, c, _ in trivial)
    cpu = statistics.median(r.cpu_time_s for r, _, _ in rows)
    kernel_cpu = statistics.median(c for _, c, _ in rows)
    memory = statistics.median(r.memory_kib for r, _, _ in rows)
    kernel_memory = statistics.median(m for _, _, m in rows)
    report = (
        f"cpu {cpu:.3f} s vs rusage {kernel_cpu:.3f} s + start {start_s:.3f} s; "
        f"peak {memory} vs maxrss {kernel_memory} KiB"
    )
    print(report)
    # aimed at 0.6 s from one probe; an emulated guest on a busy host runs the same loop at
    # half the speed or twice: enough work to compare is what counts
    assert kernel_cpu > 0.15, report
    assert abs(cpu - start_s - kernel_cpu) <= 0.05 * kernel_cpu + 0.05, report
    assert kernel_memory > 48 * 1024, report
    assert abs(memory - kernel_memory) <= 0.1 * kernel_memory, report


# -- guests: fresh, pooled, killed --------------------------------------------------------------


def test_each_vm_is_a_fresh_guest_from_the_pool_and_is_gone_after(
    qemu_host: QemuHost, tmp_path: Path
) -> None:
    first = qemu_host.get_vm(box_size_kib=16 * 1024)
    first.write_file("mark", b"first")
    first.destroy()
    assert_gone(first)
    started = time.monotonic()
    second = qemu_host.get_vm(box_size_kib=16 * 1024)
    took_s = time.monotonic() - started
    try:
        assert second.guest.pid != first.guest.pid
        assert not second.exists("mark")  # a clean guest, not the first one's
        assert second.guest.restored == qemu_host.snapshot
        print(f"second VM ready in {took_s:.2f} s")
    finally:
        second.destroy()
    assert_gone(second)


def test_a_guest_killed_mid_run_is_a_sandbox_error_not_the_programs(
    qemu_host: QemuHost, tmp_path: Path
) -> None:
    vm = qemu_host.get_vm(box_size_kib=16 * 1024)
    try:
        process = vm.start(["/bin/sleep", "20"], LIMITS.replace(wall_time_s=30.0),
                           stdout=tmp_path / "out")  # fmt: skip
        time.sleep(0.5)
        os.kill(vm.guest.pid, 9)
        res = process.wait()
        assert res.status is Status.XX, res
        with pytest.raises(SandboxError):
            vm.write_file("after", b"x")
    finally:
        vm.destroy()
    assert_gone(vm)


def test_the_sandbox_command_reports_the_qemu_backend(guest_image: str) -> None:
    env = {**os.environ, "ASSAY_QEMU_IMAGE": guest_image, "ASSAY_QEMU_POOL": "0"}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "assay"), "sandbox", "--backend", "qemu"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    import yaml

    info: dict[str, Any] = yaml.safe_load(done.stdout)
    assert info["backend"] == "qemu"
    assert info["accel"] in ("kvm", "tcg") and info["why"]
    assert info["image"].startswith(f"{guest_image}@")
    assert info["self_test"].startswith("OK")


def test_an_assignment_is_evaluated_on_guests_like_on_the_other_backends(
    qemu_host: QemuHost,
) -> None:
    """The executor builds, runs and judges through the VM API: the bash example's reference
    solutions get their verdicts in guests (bash is in every Debian system)."""
    from assay.check import check_package
    from assay.package import open_package

    with open_package(REPO / "examples" / "hello-bash") as assignment:
        report = check_package(assignment, qemu_host)
    assert report.ok, report


def test_image_build_guest_makes_a_bootable_image_once(guest_image: str) -> None:
    """`assay image build NAME --guest` (the recipe is built already: nothing is rebuilt)."""
    from typer.testing import CliRunner

    from assay.cli import app

    result = CliRunner().invoke(app, ["image", "build", guest_image, "--guest"])
    assert result.exit_code == 0, result.output
    assert "already built" in result.output
    assert "guest disk:" in result.output and ".ext4" in result.output


def test_runtimes_are_verified_inside_the_guest_not_on_the_tester(qemu_host: QemuHost) -> None:
    """bash is in the guest; gcc is on the tester but not in the guest: c is not offered."""
    from assay.runtimes.verify import verify_runtimes

    found = {s.name: s for s in verify_runtimes(qemu_host, ["bash", "c"], use_cache=False)}
    assert found["bash"].ok, found["bash"]
    assert not found["c"].ok and "gcc" in found["c"].message


# -- the parts without a guest --------------------------------------------------------------


def test_the_accelerator_can_be_chosen_and_a_wrong_choice_is_named(guest_image: str) -> None:
    host = QemuHost(image=guest_image, pool_size=0, accel="tcg")
    assert (host.accel, host.accel_reason) == ("tcg", "chosen by ASSAY_QEMU_ACCEL")
    with pytest.raises(SandboxError, match="ASSAY_QEMU_ACCEL='fast', use kvm or tcg"):
        QemuHost(image=guest_image, pool_size=0, accel="fast")


def test_a_missing_guest_image_says_how_to_build_one() -> None:
    with pytest.raises(SandboxError, match="assay image build no-such-guest --guest"):
        QemuHost(image="no-such-guest", pool_size=0)


@pytest.mark.parametrize(
    ("facts", "status", "message"),
    [
        ({"wait_status": 0}, Status.OK, ""),
        ({"wait_status": 3 << 8}, Status.RE, "exit code 3"),
        ({"wait_status": 127 << 8, "exec_error": "FileNotFoundError: x"}, Status.RE, "cannot run"),
        ({"wait_status": 9, "killed_for": "wall time"}, Status.TO, "wall time limit"),
        ({"wait_status": 9, "killed_for": "memory"}, Status.ML, "memory limit"),
        ({"wait_status": 9, "oom": True}, Status.ML, "memory limit"),
        ({"wait_status": 25}, Status.OL, "output limit"),  # SIGXFSZ
        ({"wait_status": 11}, Status.SG, "signal 11 (SIGSEGV)"),
        ({"wait_status": 1 << 8, "oversized": "big"}, Status.OL, "file size limit"),
        ({"wait_status": None}, Status.XX, "lost the program"),
    ],
)
def test_the_agents_facts_are_judged_by_the_other_backends_rules(
    facts: dict[str, Any], status: Status, message: str
) -> None:
    from assay.sandbox.qemu import verdict

    full = {"cpu_time_s": 0.1, "wall_time_s": 0.2, "memory_kib": 1024, **facts}
    res = verdict(full, LIMITS, 10, 0)
    assert res.status is status and message in res.message, res
