"""Run untrusted programs with limits: ``get_host().get_vm()`` gives a VM (see base.py)."""

from __future__ import annotations

from pathlib import Path

from .base import VM, Host, Limits, Process, RunResult, SandboxError, Status

__all__ = ["VM", "Host", "Limits", "Process", "RunResult", "SandboxError", "Status", "get_host"]

_hosts: dict[str, Host] = {}


def get_host(backend: str = "bwrap", root: Path | None = None) -> Host:
    """The host of this process for ``backend`` (made once; raises SandboxError if unusable)."""
    key = f"{backend}:{root}"
    if key not in _hosts:
        if backend != "bwrap":
            raise SandboxError(f"unknown sandbox backend {backend!r}; available: bwrap")
        from .bwrap import BwrapHost

        _hosts[key] = BwrapHost(root)
    return _hosts[key]
