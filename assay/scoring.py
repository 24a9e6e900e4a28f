"""Scores and points from per-test verdicts; shared by the tester, `assay check` and the storer.

1. Each test has a score in [0, 1]: 1 for AC, the checker's fraction for PA, else 0.
2. A group with ``scoring: proportional`` scores the weighted mean of its tests' scores;
   ``scoring: all`` scores 1 only when every test is AC, else 0.
3. The points are the sum over groups of ``group.points * group score``. A test of a
   proportional group has its share of the group's points (``GroupScore.tests``); a test of an
   ``all`` group has none of its own.
4. The overall verdict is AC when every test is AC, CE when the build failed, and otherwise
   the verdict of the first test (in package order) that is not AC.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from assay.package.model import Verdict


@dataclass
class GroupScore:
    name: str
    points: float
    max_points: float
    score: float
    scoring: str = "proportional"
    # test name -> (points, max_points): each test's share (proportional groups only; not
    # rounded, so that ``scaled`` rounds once)
    tests: dict[str, tuple[float, float]] = field(default_factory=dict)

    def scaled(self, factor: float) -> GroupScore:
        """The same in points multiplied by ``factor`` (the storer's assignment points may
        differ from the package's)."""
        return GroupScore(
            self.name, round(self.max_points * self.score * factor, 4),
            round(self.max_points * factor, 4), self.score, self.scoring,
            {n: (round(p * factor, 4), round(m * factor, 4)) for n, (p, m) in self.tests.items()},
        )  # fmt: skip


@dataclass
class Score:
    verdict: Verdict
    score: float  # fraction 0..1 of max_points
    points: float
    max_points: float
    groups: list[GroupScore]


def compute_score(
    groups: Iterable[dict[str, Any]], tests: list[dict[str, Any]], build_failed: bool = False
) -> Score:
    """``groups``: dicts with name, points, scoring, tests; ``tests``: dicts with name,
    verdict, score, weight (as in result.yaml)."""
    by_name = {t["name"]: t for t in tests}
    group_scores = []
    for g in groups:
        members = [by_name[n] for n in g["tests"] if n in by_name]
        scoring = g.get("scoring", "proportional")
        max_points = float(g["points"])
        total_weight = sum(float(t.get("weight", 1.0)) for t in members)
        shares: dict[str, tuple[float, float]] = {}
        if build_failed or not members:
            fraction = 0.0
        elif scoring == "all" or total_weight <= 0:
            fraction = 1.0 if all(Verdict(t["verdict"]) is Verdict.AC for t in members) else 0.0
        else:
            fraction = (
                sum(float(t.get("weight", 1.0)) * _test_score(t) for t in members) / total_weight
            )
        if scoring != "all" and total_weight > 0:
            for t in members:
                share = max_points * float(t.get("weight", 1.0)) / total_weight
                earned = 0.0 if build_failed else share * _test_score(t)
                shares[t["name"]] = (earned, share)
        group_scores.append(
            GroupScore(
                g["name"], round(max_points * fraction, 4), max_points, fraction, scoring, shares
            )
        )
    max_points = sum(g.max_points for g in group_scores)
    points = round(sum(g.points for g in group_scores), 4)
    return Score(
        verdict=overall_verdict(tests, build_failed),
        score=(points / max_points)
        if max_points
        else (1.0 if overall_verdict(tests, build_failed) is Verdict.AC else 0.0),
        points=points,
        max_points=max_points,
        groups=group_scores,
    )


def _test_score(test: dict[str, Any]) -> float:
    verdict = Verdict(test["verdict"])
    if verdict is Verdict.AC:
        return 1.0
    if verdict is Verdict.PA:
        return min(max(float(test.get("score", 0.0)), 0.0), 1.0)
    return 0.0


def overall_verdict(tests: list[dict[str, Any]], build_failed: bool = False) -> Verdict:
    if build_failed:
        return Verdict.CE
    for t in tests:
        verdict = Verdict(t["verdict"])
        if verdict is not Verdict.AC:
            return verdict
    return Verdict.AC
