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


# the course image of the image tests: minbase + GNU hello (a program the tester host has not)
# + python3 (the hostile suite's helpers); built once (about 1.5 min) and kept in
# /var/lib/assay/images/assay-test/, keyed by its recipe
TEST_IMAGE = "assay-test"
TEST_IMAGE_PACKAGES = ["hello", "python3"]


@pytest.fixture(scope="session")
def course_image() -> str:
    """The name of the test course image, built if this machine does not have it yet."""
    from assay.sandbox import images

    if os.geteuid() != 0:
        pytest.skip("course images need a root tester")
    try:
        images.build(TEST_IMAGE, TEST_IMAGE_PACKAGES)
    except images.ImageError as e:
        pytest.fail(
            f"cannot build the test course image ({e}); it needs mmdebstrap (./setup.sh) and "
            "the Debian mirror of this host's apt sources"
        )
    return TEST_IMAGE


# The files that take longest, longest first: with `-n 2 --dist loadfile` (./test.sh) a worker
# takes a whole file at a time in collection order, so the long ones start first and the short
# ones fill in; a long file last would run alone at the end (seconds measured on a 2-core
# machine; the order matters, not the figures). Their tests are marked `slow`: the inner loop's
# fast tier is `uv run pytest -n 2 -m "not slow"` (about a quarter of the time).
LONGEST_FIRST = [
    "storer/test_scale_out.py",  # 207 s
    "test_images.py",  # 5 s, but 35-80 s more on a fresh machine (it builds the test image)
    "test_qemu.py",  # 55 s of emulated guests; 3-5 min more on a fresh machine (image, first boot)
    "storer/test_browser.py",  # 89
    "storer/test_schema.py",  # 62
    "test_check_command.py",  # 61
    "storer/test_browser_authoring.py",  # 50
    "storer/test_netns.py",  # 48
    "test_runtimes.py",  # 43
    "storer/test_end_to_end.py",  # 43
    "test_hostile.py",  # 40
    "test_measurement.py",  # 37
    "storer/test_browser_roster.py",  # 29
    "storer/test_browser_grading.py",  # 28
    "storer/test_browser_lists.py",  # 28
    "storer/test_deploy_settings.py",  # 27
    "storer/test_browser_feedback.py",  # 26
    "storer/test_browser_results.py",  # 25
    "storer/test_browser_code.py",  # 24
    "storer/test_browser_rules.py",  # 24
    "storer/test_browser_similarity.py",  # 24-30, a demo without testers
    "storer/test_web_pages.py",  # 24
    "storer/test_permissions.py",  # 21
    "storer/test_browser_groups.py",  # 20
    "storer/test_sso_served.py",  # 20, an assay demo, slapd and an OpenID Connect provider
    "storer/test_tls.py",  # 19
    "storer/test_s3_storage.py",  # 19
    "storer/test_sso_ldap.py",  # 15, starts slapd
    "storer/test_browser_lti.py",  # 10, chromium (the storer in process, no demo)
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}

    def key(item: pytest.Item) -> int:
        path = item.path.relative_to(ROOT / "tests").as_posix()
        return rank.get(path, len(rank))

    items.sort(key=key)  # stable: the tests of a file keep their order
    for item in items:
        if key(item) < len(rank):
            item.add_marker(pytest.mark.slow)
