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
from typing import IO, Any

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
    message: str = ""  # for the staff: may quote the expected output
    # for the student: never quotes the expected output (a checker's teammessage, or where
    # the output went wrong); docs/security.md "What a student sees of a test"
    student_message: str = ""


def accepted(message: str = "") -> JudgeResult:
    return JudgeResult(Verdict.AC, 1.0, message, message)


def wrong(message: str, student_message: str | None = None) -> JudgeResult:
    """A wrong answer; ``student_message`` is the message without the expected output (when
    ``message`` quotes none, it is the same)."""
    return JudgeResult(
        Verdict.WA, 0.0, message, message if student_message is None else student_message
    )


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


LONG = b"\x00long:"  # a key of a long line or white-space run: + length, digest and head


def _long_key(length: int, digest: bytes, head: bytes) -> bytes:
    return LONG + length.to_bytes(8, "big") + digest + head[:MAX_SHOWN]


def _shown_key(key: bytes) -> bytes:
    return key[len(LONG) + 24 :] + b"..." if key.startswith(LONG) else key


def _key(data: bytes) -> bytes:
    """Bytes as compared: themselves, or (longer than LONG_TOKEN) their length and digest."""
    return data if len(data) <= LONG_TOKEN else _long_key(len(data), _digest(data), data)


class _Span:
    """Bytes read in pieces (a white-space run): the same key as ``_key`` of all of them, in
    bounded memory."""

    __slots__ = ("data", "h", "length", "head")

    def __init__(self) -> None:
        self.data = b""
        self.h: Any = None
        self.length = 0
        self.head = b""

    def add(self, piece: bytes) -> None:
        self.length += len(piece)
        if self.h is not None:
            self.h.update(piece)
            return
        self.data += piece
        if len(self.data) > LONG_TOKEN:
            self.h = hashlib.blake2b(self.data, digest_size=16)
            self.head, self.data = self.data[:MAX_SHOWN], b""

    def key(self) -> bytes:
        return self.data if self.h is None else _long_key(self.length, self.h.digest(), self.head)


class _Line:
    """A line read in pieces, as compared by lines_unordered: its content without trailing
    white space, keyed as ``_key`` would key it, in bounded memory (white space inside the
    line is held back until content follows it, as a span of its own)."""

    __slots__ = ("h", "length", "head", "pending")

    def __init__(self) -> None:
        self.h = hashlib.blake2b(digest_size=16)
        self.length = 0
        self.head = b""  # the first LONG_TOKEN bytes of the content
        self.pending: _Span | None = None

    def _content(self, data: bytes) -> None:
        if self.pending is not None:
            ws, self.pending = self.pending, None
            if ws.h is None:
                self._content(ws.data)
            else:  # a white-space run too long to keep: its digest stands for it
                self.h.update(ws.key())
                self.length += ws.length
        self.h.update(data)
        self.length += len(data)
        if len(self.head) <= LONG_TOKEN:
            self.head += data[: LONG_TOKEN + 1 - len(self.head)]

    def add(self, piece: bytes) -> None:
        body = piece.rstrip()
        if body:
            self._content(body)
        if len(body) < len(piece):
            self.pending = self.pending or _Span()
            self.pending.add(piece[len(body) :])

    def key(self) -> bytes:
        if self.length <= LONG_TOKEN:
            return self.head[: self.length]
        return _long_key(self.length, self.h.digest(), self.head)


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

    def shown(self, index: int) -> str:
        """The index-th token as the file has it (the tokens may be lower-cased)."""
        if self.raw or self.carried:
            for i, m in enumerate(TOKEN.finditer(self.carried + self.raw)):
                if i == index:
                    return _show(m.group())
        return _show(self.tokens[index])


def _first_difference(a: bytes, b: bytes) -> int:
    """The index of the first byte where ``a`` and ``b`` differ (the shorter's length if one is
    a prefix of the other)."""
    n = min(len(a), len(b))
    return next((k for k in range(n) if a[k] != b[k]), n)


def _last_boundary(chunk: bytes, end: int, boundary: bytes | None) -> int:
    """The index just after the last boundary byte in ``chunk[:end]`` (0 if there is none)."""
    if boundary is not None:
        return chunk.rfind(boundary, 0, end) + 1
    return max(chunk.rfind(w, 0, end) for w in (b" ", b"\t", b"\n", b"\r", b"\x0b", b"\x0c")) + 1


def _boundary_before(
    f: IO[bytes], offset: int, lines: int, boundary: bytes | None
) -> tuple[int, int]:
    """The position just after the last boundary before ``offset`` (read backwards a chunk at
    a time), and the lines before it; ``lines`` is the count before ``offset``."""
    end = offset
    while end > 0:
        start = max(0, end - CHUNK)
        f.seek(start)
        data = f.read(end - start)
        cut = _last_boundary(data, len(data), boundary)
        if cut:
            return start + cut, lines - data.count(b"\n", cut)
        lines -= data.count(b"\n")
        end = start
    return 0, 0


def skip_identical_prefix(a: IO[bytes], b: IO[bytes], boundary: bytes | None) -> int:
    """Compare two streams chunk by chunk (at memcmp speed) and leave both just after the last
    ``boundary`` (white space if None, else that byte) before their first difference, or at
    their start. Returns the lines before that point; -1 when the streams are identical."""
    offset = lines = 0
    while True:
        x, y = a.read(CHUNK), b.read(CHUNK)
        if x != y:
            same = _first_difference(x, y)
            cut = _last_boundary(x, same, boundary)
            if cut:
                position, lines = offset + cut, lines + x.count(b"\n", 0, cut)
            else:  # the difference is in a token (line) that began in an earlier chunk
                position, lines = _boundary_before(a, offset, lines, boundary)
            a.seek(position)
            b.seek(position)
            return lines
        if not x:
            return -1
        offset += len(x)
        lines += x.count(b"\n")


def token_batches(
    f: IO[bytes], chunk: int | None = None, first_line: int = 1, lower: bool = False
) -> Iterator[Batch]:
    """The tokens of ``f`` in batches, a chunk at a time, in bounded memory (``lower``: in
    lower case, for a judge that ignores case; long tokens keep their case and a digest of
    their lower case)."""
    chunk = chunk or CHUNK
    line = first_line
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
        tokens: list[Token] = list((text.lower() if lower else text).split())
        carried, carry = carry, b""
        if tokens and not text[-1:].isspace():
            last = tokens.pop()
            assert isinstance(last, bytes)
            last = text[len(text) - len(last) :]  # as the file has it
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
    # identical bytes are the same tokens and the same white space: most accepted outputs
    # end here, having cost one read of each file
    lines_before = skip_identical_prefix(expected, output, None)
    if lines_before < 0:
        return accepted()
    start_offsets = expected.tell(), output.tell()
    lower = not case_sensitive
    exp_batches = token_batches(expected, first_line=lines_before + 1, lower=lower)
    out_batches = token_batches(output, first_line=lines_before + 1, lower=lower)
    exp: Batch | None = None
    out: Batch | None = None
    ei = oi = 0  # positions in the current batches
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
                f"line {out.line_of(oi)}: unexpected output {out.shown(oi)} after the expected end"
            )
        if out is None:
            return wrong(
                f"output ended early: expected {exp.shown(ei)} "
                f"(line {exp.line_of(ei)} of the expected output)",
                "the output ended before the expected end",
            )
        n = min(len(exp.tokens) - ei, len(out.tokens) - oi)
        e_slice, o_slice = exp.tokens[ei : ei + n], out.tokens[oi : oi + n]
        if e_slice != o_slice:  # find where, and whether the difference is allowed
            for k, (e, o) in enumerate(zip(e_slice, o_slice, strict=True)):
                if e == o or (not case_sensitive and _same_ignoring_case(e, o)):
                    continue
                if floats:
                    fe, fo = _parse_float(e), _parse_float(o)
                    if fe is not None and fo is not None:
                        if _close(fe, fo, abs_tol, rel_tol):
                            continue
                        line = out.line_of(oi + k)  # only for the message: it scans the batch
                        return wrong(
                            f"line {line}: expected {exp.shown(ei + k)}, got {out.shown(oi + k)} "
                            f"(difference {abs(fe - fo):.3g} beyond the tolerance)",
                            f"line {line}: {out.shown(oi + k)} is not within the tolerance",
                        )
                line = out.line_of(oi + k)
                return wrong(
                    f"line {line}: expected {exp.shown(ei + k)}, got {out.shown(oi + k)}",
                    f"line {line}: {out.shown(oi + k)} is wrong",
                )
        ei, oi = ei + n, oi + n
    if space_sensitive:
        expected.seek(start_offsets[0])
        output.seek(start_offsets[1])
        if not _same_white_space(expected, output):
            return wrong("the tokens match but the white space differs from the expected output")
    return accepted()


def _white_space_runs(f: IO[bytes]) -> Iterator[bytes]:
    """The white space between tokens, in order, each keyed as ``_key`` (bounded memory)."""
    pending: _Span | None = None  # white space at the end of a chunk: the run may go on
    while data := f.read(CHUNK):
        runs = WHITESPACE.findall(data)
        if pending is not None:
            if data[:1].isspace():
                pending.add(runs.pop(0))
                if not runs and data.isspace():
                    continue  # the whole chunk was white space: the run goes on
            yield pending.key()
            pending = None
        if runs and data[-1:].isspace():
            pending = _Span()
            pending.add(runs.pop())
        if runs and max(map(len, runs)) > LONG_TOKEN:
            runs = [_key(r) for r in runs]
        yield from runs
    if pending is not None:
        yield pending.key()


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
        i = _first_difference(a, b)
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
        return wrong(
            f"line {line} differs: expected {_show(e_line)}, got {_show(o_line)}",
            f"line {line} differs from the expected output",
        )


def line_batches(f: IO[bytes]) -> Iterator[list[bytes]]:
    """The non-empty lines of ``f`` without trailing white space, keyed as ``_key``, a chunk
    at a time (bounded memory: a line longer than a chunk is read on into a digest)."""
    carry: _Line | bytes = b""  # the line the last chunk ended in
    while data := f.read(CHUNK):
        if isinstance(carry, _Line):
            end = data.find(b"\n")
            if end < 0:
                carry.add(data)
                continue
            carry.add(data[:end])
            if carry.length:
                yield [carry.key()]
            carry, data = b"", data[end + 1 :]
        lines = (carry + data).split(b"\n")
        last = lines.pop()
        if len(last) > LONG_TOKEN:
            carry = _Line()
            carry.add(last)
        else:
            carry = last
        keys = [k for k in (line.rstrip() for line in lines) if k]
        if keys and max(map(len, keys)) > LONG_TOKEN:
            keys = [_line_key(k) for k in keys]
        yield keys
    if isinstance(carry, _Line):
        if carry.length:
            yield [carry.key()]
    elif carry.rstrip():
        yield [_line_key(carry.rstrip())]


def _line_key(content: bytes) -> bytes:
    if len(content) <= LONG_TOKEN:
        return content
    line = _Line()
    line.add(content)
    return line.key()


def judge_lines_unordered_files(expected: IO[bytes], output: IO[bytes]) -> JudgeResult:
    """The same lines in any order (trailing white space and empty lines ignored). An identical
    prefix of whole lines is skipped at memcmp speed; memory holds the expected lines that are
    left; the output's lines are counted against them a chunk at a time and never kept."""
    if skip_identical_prefix(expected, output, b"\n") < 0:
        return accepted()
    wanted: Counter[bytes] = Counter()
    for keys in line_batches(expected):
        wanted.update(keys)
    first_extra: bytes | None = None
    extra = 0
    for keys in line_batches(output):
        got = Counter(keys)
        for key, n in got.items():
            left = wanted.get(key, 0)
            if n <= left:
                wanted[key] = left - n
            else:
                wanted[key] = 0
                extra += n - left
                first_extra = first_extra or key
    missing = +wanted
    if missing:
        first = next(iter(missing))
        return wrong(
            f"missing line {_show(_shown_key(first))} ({sum(missing.values())} missing)",
            f"{sum(missing.values())} expected line(s) missing",
        )
    if first_extra is not None:
        return wrong(f"unexpected line {_show(_shown_key(first_extra))} ({extra} unexpected)")
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
