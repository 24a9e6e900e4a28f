"""The tester's HTTP client is per process (Celery's prefork children fork from the tester)."""

import os

from assay.tester import worker


def test_a_forked_child_gets_its_own_client():
    worker.CONFIG.update(url="http://127.0.0.1:9", token="tst_x")
    parent = worker.client()
    assert worker.client() is parent
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write, b"1" if worker.client() is not parent else b"0")
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"
