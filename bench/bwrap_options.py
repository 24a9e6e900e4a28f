"""What each bubblewrap option of the sandbox costs, and what cheaper equivalents would save.

    uv run python bench/bwrap_options.py [--runs 100]

Starts from the exact arguments ``BwrapVM.bwrap_args`` gives (the sandbox's), runs bwrap as the
box uid (no cgroup, no preexec_fn: only bwrap's own cost), and times variants that leave one
option out, or replace it by a cheaper equivalent, interleaved run by run. Also times bare
``unshare`` of each namespace kind (util-linux, as root) to show what the namespaces alone cost,
apart from bwrap's mounts and processes. Needs root.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import compile_c, header, interleave, machine, others_load, require_root, run_bwrap

from assay.sandbox import Limits, get_host

TRIVIAL_C = "int main(void) { return 0; }\n"
DEVICES = {"null": (1, 3), "zero": (1, 5), "full": (1, 7), "random": (1, 8), "urandom": (1, 9)}


def without(args: list[str], *drop: tuple[str, ...]) -> list[str]:
    """``args`` minus each occurrence of the option sequences in ``drop``."""
    out, i = [], 0
    while i < len(args):
        for d in drop:
            if args[i : i + len(d)] == list(d):
                i += len(d)
                break
        else:
            out.append(args[i])
            i += 1
    return out


def replace(args: list[str], old: tuple[str, ...], new: list[str]) -> list[str]:
    for i in range(len(args)):
        if args[i : i + len(old)] == list(old):
            return args[:i] + new + args[i + len(old) :]
    raise ValueError(old)


def make_dev_dir(parent: Path) -> Path:
    """A prepared /dev (made once per tester): the harmless devices, made with mknod."""
    d = parent / "dev"
    d.mkdir()
    for name, (major, minor) in DEVICES.items():
        os.mknod(d / name, 0o666 | 0o020000, os.makedev(major, minor))
        os.chmod(d / name, 0o666)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):  # fmt: skip
        os.symlink(target, d / name)
    d.chmod(0o755)
    return d


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=100)
    args = ap.parse_args()
    require_root()
    print(f"machine: {machine()}")
    print(f"load: {others_load()}")
    host = get_host("bwrap")  # this script takes bubblewrap apart
    with tempfile.TemporaryDirectory(prefix="assay-bwrap-") as tmp:
        t = Path(tmp)
        t.chmod(0o755)
        exe = compile_c(TRIVIAL_C, t, "trivial")
        dev = make_dev_dir(t)
        vm = host.get_vm(box_size_kib=64 * 1024)
        try:
            vm.copy_in(exe, "trivial")
            full = vm.bwrap_args(Limits(), None, None)
            bw, opts = full[0], full[1:]
            uid = vm.uid
            as_uid = {"user": uid, "group": uid, "extra_groups": []}
            tmpfs = ("--size", str(opts[opts.index("--size") + 1]), "--tmpfs", "/tmp")
            variants_args = {
                "the sandbox's arguments (all of the below)": opts,
                "the sandbox's arguments, again (noise)": list(opts),
                "- --unshare-net (+ --share-net)": replace(
                    opts, ("--unshare-all",), ["--unshare-all", "--share-net"]
                ),
                "- --dev (no /dev at all)": without(opts, ("--dev", "/dev")),
                "  --dev -> --ro-bind of a prepared /dev dir": replace(
                    opts, ("--dev", "/dev"), ["--ro-bind", str(dev), "/dev"]
                ),
                "- --proc": without(opts, ("--proc", "/proc")),
                "- --tmpfs /tmp": without(opts, tmpfs),
                "- --disable-userns": without(opts, ("--disable-userns",)),
                "- --die-with-parent": without(opts, ("--die-with-parent",)),
                "- --new-session": without(opts, ("--new-session",)),
                "- --uid/--gid 1000": without(opts, ("--uid", "1000"), ("--gid", "1000")),
                "- --hostname": without(opts, ("--hostname", "box")),
                "+ --as-pid-1 (no bwrap pid 1)": ["--as-pid-1", *opts],
                "minimal: --unshare-all, ro /usr, /box": [
                    "--unshare-all",
                    "--ro-bind",
                    "/usr",
                    "/usr",
                    *[
                        a
                        for d in ("lib", "lib64", "bin")
                        if os.path.islink(f"/{d}")
                        for a in ("--symlink", os.readlink(f"/{d}"), f"/{d}")
                    ],
                    "--bind",
                    str(vm.dir),
                    "/box",
                    "--chdir",
                    "/box",
                ],  # fmt: skip
            }

            def bwrap_variant(a: list[str]):
                return lambda: run_bwrap([bw, *a, "--", "./trivial"], **as_uid)

            variants = {"bare, as the box uid": lambda: subprocess.run([str(exe)], **as_uid)}
            variants |= {k: bwrap_variant(a) for k, a in variants_args.items()}
            res = interleave(variants, args.runs)
            base = res["the sandbox's arguments (all of the below)"].median
            print(
                f"\n1. bwrap {runs_note(args.runs)}; 'saves' = median of the sandbox's arguments "
                "minus median of the variant"
            )
            print(header(46))
            for name, st in res.items():
                saves = (
                    ""
                    if name.startswith(("bare", "the sandbox's arguments ("))
                    else (f"   saves {base - st.median:6.3f} ms")
                )
                print(st.row(46) + saves)
            print("  (the 'again' row shows the noise: a saving that small is no saving)")
        finally:
            vm.destroy()

        unshare = shutil.which("unshare")
        if unshare:
            flags = {"(none)": [], "-U user": ["-U"], "-m mount": ["-m"], "-p pid (-f)": ["-p", "-f"],
                     "-n net": ["-n"], "-i ipc": ["-i"], "-u uts": ["-u"], "-C cgroup": ["-C"],
                     "-m -p -f -n -i -u -C (all but user)": ["-m", "-p", "-f", "-n", "-i", "-u", "-C"],
                     "-U -m -p -f -n -i -u -C (all)": ["-U", "-m", "-p", "-f", "-n", "-i", "-u", "-C"]}  # fmt: skip
            res = interleave(
                {k: (lambda f=f: subprocess.run([unshare, *f, str(exe)], check=True))
                 for k, f in flags.items()},
                args.runs,
            )  # fmt: skip
            none = res["(none)"].median
            print(
                f"\n2. the namespaces alone: `unshare FLAGS trivial` as root, {runs_note(args.runs)}"
            )
            print(header(46))
            for name, st in res.items():
                extra = "" if name == "(none)" else f"   +{st.median - none:6.3f} ms"
                print(st.row(46) + extra)


def runs_note(runs: int) -> str:
    return f"{runs} runs of each variant, interleaved"


if __name__ == "__main__":
    sys.exit(main())
