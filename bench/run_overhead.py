"""What a sandboxed run costs on each backend, next to the same program run bare.

    uv run python bench/run_overhead.py [--runs 200] [--gap-ms 30] [--check-tests 5,25]

Part 1: a trivial C program (``int main(void){return 0;}``, gcc -O2, dynamically linked) run
bare (``subprocess.run``: vfork + exec), through ``vm.run`` on the bubblewrap backend and through
``vm.run`` on the launcher backend, alternating run by run, first back to back and then with an
idle gap before every run (a real evaluation has one: the previous program's own run time).
Prints median / p10 / p90 wall time per run, the overhead over bare, and the cpu time each
backend charges to the program (the cgroup's: what a student's "time" shows for a program that
does nothing).

Part 2: ``assay check``'s marginal cost per test: a C assignment checked with N1 and N2 tests of
a trivial program (empty input, empty output), on each backend; the cost of one more test is the
difference divided by N2 - N1, next to a bare run of the same binary.

Needs root (the testers' production mode). Prints the machine and whether the cgroup hierarchy
favours dynamic modifications (``favordynmods``): without it, joining a cgroup after an idle gap
stalls for an RCU grace period. Set ``ASSAY_CGROUP_FAVORDYNMODS=0`` to measure the machine's
default state (the launcher backend otherwise switches it on, for good until reboot on 6.18).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from _common import Stats, compile_c, header, machine, others_load, require_root

from assay.check import check_package
from assay.package import open_package
from assay.sandbox import Limits, Status
from assay.sandbox.bwrap import BwrapHost
from assay.sandbox.launcher import LauncherHost, favordynmods_state

TRIVIAL_C = "int main(void) { return 0; }\n"
LIMITS = Limits(cpu_time_s=1.0, memory_kib=64 * 1024, processes=1)


def per_run(hosts: dict[str, BwrapHost], exe: Path, runs: int, gap_s: float) -> None:
    vms = {name: host.get_vm(box_size_kib=16 * 1024) for name, host in hosts.items()}
    try:
        for vm in vms.values():
            vm.copy_in(exe)
        wall: dict[str, Stats] = {"bare": Stats("bare (subprocess.run)", [])}
        charged: dict[str, list[float]] = {}
        for name in vms:
            wall[name] = Stats(f"{name} (vm.run)", [])
            charged[name] = []

        def one(name: str) -> None:
            if gap_s:
                time.sleep(gap_s)
            t = time.perf_counter()
            if name == "bare":
                subprocess.run([str(exe)], check=True)
            else:
                res = vms[name].run(["./" + exe.name], LIMITS)
                if res.status is not Status.OK:
                    raise SystemExit(f"{name}: {res}")
                charged[name].append(res.cpu_time_s * 1000)
            wall[name].samples_ms.append((time.perf_counter() - t) * 1000)

        for _ in range(3):  # warm-up
            for name in wall:
                one(name)
        for stats in wall.values():
            stats.samples_ms.clear()
        for values in charged.values():
            values.clear()
        for _ in range(runs):
            for name in wall:
                one(name)
        what = f"with {gap_s * 1000:.0f} ms idle before each run" if gap_s else "back to back"
        print(f"\n{what}, {runs} runs of each, interleaved")
        print(header())
        for stats in wall.values():
            print(stats.row())
        bare = wall["bare"].median
        for name in vms:
            over = wall[name].median - bare
            cpu = statistics.median(charged[name])
            print(f"  {name}: overhead over bare {over:6.2f} ms, ratio {wall[name].median / bare:5.2f} x, "
                  f"cpu time charged to the program {cpu:5.2f} ms (median)")  # fmt: skip
    finally:
        for vm in vms.values():
            vm.destroy()


def make_package(root: Path, tests: int) -> Path:
    (root / "tests").mkdir(parents=True)
    (root / "solutions" / "accepted").mkdir(parents=True)
    (root / "assignment.yaml").write_text(
        "title: Trivial (benchmark)\nruntime: c\npoints: 1\nlimits:\n  time_s: 1\n  memory_mib: 64\n"
    )
    (root / "solutions" / "accepted" / "main.c").write_text(TRIVIAL_C)
    for k in range(1, tests + 1):
        d = root / "tests" / f"{k:03d}"
        d.mkdir()
        (d / "input").write_text("")
        (d / "output").write_text("")
    return root


def check_cost(hosts: dict[str, BwrapHost], exe: Path, sizes: tuple[int, int], rounds: int) -> None:
    small, big = sizes
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        packages = {
            n: stack.enter_context(open_package(make_package(Path(tmp) / str(n), n))) for n in sizes
        }
        times: dict[str, dict[int, list[float]]] = {name: {small: [], big: []} for name in hosts}
        bare: list[float] = []
        for _ in range(rounds):
            for name, host in hosts.items():
                for n in sizes:
                    t = time.perf_counter()
                    report = check_package(packages[n], host)
                    times[name][n].append((time.perf_counter() - t) * 1000)
                    if not report.ok:
                        raise SystemExit(f"{name}: the check failed: {report.to_dict()}")
            t = time.perf_counter()
            subprocess.run([str(exe)], check=True)
            bare.append((time.perf_counter() - t) * 1000)
    bare_ms = statistics.median(bare)
    print(
        f"\nassay check of a trivial C assignment, {small} and {big} tests, {rounds} rounds, interleaved"
    )
    print(f"  a bare run of the program: {bare_ms:.2f} ms (median)")
    for name in hosts:
        t_small, t_big = (statistics.median(times[name][n]) for n in sizes)
        per_test = (t_big - t_small) / (big - small)
        print(f"  {name}: {t_small:7.1f} ms with {small} tests, {t_big:7.1f} ms with {big}: "
              f"{per_test:5.2f} ms per extra test, {per_test - bare_ms:5.2f} ms over bare")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=200, help="runs of each variant per part")
    ap.add_argument("--gap-ms", type=float, default=30.0, help="idle time before each run")
    ap.add_argument("--check-tests", default="5,25", help="the two test counts for part 2")
    ap.add_argument("--check-rounds", type=int, default=3)
    args = ap.parse_args()
    require_root()
    print(machine())
    print(others_load())
    hosts: dict[str, BwrapHost] = {"bwrap": BwrapHost(), "launcher": LauncherHost()}
    launcher = hosts["launcher"]
    assert isinstance(launcher, LauncherHost)
    print(f"cgroup v{launcher.cgroups.version}; favordynmods: {launcher.favordynmods}"
          f" (mount with it: {favordynmods_state() or 'none'})")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        exe = compile_c(TRIVIAL_C, Path(tmp), "trivial")
        per_run(hosts, exe, args.runs, 0.0)
        per_run(hosts, exe, args.runs, args.gap_ms / 1000)
        small, big = (int(x) for x in args.check_tests.split(","))
        check_cost(hosts, exe, (small, big), args.check_rounds)


if __name__ == "__main__":
    main()
