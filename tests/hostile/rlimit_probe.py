"""Tries to raise every resource limit, then to use more than allowed, and prints what happened as
JSON; then burns cpu time forever (the cpu time limit must still stop it)."""

import json
import os
import resource
import signal

INF = resource.RLIM_INFINITY
report = {"raised": [], "refused": []}
for name in (
    "RLIMIT_CPU",
    "RLIMIT_FSIZE",
    "RLIMIT_NOFILE",
    "RLIMIT_NPROC",
    "RLIMIT_CORE",
    "RLIMIT_MEMLOCK",
    "RLIMIT_MSGQUEUE",
):
    which = getattr(resource, name)
    soft, hard = resource.getrlimit(which)
    for new in ((INF, INF), (hard + 1, hard + 1) if hard != INF else None):
        if new is None:
            continue
        try:
            resource.setrlimit(which, new)
            report["raised"].append(f"{name}={new}")
        except (ValueError, OSError):
            report["refused"].append(f"{name}={new}")
    report[name] = resource.getrlimit(which)
# soft up to hard is allowed, and must not help
soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
resource.setrlimit(resource.RLIMIT_CPU, (hard, hard))

files = []
try:
    while len(files) < 100_000:
        files.append(os.open("/dev/null", os.O_RDONLY))
except OSError:
    pass
report["open_files"] = len(files) + 3  # stdin, stdout, stderr
for fd in files:
    os.close(fd)

children = 0
try:
    while children < 10_000:
        pid = os.fork()
        if pid == 0:
            while True:
                signal.pause()
        children += 1
except OSError:
    pass
report["processes"] = children + 1
print(json.dumps(report), flush=True)
while True:
    pass
