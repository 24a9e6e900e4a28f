"""The storer's HTTP server's own cost: waitress vs cheroot, side by side in one run.

Serves a trivial WSGI application (so the figure is the server's, not Django's) from a child
process, holds N idle keep-alive connections open (as the long polls and browsers of a deadline
rush do), and sends M requests from a few client threads; prints the server's cpu per request
(from /proc, user + system) for each server, alternated R times.

    uv run python bench/http_servers.py [--idle 40] [--requests 3000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import subprocess
import sys
import threading
import time

CHILD = r"""
import sys, threading
kind, port = sys.argv[1], int(sys.argv[2])
def app(environ, start_response):
    body = b'{"status": "done"}'
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
if kind == "waitress":
    from waitress import create_server
    create_server(app, host="127.0.0.1", port=port, threads=64).run()
else:
    from cheroot import wsgi
    s = wsgi.Server(("127.0.0.1", port), app, numthreads=64)
    s.safe_start()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_up(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the server did not start")


def measure(kind: str, idle: int, requests: int, clients: int) -> tuple[float, float]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", CHILD, kind, str(port)])
    try:
        wait_up(port)
        held = []
        for _ in range(idle):  # open keep-alive connections that send nothing more
            c = http.client.HTTPConnection("127.0.0.1", port)
            c.request("GET", "/")
            c.getresponse().read()
            held.append(c)
        time.sleep(0.5)
        per_client = requests // clients

        def client() -> None:
            c = http.client.HTTPConnection("127.0.0.1", port)
            for _ in range(per_client):
                c.request("GET", "/api/submissions/1")
                r = c.getresponse()
                r.read()
                assert r.status == 200
            c.close()

        before, t0 = cpu_s(proc.pid), time.monotonic()
        threads = [threading.Thread(target=client) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.monotonic() - t0
        used = cpu_s(proc.pid) - before
        for c in held:
            c.close()
        return used * 1000 / (per_client * clients), wall
    finally:
        proc.terminate()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--idle", type=int, default=40, help="idle keep-alive connections")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}; {args.idle} idle connections held open")
    results: dict[str, list[float]] = {"waitress": [], "cheroot": []}
    for _ in range(args.rounds):
        for kind in results:
            ms, wall = measure(kind, args.idle, args.requests, args.clients)
            results[kind].append(ms)
            print(f"  {kind:9s} {ms:.3f} core-ms per request ({args.requests} in {wall:.1f} s)")
    w, c = min(results["waitress"]), min(results["cheroot"])
    print(f"best of {args.rounds}: waitress {w:.3f}, cheroot {c:.3f} core-ms; ratio {w / c:.2f}")


if __name__ == "__main__":
    main()
