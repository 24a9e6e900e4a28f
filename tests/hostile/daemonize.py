"""Leaves children behind that try to outlive the run: a classic double-fork daemon (setsid), which
writes the file ``late`` in the box after 0.5 s, and then lingers. The program itself exits at once
with code 0."""

import os
import time

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(0.5)
        with open("/box/late", "w") as f:
            f.write("I outlived the run\n")
        time.sleep(30)
    os._exit(0)
print("parent done", flush=True)
