"""Prototype: what a run costs with a small C launcher instead of bubblewrap + preexec_fn.

    uv run python bench/minibox_overhead.py [--runs 200]

Compiles bench/minibox.c (a ~250-line isolate-style launcher: fresh mount, pid, ipc, uts, cgroup
namespaces per run, no user namespace because the tester is root, the command as the box uid)
and times, interleaved, on the same trivial C program in the same box:

* bare ``subprocess.run``,
* ``vm.run`` (today's sandbox),
* minibox driven the way the sandbox drives bwrap (a cgroup per run, the pidfd watch loop, the
  cgroup's cpu time and peak memory read after the run), with a fresh net namespace per run,
* the same with one net namespace made once per VM and entered by ``setns`` (loopback down),
* the same with the VM's cgroup reused from run to run (counters reset instead of a new group),
* the launcher alone (``subprocess.run`` of minibox, no cgroup, no measuring).

It is a measurement, not a sandbox: see docs/performance.md for what production would still need.
Needs root.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import compile_c, header, interleave, machine, others_load, require_root

from assay.sandbox import Limits, Status, get_host
from assay.sandbox.bwrap import BWRAP_PROCESSES, CPU_POLL_S, DEFAULT_ENV, _rlimits
from assay.sandbox.cgroups import _write

HERE = Path(__file__).resolve().parent
TRIVIAL_C = "int main(void) { return 0; }\n"
CLONE_NEWNET = 0x40000000
DEVNULL = subprocess.DEVNULL


def make_netns() -> int:
    """A net namespace with nothing in it (loopback down), kept alive by the returned fd."""
    libc = ctypes.CDLL(None, use_errno=True)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        os.close(r)
        ok = libc.unshare(CLONE_NEWNET) == 0
        os.write(w, b"1" if ok else b"0")
        time.sleep(30)
        os._exit(0)
    os.close(w)
    ok = os.read(r, 1) == b"1"
    os.close(r)
    try:
        if not ok:
            raise SystemExit("cannot make a net namespace")
        return os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)


class Minibox:
    """Drives the launcher as the sandbox drives bwrap (a sketch of a possible backend)."""

    def __init__(self, host, vm, launcher: Path, newroot: Path, netns_fd: int | None) -> None:
        self.host, self.vm, self.launcher, self.newroot = host, vm, launcher, newroot
        self.netns_fd = netns_fd
        self.n = 0
        self.shared_cg = None

    def argv(self, limits: Limits, procs_files: list[str], command: list[str]) -> list[str]:
        rl = dict(_rlimits(limits))
        import resource

        a = [str(self.launcher), "-u", str(self.vm.uid), "-R", str(self.newroot)]
        for pf in procs_files:
            a += ["-c", pf]
        if self.netns_fd is None:
            a += ["-N"]
        else:
            a += ["-n", str(self.netns_fd)]
        a += ["-r", "/usr:/usr", "-r", "/etc:/etc", "-w", f"{self.vm.dir}:/box"]
        for d in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
            if os.path.islink(d):
                a += ["-l", f"{os.readlink(d)}:{d}"]
            elif os.path.isdir(d):
                a += ["-r", f"{d}:{d}"]
        a += ["-t", str(min(self.vm.box_size_kib, max(limits.file_size_kib, 1024)) * 1024)]
        a += ["-T", str(rl[resource.RLIMIT_CPU][0]), "-P", str(rl[resource.RLIMIT_NPROC][0])]
        a += ["-F", str(rl[resource.RLIMIT_FSIZE][0]), "-O", str(rl[resource.RLIMIT_NOFILE][0])]
        for k, v in DEFAULT_ENV.items():
            a += ["-e", f"{k}={v}"]
        return a + ["--", *command]

    def run(self, command: list[str], limits: Limits, *, reuse_cgroup: bool = False) -> dict:
        self.n += 1
        if reuse_cgroup:
            if self.shared_cg is None:
                self.shared_cg = self.host.cgroups.create(f"minibox-{os.getpid()}")
            cg = self.shared_cg
            cg.set_limits(limits.memory_kib, limits.processes + BWRAP_PROCESSES)
            _write(cg.dirs["memory"] / "memory.max_usage_in_bytes", "0")
            _write(cg.dirs["cpuacct"] / "cpuacct.usage", "0")
        else:
            cg = self.host.cgroups.create(f"minibox-{os.getpid()}-{self.n}")
            cg.set_limits(limits.memory_kib, limits.processes + BWRAP_PROCESSES)
        argv = self.argv(limits, cg.procs_files, command)
        fds = (self.netns_fd,) if self.netns_fd is not None else ()
        started = time.monotonic()
        p = subprocess.Popen(argv, stdin=DEVNULL, stdout=DEVNULL, stderr=DEVNULL, pass_fds=fds)
        pidfd = os.pidfd_open(p.pid)  # the same watch loop as the sandbox's
        try:
            poller = select.poll()
            poller.register(pidfd, select.POLLIN)
            deadline = started + limits.effective_wall_time_s
            while not poller.poll(CPU_POLL_S * 1000):
                if time.monotonic() > deadline or cg.cpu_time_s() > limits.cpu_time_s:
                    cg.kill_all()
        finally:
            os.close(pidfd)
        _, status, _ = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - started
        cg.kill_all()  # nothing is left: pid 1 of the namespace is gone, so is everything in it
        res = {
            "code": p.returncode,
            "cpu_time_s": cg.cpu_time_s(),
            "memory_kib": cg.memory_peak_kib(),
            "oom": cg.oom_killed(),
            "wall_time_s": wall,
        }
        if not reuse_cgroup:
            cg.remove()
        return res

    def close(self) -> None:
        if self.shared_cg is not None:
            self.shared_cg.remove()


def sanity(box: Minibox, vm) -> None:
    """Show that the prototype really isolates (uid, capabilities, network, mounts, pid)."""
    out = vm.dir / "sanity.out"
    script = (
        "id; grep -E '^Cap(Eff|Prm|Bnd)|^NoNewPrivs' /proc/self/status; echo pid=$$; "
        "hostname; ls /; cat /proc/net/dev | tail -n +3 | cut -d: -f1; "
        "touch /usr/x 2>&1 | head -1; ls /dev | tr '\\n' ' '"
    )
    argv = box.argv(Limits(processes=8), [], ["/bin/sh", "-c", script])
    fds = (box.netns_fd,) if box.netns_fd is not None else ()
    with open(out, "wb") as f:
        p = subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT, pass_fds=fds)
    print(f"  sanity check (exit {p.returncode}):")
    for line in out.read_text().splitlines():
        print(f"    {line}")
    out.unlink()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=200)
    args = ap.parse_args()
    require_root()
    print(f"machine: {machine()}")
    print(f"load: {others_load()}")
    host = get_host("bwrap")  # the prototype is compared with the bubblewrap backend
    limits = Limits()
    with tempfile.TemporaryDirectory(prefix="assay-minibox-") as tmp:
        t = Path(tmp)
        exe = compile_c(TRIVIAL_C, t, "trivial")
        try:  # static: no dynamic loader at each run (saves ~0.3 ms here)
            launcher = compile_c((HERE / "minibox.c").read_text(), t, "minibox", "-static")
            linked = "static"
        except subprocess.CalledProcessError:
            launcher = compile_c((HERE / "minibox.c").read_text(), t, "minibox")
            linked = "dynamic (no static libc here)"
        print(f"  launcher: {linked}")
        newroot = t / "newroot"
        newroot.mkdir()
        vm = host.get_vm(box_size_kib=64 * 1024)
        netns = make_netns()
        fresh = Minibox(host, vm, launcher, newroot, None)
        shared = Minibox(host, vm, launcher, newroot, netns)
        try:
            vm.copy_in(exe, "trivial")
            sanity(shared, vm)
            cmd = ["./trivial"]

            def check(r: dict) -> None:
                assert r["code"] == 0, r

            def sandboxed() -> None:
                r = vm.run(cmd, limits)
                assert r.status is Status.OK, r

            def launcher_alone() -> None:
                p = subprocess.run(shared.argv(limits, [], cmd), stdin=DEVNULL, pass_fds=(netns,))
                assert p.returncode == 0

            variants = {
                "bare: subprocess.run": lambda: subprocess.run([str(exe)], stdin=DEVNULL),
                "vm.run (bwrap + preexec_fn + cgroup per run)": sandboxed,
                "minibox, cgroup per run, net ns per run": lambda: check(fresh.run(cmd, limits)),
                "minibox, cgroup per run, net ns per VM": lambda: check(shared.run(cmd, limits)),
                "minibox, cgroup per VM, net ns per VM": lambda: check(
                    shared.run(cmd, limits, reuse_cgroup=True)
                ),
                "minibox launcher alone (no cgroup, no watch)": launcher_alone,
            }
            res = interleave(variants, args.runs)
            print(f"\n  {args.runs} runs of each, interleaved")
            print(header())
            bare = res["bare: subprocess.run"].median
            for st in res.values():
                print(st.row() + f"   overhead {st.median - bare:6.3f} ms")
            r = shared.run(cmd, limits, reuse_cgroup=True)
            print(
                f"\n  minibox reports: cpu {r['cpu_time_s'] * 1000:.3f} ms, "
                f"peak memory {r['memory_kib']} KiB, wall {r['wall_time_s'] * 1000:.3f} ms"
            )
        finally:
            shared.close()
            os.close(netns)
            vm.destroy()


if __name__ == "__main__":
    sys.exit(main())
