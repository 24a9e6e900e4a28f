"""A test data group's settings: which file holds them (``testdata.yaml`` or ``test_group.yaml``,
as the format version says), their keys checked and normalized (validator arguments, feedback,
legacy grading, scoring), and :class:`GroupConfig`, what a group passes on to its subgroups."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..model import PackageError
from .common import LEGACY, V2023, V2025, Loader, _mapping, _number, _words

GROUP_FILES = {LEGACY: ("testdata.yaml",), V2023: ("testdata.yaml", "test_group.yaml")}
GROUP_FILES[V2025] = ("test_group.yaml",)
LEGACY_GROUP_KEYS = {"on_reject", "grading", "grader_flags", "input_validator_flags"}
LEGACY_GROUP_KEYS |= {"output_validator_flags", "accept_score", "reject_score", "range"}
GROUP_KEYS = {
    LEGACY: LEGACY_GROUP_KEYS,
    # problemtools reads the legacy keys in 2023-07 packages; the draft added these
    V2023: LEGACY_GROUP_KEYS
    | {"scoring", "args", "input_validator_args", "output_validator_args", "static_validation"}
    | {"full_feedback", "hint", "description"},
    V2025: {"max_score", "score_aggregation", "static_validation_score", "require_pass", "args"}
    | {"input_validator_args", "static_validator_args", "output_validator_args"}
    | {"input_visualizer_args", "output_visualizer_args", "full_feedback"},
}


# keys a group does not pass on to its subgroups (everything else is inherited)
NOT_INHERITED = {"score", "aggregation", "require_pass"}
GRADER_SCORE_MODES = ("sum", "avg", "min", "max")
GRADER_FLAGS = set(GRADER_SCORE_MODES) | {"worst_error", "first_error", "always_accept"}
GRADER_FLAGS |= {"ignore_sample", "accept_if_any_accepted"}


@dataclass
class GroupConfig:
    """One test data group's settings, as read from its testdata.yaml / test_group.yaml and
    inherited from its parent (see NOT_INHERITED)."""

    values: dict[str, Any] = field(default_factory=dict)
    file: str | None = None  # where the group's own settings are

    def child(self) -> GroupConfig:
        return GroupConfig({k: v for k, v in self.values.items() if k not in NOT_INHERITED})

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)


def _input_args(ld: Loader, value: Any, file: str, key: str) -> list[str] | None:
    if isinstance(value, dict):
        ld.warn(
            f"{file}: {key} per input validator (a mapping) is not supported: "
            "the validators run without these arguments"
        )
        return None
    return _words(value, file, key)


def read_group_settings(ld: Loader, doc: dict[str, Any], file: str, scoring: bool) -> dict:
    """A group file's keys, checked and normalized (``out_args``, ``in_args``, ``mode``, ...)."""
    out: dict[str, Any] = {}
    known = GROUP_KEYS[ld.version]
    for key, value in doc.items():
        if key not in known:
            ld.warn(f"{file}: unknown key {key!r} ignored")
            continue
        if key in ("output_validator_flags", "output_validator_args"):
            if isinstance(value, dict) and "flags" in value:  # legacy {name:, flags:}
                value = value["flags"]
            out["out_args"] = _words(value, file, key)
            out["out_args_from"] = (file, key)
        elif key in ("input_validator_flags", "input_validator_args"):
            out["in_args"] = _input_args(ld, value, file, key)
        elif key == "args":
            out["args"] = _words(value, file, key)
        elif key == "full_feedback":
            if not isinstance(value, bool):
                raise PackageError(file, f"must be true or false (got {value!r})", key)
            out["full_feedback"] = value
        elif key in ("accept_score", "reject_score"):
            try:
                out[key] = float(value)
            except (TypeError, ValueError) as e:
                raise PackageError(file, f"must be a number (got {value!r})", key) from e
        elif key == "range":
            try:
                lo, hi = (float(w) for w in str(value).split())
            except ValueError as e:
                raise PackageError(file, f"must be two numbers 'A B' (got {value!r})", key) from e
            if lo > hi:
                raise PackageError(file, f"the minimum is above the maximum ({value!r})", key)
            out["range"] = (lo, hi)
        elif key == "grader_flags":
            flags = _words(value, file, key)
            for f in flags:
                if f not in GRADER_FLAGS:
                    ld.warn(f"{file}: unknown grader flag {f!r} ignored")
            out["grader_flags"] = flags
        elif key == "on_reject":
            if value not in ("break", "continue"):
                raise PackageError(file, f"must be break or continue (got {value!r})", key)
        elif key == "grading":
            if value not in ("default", "custom"):
                raise PackageError(file, f"must be default or custom (got {value!r})", key)
            out["grading"] = value
        elif key == "scoring":  # 2023-07-draft: {score, aggregation, require_pass}
            m = _mapping(value, file, key)
            for k, v in m.items():
                if k == "score":
                    out["score"] = _max_score(v, file, "scoring.score")
                elif k == "aggregation":
                    out["aggregation"] = _aggregation(v, file, "scoring.aggregation")
                elif k == "require_pass":
                    out["require_pass"] = v
                else:
                    ld.warn(f"{file}: unknown key 'scoring.{k}' ignored")
        elif key == "max_score":
            out["score"] = _max_score(value, file, key)
        elif key == "score_aggregation":
            out["aggregation"] = _aggregation(value, file, key)
        elif key == "require_pass":
            out["require_pass"] = value
        elif key.startswith("static_validat") and value not in (False, None):
            ld.warn(f"{file}: {key}: static validation is not supported by assay; ignored")
        # hint, description and the visualizers' arguments are for people and tools
    if not scoring:
        for key in ("accept_score", "reject_score", "range", "score", "aggregation"):
            if key in out:
                name = {"score": "max_score / scoring.score", "aggregation": "score_aggregation"}
                ld.warn(f"{file}: {name.get(key, key)} is only for scoring problems; ignored")
    if "require_pass" in out:
        ld.warn(f"{file}: require_pass is not supported by assay: the group is always scored")
    return out


def _max_score(value: Any, file: str, where: str) -> float:
    if value == "unbounded":
        raise PackageError(file, "unbounded scores are not supported by assay", where)
    return _number(value, file, where, inclusive=True)


def _aggregation(value: Any, file: str, where: str) -> str:
    if value not in ("pass-fail", "sum", "min"):
        raise PackageError(file, f"must be pass-fail, sum or min (got {value!r})", where)
    return str(value)


def _group_file(ld: Loader, directory: Path, depth: int) -> tuple[Path, str] | None:
    """The group's settings file, if it has one (``depth``: 0 for data/, 1 for secret, ...)."""
    found = [directory / n for n in GROUP_FILES[ld.version] if (directory / n).is_file()]
    rel = ld.rel(directory)
    if len(found) > 1:
        raise PackageError(f"{rel}/", "has both testdata.yaml and test_group.yaml: keep one")
    if ld.version == V2025 and (directory / "testdata.yaml").is_file():
        ld.warn(f"{rel}/testdata.yaml is not read: 2025-09 calls it test_group.yaml")
    if not found:
        return None
    if ld.version == V2025 and depth > 2:
        ld.warn(
            f"{ld.rel(found[0])} is not read: in 2025-09 only data/sample, data/secret and "
            "the groups directly in data/secret have settings"
        )
        return None
    return found[0], ld.rel(found[0])
