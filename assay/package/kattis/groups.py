"""Test groups and their points: the samples (0 points), the secret tests of a pass-fail problem
as one group, and for a scoring problem the groups and points of legacy grading or of the
2023-07 / 2025-09 scoring rules; custom graders are refused."""

from __future__ import annotations

from ..model import PackageError, TestCase, TestGroup
from .common import LEGACY, V2025, Loader, ProblemType
from .group_settings import GRADER_SCORE_MODES
from .testdata import DataDir, _subdir

PASS_FAIL_POINTS = 10.0  # a pass-fail problem is worth this much (Kattis has no points for it)


def make_groups(ld: Loader, root: DataDir, pt: ProblemType) -> list[TestGroup]:
    groups: list[TestGroup] = []
    sample = _subdir(root, "sample")
    if sample is not None:
        tests = sample.all_tests()
        if sample.children and ld.version != LEGACY:
            ld.warn("data/sample/: samples must not have groups; their tests are samples")
        if sample.config.file and any(k in sample.config.values for k in ("score", "aggregation")):
            ld.warn(
                f"{sample.config.file}: samples are never scored; its score settings are ignored"
            )
        for t in tests:
            t.group = "sample"
        if tests:
            groups.append(TestGroup("sample", 0.0, "proportional", [t.name for t in tests]))
    secret = _subdir(root, "secret")
    if secret is None:
        raise PackageError("data/secret/", "missing: the package has no secret tests")
    if not secret.all_tests():
        raise PackageError("data/secret/", "no test cases (NAME.in with NAME.ans)")
    if not pt.scoring:
        groups.append(_group(secret.rel, PASS_FAIL_POINTS, "all", secret.all_tests()))
        return groups
    found: list[TestGroup] = []
    uses_spec_scoring = ld.version == V2025 or _any_config(secret, ("score", "aggregation"))
    if uses_spec_scoring:
        if ld.version == V2025 and secret.tests and secret.children:
            raise PackageError(
                "data/secret/", "has both test cases and groups (2025-09 allows one or the other)"
            )
        score = secret.config.get("score", 100.0)
        aggregation = secret.config.get("aggregation", "sum")
        _spec_groups(ld, secret, score, aggregation, found)
    else:
        _legacy_groups(ld, secret, found)
    for g in found:
        if not g.tests:
            raise PackageError(f"data/{g.name}/", "the group has no test cases")
    return groups + found


def _group(name: str, points: float, scoring: str, tests: list[TestCase]) -> TestGroup:
    for t in tests:
        t.group = name
    return TestGroup(name, round(points, 9), scoring, [t.name for t in tests])


def _any_config(node: DataDir, keys: tuple[str, ...]) -> bool:
    own = node.config.file is not None and any(k in node.config.values for k in keys)
    return own or any(_any_config(c, keys) for c in node.children)


def _legacy_groups(ld: Loader, node: DataDir, out: list[TestGroup]) -> None:
    """Legacy grading: every test scores ``accept_score`` (else ``reject_score``) and a group
    aggregates with the last of sum/avg/min/max in ``grader_flags`` (default sum)."""
    cfg = node.config
    where = cfg.file or f"data/{node.rel}/"
    modes = [f for f in cfg.get("grader_flags", []) if f in GRADER_SCORE_MODES]
    mode = modes[-1] if modes else "sum"
    score = cfg.get("accept_score", 1.0)
    if cfg.get("reject_score", 0.0) != 0.0:
        ld.warn(
            f"{where}: reject_score {cfg.get('reject_score'):g} is not supported (a failed test scores 0)"
        )
    if mode != "sum" or not node.children:
        tests = node.all_tests()
        if mode == "max":
            ld.warn(f"{where}: grader_flags max (the best test counts) is scored as avg by assay")
        points = score * len(tests) if mode == "sum" else score
        out.append(_group(node.rel, points, "all" if mode == "min" else "proportional", tests))
        return
    if node.tests:
        out.append(_group(node.rel, score * len(node.tests), "proportional", node.tests))
    for child in node.children:
        _legacy_groups(ld, child, out)


def _spec_groups(
    ld: Loader, node: DataDir, score: float, aggregation: str, out: list[TestGroup]
) -> None:
    """2023-07 / 2025-09 scoring: a group's score is its max score when every test passes
    (pass-fail), the sum of its parts' scores (sum) or their minimum (min); parts without a
    max score share what the others leave."""
    where = node.config.file or f"data/{node.rel}/"
    nested = node.children and (ld.version != V2025 or node.rel == "secret")
    if aggregation != "sum" or not nested:
        if aggregation == "min" and nested:
            ld.warn(f"{where}: min over groups is scored by assay as every test passing")
        scoring = "proportional" if aggregation == "sum" else "all"
        out.append(_group(node.rel, score, scoring, node.all_tests()))
        return
    children = node.children
    explicit = sum(c.config.get("score", 0.0) for c in children if "score" in c.config.values)
    unset = [c for c in children if "score" not in c.config.values]
    parts = len(unset) + len(node.tests)
    if explicit > score + 1e-9:
        raise PackageError(
            where, f"the groups' max scores add up to {explicit:g}, above the group's {score:g}"
        )
    share = (score - explicit) / parts if parts else 0.0
    if ld.version == V2025 and unset:
        ld.warn(
            f"data/{node.rel}/: groups without max_score ({', '.join(c.rel for c in unset)}): "
            f"2025-09 asks for one; assay shares the remaining {score - explicit:g} points"
        )
    if node.tests:
        out.append(_group(node.rel, share * len(node.tests), "proportional", node.tests))
    for child in children:
        _spec_groups(
            ld,
            child,
            child.config.get("score", share),
            child.config.get("aggregation", "pass-fail"),
            out,
        )


def uses_custom_grading(node: DataDir) -> str | None:
    if node.config.get("grading") == "custom":
        return node.config.file or f"data/{node.rel}/"
    for child in node.children:
        found = uses_custom_grading(child)
        if found:
            return found
    return None


def check_graders(ld: Loader, data: DataDir) -> None:
    where = uses_custom_grading(data)
    if where is not None:
        raise PackageError(where, "custom graders are not supported by assay", "grading")
    if (ld.root / "graders").exists():
        ld.warn("graders/: no test data group uses grading: custom, so the graders are unused")
