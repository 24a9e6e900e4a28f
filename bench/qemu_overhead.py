"""The qemu backend's cost per job beside the launcher's: a fresh VM, and one run in it.

    uv run python bench/qemu_overhead.py [--image guest] [--runs 10] [--vms 3]

Prints, in one run on the same machine state:

* a cold boot: a new qemu process booting the image's kernel up to the agent's hello;
* a fresh guest restored from the saved clean guest (what the pool does behind every VM);
* ``get_vm`` when the pool has a guest ready (what a job waits for), and the launcher's;
* one trivial run (``/bin/true``) and one run of a C program, through ``vm.run``, in a qemu
  VM and in a launcher VM, interleaved;

with the accelerator (KVM or software emulation) and the machine's load, which dominate every
figure here. Needs root and a guest image (``assay image build guest --guest``).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _common import Stats, compile_c, header, interleave, machine, others_load, require_root

from assay.sandbox import Limits, Status, get_host
from assay.sandbox.guest import Guest
from assay.sandbox.qemu import QemuHost

HELLO_C = '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n'


def timed(fn: object) -> float:
    t = time.perf_counter()
    fn()  # type: ignore[operator]
    return (time.perf_counter() - t) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--image", default=None, help="guest image (default: ASSAY_QEMU_IMAGE or guest)"
    )
    parser.add_argument("--runs", type=int, default=10, help="runs of each kind per VM")
    parser.add_argument("--vms", type=int, default=3, help="fresh VMs (boots, restores) to time")
    args = parser.parse_args()
    require_root()
    print(machine())
    print(others_load())
    host = QemuHost(image=args.image, pool_size=1)
    launcher = get_host("launcher")
    print(f"qemu: {host.accel} ({host.accel_reason}); image {host.pool().files.image.label}")
    pool = host.pool()
    work = Path(tempfile.mkdtemp(prefix="assay-bench-qemu-"))
    hello = compile_c(HELLO_C, work, "hello")

    boots = Stats("cold boot to the agent's hello", [])
    restores = Stats("restore of the saved clean guest", [])
    for _ in range(args.vms):
        guest = Guest(pool.files, host.accel, host.memory_mib, host.root / "guests",
                      binary=host.binary, timeout_s=300)  # fmt: skip
        boots.samples_ms.append(guest.ready_s * 1000)
        guest.kill()
        if host.snapshot:
            guest = pool.fresh()
            restores.samples_ms.append(guest.ready_s * 1000)
            guest.kill()

    take = Stats("qemu get_vm, a guest ready in the pool", [])
    take_launcher = Stats("launcher get_vm", [])
    for _ in range(args.vms):
        with pool.cond:  # wait until the pool has its guest again (as a job between jobs)
            while not pool.ready:
                pool.cond.wait(timeout=1)
        take.samples_ms.append(timed(lambda: host.get_vm(box_size_kib=64 * 1024).destroy()))
        take_launcher.samples_ms.append(
            timed(lambda: launcher.get_vm(box_size_kib=64 * 1024).destroy())
        )

    limits = Limits(cpu_time_s=5.0, processes=2)
    qvm = host.get_vm(box_size_kib=64 * 1024)
    lvm = launcher.get_vm(box_size_kib=64 * 1024)
    for vm in (qvm, lvm):
        vm.copy_in(hello, "hello")

    charged: dict[str, list[float]] = {"qemu": [], "launcher": []}

    def run(vm: object, command: list[str]) -> None:
        res = vm.run(command, limits, stdout=work / "out")  # type: ignore[attr-defined]
        assert res.status is Status.OK, res
        if command == ["/bin/true"]:
            charged["qemu" if vm is qvm else "launcher"].append(res.cpu_time_s * 1000)

    runs = interleave(
        {
            "qemu vm.run /bin/true": lambda: run(qvm, ["/bin/true"]),
            "launcher vm.run /bin/true": lambda: run(lvm, ["/bin/true"]),
            "qemu vm.run ./hello (C)": lambda: run(qvm, ["./hello"]),
            "launcher vm.run ./hello (C)": lambda: run(lvm, ["./hello"]),
        },
        rounds=args.runs,
        warmup=2,
    )
    copy = Stats("qemu write_file + copy_out (1 MiB)", [])
    for _ in range(args.runs):
        copy.samples_ms.append(timed(lambda: (qvm.write_file("blob", b"x" * (1 << 20)),
                                              qvm.copy_out("blob", work / "blob"))))  # fmt: skip
    qvm.destroy()
    lvm.destroy()
    host.close()
    print(header())
    cpu = [Stats(f"cpu time charged to /bin/true, {name}", ms) for name, ms in charged.items()]
    for stats in (boots, restores, take, take_launcher, *runs.values(), copy, *cpu):
        if stats.n:
            print(stats.row())
    print(others_load())


if __name__ == "__main__":
    main()
