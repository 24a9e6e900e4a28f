"""Markdown as the pages show it (assignment statements, comments) and as the API's statement
preview answers it: HTML sanitised by nh3, so that no text can run scripts in a reader's
browser."""

from __future__ import annotations

import markdown as md
import nh3


def markdown_html(text: str) -> str:
    """Markdown (with fenced code and tables) to sanitised HTML."""
    return nh3.clean(md.markdown(text or "", extensions=["fenced_code", "tables"]))
