"""The SSH transport of a course: bundles pushed into a tester's queue with key 1, result
archives pushed back with key 2 and ingested by the storer — against a real OpenSSH server on
loopback (Debian's openssh-server, started here with its own config and host key)."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import socket
import subprocess
import threading
import zipfile
from pathlib import Path

import paramiko
import pytest
import yaml
from typer.testing import CliRunner

from assay.cli import app
from assay.storer.evaluation import services, ssh
from assay.storer.evaluation.models import Job
from assay.tester import sshkeys
from assay.tester.sftp import SftpError, SftpTarget, push
from tests.storer.conftest import SUM_OK, Cast, storer_settings  # noqa: F401
from tests.test_spool import wait_for

SSHD = Path("/usr/sbin/sshd")
pytestmark = pytest.mark.skipif(
    not SSHD.exists() or os.geteuid() != 0,
    reason="needs Debian's openssh-server (./setup.sh installs it) and root to run sshd",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class Sshd:
    """An sshd on a free loopback port: root may log in with the keys of ``authorized_keys``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir()
        self.port = free_port()
        self.host_key = root / "host_key"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.host_key)], check=True
        )
        self.authorized_keys = root / "authorized_keys"
        self.authorized_keys.write_text("")
        self.known_hosts = root / "known_hosts"
        public = self.host_key.with_suffix(".pub").read_text().split()[:2]
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {' '.join(public)}\n")
        self.config = root / "sshd_config"
        self.config.write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {self.host_key}\n"
            f"PidFile {root / 'sshd.pid'}\nAuthorizedKeysFile {self.authorized_keys}\n"
            "StrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            "PermitRootLogin prohibit-password\nSubsystem sftp internal-sftp\nLogLevel VERBOSE\n"
        )
        self.log = root / "sshd.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation dir
        offset = self.log.stat().st_size if self.log.exists() else 0
        self.process = subprocess.Popen(
            [str(SSHD), "-D", "-e", "-f", str(self.config)],
            stderr=open(self.log, "ab"),  # noqa: SIM115
            start_new_session=True,
        )
        wait_for(
            lambda: b"Server listening" in self.log.read_bytes()[offset:] or self.process.poll(),
            timeout_s=10, what="sshd to listen",
        )  # fmt: skip
        assert self.process.poll() is None, self.log.read_text()

    def kill(self) -> None:
        """SIGKILL the server and every session it runs: connections drop mid-transfer."""
        if self.process is None:
            return
        for pid in [*descendants(self.process.pid), self.process.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(10)
        self.process = None

    def allow(self, line: str) -> None:
        with open(self.authorized_keys, "a") as f:
            f.write(line + "\n")


@pytest.fixture
def sshd(tmp_path):
    server = Sshd(tmp_path / "sshd")
    server.start()
    yield server
    server.kill()


@pytest.fixture
def transport(tmp_path, sshd):
    """Course prog1's keys, a tester queue and a storer incoming directory, each behind its key."""
    keys = tmp_path / "keys"
    result = CliRunner().invoke(
        app,
        ["tester", "ssh-keys", "prog1", "--dir", str(keys), "--queue", str(tmp_path / "spool" / "COURSE" / "queue"),
         "--incoming", str(tmp_path / "incoming" / "prog1" / "incoming")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith("restrict,")]
    assert len(lines) == 2 and "internal-sftp -d" in lines[0]
    for line in lines:
        sshd.allow(line)
    queue, incoming = (
        tmp_path / "spool" / "prog1" / "queue",
        tmp_path / "incoming" / "prog1" / "incoming",
    )
    queue.mkdir(parents=True)
    incoming.mkdir(parents=True)
    key1, key2 = (
        keys / "prog1" / sshkeys.STORER_TO_TESTER,
        keys / "prog1" / sshkeys.TESTER_TO_STORER,
    )
    return {
        "queue": queue,
        "incoming": incoming,
        "incoming_root": tmp_path / "incoming",
        "key1": key1,
        "key2": key2,
        "to_tester": SftpTarget("root", "127.0.0.1", sshd.port, str(queue), key1, sshd.known_hosts),
        "to_storer": SftpTarget("root", "127.0.0.1", sshd.port, str(incoming), key2, sshd.known_hosts),
    }  # fmt: skip


def test_a_bundle_pushed_with_key_1_appears_in_the_queue(transport):
    push(transport["to_tester"], "7-1_bundle.zip", b"PK bundle")
    assert os.listdir(transport["queue"]) == ["7-1_bundle.zip"]
    assert (transport["queue"] / "7-1_bundle.zip").read_bytes() == b"PK bundle"


def test_a_key_that_is_not_authorized_is_refused(transport, tmp_path, sshd):
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    target = SftpTarget("root", "127.0.0.1", sshd.port, str(transport["queue"]), stranger, sshd.known_hosts)  # fmt: skip
    with pytest.raises(SftpError, match="was refused"):
        push(target, "7-1_bundle.zip", b"PK bundle")
    assert os.listdir(transport["queue"]) == []


def test_an_unknown_host_key_is_refused(transport, tmp_path):
    (tmp_path / "empty_known_hosts").write_text("")
    target = SftpTarget(
        "root", "127.0.0.1", transport["to_tester"].port, str(transport["queue"]),
        transport["key1"], tmp_path / "empty_known_hosts",
    )  # fmt: skip
    with pytest.raises(SftpError, match="not found in known_hosts"):
        push(target, "7-1_bundle.zip", b"PK bundle")


def test_a_key_may_only_push_no_shell_no_listing_no_removing(transport, sshd):
    push(transport["to_tester"], "7-1_bundle.zip", b"PK bundle")
    client = paramiko.SSHClient()
    client.load_host_keys(str(sshd.known_hosts))
    client.connect("127.0.0.1", port=sshd.port, username="root", key_filename=str(transport["key1"]),
                   look_for_keys=False, allow_agent=False)  # fmt: skip
    try:
        _, stdout, _ = client.exec_command("touch /tmp/assay-ssh-escaped; echo shell")
        assert b"shell" not in stdout.read()  # the forced command, not a shell
        sftp = client.open_sftp()
        with pytest.raises(OSError):
            sftp.listdir(".")
        with pytest.raises(OSError):
            sftp.remove("7-1_bundle.zip")
        with pytest.raises(OSError), sftp.open("7-1_bundle.zip", "r") as f:
            f.read()
        assert sftp.normalize(".") == str(transport["queue"])  # it starts in the queue
    finally:
        client.close()
    assert os.listdir(transport["queue"]) == ["7-1_bundle.zip"]


def test_a_connection_dropped_mid_transfer_leaves_no_partial_bundle_and_a_retry_succeeds(
    transport, sshd, tmp_path
):
    data = os.urandom(4 << 20)
    fifo = tmp_path / "slow-source"
    os.mkfifo(fifo)
    errors: list[Exception] = []

    def upload() -> None:
        try:
            push(transport["to_tester"], "8-1_bundle.zip", fifo)
        except Exception as e:
            errors.append(e)

    uploader = threading.Thread(target=upload)
    uploader.start()
    with open(fifo, "wb") as source:
        source.write(data[: 1 << 20])  # the first MiB, then the connection drops
        source.flush()
        partial = transport["queue"] / ".8-1_bundle.zip.part"
        wait_for(lambda: partial.exists() and partial.stat().st_size > 0, what="the upload")
        sshd.kill()
        with contextlib.suppress(BrokenPipeError):
            source.write(data[1 << 20 :])
    uploader.join(30)
    assert errors and isinstance(errors[0], SftpError), errors
    assert "8-1_bundle.zip" not in os.listdir(transport["queue"])  # a watcher sees nothing
    sshd.start()
    push(transport["to_tester"], "8-1_bundle.zip", data)
    assert os.listdir(transport["queue"]) == ["8-1_bundle.zip"]
    assert (transport["queue"] / "8-1_bundle.zip").read_bytes() == data


def _result_archive(job: Job) -> bytes:
    """What a spool tester writes for the job (the executor's result.yaml, all tests AC)."""
    meta = job.version.meta
    doc = {
        "format": "assay-result/1", "job_id": str(job.id), "attempt": job.attempt, "tester": "w",
        "status": "done", "build": {"status": "OK"},
        "tests": [
            {"name": t["name"], "group": t.get("group"), "weight": t.get("weight", 1), "visible": True,
             "status": "OK", "exit_code": 0, "cpu_time_s": 0.01, "wall_time_s": 0.02, "memory_kib": 1024,
             "verdict": "AC", "score": 1.0}
            for t in meta["tests"]
        ],
    }  # fmt: skip
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("result.yaml", yaml.safe_dump(doc))
        zf.writestr("build_stdout.vmr", "")
    return buf.getvalue()


@pytest.mark.django_db(transaction=True)
def test_a_result_pushed_back_with_key_2_is_ingested(transport, tmp_path, settings):
    cast = Cast()  # the storer tests' course prog1, its teacher and students
    # the course sends its bundles to its tester over SSH with key 1
    cast.prog1.config = {
        "transport": {
            "kind": "ssh",
            "queue": f"sftp://root@127.0.0.1:{transport['to_tester'].port}{transport['queue']}",
            "key": str(transport["key1"]),
            "known_hosts": str(transport["to_tester"].known_hosts),
        }
    }
    cast.prog1.save()
    submission = services.create_submission(
        cast.sum, cast.users["alice"], cast.users["alice"], {"sum.c": SUM_OK}
    )
    job = submission.jobs.get()
    # on commit, the storer claimed it for the spool tester and pushed the bundle
    bundle = transport["queue"] / f"{job.id}-1_bundle.zip"
    wait_for(bundle.exists, what="the pushed bundle")
    job.refresh_from_db()
    assert job.state == Job.RUNNING and job.tester.name == "spool-prog1"
    with zipfile.ZipFile(bundle) as zf:
        assert yaml.safe_load(zf.read("submission_config"))["job_id"] == str(job.id)
    # first into another course's directory (as if prog2's key 2 had sent it): not counted
    other = transport["incoming_root"] / "prog2" / "incoming"
    other.mkdir(parents=True)
    (other / f"{job.id}-1_result.zip").write_bytes(_result_archive(job))
    assert ssh.ingest_incoming(transport["incoming_root"]) == {"rejected": 1}
    assert (
        "course prog1's, not prog2's"
        in (other.parent / "rejected" / f"{job.id}-1_result.zip.error.txt").read_text()
    )
    job.refresh_from_db()
    assert job.state == Job.RUNNING
    # the tester pushes its result back with key 2; the storer ingests it
    push(transport["to_storer"], f"{job.id}-1_result.zip", _result_archive(job))
    assert ssh.ingest_incoming(transport["incoming_root"]) == {"done": 1}
    job.refresh_from_db()
    assert (job.state, job.verdict) == (Job.DONE, "AC")
    assert (transport["incoming"].parent / "done" / f"{job.id}-1_result.zip").exists()
    # the same result again is stale: set aside with the reason, the job untouched
    push(transport["to_storer"], f"{job.id}-1_result.zip", _result_archive(job))
    assert ssh.ingest_incoming(transport["incoming_root"]) == {"rejected": 1}
    assert (
        "given up or finished"
        in (
            transport["incoming"].parent / "rejected" / f"{job.id}-1_result.zip.error.txt"
        ).read_text()
    )
    # what a course's key could drop to stop the ingestion stops nothing: a directory in place
    # of an archive, an archive of a job its spool tester does not hold (a validation's)
    (transport["incoming"] / f"{job.id}-2_result.zip").mkdir()
    validation = Job.objects.create(
        version=cast.sum.current_version, kind=Job.VALIDATION, queue="assay.default.validate",
        state=Job.RUNNING, tester=ssh.spool_tester("prog2"),
    )  # fmt: skip
    (transport["incoming"] / f"{validation.id}-1_result.zip").write_bytes(b"PK forged")
    assert ssh.ingest_incoming(transport["incoming_root"]) == {"rejected": 2}
    validation.refresh_from_db()
    assert validation.state == Job.RUNNING


def test_ssh_keys_keeps_existing_keys(tmp_path):
    first = sshkeys.generate("prog1", tmp_path)
    before = first[0].read_bytes()
    assert sshkeys.generate("prog1", tmp_path) == first and first[0].read_bytes() == before
    assert (tmp_path / "prog1").stat().st_mode & 0o777 == 0o700
    shutil.rmtree(tmp_path / "prog1")


def test_a_spool_job_is_given_up_after_the_spool_timeout_not_the_heartbeat_timeout(db, settings):
    import datetime as dt

    from django.utils import timezone

    cast = Cast()  # the storer tests' course prog1, its teacher and students
    cast.prog1.config = {"transport": {"kind": "ssh", "queue": "sftp://u@tester/q", "key": "/k"}}
    cast.prog1.save()
    submission = services.create_submission(
        cast.sum, cast.users["alice"], cast.users["alice"], {"sum.c": SUM_OK}
    )
    job = submission.jobs.get()
    assert job.queue == "assay.spool-prog1.c"  # its own pool: no broker's tester takes it
    services.claim(job.id, 1, ssh.spool_tester("prog1"))
    # a spool tester sends no heartbeats: a long evaluation is not taken for a dead tester
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - dt.timedelta(minutes=10))
    assert services.watch_jobs()["requeued"] == 0
    past = dt.timedelta(seconds=settings.SPOOL_TIMEOUT_S + 1)
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - past)
    assert services.watch_jobs()["requeued"] == 1
    job.refresh_from_db()
    assert (job.state, job.attempt) == (Job.QUEUED, 2)


def test_a_spool_watcher_sends_its_result_back_with_key_2_and_keeps_none(transport, tmp_path):
    from assay.tester.sftp import ResultSender
    from assay.tester.spool import Watcher

    course = transport["queue"].parent
    (course / "queue" / "10-1_bundle.zip").write_bytes(b"not a zip")  # refused at once
    lines: list[str] = []
    watcher = Watcher(
        course.parent,
        after_result=ResultSender(
            f"sftp://root@127.0.0.1:{transport['to_storer'].port}{transport['incoming']}",
            str(tmp_path / "keys" / "{course}" / "tester_to_storer"),
            transport["to_storer"].known_hosts,
        ),
        report=lines.append,
    )
    try:
        assert watcher.run_once() == 1
    finally:
        watcher.close()
    with zipfile.ZipFile(transport["incoming"] / "10-1_result.zip") as zf:
        doc = yaml.safe_load(zf.read("result.yaml"))
    assert (doc["job_id"], doc["status"]) == ("10", "failed")
    assert os.listdir(course / "results") == []  # sent: nothing left to send again
