"""Template helpers: Markdown (sanitised), verdict badges, limits."""

from __future__ import annotations

from typing import Any

import markdown as md
import nh3
from django import template
from django.utils.safestring import mark_safe

register = template.Library()
VERDICT_NAMES = {
    "AC": "accepted", "PA": "partially accepted", "WA": "wrong answer", "TLE": "time limit exceeded",
    "MLE": "memory limit exceeded", "OLE": "output limit exceeded", "RTE": "run-time error",
    "CE": "compile error", "IE": "internal error", "SKIP": "not run",
}  # fmt: skip


@register.filter
def markdown(text: str) -> str:
    """Markdown to HTML, sanitised: a description may not run scripts in students' browsers."""
    html = md.markdown(text or "", extensions=["fenced_code", "tables"])
    return mark_safe(nh3.clean(html))  # noqa: S308 - cleaned by nh3


@register.inclusion_tag("web/partials/verdict.html")
def verdict(code: str | None) -> dict[str, Any]:
    code = code or ""
    return {
        "code": code or "—",
        "css": code or "none",
        "name": VERDICT_NAMES.get(code, "not evaluated"),
    }


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
