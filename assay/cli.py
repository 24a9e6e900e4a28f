"""The `assay` command."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from assay.package import PackageError, open_package
from assay.sandbox import SandboxError, get_host

app = typer.Typer(
    help="assay evaluates students' programming assignments in a sandbox.",
    no_args_is_help=True,
    add_completion=False,
)
tester_app = typer.Typer(help="Tester commands: evaluate job bundles.", no_args_is_help=True)
app.add_typer(tester_app, name="tester")

out = Console(width=None if sys.stdout.isatty() else 150)
err = Console(stderr=True)

EXIT_MISMATCH = 1  # a reference solution did not get its verdict
EXIT_BAD_INPUT = 2  # a malformed package, bundle or argument
EXIT_SANDBOX = 3  # the machine cannot sandbox


def fail(message: str, code: int) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def _host() -> Any:
    try:
        return get_host()
    except SandboxError as e:
        fail(f"the sandbox is not usable on this machine: {e}", EXIT_SANDBOX)


def _fmt_limit(value: float, limit: float, unit: str) -> str:
    return (
        f"{value:.3f}/{limit:g} {unit}"
        if unit == "s"
        else f"{value / 1024:.1f}/{limit / 1024:g} MiB"
    )


@app.command()
def check(
    package: Annotated[Path, typer.Argument(help="A package directory or zip (native or Kattis).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    solution: Annotated[
        list[str] | None,
        typer.Option("--solution", "-s", help="Check only this solution (repeatable)."),
    ] = None,
    keep: Annotated[
        Path | None, typer.Option("--keep", help="Keep each solution's result archive files here.")
    ] = None,
) -> None:
    """Evaluate every reference solution of PACKAGE in the sandbox, as the testers will.

    Prints, for every solution and test, the verdict, cpu time, wall time and peak memory against
    the limits. Exits 1 when a solution does not get the verdict it is filed under, 2 when the
    package is malformed, 3 when this machine cannot sandbox.
    """
    host = _host()
    try:
        with open_package(package) as assignment:
            from assay.check import check_package

            total = sum(
                len(assignment.tests) + 1
                for s in assignment.solutions
                if not solution or s.name in solution or s.path.name in solution
            )
            progress = Progress(
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err,
                transient=True,
                disable=not err.is_terminal,
            )
            with progress:
                task = progress.add_task("checking", total=total)

                def tick(what: str) -> None:
                    progress.update(task, advance=1, description=what[:50])

                report = check_package(assignment, host, only=solution, out=keep, tick=tick)
    except PackageError as e:
        fail(f"package {package}: {e}", EXIT_BAD_INPUT)
    except SandboxError as e:
        fail(f"sandbox: {e}", EXIT_SANDBOX)
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        _print_report(report)
    raise typer.Exit(0 if report.ok else EXIT_MISMATCH)


def _print_report(report: Any) -> None:
    limits = report.limits
    out.print(f"[bold]{report.title}[/] ({report.format} package)", highlight=False)
    for note in report.notes:
        out.print(f"note: {note}", highlight=False)
    table = Table(title="tests", show_lines=False)
    for col in ("solution", "test", "verdict", "cpu time", "wall time", "peak memory", "message"):
        table.add_column(col, overflow="fold")
    for s in report.solutions:
        if s.error and not s.tests:
            table.add_row(s.solution.name, "", s.verdict, "", "", "", s.error[:80])
        if s.build and s.build.get("status") not in (None, "OK"):
            table.add_row(s.solution.name, "(build)", "CE", "", "", "", s.build.get("message", ""))
            continue
        for t in s.tests:
            table.add_row(
                s.solution.name,
                t["name"],
                t["verdict"],
                _fmt_limit(t.get("cpu_time_s", 0), limits["cpu_time_s"], "s")
                if "cpu_time_s" in t
                else "",
                f"{t['wall_time_s']:.3f} s" if "wall_time_s" in t else "",
                _fmt_limit(t.get("memory_kib", 0), limits["memory_kib"], "KiB")
                if "memory_kib" in t
                else "",
                (t.get("judge_message") or t.get("message") or "")[:80],
            )
    out.print(table)
    summary = Table(title="reference solutions")
    for col in ("solution", "expected", "got", "points", ""):
        summary.add_column(col)
    for s in report.solutions:
        summary.add_row(
            s.solution.name,
            str(s.solution.expected),
            s.verdict,
            f"{s.points:g}/{s.max_points:g}",
            "[green]ok[/]" if s.ok else f"[red]MISMATCH[/] {s.error}",
        )
    out.print(summary)
    if report.ok:
        out.print("[green]all reference solutions got their verdicts[/]")
    elif report.solutions:
        bad = [s.solution.name for s in report.solutions if not s.ok]
        out.print(f"[red]{len(bad)} solution(s) did not get their verdict:[/] {', '.join(bad)}")


@tester_app.command("run-bundle")
def run_bundle(
    bundle: Annotated[Path, typer.Argument(help="A job bundle zip (archive.zip, tests.zip, ...).")],
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="Directory for result.yaml and the .vmr files.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print result.yaml as JSON.")] = False,
    zip_to: Annotated[
        Path | None, typer.Option("--zip", help="Also write the result archive zip here.")
    ] = None,
) -> None:
    """Evaluate one job bundle in the sandbox and write its result archive to --out."""
    from assay.tester.bundle import BundleError, open_bundle
    from assay.tester.executor import Executor, zip_result

    if not bundle.is_file():
        fail(f"{bundle}: no such file", EXIT_BAD_INPUT)
    host = _host()
    work = Path(tempfile.mkdtemp(prefix="assay-bundle-"))
    try:
        try:
            opened = open_bundle(bundle, work)
        except BundleError as e:
            fail(f"{bundle}: {e}", EXIT_BAD_INPUT)
        evaluation = Executor(host).evaluate(
            opened.spec, opened.files, opened.tests, out_dir,
            scripts=opened.scripts, checker_source=opened.checker_source,
        )  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if zip_to:
        zip_result(out_dir, zip_to)
    doc = evaluation.doc
    if as_json:
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    elif evaluation.failed:
        err.print(f"evaluation failed: {doc.get('error')}")
    else:
        out.print(
            f"{doc['verdict']}  {doc['points']:g}/{doc['max_points']:g} points  -> {out_dir}/result.yaml"
        )
    raise typer.Exit(3 if evaluation.failed else 0)


@app.command("bundle")
def make_bundle(
    package: Annotated[Path, typer.Argument(help="The assignment package (directory or zip).")],
    files: Annotated[list[Path], typer.Argument(help="The submission's files (or one directory).")],
    output: Annotated[Path, typer.Option("--out", "-o", help="Where to write the bundle zip.")],
    job_id: Annotated[
        str, typer.Option(help="The job id written into submission_config.")
    ] = "local",
) -> None:
    """Make a job bundle from a package and a submission (what the storer sends a tester)."""
    from assay.tester.bundle import build_bundle
    from assay.tester.spec import SubmissionError, make_spec, read_files

    submission: dict[str, bytes] = {}
    for f in files:
        if not f.exists():
            fail(f"{f}: no such file", EXIT_BAD_INPUT)
        submission.update(read_files(f))
    try:
        with open_package(package) as assignment:
            spec = make_spec(assignment, submission, job_id=job_id)
            output.write_bytes(build_bundle(assignment, spec, submission))
    except PackageError as e:
        fail(f"package {package}: {e}", EXIT_BAD_INPUT)
    except SubmissionError as e:
        fail(f"submission: {e}", EXIT_BAD_INPUT)
    out.print(f"wrote {output}")


@app.command("sandbox")
def sandbox_info() -> None:
    """Check that this machine can sandbox, and show how (backend, cgroups, box uids)."""
    host = _host()
    from assay.sandbox import Limits

    with host.get_vm() as vm:
        res = vm.run(["/bin/sh", "-c", "echo ok"], Limits(processes=2))
    info = host.describe()
    info["self_test"] = f"{res.status} ({res.wall_time_s * 1000:.1f} ms)"
    out.print(yaml.safe_dump(info, sort_keys=False), end="")
    if not res.ok:
        raise typer.Exit(EXIT_SANDBOX)


def main() -> None:  # pragma: no cover
    app()
