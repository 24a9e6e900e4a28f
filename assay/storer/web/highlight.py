"""Submitted code as highlighted HTML (Pygments): the lexer chosen by the file's name (plain text
when none fits), every line numbered with an anchor (``f2-L12``: line 12 of the page's second
file) that links to itself, so a line can be pointed at."""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import TextLexer, get_lexer_for_filename
from pygments.util import ClassNotFound

# Pygments' "xcode" style: every colour it gives a token has a contrast of at least 4.5:1 (WCAG
# AA) on its white background (tests/storer/test_code_view.py checks it). Its rules are served as
# a static file, web/static/web/pygments.css, which is stylesheet() (a test keeps them equal).
STYLE = "xcode"
CSS_SCOPE = ".hl"


def lexer_for(name: str, text: str) -> Lexer:
    """The lexer for a file of this name; the line numbers must match the file's, so it keeps
    leading and trailing empty lines."""
    options = {"stripnl": False, "stripall": False, "ensurenl": True}
    try:
        return get_lexer_for_filename(name, text, **options)
    except ClassNotFound:
        return TextLexer(**options)


def highlighted_lines(name: str, text: str) -> list[str]:
    """The text's lines as HTML (escaped, with Pygments' classes); a token spanning lines is
    closed at each line's end, so every line stands alone."""
    html = highlight(text, lexer_for(name, text), HtmlFormatter(nowrap=True))
    lines = html.split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def code_block(
    name: str, text: str, anchor: str, notes: Mapping[int, str] | None = None
) -> SafeString:
    """The file's lines in a ``<pre>``: line ``n`` is ``#{anchor}L{n}``. ``notes`` are HTML
    blocks shown under their line (the staff's comments): the ``<pre>`` ends before one and
    goes on after it, as a ``<pre>`` holds no blocks; notes on lines past the end come last."""
    pre, end = '<pre class="hl"><code>', "</code></pre>"
    out, inside = [pre], True
    lines = highlighted_lines(name, text)
    for n, line in enumerate(lines, start=1):
        if not inside:
            out.append(pre)
            inside = True
        ident = f"{escape(anchor)}L{n}"
        out.append(
            f'<span class="line" id="{ident}"><a class="ln" href="#{ident}" tabindex="-1"'
            f' aria-hidden="true">{n}</a>{line}</span>\n'
        )
        if notes and n in notes:
            out += [end, notes[n]]
            inside = False
    if inside:
        out.append(end)
    out += [html for n, html in sorted(notes.items()) if n > len(lines)] if notes else []
    return mark_safe("".join(out))


def stylesheet() -> str:
    """The style's rules, scoped to ``.hl`` (the content of web/static/web/pygments.css)."""
    formatter = HtmlFormatter(style=STYLE)
    return (
        f"/* Pygments' {STYLE} style: assay.storer.web.highlight.stylesheet() */\n"
        + "\n".join(formatter.get_background_style_defs(CSS_SCOPE))
        + "\n"
        + "\n".join(formatter.get_token_style_defs(CSS_SCOPE))
        + "\n"
    )
