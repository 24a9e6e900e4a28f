"""Sample tests as students see them: input and answer, or an interactive sample's exchange.

A Kattis ``.interaction`` file holds one exchange of an interactive sample: a line starting with
``>`` is what the program writes, one starting with ``<`` what it reads (from the validator).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .model import Assignment, TestCase

SAMPLE_CAP = 4096  # bytes of each sample file shown
MAX_SAMPLES = 10


def _text(path: Path, cap: int = SAMPLE_CAP) -> str:
    data = path.read_bytes()
    text = data[:cap].decode(errors="replace")
    return text + ("\n…" if len(data) > cap else "")


def read_interaction(path: Path, cap: int = SAMPLE_CAP) -> list[dict[str, str]]:
    """The lines of an ``.interaction`` file as [{"by": "program"|"validator", "text": ...}]."""
    lines = []
    for line in _text(path, cap).splitlines():
        if line[:1] == ">":
            lines.append({"by": "program", "text": line[1:]})
        elif line[:1] == "<":
            lines.append({"by": "validator", "text": line[1:]})
        elif line.strip():
            lines.append({"by": "note", "text": line})
    return lines


def is_sample(test: TestCase) -> bool:
    return test.visible and (test.group == "sample" or test.interaction is not None)


def sample_view(test: TestCase) -> dict[str, Any]:
    """What a student may see of a sample test."""
    if test.interaction is not None:
        return {"name": test.name, "interaction": read_interaction(test.interaction)}
    view: dict[str, Any] = {"name": test.name, "input": _text(test.input)}
    if test.answer.is_file():
        view["answer"] = _text(test.answer)
    return view


def samples(assignment: Assignment) -> list[dict[str, Any]]:
    """The package's samples (the visible tests of the ``sample`` group), capped."""
    return [sample_view(t) for t in assignment.tests if is_sample(t)][:MAX_SAMPLES]
