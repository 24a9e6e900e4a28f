"""A tester forked from another (Celery's prefork pool) runs boxes as well as its parent."""

import os
import subprocess

from assay.sandbox import Limits, get_host


def box_uid_zombies() -> int:
    out = subprocess.run(["ps", "-eo", "uid=,stat="], capture_output=True, text=True).stdout
    return sum(
        1
        for line in out.splitlines()
        if 60000 <= int(line.split()[0]) < 61000 and "Z" in line.split()[1]
    )


def test_a_forked_tester_reaps_its_boxes_and_runs_them_back_to_back():
    host = get_host()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a prefork worker process
        ok = True
        try:
            for _ in range(10):
                with host.get_vm() as vm:
                    # processes=1 is exact: a zombie of the previous run would make this fail
                    ok &= vm.run(["/bin/true"], Limits(processes=1)).ok
        except Exception:
            ok = False
        os.write(write, b"1" if ok and box_uid_zombies() == 0 else b"0")
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"
