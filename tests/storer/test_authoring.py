"""The assignment editor's drafts (assay/storer/authoring/drafts.py): every template's package
round-trips through the loader, each edit lands where the loader reads it, and hostile input is
refused with a message naming the field.

- Teacher supervises prog1 and edits its drafts.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest

from assay.package import open_package
from assay.storer.authoring import drafts
from assay.storer.authoring.models import Draft
from assay.storer.courses.models import AssignmentVersion
from assay.storer.evaluation.models import Job
from assay.storer.evaluation.services import ServiceError
from tests.conftest import EXAMPLES

from .conftest import package_zip


def loaded(path: Path) -> dict[str, Any]:
    """What a package means to assay, without where its files happen to lie."""
    with open_package(path) as pkg:
        return {
            "title": pkg.title, "runtime": pkg.runtime, "points": pkg.points,
            "limits": pkg.limits.to_dict(), "build_limits": pkg.build_limits.to_dict(),
            "judge": pkg.judge.to_dict(),
            "checker": pkg.judge.checker.read_bytes() if pkg.judge.checker else None,
            "groups": [(g.name, g.points, g.scoring, g.tests) for g in pkg.groups],
            "tests": [
                (t.name, t.visible, t.group, t.weight, t.input.read_bytes(), t.answer.read_bytes())
                for t in pkg.tests
            ],
            "solutions": sorted((s.name, s.expected) for s in pkg.solutions),
            "description": pkg.description, "entry": pkg.entry, "files": pkg.required_files,
            "evaluation": pkg.evaluation, "box": pkg.box_size_kib,
        }  # fmt: skip


def zip_meaning(data: bytes, tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "built.zip"
    path.write_bytes(data)
    return loaded(path)


@pytest.fixture
def draft(cast) -> Draft:
    return drafts.create_assignment(cast.prog1, "made", "tokens", cast.users["teacher"], "Made")


@pytest.mark.parametrize("key", list(drafts.TEMPLATES))
def test_every_template_builds_the_package_it_was_modelled_on(cast, tmp_path, key):
    template = drafts.TEMPLATES[key]
    d = drafts.create_assignment(cast.prog1, f"t-{key}", key, cast.users["teacher"])
    assert zip_meaning(drafts.package_zip(d), tmp_path) == loaded(EXAMPLES / template.example)


def test_a_draft_of_the_current_version_round_trips(cast, tmp_path):
    d = drafts.start_from_version(cast.sum, cast.users["teacher"])
    assert d.origin == "version 1"
    assert zip_meaning(drafts.package_zip(d), tmp_path) == loaded(EXAMPLES / "sum-c")


def test_tests_as_pairs_or_zips_become_folders_and_mean_the_same(cast, tmp_path):
    src = tmp_path / "pkg"
    (src / "tests").mkdir(parents=True)
    (src / "assignment.yaml").write_text("title: Pairs\ntests:\n  b: {visible: true}\n")
    (src / "tests" / "a.in").write_text("1\n")
    (src / "tests" / "a.out").write_text("2\n")
    with zipfile.ZipFile(src / "tests" / "b.zip", "w") as zf:
        zf.writestr("input", "3\n")
        zf.writestr("output", "4\n")
        zf.writestr("data.txt", "extra\n")
    buf = io.BytesIO()
    from assay.lib.archive import zip_directory

    zip_directory(src, buf)
    from assay.storer.evaluation import services

    services.add_version(cast.sum, buf.getvalue(), cast.users["teacher"], trusted=True)
    cast.sum.refresh_from_db()
    d = drafts.start_from_version(cast.sum, cast.users["teacher"])
    assert set(drafts.paths(d)) >= {"tests/a/input", "tests/b/input", "tests/b/data.txt"}
    assert zip_meaning(drafts.package_zip(d), tmp_path) == loaded(src)


def test_kattis_packages_are_not_edited_and_the_message_says_what_to_do(cast):
    from assay.storer.courses.models import Assignment
    from assay.storer.evaluation import services

    a = Assignment.objects.create(course=cast.prog1, slug="dist", title="dist")
    services.add_version(a, package_zip("kattis-distance"), cast.users["teacher"], trusted=True)
    a.refresh_from_db()
    with pytest.raises(ServiceError) as e:
        drafts.start_from_version(a, cast.users["teacher"])
    assert e.value.code == "kattis_read_only"
    assert "Download the package" in e.value.message


def test_statement_settings_judge_tests_and_solutions_land_where_the_loader_reads_them(
    cast, draft, tmp_path
):
    drafts.save_statement(draft, "# Add\n\nPrint *a + b*.\n")
    drafts.save_settings(draft, {"title": "Addition", "time_s": 2, "memory_mib": 128, "points": 20})
    drafts.save_judge(draft, "float", abs_tol=0.01, rel_tol=None)
    drafts.put_test(draft, "sample1", input=b"1 2\n", output=b"3\n", new=True)
    drafts.put_test(draft, "2", visible=False)
    drafts.set_visible(draft, "3", True)
    drafts.delete_test(draft, "4")
    drafts.put_solution(draft, "accepted", {"add.py": b"print(sum(map(int, input().split())))\n"})
    drafts.delete_solution(draft, "solutions/compile_error/missing-semicolon.c")
    meaning = zip_meaning(drafts.package_zip(draft), tmp_path)
    assert meaning["title"] == "Addition"
    assert meaning["description"] == "# Add\n\nPrint *a + b*.\n"
    assert meaning["limits"]["cpu_time_s"] == 2 and meaning["limits"]["memory_kib"] == 128 * 1024
    assert meaning["points"] == 20
    assert meaning["judge"] == {"kind": "tokens", "case_sensitive": True, "space_sensitive": False, "abs_tol": 0.01, "rel_tol": 1e-6}  # fmt: skip
    tests = {t[0]: t for t in meaning["tests"]}
    assert list(tests) == ["1", "2", "3", "sample1"]
    assert tests["sample1"][1] is True  # sample* is visible by the format's default
    assert tests["1"][1] is True and tests["2"][1] is False and tests["3"][1] is True
    assert tests["sample1"][4:] == (b"1 2\n", b"3\n")
    assert ("accepted/add.py", "AC") in meaning["solutions"]
    assert all(name != "compile_error/missing-semicolon.c" for name, _ in meaning["solutions"])


def test_a_custom_checker_is_written_and_named_in_the_judge(draft, tmp_path):
    drafts.save_judge(
        draft, "checker", checker="checker.py", checker_source="import sys\nsys.exit(42)\n"
    )
    meaning = zip_meaning(drafts.package_zip(draft), tmp_path)
    assert meaning["judge"]["kind"] == "checker"
    assert meaning["checker"] == b"import sys\nsys.exit(42)\n"
    assert drafts.judge_of(draft)["checker_source"] == "import sys\nsys.exit(42)\n"


def test_settings_are_checked_by_the_loaders_schema_and_the_error_names_the_field(draft):
    with pytest.raises(ServiceError) as e:
        drafts.save_settings(draft, {"time_s": -1})
    assert e.value.field == "time_s" and "greater than 0" in e.value.message
    with pytest.raises(ServiceError) as e:
        drafts.save_settings(draft, {"runtime": "cobol-66"})
    assert e.value.field == "runtime"
    with pytest.raises(ServiceError) as e:
        drafts.save_settings(draft, {"title": ""})
    assert e.value.field == "title"
    assert drafts.settings_of(draft)["title"] == "Made"  # nothing was saved


def test_a_groups_template_reports_a_test_in_no_group(cast):
    d = drafts.create_assignment(cast.prog1, "g", "groups", cast.users["teacher"])
    drafts.put_test(d, "x1", input=b"1\n", output=b"1\n", new=True)
    rows, problem = drafts.tests_of(d)
    assert {r["name"]: r["group"] for r in rows}["e1"] == "easy"
    assert problem is not None and "x1" in problem


@pytest.mark.parametrize(
    "name", ["../evil", "a/b", "", ".hidden", "x" * 101, "spaced name", "a\x00b"]
)
def test_test_names_that_could_escape_or_break_the_package_are_refused(draft, name):
    with pytest.raises(ServiceError) as e:
        drafts.put_test(draft, name, input=b"1", output=b"1", new=True)
    assert e.value.field == "name"


def test_a_zip_of_pairs_adds_tests_and_a_hostile_zip_is_refused(draft):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("cases/big.in", "5 5\n")
        zf.writestr("cases/big.out", "10\n")
        zf.writestr("cases/s2/input", "1 1\n")
        zf.writestr("cases/s2/output", "2\n")
    assert drafts.tests_from_zip(draft, buf.getvalue(), visible=True) == ["big", "s2"]
    rows = {r["name"]: r for r in drafts.tests_of(draft)[0]}
    assert rows["big"]["visible"] and rows["big"]["input_size"] == 4

    def refused(members: dict[str, bytes], deflate: bool = False) -> ServiceError:
        buf = io.BytesIO()
        with zipfile.ZipFile(
            buf, "w", zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
        ) as zf:
            for n, d in members.items():
                zf.writestr(n, d)
        with pytest.raises(ServiceError) as e:
            drafts.tests_from_zip(draft, buf.getvalue())
        assert e.value.field == "tests_zip"
        return e.value

    assert "'..'" in refused({"../x.in": b"1", "../x.out": b"1"}).message
    assert "zip bomb" in refused({"a.in": b"0" * (8 << 20), "a.out": b"1"}, deflate=True).message
    assert "'lonely' has no expected output" in refused({"lonely.in": b"1"}).message
    assert "not a test file" in refused({"notes.txt": b"hi"}).message
    with pytest.raises(ServiceError) as e:
        drafts.tests_from_zip(draft, b"not a zip at all")
    assert "not a valid zip" in e.value.message


def test_a_file_over_the_cap_is_refused_before_it_is_stored(draft, monkeypatch):
    monkeypatch.setattr(drafts, "MAX_FILE_BYTES", 1000)
    with pytest.raises(ServiceError) as e:
        drafts.put_test(draft, "huge", input=b"1" * 1001, output=b"1", new=True)
    assert e.value.status == 413
    assert "huge" not in {r["name"] for r in drafts.tests_of(draft)[0]}


def test_the_whole_draft_stays_within_the_package_limit(draft, settings):
    settings.MAX_PACKAGE_BYTES = sum(drafts.paths(draft).values()) + 10
    with pytest.raises(ServiceError) as e:
        drafts.put_test(draft, "more", input=b"1" * 20, output=b"1", new=True)
    assert e.value.code == "upload_too_large"
    assert "tests/more/input" not in drafts.paths(draft)  # rolled back


def test_solution_names_and_verdicts_are_checked(draft):
    for verdict, files, field in (
        ("accepted", {"../x.c": b""}, "file"),
        ("accepted", {"a\u202ec.c": b""}, "file"),
        ("great", {"x.c": b""}, "verdict"),
        ("accepted", {"a.c": b"", "b.c": b""}, "folder"),
    ):
        with pytest.raises(ServiceError) as e:
            drafts.put_solution(draft, verdict, files)
        assert e.value.field == field


def test_a_statement_that_is_not_utf8_in_the_package_is_shown_with_replacements(draft):
    drafts.write(draft, {"statement.md": b"caf\xe9 \xff"})
    assert drafts.statement(draft) == "caf\ufffd \ufffd"
    with pytest.raises(ServiceError):
        drafts.save_statement(draft, "a\x00b")


def test_build_makes_a_version_through_the_uploads_path(cast, draft):
    drafts.save_statement(draft, "Add them.")
    version = drafts.build(draft, cast.users["teacher"])
    assert version.number == 1 and version.state == AssignmentVersion.VALIDATING
    assert version.meta["title"] == "Made"
    assert Job.objects.filter(kind=Job.VALIDATION, version=version).exists()  # on a tester
    draft.refresh_from_db()
    assert draft.built_version == 1


def test_a_broken_draft_does_not_become_a_version(cast, draft):
    for name in [r["name"] for r in drafts.tests_of(draft)[0]]:
        drafts.delete_test(draft, name)
    with pytest.raises(ServiceError) as e:
        drafts.build(draft, cast.users["teacher"])
    assert e.value.code == "bad_package" and "tests/" in e.value.message
    assert not draft.assignment.versions.exists()


def test_a_test_that_does_not_exist_is_not_made_visible(draft):
    with pytest.raises(ServiceError) as e:
        drafts.set_visible(draft, "ghost", True)
    assert e.value.status == 404
    assert "ghost" not in (drafts.spec_doc(draft).get("tests") or {})


def test_a_solution_path_too_long_to_store_is_refused_by_name(draft):
    with pytest.raises(ServiceError) as e:
        drafts.put_solution(
            draft, "accepted", {"a" * 190 + ".c": b"", "b.c": b""}, folder="f" * 100
        )
    assert e.value.field == "file" and "longer than 300" in e.value.message


def test_group_points_and_scoring_are_edited_and_checked(cast, tmp_path):
    d = drafts.create_assignment(cast.prog1, "g", "groups", cast.users["teacher"])
    drafts.save_groups(
        d, [{"name": "easy", "points": 5, "scoring": "all"}, {"name": "hard", "points": 15}]
    )
    meaning = zip_meaning(drafts.package_zip(d), tmp_path)
    assert meaning["groups"][0][:3] == ("easy", 5, "all") and meaning["groups"][1][:3] == (
        "hard",
        15,
        "all",
    )
    assert meaning["points"] == 20
    for change, field in (
        ({"name": "easy", "points": -1}, "groups.0.points"),
        ({"name": "easy", "scoring": "some"}, "groups.0.scoring"),
        ({"name": "nope", "points": 1}, "groups.0.name"),
    ):
        with pytest.raises(ServiceError) as e:
            drafts.save_groups(d, [change])
        assert e.value.field == field
