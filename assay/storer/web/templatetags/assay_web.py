"""Template helpers: Markdown (sanitised), verdict badges, limits, names shown escaped."""

from __future__ import annotations

import unicodedata
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from assay.storer.markup import markdown_html

register = template.Library()
VERDICT_NAMES = {
    "AC": "accepted", "PA": "partially accepted", "WA": "wrong answer", "TLE": "time limit exceeded",
    "MLE": "memory limit exceeded", "OLE": "output limit exceeded", "RTE": "run-time error",
    "CE": "compile error", "IE": "internal error", "SKIP": "not run",
}  # fmt: skip


@register.filter
def markdown(text: str) -> str:
    """Markdown to HTML, sanitised: a description may not run scripts in students' browsers."""
    return mark_safe(markdown_html(text))  # noqa: S308 - cleaned by nh3


def _hidden(char: str) -> bool:
    """Control characters (U+0000-U+001F, U+007F-U+009F), format characters (the bidi
    controls U+202A-U+202E, U+2066-U+2069, U+200E/F, U+061C, zero-width ones) and line or
    paragraph separators: invisible, or changing how the text around them reads."""
    return unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp")


@register.filter
def printable(text: Any) -> str:
    """A file name (or a message naming one) with its invisible characters shown escaped:
    "evil\\u202ecod.exe" reads as such, not as "evilexe.doc". The result is still HTML-escaped
    by the template."""
    text = "" if text is None else str(text)
    if not any(_hidden(c) for c in text):
        return text
    return "".join(
        (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}") if _hidden(c) else c
        for c in text
    )


@register.simple_tag
def verdict(code: str | None) -> str:
    """A verdict's badge: its code, its name on hover (a tag, not a template: every test row
    of a page that polls has one)."""
    code = code or ""
    name = VERDICT_NAMES.get(code, "not evaluated")
    return format_html(
        '<span class="verdict v-{}" title="{}"><abbr title="{}">{}</abbr></span>',
        code or "none", name, name, code or "—",
    )  # fmt: skip


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


@register.filter
def seconds(value: Any) -> str:
    n = _number(value)
    return "" if n is None else f"{n:.3f} s"


@register.filter
def mib(kib: Any) -> str:
    n = _number(kib)
    return "" if n is None else f"{n / 1024:.1f} MiB"


@register.filter
def points(value: Any) -> str:
    n = _number(value)
    return "—" if n is None else f"{n:g}"


@register.filter
def percent(fraction: Any) -> str:
    """A partial score (0..1) as a percentage: 0.6 -> "60 %"."""
    n = _number(fraction)
    return "" if n is None else f"{n * 100:.3g} %"
