"""Run untrusted programs with limits: ``get_host().get_vm()`` gives a VM (see base.py)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from .base import VM, Host, Limits, Process, RunResult, SandboxError, Status

__all__ = ["VM", "Host", "Limits", "Process", "RunResult", "SandboxError", "Status", "get_host"]

log = logging.getLogger(__name__)
_hosts: dict[str, Host] = {}


BACKENDS = ("launcher", "bwrap", "qemu")


def get_host(backend: str | None = None, root: Path | None = None) -> Host:
    """The host of this process for ``backend`` (made once; raises SandboxError if unusable).

    ``auto`` (the default, or ``ASSAY_SANDBOX_BACKEND``): the C launcher for a root tester,
    bubblewrap otherwise (or when the launcher cannot be built here, with a warning)."""
    backend = backend or os.environ.get("ASSAY_SANDBOX_BACKEND") or "auto"
    key = f"{backend}:{root}"
    if key not in _hosts:
        if backend == "auto":
            _hosts[key] = _auto_host(root)
        elif backend == "launcher":
            from .launcher import LauncherHost

            _hosts[key] = LauncherHost(root)
        elif backend == "bwrap":
            from .bwrap import BwrapHost

            _hosts[key] = BwrapHost(root)
        elif backend == "qemu":  # never chosen by auto: a guest image must be built first
            from .qemu import QemuHost

            _hosts[key] = QemuHost(root)
        else:
            raise SandboxError(
                f"unknown sandbox backend {backend!r}; available: auto, {', '.join(BACKENDS)}"
            )
    return _hosts[key]


def _auto_host(root: Path | None) -> Host:
    if os.geteuid() == 0:
        try:
            return get_host("launcher", root)
        except SandboxError as e:
            log.warning("sandbox: the launcher backend is not usable (%s); using bubblewrap", e)
    return get_host("bwrap", root)
