"""Fills the box: ``big`` writes 256 KiB files, ``empty`` creates empty files, until the kernel
refuses. Prints the count and the error, exits 3 on ENOSPC (any other error propagates)."""

import errno
import os
import sys

mode = sys.argv[1]
block = b"D" * (256 * 1024)
os.makedirs("fill", exist_ok=True)
n = 0
try:
    while n < 10_000_000:
        fd = os.open(f"fill/{n}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            if mode == "big":
                os.write(fd, block)
        finally:
            os.close(fd)
        n += 1
except OSError as e:
    print(n, errno.errorcode.get(e.errno, e.errno), flush=True)
    if e.errno == errno.ENOSPC:
        sys.exit(3)
    raise
print(n, "no error")
