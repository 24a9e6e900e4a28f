"""A tester forked from another (Celery's prefork pool) runs boxes as well as its parent."""

import os
import subprocess
import time
from pathlib import Path

import pytest

from assay.sandbox import Limits, Status, get_host
from assay.sandbox.launcher import SERVE_FD_BASE


def box_uid_zombies() -> int:
    out = subprocess.run(["ps", "-eo", "uid=,stat="], capture_output=True, text=True).stdout
    return sum(
        1
        for line in out.splitlines()
        if 60000 <= int(line.split()[0]) < 61000 and "Z" in line.split()[1]
    )


@pytest.mark.parametrize("backend", ["launcher", "bwrap"])
def test_a_forked_tester_reaps_its_boxes_and_runs_them_back_to_back(backend: str) -> None:
    host = get_host(backend)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a prefork worker process
        ok = False
        try:
            ok = True
            for _ in range(10):
                with host.get_vm() as vm:
                    # processes=1 is exact: a zombie of the previous run would make this fail
                    ok &= vm.run(["/bin/true"], Limits(processes=1)).ok
            ok &= box_uid_zombies() == 0
        except BaseException:
            ok = False
        finally:  # never back into pytest from a forked child
            os.write(write, b"1" if ok else b"0")
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"


@pytest.mark.parametrize("backend", ["launcher", "bwrap"])
def test_zombies_of_a_killed_tester_are_reaped_by_the_subreaper(backend: str) -> None:
    """A tester process killed mid-run leaves its boxes' processes to us (a subreaper): the next
    get_vm reaps them, so the box uid's process limit is not used up by zombies."""
    import signal
    import time

    host = get_host(backend)
    pid = os.fork()
    if pid == 0:
        try:
            with host.get_vm() as vm:
                vm.run(["/bin/sleep", "30"], Limits(cpu_time_s=1, wall_time_s=60))
        finally:  # never back into pytest from a forked child
            os._exit(0)
    time.sleep(0.5)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    time.sleep(0.3)  # bwrap dies with its parent, and is handed to us as a zombie
    host.reap_orphans()
    assert box_uid_zombies_of(os.getpid()) == 0
    with host.get_vm() as vm:
        assert vm.run(["/bin/true"], Limits(processes=1)).ok


def box_uid_zombies_of(parent: int) -> int:
    out = subprocess.run(["ps", "-eo", "uid=,ppid=,stat="], capture_output=True, text=True).stdout
    return sum(
        1 for line in out.splitlines()
        if 60000 <= int(line.split()[0]) < 61000 and int(line.split()[1]) == parent and "Z" in line.split()[2]
    )  # fmt: skip


def test_the_launcher_server_is_started_again_when_it_has_gone():
    host = get_host("launcher")
    with host.get_vm() as vm:
        assert vm.run(["/bin/true"], Limits(processes=1)).ok
        server = host.server.process
        server.kill()
        server.wait()
        # the next run finds the socket closed, starts a new server and runs
        assert vm.run(["/bin/true"], Limits(processes=1)).ok
        assert host.server.process.pid != server.pid


def run_sh(vm, script: str, out: Path, processes: int = 4):
    result = vm.run(["/bin/sh", "-c", script], Limits(processes=processes), stdout=out)
    return result, out.read_text()


def test_a_vm_keeps_its_pid_1_and_gives_each_run_a_fresh_tmp_and_ipc_namespace(tmp_path):
    """Runs of one VM share its pid 1 and mount namespace (nothing is made per run but the
    command), but not /tmp or SysV IPC objects: each run starts as clean as the first."""
    host = get_host("launcher")
    out = tmp_path / "out"
    namespaces = "readlink /proc/self/ns/mnt /proc/self/ns/ipc"
    with host.get_vm() as vm:
        script = f"echo x > /tmp/left; ipcmk -M 4096 >/dev/null; ipcs -m | grep -c 0x; {namespaces}"
        first, text = run_sh(vm, script, out)
        assert first.ok, first
        count, mnt_ns, ipc_ns = text.split()
        assert count == "1"  # the segment was made
        keeper = vm._keeper
        second, text = run_sh(vm, f"ls -A /tmp; ipcs -m | grep -c 0x; {namespaces}", out)
        assert second.status is not Status.XX, second
        count, mnt_again, ipc_again = text.split()  # ls printed nothing: /tmp is empty
        assert (count, mnt_again) == ("0", mnt_ns)
        assert ipc_again != ipc_ns
        assert vm._keeper is keeper
    assert keeper.pidfd == -1  # the VM's end ended its pid 1


def test_a_vm_whose_pid_1_died_starts_a_new_one_for_the_next_run(tmp_path):
    import signal

    host = get_host("launcher")
    with host.get_vm() as vm:
        assert vm.run(["/bin/true"], Limits(processes=1)).ok
        keeper = vm._keeper
        os.kill(keeper.pid, signal.SIGKILL)  # the launcher; its pid 1 dies with it
        deadline = time.monotonic() + 5
        while vm._keeper_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        result = vm.run(["/bin/true"], Limits(processes=1))
        assert result.ok, result
        assert vm._keeper is not keeper


UNIFIED = Path("/sys/fs/cgroup/unified")  # a cgroup v2 hierarchy beside v1's (hybrid machines)


@pytest.mark.skipif(
    not (Path("/sys/fs/cgroup/cgroup.controllers").exists() or (UNIFIED / "cgroup.procs").exists()),
    reason="no cgroup v2 hierarchy on this machine",
)
def test_on_cgroup_v2_the_command_is_born_in_its_group(tmp_path):
    """clone3(CLONE_INTO_CGROUP): the command starts in the run's v2 group, without a
    migration. Driven by hand through the launcher server on whatever v2 hierarchy there is
    (the unified one of a hybrid machine has no controllers, which this does not need)."""
    host = get_host("launcher")
    base = UNIFIED if (UNIFIED / "cgroup.procs").exists() else Path("/sys/fs/cgroup")
    group = base / f"assay-test-{os.getpid()}"
    group.mkdir()
    dirfd = os.open(group, os.O_RDONLY | os.O_DIRECTORY)
    status_r, status_w = os.pipe()
    out = tmp_path / "out"
    try:
        with host.get_vm() as vm, open(out, "wb") as stdout:
            command = ["/bin/sh", "-c", "cat /proc/self/cgroup; sleep 0.5"]
            config = vm._config(command, Limits(processes=4), None, SERVE_FD_BASE, [])
            config += b"cgroup-dir\0%d\0" % (SERVE_FD_BASE + 1)
            vm._send_run(
                config, [host.devnull, stdout.fileno(), host.devnull, status_w, dirfd], {}, 1 << 20
            )
            os.close(status_w)
            status_w = -1
            members: list[str] = []
            deadline = time.monotonic() + 5
            while not members and time.monotonic() < deadline:
                members = (group / "cgroup.procs").read_text().split()
            status = b""
            while chunk := os.read(status_r, 4096):
                status += chunk
        assert members, "the command never showed up in the group"
        assert b"exit 0" in status, status
        # the command sees its own group as the root of its cgroup namespace
        assert "0::/\n" in out.read_text()
    finally:
        os.close(dirfd)
        os.close(status_r)
        if status_w >= 0:
            os.close(status_w)
        group.rmdir()
