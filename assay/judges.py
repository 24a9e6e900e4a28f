"""Built-in judges: compare a program's output with the expected answer, streaming.

The tester runs as root without limits, and a program's output is hostile: every judge reads
both files in chunks, keeps a bounded amount of either in memory, and stops at the first
difference. Token by token comparison runs at C speed (``bytes.split`` and list comparison of a
whole chunk's tokens); Python code runs per token only where tokens differ (float tolerance,
case) and to word the message. A token longer than ``LONG_TOKEN`` is kept as its length, head
and digest, so a megabyte-long word costs no more memory than a short one.

Custom checkers and interactive validators run in the sandbox (see tester/checker.py); they use
the Kattis output validator interface: ``checker INPUT ANSWER FEEDBACK_DIR [flags] < output``,
exit code 42 = accepted, 43 = wrong answer, optional ``score.txt`` (a fraction 0..1) and
``judgemessage.txt`` in the feedback directory.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from assay.package.model import Judge, Verdict

WHITESPACE = re.compile(rb"\s+")
TOKEN = re.compile(rb"\S+")
MAX_SHOWN = 40  # characters of a token shown in a message
CHUNK = 1 << 18  # bytes read at a time
LONG_TOKEN = 1 << 16  # longer tokens (and lines) are kept as a digest


@dataclass
class JudgeResult:
    verdict: Verdict
    score: float = 0.0
    message: str = ""


def accepted(message: str = "") -> JudgeResult:
    return JudgeResult(Verdict.AC, 1.0, message)


def wrong(message: str) -> JudgeResult:
    return JudgeResult(Verdict.WA, 0.0, message)


class LongToken:
    """A token too long to keep: its length, its first bytes and a digest of all of it."""

    __slots__ = ("length", "head", "digest", "digest_lower")

    def __init__(self) -> None:
        self.length = 0
        self.head = b""
        self.digest = hashlib.blake2b(digest_size=16)
        self.digest_lower = hashlib.blake2b(digest_size=16)

    def add(self, data: bytes) -> None:
        if len(self.head) < MAX_SHOWN * 4:
            self.head += data[: MAX_SHOWN * 4 - len(self.head)]
        self.length += len(data)
        self.digest.update(data)
        self.digest_lower.update(data.lower())

    def __eq__(self, other: object) -> bool:
        # a token is long or not by where the chunks happened to end: compare with bytes too
        if isinstance(other, bytes):
            return len(other) == self.length and _digest(other) == self.digest.digest()
        return (
            isinstance(other, LongToken)
            and self.length == other.length
            and self.digest.digest() == other.digest.digest()
        )

    def lower_equals(self, other: Token) -> bool:
        if isinstance(other, bytes):
            return (
                len(other) == self.length and _digest(other.lower()) == self.digest_lower.digest()
            )
        return (
            isinstance(other, LongToken)
            and self.length == other.length
            and self.digest_lower.digest() == other.digest_lower.digest()
        )

    def __hash__(self) -> int:
        return hash((self.length, self.digest.digest()))


Token = bytes | LongToken


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def _show(token: Token | None) -> str:
    if token is None:
        return "end of output"
    if isinstance(token, LongToken):
        text = token.head.decode(errors="replace")[:MAX_SHOWN]
        return repr(text + f"… ({token.length} bytes)")
    text = token.decode(errors="replace")
    return repr(text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "…")


@dataclass
class Batch:
    """The tokens of one chunk, with what is needed to name a token's line later."""

    tokens: list[Token]
    raw: bytes  # the chunk as read (after the carried partial token); for line numbers
    first_line: int  # the line the chunk starts on
    carried: bytes = b""  # the partial token from the previous chunk, prepended to ``raw``

    def line_of(self, index: int) -> int:
        """The line of the index-th token of this batch."""
        text = self.carried + self.raw
        for i, m in enumerate(TOKEN.finditer(text)):
            if i == index:
                return self.first_line + text.count(b"\n", 0, m.start())
        return self.first_line + text.count(b"\n")


def token_batches(f: IO[bytes], chunk: int | None = None) -> Iterator[Batch]:
    """The tokens of ``f`` in batches, a chunk at a time, in bounded memory."""
    chunk = chunk or CHUNK
    line = 1
    carry = b""  # a partial token at the end of the last chunk
    long: LongToken | None = None  # the token being read is too long to keep
    while True:
        data = f.read(chunk)
        if not data:
            break
        if long is not None:
            m = WHITESPACE.search(data)
            if m is None:
                long.add(data)
                continue
            long.add(data[: m.start()])
            data = data[m.start() :]
            yield Batch([long], b"", line)
            long = None
        text = carry + data
        tokens: list[Token] = list(text.split())
        carried, carry = carry, b""
        if tokens and not text[-1:].isspace():
            last = tokens.pop()
            assert isinstance(last, bytes)
            if len(last) > LONG_TOKEN:  # read on as a digest
                long = LongToken()
                long.add(last)
            else:
                carry = last
        start = line
        line += data.count(b"\n")
        if tokens:
            yield Batch(tokens, data, start, carried)
    if long is not None:
        yield Batch([long], b"", line)
    elif carry:
        yield Batch([carry], b"", line)


def _parse_float(token: Token) -> float | None:
    if isinstance(token, LongToken):
        return None
    try:
        value = float(token)
    except ValueError:
        return None
    return (
        value if math.isfinite(value) or token.lower().lstrip(b"+-") in (b"inf", b"nan") else None
    )


def _close(expected: float, got: float, abs_tol: float | None, rel_tol: float | None) -> bool:
    if math.isnan(expected) or math.isnan(got):
        return math.isnan(expected) and math.isnan(got)
    if expected == got:
        return True
    diff = abs(expected - got)
    if abs_tol is not None and diff <= abs_tol:
        return True
    return rel_tol is not None and diff <= rel_tol * abs(expected)


def _same_ignoring_case(e: Token, o: Token) -> bool:
    if isinstance(e, LongToken):
        return e.lower_equals(o)
    if isinstance(o, LongToken):
        return o.lower_equals(e)
    return e.lower() == o.lower()


def judge_token_files(
    expected: IO[bytes],
    output: IO[bytes],
    *,
    case_sensitive: bool = True,
    space_sensitive: bool = False,
    abs_tol: float | None = None,
    rel_tol: float | None = None,
) -> JudgeResult:
    """Compare token by token (Kattis' default output validator semantics), streaming."""
    floats = abs_tol is not None or rel_tol is not None
    exp_batches, out_batches = token_batches(expected), token_batches(output)
    exp: Batch | None = None
    out: Batch | None = None
    ei = oi = 0  # positions in the current batches
    count = 0  # tokens compared so far
    while True:
        if exp is None or ei == len(exp.tokens):
            exp, ei = next(exp_batches, None), 0
        if out is None or oi == len(out.tokens):
            out, oi = next(out_batches, None), 0
        if exp is None and out is None:
            break
        if exp is None:
            assert out is not None
            return wrong(
                f"line {out.line_of(oi)}: unexpected output {_show(out.tokens[oi])} "
                "after the expected end"
            )
        if out is None:
            return wrong(
                f"output ended early: expected {_show(exp.tokens[ei])} (token {count + 1})"
            )
        n = min(len(exp.tokens) - ei, len(out.tokens) - oi)
        e_slice, o_slice = exp.tokens[ei : ei + n], out.tokens[oi : oi + n]
        if e_slice != o_slice:  # find where, and whether the difference is allowed
            for k, (e, o) in enumerate(zip(e_slice, o_slice, strict=True)):
                if e == o or (not case_sensitive and _same_ignoring_case(e, o)):
                    continue
                line = out.line_of(oi + k)
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
        ei, oi, count = ei + n, oi + n, count + n
    if space_sensitive:
        expected.seek(0)
        output.seek(0)
        if not _same_white_space(expected, output):
            return wrong("the tokens match but the white space differs from the expected output")
    return accepted()


def _white_space_runs(f: IO[bytes]) -> Iterator[bytes]:
    """The white space between tokens, in order, in bounded memory (long runs as digests)."""
    pending = b""  # white space at the end of a chunk: the run may go on
    while data := f.read(CHUNK):
        runs = WHITESPACE.findall(data)
        starts_ws = data[:1].isspace()
        ends_ws = data[-1:].isspace()
        if starts_ws and runs:
            runs[0] = pending + runs[0]
        elif pending:
            yield pending
        pending = b""
        if ends_ws and runs:
            pending = runs.pop()
            if len(pending) > LONG_TOKEN:  # a run this long: compare it by its digest
                pending = hashlib.blake2b(pending, digest_size=16).digest()
        yield from runs
    if pending:
        yield pending


def _same_white_space(expected: IO[bytes], output: IO[bytes]) -> bool:
    a, b = _white_space_runs(expected), _white_space_runs(output)
    sentinel = object()
    while True:
        x, y = next(a, sentinel), next(b, sentinel)
        if x != y:
            return False
        if x is sentinel:
            return True


def judge_exact_files(expected: IO[bytes], output: IO[bytes]) -> JudgeResult:
    """Byte for byte, streaming; the message names the first line that differs."""
    line = 1
    while True:
        a, b = expected.read(CHUNK), output.read(CHUNK)
        if a == b:
            if not a:
                return accepted()
            line += a.count(b"\n")
            continue
        n = min(len(a), len(b))
        i = next((k for k in range(n) if a[k] != b[k]), n)
        line += a.count(b"\n", 0, i)
        start_a = a.rfind(b"\n", 0, i) + 1
        e_line = a[start_a : start_a + MAX_SHOWN * 4].split(b"\n", 1)[0]
        o_line = b[start_a : start_a + MAX_SHOWN * 4].split(b"\n", 1)[0]
        if i == len(b) and not output.read(1):
            if a[i:].strip(b"\n") == b"" and not expected.read(1):
                return wrong(f"output ends at line {line}: the final line break is missing")
            return wrong(f"output ends at line {line}; the expected output goes on")
        if i == len(a) and not expected.read(1):
            return wrong(f"output goes on after line {line}")
        return wrong(f"line {line} differs: expected {_show(e_line)}, got {_show(o_line)}")


LONG_LINE = b"\x00long:"  # + 16 bytes of digest + the line's first MAX_SHOWN bytes


def _shown_line(line: bytes) -> bytes:
    return line[len(LONG_LINE) + 16 :] + b"..." if line.startswith(LONG_LINE) else line


def _line_key(content: bytes, digest: bytes | None = None) -> bytes:
    """A line as compared: itself, or (longer than LONG_TOKEN) its digest and head."""
    if digest is None and len(content) <= LONG_TOKEN:
        return content
    return LONG_LINE + (digest or _digest(content)) + content[:MAX_SHOWN]


def _line_digests(f: IO[bytes]) -> Iterator[bytes]:
    """Each non-empty line, trailing white space removed, as ``_line_key``; a long line is
    read in pieces into a digest (its trailing white space held back until more follows)."""
    while True:
        buf = f.readline(LONG_TOKEN)
        if not buf:
            return
        while not buf.endswith(b"\n") and len(buf.rstrip()) <= LONG_TOKEN:
            piece = f.readline(LONG_TOKEN)
            if not piece:
                break
            buf += piece
        content = buf.rstrip()
        if buf.endswith(b"\n") or len(content) <= LONG_TOKEN:  # the whole line is here
            if content:
                yield _line_key(content)
            continue
        h = hashlib.blake2b(digest_size=16)
        head = content[:MAX_SHOWN]
        h.update(content)
        pending = buf[len(content) :]  # white space: part of the line only if more follows
        while not buf.endswith(b"\n"):
            buf = f.readline(LONG_TOKEN)
            if not buf:
                break
            body = buf.rstrip()
            if body:
                h.update(pending + body)
                pending = buf[len(body) :]
            else:
                pending += buf
        yield LONG_LINE + h.digest() + head


def judge_lines_unordered_files(expected: IO[bytes], output: IO[bytes]) -> JudgeResult:
    """The same lines in any order (trailing white space and empty lines ignored). Memory holds
    the expected lines only; the output's lines beyond them are counted, not kept."""
    wanted: Counter[bytes] = Counter(_line_digests(expected))
    first_extra: bytes | None = None
    extra = 0
    for line in _line_digests(output):
        if wanted[line] > 0:
            wanted[line] -= 1
        else:
            extra += 1
            first_extra = first_extra or line
    missing = +wanted
    if missing:
        first = next(iter(missing))
        return wrong(f"missing line {_show(_shown_line(first))} ({sum(missing.values())} missing)")
    if first_extra is not None:
        return wrong(f"unexpected line {_show(_shown_line(first_extra))} ({extra} unexpected)")
    return accepted()


def judge_files(judge: Judge, expected: Path, output: Path) -> JudgeResult:
    """Judge the program's ``output`` file against the ``expected`` answer file."""
    with open(expected, "rb") as e, open(output, "rb") as o:
        return judge_streams(judge, e, o)


def judge_streams(judge: Judge, expected: IO[bytes], output: IO[bytes]) -> JudgeResult:
    if judge.kind == "exact":
        return judge_exact_files(expected, output)
    if judge.kind == "lines_unordered":
        return judge_lines_unordered_files(expected, output)
    if judge.kind == "tokens":
        return judge_token_files(
            expected,
            output,
            case_sensitive=judge.case_sensitive,
            space_sensitive=judge.space_sensitive,
            abs_tol=judge.abs_tol,
            rel_tol=judge.rel_tol,
        )
    raise ValueError(f"judge {judge.kind!r} is not a built-in judge")


# the same judges on bytes in memory (tests, small inputs)


def judge_output(judge: Judge, expected: bytes, output: bytes) -> JudgeResult:
    return judge_streams(judge, io.BytesIO(expected), io.BytesIO(output))


def judge_exact(expected: bytes, output: bytes) -> JudgeResult:
    return judge_exact_files(io.BytesIO(expected), io.BytesIO(output))


def judge_tokens(expected: bytes, output: bytes, **options: object) -> JudgeResult:
    return judge_token_files(io.BytesIO(expected), io.BytesIO(output), **options)  # type: ignore[arg-type]


def judge_lines_unordered(expected: bytes, output: bytes) -> JudgeResult:
    return judge_lines_unordered_files(io.BytesIO(expected), io.BytesIO(output))
