"""Testers on other "machines": each in a network namespace of its own (ip netns + veth),
reaching the storer and RabbitMQ only over its virtual link — and a cut of that link mid-job."""

from __future__ import annotations

import contextlib
import random
import socket
import subprocess
import threading
import time
import uuid

import pytest

from .cluster import RABBITMQ, Cluster
from .test_end_to_end import SLOW_SUM, submit
from .test_scale_out import SUM_OK, running_job


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


class Forwarder:
    """A TCP relay from the link's host address to a service that listens on loopback only."""

    def __init__(self, listen_host: str, target_port: int) -> None:
        self.server = socket.create_server((listen_host, 0))
        self.port = self.server.getsockname()[1]
        self.target_port = target_port
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := a.recv(65536):
                b.sendall(data)
        with contextlib.suppress(OSError):
            b.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.stopped = True
        self.server.close()


@pytest.fixture
def machine():
    """A network namespace linked to this one: host side 10.231.N.1, tester side 10.231.N.2."""
    n = random.randint(1, 250)
    name, host_if, ns_if = (
        f"assay-{uuid.uuid4().hex[:6]}",
        f"ah{n}{uuid.uuid4().hex[:4]}",
        f"at{n}{uuid.uuid4().hex[:4]}",
    )
    host_ip, ns_ip = f"10.231.{n}.1", f"10.231.{n}.2"
    ip("netns", "add", name)
    try:
        ip("link", "add", host_if, "type", "veth", "peer", "name", ns_if)
        ip("link", "set", ns_if, "netns", name)
        ip("addr", "add", f"{host_ip}/24", "dev", host_if)
        ip("link", "set", host_if, "up")
        ip("netns", "exec", name, "ip", "addr", "add", f"{ns_ip}/24", "dev", ns_if)
        ip("netns", "exec", name, "ip", "link", "set", ns_if, "up")
        ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
        yield {"netns": name, "host_ip": host_ip, "link": host_if}
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)


@pytest.fixture
def cluster(tmp_path, machine):
    c = Cluster(tmp_path, "postgres-rabbitmq", host=machine["host_ip"])
    forwarder = None
    try:
        c.start()
        forwarder = Forwarder(machine["host_ip"], 5672)
        c.remote_broker = c.env["ASSAY_BROKER_URL"].replace(
            RABBITMQ, f"amqp://guest:guest@{machine['host_ip']}:{forwarder.port}"
        )
        yield c
    finally:
        c.stop()
        if forwarder:
            forwarder.close()


def test_a_tester_in_its_own_network_namespace_evaluates_over_the_link(cluster, machine):
    # nsenter enters only the network namespace (ip netns exec would also remount /sys, hiding cgroups)
    prefix = ["nsenter", f"--net=/var/run/netns/{machine['netns']}"]
    # from inside, loopback services of this machine are out of reach: only the link exists
    probe = subprocess.run(
        [
            *prefix,
            "python3",
            "-c",
            "import socket; socket.create_connection(('127.0.0.1', 5432), 2)",
        ],
        capture_output=True,
    )
    assert probe.returncode != 0
    cluster.add_tester("remote", prefix=prefix, broker=cluster.remote_broker)
    doc = submit(cluster.server, "alice", "demo/sum-c", {"sum.c": SUM_OK})
    result = cluster.server.wait("alice", doc["id"])
    assert result["verdict"] == "AC", cluster.jobs()
    assert [j["tester"] for j in cluster.jobs()] == ["remote"]
    cluster.exactly_one_result_each()


def test_a_network_cut_mid_job_moves_the_job_and_the_late_result_is_ignored(cluster, machine):
    # nsenter enters only the network namespace (ip netns exec would also remount /sys, hiding cgroups)
    prefix = ["nsenter", f"--net=/var/run/netns/{machine['netns']}"]
    cluster.add_tester("remote", prefix=prefix, broker=cluster.remote_broker)
    doc = submit(cluster.server, "alice", "demo/sum-c", {"sum.c": SLOW_SUM})
    assert running_job(cluster, doc["id"])["tester"] == "remote"
    ip("link", "set", machine["link"], "down")  # the cable is cut
    try:
        cluster.add_tester("local")
        result = cluster.server.wait("alice", doc["id"])
        assert (result["verdict"], result["attempt"]) == ("AC", 2)
    finally:
        ip("link", "set", machine["link"], "up")
    time.sleep(3)  # the remote tester reconnects and reports its attempt too late
    with cluster.server.api("alice") as api:
        again = api.get(f"/submissions/{doc['id']}").json()
    assert (again["attempt"], again["verdict"]) == (2, "AC")
    assert [j["tester"] for j in cluster.jobs() if j["state"] == "done"] == ["local"]
    cluster.exactly_one_result_each()
