from pathlib import Path

import pytest

from assay.package.model import Assignment, Judge
from assay.package.model import TestCase as Case
from assay.package.model import TestGroup as Group
from assay.package.native import DEFAULT_BUILD_LIMITS, DEFAULT_RUN_LIMITS
from assay.runtimes import (
    RuntimeFileError,
    all_runtimes,
    detect_runtime,
    find_main,
    get_runtime,
    load_runtime_file,
)
from assay.runtimes.verify import verify_runtime
from assay.tester.executor import Evaluation, Executor
from assay.tester.spec import JobSpec, make_spec

RUNTIMES = sorted(all_runtimes())
CORE = ["bash", "c", "cpp", "java", "javascript", "python3", "rust"]


def test_it_detects_the_language_by_extension():
    assert detect_runtime(["a.c", "a.h"]).name == "c"
    assert detect_runtime(["main.cpp", "util.h"]).name == "cpp"
    assert detect_runtime(["x.py"]).name == "python3"
    assert detect_runtime(["Main.java"]).name == "java"
    assert detect_runtime(["a.js"]).name == "javascript"
    assert detect_runtime(["a.rs"]).name == "rust"
    assert detect_runtime(["a.sh"]).name == "bash"


def test_it_explains_an_unknown_or_mixed_language():
    with pytest.raises(KeyError, match="cannot tell the language"):
        detect_runtime(["notes.txt"])
    with pytest.raises(KeyError, match="several languages"):
        detect_runtime(["a.py", "b.java"])


def test_it_finds_the_java_main_class_with_its_package():
    files = {
        "Util.java": b"class Util {}",
        "App.java": b"package org.x;\npublic class App { public static void main(String[] a) {} }",
    }
    assert find_main(get_runtime("java"), files) == "org.x.App"


def test_it_picks_main_py_among_several_files():
    assert find_main(get_runtime("python3"), {"util.py": b"", "main.py": b""}) == "main.py"
    with pytest.raises(KeyError, match="which file to run"):
        find_main(get_runtime("python3"), {"a.py": b"", "b.py": b""})


def test_aliases_resolve():
    assert get_runtime("C++").name == "cpp"
    assert get_runtime("node").name == "javascript"


# -- the Kattis languages: file endings and language codes ---------------------------------------

# every Kattis file ending (problem-package-format appendix/languages.md, and open.kattis.com's
# language pages) of a language assay has, with the runtime it must choose
KATTIS_EXTENSIONS = {
    ".adb": "ada", ".ads": "ada", ".sh": "bash", ".c": "c",
    ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".c++": "cpp", ".C": "cpp",
    ".cs": "csharp", ".d": "d", ".erl": "erlang", ".f90": "fortran", ".f": "fortran",
    ".for": "fortran", ".go": "go", ".hs": "haskell", ".java": "java", ".js": "javascript",
    ".kt": "kotlin", ".lisp": "lisp", ".cl": "lisp", ".lua": "lua", ".ml": "ocaml",
    ".pas": "pascal", ".pm": "perl", ".php": "php", ".pl": "prolog", ".py": "python3",
    ".py3": "python3", ".rb": "ruby", ".rs": "rust", ".scala": "scala", ".sc": "scala",
}  # fmt: skip
# other extensions assay gives the languages Kattis does not have (or spells otherwise)
OTHER_EXTENSIONS = {
    ".r": "r", ".R": "r", ".tcl": "tcl", ".f95": "fortran", ".f03": "fortran", ".f08": "fortran",
    ".bash": "bash", ".mjs": "javascript", ".cjs": "javascript",
}  # fmt: skip


@pytest.mark.parametrize("ext", sorted({**KATTIS_EXTENSIONS, **OTHER_EXTENSIONS}))
def test_every_extension_detects_its_runtime(ext):
    expected = {**KATTIS_EXTENSIONS, **OTHER_EXTENSIONS}[ext]
    assert detect_runtime([f"main{ext}"]).name == expected


def test_a_pl_file_is_prolog_as_on_kattis_and_perl_only_when_named():
    assert detect_runtime(["main.pl"]).name == "prolog"
    assert detect_runtime(["Util.pm"]).name == "perl"
    perl = get_runtime("perl")
    assert perl.is_source("main.pl") and not perl.is_detected_by("main.pl")
    assert find_main(perl, {"main.pl": b"", "Util.pm": b""}) == "main.pl"
    with pytest.raises(KeyError, match="several languages"):
        detect_runtime(["main.pl", "Util.pm"])  # Prolog's .pl with Perl's .pm: name it


def test_pypy3_takes_py_only_when_named():
    assert detect_runtime(["a.py", "b.py"]).name == "python3"
    assert get_runtime("pypy3").is_source("a.py")


# Kattis language codes (and the names people use) -> runtime
KATTIS_CODES = {
    "ada": "ada", "bash": "bash", "c": "c", "cpp": "cpp", "csharp": "csharp", "C#": "csharp",
    "d": "d", "erlang": "erlang", "fortran": "fortran", "go": "go", "haskell": "haskell",
    "java": "java", "javascript": "javascript", "kotlin": "kotlin", "lisp": "lisp",
    "Common Lisp": "lisp", "lua": "lua", "ocaml": "ocaml", "pascal": "pascal", "perl": "perl",
    "php": "php", "prolog": "prolog", "python3": "python3", "ruby": "ruby", "rust": "rust",
    "scala": "scala", "golang": "go", "pypy": "pypy3", "sbcl": "lisp", "fpc": "pascal",
    "gfortran": "fortran", "swipl": "prolog", "ghc": "haskell", "mono": "csharp", "R": "r",
    "Rscript": "r", "tclsh": "tcl", "gnat": "ada", "gdc": "d", "dlang": "d",
}  # fmt: skip


@pytest.mark.parametrize("code", sorted(KATTIS_CODES))
def test_kattis_codes_and_aliases_resolve(code):
    assert get_runtime(code).name == KATTIS_CODES[code]


def test_no_alias_names_two_runtimes():
    seen: dict[str, str] = {}
    for r in all_runtimes().values():
        for key in (r.name, *r.aliases):
            assert seen.setdefault(key.lower(), r.name) == r.name, f"{key!r}: {seen[key.lower()]}"


def test_core_runtimes_are_the_seven_and_share_no_extension():
    runtimes = all_runtimes()
    assert sorted(n for n, r in runtimes.items() if r.core) == CORE
    owner: dict[str, str] = {}
    for r in runtimes.values():
        if r.core:
            for e in r.extensions:
                assert owner.setdefault(e, r.name) == r.name, f"{e}: {owner[e]}"


def test_extensions_are_shared_only_where_a_core_runtime_or_undetected_decides():
    """Two runtimes that take one extension: detection still picks exactly one (python3 over
    pypy3 as the core one, Prolog over Perl as Perl leaves .pl undetected)."""
    claims: dict[str, list[str]] = {}
    for r in all_runtimes().values():
        for e in r.extensions:
            if e not in r.undetected:
                claims.setdefault(e, []).append(r.name)
    for ext, names in claims.items():
        if len(names) > 1:
            assert ext in (".py", ".py3"), (ext, names)
    for ext in claims:
        detect_runtime([f"x{ext}"])  # never "several languages"


def test_every_definition_is_complete():
    for name, r in all_runtimes().items():
        assert r.debian, f"{name}: no Debian packages"
        assert r.core == (name in CORE)
        assert r.hello.source.strip() and r.is_source(r.hello.file), name
        assert all(e == e.lower() or e == ".C" for e in r.extensions), name


def test_setup_sh_reads_every_debian_key_on_one_line():
    # setup.sh --all-runtimes takes `debian: [a, b]` from each file with sed
    for path in sorted(Path(__file__).parent.parent.joinpath("assay/runtimes/defs").glob("*.yaml")):
        lines = [ln for ln in path.read_text().splitlines() if ln.startswith("debian:")]
        assert len(lines) == 1 and lines[0].rstrip().endswith("]"), path.name
        listed = [p.strip() for p in lines[0].split("[", 1)[1].rstrip("] ").split(",")]
        assert listed == list(load_runtime_file(path).debian), path.name


# -- malformed definitions -------------------------------------------------------------------------

GOOD = """\
name: toy
title: Toy
extensions: [.toy]
debian: [coreutils]
version: echo toy 1
run: cat {main}
hello:
  file: hello.toy
  source: Hello, World!
"""


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (GOOD.replace("extensions: [.toy]", "extensions: [toy]"), "extensions"),
        (GOOD.replace("version: echo toy 1\n", ""), "version"),
        (GOOD.replace("run: cat {main}", "run: cat {main}\nrunn: x"), "runn"),
        (GOOD.replace("name: toy", "name: Toy"), "name"),
        (GOOD.replace("name: toy", "name: other"), "name"),
        (GOOD + "extra_processes: -1\n", "extra_processes"),
        (GOOD + "entry: class\n", "entry"),
        (GOOD + "undetected: [.pl]\n", "undetected"),
        (GOOD + "system_paths: [var/lib]\n", "system_paths"),
        (GOOD.replace("  file: hello.toy\n", ""), "hello.file"),
    ],
)
def test_a_malformed_definition_names_the_file_and_the_key(tmp_path, monkeypatch, text, key):
    (tmp_path / "toy.yaml").write_text(text)
    # a new directory: a fresh load (all_runtimes is cached by its directories)
    monkeypatch.setenv("ASSAY_RUNTIMES_DIR", str(tmp_path))
    with pytest.raises(RuntimeFileError, match=rf"toy\.yaml: {key}\b"):
        all_runtimes()


def test_a_definition_that_is_not_yaml_names_the_file(tmp_path, monkeypatch):
    (tmp_path / "toy.yaml").write_text("name: [unclosed\n")
    monkeypatch.setenv("ASSAY_RUNTIMES_DIR", str(tmp_path))
    with pytest.raises(RuntimeFileError, match=r"toy\.yaml: cannot read"):
        all_runtimes()


def test_a_directory_of_definitions_adds_and_overrides_runtimes(tmp_path, monkeypatch):
    (tmp_path / "toy.yaml").write_text(GOOD)
    monkeypatch.setenv("ASSAY_RUNTIMES_DIR", str(tmp_path))
    assert get_runtime("toy").run == "cat {main}"
    assert detect_runtime(["a.toy"]).name == "toy"
    assert "kotlin" in all_runtimes()


# -- every runtime in the real sandbox ---------------------------------------------------------------


@pytest.mark.parametrize("name", RUNTIMES)
def test_the_runtime_works_in_the_sandbox(host, name):
    """CI installs every runtime (./setup.sh --all-runtimes): none may fail, none is skipped."""
    status = verify_runtime(host, get_runtime(name))
    assert status.ok, f"{name}: {status.message} (version: {status.version})"
    assert status.version


# A program per runtime that reads integers, one a line, from stdin and prints their sum: the
# run's stdin works, and a real program (not only a hello-world) builds and runs within the
# run limits a package would give (1 s of cpu, 256 MiB + the runtime's extra memory, 1 process +
# the runtime's extra processes).
SUM = {
    "ada": ("sum.adb", """\
with Ada.Text_IO; use Ada.Text_IO;
with Ada.Integer_Text_IO; use Ada.Integer_Text_IO;
procedure Sum is
   X, S : Integer := 0;
begin
   while not End_Of_File loop
      Get (X);
      S := S + X;
   end loop;
   Put (S, Width => 0);
   New_Line;
end Sum;
"""),
    "bash": ("sum.sh", """\
s=0
while read -r x; do s=$((s + x)); done
echo "$s"
"""),
    "c": ("sum.c", """\
#include <stdio.h>
int main(void) { long x, s = 0; while (scanf("%ld", &x) == 1) s += x; printf("%ld\\n", s); }
"""),
    "cpp": ("sum.cpp", """\
#include <iostream>
int main() { long x, s = 0; while (std::cin >> x) s += x; std::cout << s << "\\n"; }
"""),
    "csharp": ("Sum.cs", """\
using System;
class Sum {
    static void Main() {
        long s = 0;
        string line;
        while ((line = Console.ReadLine()) != null) s += long.Parse(line);
        Console.WriteLine(s);
    }
}
"""),
    "d": ("sum.d", """\
import std.stdio, std.conv, std.string;
void main() { long s = 0; foreach (line; stdin.byLine) s += line.strip.to!long; writeln(s); }
"""),
    "erlang": ("sum.erl", """\
-module(sum).
-export([start/0]).
start() -> io:format("~b~n", [loop(0)]).
loop(S) -> case io:fread("", "~d") of {ok, [X]} -> loop(S + X); eof -> S end.
"""),
    "fortran": ("sum.f90", """\
program sum
  integer :: x, s, ios
  s = 0
  do
    read (*, *, iostat=ios) x
    if (ios /= 0) exit
    s = s + x
  end do
  print '(i0)', s
end program sum
"""),
    "go": ("sum.go", """\
package main

import "fmt"

func main() {
	s, x := 0, 0
	for {
		if _, err := fmt.Scan(&x); err != nil {
			break
		}
		s += x
	}
	fmt.Println(s)
}
"""),
    "haskell": ("Sum.hs", """\
main :: IO ()
main = interact $ \\s -> show (sum (map read (lines s)) :: Integer) ++ "\\n"
"""),
    "java": ("Sum.java", """\
import java.util.Scanner;
public class Sum {
    public static void main(String[] args) {
        Scanner in = new Scanner(System.in);
        long s = 0;
        while (in.hasNextLong()) s += in.nextLong();
        System.out.println(s);
    }
}
"""),
    "javascript": ("sum.js", """\
const s = require("fs").readFileSync(0, "utf8").split(/\\s+/).filter(Boolean)
  .reduce((a, x) => a + Number(x), 0);
console.log(s);
"""),
    "kotlin": ("sum.kt", """\
fun main() {
    var s = 0L
    while (true) { val line = readLine() ?: break; s += line.trim().toLong() }
    println(s)
}
"""),
    "lisp": ("sum.lisp", """\
(let ((s 0))
  (loop for x = (read *standard-input* nil nil) while x do (incf s x))
  (format t "~a~%" s))
"""),
    "lua": ("sum.lua", """\
local s = 0
for line in io.lines() do s = s + tonumber(line) end
print(s)
"""),
    "ocaml": ("sum.ml", """\
let () =
  let s = ref 0 in
  (try while true do Scanf.scanf " %d" (fun x -> s := !s + x) done with _ -> ());
  Printf.printf "%d\\n" !s
"""),
    "pascal": ("sum.pas", """\
program Sum;
var x, s: Int64;
begin
  s := 0;
  while not SeekEof do begin read(x); s := s + x; end;
  writeln(s);
end.
"""),
    "perl": ("sum.pl", """\
my $s = 0;
while (my $line = <STDIN>) { $s += $line; }
print "$s\\n";
"""),
    "php": ("sum.php", """\
<?php
$s = 0;
while (($line = fgets(STDIN)) !== false) $s += (int) $line;
echo $s, "\\n";
"""),
    "prolog": ("sum.pl", """\
main :-
    read_string(user_input, _, Text),
    split_string(Text, "\\n", " \\r", Parts),
    exclude(==(""), Parts, Lines),
    maplist(number_string, Numbers, Lines),
    sum_list(Numbers, S),
    format("~d~n", [S]).
"""),
    "pypy3": ("sum.py", "import sys\nprint(sum(int(x) for x in sys.stdin.read().split()))\n"),
    "python3": ("sum.py", "import sys\nprint(sum(int(x) for x in sys.stdin.read().split()))\n"),
    "r": ("sum.R", """\
x <- scan(file("stdin"), quiet = TRUE)
cat(sum(x), "\\n", sep = "")
"""),
    "ruby": ("sum.rb", "puts STDIN.read.split.map(&:to_i).sum\n"),
    "rust": ("sum.rs", """\
use std::io::Read;
fn main() {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).unwrap();
    let s: i64 = text.split_whitespace().map(|x| x.parse::<i64>().unwrap()).sum();
    println!("{}", s);
}
"""),
    "scala": ("Sum.scala", """\
object Sum {
  def main(args: Array[String]): Unit =
    println(scala.io.Source.stdin.getLines().map(_.trim.toLong).sum)
}
"""),
    "tcl": ("sum.tcl", """\
set s 0
while {[gets stdin line] >= 0} { incr s $line }
puts $s
"""),
}  # fmt: skip
SUM_INPUT = b"1\n2\n3\n4\n5\n-7\n100\n"
SUM_OUTPUT = "108"


def test_every_runtime_has_a_stdin_program():
    assert sorted(SUM) == RUNTIMES


def _evaluate_one_test(
    host, tmp_path: Path, language: str, files: dict[str, bytes], stdin: bytes, answer: str
) -> tuple[Evaluation, JobSpec]:
    """Evaluate ``files`` in ``language`` on one test, with the limits a package would give."""
    (tmp_path / "in").write_bytes(stdin)
    (tmp_path / "ans").write_text(answer)
    test = Case(name="sum", input=tmp_path / "in", answer=tmp_path / "ans")
    assignment = Assignment(
        root=tmp_path, title="sum", runtime=None, limits=DEFAULT_RUN_LIMITS,
        build_limits=DEFAULT_BUILD_LIMITS, judge=Judge(kind="tokens"), tests=[test],
        groups=[Group("all", 1.0, "all", ["sum"])], points=1.0,
    )  # fmt: skip
    spec = make_spec(assignment, files, language=language)
    return Executor(host).evaluate(spec, files, {"sum": test}, tmp_path / "result"), spec


@pytest.mark.parametrize("name", RUNTIMES)
def test_a_submission_in_every_runtime_is_judged_through_the_executor(host, tmp_path, name):
    """The real path: the job spec's limits (the runtime's extras added), the executor's build
    and run, the judge; 1 s cpu and 256 MiB as a package would give."""
    file, source = SUM[name]
    files = {file: source.encode()}
    ev, _ = _evaluate_one_test(host, tmp_path, name, files, SUM_INPUT, SUM_OUTPUT + "\n")
    assert not ev.failed, ev.doc.get("error")
    build_err = (tmp_path / "result" / "build_stderr.vmr").read_text(errors="replace")
    assert ev.doc["build"]["status"] == "OK", build_err[-2000:]
    (result,) = ev.doc["tests"]
    err = (tmp_path / "result" / "sum" / "run_stderr.vmr").read_text(errors="replace")
    assert result["verdict"] == "AC", (result, err[-2000:])


# The Python runtimes compile with compile() alone and fall back to py_compile for a file that
# does not compile: the student sees py_compile's own message, as before.
NOT_PYTHON = {
    "a syntax error": b'print("Hello"\n',
    "an indentation error": b"if True:\nprint(1)\n",
    "a null byte": b"print(1)\x00\n",
    "a wrong encoding": b"# -*- coding: ascii -*-\nprint('\xe9')\n",
    "not UTF-8": b"print('\xff')\n",
}


@pytest.mark.parametrize("name", ["python3", "pypy3"])
@pytest.mark.parametrize("what", sorted(NOT_PYTHON))
def test_a_python_file_that_does_not_compile_is_a_compile_error_with_py_compile_s_message(
    host, tmp_path, name, what
):
    files = {"main.py": NOT_PYTHON[what], "other.py": b"x = 1\n"}
    ev, spec = _evaluate_one_test(host, tmp_path, name, files, b"", "\n")
    assert ev.verdict == "CE", ev.doc
    assert ev.doc["build"]["exit_code"] == 1
    message = (tmp_path / "result" / "build_stderr.vmr").read_bytes()
    # what py_compile alone says of the same files, in a box of its own
    with host.get_vm() as vm:
        for file, data in files.items():
            vm.write_file(file, data)
        (tmp_path / "old").mkdir()
        res = vm.run(
            ["/bin/sh", "-c", f"{name} -m py_compile main.py other.py"], spec.build_limits,
            stdout=tmp_path / "old" / "out", stderr=tmp_path / "old" / "err",
        )  # fmt: skip
    assert res.exit_code == 1
    assert message == (tmp_path / "old" / "err").read_bytes()
    assert message.strip()
