"""Tries to create each path given with a little content and prints what happened, as JSON:
``wrote`` or ``error:<errno name>``."""

import errno
import json
import os
import sys

results = {}
for path in sys.argv[1:]:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        os.write(fd, b"written by a hostile program\n")
        os.close(fd)
        results[path] = "wrote"
    except OSError as e:
        results[path] = "error:" + errno.errorcode.get(e.errno, str(e.errno))
print(json.dumps(results))
