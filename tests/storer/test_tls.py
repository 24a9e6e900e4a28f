"""Over a network the storer is reached by HTTPS: the storer serves a (here self-signed)
certificate, testers trust it with --ca-file, and plain HTTP gets nowhere."""

import httpx
import pytest

from tests.conftest import EXAMPLES

from .server import Server, free_port
from .test_end_to_end import submit


def test_testers_and_clients_reach_the_storer_over_https(tmp_path, certificate):
    cert, key = certificate
    server = Server(
        tmp_path / "data", free_port(), {}, testers=1, certfile=cert, keyfile=key
    ).start()
    try:
        assert server.url.startswith("https://")
        with pytest.raises(httpx.ConnectError):  # a client that does not trust the certificate
            httpx.get(server.url + "/api/openapi.json", timeout=5)
        with pytest.raises(httpx.HTTPError):  # plain HTTP on the HTTPS port
            httpx.get(server.url.replace("https", "http") + "/api/openapi.json", timeout=5)
        solution = (EXAMPLES / "sum-c" / "solutions" / "accepted" / "sum.c").read_bytes()
        doc = submit(server, "alice", "demo/sum-c", {"sum.c": solution})
        assert (
            server.wait("alice", doc["id"])["verdict"] == "AC"
        )  # the tester fetched and reported over TLS
    finally:
        server.stop()
