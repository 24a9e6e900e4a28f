"""Shared fixtures. Sandbox tests use the real bubblewrap + cgroups sandbox: run them as root
(or with delegated cgroups); when the machine cannot sandbox they fail with the reason."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

# the storer's settings (loaded by pytest-django) give the run a private data directory
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assay.storer.settings")

import pytest  # noqa: E402

from assay.sandbox import VM, Host, get_host  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def host() -> Host:
    return get_host()


@pytest.fixture
def vm(host: Host) -> Iterator[VM]:
    box = host.get_vm(box_size_kib=64 * 1024)
    yield box
    box.destroy()


@pytest.fixture(scope="session", params=["launcher", "bwrap"])
def any_host(request: pytest.FixtureRequest) -> Host:
    """Each sandbox backend in turn (the launcher needs root, as the whole sandbox suite)."""
    return get_host(request.param)


@pytest.fixture
def any_vm(any_host: Host) -> Iterator[VM]:
    box = any_host.get_vm(box_size_kib=64 * 1024)
    yield box
    box.destroy()
