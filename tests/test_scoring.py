from assay.package.model import Verdict
from assay.scoring import compute_score, overall_verdict

GROUPS = [
    {"name": "easy", "points": 4, "scoring": "all", "tests": ["e1", "e2"]},
    {"name": "hard", "points": 6, "scoring": "proportional", "tests": ["h1", "h2", "h3"]},
]


def t(name, verdict, score=None, weight=1.0):
    return {
        "name": name,
        "verdict": verdict,
        "score": score if score is not None else (1.0 if verdict == "AC" else 0.0),
        "weight": weight,
    }


def test_all_accepted_gets_full_points():
    s = compute_score(GROUPS, [t(n, "AC") for n in ("e1", "e2", "h1", "h2", "h3")])
    assert (s.points, s.max_points, s.verdict) == (10, 10, Verdict.AC)


def test_an_all_group_gets_nothing_for_one_failure():
    s = compute_score(
        GROUPS, [t("e1", "AC"), t("e2", "WA"), t("h1", "AC"), t("h2", "AC"), t("h3", "AC")]
    )
    assert s.groups[0].points == 0
    assert s.points == 6
    assert s.verdict is Verdict.WA


def test_a_proportional_group_uses_weights_and_partial_scores():
    tests = [
        t("e1", "AC"),
        t("e2", "AC"),
        t("h1", "AC", weight=2),
        t("h2", "PA", 0.5),
        t("h3", "TLE"),
    ]
    s = compute_score(GROUPS, tests)
    # hard: (2*1 + 1*0.5 + 0) / 4 = 0.625 of 6 points
    assert s.groups[1].points == 3.75
    assert s.points == 7.75
    assert s.verdict is Verdict.PA


def test_a_build_failure_scores_zero_with_ce():
    s = compute_score(GROUPS, [], build_failed=True)
    assert (s.points, s.verdict) == (0, Verdict.CE)


def test_the_overall_verdict_is_the_first_failing_test():
    assert overall_verdict([t("a", "AC"), t("b", "TLE"), t("c", "WA")]) is Verdict.TLE


def test_each_test_of_a_proportional_group_has_its_share_of_the_points():
    tests = [
        t("e1", "AC"),
        t("e2", "WA"),
        t("h1", "AC", weight=2),
        t("h2", "PA", 0.5),
        t("h3", "TLE"),
    ]
    easy, hard = compute_score(GROUPS, tests).groups
    assert easy.scoring == "all" and easy.tests == {}  # all or nothing: no share per test
    assert hard.tests == {"h1": (3.0, 3.0), "h2": (0.75, 1.5), "h3": (0.0, 1.5)}
    assert sum(p for p, _ in hard.tests.values()) == hard.points


def test_group_points_scale_to_the_assignments_points():
    hard = compute_score(GROUPS, [t("h1", "AC"), t("h2", "PA", 0.5), t("h3", "WA")]).groups[1]
    half = hard.scaled(0.5)
    assert (half.points, half.max_points) == (1.5, 3.0)
    assert half.tests["h2"] == (0.5, 1.0)
