"""The SSH transport: push a file into a remote spool directory by SFTP, whole or not at all.

The storer pushes job bundles into a tester's ``DIR/<course>/queue/`` with the course's key 1;
the tester pushes result archives into the storer's incoming directory with its key 2
(`assay tester ssh-keys` makes both and the ``authorized_keys`` lines that confine them).

A push writes ``.NAME.part`` and renames it to ``NAME`` at the end (``posix-rename``): a
connection dropped mid-transfer leaves at most the temporary file, which the watchers ignore
and the retry overwrites. The server's host key must be known (``known_hosts``): an unknown
host is refused, never trusted on first use. Never imports Django.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

import paramiko

# what the receiving side's forced command allows: write a file, look at it, rename it; no
# reading, listing, removing, links or directories
ALLOWED_REQUESTS = "open,close,write,fstat,lstat,stat,realpath,rename,posix-rename,fsync"
CONNECT_TIMEOUT_S = 15.0


class SftpError(RuntimeError):
    """A push failed; the message says where and why (a retry may succeed)."""


@dataclass(frozen=True)
class SftpTarget:
    """Where to push: ``sftp://USER@HOST[:PORT]/DIR``, with the private key that may."""

    user: str
    host: str
    port: int
    directory: str
    key: Path
    known_hosts: Path | None = None

    @classmethod
    def parse(cls, url: str, key: Path | str, known_hosts: Path | str | None = None) -> SftpTarget:
        user, host, port, directory = parse_url(url)
        key = Path(key)
        if not key.is_file():
            raise SftpError(f"{key}: no such private key (make one with `assay tester ssh-keys`)")
        return cls(user, host, port, directory, key, Path(known_hosts) if known_hosts else None)

    def __str__(self) -> str:
        return f"sftp://{self.user}@{self.host}:{self.port}{self.directory}"


def parse_url(url: str) -> tuple[str, str, int, str]:
    """``sftp://USER@HOST[:PORT]/DIR`` as (user, host, port, directory)."""
    parts = urlsplit(url)
    if parts.scheme != "sftp" or not parts.hostname or not parts.username:
        raise SftpError(f"{url!r}: expected sftp://USER@HOST[:PORT]/DIR")
    try:
        port = parts.port or 22
    except ValueError as e:
        raise SftpError(f"{url!r}: {e}") from e
    return unquote(parts.username), parts.hostname, port, unquote(parts.path) or "."


def _connect(target: SftpTarget) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    if target.known_hosts is not None:
        client.load_host_keys(str(target.known_hosts))
    else:
        client.load_system_host_keys()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        target.host, port=target.port, username=target.user, key_filename=str(target.key),
        look_for_keys=False, allow_agent=False, timeout=CONNECT_TIMEOUT_S,
        banner_timeout=CONNECT_TIMEOUT_S, auth_timeout=CONNECT_TIMEOUT_S,
    )  # fmt: skip
    return client


def push(target: SftpTarget, name: str, data: bytes | Path) -> None:
    """Write ``data`` as ``DIR/name`` on the target: to ``.name.part``, then renamed."""
    if "/" in name or name.startswith("."):
        raise SftpError(f"{name!r}: not a plain file name")
    directory = PurePosixPath(target.directory)
    temporary, final = str(directory / f".{name}.part"), str(directory / name)
    try:
        client = _connect(target)
    except paramiko.AuthenticationException as e:
        raise SftpError(f"{target}: the key {target.key} was refused ({e})") from e
    except paramiko.SSHException as e:
        raise SftpError(f"{target}: {e}") from e
    except (OSError, EOFError) as e:
        raise SftpError(f"{target}: cannot connect: {e}") from e
    try:
        sftp = client.open_sftp()
        source = io.BytesIO(data) if isinstance(data, bytes) else open(data, "rb")  # noqa: SIM115
        with source:
            size = os.fstat(source.fileno()).st_size if isinstance(data, Path) else len(data)
            sftp.putfo(source, temporary, file_size=size, confirm=True)
        sftp.posix_rename(temporary, final)
    except (paramiko.SSHException, OSError, EOFError) as e:
        raise SftpError(f"{target}: pushing {name} failed: {e}") from e
    finally:
        client.close()


def push_with_retries(
    target: SftpTarget, name: str, data: bytes | Path, attempts: int = 3, delay_s: float = 1.0
) -> None:
    """``push``, tried again after a failure (a dropped connection, a restarting server)."""
    for attempt in range(1, attempts + 1):
        try:
            push(target, name, data)
            return
        except SftpError:
            if attempt == attempts:
                raise
            time.sleep(delay_s * attempt)


class ResultSender:
    """A spool watcher's ``after_result``: push the result archive to the storer's incoming
    directory with the course's key 2, then remove it from ``results/`` (a failed push leaves
    it for the next try). ``{course}`` in the URL or the key's path is the course's name."""

    def __init__(self, url: str, key: str | Path, known_hosts: Path | str | None = None) -> None:
        self.url, self.key, self.known_hosts = url, str(key), known_hosts
        parse_url(url.replace("{course}", "course"))  # a malformed URL fails now
        if "{course}" not in self.key:
            self.target("course")  # and so does a missing key

    def target(self, course: str) -> SftpTarget:
        return SftpTarget.parse(
            self.url.replace("{course}", course), self.key.replace("{course}", course),
            self.known_hosts,
        )  # fmt: skip

    def __call__(self, course: Path, result: Path) -> None:
        push_with_retries(self.target(course.name), result.name, result)
        with contextlib.suppress(FileNotFoundError):
            result.unlink()
