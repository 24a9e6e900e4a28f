"""Source files as normalised token streams (Pygments lexers), the unit every comparison counts.

What a plagiarist changes cheaply disappears here: every identifier (variable, function, class,
attribute) is one kind ``ID``, literals are kinds by type (``STR``, ``INT``, ``FLOAT``, ``NUM``),
comments, docstrings and white space are dropped. What stays as written: keywords, operators,
punctuation, built-in names (``len``, ``printf`` is an identifier in C) and preprocessor words.
Each token keeps the lines it spans in its file, so a match can be shown where it is.
"""

from __future__ import annotations

import bisect
import itertools
import zlib
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from pygments.lexer import Lexer
from pygments.lexers import get_lexer_for_filename
from pygments.token import Comment, Keyword, Name, Number, Operator, Punctuation, String, Text
from pygments.token import _TokenType as TokenType
from pygments.util import ClassNotFound

MAX_FILE_CHARS = 256 * 1024  # as the code view: a longer file is compared on its start only


def normalised_kind(kind: TokenType, value: str) -> str | None:
    """The text a token is compared by, or None for a token that does not count."""
    if kind in Comment.Preproc:
        return value.strip() or None
    if kind in Comment.PreprocFile:
        return "STR"
    if kind in Comment or kind in String.Doc or kind in Text:
        return None
    if kind in Name.Builtin or kind in Name.Builtin.Pseudo:
        return value
    if kind in Name:
        return "ID"
    if kind in String:
        return "STR"
    if kind in Number.Integer or kind in Number.Hex or kind in Number.Oct or kind in Number.Bin:
        return "INT"
    if kind in Number.Float:
        return "FLOAT"
    if kind in Number:
        return "NUM"
    if kind in Keyword or kind in Operator or kind in Punctuation:
        return value.strip() or None
    return value.strip() or None  # Error and others: as written


@dataclass
class Tokens:
    """A document's tokens: ``kinds[i]`` (``kind_id``; file boundaries are unique negative
    numbers that match nothing), the file it is in and its first and last line
    (1-based, as the code view numbers them)."""

    kinds: list[int] = field(default_factory=list)
    files: list[int] = field(default_factory=list)
    first_lines: list[int] = field(default_factory=list)
    last_lines: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.kinds)

    def append(self, kind: int, file: int, first: int, last: int) -> None:
        self.kinds.append(kind)
        self.files.append(file)
        self.first_lines.append(first)
        self.last_lines.append(last)


def kind_id(text: str) -> int:
    """A normalised kind as a non-negative integer, the same in every process (so documents
    tokenised by different worker processes compare); two kinds of the ~300 a language has
    share one with a chance of about 1 in 50,000, which merges them, nothing worse."""
    return zlib.crc32(text.encode()) & 0x7FFFFFFF


def boundary(document: int, file: int) -> int:
    """The token after a document's file: negative, and unique to the pair, so it equals no
    token of any document and no match ever spans two files."""
    return -((document << 20) + min(file, (1 << 20) - 2) + 1)


_normal: dict[tuple[TokenType, str], int | None] = {}  # normalised_kind's kind_id, remembered
_STR = kind_id("STR")


def lexer_for(name: str, text: str) -> Lexer | None:
    """The Pygments lexer for a file of this name; None for a file that is not source code
    (its name fits no lexer, or plain text). Looking a name up scans every lexer Pygments has
    (milliseconds): the class is remembered per extension, with what the file's start says
    where several lexers claim it (``.h``)."""
    suffix = PurePosixPath(name).suffix.lower() or name
    cls = _lexers.get(suffix, _UNKNOWN)
    if cls is _UNKNOWN:
        try:
            cls = type(get_lexer_for_filename(name, text[:4096]))
        except ClassNotFound:
            cls = None
        if cls is not None and cls.name == "Text only":
            cls = None
        _lexers[suffix] = cls
    return cls(stripnl=False, ensurenl=True) if cls is not None else None


_UNKNOWN: Any = object()
_lexers: dict[str, Any] = {}


def normalise_newlines(text: str) -> str:
    """CR LF and CR end a line, as in the code view."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def tokenise_file(name: str, text: str, file: int, into: Tokens) -> bool:
    """Append the normalised tokens of one file to ``into``; False when it is not source code."""
    text = normalise_newlines(text[:MAX_FILE_CHARS])
    lexer = lexer_for(name, text)
    if lexer is None:
        return False
    line_starts = [0, *itertools.accumulate(len(line) + 1 for line in text.split("\n"))]
    pending_string = False  # consecutive string parts are one literal
    memo = _normal
    kinds, files, firsts, lasts = into.kinds, into.files, into.first_lines, into.last_lines
    where = bisect.bisect_right
    for offset, kind, value in lexer.get_tokens_unprocessed(text):
        try:
            normal = memo[kind, value]
        except KeyError:
            text_kind = normalised_kind(kind, value)
            normal = memo[kind, value] = kind_id(text_kind) if text_kind is not None else None
        if normal is None:
            continue
        first = where(line_starts, offset)
        last = where(line_starts, offset + len(value.rstrip("\n")) - 1) if "\n" in value else first
        if normal == _STR and pending_string and files and files[-1] == file:
            lasts[-1] = last
            continue
        pending_string = normal == _STR
        kinds.append(normal)
        files.append(file)
        firsts.append(first)
        lasts.append(last)
    return True


def tokenise(files: list[tuple[str, str]], document: int = 0) -> tuple[Tokens, list[str]]:
    """The tokens of a document made of ``files`` ((name, text), taken in name order, each
    followed by a boundary; ``document``: its number, unique in a comparison), and the names of
    the files that counted (source code only)."""
    out = Tokens()
    names: list[str] = []
    for name, text in sorted(files):
        index = len(names)
        if tokenise_file(name, text, index, out):
            names.append(name)
            out.append(boundary(document, index), index, 0, 0)
    return out, names
