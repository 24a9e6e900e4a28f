"""Tries each network target given and prints what happened, as JSON.

Targets: ``tcp:HOST:PORT`` (connect), ``udp:HOST:PORT`` (send a datagram), ``unix:PATH``
(connect to a unix socket), ``dns:NAME`` (resolve), ``@interfaces`` (list the interfaces).
A result is ``connected``/``sent``/``resolved:…`` or ``error:<name>``."""

import errno
import json
import socket
import sys


def err(e):
    if isinstance(e, socket.gaierror):
        return "error:gai" + str(e.errno)
    if isinstance(e, OSError) and e.errno is not None:
        return "error:" + errno.errorcode.get(e.errno, str(e.errno))
    return "error:" + type(e).__name__


def attempt(target):
    kind, _, rest = target.partition(":")
    try:
        if kind in ("tcp", "udp"):
            host, _, port = rest.rpartition(":")
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            stype = socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM
            with socket.socket(family, stype) as s:
                s.settimeout(2)
                if kind == "tcp":
                    s.connect((host, int(port)))
                    return "connected"
                s.sendto(b"hello", (host, int(port)))
                return "sent"
        if kind == "unix":
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(2)
                s.connect(rest)
                return "connected"
        if kind == "dns":
            return "resolved:" + ",".join(sorted({a[4][0] for a in socket.getaddrinfo(rest, 80)}))
    except Exception as e:  # noqa: BLE001 - every failure is a result
        return err(e)
    return "error:unknown-target"


results = {}
for target in sys.argv[1:]:
    if target == "@interfaces":
        results[target] = ",".join(sorted(name for _, name in socket.if_nameindex()))
    else:
        results[target] = attempt(target)
print(json.dumps(results))
