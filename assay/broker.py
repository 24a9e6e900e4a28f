"""The broker (Celery): the storer sends job ids, testers take them (Django-free).

Messages carry only ``(job_id, attempt)``: the database is the source of truth, the broker just
moves the news that a job waits. Queues are named ``assay.<pool>.<runtime>`` (evaluations),
``assay.<pool>.<runtime>.<image>`` (evaluations on a course image) and ``assay.<pool>.validate``
(package validations), so a job reaches only a tester that offers its runtime (and image) in
its pool; a tester takes one job per free slot (prefetch 1, late acks).

The embedded default keeps its queues in files (``filesystem:///DIR``) and needs no server; in
production the URL names RabbitMQ (``amqp://…``) or Redis (``redis://…``).

The file-system queue (kombu's transport, three things changed):

1. **Atomic writes**: a message is written under a temporary name and renamed into the queue
   directory, so no consumer reads half a message.
2. **Claims by rename**: a consumer takes a message by renaming its file into a directory of its
   own (``claimed/<consumer>/``), which exactly one of several consumers can do; the ack deletes
   it, a reject with requeue renames it back. Each consumer holds a ``flock`` on
   ``claimed/<consumer>.lock`` while it lives; any consumer that can take that lock (its owner
   died, even by SIGKILL) renames the dead one's messages back into the queue. kombu instead
   moved the file away and deleted it at once: a consumer killed before its ack lost it.
3. **No polling delay**: a waiting consumer sleeps on inotify (a file renamed into the queue
   directory) and on a pipe its own acks write to (a slot came free), not on a 50 ms timer; it
   still looks every ``SAFETY_POLL_S`` (and every ``FILESYSTEM_POLL_S`` where there is no
   inotify).
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import logging
import os
import select
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from celery import Celery
from kombu.transport import TRANSPORT_ALIASES, filesystem, virtual
from kombu.utils.json import dumps, loads

log = logging.getLogger("assay.broker")

EVALUATE_TASK = "assay.evaluate"
VALIDATE_TASK = "assay.validate"
FILESYSTEM_POLL_S = 0.05  # how often a consumer looks for messages where there is no inotify
SAFETY_POLL_S = 1.0  # how often it looks anyway (a missed event delays a job at most this)
RECOVER_S = 5.0  # how often a consumer looks for dead consumers' claimed messages
CLAIMED = "claimed"
CLAIM_KEY = "assay_claimed"  # the message's property: where its consumer holds its file
IN_MOVED_TO = 0x80

# this process's consumer locks (descriptor -> its file's identity): a forked child drops its
# copies; a descriptor number since reused for another file is left alone
_held_locks: dict[int, tuple[int, int]] = {}


def _hold_lock(fd: int) -> None:
    st = os.fstat(fd)
    _held_locks[fd] = (st.st_dev, st.st_ino)


def _drop_inherited_locks() -> None:
    # a pool process must not keep its parent's consumer alive in the eyes of the others (the
    # parent's own descriptor still holds the lock)
    for fd, identity in list(_held_locks.items()):
        with contextlib.suppress(OSError):
            st = os.fstat(fd)
            if (st.st_dev, st.st_ino) == identity:
                os.close(fd)
    _held_locks.clear()


os.register_at_fork(after_in_child=_drop_inherited_locks)


def _inotify(folder: str) -> int | None:
    """A non-blocking inotify descriptor reporting files renamed into ``folder``; None where
    the system has none."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
    except (OSError, AttributeError):
        return None
    if fd < 0:
        return None
    if libc.inotify_add_watch(fd, os.fsencode(folder), IN_MOVED_TO) < 0:
        os.close(fd)
        return None
    return fd


def _drain(fd: int) -> None:
    with contextlib.suppress(BlockingIOError):
        while os.read(fd, 4096):
            pass


class Wakeup:
    """What a waiting consumer sleeps on: a message renamed into the queue directory (inotify)
    or a slot of its own come free (an ack or a reject, from the pool's result thread)."""

    def __init__(self, folder: str) -> None:
        self.read_fd, self.write_fd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.inotify_fd = _inotify(folder)
        self.fds = [self.read_fd] + ([self.inotify_fd] if self.inotify_fd is not None else [])
        self.poll_s = SAFETY_POLL_S if self.inotify_fd is not None else FILESYSTEM_POLL_S

    def clear(self) -> None:
        """Forget the news so far (before looking at the queues: news after that still wakes)."""
        for fd in self.fds:
            _drain(fd)

    def wake(self) -> None:
        with contextlib.suppress(BlockingIOError):
            os.write(self.write_fd, b"!")

    def wait(self, timeout_s: float) -> None:
        select.select(self.fds, [], [], min(timeout_s, self.poll_s))

    def close(self) -> None:
        for fd in {*self.fds, self.write_fd}:
            with contextlib.suppress(OSError):
                os.close(fd)


def _claimed_path(qos: virtual.QoS, delivery_tag: Any) -> str | None:
    """Where this consumer holds the file of a message it was given (None: not a claim)."""
    delivered: dict[Any, Any] = qos._delivered  # type: ignore[assignment]
    message = delivered.get(delivery_tag)
    return message.properties.get(CLAIM_KEY) if message is not None else None


def _unlink(path: str | None) -> None:
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


class ClaimingQoS(virtual.QoS):
    """Acks and rejects also settle the message's file, and wake the consumer (a free slot)."""

    def ack(self, delivery_tag: Any) -> None:
        _unlink(_claimed_path(self, delivery_tag))
        super().ack(delivery_tag)
        self.channel.connection.wake()

    def reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        if not requeue:
            _unlink(_claimed_path(self, delivery_tag))
        super().reject(delivery_tag, requeue)  # requeue: the channel's _restore renames it back
        self.channel.connection.wake()


class AtomicFilesystemChannel(filesystem.Channel):
    """kombu's file-system channel with atomic writes and claims by rename (see the module)."""

    QoS = ClaimingQoS

    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        # kombu creates the file before it writes it: a consumer could read it empty
        name = f"{round(time.monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        temporary = os.path.join(self.data_folder_out, f".{uuid.uuid4()}.partial")
        with open(temporary, "wb") as f:
            f.write(dumps(payload).encode())
        os.replace(temporary, os.path.join(self.data_folder_out, name))

    def _get(self, queue: str, timeout: Any = None) -> Any:
        wanted = f"{queue}.msg"
        claimed = self.connection.claim_folder(self.data_folder_in)
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != wanted:
                continue
            target = os.path.join(claimed, name)
            try:
                os.rename(os.path.join(self.data_folder_in, name), target)
            except FileNotFoundError:
                continue  # another consumer took it first
            with open(target, "rb") as f:
                raw = f.read()
            try:
                payload = loads(raw)
                payload.setdefault("properties", {})[CLAIM_KEY] = target
            except (ValueError, TypeError, AttributeError):
                log.error("dropping the unreadable broker message %s: %r", name, raw[:200])
                os.replace(target, os.path.join(self.processed_folder, name))
                continue
            return payload
        raise virtual.Empty()

    def _restore(self, message: Any) -> None:
        """Put a message back at its place in the queue: its own file, when this consumer still
        holds it."""
        path = message.properties.get(CLAIM_KEY)
        if path is not None:
            try:
                os.rename(path, os.path.join(self.data_folder_in, os.path.basename(path)))
                return
            except FileNotFoundError:
                pass
        super()._restore(message)


class AtomicFilesystemTransport(filesystem.Transport):
    """The transport: the consumer's claim directory and lock, and waiting without a timer."""

    Channel = AtomicFilesystemChannel

    def __init__(self, client: Any, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        self._folder: str = client.transport_options["data_folder_in"]
        self._claimed: str | None = None
        self._lock_fd: int | None = None
        self._wakeup: Wakeup | None = None
        self._next_recovery = 0.0

    def claim_folder(self, queue_folder: str) -> str:
        """This consumer's directory of claimed messages, made (and locked) on first use."""
        if self._claimed is None:
            root = os.path.join(queue_folder, CLAIMED)
            os.makedirs(root, exist_ok=True)
            name = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            os.makedirs(os.path.join(root, name))
            # locked before it gets its name: no other consumer can find it unlocked and
            # take this live consumer for a dead one
            temporary = os.path.join(root, f".{name}.partial")
            fd = os.open(temporary, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC)
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.rename(temporary, os.path.join(root, f"{name}.lock"))
            self._lock_fd, self._claimed = fd, os.path.join(root, name)
            _hold_lock(fd)
            recover_claimed(queue_folder)  # a consumer that died before us
        return self._claimed

    def wake(self) -> None:
        if self._wakeup is not None:
            self._wakeup.wake()

    def drain_events(self, connection: Any, timeout: float | None = None, **kwargs: Any) -> None:
        """Deliver one message, waiting for one up to ``timeout`` (then TimeoutError)."""
        if self._wakeup is None:
            self._wakeup = Wakeup(self._folder)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self._wakeup.clear()
            if time.monotonic() >= self._next_recovery:
                self._next_recovery = time.monotonic() + RECOVER_S
                recover_claimed(self._folder)
            try:
                self.cycle.get(self._deliver, timeout=timeout)  # type: ignore[attr-defined]
                return
            except virtual.Empty:
                pass
            left = SAFETY_POLL_S if deadline is None else deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError()
            self._wakeup.wait(left)

    def close_connection(self, connection: Any) -> None:
        super().close_connection(connection)  # the channels put back what was not acked
        if self._claimed is not None:
            with contextlib.suppress(OSError):
                os.rmdir(self._claimed)
            with contextlib.suppress(OSError):
                os.unlink(f"{self._claimed}.lock")
        if self._lock_fd is not None:
            _held_locks.pop(self._lock_fd, None)
            os.close(self._lock_fd)
        if self._wakeup is not None:
            self._wakeup.close()
        self._claimed = self._lock_fd = self._wakeup = None


def dead_holders(root: str | Path) -> Iterator[tuple[Path, list[str]]]:
    """The directories under ``root`` whose holder died, each with its entries (sorted).

    A holder keeps ``root/NAME.lock`` locked while it lives and its items in ``root/NAME/``.
    1. Take each lock without waiting: only a dead holder's can be taken.
    2. Yield its directory and entries: the caller moves them where they belong.
    3. Remove the directory, then the lock file (still holding the lock).
    Shared by the file-system broker's consumers and the spool testers' watchers."""
    root = Path(root)
    try:
        locks = [n for n in os.listdir(root) if n.endswith(".lock")]
    except FileNotFoundError:
        return
    for lock_name in locks:
        lock_path = root / lock_name
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # alive
            held = lock_path.with_suffix("")
            with contextlib.suppress(FileNotFoundError):
                yield held, sorted(os.listdir(held))
                held.rmdir()
            lock_path.unlink(missing_ok=True)
        finally:
            os.close(fd)


def recover_claimed(queue_folder: str) -> int:
    """Put the messages of dead consumers back into the queue under their own names (oldest
    first, as they were); the number put back."""
    restored = 0
    for held, names in dead_holders(os.path.join(queue_folder, CLAIMED)):
        for name in names:
            with contextlib.suppress(FileNotFoundError):
                os.rename(held / name, os.path.join(queue_folder, name))
                restored += 1
    if restored:
        log.warning("put back %d broker message(s) of a consumer that died", restored)
    return restored


TRANSPORT_ALIASES["assayfs"] = "assay.broker:AtomicFilesystemTransport"


def queue_name(pool: str, runtime: str, image: str | None = None) -> str:
    """``assay.<pool>.<runtime>``, or ``assay.<pool>.<runtime>.<image>`` for a job that runs
    on a course image: only a tester that has the image (and the runtime in it) takes it.
    Neither runtime nor image names have dots; the file-system transport allows no other
    separator."""
    return f"assay.{pool}.{runtime}" + (f".{image}" if image else "")


def parse_queue(queue: str) -> tuple[str, str, str | None]:
    """(pool, runtime, image or None) of a queue name (runtime ``validate`` for validations)."""
    _, pool, rest = queue.split(".", 2)
    runtime, _, image = rest.partition(".")
    return pool, runtime, image or None


def validation_queue(pool: str = "default", image: str | None = None) -> str:
    """A package's validation: ``assay.<pool>.validate``, or ``.<image>`` after it for a package
    whose solutions run on a course image (only a tester that has it takes the validation)."""
    return f"assay.{pool}.validate" + (f".{image}" if image else "")


def make_celery(broker_url: str, name: str = "assay") -> Celery:
    app = Celery(name)
    conf: dict = {
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_ignore_result": True,
        "result_backend": None,
        "task_acks_late": True,  # a tester that dies mid-job leaves the message to another
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,  # a busy tester takes nothing more
        "worker_hijack_root_logger": False,
        "broker_connection_retry_on_startup": True,
        "task_default_queue": queue_name("default", "any"),
    }
    if broker_url.startswith("filesystem://"):
        folder = Path(broker_url.removeprefix("filesystem://") or ".")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "processed").mkdir(exist_ok=True)
        conf["broker_url"] = "assayfs://"
        conf["broker_transport_options"] = {
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),  # else kombu writes ./control
            "store_processed": False,
            "polling_interval": FILESYSTEM_POLL_S,
        }
    else:
        conf["broker_url"] = broker_url
        conf["broker_transport_options"] = (
            {"confirm_publish": True} if broker_url.startswith("amqp") else {}
        )
    app.conf.update(conf)
    return app
