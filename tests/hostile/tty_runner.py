"""Runs stdio_probe.py's ``tty`` abuse the way a teacher's terminal would expose it: this process
leads a new session whose controlling terminal is a fresh pty, and the program's standard input
is that terminal. Prints a JSON report: the run, what the program saw, and whether anything was
pushed into the terminal's input. Arguments: sandbox backend, sandbox root, uid base, directory
of the probes, a scratch directory.
Started by test_hostile.py with start_new_session=True."""

import fcntl
import json
import os
import sys
import termios
import tty
from pathlib import Path

from assay.sandbox import Limits
from assay.sandbox.bwrap import BwrapHost
from assay.sandbox.launcher import LauncherHost

backend, root, uid_base, probes, scratch = (
    {"bwrap": BwrapHost, "launcher": LauncherHost}[sys.argv[1]],
    Path(sys.argv[2]),
    int(sys.argv[3]),
    Path(sys.argv[4]),
    Path(sys.argv[5]),
)
master, slave = os.openpty()
fcntl.ioctl(slave, termios.TIOCSCTTY, 0)  # the pty is now this session's controlling terminal
tty.setraw(slave)  # no line discipline: anything pushed into the input is readable at once
out = scratch / "tty-probe.err"
host = backend(root, uid_base=uid_base, max_boxes=32)
with host.get_vm(box_size_kib=16 * 1024) as vm:
    vm.copy_in(probes / "stdio_probe.py")
    res = vm.run(
        ["python3", "stdio_probe.py", "tty"],
        Limits(cpu_time_s=2, wall_time_s=5, memory_kib=128 * 1024),
        stdin=slave, stdout=slave, stderr=out,
    )  # fmt: skip
    uid = vm.uid
os.set_blocking(slave, False)
try:
    pending = os.read(slave, 4096).decode(errors="replace")
except BlockingIOError:
    pending = ""
report = {
    "status": str(res.status),
    "message": res.message,
    "uid": uid,
    "probe": out.read_text(),
    "pending_input": pending,
}
print(json.dumps(report))
