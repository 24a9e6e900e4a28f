"""What every part of the Kattis loader shares: the :class:`Loader` (the package being read, its
format version and the warnings so far), the problem type, the format versions and the small
checks that turn a YAML value into a number, a list of words or a mapping (or refuse it with a
:class:`PackageError` naming the file and key)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..model import PackageError

FILE = "problem.yaml"
LEGACY, V2023, V2025 = "legacy", "2023-07", "2025-09"
VERSIONS = {
    "legacy": LEGACY,
    "legacy-icpc": LEGACY,
    "2023-07-draft": V2023,
    "2023-07": V2023,
    "2025-09": V2025,
}


@dataclass
class ProblemType:
    scoring: bool = False
    interactive: bool = False
    multi_pass: bool = False

    @property
    def custom_validator(self) -> bool:
        return self.interactive or self.multi_pass


@dataclass
class Loader:
    """The state of loading one package: where it is, its version, and what to warn about."""

    root: Path
    work: Path
    version: str = LEGACY
    warnings: list[str] = field(default_factory=list)
    # legacy problem.yaml grading: accept_score, reject_score, range (problemtools applies them
    # to every test data group)
    grading_overrides: dict[str, Any] = field(default_factory=dict)
    # test name -> (file, key) that set its output validator arguments, for error messages
    args_origin: dict[str, tuple[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.real_root = self.root.resolve()

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()


def _number(
    value: Any, file: str, where: str, *, minimum: float = 0.0, inclusive: bool = False
) -> float:
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
    if ok and (value >= minimum if inclusive else value > minimum):
        return float(value)
    bound = (
        f"at least {minimum:g}" if inclusive else "positive" if minimum == 0 else f"> {minimum:g}"
    )
    raise PackageError(file, f"must be a {bound} number (got {value!r})", where)


def _words(value: Any, file: str, where: str) -> list[str]:
    """Arguments given as a string (split on white space) or a list of strings."""
    if value is None:
        return []
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return [str(v) for v in value]
    raise PackageError(file, f"must be a string or a list of strings (got {value!r})", where)


def _mapping(value: Any, file: str, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PackageError(file, f"must be a mapping (got {value!r})", where)
    return value
