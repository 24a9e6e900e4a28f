"""End-to-end cost of evaluating a 20-test C assignment, against the same work done bare.

    uv run python bench/evaluate_assignment.py [--evaluations 7] [--tests 20]

Generates a native package in a temporary directory (a "sum of the numbers" assignment with
20 tests of growing size, 1..200 000 numbers, and an accepted C solution), loads it as
``assay check`` does, and times ``Executor.evaluate`` (box, build in the sandbox, 20 sandboxed
runs, judging, result files) several times. Alternating with it, the same work is done bare:
the same gcc command in a temporary directory, and the same binary run by ``subprocess`` on the
same inputs into files. Prints the build time, the per-test time, the total, and the ratios.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, machine, others_load, require_root  # noqa: F401  (ROOT: sys.path for assay)

from assay.package import open_package
from assay.runtimes import get_runtime
from assay.sandbox import get_host
from assay.tester.executor import Executor
from assay.tester.spec import make_spec, read_files

SOLUTION = r"""#include <stdio.h>
int main(void) {
    long long n, x, s = 0;
    if (scanf("%lld", &n) != 1) return 1;
    for (long long i = 0; i < n; i++) {
        if (scanf("%lld", &x) != 1) return 1;
        s += x;
    }
    printf("%lld\n", s);
    return 0;
}
"""


def make_package(root: Path, n_tests: int) -> None:
    (root / "tests").mkdir(parents=True)
    (root / "solutions" / "accepted").mkdir(parents=True)
    (root / "assignment.yaml").write_text(
        "title: Sum of the numbers (benchmark)\nruntime: c\npoints: 20\n"
        "limits:\n  time_s: 1\n  memory_mib: 64\n"
    )
    (root / "solutions" / "accepted" / "sum.c").write_text(SOLUTION)
    rng = random.Random(42)
    for k in range(1, n_tests + 1):
        n = 25 * k**3 if k > 1 else 1  # 1 .. 200 000 numbers
        d = root / "tests" / f"{k:02d}"
        d.mkdir()
        total = 0
        # written in chunks: the tester's memory stays small (Popen with preexec_fn forks the
        # whole tester, and a fork costs about 3 ms per 100 MiB of resident memory)
        with open(d / "input", "w") as f:
            f.write(f"{n}\n")
            for start in range(0, n, 10000):
                xs = [rng.randint(-(10**9), 10**9) for _ in range(min(10000, n - start))]
                total += sum(xs)
                f.write(" ".join(map(str, xs)) + "\n")
        (d / "output").write_text(f"{total}\n")


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--evaluations", type=int, default=7)
    ap.add_argument("--tests", type=int, default=20)
    ap.add_argument("--backend", default=None, help="launcher, bwrap (default: auto)")
    args = ap.parse_args()
    require_root()
    print(f"machine: {machine()}")
    print(f"load: {others_load()}")
    host = get_host(args.backend)
    print(f"sandbox: {host.name}")
    executor = Executor(host, tester_name="bench")
    with tempfile.TemporaryDirectory(prefix="assay-eval-bench-") as tmp:
        t = Path(tmp)
        make_package(t / "pkg", args.tests)
        with open_package(t / "pkg") as assignment:
            sol = assignment.solutions[0]
            files = read_files(sol.path)
            spec = make_spec(assignment, files, job_id="bench")
            tests = {tc.name: tc for tc in assignment.tests}
            runtime = get_runtime(spec.runtime)
            sizes = sum(tc.input.stat().st_size for tc in assignment.tests)
            print(
                f"package: {len(tests)} tests, {sizes / 1e6:.1f} MB of input, build "
                f"{spec.build_command[-1]}; the tester's RSS: {rss_mib():.0f} MiB"
            )

            sb = {"total": [], "build": [], "tests": [], "per_test": []}
            bare = {"total": [], "build": [], "tests": [], "per_test": []}
            reported_cpu: list[float] = []
            for i in range(args.evaluations + 1):  # the first of each is a warm-up
                # -- sandboxed: the executor end to end ------------------------------------
                marks: list[float] = []
                out = t / f"out{i}"
                t0 = time.perf_counter()
                ev = executor.evaluate(
                    spec,
                    files,
                    tests,
                    out,
                    progress=lambda step, e, m=marks: m.append(time.perf_counter()),
                )
                total = time.perf_counter() - t0
                assert not ev.failed and ev.verdict == "AC", ev.doc.get("error") or ev.verdict
                # -- bare: the same compiler command, the same binary on the same inputs --
                b_build, b_runs = bare_pass(t / f"bare{i}", files, runtime, spec, assignment)
                if i == 0:
                    continue
                build_end = marks[0]
                per_test = [b - a for a, b in zip(marks, marks[1:], strict=False)]
                sb["total"].append(total)
                sb["build"].append(build_end - t0)
                sb["tests"].append(sum(per_test))
                sb["per_test"].extend(per_test)
                reported_cpu.append(sum(e["cpu_time_s"] for e in ev.doc["tests"]))
                bare["build"].append(b_build)
                bare["tests"].append(sum(b_runs))
                bare["per_test"].extend(b_runs)
                bare["total"].append(b_build + sum(b_runs))

    med = {k: statistics.median(v) * 1000 for k, v in sb.items()}
    bmed = {k: statistics.median(v) * 1000 for k, v in bare.items()}
    n = args.tests
    print(f"\n{args.evaluations} evaluations (after a warm-up), medians, ms")
    print(f"  {'':<44} {'sandbox':>9} {'bare':>9} {'ratio':>7} {'overhead':>9}")
    rows = [
        ("build (box + gcc in the sandbox / gcc bare)", "build"),
        (f"the {n} tests together (run + judge + files)", "tests"),
        ("one test (median of all tests)", "per_test"),
        ("total (Executor.evaluate / build + runs)", "total"),
    ]
    for label, key in rows:
        print(
            f"  {label:<44} {med[key]:9.1f} {bmed[key]:9.1f} {med[key] / bmed[key]:6.2f}x "
            f"{med[key] - bmed[key]:8.1f}"
        )
    print(
        f"  per test, the sandbox adds {(med['tests'] - bmed['tests']) / n:.2f} ms on average "
        f"(tests take {bmed['tests'] / n:.2f} ms each bare)"
    )
    print(
        f"  the runs' cpu time as the sandbox reports it (cgroup, bwrap included): "
        f"{statistics.median(reported_cpu) * 1000:.1f} ms for the {n} tests"
    )


def bare_pass(
    d: Path, files: dict[str, bytes], runtime, spec, assignment
) -> tuple[float, list[float]]:
    d.mkdir()
    for name, data in files.items():
        (d / name).write_bytes(data)
    t0 = time.perf_counter()
    subprocess.run(spec.build_command, cwd=d, check=True)  # the same command line
    build = time.perf_counter() - t0
    runs = []
    for tc in assignment.tests:
        with open(tc.input, "rb") as fin, open(d / f"{tc.name}.out", "wb") as fout:
            t1 = time.perf_counter()
            p = subprocess.run([str(d / "main")], stdin=fin, stdout=fout, cwd=d)
            runs.append(time.perf_counter() - t1)
        assert p.returncode == 0
        assert (d / f"{tc.name}.out").read_bytes().split() == tc.answer.read_bytes().split()
    return build, runs


if __name__ == "__main__":
    sys.exit(main())
