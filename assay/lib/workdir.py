"""Scratch directories for jobs, checks and checkers.

A root tester keeps them under ``/var/lib/assay/work`` (``ASSAY_WORK_DIR`` chooses another place),
not in ``/tmp``: a job's directory holds the tests' expected outputs, and a run creates three
files in it per test, so a slow or shared ``/tmp`` (on the CI machine creating a file there costs
0.8 ms, against 0.07 ms elsewhere on the same disk) costs every test. Others use the system's
temporary directory.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

ROOT_WORK_DIR = Path("/var/lib/assay/work")


def work_root() -> Path | None:
    configured = os.environ.get("ASSAY_WORK_DIR")
    if configured:
        return Path(configured)
    return ROOT_WORK_DIR if os.geteuid() == 0 else None


def scratch_dir(prefix: str) -> Path:
    """A new private (0700) directory; the caller removes it."""
    root = work_root()
    if root is not None:
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=root))
