"""The sandbox measures what the kernel measures: cpu time and peak memory of a known program
run through ``vm.run`` agree within 5 % with the kernel's rusage of the same program run bare,
and the time limit gives the right status on either side of the program's cpu time.

The bare runs go through a tiny C wrapper (fork, exec, wait4) rather than from Python: a child
forked from the Python process would report the parent's resident size in ``ru_maxrss`` (the
high-water mark of the address space it had before exec), while the wrapper's is ~1 MiB.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
from pathlib import Path

import pytest

from assay.sandbox import VM, Limits, Status

# Touches MEM MiB (every page written) and keeps it while it burns ITER rounds of a loop the
# compiler cannot remove: a fixed amount of work, so that both sides measure the same thing.
BURN_C = r"""
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
    long iters = argc > 1 ? atol(argv[1]) : 0;
    long mib = argc > 2 ? atol(argv[2]) : 0;
    char *p = NULL;
    if (mib > 0) {
        p = malloc((size_t)mib << 20);
        if (!p) return 2;
        memset(p, 1, (size_t)mib << 20);
    }
    volatile uint64_t x = 88172645463325252ULL;
    for (long i = 0; i < iters; i++) {  /* xorshift: cheap, no memory traffic */
        uint64_t v = x;
        v ^= v << 13; v ^= v >> 7; v ^= v << 17;
        x = v;
    }
    if (p) printf("%d\n", p[((size_t)mib << 20) - 1] + (int)(x & 1));
    return 0;
}
"""

# Runs a command as its child and prints the child's rusage: cpu (user + system) in
# microseconds and ru_maxrss in KiB.
RUSAGE_C = r"""
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
    pid_t pid = fork();
    if (pid < 0) return 125;
    if (pid == 0) { execv(argv[1], argv + 1); _exit(127); }
    int st; struct rusage ru;
    if (wait4(pid, &st, 0, &ru) < 0) return 125;
    long long us = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL
                 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
    fprintf(stderr, "%lld %ld\n", us, ru.ru_maxrss);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
"""

MEMORY_MIB = 100
TARGET_CPU_S = (
    1.0  # long enough that bwrap's own setup (charged to the run, 6–30 ms) stays well under 5 %
)
TOLERANCE = 0.05
RUNS = 7


def _compile(source: str, directory: Path, name: str) -> Path:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.fail("gcc is needed for the measurement tests")
    src = directory / f"{name}.c"
    src.write_text(source)
    exe = directory / name
    subprocess.run([gcc, "-O2", "-o", str(exe), str(src)], check=True)
    return exe


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("measurement")
    return _compile(BURN_C, d, "burn"), _compile(RUSAGE_C, d, "rusage")


def _bare(programs: tuple[Path, Path], iters: int, mib: int) -> tuple[float, int]:
    """(cpu seconds, ru_maxrss KiB) of one bare run, as the kernel reports them."""
    burn, rusage = programs
    p = subprocess.run(
        [str(rusage), str(burn), str(iters), str(mib)], capture_output=True, text=True
    )
    assert p.returncode == 0, p.stderr
    us, maxrss = p.stderr.split()
    return int(us) / 1e6, int(maxrss)


@pytest.fixture(scope="module")
def iterations(programs: tuple[Path, Path]) -> dict[float, int]:
    """Loop rounds for TARGET_CPU_S and 0.3 s of cpu on this machine (measured once, bare)."""
    probe = 20_000_000
    cpu = min(_bare(programs, probe, 0)[0] for _ in range(3))
    per_s = probe / max(cpu, 1e-3)
    return {s: int(per_s * s) for s in (TARGET_CPU_S, 0.3)}


def _relative(a: float, b: float) -> float:
    return abs(a - b) / b


def test_cpu_time_and_memory_match_the_kernels(
    any_vm: VM, programs: tuple[Path, Path], iterations: dict[float, int]
) -> None:
    burn, _ = programs
    any_vm.copy_in(burn, "burn")
    iters = iterations[TARGET_CPU_S]
    limits = Limits(cpu_time_s=5.0, memory_kib=256 * 1024)
    bare_cpu, bare_mem, box_cpu, box_mem = [], [], [], []
    for _ in range(RUNS):  # alternate, so that both see the same machine
        cpu, mem = _bare(programs, iters, MEMORY_MIB)
        bare_cpu.append(cpu)
        bare_mem.append(mem)
        res = any_vm.run(["./burn", str(iters), str(MEMORY_MIB)], limits)
        assert res.status is Status.OK, res
        box_cpu.append(res.cpu_time_s)
        box_mem.append(res.memory_kib)
    cpu_b, cpu_s = statistics.median(bare_cpu), statistics.median(box_cpu)
    mem_b, mem_s = statistics.median(bare_mem), statistics.median(box_mem)
    report = (
        f"cpu: bare {cpu_b:.4f} s, sandbox {cpu_s:.4f} s ({_relative(cpu_s, cpu_b):.2%}); "
        f"memory: bare ru_maxrss {mem_b} KiB, sandbox cgroup peak {mem_s} KiB "
        f"({_relative(mem_s, mem_b):.2%})"
    )
    print(report)
    assert cpu_b > TARGET_CPU_S * 0.6, report  # the program did burn about TARGET_CPU_S
    assert mem_b > MEMORY_MIB * 1024, report  # and did touch its 100 MiB
    assert _relative(cpu_s, cpu_b) <= TOLERANCE, report
    assert _relative(mem_s, mem_b) <= TOLERANCE, report


@pytest.mark.parametrize(
    ("limit_s", "status"),
    [(1.0, Status.OK), (0.5, Status.OK), (0.2, Status.TO), (0.1, Status.TO)],
)
def test_time_limit_status_around_the_programs_cpu_time(
    any_vm: VM,
    programs: tuple[Path, Path],
    iterations: dict[float, int],
    limit_s: float,
    status: Status,
) -> None:
    """A program using ~0.3 s of cpu is OK under a 1 s or 0.5 s limit, TO under 0.2 s or 0.1 s
    (and then it is charged at least the limit)."""
    burn, _ = programs
    any_vm.copy_in(burn, "burn")
    res = any_vm.run(["./burn", str(iterations[0.3]), "0"], Limits(cpu_time_s=limit_s))
    print(
        f"limit {limit_s} s: {res.status} cpu {res.cpu_time_s:.3f} s wall {res.wall_time_s:.3f} s"
    )
    assert res.status is status, res
    if status is Status.TO:
        assert res.cpu_time_s >= limit_s, res
        # killed near the limit (cpu time is polled every 20 ms), not when the program ended
        assert res.cpu_time_s < limit_s + 0.08, res
        assert "limit" in res.message
    else:
        assert 0.15 < res.cpu_time_s < limit_s, res
        assert res.exit_code == 0
