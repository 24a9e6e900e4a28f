"""Per-run overhead of the sandbox: a trivial C program run bare and through ``vm.run``.

    uv run python bench/sandbox_overhead.py [--runs 300] [--breakdown-runs 100]

Part 1 runs the same binary bare (``subprocess.run`` from Python, which uses vfork + exec) and
through the bubblewrap + cgroups sandbox (``vm.run``), alternating run by run so that both see the
same machine state, and prints median, p10/p90, the overhead per run and the ratio.

Part 2 takes a sandboxed run apart, timing each ingredient alone (again interleaved):

* the Python ``fork`` that ``preexec_fn`` forces (``subprocess`` cannot use vfork then),
* what ``preexec_fn`` does (join the run's cgroup in 3 v1 hierarchies, rlimits, setuid),
* bubblewrap alone with the VM's exact arguments (namespaces + mounts), spawned as the box uid,
* bubblewrap started the way the sandbox starts it, in a cgroup made once,
* a cgroup's life cycle alone (create in each hierarchy, set limits, remove),

from which the cost of each step is derived.

Part 3 times joining a cgroup after an idle gap: on kernels where the cgroup hierarchy does not
favour dynamic modifications (mount option ``favordynmods``), the first migration after ~50 ms
of quiet waits for an RCU grace period (5-11 ms measured here), which back-to-back trivial runs
never show but a real evaluation pays on every run. Needs root (the sandbox's production mode).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import (
    Stats,
    compile_c,
    header,
    interleave,
    machine,
    others_load,
    require_root,
    run_bwrap,
)

from assay.sandbox import Limits, Status, get_host
from assay.sandbox.bwrap import BWRAP_PROCESSES, _rlimits

TRIVIAL_C = "int main(void) { return 0; }\n"
DEVNULL = subprocess.DEVNULL


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=300, help="runs of each, bare and sandboxed")
    ap.add_argument("--breakdown-runs", type=int, default=100, help="runs of each ingredient")
    args = ap.parse_args()
    require_root()

    print(f"machine: {machine()}")
    print(f"load: {others_load()}")
    host = get_host("bwrap")  # this script takes bubblewrap apart
    print(f"sandbox: {host.describe()}")
    with tempfile.TemporaryDirectory(prefix="assay-bench-") as tmp:
        exe = compile_c(TRIVIAL_C, Path(tmp), "trivial")
        vm = host.get_vm(box_size_kib=64 * 1024)
        try:
            vm.copy_in(exe, "trivial")
            limits = Limits()
            results = part1(vm, exe, limits, args.runs)
            part2(host, vm, exe, limits, args.breakdown_runs, results)
            part3(host, limits)
            part4(exe)
        finally:
            vm.destroy()


def part1(vm, exe: Path, limits: Limits, runs: int) -> dict[str, Stats]:
    reported_wall: list[float] = []
    reported_cpu: list[float] = []
    reported_mem: list[int] = []

    def bare() -> None:
        p = subprocess.run([str(exe)], stdin=DEVNULL, stdout=DEVNULL, stderr=DEVNULL)
        assert p.returncode == 0

    def sandboxed() -> None:
        r = vm.run(["./trivial"], limits)
        assert r.status is Status.OK, r
        reported_wall.append(r.wall_time_s * 1000)
        reported_cpu.append(r.cpu_time_s * 1000)
        reported_mem.append(r.memory_kib)

    res = interleave({"bare (subprocess.run)": bare, "sandbox (vm.run)": sandboxed}, runs)
    b, s = res["bare (subprocess.run)"], res["sandbox (vm.run)"]
    print(
        f"\n1. trivial C program (int main(void){{return 0;}}, gcc -O2), {runs} runs each, "
        "alternating"
    )
    print(header())
    print(b.row())
    print(s.row())
    print(
        f"  overhead per run (median sandbox - median bare): {s.median - b.median:.3f} ms "
        f"(p10..p90 of the sandbox: {s.p10:.3f}..{s.p90:.3f} ms)"
    )
    print(f"  ratio sandbox / bare (medians): {s.median / b.median:.1f}x")
    print(
        f"  the sandbox reports per run (medians): wall {statistics.median(reported_wall):.3f} ms,"
        f" cpu {statistics.median(reported_cpu):.3f} ms (the cgroup's: bwrap's own setup "
        f"included), peak memory {statistics.median(reported_mem):.0f} KiB"
    )
    return res


def part2(host, vm, exe: Path, limits: Limits, runs: int, part1_results: dict[str, Stats]) -> None:
    uid = vm.uid
    rlimits = _rlimits(limits)
    cg = host.cgroups.create(f"bench-{os.getpid()}")
    cg.set_limits(limits.memory_kib, limits.processes + BWRAP_PROCESSES)
    procs_files = cg.procs_files
    box_exe = str(vm.dir / "trivial")  # the same binary, readable by the box uid
    bwrap = vm.bwrap_args(limits, None, None) + ["--", "./trivial"]

    def prepare_child() -> None:  # what the sandbox's preexec_fn does
        for pf in procs_files:
            with open(pf, "w") as f:
                f.write(str(os.getpid()))
        for which, value in rlimits:
            resource.setrlimit(which, value)
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)

    def run(argv: list[str], **kw) -> None:
        p = subprocess.run(argv, stdin=DEVNULL, stdout=DEVNULL, stderr=DEVNULL, **kw)
        assert p.returncode == 0, (argv[0], p.returncode)

    as_uid = {"user": uid, "group": uid, "extra_groups": []}
    c_life_tag = iter(range(10**9))

    def cgroup_life() -> None:
        g = host.cgroups.create(f"bench-{os.getpid()}-{next(c_life_tag)}")
        g.set_limits(limits.memory_kib, limits.processes + BWRAP_PROCESSES)
        g.remove()

    def bwrap_alone() -> None:
        run_bwrap(bwrap, **as_uid)

    def bwrap_preexec() -> None:
        run_bwrap(bwrap, preexec_fn=prepare_child)

    def sandboxed() -> None:
        r = vm.run(["./trivial"], limits)
        assert r.status is Status.OK, r

    variants = {
        "A  bare: subprocess.run (vfork + exec)": lambda: run([str(exe)]),
        "B  bare as the box uid (user=, fork in C)": lambda: run([box_exe], **as_uid),
        "C  bare + preexec_fn=noop (fork of Python)": lambda: run(
            [str(exe)], preexec_fn=lambda: None
        ),
        "D  bare + the sandbox's preexec_fn": lambda: run([box_exe], preexec_fn=prepare_child),
        "E  bwrap, VM's args, as the box uid, no cgroup": bwrap_alone,
        "F  bwrap + the sandbox's preexec_fn (cgroup made once)": bwrap_preexec,
        "G  cgroup create + set limits + remove (no process)": cgroup_life,
        "H  vm.run (everything)": sandboxed,
    }
    try:
        res = interleave(variants, runs)
    finally:
        cg.remove()
    med = {k[:1]: v.median for k, v in res.items()}
    print(f"\n2. where a sandboxed run's time goes ({runs} runs of each ingredient, interleaved)")
    print(header())
    for st in res.values():
        print(st.row())
    steps = [
        ("Python fork instead of vfork (preexec_fn forces it)", med["C"] - med["A"]),
        ("preexec_fn's work: join 3 v1 cgroups, 8 rlimits, setuid", med["D"] - med["C"]),
        ("bubblewrap: namespaces, mounts, its pid 1, teardown", med["E"] - med["B"]),
        ("cgroup life cycle (create, limits, remove)", med["G"]),
        (
            "the rest: watch loop, status pipe, reaping, cgroup reads",
            med["H"] - med["F"] - med["G"],
        ),
    ]
    total = med["H"] - med["A"]
    print(
        f"\n  derived cost of each step (medians; they add up to about the {total:.2f} ms overhead)"
    )
    for name, ms in steps:
        print(f"  {name:<60} {ms:7.3f} ms")
    print(f"  {'sum of the steps':<60} {sum(ms for _, ms in steps):7.3f} ms")
    with contextlib.suppress(Exception):
        b1 = part1_results["bare (subprocess.run)"].median
        print(f"\n  (part 1 measured bare {b1:.3f} ms; part 2's A is {med['A']:.3f} ms)")


def part3(host, limits: Limits, samples: int = 15) -> None:
    """Joining a cgroup takes cgroup_threadgroup_rwsem for writing; unless the cgroup hierarchy
    favours dynamic modifications (mount option favordynmods), the first write after an idle
    spell waits for an RCU grace period. Back-to-back trivial runs never see it; an evaluation,
    whose runs are spaced out by the programs' own run time, pays it on every run."""
    import time

    cg = host.cgroups.create(f"bench-join-{os.getpid()}")
    cg.set_limits(limits.memory_kib, 64)
    print(
        "\n3. joining the run's cgroups (3 v1 hierarchies) after an idle gap, "
        f"{samples} samples each"
    )
    try:
        for gap in (0.0, 0.03, 0.1):
            times = []
            for _ in range(samples):
                p = subprocess.Popen(["sleep", "5"])
                time.sleep(gap)
                t = time.perf_counter()
                for pf in cg.procs_files:
                    with open(pf, "w") as f:
                        f.write(str(p.pid))
                times.append((time.perf_counter() - t) * 1000)
                p.kill()
                p.wait()
            print(
                f"  after {gap * 1000:4.0f} ms idle: {statistics.median(times):6.3f} ms "
                f"(p90 {sorted(times)[int(0.9 * (samples - 1))]:6.3f})"
            )
    finally:
        cg.remove()
    print("  (several ms after an idle gap = the RCU stall; see docs/performance.md, favordynmods)")


def part4(exe: Path, runs: int = 40) -> None:
    """``preexec_fn`` makes subprocess fork the whole tester (vfork is impossible then), and a
    fork copies the page tables: its cost grows with the tester's resident memory."""
    print(f"\n4. starting a process vs the tester's resident memory ({runs} runs each)")
    ballast: list[bytearray] = []
    for extra_mib in (0, 100, 400):
        while len(ballast) * 10 < extra_mib:
            b = bytearray(10 << 20)
            b[::4096] = b"\1" * len(b[::4096])  # touch every page: really resident
            ballast.append(b)
        rss = _rss_mib()
        res = interleave(
            {
                "vfork": lambda: subprocess.run([str(exe)], stdin=DEVNULL),
                "preexec_fn": lambda: subprocess.run(
                    [str(exe)], stdin=DEVNULL, preexec_fn=lambda: None
                ),
            },
            runs,
        )
        print(
            f"  tester RSS {rss:5.0f} MiB: subprocess.run {res['vfork'].median:6.2f} ms, "
            f"with preexec_fn {res['preexec_fn'].median:6.2f} ms"
        )
    ballast.clear()


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


if __name__ == "__main__":
    sys.exit(main())
