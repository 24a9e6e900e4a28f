"""Loading packages: the native format, the seed's test zips, and clear errors for bad packages."""

import shutil
import zipfile

import pytest

from assay.package import PackageError, open_package
from assay.package.model import Verdict
from tests.conftest import EXAMPLES


def write_package(root, yaml_text, tests=(("1", "1 2\n", "3\n"),)):
    root.mkdir(parents=True, exist_ok=True)
    (root / "assignment.yaml").write_text(yaml_text)
    for name, inp, out in tests:
        d = root / "tests" / name
        d.mkdir(parents=True)
        (d / "input").write_text(inp)
        (d / "output").write_text(out)
    return root


def load_error(path):
    with pytest.raises(PackageError) as info, open_package(path):
        pass
    return str(info.value)


def test_it_loads_the_sum_example():
    with open_package(EXAMPLES / "sum-c") as a:
        assert a.title == "Sum of two numbers"
        assert a.runtime == "c"
        assert [t.name for t in a.tests] == ["1", "2", "3", "4"]
        assert a.tests[0].visible and not a.tests[1].visible
        assert a.limits.memory_kib == 64 * 1024
        expected = {s.name: s.expected for s in a.solutions}
        assert expected["accepted/sum.c"] is Verdict.AC
        assert expected["compile_error/missing-semicolon.c"] is Verdict.CE


def test_it_loads_a_zipped_package(tmp_path):
    archive = tmp_path / "sum.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in (EXAMPLES / "sum-c").rglob("*"):
            if p.is_file():
                zf.write(p, "sum-c/" + p.relative_to(EXAMPLES / "sum-c").as_posix())
    with open_package(archive) as a:
        assert len(a.tests) == 4


def test_it_reads_the_seeds_testN_zip_archives(tmp_path):
    root = write_package(tmp_path / "p", "title: T\n", tests=())
    (root / "tests").mkdir()
    with zipfile.ZipFile(root / "tests" / "test1.zip", "w") as zf:
        zf.writestr("input", "5\n")
        zf.writestr("output", "25\n")
        zf.writestr("data/table.txt", "extra file")
    with open_package(root) as a:
        (t,) = a.tests
        assert t.name == "test1"
        assert t.input.read_text() == "5\n"
        assert [p.name for p in t.files] == ["table.txt"]


def test_it_reads_in_out_pairs(tmp_path):
    root = write_package(tmp_path / "p", "title: T\n", tests=())
    (root / "tests").mkdir()
    (root / "tests" / "a.in").write_text("1")
    (root / "tests" / "a.out").write_text("1")
    with open_package(root) as a:
        assert [t.name for t in a.tests] == ["a"]


def test_groups_assign_tests_and_points(tmp_path):
    root = write_package(
        tmp_path / "p",
        "title: T\ngroups:\n  - {name: easy, points: 3, tests: ['e*'], scoring: all}\n"
        "  - {name: hard, points: 7, tests: ['h*']}\n",
        tests=(("e1", "1", "1"), ("h1", "1", "1"), ("h2", "1", "1")),
    )
    with open_package(root) as a:
        assert a.points == 10
        assert [(g.name, g.tests) for g in a.groups] == [("easy", ["e1"]), ("hard", ["h1", "h2"])]


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("title: [unclosed", "assignment.yaml: invalid YAML at line 1"),
        ("- a list", "must be a mapping"),
        ("title: T\nlimtis: {}\n", "assignment.yaml: limtis: unknown field"),
        ("title: T\nlimits: {time_s: fast}\n", "assignment.yaml: limits.time_s:"),
        ("title: T\nlimits: {memory_mib: -5}\n", "assignment.yaml: limits.memory_mib:"),
        ("title: T\nruntime: cobol\n", "assignment.yaml: runtime:"),
        (
            "title: T\njudge: {type: magic}\n",
            "assignment.yaml: judge.type: Value error, unknown judge 'magic'",
        ),
        (
            "title: T\njudge: {type: checker}\n",
            "assignment.yaml: judge.checker: judge 'checker' needs a checker",
        ),
        ("title: T\njudge: {type: checker, checker: nope.py}\n", "checker 'nope.py' not found"),
        ("title: T\ntests: {9: {weight: 2}}\n", "assignment.yaml: tests.9: no test named '9'"),
        (
            "title: T\ngroups: [{name: g, points: 1, tests: ['x*']}]\n",
            "assignment.yaml: groups.0.tests: matches no test",
        ),
        ("runtime: c\n", "assignment.yaml: title: Field required"),
    ],
)
def test_a_malformed_assignment_yaml_names_file_and_field(tmp_path, yaml_text, expected):
    root = write_package(tmp_path / "p", yaml_text)
    assert expected in load_error(root)


def test_a_test_without_expected_output_is_named(tmp_path):
    root = write_package(tmp_path / "p", "title: T\n")
    (root / "tests" / "1" / "output").unlink()
    assert "tests/1: test '1' has no expected output" in load_error(root)


def test_a_symlink_in_tests_is_refused(tmp_path):
    root = write_package(tmp_path / "p", "title: T\n")
    (root / "tests" / "evil").symlink_to("/etc")
    assert "tests/evil: symlinks are not allowed" in load_error(root)


def test_a_bad_test_name_is_refused(tmp_path):
    root = write_package(tmp_path / "p", "title: T\n", tests=(("bad name", "1", "1"),))
    assert "may only use letters" in load_error(root)


def test_a_missing_tests_directory_is_named(tmp_path):
    root = tmp_path / "p"
    root.mkdir()
    (root / "assignment.yaml").write_text("title: T\n")
    assert "tests/: missing" in load_error(root)


def test_an_unknown_verdict_directory_is_named(tmp_path):
    root = write_package(tmp_path / "p", "title: T\n")
    (root / "solutions" / "fast").mkdir(parents=True)
    assert "solutions/fast: unknown verdict directory" in load_error(root)


def test_a_directory_that_is_no_package_says_so(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "a").write_text("")
    assert "neither assignment.yaml" in load_error(tmp_path / "x")


def test_a_zip_bomb_package_is_refused(tmp_path):
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("assignment.yaml", "title: T\n")
        zf.writestr("tests/1/input", b"\0" * (50 * 1024 * 1024))
    assert "ratio" in load_error(archive)


def test_a_missing_path_is_named(tmp_path):
    assert "no such file" in load_error(tmp_path / "nothing")


def test_extracted_files_are_removed_afterwards(tmp_path):
    root = write_package(tmp_path / "p", "title: T\n", tests=())
    (root / "tests").mkdir()
    with zipfile.ZipFile(root / "tests" / "t.zip", "w") as zf:
        zf.writestr("input", "1")
        zf.writestr("output", "1")
    with open_package(root) as a:
        extracted = a.tests[0].input
        assert extracted.exists()
    assert not extracted.exists()
    shutil.rmtree(root)


@pytest.mark.parametrize(
    "description, said",
    [
        ("/etc/os-release.md", "must be a path inside the package"),
        ("../other-course/statement.md", "must not leave the package"),
        ("link.md", "leads out of the package"),
    ],
)
def test_a_description_file_outside_the_package_is_refused(tmp_path, description, said):
    outside = tmp_path / "secret.md"
    outside.write_text("another course's statement")
    root = write_package(tmp_path / "p", f"title: T\nruntime: c\ndescription: {description}\n")
    (root / "link.md").symlink_to(outside)
    message = load_error(root)
    assert "assignment.yaml: description" in message and said in message, message
    assert "another course" not in message


def test_a_description_file_inside_the_package_is_read(tmp_path):
    root = write_package(tmp_path / "p", "title: T\nruntime: c\ndescription: doc/task.md\n")
    (root / "doc").mkdir()
    (root / "doc" / "task.md").write_text("# Add two numbers")
    with open_package(root) as a:
        assert a.description == "# Add two numbers"


def test_a_checker_outside_the_package_is_refused(tmp_path):
    root = write_package(
        tmp_path / "p", "title: T\nruntime: c\njudge: {type: checker, checker: ../../bin/true}\n"
    )
    assert "must not leave the package" in load_error(root)


def billion_laughs(levels: int) -> str:
    lines = ['a: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        refs = ",".join([f"*a{i - 1}"] * 10)
        lines.append(f"b{i}: &a{i} [{refs}]")
    return "title: T\nruntime: c\n" + "\n".join(lines) + "\n"


def test_a_yaml_bomb_is_refused_with_a_short_message(tmp_path):
    text = billion_laughs(9)
    assert len(text) < 1000
    root = write_package(tmp_path / "p", text)
    message = load_error(root)
    assert "refused" in message and "aliases" in message, message
    assert len(message) < 300


def test_deep_nesting_and_huge_yaml_files_are_refused(tmp_path):
    root = write_package(tmp_path / "deep", "title: T\nruntime: c\nx: " + "[" * 200 + "]" * 200)
    assert "nested deeper than" in load_error(root)
    root = write_package(tmp_path / "big", "title: T\nruntime: c\n# " + "x" * (1024 * 1024) + "\n")
    assert "at most" in load_error(root)


def test_a_long_hostile_value_gives_a_short_error(tmp_path):
    root = write_package(tmp_path / "p", "title: T\nruntime: c\npoints: " + "9" * 100_000 + "x\n")
    assert len(load_error(root)) < 1200
