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

from assay.image_cli import image_app
from assay.lti_cli import lti_app
from assay.package import PackageError, open_package
from assay.sandbox import SandboxError, get_host

app = typer.Typer(
    help="assay evaluates students' programming assignments in a sandbox.",
    no_args_is_help=True,
    add_completion=False,
)
tester_app = typer.Typer(help="Tester commands: evaluate job bundles.", no_args_is_help=True)
app.add_typer(tester_app, name="tester")
app.add_typer(image_app, name="image")
app.add_typer(lti_app, name="lti")

out = Console(width=None if sys.stdout.isatty() else 150)
err = Console(stderr=True)

EXIT_MISMATCH = 1  # a reference solution did not get its verdict
EXIT_BAD_INPUT = 2  # a malformed package, bundle or argument
EXIT_SANDBOX = 3  # the machine cannot sandbox


def fail(message: str, code: int) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def _host(backend: str | None = None) -> Any:
    try:
        return get_host(backend)
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
        limits = s.limits or report.limits
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


@tester_app.command("watch")
def tester_watch(
    spool: Annotated[
        Path,
        typer.Argument(
            metavar="DIR", help="The spool directory: one DIR/<course>/queue/ per course."
        ),
    ],
    name: Annotated[
        str | None, typer.Option(help="This tester's name in result.yaml (default: host name).")
    ] = None,
    send_results: Annotated[
        str | None,
        typer.Option(
            help="Send each result archive to the storer by SFTP: sftp://USER@HOST[:PORT]/DIR "
            "(the storer's incoming directory); with --key."
        ),
    ] = None,
    key: Annotated[
        Path | None,
        typer.Option(
            help="The private key for --send-results: key 2 of `assay tester ssh-keys`; "
            "{course} in the path is the course's name (one key per course)."
        ),
    ] = None,
    known_hosts: Annotated[
        Path | None,
        typer.Option(
            help="known_hosts file with the storer's host key (default: ~/.ssh/known_hosts)."
        ),
    ] = None,
) -> None:
    """Evaluate the job bundles dropped into a spool directory (the seed's Queue Manager).

    Watches DIR/<course>/queue/ of every course with inotify and takes each complete NAME_bundle.zip (written under another name, then renamed; other names are ignored).

    Evaluates it in the sandbox as `assay worker` does and writes the result archive DIR/<course>/results/NAME_result.zip atomically (with --send-results, pushes it to the storer and removes it).

    A bundle that is not one (not a zip, a zip bomb, a path leaving the archive) goes to DIR/<course>/failed/ with NAME_error.txt, and a failed result is written.

    The bundles of a watcher that was killed are taken again; each is evaluated once. Several watchers may share one DIR. Stops on SIGTERM after the job in hand.
    """
    import logging

    from assay.tester import spool as spool_mod

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    _host()  # fail now, with the reason, if this machine cannot sandbox
    after = None
    if send_results:
        from assay.tester.sftp import ResultSender, SftpError

        try:
            if key is None:
                raise SftpError("--send-results needs --key (key 2 of `assay tester ssh-keys`)")
            after = ResultSender(send_results, key, known_hosts)
        except SftpError as e:
            fail(str(e), EXIT_BAD_INPUT)
    err.print(f"assay tester: watching {spool}/<course>/queue/ (stop with Ctrl-C or SIGTERM)")
    spool_mod.watch(
        spool,
        tester_name=name,
        after_result=after,
        report=lambda line: err.print(line, highlight=False),
    )


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
def sandbox_info(
    backend: Annotated[
        str | None,
        typer.Option(
            "--backend",
            help="auto (default: the C launcher for a root tester, else bwrap), launcher or "
            "bwrap. Also ASSAY_SANDBOX_BACKEND.",
        ),
    ] = None,
) -> None:
    """Check that this machine can sandbox, and show how: the backend, its seccomp filter,
    cgroups (and whether they favour dynamic modifications), the network, the box uids."""
    host = _host(backend)
    from assay.sandbox import Limits

    with host.get_vm() as vm:
        res = vm.run(["/bin/sh", "-c", "echo ok"], Limits(processes=2))
    info = host.describe()
    info["self_test"] = f"{res.status} ({res.wall_time_s * 1000:.1f} ms)"
    out.print(yaml.safe_dump(info, sort_keys=False), end="")
    if not res.ok:
        raise typer.Exit(EXIT_SANDBOX)


@app.command("runtimes")
def runtimes_info(
    names: Annotated[
        list[str] | None, typer.Argument(help="Runtimes to verify (default: all).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Verify again, ignoring earlier successes.")
    ] = False,
    image: Annotated[
        str | None, typer.Option(help="Verify inside this course image (`assay image list`).")
    ] = None,
) -> None:
    """Every runtime (language) with its version as the sandbox sees it, and whether a
    hello-world builds and runs there. Exit 1 if a named runtime (or, with no names, any core
    runtime, on the host's system) does not work."""
    from assay.runtimes import RuntimeFileError, all_runtimes, get_runtime
    from assay.runtimes.verify import verify_runtimes

    try:
        chosen = [get_runtime(n).name for n in names] if names else list(all_runtimes())
    except (KeyError, RuntimeFileError) as e:
        fail(str(e.args[0]), EXIT_BAD_INPUT)
    host = _host()
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err, transient=True, disable=as_json or not err.is_terminal,
    ) as progress:  # fmt: skip
        task = progress.add_task("verifying runtimes", total=len(chosen))
        try:
            results = verify_runtimes(
                host, chosen, use_cache=not fresh, image=image,
                tick=lambda s: progress.update(task, advance=1, description=s.name),
            )  # fmt: skip
        except SandboxError as e:
            fail(str(e), EXIT_BAD_INPUT)
    runtimes = all_runtimes()
    if as_json:
        rows = [
            {**s.to_dict(), "extensions": list(runtimes[s.name].extensions),
             "aliases": list(runtimes[s.name].aliases), "core": runtimes[s.name].core}
            for s in results
        ]  # fmt: skip
        out.print_json(json.dumps(rows))
    else:
        table = Table("runtime", "title", "extensions", "version", "hello-world", box=None)
        for s in results:
            r = runtimes[s.name]
            state = "[green]ok[/]" if s.ok else f"[red]no[/]: {s.message}"
            table.add_row(s.name, r.title, " ".join(r.extensions), s.version, state)
        out.print(table)
        working = sum(s.ok for s in results)
        out.print(f"{working} of {len(results)} runtimes work in the sandbox")
    must = [s for s in results if not s.ok and (names or (runtimes[s.name].core and not image))]
    if must:
        raise typer.Exit(EXIT_MISMATCH)


def main() -> None:  # pragma: no cover
    app()


# the options `assay demo` and `assay serve` share
HostOption = Annotated[str, typer.Option(help="Address to listen on.")]
PortOption = Annotated[int, typer.Option(help="Port to listen on.")]
CertOption = Annotated[Path | None, typer.Option(help="Serve HTTPS with this certificate (PEM).")]
KeyOption = Annotated[Path | None, typer.Option(help="The certificate's private key (PEM).")]
DATA_DIR_OPTION = typer.Option(
    "--data-dir", "-d", help="Where the database, files and queues live.", envvar="ASSAY_DATA_DIR"
)


def _run_storer(
    data_dir: Path, host: str, port: int, testers: int, demo: bool,
    certfile: Path | None = None, keyfile: Path | None = None,
) -> None:  # fmt: skip
    from assay.storer import serve

    data_dir = data_dir.resolve()
    serve.setup_django(data_dir, demo=demo)
    logins = serve.create_demo(data_dir) if demo else []

    def banner(url: str, resent: int) -> None:
        out.print(
            f"[bold]assay storer[/] at [link={url}]{url}[/]  (data: {data_dir}, testers: {testers})"
        )
        out.print(
            f"API: {url}/api/docs   OpenAPI schema: {url}/api/openapi.json   admin: {url}/admin/"
        )
        if resent:
            out.print(f"sent again {resent} job(s) left unfinished by the previous run")
        if logins:
            table = Table(title="demo logins")
            for col in ("user", "password", "role", "API token"):
                table.add_column(col, overflow="fold")
            for login in logins:
                table.add_row(login.username, login.password, login.role, login.token)
            out.print(table)
            alice = next(lg for lg in logins if lg.username == "alice")
            out.print(
                "try: uv run assay submit demo/sum-c examples/sum-c/solutions/accepted/sum.c "
                f"--url {url} --token {alice.token} --wait"
            )
        out.print("stop with Ctrl+C")

    serve.Supervisor(data_dir, host, port, testers, certfile, keyfile).serve(banner)


@app.command()
def demo(
    data_dir: Annotated[Path, DATA_DIR_OPTION] = Path("var"),
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    testers: Annotated[int, typer.Option(help="Tester processes to start on this machine.")] = 2,
    certfile: CertOption = None,
    keyfile: KeyOption = None,
) -> None:
    """Run the embedded default with demo data: a course, users (printed with passwords and API
    tokens) and the example assignments. A second run reuses what exists."""
    _run_storer(data_dir, host, port, testers, True, certfile, keyfile)


@app.command()
def serve(
    data_dir: Annotated[Path, DATA_DIR_OPTION] = Path("var"),
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    testers: Annotated[
        int, typer.Option(help="Tester processes to start on this machine (0: none).")
    ] = 2,
    certfile: CertOption = None,
    keyfile: KeyOption = None,
) -> None:
    """Run the storer and its testers on this machine (settings: ASSAY_* environment variables)."""
    _run_storer(data_dir, host, port, testers, False, certfile, keyfile)


@app.command()
def worker(
    url: Annotated[str, typer.Option(help="The storer's URL.", envvar="ASSAY_STORER_URL")],
    token: Annotated[
        str, typer.Option(help="This tester's credential.", envvar="ASSAY_TESTER_TOKEN")
    ],
    broker_url: Annotated[
        str, typer.Option("--broker", help="The broker's URL.", envvar="ASSAY_BROKER_URL")
    ],
    name: Annotated[
        str | None, typer.Option(help="This tester's name (default: the host name).")
    ] = None,
    slots: Annotated[int, typer.Option(help="Jobs evaluated at once.")] = 1,
    runtimes: Annotated[
        str, typer.Option(help="Comma-separated runtimes offered (default: all).")
    ] = "",
    pool: Annotated[str, typer.Option(help="The pool of testers this one belongs to.")] = "default",
    ca_file: Annotated[
        Path | None, typer.Option(help="CA certificate to trust for an HTTPS storer.")
    ] = None,
    images: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated course images offered (default: every image on this "
            "machine, `assay image list`; '' for none)."
        ),
    ] = None,
) -> None:
    """Run a tester: take jobs from the broker, evaluate them in the sandbox, report to the storer."""
    from assay.tester.worker import StorerRefused, start_worker

    try:
        start_worker(
            url, token, broker_url, name=name, slots=slots, pool=pool,
            runtimes=[r.strip() for r in runtimes.split(",") if r.strip()],
            verify=str(ca_file) if ca_file else True,
            images=None if images is None else [i.strip() for i in images.split(",") if i.strip()],
        )  # fmt: skip
    except SandboxError as e:
        fail(f"the sandbox is not usable on this machine: {e}", EXIT_SANDBOX)
    except StorerRefused as e:
        fail(f"the storer refused this tester ({e}); check --token", EXIT_BAD_INPUT)
    except ValueError as e:
        fail(str(e), EXIT_BAD_INPUT)
    except OSError as e:
        fail(f"cannot reach the storer at {url}: {e}", EXIT_BAD_INPUT)


@app.command()
def submit(
    assignment: Annotated[str, typer.Argument(help="The assignment: its id, or COURSE/SLUG.")],
    files: Annotated[list[Path], typer.Argument(help="The files to submit (or one .zip).")],
    url: Annotated[
        str, typer.Option(help="The storer's URL.", envvar="ASSAY_URL")
    ] = "http://127.0.0.1:8000",
    token: Annotated[str, typer.Option(help="Your API token.", envvar="ASSAY_TOKEN")] = "",
    for_user: Annotated[
        str | None, typer.Option("--for", help="Submit for this student (supervisors).")
    ] = None,
    language: Annotated[
        str | None,
        typer.Option(help="The language (runtime name or Kattis code); default: by extension."),
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for the result and print it.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the submission as JSON.")] = False,
) -> None:
    """Submit files to an assignment through the REST API; --wait shows the evaluation's progress
    and ends with a table of per-test results."""
    import httpx

    from assay.client import ApiError, Client

    if not token:
        fail("no API token: pass --token or set ASSAY_TOKEN", EXIT_BAD_INPUT)
    for f in files:
        if not f.is_file():
            fail(f"{f}: no such file", EXIT_BAD_INPUT)
    client = Client(url, token)
    try:
        assignment_id = client.resolve_assignment(assignment)
        doc = client.submit(assignment_id, files, for_user, language)
        if wait:
            with err.status("submitted", spinner="dots") as status:

                def update(d: dict[str, Any]) -> None:
                    status.update(f"submission {d['id']}: {d['status']}{_where(d)}")

                doc = client.wait(doc["id"], update)
    except ApiError as e:
        fail(f"{e} ({e.status} {e.code})", EXIT_BAD_INPUT)
    except httpx.HTTPError as e:
        fail(f"cannot reach the storer at {url}: {e}", EXIT_BAD_INPUT)
    if as_json:
        sys.stdout.write(json.dumps(doc, indent=2, default=str) + "\n")
    else:
        _print_submission(doc)
    raise typer.Exit(3 if doc["status"] == "failed" else 0)


def _where(doc: dict[str, Any]) -> str:
    """How far a waiting submission is: its place in the queue, or the test that runs."""
    if doc.get("queue_position"):
        return f", position {doc['queue_position']} in the queue"
    progress = doc.get("progress")
    if progress and progress["tests_done"] < progress["tests_total"]:
        return f", test {progress['tests_done'] + 1} of {progress['tests_total']}"
    return ""


def _print_submission(doc: dict[str, Any]) -> None:
    by = f" by {doc['submitted_by']} for {doc['author']}" if doc.get("cross_submitted") else ""
    out.print(f"submission {doc['id']}{by}: [bold]{doc['status']}[/]", highlight=False)
    if doc.get("error"):
        out.print(f"error: {doc['error']}", highlight=False)
    build = doc.get("build") or {}
    if build.get("stderr"):
        out.print("build output:\n" + build["stderr"], highlight=False)
    if doc.get("tests"):
        limits = doc.get("limits") or {}
        table = Table()
        for col in ("test", "verdict", "cpu time", "peak memory", "message"):
            table.add_column(col)
        for t in doc["tests"]:
            cpu = (
                _fmt_limit(t["cpu_time_s"], limits.get("cpu_time_s", 0), "s")
                if t.get("cpu_time_s") is not None
                else ""
            )
            mem = (
                _fmt_limit(t["memory_kib"], limits.get("memory_kib", 0), "KiB")
                if t.get("memory_kib") is not None
                else ""
            )
            table.add_row(
                t["name"],
                t["verdict"],
                cpu,
                mem,
                (t.get("judge_message") or t.get("message") or "")[:60],
            )
        out.print(table)
    if len(doc.get("groups") or []) > 1:
        for g in doc["groups"]:
            out.print(
                f"group {g['name']}: {g['points']:g}/{g['max_points']:g} points", highlight=False
            )
    if doc.get("verdict"):
        out.print(
            f"verdict {doc['verdict']}, {doc['points']:g}/{doc['max_points']:g} points",
            highlight=False,
        )


@tester_app.command("register")
def tester_register(
    name: Annotated[str, typer.Argument(help="The tester's name.")],
    data_dir: Annotated[Path, DATA_DIR_OPTION] = Path("var"),
    runtimes: Annotated[
        str, typer.Option(help="Comma-separated runtimes it offers (default: all).")
    ] = "",
    pool: Annotated[str, typer.Option(help="Its pool.")] = "default",
) -> None:
    """(On the storer) register a tester, or rotate its credential; prints the new credential."""
    from assay.storer import serve as storer

    storer.setup_django(data_dir.resolve())
    from assay.storer.evaluation.models import Tester

    _, token = Tester.register(name, pool=pool, runtimes=[r for r in runtimes.split(",") if r])
    out.print(token)


@tester_app.command("revoke")
def tester_revoke(
    name: Annotated[str, typer.Argument(help="The tester's name.")],
    data_dir: Annotated[Path, DATA_DIR_OPTION] = Path("var"),
) -> None:
    """(On the storer) revoke a tester's credential at once."""
    from assay.storer import serve as storer

    storer.setup_django(data_dir.resolve())
    from assay.storer.evaluation.models import Tester

    if not Tester.objects.filter(name=name).update(revoked=True):
        fail(f"no tester named {name!r}", EXIT_BAD_INPUT)
    out.print(f"revoked {name}")


@tester_app.command("ssh-keys")
def tester_ssh_keys(
    course: Annotated[str, typer.Argument(help="The course's name (its slug on the storer).")],
    keys_dir: Annotated[
        Path, typer.Option("--dir", help="Where to keep the keys: DIR/<course>/ (made 0700).")
    ] = Path("var/ssh"),
    queue: Annotated[
        str,
        typer.Option(
            help="The tester's queue directory for this course, as the receiving account sees "
            "it (inside its chroot; COURSE is replaced by the course's name)."
        ),
    ] = "/queue",
    incoming: Annotated[
        str,
        typer.Option(
            help="The storer's incoming directory for result archives, as the receiving "
            "account sees it (inside its chroot)."
        ),
    ] = "/incoming",
) -> None:
    """Make the two SSH key pairs of a course's SSH transport and print their authorized_keys lines.

    Key 1 (DIR/<course>/storer_to_tester) is the storer's: it pushes bundles into the tester's queue. Key 2 (DIR/<course>/tester_to_storer) is the tester's: it pushes result archives into the storer's incoming directory. Existing keys are kept.

    Each printed line goes into the authorized_keys of the receiving account; it allows SFTP only (restrict, a forced internal-sftp), starting in that one directory, with the requests a push needs and no others. Any other key is refused. docs/deploy.md has the rest (a chroot, the course's transport setting, the watchers).
    """
    from assay.tester import sshkeys

    queue = queue.replace("COURSE", course)
    try:
        key1, key2 = sshkeys.generate(course, keys_dir)
        line1 = sshkeys.authorized_line(key1.with_suffix(".pub"), queue)
        line2 = sshkeys.authorized_line(key2.with_suffix(".pub"), incoming)
    except sshkeys.SshKeysError as e:
        fail(str(e), EXIT_BAD_INPUT)
    err.print(
        f"key 1 (storer -> tester, bundles): {key1}  [copy it to the storer]", highlight=False
    )
    err.print(
        f"key 2 (tester -> storer, results): {key2}  [copy it to the tester]", highlight=False
    )
    err.print(
        "# on the tester, in the receiving account's ~/.ssh/authorized_keys:", highlight=False
    )
    print(line1)
    err.print(
        "# on the storer, in the receiving account's ~/.ssh/authorized_keys:", highlight=False
    )
    print(line2)


@tester_app.command("incoming")
def tester_incoming(
    directory: Annotated[
        Path,
        typer.Argument(
            metavar="DIR", help="The storer's incoming root: one DIR/<course>/incoming/ per course."
        ),
    ],
    data_dir: Annotated[Path, DATA_DIR_OPTION] = Path("var"),
    once: Annotated[bool, typer.Option("--once", help="Ingest what is there, then stop.")] = False,
) -> None:
    """(On the storer) ingest the result archives spool testers push over SSH.

    Watches each course's DIR/<course>/incoming/ (inotify) for JOB-ATTEMPT_result.zip renamed into it and ingests each as the HTTP tester API does (scores, points, the student's page). A result counts only for a job of the course whose directory it came into (each course's key 2 reaches only its own). Ingested archives move to DIR/<course>/done/ (beside incoming/, out of the course key's reach); one not waited for (a stale attempt, an unknown job, another course's job, a malformed archive) moves to DIR/<course>/rejected/ with NAME.error.txt. Stops on SIGTERM.
    """
    import logging
    import signal

    from assay.storer import serve as storer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    storer.setup_django(data_dir.resolve())
    from assay.storer.evaluation import ssh

    directory.mkdir(parents=True, exist_ok=True)
    if once:
        out.print(ssh.ingest_incoming(directory))
        return
    stopping: list[bool] = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    err.print(f"assay: ingesting result archives from {directory}", highlight=False)
    ssh.watch_incoming(directory, stop=lambda: bool(stopping))
