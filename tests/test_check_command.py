"""`assay check`: every example passes, a wrongly filed solution is caught, errors are clear."""

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
from typer.testing import CliRunner

from assay.cli import app
from tests.conftest import EXAMPLES

runner = CliRunner()
ALL_EXAMPLES = sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir())


def assay(*args):
    return subprocess.run(
        [sys.executable, "-m", "assay", *args], capture_output=True, text=True, timeout=600
    )


# the interactive example waits out wall-time limits (~35 s, mostly idle): the checks run two at
# a time, that one first, so it overlaps with the rest instead of adding to them
SLOWEST_FIRST = sorted(ALL_EXAMPLES, key=lambda name: name != "kattis-guess")


@pytest.fixture(scope="module")
def example_checks() -> Iterator[dict[str, Future[subprocess.CompletedProcess[str]]]]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        yield {name: pool.submit(assay, "check", str(EXAMPLES / name), "--json")
               for name in SLOWEST_FIRST}  # fmt: skip


@pytest.mark.parametrize("example", ALL_EXAMPLES)
def test_every_example_passes_its_own_check(example, example_checks):
    result = example_checks[example].result()
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["solutions"], "an example must have reference solutions"
    assert any(s["expected"] == "AC" for s in report["solutions"])
    assert any(s["expected"] != "AC" for s in report["solutions"])


def test_the_table_shows_verdicts_and_measurements_against_limits():
    result = assay(
        "check", str(EXAMPLES / "sum-c"), "-s", "accepted/sum.c", "-s", "time_limit_exceeded/slow.c"
    )
    assert result.returncode == 0, result.stderr
    assert "accepted/sum.c" in result.stdout
    assert "TLE" in result.stdout
    assert "/64 MiB" in result.stdout  # peak memory against the limit
    assert "/1 s" in result.stdout  # cpu time against the limit
    assert "all reference solutions got their verdicts" in result.stdout


def test_a_wrongly_filed_solution_makes_check_fail(tmp_path):
    pkg = tmp_path / "sum"
    shutil.copytree(EXAMPLES / "sum-c", pkg)
    (pkg / "solutions" / "accepted" / "sum.c").rename(pkg / "solutions" / "wrong_answer" / "sum.c")
    result = runner.invoke(app, ["check", str(pkg), "--json", "-s", "wrong_answer/sum.c"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    (sol,) = report["solutions"]
    assert (sol["expected"], sol["verdict"], sol["ok"]) == ("WA", "AC", False)


def test_json_reports_every_test_with_measurements():
    result = runner.invoke(
        app, ["check", str(EXAMPLES / "sum-c"), "--json", "-s", "accepted/sum.c"]
    )
    assert result.exit_code == 0
    (sol,) = json.loads(result.stdout)["solutions"]
    assert sol["points"] == sol["max_points"] == 10
    for t in sol["tests"]:
        assert t["verdict"] == "AC"
        assert 0 < t["cpu_time_s"] < 1
        assert t["wall_time_s"] > 0
        assert 0 < t["memory_kib"] < 64 * 1024


def test_a_malformed_package_gets_an_error_not_a_traceback(tmp_path):
    pkg = tmp_path / "bad"
    shutil.copytree(EXAMPLES / "sum-c", pkg)
    (pkg / "assignment.yaml").write_text("title: Sum\nlimits: {time_s: soon}\n")
    result = assay("check", str(pkg))
    assert result.returncode == 2
    assert "assignment.yaml: limits.time_s" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_documents_the_command():
    result = runner.invoke(app, ["check", "--help"])
    assert result.exit_code == 0
    assert "reference solution" in result.stdout


def test_every_wrongly_filed_solution_of_the_sum_example_is_caught(tmp_path, host):
    """Each failing solution filed under accepted, and the accepted one under each failing verdict."""
    from assay.check import check_package
    from assay.package import open_package

    pkg = tmp_path / "sum"
    shutil.copytree(EXAMPLES / "sum-c", pkg)
    sols = pkg / "solutions"
    moved = []
    for verdict_dir in sorted(p for p in sols.iterdir() if p.name != "accepted"):
        for f in list(verdict_dir.iterdir()):
            f.rename(sols / "accepted" / f"was-{verdict_dir.name}-{f.name}")
            moved.append(f"accepted/was-{verdict_dir.name}-{f.name}")
    (sols / "accepted" / "sum.c").rename(sols / "wrong_answer" / "sum.c")
    with open_package(pkg) as assignment:
        report = check_package(assignment, host)
    by_name = {s.solution.name: s for s in report.solutions}
    assert set(by_name) == {*moved, "wrong_answer/sum.c"}
    assert not any(s.ok for s in report.solutions), [
        (s.solution.name, s.verdict) for s in report.solutions if s.ok
    ]
    assert not report.ok
