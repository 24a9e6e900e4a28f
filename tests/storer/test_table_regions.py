"""Wide tables scroll sideways on a phone: each sits in a region a keyboard can focus and scroll
(axe `scrollable-region-focusable`), named so that a screen reader can tell them apart."""

import re

from django.template.loader import render_to_string

from tests.conftest import ROOT

TEMPLATES = ROOT / "assay" / "storer" / "web" / "templates"
WRAP = re.compile(r'<div class="table-wrap"[^>]*>')


def test_every_table_wrapper_is_a_focusable_named_region():
    wrappers = [
        (path.relative_to(TEMPLATES), tag)
        for path in TEMPLATES.rglob("*.html")
        for tag in WRAP.findall(path.read_text())
    ]
    assert len(wrappers) >= 10
    for path, tag in wrappers:
        assert 'tabindex="0"' in tag and 'role="region"' in tag, (path, tag)
        assert re.search(r'aria-label="[^"]+"', tag), (path, tag)


def test_every_table_is_in_a_wrapper():
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        assert text.count("<table") == len(WRAP.findall(text)), path


def test_each_interaction_table_is_named_after_its_test():
    html = render_to_string(
        "web/partials/interaction.html",
        {"lines": [{"by": "program", "text": "1"}], "name": "2\u202e"},
    )
    assert 'aria-label="Interaction of test 2\\u202e"' in html
