"""Helpers shared by the benchmarks in this directory (not part of the assay package).

Every benchmark here times *wall-clock* per run with ``time.perf_counter`` and reports robust
statistics (median and the 10th/90th percentiles), because a few slow outliers (a page-cache miss,
the other core busy, an RCU grace period) would distort a mean.
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/x.py` puts bench/ first on the path, not the root
    sys.path.insert(0, str(ROOT))


@dataclass
class Stats:
    name: str
    samples_ms: list[float]

    @property
    def n(self) -> int:
        return len(self.samples_ms)

    def pct(self, p: float) -> float:
        s = sorted(self.samples_ms)
        if not s:
            return float("nan")
        k = (len(s) - 1) * p / 100
        lo, hi = int(k), min(int(k) + 1, len(s) - 1)
        return s[lo] + (s[hi] - s[lo]) * (k - lo)

    @property
    def median(self) -> float:
        return statistics.median(self.samples_ms) if self.samples_ms else float("nan")

    @property
    def p10(self) -> float:
        return self.pct(10)

    @property
    def p90(self) -> float:
        return self.pct(90)

    def row(self, width: int = 52) -> str:
        return (
            f"  {self.name:<{width}} {self.median:8.3f} {self.p10:8.3f} {self.p90:8.3f}"
            f"   (n={self.n})"
        )


def header(width: int = 52) -> str:
    return f"  {'':<{width}} {'median':>8} {'p10':>8} {'p90':>8}   ms per run"


def interleave(
    variants: dict[str, Callable[[], object]], rounds: int, warmup: int = 3
) -> dict[str, Stats]:
    """Time every variant ``rounds`` times, alternating them run by run (fair to each)."""
    for fn in variants.values():
        for _ in range(warmup):
            fn()
    out = {name: Stats(name, []) for name in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            t = time.perf_counter()
            fn()
            out[name].samples_ms.append((time.perf_counter() - t) * 1000)
    return out


def compile_c(source: str, directory: Path, name: str, *flags: str) -> Path:
    gcc = shutil.which("gcc") or shutil.which("cc")
    if not gcc:
        raise SystemExit("gcc is needed for this benchmark (apt-get install gcc)")
    src = directory / f"{name}.c"
    src.write_text(source)
    exe = directory / name
    subprocess.run([gcc, "-O2", "-o", str(exe), str(src), *flags], check=True)
    return exe


def _busy_jiffies() -> tuple[int, int]:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def others_load(seconds: float = 1.0) -> str:
    """How busy the machine is without us (a shared machine skews every figure here)."""
    b0, t0 = _busy_jiffies()
    time.sleep(seconds)
    b1, t1 = _busy_jiffies()
    busy = (b1 - b0) / max(t1 - t0, 1)
    load1 = os.getloadavg()[0]
    return f"machine busy {busy:.0%} of {os.cpu_count()} cores over {seconds:.0f} s before the run, loadavg {load1:.2f}"


def machine() -> str:
    try:
        bwrap = subprocess.run(
            ["bwrap", "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        bwrap = "bwrap: not found"
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores ({cpu}), Linux {platform.release()}, {bwrap}, "
        f"Python {platform.python_version()}"
    )


def run_bwrap(argv: list[str], **kw: object) -> None:
    """Run bwrap (argv[0]) and reap the namespace's pid 1, which bwrap leaves to its parent's
    reaper (the sandbox's host makes the tester a child subreaper), as the sandbox does: the pid
    comes on the json status pipe."""
    from assay.sandbox.bwrap import _read_all, _reap

    r, w = os.pipe()
    argv = [argv[0], "--json-status-fd", str(w), *argv[1:]]
    try:
        p = subprocess.run(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, pass_fds=(w,), **kw,  # type: ignore[call-overload]
        )  # fmt: skip
    finally:
        os.close(w)
    _reap(_read_all(r))
    if p.returncode != 0:
        raise RuntimeError(f"bwrap failed ({p.returncode}): {p.stderr.decode().strip()}")


def require_root() -> None:
    if os.geteuid() != 0:
        raise SystemExit("run this benchmark as root (the sandbox's production mode)")
