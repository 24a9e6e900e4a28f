"""Tries to read each path given (globs allowed) and prints what happened, as JSON.

Special arguments: ``@stdin`` reads standard input; ``@beside-stdin:NAME`` finds the host path of
standard input through /proc/self/fd/0 and tries NAME in the same directory (and through the fd).
Each result is ``read:<first bytes>``, ``list:<names>`` or ``error:<errno name>``.
"""

import errno
import glob
import json
import os
import sys


def attempt(path):
    try:
        if os.path.isdir(path):
            return "list:" + ",".join(sorted(os.listdir(path))[:50])
        with open(path, "rb") as f:
            return "read:" + f.read(4096).decode(errors="replace")
    except OSError as e:
        return "error:" + errno.errorcode.get(e.errno, str(e.errno))


results = {}
for arg in sys.argv[1:]:
    if arg == "@stdin":
        results[arg] = "read:" + sys.stdin.buffer.read().decode(errors="replace")
    elif arg.startswith("@beside-stdin:"):
        name = arg.split(":", 1)[1]
        try:
            host_path = os.readlink("/proc/self/fd/0")
        except OSError as e:
            host_path = "?" + str(e)
        results["stdin-path"] = host_path
        results[arg] = attempt(os.path.join(os.path.dirname(host_path), name))
        results[arg + "(via fd)"] = attempt("/proc/self/fd/0/../" + name)
    elif "*" in arg:
        matches = sorted(glob.glob(arg))
        results[arg] = "glob:" + ",".join(matches)
        for m in matches:
            results[m] = attempt(m)
    else:
        results[arg] = attempt(arg)
print(json.dumps(results))
