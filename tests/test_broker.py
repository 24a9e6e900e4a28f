"""The file-system broker: each message to exactly one consumer, at once, and never lost when a
consumer dies before its ack."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kombu
import pytest

from assay import broker

QUEUE = broker.queue_name("default", "python3")


class Consumer:
    """One tester's side of the broker: a connection taking one message at a time (prefetch 1,
    late acks), as Celery's worker uses it."""

    def __init__(self, folder: Path, prefetch: int = 1) -> None:
        self.app = broker.make_celery(f"filesystem://{folder}")
        self.connection = self.app.connection_for_read()
        self.connection.connect()
        channel = self.connection.channel()
        channel.basic_qos(0, prefetch, False)
        self.messages: list[Any] = []
        self.consumer = kombu.Consumer(
            channel, [_queue()], callbacks=[lambda _body, m: self.messages.append(m)],
            accept=["json"],
        )  # fmt: skip
        self.consumer.consume()

    def take(self, timeout_s: float) -> Any | None:
        """The next message, or None if none came within the time."""
        try:
            self.connection.drain_events(timeout=timeout_s)
        except TimeoutError:
            return None
        return self.messages.pop(0)

    def close(self) -> None:
        self.connection.release()


def _queue() -> kombu.Queue:
    return kombu.Queue(QUEUE, kombu.Exchange(QUEUE), routing_key=QUEUE)


def send(folder: Path, job_id: int) -> None:
    """What the storer does: send ``(job id, attempt)`` to the runtime's queue."""
    app = broker.make_celery(f"filesystem://{folder}")
    app.send_task(broker.EVALUATE_TASK, args=[job_id, 1], queue=QUEUE)


def job_of(message: Any) -> int:
    return message.decode()[0][0]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "broker"


@pytest.fixture
def no_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a wake-up can deliver in time: the consumers' safety poll is far away."""
    monkeypatch.setattr(broker, "SAFETY_POLL_S", 60.0)


@pytest.fixture
def two(folder: Path, no_polling: None) -> Iterator[tuple[Consumer, Consumer]]:
    a, b = Consumer(folder), Consumer(folder)
    yield a, b
    a.close()
    b.close()


def _take_in_thread(consumer: Consumer, timeout_s: float) -> tuple[threading.Thread, list]:
    got: list = []
    thread = threading.Thread(target=lambda: got.append(consumer.take(timeout_s)))
    thread.start()
    return thread, got


def test_a_waiting_consumer_gets_a_message_at_once(folder: Path, no_polling: None) -> None:
    consumer = Consumer(folder)
    assert consumer.take(0.05) is None  # now waiting on the directory
    thread, got = _take_in_thread(consumer, 10)
    time.sleep(0.1)
    sent = time.monotonic()
    send(folder, 7)
    thread.join()
    # woken, not found by the 60 s safety poll (nor at the 10 s end of the take); how fast is
    # bench/submission_latency.py's (a loaded test machine can take a second)
    assert time.monotonic() - sent < 5
    assert job_of(got[0]) == 7
    consumer.close()


def test_each_message_goes_to_exactly_one_of_two_consumers(
    folder: Path, two: tuple[Consumer, Consumer]
) -> None:
    a, b = two
    waiting = [_take_in_thread(c, 2) for c in (a, b)]
    time.sleep(0.1)
    send(folder, 1)
    for thread, _ in waiting:
        thread.join()
    taken = [got[0] for _, got in waiting if got[0] is not None]
    assert [job_of(m) for m in taken] == [1]


def test_two_consumers_share_many_messages_without_duplicates(
    folder: Path, two: tuple[Consumer, Consumer]
) -> None:
    a, b = two
    for job in range(20):
        send(folder, job)
    seen: list[int] = []

    def drain(c: Consumer) -> None:
        while (m := c.take(0.3)) is not None:
            seen.append(job_of(m))
            m.ack()

    threads = [threading.Thread(target=drain, args=(c,)) for c in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == list(range(20))


def test_a_busy_consumer_takes_the_next_message_as_soon_as_it_acks(
    folder: Path, no_polling: None
) -> None:
    consumer = Consumer(folder, prefetch=1)
    send(folder, 1)
    send(folder, 2)
    first = consumer.take(1)
    assert job_of(first) == 1
    thread, got = _take_in_thread(consumer, 10)  # its slot is taken: it waits
    time.sleep(0.1)
    assert thread.is_alive()
    acked = time.monotonic()
    threading.Thread(target=first.ack).start()  # as the pool's result thread does
    thread.join()
    assert time.monotonic() - acked < 5  # woken by the ack, not the 60 s safety poll
    assert job_of(got[0]) == 2
    consumer.close()


def test_an_acked_message_is_gone_for_good(folder: Path) -> None:
    consumer = Consumer(folder)
    send(folder, 1)
    consumer.take(1).ack()
    consumer.close()
    assert broker.recover_claimed(str(folder)) == 0
    other = Consumer(folder)
    assert other.take(0.2) is None
    other.close()


def test_a_rejected_message_goes_back_to_the_front_of_the_queue(folder: Path) -> None:
    consumer = Consumer(folder, prefetch=2)
    send(folder, 1)
    send(folder, 2)
    consumer.take(1).reject(requeue=True)
    assert job_of(consumer.take(1)) == 1
    consumer.close()


def test_a_consumer_that_stops_puts_back_what_it_did_not_ack(folder: Path) -> None:
    consumer = Consumer(folder)
    send(folder, 1)
    assert consumer.take(1) is not None
    consumer.close()  # a warm shutdown: kombu restores the unacked message
    other = Consumer(folder)
    assert job_of(other.take(1)) == 1
    other.close()


CRASHING_CONSUMER = """
import sys, time
sys.path.insert(0, {tests!r})
from test_broker import Consumer
from pathlib import Path
c = Consumer(Path({folder!r}))
m = c.take(10)
print(m.decode()[0][0], flush=True)
time.sleep(60)
"""


def test_a_message_of_a_killed_consumer_is_taken_again(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(broker, "RECOVER_S", 0.1)
    send(folder, 5)
    script = CRASHING_CONSUMER.format(tests=str(Path(__file__).parent), folder=str(folder))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "5"  # taken, never acked
        other = Consumer(folder)
        assert other.take(0.5) is None  # held by a live consumer: not for anyone else
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    # the waiting consumer looks for dead ones every RECOVER_S and puts the message back
    assert job_of(other.take(3)) == 5
    other.close()
    assert os.listdir(folder / broker.CLAIMED) == []


def test_a_forked_pool_process_does_not_keep_a_dead_consumer_alive(folder: Path) -> None:
    consumer = Consumer(folder)
    send(folder, 1)
    assert consumer.take(1) is not None
    read, write = os.pipe()
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # a pool process: lives on after its parent, holding no consumer lock
        os.write(ready_w, b"x")
        os.read(read, 1)
        os._exit(0)
    os.read(ready_r, 1)
    try:
        transport = consumer.connection.transport
        broker._held_locks.pop(transport._lock_fd)
        os.close(transport._lock_fd)  # the consumer's end, as if it had been killed
        transport._lock_fd = None
        assert broker.recover_claimed(str(folder)) == 1
    finally:
        os.write(write, b"x")
        os.waitpid(pid, 0)
    consumer.close()
