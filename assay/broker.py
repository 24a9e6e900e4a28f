"""The broker (Celery): the storer sends job ids, testers take them (Django-free).

Messages carry only ``(job_id, attempt)``: the database is the source of truth, the broker just
moves the news that a job waits. Queues are named ``assay.<pool>.<runtime>`` (evaluations) and
``assay.<pool>.validate`` (package validations), so a job reaches only a tester that offers its
runtime in its pool; a tester takes one job per free slot (prefetch 1, late acks).

The embedded default keeps its queues in files (``filesystem:///DIR``) and needs no server; in
production the URL names RabbitMQ (``amqp://…``) or Redis (``redis://…``).
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

from celery import Celery
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.json import dumps


class AtomicFilesystemChannel(filesystem.Channel):
    """kombu's file-system channel, writing each message under a temporary name first: kombu
    creates the file before it writes it, so a consumer could read it empty, fail to decode it
    and stop (seen in the deadline-rush benchmark)."""

    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        name = f"{round(time.monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        temporary = os.path.join(self.data_folder_out, f".{uuid.uuid4()}.partial")
        with open(temporary, "wb") as f:
            f.write(dumps(payload).encode())
        os.replace(temporary, os.path.join(self.data_folder_out, name))


class AtomicFilesystemTransport(filesystem.Transport):
    Channel = AtomicFilesystemChannel


TRANSPORT_ALIASES["assayfs"] = "assay.broker:AtomicFilesystemTransport"

EVALUATE_TASK = "assay.evaluate"
VALIDATE_TASK = "assay.validate"
FILESYSTEM_POLL_S = 0.05


def queue_name(pool: str, runtime: str) -> str:
    return f"assay.{pool}.{runtime}"


def validation_queue(pool: str = "default") -> str:
    return f"assay.{pool}.validate"


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
