"""Built-in judges: compare a program's output with the expected answer.

Custom checkers and interactive validators run in the sandbox (see executor.py); they use the
Kattis output validator interface: ``checker INPUT ANSWER FEEDBACK_DIR [flags] < output``,
exit code 42 = accepted, 43 = wrong answer, optional ``score.txt`` (a fraction 0..1) and
``judgemessage.txt`` in the feedback directory.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from assay.package.model import Judge, Verdict

WHITESPACE = re.compile(rb"\s+")
MAX_SHOWN = 40  # characters of a token shown in a message


@dataclass
class JudgeResult:
    verdict: Verdict
    score: float = 0.0
    message: str = ""


def accepted(message: str = "") -> JudgeResult:
    return JudgeResult(Verdict.AC, 1.0, message)


def wrong(message: str) -> JudgeResult:
    return JudgeResult(Verdict.WA, 0.0, message)


def _show(token: bytes | None) -> str:
    if token is None:
        return "end of output"
    text = token.decode(errors="replace")
    return repr(text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "…")


def judge_output(judge: Judge, expected: bytes, output: bytes) -> JudgeResult:
    if judge.kind == "exact":
        return judge_exact(expected, output)
    if judge.kind == "lines_unordered":
        return judge_lines_unordered(expected, output)
    if judge.kind == "tokens":
        return judge_tokens(
            expected,
            output,
            case_sensitive=judge.case_sensitive,
            space_sensitive=judge.space_sensitive,
            abs_tol=judge.abs_tol,
            rel_tol=judge.rel_tol,
        )
    raise ValueError(f"judge {judge.kind!r} is not a built-in judge")


def judge_exact(expected: bytes, output: bytes) -> JudgeResult:
    if expected == output:
        return accepted()
    exp_lines, out_lines = expected.split(b"\n"), output.split(b"\n")
    for i, (e, o) in enumerate(zip(exp_lines, out_lines, strict=False), 1):
        if e != o:
            return wrong(f"line {i} differs: expected {_show(e)}, got {_show(o)}")
    if len(out_lines) < len(exp_lines):
        return wrong(f"output ends at line {len(out_lines)}; expected {len(exp_lines)} lines")
    return wrong(f"output goes on after line {len(exp_lines)}")


def _tokens_with_lines(data: bytes) -> list[tuple[int, bytes]]:
    result = []
    for number, line in enumerate(data.split(b"\n"), 1):
        result.extend((number, t) for t in line.split())
    return result


def _parse_float(token: bytes) -> float | None:
    try:
        value = float(token)
    except ValueError:
        return None
    return (
        value if math.isfinite(value) or token.lower().lstrip(b"+-") in (b"inf", b"nan") else None
    )


def judge_tokens(
    expected: bytes,
    output: bytes,
    *,
    case_sensitive: bool = True,
    space_sensitive: bool = False,
    abs_tol: float | None = None,
    rel_tol: float | None = None,
) -> JudgeResult:
    """Compare token by token (Kattis' default output validator semantics)."""
    exp, out = _tokens_with_lines(expected), _tokens_with_lines(output)
    floats = abs_tol is not None or rel_tol is not None
    for i in range(max(len(exp), len(out))):
        e = exp[i][1] if i < len(exp) else None
        o = out[i][1] if i < len(out) else None
        line = out[i][0] if i < len(out) else (out[-1][0] if out else 1)
        if e is None:
            return wrong(f"line {line}: unexpected output {_show(o)} after the expected end")
        if o is None:
            return wrong(f"output ended early: expected {_show(e)} (token {i + 1})")
        if e == o or (not case_sensitive and e.lower() == o.lower()):
            continue
        if floats:
            fe, fo = _parse_float(e), _parse_float(o)
            if fe is not None and fo is not None:
                if _close(fe, fo, abs_tol, rel_tol):
                    continue
                return wrong(
                    f"line {line}: expected {_show(e)}, got {_show(o)} "
                    f"(difference {abs(fe - fo):.3g} beyond the tolerance)"
                )
        return wrong(f"line {line}: expected {_show(e)}, got {_show(o)}")
    if space_sensitive and WHITESPACE.findall(expected) != WHITESPACE.findall(output):
        return wrong("the tokens match but the white space differs from the expected output")
    return accepted()


def _close(expected: float, got: float, abs_tol: float | None, rel_tol: float | None) -> bool:
    if math.isnan(expected) or math.isnan(got):
        return math.isnan(expected) and math.isnan(got)
    if expected == got:
        return True
    diff = abs(expected - got)
    if abs_tol is not None and diff <= abs_tol:
        return True
    return rel_tol is not None and diff <= rel_tol * abs(expected)


def judge_lines_unordered(expected: bytes, output: bytes) -> JudgeResult:
    """The same lines in any order (trailing white space and empty lines ignored)."""

    def lines(data: bytes) -> Counter[bytes]:
        return Counter(x.rstrip() for x in data.split(b"\n") if x.strip())

    exp, out = lines(expected), lines(output)
    if exp == out:
        return accepted()
    missing = exp - out
    extra = out - exp
    if missing:
        return wrong(f"missing line {_show(next(iter(missing)))} ({sum(missing.values())} missing)")
    return wrong(f"unexpected line {_show(next(iter(extra)))} ({sum(extra.values())} unexpected)")
