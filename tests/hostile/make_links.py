"""Plants traps for the tester in the box: each argument ``NAME=TARGET`` makes the symlink NAME
pointing to TARGET, and ``NAME=@fifo`` makes a named pipe."""

import os
import sys

for arg in sys.argv[1:]:
    link, _, target = arg.partition("=")
    if target == "@fifo":
        os.mkfifo(link)
    else:
        os.symlink(target, link)
print("planted", len(sys.argv) - 1)
