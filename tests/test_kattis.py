"""Kattis / ICPC problem packages load into the same model as native ones."""

import pytest

from assay.package import PackageError, open_package
from assay.package.kattis import parse_validator_flags, time_limit_from
from assay.package.model import Verdict


def kattis(root, problem_yaml, files):
    root.mkdir(parents=True)
    (root / "problem.yaml").write_text(problem_yaml)
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


BASIC = {
    "data/sample/1.in": "1\n", "data/sample/1.ans": "1\n",
    "data/secret/2.in": "2\n", "data/secret/2.ans": "2\n",
    "data/secret/10.in": "10\n", "data/secret/10.ans": "10\n",
    "submissions/accepted/a.py": "print(input())\n",
    "submissions/wrong_answer/w.py": "print(0)\n",
    "submissions/time_limit_exceeded/t.c": "int main(){for(;;);}\n",
}  # fmt: skip


def test_samples_are_visible_and_worth_nothing_secret_tests_hold_the_points(tmp_path):
    root = kattis(tmp_path / "p", "name: Echo\nlimits: {memory: 128}\n", BASIC)
    (root / ".timelimit").write_text("2\n")
    with open_package(root) as a:
        assert a.title == "Echo" and a.format == "kattis"
        assert [t.name for t in a.tests] == ["sample/1", "secret/2", "secret/10"]
        assert [t.visible for t in a.tests] == [True, False, False]
        assert [(g.name, g.points) for g in a.groups] == [("sample", 0.0), ("secret", 10.0)]
        assert a.limits.cpu_time_s == 2.0 and a.limits.memory_kib == 128 * 1024
        assert a.time_limit_known
        assert {s.name: s.expected for s in a.solutions}["time_limit_exceeded/t.c"] is Verdict.TLE


def test_without_a_time_limit_it_is_left_to_the_accepted_submissions(tmp_path):
    root = kattis(tmp_path / "p", "name: Echo\nlimits: {time_multiplier: 3}\n", BASIC)
    with open_package(root) as a:
        assert not a.time_limit_known
        assert a.time_multiplier == 3
    assert time_limit_from(0.21, 3) == 0.7


def test_default_validation_is_case_insensitive_tokens():
    j = parse_validator_flags(None)
    assert (j.kind, j.case_sensitive, j.space_sensitive) == ("tokens", False, False)


def test_validator_flags_set_case_space_and_float_tolerances():
    j = parse_validator_flags("case_sensitive space_change_sensitive float_absolute_tolerance 1e-4")
    assert j.case_sensitive and j.space_sensitive
    assert (j.abs_tol, j.rel_tol) == (1e-4, None)
    j = parse_validator_flags("float_tolerance 1e-6")
    assert (j.abs_tol, j.rel_tol) == (1e-6, 1e-6)


def test_a_bad_validator_flag_is_named():
    with pytest.raises(PackageError, match="problem.yaml: validator_flags: unknown flag 'fuzzy'"):
        parse_validator_flags("fuzzy")
    with pytest.raises(PackageError, match="needs a number"):
        parse_validator_flags("float_tolerance")


def test_scoring_problems_make_groups_from_secret_subdirectories(tmp_path):
    files = {
        "data/secret/g1/1.in": "1", "data/secret/g1/1.ans": "1",
        "data/secret/g1/testdata.yaml": "accept_score: 30\ngrader_flags: min\n",
        "data/secret/g2/1.in": "1", "data/secret/g2/1.ans": "1",
        "data/secret/g2/sub/2.in": "2", "data/secret/g2/sub/2.ans": "2",
        "data/secret/g2/testdata.yaml": "accept_score: 70\n",
    }  # fmt: skip
    root = kattis(tmp_path / "p", "name: S\ntype: scoring\n", files)
    with open_package(root) as a:
        assert [(g.name, g.points, g.scoring) for g in a.groups] == [
            ("g1", 30.0, "all"), ("g2", 70.0, "proportional"),
        ]  # fmt: skip
        assert a.groups[1].tests == ["g2/1", "g2/sub/2"]
        assert a.points == 100


def test_custom_validation_uses_the_output_validator(tmp_path):
    files = dict(BASIC)
    files["output_validators/check/check.py"] = "import sys; sys.exit(42)\n"
    root = kattis(tmp_path / "p", "name: C\nvalidation: custom interactive\n", files)
    with open_package(root) as a:
        assert a.judge.kind == "interactive"
        assert a.judge.checker.name == "check"


def test_custom_validation_without_validators_is_an_error(tmp_path):
    root = kattis(tmp_path / "p", "name: C\nvalidation: custom\n", BASIC)
    with pytest.raises(PackageError, match="output_validators/: missing"), open_package(root):
        pass


def test_a_test_without_answer_is_named(tmp_path):
    files = dict(BASIC)
    del files["data/secret/2.ans"]
    root = kattis(tmp_path / "p", "name: E\n", files)
    with (
        pytest.raises(PackageError, match=r"data/secret/2.in: no answer file 2.ans"),
        open_package(root),
    ):
        pass


def test_bad_limits_are_named(tmp_path):
    root = kattis(tmp_path / "p", "name: E\nlimits: {memory: lots}\n", BASIC)
    with (
        pytest.raises(
            PackageError, match=r"problem.yaml: limits.memory: must be a positive number"
        ),
        open_package(root),
    ):
        pass
