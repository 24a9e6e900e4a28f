"""Kattis / ICPC problem packages (legacy, 2023-07-draft, 2025-09) load into the same model as
native ones. Small packages are written here; tests/kattis_packages/ holds one package per rule
family (each README says what it shows)."""

import math
import os
from pathlib import Path

import pytest

from assay.package import PackageError, open_package
from assay.package.kattis import glob_matches, parse_validator_flags
from assay.package.model import Verdict

PACKAGES = Path(__file__).parent / "kattis_packages"
AC, PA, WA, TLE, RTE = Verdict.AC, Verdict.PA, Verdict.WA, Verdict.TLE, Verdict.RTE
ANY = {AC, WA, TLE, RTE}  # a test's verdicts in Kattis (assay check maps PA to AC, MLE to RTE)


def kattis(root, problem_yaml, files):
    root.mkdir(parents=True)
    (root / "problem.yaml").write_text(problem_yaml)
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def link(path: Path, target: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() or path.is_symlink():
        path.unlink()
    os.symlink(target, path)


V2023 = "problem_format_version: 2023-07-draft\nname: P\n"
V2025 = "problem_format_version: 2025-09\nname: P\n"
BASIC = {
    "data/sample/1.in": "1\n", "data/sample/1.ans": "1\n",
    "data/secret/2.in": "2\n", "data/secret/2.ans": "2\n",
    "data/secret/10.in": "10\n", "data/secret/10.ans": "10\n",
    "submissions/accepted/a.py": "print(input())\n",
    "submissions/wrong_answer/w.py": "print(0)\n",
    "submissions/time_limit_exceeded/t.c": "int main(){for(;;);}\n",
}  # fmt: skip
INTERACTIVE_DATA = {
    "data/sample/1.in": "5\n", "data/sample/1.ans": "", "data/sample/1.interaction": "> 5\n",
    "data/secret/1.in": "7\n", "data/secret/1.ans": "",
}  # fmt: skip


def load_error(root):
    with pytest.raises(PackageError) as e, open_package(root):
        pass
    return e.value


def solutions(a):
    return {s.name: s for s in a.solutions}


# ---------------------------------------------------------------------------------------------
# the basics


def test_samples_are_visible_and_worth_nothing_secret_tests_hold_the_points(tmp_path):
    root = kattis(tmp_path / "p", "name: Echo\nlimits: {memory: 128}\n", BASIC)
    (root / ".timelimit").write_text("2\n")
    with open_package(root) as a:
        assert a.title == "Echo" and a.format == "kattis"
        # a test's name is its path below data/; the format orders tests by name
        assert [t.name for t in a.tests] == ["sample/1", "secret/10", "secret/2"]
        assert [t.visible for t in a.tests] == [True, False, False]
        assert [(g.name, g.points, g.scoring) for g in a.groups] == [
            ("sample", 0.0, "proportional"), ("secret", 10.0, "all"),
        ]  # fmt: skip
        assert a.limits.cpu_time_s == 2.0 and a.limits.memory_kib == 128 * 1024
        assert a.time_limit_known and a.warnings == []


def test_without_a_time_limit_it_is_left_to_the_accepted_submissions(tmp_path):
    root = kattis(tmp_path / "p", "name: Echo\nlimits: {time_multiplier: 3}\n", BASIC)
    with open_package(root) as a:
        assert not a.time_limit_known
        assert a.time_multiplier == 3
        assert a.time_resolution_s == 1.0  # problemtools: whole seconds


def test_a_test_without_answer_is_named(tmp_path):
    files = dict(BASIC)
    del files["data/secret/2.ans"]
    root = kattis(tmp_path / "p", "name: E\n", files)
    assert "data/secret/2.in: no answer file 2.ans" in str(load_error(root))


def test_an_answer_without_input_is_named(tmp_path):
    files = {**BASIC, "data/secret/3.ans": "3\n"}
    root = kattis(tmp_path / "p", "name: E\n", files)
    assert "data/secret/3.ans: no input 3.in beside it" in str(load_error(root))


def test_a_package_without_secret_tests_is_refused(tmp_path):
    root = kattis(tmp_path / "p", "name: E\n", {"data/sample/1.in": "", "data/sample/1.ans": ""})
    assert str(load_error(root)).startswith("data/secret/: missing")


# ---------------------------------------------------------------------------------------------
# rule 1: problem_format_version and type


@pytest.mark.parametrize(
    "line, warns_about_dirs",
    [
        ("", False),
        ("problem_format_version: legacy\n", False),
        ("problem_format_version: legacy-icpc\n", False),
        ("problem_format_version: 2023-07-draft\n", True),
        ("problem_format_version: 2023-07\n", True),
        ("problem_format_version: '2025-09'\n", True),
    ],
)
def test_problem_format_version_chooses_the_format(tmp_path, line, warns_about_dirs):
    files = {**BASIC, "problem_statement/problem.en.md": "Echo.\n"}
    root = kattis(tmp_path / "p", line + "name: E\n", files)
    with open_package(root) as a:
        # problem_statement/ is the legacy name of statement/
        assert any("problem_statement" in w for w in a.warnings) == warns_about_dirs


def test_an_unknown_format_version_names_problem_yaml_and_the_field(tmp_path):
    root = kattis(tmp_path / "p", "problem_format_version: 2024-01\nname: E\n", BASIC)
    e = load_error(root)
    assert (e.file, e.field) == ("problem.yaml", "problem_format_version")
    assert "unknown version '2024-01'" in e.message


def test_type_may_be_a_list_of_combined_types(tmp_path):
    files = {
        **INTERACTIVE_DATA,
        "data/secret/1.in": "7\n",
        "output_validator/validate.py": "exit(42)\n",
    }
    root = kattis(tmp_path / "p", V2023 + "type: [scoring, interactive]\n", files)
    with open_package(root) as a:
        assert a.judge.kind == "interactive"
        # no scoring settings: problemtools' defaults (accept_score 1 per test, summed)
        assert [(g.name, g.points) for g in a.groups] == [("sample", 0), ("secret", 1.0)]


@pytest.mark.parametrize(
    "version, type_, message",
    [
        (V2023, "[pass-fail, scoring]", "pass-fail and scoring cannot be combined"),
        (V2023, "[interactive, submit-answer]", "cannot be combined"),
        (V2023, "submit-answer", "submit-answer problems are not supported"),
        (V2023, "[scoring, scoring]", "a type is repeated"),
        (V2023, "speedy", "unknown type 'speedy'"),
        ("name: P\n", "interactive", "validation: custom interactive"),
        ("name: P\n", "[scoring]", "the legacy format has a single type"),
    ],
)
def test_bad_types_are_refused(tmp_path, version, type_, message):
    root = kattis(tmp_path / "p", version + f"type: {type_}\n", BASIC)
    e = load_error(root)
    assert (e.file, e.field) == ("problem.yaml", "type") and message in e.message


def test_legacy_validation_words_are_checked(tmp_path):
    root = kattis(tmp_path / "p", "name: P\nvalidation: custom verbose\n", BASIC)
    e = load_error(root)
    assert e.field == "validation" and "'verbose'" in e.message


# ---------------------------------------------------------------------------------------------
# rule 2: limits


def test_legacy_limits_time_multiplier_and_safety_margin(tmp_path):
    root = kattis(tmp_path / "p", "name: P\n", BASIC)
    with open_package(root) as a:  # the legacy defaults
        assert (a.time_multiplier, a.time_limit_to_tle, a.time_resolution_s) == (5, 2, 1)
    with open_package(PACKAGES / "legacy-flags") as a:
        assert (a.time_multiplier, a.time_limit_to_tle) == (3, 4)
        assert a.limits.memory_kib == 128 * 1024 and a.limits.output_kib == 16 * 1024
        assert (a.build_limits.cpu_time_s, a.build_limits.memory_kib) == (30, 1024 * 1024)
        assert a.judge.kind == "tokens"  # validation limits only matter to a custom validator


def test_2023_time_multipliers_time_limit_and_resolution(tmp_path):
    root = kattis(tmp_path / "p", V2023, BASIC)
    with open_package(root) as a:
        assert (a.time_multiplier, a.time_limit_to_tle, a.time_resolution_s) == (2, 1.5, 1)
        assert not a.time_limit_known
    with open_package(PACKAGES / "v2023-interactive") as a:
        assert (a.time_multiplier, a.time_limit_to_tle, a.time_resolution_s) == (3, 2, 0.5)
        assert a.judge.checker_limits.cpu_time_s == 30
        assert a.judge.checker_limits.memory_kib == 2048 * 1024
    with open_package(PACKAGES / "v2025") as a:
        assert a.time_limit_known and a.limits.cpu_time_s == 2
        assert a.limits.memory_kib == 512 * 1024


def test_the_timelimit_file_wins_over_problem_yaml(tmp_path):
    root = kattis(tmp_path / "p", V2023 + "limits: {time_limit: 3}\n", BASIC)
    (root / ".timelimit").write_text("1.5\n")
    with open_package(root) as a:
        assert a.limits.cpu_time_s == 1.5 and a.time_limit_known
    (root / ".timelimit").write_text("soon\n")
    assert load_error(root).file == ".timelimit"


def test_validation_and_compilation_limits(tmp_path):
    limits = (
        "limits: {validation_time: 7, validation_memory: 64, validation_output: 2, "
        "compilation_time: 20, compilation_memory: 300}\n"
    )
    files = {**BASIC, "output_validator/check.py": "exit(42)\n"}
    root = kattis(tmp_path / "p", V2023 + limits, files)
    with open_package(root) as a:
        assert a.judge.kind == "checker"
        lim = a.judge.checker_limits
        assert (lim.cpu_time_s, lim.memory_kib, lim.file_size_kib) == (7, 64 * 1024, 2 * 1024)
        assert a.build_limits.cpu_time_s == 20 and a.build_limits.wall_time_s == 40
        assert a.build_limits.memory_kib == 300 * 1024


def test_a_legacy_time_limit_in_problem_yaml_is_used_with_a_warning(tmp_path):
    root = kattis(tmp_path / "p", "name: P\nlimits: {time_limit: 2, code: 64}\n", BASIC)
    with open_package(root) as a:
        assert a.limits.cpu_time_s == 2 and a.time_limit_known
        assert any("limits.time_limit belongs to another version" in w for w in a.warnings)
        assert any("limits.code (64 KiB of source) is not enforced" in w for w in a.warnings)


@pytest.mark.parametrize(
    "version, limits, field, message",
    [
        ("name: E\n", "{memory: lots}", "limits.memory", "must be a positive number"),
        ("name: E\n", "{time_multiplier: -1}", "limits.time_multiplier", "positive"),
        (V2023, "{time_limit: 0}", "limits.time_limit", "positive"),
        (V2023, "{time_resolution: no}", "limits.time_resolution", "positive"),
        (
            V2023,
            "{time_multipliers: {ac_to_time_limit: 0.5}}",
            "limits.time_multipliers.ac_to_time_limit",
            "at least 1",
        ),
        (V2023, "[1, 2]", "limits", "must be a mapping"),
        (V2023 + "type: multi-pass\n", "{validation_passes: 1}", "limits.validation_passes", "2"),
        (
            V2023 + "type: multi-pass\n",
            "{validation_passes: 2.5}",
            "limits.validation_passes",
            "whole",
        ),
    ],
)
def test_bad_limits_are_named(tmp_path, version, limits, field, message):
    files = {**BASIC, "output_validator/v.py": "exit(42)\n"}
    root = kattis(tmp_path / "p", version + f"limits: {limits}\n", files)
    e = load_error(root)
    assert (e.file, e.field) == ("problem.yaml", field) and message in e.message


def test_unknown_limits_are_warned_about(tmp_path):
    root = kattis(tmp_path / "p", V2023 + "limits: {memory: 64, cores: 4}\n", BASIC)
    with open_package(root) as a:
        assert "problem.yaml: unknown key 'limits.cores' ignored" in a.warnings


# ---------------------------------------------------------------------------------------------
# rule 3: output validators and their flags


def test_default_validation_is_case_insensitive_tokens():
    j = parse_validator_flags(None)
    assert (j.kind, j.case_sensitive, j.space_sensitive) == ("tokens", False, False)


def test_validator_flags_set_case_space_and_float_tolerances():
    j = parse_validator_flags("case_sensitive space_change_sensitive float_absolute_tolerance 1e-4")
    assert j.case_sensitive and j.space_sensitive
    assert (j.abs_tol, j.rel_tol) == (1e-4, None)
    j = parse_validator_flags(["float_tolerance", "1e-6"])
    assert (j.abs_tol, j.rel_tol) == (1e-6, 1e-6)


def test_a_bad_validator_flag_is_named():
    with pytest.raises(PackageError, match="problem.yaml: validator_flags: unknown flag 'fuzzy'"):
        parse_validator_flags("fuzzy")
    with pytest.raises(PackageError, match="needs a number"):
        parse_validator_flags("float_tolerance")


def test_legacy_flags_are_problem_yaml_then_testdata_yaml_inherited_down_the_tree():
    with open_package(PACKAGES / "legacy-flags") as a:
        assert (a.judge.abs_tol, a.judge.rel_tol, a.judge.case_sensitive) == (1e-6, 1e-6, False)
        by_name = {t.name: t for t in a.tests}
        assert by_name["secret/01"].judge_args is None  # the package-wide flags
        strict = by_name["secret/strict/02"]
        assert strict.judge_args == ["float_tolerance", "1e-6", "case_sensitive"]
        assert strict.input_validator_args == ["max=10"]
        assert by_name["secret/01"].input_validator_args == []


def test_2023_output_validator_args_come_from_test_group_yaml_and_the_test_yaml():
    with open_package(PACKAGES / "v2023-scoring") as a:
        assert a.judge.kind == "tokens" and a.judge.abs_tol == 0.01  # data/test_group.yaml
        args = {t.name: t.judge_args for t in a.tests}
        assert args["secret/g2/02"] is None
        assert args["secret/g2/03"] == ["float_tolerance", "0.5"]  # 03.yaml
        assert {t.name: t.input_validator_args for t in a.tests}["secret/g1/01"] == ["small"]


def test_a_subgroup_overrides_an_inherited_key_and_keeps_the_others(tmp_path):
    files = {
        **BASIC,
        "data/secret/testdata.yaml": "output_validator_flags: case_sensitive\n"
        "input_validator_flags: a=1\n",
        "data/secret/sub/testdata.yaml": "input_validator_flags: a=2\n",
        "data/secret/sub/3.in": "3\n", "data/secret/sub/3.ans": "3\n",
    }  # fmt: skip
    root = kattis(tmp_path / "p", "name: P\n", files)
    with open_package(root) as a:
        t = a.test("secret/sub/3")
        assert t.judge_args == ["case_sensitive"] and t.input_validator_args == ["a=2"]
        assert a.test("sample/1").judge_args is None


def test_bad_flags_in_testdata_yaml_are_named(tmp_path):
    files = {**BASIC, "data/secret/testdata.yaml": "output_validator_flags: fuzzy\n"}
    root = kattis(tmp_path / "p", "name: P\n", files)
    e = load_error(root)
    assert (e.file, e.field) == ("data/secret/testdata.yaml", "output_validator_flags")
    assert e.message == "unknown flag 'fuzzy'"
    files = {**BASIC, "data/secret/testdata.yaml": "output_validator_flags: {a: [1]}\n"}
    root = kattis(tmp_path / "q", "name: P\n", files)
    e = load_error(root)
    assert (e.file, e.field) == ("data/secret/testdata.yaml", "output_validator_flags")


def test_custom_validation_uses_the_output_validator(tmp_path):
    files = dict(BASIC)
    files["output_validators/check/check.py"] = "import sys; sys.exit(42)\n"
    root = kattis(tmp_path / "p", "name: C\nvalidation: custom\nvalidator_flags: tolerant\n", files)
    with open_package(root) as a:
        assert a.judge.kind == "checker"
        assert a.judge.checker.name == "check"
        assert a.judge.checker_flags == ["tolerant"]  # the validator's own flags, unchecked
        assert a.judge.checker_limits.cpu_time_s == 60  # the typical system default


def test_custom_validation_without_validators_is_an_error(tmp_path):
    root = kattis(tmp_path / "p", "name: C\nvalidation: custom\n", BASIC)
    assert str(load_error(root)).startswith("output_validators/: missing")


def test_an_unused_legacy_output_validator_is_warned_about(tmp_path):
    files = {**BASIC, "output_validators/check.py": "exit(42)\n"}
    root = kattis(tmp_path / "p", "name: C\n", files)
    with open_package(root) as a:
        assert a.judge.kind == "tokens"
        assert any("output_validators/ is not used" in w for w in a.warnings)


def test_output_validator_layouts(tmp_path):
    # legacy: one program among the entries; several plain files are one program
    files = {**BASIC, "output_validators/v.cc": "", "output_validators/v.h": ""}
    root = kattis(tmp_path / "a", "name: C\nvalidation: custom\n", files)
    with open_package(root) as a:
        assert a.judge.checker == root / "output_validators"
    files = {**BASIC, "output_validators/a/v.py": "", "output_validators/b/v.py": ""}
    root = kattis(tmp_path / "b", "name: C\nvalidation: custom\n", files)
    assert "expected one output validator" in str(load_error(root))
    # 2023-07: the directory is the program (spec), or holds it (problemtools)
    files = {**BASIC, "output_validator/validate.py": "", "output_validator/lib.py": ""}
    root = kattis(tmp_path / "c", V2023, files)
    with open_package(root) as a:
        assert a.judge.kind == "checker" and a.judge.checker == root / "output_validator"
    files = {**BASIC, "output_validator/guess/validate.py": ""}
    root = kattis(tmp_path / "d", V2023, files)
    with open_package(root) as a:
        assert a.judge.checker == root / "output_validator" / "guess"


# ---------------------------------------------------------------------------------------------
# rule 4: interactive and multi-pass


def test_legacy_custom_interactive_is_interactive(tmp_path):
    with open_package(PACKAGES / "legacy-interactive") as a:
        assert a.judge.kind == "interactive" and a.judge.checker.name == "guess"
        sample = a.test("sample/1")
        assert sample.visible and sample.interaction.name == "1.interaction"
        assert a.validation_passes == 1


def test_2023_type_interactive_is_interactive_wherever_the_validator_is(tmp_path):
    with open_package(PACKAGES / "v2023-interactive") as a:
        assert a.judge.kind == "interactive"
        assert a.judge.checker == PACKAGES / "v2023-interactive" / "output_validator"
    files = {**INTERACTIVE_DATA, "output_validator/g/validate.py": "exit(42)\n"}
    root = kattis(tmp_path / "p", V2023 + "type: interactive\n", files)
    with open_package(root) as a:
        assert a.judge.kind == "interactive" and a.judge.checker.name == "g"


def test_an_interactive_problem_without_a_validator_is_refused(tmp_path):
    files = {**INTERACTIVE_DATA, "output_validators/g.py": "exit(42)\n"}
    root = kattis(tmp_path / "p", V2023 + "type: interactive\n", files)
    e = load_error(root)
    assert e.file == "output_validator/" and "the problem is interactive" in e.message
    assert "output_validators/ is the legacy name" in e.message


def test_legacy_validation_in_a_2023_package_is_honoured_with_a_warning(tmp_path):
    files = {**INTERACTIVE_DATA, "output_validator/g.py": "exit(42)\n"}
    root = kattis(tmp_path / "p", V2023 + "validation: custom interactive\n", files)
    with open_package(root) as a:
        assert a.judge.kind == "interactive"
        assert any("validation is a legacy key" in w for w in a.warnings)


def test_multi_pass_runs_the_validator_between_passes(tmp_path):
    with open_package(PACKAGES / "v2023-multipass") as a:
        assert a.judge.kind == "checker" and a.judge.checker.name == "doubling"
        assert a.validation_passes == 3
        assert a.test("sample/1").interaction.name == "1.interaction"
    files = {**BASIC, "output_validator/v.py": "exit(42)\n"}
    root = kattis(tmp_path / "p", V2023 + "type: [multi-pass, interactive]\n", files)
    with open_package(root) as a:
        assert (a.judge.kind, a.validation_passes) == ("interactive", 2)
    root = kattis(tmp_path / "q", V2023 + "type: multi-pass\n", BASIC)
    assert "the problem is multi-pass" in str(load_error(root))
    root = kattis(tmp_path / "r", V2023 + "limits: {validation_passes: 3}\n", BASIC)
    with open_package(root) as a:
        assert a.validation_passes == 1
        assert any("only for multi-pass" in w for w in a.warnings)


# ---------------------------------------------------------------------------------------------
# rule 5: scoring


def test_pass_fail_problems_have_one_all_or_nothing_group_of_every_secret_test(tmp_path):
    files = {**BASIC, "data/secret/deep/er/3.in": "3\n", "data/secret/deep/er/3.ans": "3\n"}
    root = kattis(tmp_path / "p", "name: P\n", files)
    with open_package(root) as a:
        assert [(g.name, g.points, g.scoring, len(g.tests)) for g in a.groups] == [
            ("sample", 0.0, "proportional", 1), ("secret", 10.0, "all", 3),
        ]  # fmt: skip


def test_legacy_grader_flags_and_accept_score_make_the_groups():
    with open_package(PACKAGES / "legacy-scoring") as a:
        assert [(g.name, g.points, g.scoring, len(g.tests)) for g in a.groups] == [
            ("sample", 0.0, "proportional", 1),
            ("secret/group1", 30.0, "all", 2),  # min: accept_score if every test passes
            ("secret/group2", 20.0, "proportional", 2),  # sum: accept_score for each test
            ("secret/group2/extra", 10.0, "proportional", 1),  # inherits accept_score: 10
            ("secret/group3", 40.0, "proportional", 4),  # avg
        ]
        assert a.points == 100
        assert a.test("secret/group2/extra/3").group == "secret/group2/extra"


def test_legacy_scoring_keys_for_a_pass_fail_problem_are_warned_about(tmp_path):
    files = {**BASIC, "data/secret/testdata.yaml": "accept_score: 5\nrange: 0 5\n"}
    root = kattis(tmp_path / "p", "name: P\n", files)
    with open_package(root) as a:
        assert a.points == 10
        assert any("accept_score is only for scoring problems" in w for w in a.warnings)


def test_legacy_grading_settings_that_are_not_supported_are_named(tmp_path):
    files = {
        **BASIC,
        "data/secret/testdata.yaml": "reject_score: 1\ngrader_flags: max shiny\n"
        "on_reject: continue\n",
    }
    root = kattis(tmp_path / "p", "name: P\ntype: scoring\ngrading: {objective: min}\n", files)
    with open_package(root) as a:
        assert [(g.name, g.points, g.scoring) for g in a.groups][1] == (
            "secret", 1.0, "proportional",
        )  # fmt: skip
        text = "\n".join(a.warnings)
        assert "reject_score 1 is not supported" in text
        assert "grader_flags max" in text and "unknown grader flag 'shiny'" in text
        assert "assay always maximizes" in text
    bad = {**BASIC, "data/secret/testdata.yaml": "on_reject: stop\n"}
    e = load_error(kattis(tmp_path / "q", "name: P\ntype: scoring\n", bad))
    assert (e.file, e.field) == ("data/secret/testdata.yaml", "on_reject")
    bad = {**BASIC, "data/secret/testdata.yaml": "range: 5 1\n"}
    e = load_error(kattis(tmp_path / "r", "name: P\ntype: scoring\n", bad))
    assert e.field == "range" and "minimum is above the maximum" in e.message


def test_custom_graders_are_refused_and_unused_ones_warned_about(tmp_path):
    files = {**BASIC, "graders/g.py": "", "data/secret/testdata.yaml": "grading: custom\n"}
    root = kattis(tmp_path / "p", "name: P\ntype: scoring\n", files)
    e = load_error(root)
    assert (e.file, e.field) == ("data/secret/testdata.yaml", "grading")
    assert e.message == "custom graders are not supported by assay"
    root = kattis(tmp_path / "q", "name: P\ntype: scoring\n", {**BASIC, "graders/g.py": ""})
    with open_package(root) as a:
        assert any("graders/: no test data group uses grading: custom" in w for w in a.warnings)


def test_2023_scoring_maps_share_the_points_left_to_groups_without_a_score():
    with open_package(PACKAGES / "v2023-scoring") as a:
        assert [(g.name, g.points, g.scoring) for g in a.groups] == [
            ("sample", 0.0, "proportional"),
            ("secret/g1", 20.0, "all"),  # pass-fail by default, (60 - 20) / 2
            ("secret/g2", 20.0, "proportional"),  # sum
            ("secret/g3", 20.0, "all"),  # no test_group.yaml at all
        ]
        assert a.points == 60


def test_2023_scoring_of_tests_directly_in_secret(tmp_path):
    files = {**BASIC, "data/secret/test_group.yaml": "scoring: {aggregation: min}\n"}
    root = kattis(tmp_path / "p", V2023 + "type: scoring\n", files)
    with open_package(root) as a:
        assert a.groups[1].name == "secret" and (a.groups[1].points, a.groups[1].scoring) == (
            100.0, "all",
        )  # fmt: skip
    files = {**BASIC, "data/secret/test_group.yaml": "scoring: {score: unbounded}\n"}
    e = load_error(kattis(tmp_path / "q", V2023 + "type: scoring\n", files))
    assert e.field == "scoring.score" and "unbounded" in e.message


def test_2025_max_score_and_score_aggregation():
    with open_package(PACKAGES / "v2025") as a:
        assert [(g.name, g.points, g.scoring, g.tests) for g in a.groups] == [
            ("sample", 0.0, "proportional", ["sample/1"]),
            ("secret/a", 40.0, "all", ["secret/a/1"]),
            # a group's subdirectories are plain directories in 2025-09
            ("secret/b", 60.0, "proportional", ["secret/b/2", "secret/b/big/3"]),
        ]


def test_2025_groups_without_max_score_share_the_rest_with_a_warning(tmp_path):
    files = {
        **BASIC,
        "data/secret/test_group.yaml": "max_score: 90\n",
        "data/secret/a/1.in": "", "data/secret/a/1.ans": "",
        "data/secret/a/test_group.yaml": "max_score: 30\nscore_aggregation: min\n",
        "data/secret/b/1.in": "", "data/secret/b/1.ans": "",
        "data/secret/c/1.in": "", "data/secret/c/1.ans": "",
    }  # fmt: skip
    del files["data/secret/2.in"], files["data/secret/2.ans"]
    del files["data/secret/10.in"], files["data/secret/10.ans"]
    root = kattis(tmp_path / "p", V2025 + "type: scoring\n", files)
    with open_package(root) as a:
        assert [(g.name, g.points, g.scoring) for g in a.groups][1:] == [
            ("secret/a", 30.0, "all"), ("secret/b", 30.0, "all"), ("secret/c", 30.0, "all"),
        ]  # fmt: skip
        assert any("groups without max_score" in w for w in a.warnings)


def test_2025_secret_with_tests_and_groups_is_refused(tmp_path):
    files = {**BASIC, "data/secret/g/1.in": "", "data/secret/g/1.ans": ""}
    root = kattis(tmp_path / "p", V2025 + "type: scoring\n", files)
    assert "has both test cases and groups" in str(load_error(root))


def test_2025_scores_above_the_secret_score_are_refused(tmp_path):
    files = {
        "data/secret/a/1.in": "", "data/secret/a/1.ans": "",
        "data/secret/a/test_group.yaml": "max_score: 150\n",
    }  # fmt: skip
    root = kattis(tmp_path / "p", V2025 + "type: scoring\n", files)
    assert "add up to 150, above the group's 100" in str(load_error(root))


def test_2025_reads_test_group_yaml_not_testdata_yaml(tmp_path):
    files = {**BASIC, "data/secret/testdata.yaml": "output_validator_flags: case_sensitive\n"}
    root = kattis(tmp_path / "p", V2025, files)
    with open_package(root) as a:
        assert a.test("secret/2").judge_args is None
        assert any("2025-09 calls it test_group.yaml" in w for w in a.warnings)


def test_a_directory_with_both_group_files_is_refused(tmp_path):
    files = {**BASIC, "data/secret/testdata.yaml": "", "data/secret/test_group.yaml": ""}
    root = kattis(tmp_path / "p", V2023, files)
    assert "has both testdata.yaml and test_group.yaml" in str(load_error(root))


# ---------------------------------------------------------------------------------------------
# rule 6: included files


def test_include_folders_map_kattis_languages_to_runtimes():
    root = PACKAGES / "v2023-scoring"
    with open_package(root) as a:
        assert a.include == {
            "default": root / "include/default",
            "python3": root / "include/python3",
        }
        assert "include/befunge/: unknown language 'befunge'; its files are not included" in (
            a.warnings
        )


def test_include_aliases_and_loose_files(tmp_path):
    files = {**BASIC, "include/cpp/x.h": "", "include/cplusplus/y.h": "", "include/note.txt": ""}
    root = kattis(tmp_path / "p", "name: P\n", files)
    with open_package(root) as a:
        assert set(a.include) == {"cpp"}
        text = "\n".join(a.warnings)
        assert "a second folder for cpp" in text and "include/note.txt" in text


# ---------------------------------------------------------------------------------------------
# rule 7: input validators


def test_input_validators_are_programs_and_ctd_viva_are_skipped():
    with open_package(PACKAGES / "legacy-flags") as a:
        assert [p.name for p in a.input_validators] == ["validate.py"]
        assert any(
            "format.ctd: Checktestdata input validators are not supported" in w for w in a.warnings
        )


def test_input_validators_in_both_legacy_folders(tmp_path):
    files = {
        **BASIC,
        "input_validators/dir/v.cpp": "",
        "input_validators/check.viva": "",
        "input_validators/notes.txt": "",
        "input_format_validators/old.py": "",
    }
    root = kattis(tmp_path / "p", "name: P\n", files)
    with open_package(root) as a:
        assert [p.name for p in a.input_validators] == ["dir", "old.py"]
        text = "\n".join(a.warnings)
        assert "VIVA" in text and "notes.txt: not a program" in text
        assert "input_format_validators/ is the deprecated name" in text


# ---------------------------------------------------------------------------------------------
# rule 8: samples and per-test files


def test_interaction_files_and_interactive_samples(tmp_path):
    files = {
        **INTERACTIVE_DATA,
        "data/sample/2.in": "1\n", "data/sample/2.ans": "",  # no interaction: not shown
        "data/sample/3.interaction": "> 1\n",  # only for the statement
        "output_validator/v.py": "exit(42)\n",
    }  # fmt: skip
    root = kattis(tmp_path / "p", V2023 + "type: interactive\n", files)
    with open_package(root) as a:
        assert [(t.name, t.visible, t.interaction and t.interaction.name) for t in a.tests] == [
            ("sample/1", True, "1.interaction"), ("sample/2", False, None),
            ("secret/1", False, None),
        ]  # fmt: skip
        text = "\n".join(a.warnings)
        assert "interactive sample without 2.interaction" in text
        assert "3.interaction: an interaction without a test case" in text


def test_an_interaction_in_a_plain_problem_is_ignored_with_a_warning(tmp_path):
    files = {**BASIC, "data/sample/1.interaction": "> 1\n"}
    root = kattis(tmp_path / "p", "name: P\n", files)
    with open_package(root) as a:
        assert a.test("sample/1").interaction is None
        assert any("only interactive and multi-pass" in w for w in a.warnings)


def test_test_files_and_test_yaml(tmp_path):
    with open_package(PACKAGES / "v2023-scoring") as a:
        t = a.test("secret/g1/01")
        assert [p.name for p in t.files] == ["data.txt"] and t.files_base.name == "01.files"
    with open_package(PACKAGES / "v2025") as a:
        assert a.test("secret/a/1").visible  # full_feedback: true in 1.yaml
        assert not a.test("secret/b/2").visible
        assert [p.name for p in a.test("secret/b/big/3").files] == ["note.txt"]


def test_test_yaml_keys_are_checked(tmp_path):
    files = {
        **BASIC,
        "data/secret/2.yaml": "args: [--fast]\nfull_feedback: true\ncolour: red\n",
        "data/secret/10.yaml": "full_feedback: sometimes\n",
    }
    root = kattis(tmp_path / "p", V2025, files)
    e = load_error(root)
    assert (e.file, e.field) == ("data/secret/10.yaml", "full_feedback")
    (root / "data/secret/10.yaml").unlink()
    with open_package(root) as a:
        assert a.test("secret/2").visible
        text = "\n".join(a.warnings)
        assert "data/secret/2.yaml: unknown key 'colour' ignored" in text
        assert "args" not in text  # args are supported: they reach the program
        assert a.test("secret/2").args == ["--fast"]


def test_legacy_ignores_test_files_and_yaml_with_warnings(tmp_path):
    files = {**BASIC, "data/secret/2.files/x.txt": "", "data/secret/2.yaml": "args: [a]\n"}
    root = kattis(tmp_path / "p", "name: P\n", files)
    with open_package(root) as a:
        assert a.test("secret/2").files == []
        text = "\n".join(a.warnings)
        assert "2.files/: test files are not part of the legacy format" in text
        assert "files that are not test data ignored: 2.yaml" in text


def test_annotation_and_statement_files_beside_tests_are_not_warned_about(tmp_path):
    files = {
        **BASIC,
        "data/sample/1.out": "", "data/sample/1.in.statement": "", "data/sample/1.desc": "",
        "data/sample/1.png": "", "data/sample/extra.download": "", "data/sample/.hidden": "",
        "data/secret/notes.txt": "",
    }  # fmt: skip
    root = kattis(tmp_path / "p", V2023, files)
    with open_package(root) as a:
        assert a.warnings == ["data/secret/: files that are not test data ignored: notes.txt"]


# ---------------------------------------------------------------------------------------------
# rule 9: symbolic links


def test_links_inside_the_package_are_followed():
    root = PACKAGES / "symlinks"
    assert (root / "data/secret/g2/1.in").is_symlink()  # as git checks the package out
    with open_package(root) as a:
        t = a.test("secret/g2/1")
        assert t.input == (root / "data/secret/g1/1.in").resolve()
        assert t.answer == (root / "data/secret/g1/1.ans").resolve()
        assert [g.tests for g in a.groups if g.name == "secret/g2"] == [
            ["secret/g2/1", "secret/g2/2"]
        ]
        same = solutions(a)["accepted/same.py"]
        assert same.path.name == "same.py" and not same.path.is_symlink()
        assert same.path.read_text() == "print(input())\n"
        assert (a.include["python3"] / "util.py").is_file()
        assert not a.include["python3"].is_symlink()
        assert a.description == "Print the line you read.\n"
        assert a.warnings == []


@pytest.mark.parametrize(
    "where",
    [
        "data/secret/3.in",
        "data/secret/2.ans",
        "output_validator/v.py",
        "input_validators/v.py",
        "include/default",
        "submissions/accepted/b.py",
        "statement/problem.en.md",
    ],
)
def test_links_that_leave_the_package_are_refused(tmp_path, where):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x").write_text("1\n")
    root = kattis(tmp_path / "p", V2023, BASIC)
    link(root / where, str(outside / "x") if "include" not in where else str(outside))
    if where.endswith(".in"):
        (root / "data/secret/3.ans").write_text("")
    e = load_error(root)
    assert e.file == where and "leaves the package" in e.message
    link(root / where, "../" * where.count("/") + "../outside/x")
    e = load_error(root)
    assert e.file == where and "leaves the package" in e.message


def test_dangling_links_and_loops_are_refused(tmp_path):
    root = kattis(tmp_path / "p", "name: P\n", BASIC)
    link(root / "data/secret/3.in", "nowhere.in")
    assert "which does not exist" in str(load_error(root))
    (root / "data/secret/3.in").unlink()
    link(root / "data/secret/a.in", "b.in")
    link(root / "data/secret/b.in", "a.in")
    assert "symbolic link loop" in str(load_error(root))
    (root / "data/secret/a.in").unlink()
    (root / "data/secret/b.in").unlink()
    link(root / "data/secret/deeper/up", "..")
    e = load_error(root)
    assert e.file == "data/secret/deeper/up" and "loop" in e.message


# ---------------------------------------------------------------------------------------------
# rule 10: submissions


def test_legacy_verdict_folders_follow_the_specifications_table():
    with open_package(PACKAGES / "legacy-flags") as a:
        s = solutions(a)
        assert set(s) == {
            "accepted/echo.py", "wrong_answer/shout.py", "time_limit_exceeded/spin.py",
            "run_time_error/crash.py",
        }  # fmt: skip
        accepted = s["accepted/echo.py"]
        assert (accepted.expected, accepted.permitted, accepted.required) == (AC, {AC}, ANY)
        wa = s["wrong_answer/shout.py"]
        assert (wa.expected, wa.permitted, wa.required) == (WA, {AC, WA}, {WA})
        tle = s["time_limit_exceeded/spin.py"]  # may also give wrong answers
        assert (tle.expected, tle.permitted, tle.required) == (TLE, {AC, WA, TLE}, {TLE})
        rte = s["run_time_error/crash.py"]
        assert (rte.expected, rte.permitted, rte.required) == (RTE, ANY, {RTE})
        text = "\n".join(a.warnings)
        assert "submissions/slow_accepted/: not a verdict folder" in text
        assert "submissions/accepted/: not programs (no known language), skipped: README.md" in text


def test_partially_accepted_must_score_below_the_maximum():
    with open_package(PACKAGES / "legacy-scoring") as a:
        pa = solutions(a)["partially_accepted/small.py"]
        assert pa.expected is PA and pa.permitted == ANY
        lo, hi = pa.score_range
        assert lo == 0 and hi < 100 and math.isclose(hi, 100)


def test_2025_default_folders_and_submissions_yaml():
    with open_package(PACKAGES / "v2025") as a:
        s = solutions(a)
        rows = {n: (x.expected, x.permitted, x.required) for n, x in s.items()}
        assert rows == {
            "accepted/twice.py": (AC, {AC}, ANY),
            "brute_force/count.py": (TLE, {AC, RTE, TLE}, {RTE, TLE}),
            "partial/small.py": (PA, {AC, WA}, ANY),  # a glob's own folder
            "rejected/zero.py": (WA, ANY, {RTE, TLE, WA}),
            "slow/count.py": (TLE, {AC, TLE}, {TLE}),
            # the default rule overridden: permitted widened, required kept
            "time_limit_exceeded/spin.py": (TLE, {AC, WA, TLE}, {TLE}),
        }
        assert s["accepted/twice.py"].language == "python3"
        assert s["partial/small.py"].score_range == (40, 40)
        assert a.warnings == []


def test_submissions_yaml_rules_combine(tmp_path):
    files = {
        **BASIC,
        "submissions/accepted/b.py": "",
        "submissions/other/x.py": "",
        "submissions/submissions.yaml": "\n".join(
            [
                "'*/{a,b}.py': {permitted: [AC, WA]}",
                "accepted/b.py: {required: [AC], entrypoint: b, language: klingon}",
                "wrong_answer: {required: [WA, TLE], score: 3}",
                "missing/*: {permitted: [AC]}",
                "accepted/a.py: {secret/g1: {permitted: [AC]}, colour: red}",
                "",
            ]
        ),
    }
    root = kattis(tmp_path / "p", V2025, files)
    with open_package(root) as a:
        s = solutions(a)
        assert s["accepted/b.py"].permitted == {AC} and s["accepted/b.py"].required == {AC}
        assert s["accepted/b.py"].language is None
        assert s["wrong_answer/w.py"].required == {WA, TLE}
        assert "other/x.py" not in s
        text = "\n".join(a.warnings)
        assert "accepted/b.py.entrypoint is not supported" in text
        assert "unknown language 'klingon'" in text
        assert "wrong_answer.score is only for scoring problems" in text
        assert "'missing/*' matches no submission" in text
        assert "requirements for some test groups only are not supported" in text
        assert "unknown key 'accepted/a.py.colour'" in text
        assert "submissions/other/: not a verdict folder of the 2025-09 format" in text
    bad = {**BASIC, "submissions/submissions.yaml": "accepted: {permitted: [OK]}\n"}
    e = load_error(kattis(tmp_path / "q", V2025, bad))
    assert (e.file, e.field) == ("submissions/submissions.yaml", "accepted.permitted")


def test_submission_globs():
    assert glob_matches("accepted", "accepted/a.py")
    assert glob_matches("accepted/*", "accepted/a.py")
    assert glob_matches("*/a.{py,cpp}", "wrong_answer/a.cpp")
    assert not glob_matches("*", "accepted/a.py/x") or glob_matches("*", "accepted")
    assert not glob_matches("accepted/*.py", "accepted/a.cpp")
    assert not glob_matches("acc*/x", "accepted/a.py")
    assert glob_matches("accepted/[x].py", "accepted/[x].py")  # [ ] are not classes


def test_submissions_may_be_directories_and_hidden_files_are_skipped(tmp_path):
    files = {
        **BASIC,
        "submissions/accepted/multi/main.py": "",
        "submissions/accepted/.notes": "",
        "submissions/compile_error/bad.c": "",
        "submissions/notes.txt": "",
    }
    root = kattis(tmp_path / "p", "name: P\n", files)
    with open_package(root) as a:
        s = solutions(a)
        assert s["accepted/multi"].path.is_dir()
        assert ".notes" not in "".join(s) and "compile_error/bad.c" not in s
        text = "\n".join(a.warnings)
        assert "submissions/compile_error/: not a verdict folder" in text
        assert "submissions/notes.txt: not in a verdict folder" in text


def test_2023_has_the_new_folders_and_problemtools_partially_accepted(tmp_path):
    files = {
        **BASIC,
        "submissions/brute_force/b.py": "",
        "submissions/partially_accepted/p.py": "",
    }
    root = kattis(tmp_path / "p", V2023 + "type: scoring\n", files)
    with open_package(root) as a:
        s = solutions(a)
        assert s["accepted/a.py"].permitted == {AC}
        assert s["time_limit_exceeded/t.c"].permitted == {AC, TLE}
        assert s["brute_force/b.py"].required == {RTE, TLE}
        assert s["partially_accepted/p.py"].expected is PA


# ---------------------------------------------------------------------------------------------
# rule 11: nothing is ignored silently


def test_unknown_keys_and_folders_are_warnings(tmp_path):
    files = {
        **BASIC,
        "data/secret/testdata.yaml": "colour: red\n",
        "data/extra/1.in": "",
        "data/notes.txt": "",
        "tools/gen.py": "",
        "statement.md": "",
        "README.md": "",
    }
    root = kattis(tmp_path / "p", "name: P\nauthor: A\nflavour: mint\ncredits: C\n", files)
    with open_package(root) as a:
        assert sorted(a.warnings) == sorted(
            [
                "problem.yaml: unknown key 'flavour' ignored",
                "problem.yaml: unknown key 'credits' ignored",  # a 2023-07 key
                "tools/: unknown folder in the package root ignored",
                "statement.md: unknown file in the package root ignored",
                "data/secret/testdata.yaml: unknown key 'colour' ignored",
                "data/extra/: unknown folder ignored (data has sample and secret)",
                "data/notes.txt: not test data (tests are in data/sample and data/secret)",
            ]
        )


def test_2023_keys_that_assay_does_not_support_are_warnings(tmp_path):
    files = {
        **BASIC,
        "data/secret/test_group.yaml": "static_validation: true\nscoring: {require_pass: sample}\n",
        "static_validator/v.py": "",
    }
    yaml = V2023 + "type: scoring\nlanguages: [cpp]\nconstants: {n: 5}\n"
    root = kattis(tmp_path / "p", yaml, files)
    with open_package(root) as a:
        text = "\n".join(a.warnings)
        assert "static_validation: static validation is not supported" in text
        assert "require_pass is not supported" in text
        assert "static_validator/: static validation is not supported" in text
        assert "languages ['cpp'] are not enforced" in text
        assert "constants" in text


# ---------------------------------------------------------------------------------------------
# the conformance packages, whole


@pytest.mark.parametrize("name", sorted(p.name for p in PACKAGES.iterdir() if p.is_dir()))
def test_every_conformance_package_loads_and_says_what_it_tests(name):
    assert (PACKAGES / name / "README.md").read_text().strip()
    with open_package(PACKAGES / name) as a:
        assert a.format == "kattis" and a.tests and a.solutions
        accepted = [s for s in a.solutions if s.name.startswith("accepted/")]
        assert accepted and all(s.expected is AC for s in accepted)


def test_a_tests_args_reach_the_program(host, tmp_path):
    files = {
        "data/sample/1.in": "", "data/sample/1.ans": "a b\n",
        "data/secret/2.in": "", "data/secret/2.ans": "x y z\n", "data/secret/2.yaml": "args: [x, y, z]\n",
        "data/sample/1.yaml": "args: [a, b]\n",
        "submissions/accepted/argv.py": "import sys\nprint(*sys.argv[1:])\n",
    }  # fmt: skip
    root = kattis(tmp_path / "p", V2023 + "limits: {time_limit: 1}\n", files)
    from assay.check import check_package

    with open_package(root) as a:
        assert a.test("secret/2").args == ["x", "y", "z"]
        report = check_package(a, host)
    (sol,) = report.solutions
    assert sol.ok, sol.to_dict()
