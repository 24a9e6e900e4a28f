"""problem.yaml and the package root: the format version, the known keys, the problem type
(and the legacy ``validation:``), whether the package's own output validator judges, the keys
assay does not support, the entries of the package root, the statement and title, and the
``include/<language>/`` files."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from assay.runtimes import get_runtime

from ..model import PackageError
from .common import FILE, LEGACY, V2023, V2025, VERSIONS, Loader, ProblemType, _mapping
from .files import _entries, _materialize, _walk_files
from .group_settings import read_group_settings

COMMON_KEYS = {"problem_format_version", "type", "name", "uuid", "source", "license"}
COMMON_KEYS |= {"rights_owner", "limits", "keywords"}
PROBLEM_KEYS = {
    LEGACY: COMMON_KEYS | {"author", "source_url", "validation", "validator_flags", "grading"},
    V2023: COMMON_KEYS
    | {"version", "credits", "embargo_until", "languages"}
    | {"allow_file_writing", "constants"},
}
PROBLEM_KEYS[V2025] = PROBLEM_KEYS[V2023]


TYPES = ("pass-fail", "scoring", "multi-pass", "interactive", "submit-answer")
INCOMPATIBLE_TYPES = [
    ("pass-fail", "scoring"),
    ("submit-answer", "multi-pass"),
    ("submit-answer", "interactive"),
]


ROOT_ENTRIES = {
    LEGACY: {"problem.yaml", "problem_statement", "attachments", "data", "include"}
    | {"submissions", "input_validators", "input_format_validators", "output_validators"}
    | {"graders"},
    V2023: {"problem.yaml", "statement", "attachments", "solution", "data", "generators"}
    | {"include", "submissions", "input_validators", "static_validator", "output_validator"}
    | {"input_visualizer", "output_visualizer"},
}
ROOT_ENTRIES[V2025] = ROOT_ENTRIES[V2023]


def format_version(doc: dict[str, Any]) -> str:
    value = doc.get("problem_format_version", "legacy")
    version = VERSIONS.get(str(value)) if isinstance(value, (str, int, float)) else None
    if version is None:
        raise PackageError(
            FILE,
            f"unknown version {value!r}; use one of {', '.join(VERSIONS)} (or leave it out: legacy)",
            "problem_format_version",
        )
    return version


def check_problem_keys(ld: Loader, doc: dict[str, Any]) -> None:
    known = PROBLEM_KEYS[ld.version]
    for key in doc:
        if key in known:
            continue
        if key in ("validation", "validator_flags"):  # in a 2023-07 or 2025-09 package
            ld.warn(
                f"{FILE}: {key} is a legacy key (2023-07 and later use type: and "
                "output_validator_args); assay uses it as the legacy format does"
            )
        else:
            ld.warn(f"{FILE}: unknown key {key!r} ignored")


def problem_type(ld: Loader, doc: dict[str, Any]) -> ProblemType:
    raw = doc.get("type", "pass-fail")
    types = [raw] if isinstance(raw, str) else raw
    if not isinstance(types, list) or not types or not all(isinstance(t, str) for t in types):
        raise PackageError(FILE, f"must be a string or a list of strings (got {raw!r})", "type")
    allowed = ("pass-fail", "scoring") if ld.version == LEGACY else TYPES
    for t in types:
        if t not in allowed:
            hint = ""
            if ld.version == LEGACY and t in TYPES:
                hint = (
                    " (the legacy format has pass-fail and scoring; interactive problems say "
                    "validation: custom interactive, or use problem_format_version: 2023-07-draft)"
                )
            raise PackageError(FILE, f"unknown type {t!r}; use {', '.join(allowed)}{hint}", "type")
    if len(set(types)) != len(types):
        raise PackageError(FILE, f"a type is repeated: {types}", "type")
    if ld.version == LEGACY and not isinstance(raw, str):
        raise PackageError(FILE, "the legacy format has a single type", "type")
    for a, b in INCOMPATIBLE_TYPES:
        if a in types and b in types:
            raise PackageError(FILE, f"{a} and {b} cannot be combined", "type")
    if "submit-answer" in types:
        raise PackageError(FILE, "submit-answer problems are not supported by assay", "type")
    pt = ProblemType(
        scoring="scoring" in types,
        interactive="interactive" in types,
        multi_pass="multi-pass" in types,
    )
    _legacy_validation(ld, doc, pt)
    return pt


def _legacy_validation(ld: Loader, doc: dict[str, Any], pt: ProblemType) -> None:
    """``validation: default | custom [score] [interactive]`` (legacy)."""
    if "validation" not in doc:
        return
    words = str(doc["validation"]).split()
    if not words or words[0] not in ("default", "custom"):
        raise PackageError(
            FILE, f"must begin with default or custom (got {doc['validation']!r})", "validation"
        )
    for w in words[1:]:
        if w not in ("score", "interactive") or words[0] == "default":
            raise PackageError(
                FILE,
                f"unknown word {w!r}: use default, or custom followed by score and/or interactive",
                "validation",
            )
    if "interactive" in words:
        pt.interactive = True
    if "score" in words and not pt.scoring:
        ld.warn(f"{FILE}: validation: custom score is only for scoring problems")


def custom_validation(ld: Loader, doc: dict[str, Any], pt: ProblemType) -> bool:
    """Whether the package's own output validator judges (rather than the default one):
    legacy says so with ``validation: custom``; later versions by having ``output_validator/``
    (interactive and multi-pass problems must)."""
    said_custom = str(doc.get("validation", "default")).split()[0] == "custom"
    if ld.version == LEGACY:
        return said_custom
    return said_custom or pt.custom_validator or (ld.root / "output_validator").exists()


def title(ld: Loader, doc: dict[str, Any], statement_dir: Path | None) -> str:
    name = doc.get("name")
    if isinstance(name, dict):  # name: {en: ..., sv: ...}
        name = name.get("en") or next(iter(name.values()), None)
    if isinstance(name, (str, int, float)) and str(name).strip():
        return str(name).strip()
    if statement_dir is not None:  # legacy: \problemname{...} in the LaTeX statement
        for tex in sorted(statement_dir.glob("problem*.tex")):
            m = re.search(r"\\problemname\{([^}]*)\}", tex.read_text(errors="replace"))
            if m and m.group(1).strip():
                return m.group(1).strip()
    return ld.root.name


def read_include(ld: Loader) -> dict[str, Path]:
    directory = ld.root / "include"
    if not directory.is_dir():
        return {}
    include: dict[str, Path] = {}
    for p in _entries(directory):
        where = f"include/{p.name}"
        if not p.is_dir():
            ld.warn(f"{where}: included files belong in include/<language>/; ignored")
            continue
        if not any(_walk_files(ld, p)):
            ld.warn(f"{where}/: empty; ignored")
            continue
        if p.name == "default":
            runtime = "default"
        else:
            try:
                runtime = get_runtime(p.name).name
            except KeyError:
                ld.warn(f"{where}/: unknown language {p.name!r}; its files are not included")
                continue
        if runtime in include:
            ld.warn(f"{where}/: a second folder for {runtime}; ignored")
            continue
        include[runtime] = _materialize(ld, p, "include")
    return include


def read_statement(ld: Loader) -> tuple[Path | None, str]:
    """The statement directory and the Markdown statement (English preferred)."""
    name = "problem_statement" if ld.version == LEGACY else "statement"
    directory = ld.root / name
    if not directory.is_dir() and ld.version == V2023 and (ld.root / "problem_statement").is_dir():
        ld.warn("problem_statement/ is the legacy name; 2023-07 calls it statement/")
        directory = ld.root / "problem_statement"
    if not directory.is_dir():
        return None, ""
    candidates = [directory / "problem.en.md", directory / "problem.md"]
    candidates += sorted(directory.glob("problem.*.md"))
    for c in candidates:
        if c.is_file():
            return directory, c.read_text(encoding="utf-8", errors="replace")
    if any(directory.glob("problem*.tex")) or any(directory.glob("problem*.pdf")):
        ld.warn(f"{ld.rel(directory)}/: the statement is LaTeX or PDF; assay shows Markdown only")
    return directory, ""


def check_root(ld: Loader) -> None:
    known = ROOT_ENTRIES[ld.version]
    for p in _entries(ld.root):
        if p.name in known or (p.is_file() and p.name.upper().startswith("README")):
            continue
        if ld.version != LEGACY and p.name == "output_validators":
            continue  # warned about below
        legacy_statement = p.name == "problem_statement" and ld.version == V2023
        if legacy_statement and not (ld.root / "statement").is_dir():
            continue  # read, with a warning
        kind = "folder" if p.is_dir() else "file"
        ld.warn(f"{p.name}{'/' if p.is_dir() else ''}: unknown {kind} in the package root ignored")
    if (ld.root / "static_validator").exists():
        ld.warn("static_validator/: static validation is not supported by assay; ignored")
    if ld.version != LEGACY and (ld.root / "output_validators").exists():
        ld.warn(
            "output_validators/ is not read: 2023-07 and later keep the output validator in "
            "output_validator/"
        )


def unsupported_problem_keys(
    ld: Loader, doc: dict[str, Any], pt: ProblemType, custom: bool
) -> None:
    grading = _mapping(doc.get("grading"), FILE, "grading") if ld.version == LEGACY else {}
    known = ("objective", "show_test_data_groups", "accept_score", "reject_score", "range")
    for key in grading:
        if key not in (*known, "on_reject"):
            ld.warn(f"{FILE}: unknown key 'grading.{key}' ignored")
    if grading.get("objective", "max") != "max":
        ld.warn(f"{FILE}: grading.objective {grading['objective']!r}: assay always maximizes")
    for key in ("accept_score", "reject_score", "range", "on_reject"):  # predate legacy
        if key in grading:
            settings = read_group_settings(ld, {key: grading[key]}, FILE, pt.scoring)
            ld.grading_overrides.update(settings)
    languages = doc.get("languages", "all")
    if ld.version != LEGACY and languages not in ("all", ["all"]):
        ld.warn(f"{FILE}: languages {languages} are not enforced: any runtime may submit")
    if ld.version != LEGACY and doc.get("constants"):
        ld.warn(f"{FILE}: constants ({{{{name}}}} substitution) are not supported; not substituted")
    legacy_score = "score" in str(doc.get("validation", "")).split()
    if pt.scoring and custom and (ld.version != LEGACY or legacy_score):
        ld.warn(
            "the output validator's score.txt is read as assay reads it (a fraction of the "
            "test's points), not as a Kattis score"
        )
