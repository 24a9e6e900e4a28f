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
    """A document's tokens: ``kinds[i]`` (an integer from a ``Vocabulary``; file boundaries are
    unique negative numbers that match nothing), the file it is in and its first and last line
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


class Vocabulary:
    """Normalised kinds as small integers, shared by every document of a comparison; file
    boundaries get fresh negative numbers, so no match ever spans two files."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.normal: dict[tuple[TokenType, str], str | None] = {}  # normalised_kind, remembered
        self.boundaries = 0

    def id(self, text: str) -> int:
        found = self.ids.get(text)
        if found is None:
            found = self.ids[text] = len(self.ids)
        return found

    def boundary(self) -> int:
        self.boundaries += 1
        return -self.boundaries


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


def tokenise_file(name: str, text: str, file: int, vocabulary: Vocabulary, into: Tokens) -> bool:
    """Append the normalised tokens of one file to ``into``; False when it is not source code."""
    text = normalise_newlines(text[:MAX_FILE_CHARS])
    lexer = lexer_for(name, text)
    if lexer is None:
        return False
    line_starts = [0, *itertools.accumulate(len(line) + 1 for line in text.split("\n"))]
    pending_string = False  # consecutive string parts are one literal
    memo = vocabulary.normal
    for offset, kind, value in lexer.get_tokens_unprocessed(text):
        try:
            normal = memo[kind, value]
        except KeyError:
            normal = memo[kind, value] = normalised_kind(kind, value)
        if normal is None:
            continue
        first = bisect.bisect_right(line_starts, offset)
        last = bisect.bisect_right(line_starts, offset + max(len(value.rstrip("\n")) - 1, 0))
        if normal == "STR" and pending_string and into.files and into.files[-1] == file:
            into.last_lines[-1] = last
            continue
        pending_string = normal == "STR"
        into.append(vocabulary.id(normal), file, first, last)
    return True


def tokenise(files: list[tuple[str, str]], vocabulary: Vocabulary) -> tuple[Tokens, list[str]]:
    """The tokens of a document made of ``files`` ((name, text), taken in name order, each
    followed by a boundary), and the names of the files that counted (source code only)."""
    out = Tokens()
    names: list[str] = []
    for name, text in sorted(files):
        index = len(names)
        if tokenise_file(name, text, index, vocabulary, out):
            names.append(name)
            out.append(vocabulary.boundary(), index, 0, 0)
    return out, names
