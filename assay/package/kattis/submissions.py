"""Reference solutions: the submission folders of each format version and the verdicts they
permit and require, ``submissions.yaml`` globs and their rules (2023-07 and later), and the
:class:`ReferenceSolution` each submission becomes."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from assay.runtimes import get_runtime

from ..model import PackageError, ReferenceSolution, Verdict
from ..native import read_yaml
from .common import LEGACY, V2023, V2025, Loader, ProblemType, _mapping, _number
from .files import _entries, _is_program, _materialize

# Kattis' verdicts of a test. A partial score (assay's PA) is still AC in Kattis, and running out
# of memory or output is RTE: `assay check` maps them so before it compares.
AC = frozenset({Verdict.AC})
ANY = frozenset({Verdict.AC, Verdict.WA, Verdict.TLE, Verdict.RTE})
KATTIS_VERDICTS = {
    "AC": AC,
    "WA": frozenset({Verdict.WA}),
    "TLE": frozenset({Verdict.TLE}),
    "RTE": frozenset({Verdict.RTE}),
}


@dataclass(frozen=True)
class Rule:
    """What a submission folder (or a submissions.yaml glob) asks of its submissions."""

    permitted: frozenset[Verdict] = ANY
    required: frozenset[Verdict] = ANY


WA, TLE, RTE = frozenset({Verdict.WA}), frozenset({Verdict.TLE}), frozenset({Verdict.RTE})
# legacy: the specification's table (problemtools checks the first failing test's verdict)
LEGACY_FOLDERS = {
    "accepted": Rule(AC),
    "partially_accepted": Rule(),  # overall AC, score below the maximum
    "wrong_answer": Rule(AC | WA, WA),  # not too slow, does not crash
    "time_limit_exceeded": Rule(AC | WA | TLE, TLE),  # may also be wrong, does not crash
    "run_time_error": Rule(ANY, RTE),
}
# 2023-07-draft and 2025-09: "Default directories"
DEFAULT_FOLDERS = {
    "accepted": Rule(AC),
    "rejected": Rule(ANY, WA | TLE | RTE),
    "wrong_answer": Rule(AC | WA, WA),
    "time_limit_exceeded": Rule(AC | TLE, TLE),
    "run_time_error": Rule(AC | RTE, RTE),
    "brute_force": Rule(AC | TLE | RTE, TLE | RTE),
}
SUBMISSION_FOLDERS = {
    LEGACY: LEGACY_FOLDERS,
    # problemtools also reads partially_accepted in 2023-07 packages
    V2023: {**DEFAULT_FOLDERS, "partially_accepted": LEGACY_FOLDERS["partially_accepted"]},
    V2025: DEFAULT_FOLDERS,
}


def _braces(pattern: str) -> list[str]:
    m = re.search(r"\{([^{}]*)\}", pattern)
    if not m:
        return [pattern]
    out = []
    for alt in m.group(1).split(","):
        out += _braces(pattern[: m.start()] + alt + pattern[m.end() :])
    return out


def glob_matches(pattern: str, path: str) -> bool:
    """A submissions.yaml glob: ``*`` within a name, ``{a,b}``; a submission matches when it or
    a directory it is in does."""
    parts = path.split("/")
    for alt in _braces(pattern.strip("/")):
        pats = [re.sub(r"([\[\]])", r"[\1]", p) for p in alt.split("/")]
        if len(pats) <= len(parts) and all(
            fnmatchcase(part, pat) for part, pat in zip(parts, pats, strict=False)
        ):
            return True
    return False


def _verdict_set(value: Any, file: str, where: str) -> frozenset[Verdict]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise PackageError(file, f"must be a list of AC, WA, TLE, RTE (got {value!r})", where)
    out: set[Verdict] = set()
    for v in items:
        if v not in KATTIS_VERDICTS:
            raise PackageError(file, f"unknown verdict {v!r}; use AC, WA, TLE, RTE", where)
        out |= KATTIS_VERDICTS[v]
    return frozenset(out)


def _score_range(value: Any, file: str, where: str) -> tuple[float, float]:
    if isinstance(value, list) and len(value) == 2:
        lo = _number(value[0], file, where, inclusive=True)
        hi = _number(value[1], file, where, inclusive=True)
        if lo > hi:
            raise PackageError(file, f"the minimum is above the maximum ({value!r})", where)
        return lo, hi
    score = _number(value, file, where, inclusive=True)
    return score, score


@dataclass
class SubmissionRules:
    """submissions.yaml: glob -> what the submissions it matches must get."""

    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)


def read_submissions_yaml(ld: Loader, pt: ProblemType) -> SubmissionRules:
    path = ld.root / "submissions" / "submissions.yaml"
    rules = SubmissionRules()
    if not path.is_file():
        return rules
    file = "submissions/submissions.yaml"
    if ld.version == LEGACY:
        ld.warn(f"{file} is not read: it belongs to 2023-07 and later")
        return rules
    for glob, spec in read_yaml(path, file).items():
        spec = _mapping(spec, file, str(glob))
        entry: dict[str, Any] = {}
        for key, value in spec.items():
            where = f"{glob}.{key}"
            if key in ("permitted", "required"):
                entry[key] = _verdict_set(value, file, where)
            elif key == "score":
                if not pt.scoring:
                    ld.warn(f"{file}: {where} is only for scoring problems; ignored")
                else:
                    entry["score"] = _score_range(value, file, where)
            elif key == "language":
                try:
                    entry["language"] = get_runtime(str(value)).name
                except KeyError:
                    ld.warn(f"{file}: {where}: unknown language {value!r}; detected by extension")
            elif key in ("entrypoint", "message", "use_for_time_limit"):
                ld.warn(f"{file}: {where} is not supported by assay; ignored")
            elif key in ("authors", "model_solution"):
                pass
            elif "/" in str(key) or str(key).split("/")[0] in ("sample", "secret"):
                ld.warn(
                    f"{file}: {where}: requirements for some test groups only are not "
                    "supported by assay; ignored"
                )
            else:
                ld.warn(f"{file}: unknown key {where!r} ignored")
        rules.entries[str(glob)] = entry
    return rules


def _combine_required(ld: Loader, name: str, sets: list[frozenset[Verdict]]) -> frozenset[Verdict]:
    """Several "at least one test gets one of ..." rules: the smallest implies the others when
    they are nested; otherwise assay keeps the last one."""
    sets = [s for s in sets if s != ANY] or [ANY]
    smallest = min(sets, key=len)
    if all(smallest <= s for s in sets):
        return smallest
    ld.warn(
        f"submissions/{name}: several required: rules that do not nest; assay checks only "
        f"the last ({', '.join(sorted(sets[-1]))})"
    )
    return sets[-1]


def _expected(rule: Rule, score: tuple[float, float] | None) -> Verdict:
    """The one verdict a solution is listed under (the permitted and required sets decide)."""
    if rule.permitted <= AC:
        return Verdict.AC
    for v in (Verdict.WA, Verdict.TLE, Verdict.RTE):
        if v in rule.required and rule.required != ANY:
            return v
    return Verdict.PA if score is not None else Verdict.WA


def read_submissions(ld: Loader, pt: ProblemType, points: float) -> list[ReferenceSolution]:
    sub_dir = ld.root / "submissions"
    if not sub_dir.is_dir():
        return []
    folders = SUBMISSION_FOLDERS[ld.version]
    yaml_rules = read_submissions_yaml(ld, pt)
    solutions: list[ReferenceSolution] = []
    for folder in _entries(sub_dir):
        if folder.is_file():
            if folder.name != "submissions.yaml":
                ld.warn(f"submissions/{folder.name}: not in a verdict folder; ignored")
            continue
        no_rule: list[str] = []
        not_programs: list[str] = []
        for entry in _entries(folder):
            rule = _rule_for(ld, folder.name, entry.name, folders, yaml_rules)
            if rule is None:
                no_rule.append(entry.name)
            elif not _is_program(entry, rule.language):
                not_programs.append(entry.name)
            else:
                solutions.append(_solution(ld, folder.name, entry, rule, points))
        if no_rule:
            ld.warn(
                f"submissions/{folder.name}/: not a verdict folder of the {ld.version} format "
                f"({', '.join(folders)}); {len(no_rule)} submission(s) skipped"
            )
        if not_programs:
            ld.warn(
                f"submissions/{folder.name}/: not programs (no known language), skipped: "
                f"{', '.join(not_programs)}"
            )
    for glob in yaml_rules.entries:
        if glob not in yaml_rules.used and glob not in folders:
            ld.warn(f"submissions/submissions.yaml: {glob!r} matches no submission")
    if not pt.scoring:
        for s in solutions:
            if s.name.startswith("partially_accepted/"):
                ld.warn("submissions/partially_accepted/ is only for scoring problems")
                break
    return solutions


@dataclass
class SubmissionRule:
    """What one submission must get: its folder's rule and the submissions.yaml globs."""

    permitted: frozenset[Verdict]
    required: frozenset[Verdict]
    score: tuple[float, float] | None = None
    language: str | None = None


def _rule_for(
    ld: Loader, folder: str, entry: str, folders: dict[str, Rule], yaml_rules: SubmissionRules
) -> SubmissionRule | None:
    """None when neither the folder nor any glob says what the submission must get. A glob that
    names the folder itself overrides the folder's default rule; other globs add to it."""
    name = f"{folder}/{entry}"
    matching = [g for g in yaml_rules.entries if glob_matches(g, name)]
    yaml_rules.used.update(matching)
    base = folders.get(folder)
    override = yaml_rules.entries.get(folder, {})
    extra = [yaml_rules.entries[g] for g in matching if g != folder]
    if base is None and folder not in yaml_rules.entries and not extra:
        return None
    rule = base or Rule()
    permitted = override.get("permitted", rule.permitted)
    required = [override.get("required", rule.required)]
    score = override.get("score")
    language = override.get("language")
    for e in extra:
        permitted = permitted & e.get("permitted", ANY)
        required.append(e.get("required", ANY))
        score = e.get("score", score)
        language = e.get("language", language)
    return SubmissionRule(
        frozenset(permitted), _combine_required(ld, name, required), score, language
    )


def _solution(
    ld: Loader, folder: str, entry: Path, rule: SubmissionRule, points: float
) -> ReferenceSolution:
    score = rule.score
    if folder == "partially_accepted" and ld.version != V2025 and score is None:
        score = (0.0, math.nextafter(points, 0.0))  # any score below the maximum
    return ReferenceSolution(
        name=f"{folder}/{entry.name}",
        expected=_expected(Rule(rule.permitted, rule.required), score),
        path=_materialize(ld, entry, f"submissions/{folder}"),
        permitted=set(rule.permitted),
        required=set(rule.required),
        score_range=score,
        language=rule.language,
    )
