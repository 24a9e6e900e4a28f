"""Similarity detection on a generated corpus with known plagiarism (issue 13, docs/performance.md).

The corpus: ``--students`` C programs of about ``--lines`` lines. The independent ones follow
one of ``--approaches`` common solutions (random functions from a small grammar of statements,
as students who solve the same assignment share an approach), each student writing a share
``--own`` of the simple statements their own way, with their own names, comments and order of
functions; so two independent students of one approach share about a third of their
statements token for token, which makes a hard corpus (real independent work differs more).
``--copies`` of them are copied by another student and disguised by one of four
transformations, or all four at once:

- rename: every identifier of the copy renamed (consistently);
- reorder: the functions in another order;
- dead code: a useless statement inserted every 2 to 6 lines;
- comments: every comment changed, removed or added.

The engine (assay.similarity.engine) compares all of them as the storer does (each pair worth
it, Greedy String Tiling on the candidates); a reported pair at or above ``--threshold`` counts as
found. Prints precision and recall, recall per transformation, the wall time of each stage and
the machine's load.

    uv run python bench/similarity.py                    # 500 programs of 300 lines
    uv run python bench/similarity.py --students 100 --copies 20 --lines 200
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assay.similarity.engine import Document, Options, compare  # noqa: E402

TRANSFORMATIONS = ("rename", "reorder", "dead code", "comments", "all four")
TYPES = ("int", "long", "double", "unsigned")
WORDS = tuple(
    [
        "count",
        "total",
        "sum",
        "value",
        "item",
        "node",
        "left",
        "right",
        "index",
        "key",
        "data",
        "size",
        "len",
        "best",
        "worst",
        "acc",
        "tmp",
        "buf",
        "row",
        "col",
        "cell",
        "step",
        "limit",
        "start",
        "end",
        "mid",
        "lo",
        "hi",
        "pos",
        "cur",
        "prev",
        "next",
        "res",
        "ans",
        "val",
        "num",
        "part",
        "score",
        "weight",
        "cost",
        "dist",
        "flag",
        "seen",
        "mark",
        "level",
        "depth",
        "width",
        "height",
        "base",
        "span",
        "gap",
    ]
)
COMMENTS = (
    "compute the result",
    "loop over the input",
    "helper",
    "check the bounds",
    "TODO: simplify",
    "accumulate",
    "edge case",
    "the main work",
    "update the state",
    "see the statement",
)


class Student:
    """One student's program: a few functions written their own way."""

    def __init__(self, rng: random.Random, lines: int) -> None:
        self.rng = rng
        self.names = rng.sample(WORDS, 30)
        self.suffix = rng.choice(["", "_", "2", "x", "_v"])
        self.functions: list[list[str]] = []
        self.lines = lines

    def name(self) -> str:
        return self.rng.choice(self.names) + self.suffix

    def expr(self, variables: list[str], depth: int = 0) -> str:
        r = self.rng.random()
        if depth > 1 or r < 0.3:
            return (
                self.rng.choice(variables)
                if self.rng.random() < 0.7
                else str(self.rng.randint(0, 99))
            )
        op = self.rng.choice(["+", "-", "*", "/", "%", "<<", "&"])
        if r < 0.45:
            return f"{self.rng.choice(variables)}[{self.expr(variables, depth + 1)}]"
        if r < 0.55 and self.functions:
            return f"f_{self.rng.randrange(len(self.functions))}_{self.names[0]}({self.expr(variables, depth + 1)})"
        return f"({self.expr(variables, depth + 1)} {op} {self.expr(variables, depth + 1)})"

    def block(self, variables: list[str], indent: int, budget: int) -> list[str]:
        pad = "    " * indent
        out: list[str] = []
        while len(out) < budget:
            r = self.rng.random()
            if r < 0.08:
                out.append(f"{pad}/* {self.rng.choice(COMMENTS)} */")
            elif r < 0.3:
                v = self.name()
                variables.append(v)
                out.append(f"{pad}{self.rng.choice(TYPES)} {v} = {self.expr(variables)};")
            elif r < 0.55:
                out.append(
                    f"{pad}{self.rng.choice(variables)} {self.rng.choice(['=', '+=', '-=', '^='])} {self.expr(variables)};"
                )
            elif r < 0.7 and indent < 3:
                i = self.name()
                out.append(
                    f"{pad}for (int {i} = {self.rng.randint(0, 2)}; {i} < {self.expr(variables)}; {i}{self.rng.choice(['++', ' += 2'])}) {{"
                )
                out += self.block([*variables, i], indent + 1, self.rng.randint(2, 6))
                out.append(f"{pad}}}")
            elif r < 0.82 and indent < 3:
                out.append(
                    f"{pad}if ({self.expr(variables)} {self.rng.choice(['<', '>', '==', '!='])} {self.expr(variables)}) {{"
                )
                out += self.block(list(variables), indent + 1, self.rng.randint(1, 4))
                if self.rng.random() < 0.4:
                    out.append(f"{pad}}} else {{")
                    out += self.block(list(variables), indent + 1, self.rng.randint(1, 3))
                out.append(f"{pad}}}")
            elif r < 0.9 and indent < 3:
                out.append(f"{pad}while ({self.rng.choice(variables)} > {self.expr(variables)}) {{")
                out += self.block(list(variables), indent + 1, self.rng.randint(1, 4))
                out.append(f"{pad}    {self.rng.choice(variables)}--;")
                out.append(f"{pad}}}")
            else:
                out.append(f'{pad}printf("%d\\n", {self.expr(variables)});')
        return out

    def program(self) -> str:
        while sum(len(f) for f in self.functions) < self.lines - 20:
            number = len(self.functions)
            params = self.rng.sample(self.names, self.rng.randint(1, 3))
            head = f"{self.rng.choice(TYPES)} f_{number}_{self.names[0]}({', '.join('int ' + p for p in params)}) {{"
            body = self.block(list(params), 1, self.rng.randint(8, 30))
            result = f"    return {self.expr(params)};"
            self.functions.append(
                [f"/* {self.rng.choice(COMMENTS)} */", head, *body, result, "}", ""]
            )
        main = [
            "int main(void) {",
            "    int n, v[1000];",
            '    if (scanf("%d", &n) != 1) return 1;',
            '    for (int i = 0; i < n; i++) scanf("%d", &v[i]);',
            *[
                f'    printf("%d\\n", f_{i}_{self.names[0]}(n));'
                for i in range(len(self.functions))
            ],
            "    return 0;",
            "}",
        ]
        return (
            "\n".join(
                ["#include <stdio.h>", "#include <stdlib.h>", "", *sum(self.functions, []), *main]
            )
            + "\n"
        )


IDENTIFIER = re.compile(r"\b[A-Za-z_][A-Za-z_0-9]*\b")
KEYWORDS = set(["int", "long", "double", "unsigned", "for", "if", "else", "while", "return", "printf", "scanf", "include", "stdio", "stdlib", "h", "main", "void"])  # fmt: skip


def rename(text: str, rng: random.Random) -> str:
    mapping: dict[str, str] = {}

    def swap(m: re.Match[str]) -> str:
        word = m.group(0)
        if word in KEYWORDS:
            return word
        if word not in mapping:
            mapping[word] = f"{rng.choice(WORDS)}_{len(mapping)}"
        return mapping[word]

    # not inside comments or strings: comments are changed by "comments", strings stay
    parts = re.split(r'(/\*.*?\*/|"[^"]*")', text)
    return "".join(p if i % 2 else IDENTIFIER.sub(swap, p) for i, p in enumerate(parts))


def functions_of(text: str) -> tuple[str, list[str], str]:
    """(head, functions, main) of a generated program."""
    head, _, rest = text.partition("\n\n")
    body, _, main = rest.rpartition("int main(void)")
    functions = [f for f in body.split("\n\n") if f.strip()]
    return head, functions, "int main(void)" + main


def reorder(text: str, rng: random.Random) -> str:
    head, functions, main = functions_of(text)
    rng.shuffle(functions)
    return head + "\n\n" + "\n\n".join(functions) + "\n\n" + main


def dead_code(text: str, rng: random.Random) -> str:
    out = []
    lines = text.split("\n")
    gap = rng.randint(2, 6)
    for n, line in enumerate(lines):
        out.append(line)
        if n > 3 and gap == 0 and line.rstrip().endswith(";") and "return" not in line:
            pad = line[: len(line) - len(line.lstrip())]
            out.append(rng.choice([
                f"{pad}int unused{n} = {rng.randint(0, 9)};",
                f"{pad}if (0) {{ printf(\"never\\n\"); }}",
                f"{pad}unused_counter{n % 3}++;",
                f"{pad}(void)0;",
            ]))  # fmt: skip
            gap = rng.randint(2, 6)
        gap = max(gap - 1, 0)
    return "\n".join(out)


def comments(text: str, rng: random.Random) -> str:
    text = re.sub(
        r"/\*.*?\*/", lambda m: rng.choice(["", f"// {rng.choice(COMMENTS)} (mine)"]), text
    )
    return "\n".join(
        line + (f"  // {rng.choice(COMMENTS)}" if line.endswith(";") and rng.random() < 0.2 else "")
        for line in text.split("\n")
    )


def disguise(text: str, how: str, rng: random.Random) -> str:
    steps = {
        "rename": [rename],
        "reorder": [reorder],
        "dead code": [dead_code],
        "comments": [comments],
    }
    for step in steps.get(how, [reorder, dead_code, comments, rename]):
        text = step(text, rng)
    return text


def variant(approach: str, rng: random.Random, own: float) -> str:
    """A student's independent solution along a common approach: each simple statement written
    their own way with probability ``own``, their own names, their own order of functions and
    their own comments."""
    writer = Student(rng, 0)
    lines = []
    for line in approach.split("\n"):
        stripped = line.strip()
        simple = stripped.endswith(";") and not stripped.startswith(("return", "for", "int main"))
        if simple and "    " in line[:4] and rng.random() < own:
            pad = line[: len(line) - len(line.lstrip())]
            variables = IDENTIFIER.findall(stripped)[:3] or ["n"]
            lines += writer.block(variables, len(pad) // 4, 1)[:1]
        else:
            lines.append(line)
    text = "\n".join(lines)
    if rng.random() < 0.5:
        text = reorder(text, rng)
    return rename(comments(text, rng), rng)


def corpus(
    students: int, copies: int, lines: int, seed: int, approaches: int = 5, own: float = 0.7
) -> tuple[list[Document], dict[frozenset[str], str]]:
    """The documents and the plagiarised pairs (with the transformation of each): the
    independent solutions follow one of ``approaches`` common ones (as students who solve the
    same assignment do), each statement written their own way with probability ``own``."""
    rng = random.Random(seed)
    common = [Student(random.Random(seed * 7919 + i), lines).program() for i in range(approaches)]
    originals = [
        variant(common[i % approaches], random.Random(seed * 100_003 + i), own)
        for i in range(students - copies)
    ]
    documents = [Document(f"s{i:03}", [("main.c", text)]) for i, text in enumerate(originals)]
    plagiarised: dict[frozenset[str], str] = {}
    for j, source in enumerate(rng.sample(range(len(originals)), copies)):
        how = TRANSFORMATIONS[j % len(TRANSFORMATIONS)]
        key = f"s{len(documents):03}"
        documents.append(Document(key, [("main.c", disguise(originals[source], how, rng))]))
        plagiarised[frozenset((f"s{source:03}", key))] = how
    rng.shuffle(documents)
    return documents, plagiarised


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=500, help="documents in the corpus")
    parser.add_argument("--copies", type=int, default=50, help="of which plagiarised copies")
    parser.add_argument("--lines", type=int, default=300, help="lines per program (about)")
    parser.add_argument(
        "--threshold", type=float, default=0.5, help="similarity that counts as found"
    )
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--approaches",
        type=int,
        default=5,
        help="common approaches the independent solutions follow",
    )
    parser.add_argument(
        "--own",
        type=float,
        default=0.7,
        help="share of statements each student writes their own way",
    )
    parser.add_argument("--min-match", type=int, default=Options.min_match)
    parser.add_argument("--window", type=int, default=Options.window)
    parser.add_argument("--workers", type=int, default=1, help="processes (engine.Options.workers)")
    parser.add_argument("--save", type=Path, help="write the corpus into this directory")
    args = parser.parse_args()

    started = time.perf_counter()
    documents, plagiarised = corpus(
        args.students, args.copies, args.lines, args.seed, args.approaches, args.own
    )
    generated = time.perf_counter() - started
    if args.save:
        for d in documents:
            (args.save / d.key).mkdir(parents=True, exist_ok=True)
            (args.save / d.key / "main.c").write_text(d.files[0][1])
    line_count = sum(d.files[0][1].count("\n") for d in documents) / len(documents)
    stages: dict[str, float] = {}
    last = [time.perf_counter(), ""]

    def progress(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if last[1] and last[1] != stage:
            stages[last[1]] = now - last[0]
            last[0] = now
        last[1] = stage

    started = time.perf_counter()
    last[0] = started
    report = compare(
        documents,
        options=Options(min_match=args.min_match, window=args.window, workers=args.workers),
        progress=progress,
    )
    wall = time.perf_counter() - started
    stages[str(last[1])] = time.perf_counter() - last[0]

    found = {frozenset((p.a, p.b)) for p in report.pairs if p.similarity >= args.threshold}
    true = found & set(plagiarised)
    precision = len(true) / len(found) if found else 1.0
    recall = len(true) / len(plagiarised) if plagiarised else 1.0
    scores = {frozenset((p.a, p.b)): p.similarity for p in report.pairs}
    print(f"corpus: {len(documents)} programs, {line_count:.0f} lines each on average, "
          f"{len(plagiarised)} plagiarised pairs (generated in {generated:.1f} s)")  # fmt: skip
    print(
        f"options: min_match={args.min_match} window={args.window} workers={args.workers} threshold={args.threshold}"
    )
    print(f"wall time: {wall:.1f} s ({', '.join(f'{k} {v:.1f} s' for k, v in stages.items())}); "
          f"{report.candidates} candidate pairs tiled of {len(documents) * (len(documents) - 1) // 2}")  # fmt: skip
    print(f"precision: {precision:.3f} ({len(true)} of {len(found)} reported pairs)")
    print(f"recall: {recall:.3f} ({len(true)} of {len(plagiarised)} plagiarised pairs)")
    for how in TRANSFORMATIONS:
        pairs = [p for p, h in plagiarised.items() if h == how]
        got = [scores.get(p, 0.0) for p in pairs] or [0.0]
        print(f"  {how:9}: found {sum(p in true for p in pairs)} of {len(pairs)}, similarity "
              f"{min(got):.2f} to {max(got):.2f}")  # fmt: skip
    for threshold in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        at = {frozenset((p.a, p.b)) for p in report.pairs if p.similarity >= threshold}
        hits = len(at & set(plagiarised))
        print(f"  at {threshold:.1f}: precision {hits / len(at) if at else 1.0:.3f}, recall "
              f"{hits / len(plagiarised) if plagiarised else 1.0:.3f} ({len(at)} pairs reported)")  # fmt: skip
    innocent = sorted((s for p, s in scores.items() if p not in plagiarised), reverse=True)
    top = ", ".join(f"{s:.2f}" for s in innocent[:5])
    print(
        f"unrelated pairs reported (from {Options.report_floor}): {len(innocent)}, the most similar {top}"
    )
    print(
        f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} on {os.cpu_count()} cpus"
    )


if __name__ == "__main__":
    main()
