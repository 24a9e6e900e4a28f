"""What judging a big output costs the tester: time against reading the file once, and memory.

    uv run python bench/judges.py [--mib 64]

Writes an expected answer and program outputs of ``--mib`` MiB of ``a\\n`` (the worst case for a
token judge: one token per two bytes), then times each case in a fresh process, so that its
peak memory (VmHWM) is the judge's own:

* ``read once``: reading the output in 256 KiB chunks and throwing it away (the floor);
* the token, exact and unordered-lines judges on an equal output; the token judge on an output
  that differs in its last token, and case-insensitively on one in upper case (every token
  differs: the per-token path); unordered lines on distinct lines in another order;
* ``before``: the token judge of commit 66ac2b2, loaded from git (the whole output split into
  Python objects in the tester's memory).

Prints seconds, the ratio to reading once, and the peak memory in MiB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEFORE = "66ac2b2"  # the last commit whose judge split the whole output in memory

# name: (case, expected file, output file)
CASES = {
    "read once": ("read", "expected", "output"),
    "tokens, equal": ("tokens", "expected", "output"),
    "tokens, last token differs": ("tokens", "expected", "differs"),
    "tokens, no case, every token in upper case": ("tokens-nocase", "expected", "upper"),
    "exact, equal": ("exact", "expected", "output"),
    "lines_unordered, equal": ("lines", "expected", "output"),
    "lines_unordered, distinct lines reordered": ("lines", "numbers", "reordered"),
    "tokens, before (commit 66ac2b2)": ("before", "expected", "output"),
}


def _hwm_mib() -> float:
    """The process's peak resident memory (VmHWM: reset at exec, unlike ru_maxrss)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def child(case: str, expected: Path, output: Path) -> None:
    """Run one case in this process and print its time and peak memory as JSON."""
    sys.path.insert(0, str(ROOT))
    from assay.judges import judge_files
    from assay.package.model import Judge

    old = types.ModuleType("judges_before")
    if case == "before":  # the old module, from git, under another name
        source = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{BEFORE}:assay/judges.py"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        sys.modules[old.__name__] = old
        exec(compile(source, "judges_before.py", "exec"), old.__dict__)
    base = _hwm_mib()
    started = time.perf_counter()
    if case == "read":
        with open(output, "rb") as f:
            while f.read(1 << 18):
                pass
        verdict = "-"
    elif case == "before":
        result = old.judge_output(Judge(kind="tokens"), expected.read_bytes(), output.read_bytes())
        verdict = str(result.verdict)
    else:
        kind = {"exact": "exact", "lines": "lines_unordered"}.get(case, "tokens")
        judge = Judge(kind=kind, case_sensitive=case != "tokens-nocase")
        verdict = str(judge_files(judge, expected, output).verdict)
    seconds = time.perf_counter() - started
    peak = _hwm_mib()
    print(json.dumps({"s": seconds, "peak_mib": peak, "grew_mib": peak - base, "verdict": verdict}))


def write_inputs(tmp: Path, mib: int) -> None:
    lines = mib * 512 * 1024
    data = b"a\n" * lines
    (tmp / "expected").write_bytes(data)
    (tmp / "output").write_bytes(data)
    (tmp / "differs").write_bytes(data[:-2] + b"b\n")
    (tmp / "upper").write_bytes(data.upper())
    del data
    numbers = [b"%d\n" % i for i in range(mib * 1024 * 1024 // 8)]  # about mib MiB
    (tmp / "numbers").write_bytes(b"".join(numbers))
    half = len(numbers) // 2
    (tmp / "reordered").write_bytes(b"".join(numbers[half:] + numbers[:half]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        write_inputs(tmp, args.mib)
        results = {}
        for name, (case, expected, output) in CASES.items():
            out = subprocess.run(
                [sys.executable, __file__, "--child", case, str(tmp / expected), str(tmp / output)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            results[name] = json.loads(out.stdout)
        floor = results["read once"]["s"]
        print(f"{args.mib} MiB of 'a\\n' ({os.cpu_count()} cores); the files are in the page cache")
        print(f"{'case':44} {'seconds':>8} {'x read':>7} {'peak MiB':>9} {'grew MiB':>9}  verdict")
        for name, r in results.items():
            print(
                f"{name:44} {r['s']:8.2f} {r['s'] / floor:7.1f} {r['peak_mib']:9.0f} "
                f"{r['grew_mib']:9.0f}  {r['verdict']}"
            )


if __name__ == "__main__":
    main()
