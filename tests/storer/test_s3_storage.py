"""File storage on S3-compatible object storage: a real S3 API server on loopback (moto's
server), the storer configured with ASSAY_STORAGE=s3, a whole submission flow through it."""

import os
import subprocess
import sys
import time
from pathlib import Path

import boto3
import httpx
import pytest

from tests.conftest import EXAMPLES

from .server import Server, free_port
from .test_end_to_end import submit


@pytest.fixture
def s3(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, timeout=1)
            break
        except httpx.HTTPError:
            assert time.monotonic() < deadline, "the S3 server did not start"
            time.sleep(0.2)
    client = boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket="assay-files")
    yield url, client
    proc.terminate()
    proc.wait(timeout=10)


def test_packages_submissions_and_results_live_in_the_bucket(tmp_path, s3):
    url, client = s3
    env = {
        "ASSAY_STORAGE": "s3", "ASSAY_S3_BUCKET": "assay-files", "ASSAY_S3_ENDPOINT_URL": url,
        "ASSAY_S3_ACCESS_KEY": "test", "ASSAY_S3_SECRET_KEY": "test",
    }  # fmt: skip
    server = Server(tmp_path / "data", free_port(), env, testers=1).start()
    try:
        doc = submit(
            server,
            "alice",
            "demo/sum-c",
            {"sum.c": (EXAMPLES / "sum-c" / "solutions" / "accepted" / "sum.c").read_bytes()},
        )
        result = server.wait("alice", doc["id"])
        assert (result["verdict"], result["points"]) == ("AC", 10)
        with server.api("alice") as api:  # the result archive is read back from the bucket
            page = api.get(f"/submissions/{doc['id']}").json()
        assert page["tests"][0]["cpu_time_s"] > 0
    finally:
        server.stop()
    keys = [o["Key"] for o in client.list_objects_v2(Bucket="assay-files").get("Contents", [])]
    assert any(k.startswith("courses/demo/repository/sum-c/") for k in keys)
    assert any(k.startswith("submissions/demo/sum-c/") and k.endswith("sum.c") for k in keys)
    assert any(k.startswith("results/job-") for k in keys)
    local = tmp_path / "data" / "files"
    assert not local.exists() or not any(p.is_file() for p in local.rglob("*"))
    assert os.environ.get("ASSAY_STORAGE") is None  # the test process itself is untouched
