"""axe-core in the browser tests: every page a test visits is checked at a desktop and a phone
width, and a violation fails the test with a list a person can act on.

axe-core comes from the npm registry at set-up time (`./setup.sh` installs it into .cache/axe/);
nothing is loaded from the internet while the tests run."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

from tests.conftest import ROOT

AXE_JS = ROOT / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP, PHONE = 1200, 390


def axe_violations(page: Page) -> list[dict[str, Any]]:
    if not AXE_JS.exists():
        pytest.fail(f"axe-core is not installed ({AXE_JS} is missing): run ./setup.sh")
    if not page.evaluate("typeof window.axe === 'object'"):
        # the script's text is evaluated, not added with page.add_script_tag(path=...): an inline
        # <script> is refused by the pages' Content-Security-Policy (script-src 'self'), which the
        # tests keep on (bypass_csp would hide a page that breaks it)
        page.evaluate(AXE_JS.read_text())
    return page.evaluate(
        "() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations)"
    )


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        lines += [f"    {' '.join(map(str, node['target']))}" for node in v["nodes"]]
    return "\n".join(lines)


def assert_accessible(page: Page, widths: tuple[int, ...] = (DESKTOP, PHONE)) -> None:
    """No axe violation on the page as it is now, at each width; the page's own width is kept."""
    own = page.viewport_size
    try:
        for width in widths:
            page.set_viewport_size({"width": width, "height": own["height"] if own else 900})
            found = axe_violations(page)
            assert not found, f"axe at {width} px on {page.url}:\n{describe(found)}"
    finally:
        if own:
            page.set_viewport_size(own)
