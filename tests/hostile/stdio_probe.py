"""Abuses standard input and output; argv[1] is the abuse:

``close``: closes fds 1 and 2, writes to them anyway, notes the errors in the box file ``note``;
``eof``: reads standard input to its end, then reads past the end 1000 times;
``tty``: tries the terminal: opens /dev/tty, steals the terminal (TIOCSCTTY) and pushes input
into it (TIOCSTI). Results are printed as JSON (for ``close``, in ``note``)."""

import errno
import fcntl
import json
import os
import sys
import termios


def name(e):
    return "error:" + errno.errorcode.get(e.errno, str(e.errno))


mode = sys.argv[1]
if mode == "close":
    os.close(1)
    os.close(2)
    notes = []
    for fd in (1, 2):
        try:
            os.write(fd, b"where does this go?\n")
            notes.append(f"{fd}:written")
        except OSError as e:
            notes.append(f"{fd}:{name(e)}")
    with open("note", "w") as f:
        f.write(" ".join(notes) + "\n")
elif mode == "eof":
    data = sys.stdin.buffer.read()
    extra = [os.read(0, 4096) for _ in range(1000)]
    print(json.dumps({"data": data.decode(), "empty_reads": sum(1 for x in extra if x == b"")}))
elif mode == "tty":
    report = {"stdin_is_a_tty": os.isatty(0)}
    try:
        os.close(os.open("/dev/tty", os.O_RDWR))
        report["open /dev/tty"] = "opened"
    except OSError as e:
        report["open /dev/tty"] = name(e)
    try:
        fcntl.ioctl(0, termios.TIOCSCTTY, 1)
        report["TIOCSCTTY"] = "stolen"
    except OSError as e:
        report["TIOCSCTTY"] = name(e)
    injected = 0
    for ch in b"echo pwned\n":
        try:
            fcntl.ioctl(0, termios.TIOCSTI, bytes([ch]))
            injected += 1
        except OSError as e:
            report["TIOCSTI"] = name(e)
            break
    report["injected"] = injected
    print(json.dumps(report), file=sys.stderr)
