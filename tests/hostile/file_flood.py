"""Writes one file in the box (argv[1]) without end. Python ignores SIGXFSZ, so at the file size
limit the write fails with EFBIG and the program ends with a traceback (exit code 1)."""

import sys

block = b"P" * (64 * 1024)
with open(sys.argv[1], "wb") as f:
    while True:
        f.write(block)
        f.flush()
