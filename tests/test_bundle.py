"""Job bundles (seed 000) in, result archives (seed 001) out: `assay bundle` + `assay tester run-bundle`."""

import io
import zipfile

import yaml
from typer.testing import CliRunner

from assay.cli import app
from tests.conftest import EXAMPLES

runner = CliRunner()
SUM = EXAMPLES / "sum-c" / "solutions"


def make_bundle(tmp_path, solution, package=EXAMPLES / "sum-c"):
    bundle = tmp_path / "bundle.zip"
    result = runner.invoke(
        app, ["bundle", str(package), str(solution), "--out", str(bundle), "--job-id", "job-7"]
    )
    assert result.exit_code == 0, result.output
    return bundle


def test_a_bundle_has_the_seeds_members(tmp_path):
    bundle = make_bundle(tmp_path, SUM / "accepted" / "sum.c")
    with zipfile.ZipFile(bundle) as zf:
        assert sorted(zf.namelist()) == sorted(
            ["archive.zip", "tests.zip", "course_config", "submission_config", "build.sh", "run.sh"]
        )
        config = yaml.safe_load(zf.read("submission_config"))
        assert config["job_id"] == "job-7" and config["runtime"] == "c"
        assert [t["name"] for t in config["tests"]] == ["1", "2", "3", "4"]
        with zipfile.ZipFile(io.BytesIO(zf.read("archive.zip"))) as sub:
            assert sub.namelist() == ["sum.c"]
        with zipfile.ZipFile(io.BytesIO(zf.read("tests.zip"))) as tests:
            assert "tests/1/input" in tests.namelist() and "tests/4/answer" in tests.namelist()
        assert b"gcc" in zf.read("build.sh")


def test_run_bundle_writes_the_result_archive(tmp_path):
    bundle = make_bundle(tmp_path, SUM / "accepted" / "sum.c")
    out = tmp_path / "result"
    result = runner.invoke(
        app,
        ["tester", "run-bundle", str(bundle), "--out", str(out), "--zip", str(tmp_path / "r.zip")],
    )
    assert result.exit_code == 0, result.output
    doc = yaml.safe_load((out / "result.yaml").read_text())
    assert doc["job_id"] == "job-7"
    assert (doc["status"], doc["verdict"], doc["points"]) == ("done", "AC", 10)
    assert doc["build"]["status"] == "OK"
    for t in doc["tests"]:
        assert t["verdict"] == "AC" and t["status"] == "OK" and t["exit_code"] == 0
        assert t["cpu_time_s"] > 0 and t["memory_kib"] > 0
        assert (out / t["name"] / "run_stdout.vmr").is_file()
        assert (out / t["name"] / "run_stderr.vmr").is_file()
    assert (out / "1" / "run_stdout.vmr").read_text() == "3\n"
    assert (out / "build_stdout.vmr").is_file() and (out / "build_stderr.vmr").is_file()
    with zipfile.ZipFile(tmp_path / "r.zip") as zf:
        assert "result.yaml" in zf.namelist() and "1/run_stdout.vmr" in zf.namelist()


def test_a_compile_error_is_reported_with_the_compilers_output(tmp_path):
    bundle = make_bundle(tmp_path, SUM / "compile_error" / "missing-semicolon.c")
    out = tmp_path / "result"
    result = runner.invoke(app, ["tester", "run-bundle", str(bundle), "--out", str(out)])
    assert result.exit_code == 0
    doc = yaml.safe_load((out / "result.yaml").read_text())
    assert (doc["verdict"], doc["points"]) == ("CE", 0)
    assert doc["build"]["status"] == "RE"
    assert "expected" in (out / "build_stderr.vmr").read_text()  # gcc: expected ';'
    assert {t["verdict"] for t in doc["tests"]} == {"SKIP"}


def test_captured_output_is_capped_in_the_archive(tmp_path):
    prog = tmp_path / "loud.c"
    prog.write_text(
        '#include <stdio.h>\nint main(){for(int i=0;i<200000;i++)puts("0123456789");return 0;}\n'
    )
    bundle = make_bundle(tmp_path, prog)
    out = tmp_path / "result"
    runner.invoke(app, ["tester", "run-bundle", str(bundle), "--out", str(out)])
    doc = yaml.safe_load((out / "result.yaml").read_text())
    t = doc["tests"][0]
    assert t["verdict"] == "WA" and t["stdout_truncated"] is True
    assert (out / "1" / "run_stdout.vmr").stat().st_size == 64 * 1024


def test_a_malformed_bundle_is_named(tmp_path):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("archive.zip", b"")
    result = runner.invoke(app, ["tester", "run-bundle", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "missing member(s)" in result.output
    assert "submission_config" in result.output


def test_a_submission_in_an_unknown_language_is_refused(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    result = runner.invoke(
        app, ["bundle", str(EXAMPLES / "sum-c"), str(notes), "--out", str(tmp_path / "b.zip")]
    )
    assert result.exit_code == 2
