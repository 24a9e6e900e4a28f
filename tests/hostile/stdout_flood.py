"""Writes to standard output without end (Python: EFBIG instead of SIGXFSZ at the limit)."""

import sys

block = b"S" * (64 * 1024)
while True:
    sys.stdout.buffer.write(block)
