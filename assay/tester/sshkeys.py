"""`assay tester ssh-keys COURSE`: the two key pairs of a course's SSH transport (seed 000).

- key 1, ``storer_to_tester``: the storer's, to push bundles into the tester's queue;
- key 2, ``tester_to_storer``: the tester's, to push result archives into the storer's incoming
  directory.

Each public key goes into the receiving side's ``authorized_keys`` behind
``restrict,command="internal-sftp -d DIR -p REQUESTS"``: no shell, no forwarding, SFTP only,
starting in that one directory, with only the requests a push needs (no reading, listing,
removing, links). A chroot (``ChrootDirectory``, docs/deploy.md) confines the account to it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from .sftp import ALLOWED_REQUESTS

STORER_TO_TESTER = "storer_to_tester"  # key 1
TESTER_TO_STORER = "tester_to_storer"  # key 2
COURSE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class SshKeysError(RuntimeError):
    """The keys could not be made; the message says what to do."""


def generate(course: str, directory: Path) -> tuple[Path, Path]:
    """Make (or keep, when they exist) both key pairs in ``directory/<course>/``; their private
    key files (key 1, key 2)."""
    if not COURSE.match(course):
        raise SshKeysError(f"{course!r}: a course name is letters, digits, '.', '_' and '-'")
    keygen = shutil.which("ssh-keygen")
    if keygen is None:
        raise SshKeysError("ssh-keygen not found: install Debian's openssh-client")
    folder = directory / course
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    keys = []
    for name in (STORER_TO_TESTER, TESTER_TO_STORER):
        key = folder / name
        if not key.exists():
            subprocess.run(
                [keygen, "-q", "-t", "ed25519", "-N", "", "-C", f"assay-{course}-{name}", "-f", str(key)],
                check=True, capture_output=True,
            )  # fmt: skip
        keys.append(key)
    return keys[0], keys[1]


def authorized_line(public_key: Path, directory: str) -> str:
    """The receiving side's ``authorized_keys`` line: this key may only push into ``directory``."""
    if '"' in directory or "\n" in directory or " " in directory:
        raise SshKeysError(f"{directory!r}: a directory without quotes or spaces, please")
    key = public_key.read_text().strip()
    return f'restrict,command="internal-sftp -d {directory} -p {ALLOWED_REQUESTS}" {key}'
