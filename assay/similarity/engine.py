"""A comparison of many documents (submissions, past years' ones) for similarity, without a
teacher's base code; Django-free (the storer runs it in a process of its own).

1. Tokenise each document (tokens.py): identifiers, literals, comments and layout normalised.
2. Mark in each document the runs it shares with the base code (Greedy String Tiling against
   it): they count neither for a candidate nor in a score.
3. Winnow each document's k-gram hashes into fingerprints (fingerprints.py) and index them:
   fingerprint -> the documents that have it. A fingerprint found in more than
   ``common_limit`` documents is an idiom of the assignment, not evidence, and is ignored.
4. Candidates: the pairs that share at least ``min_shared`` fingerprints, at least
   ``candidate_share`` of the smaller one's. Only they are tiled, so 500 documents cost a few
   thousand tilings, not 124,750. Two past years' documents are never compared.
5. Greedy String Tiling (tiling.py) of each candidate: similarity = 2 · matched / (|a| + |b|)
   over the tokens that are not base code; coverage_a = matched / |a|, and the matched regions
   as lines of files on both sides.
6. The pairs from ``report_floor`` up, most similar first.
"""

from __future__ import annotations

import itertools
import multiprocessing
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from .fingerprints import kgram_hashes, winnow
from .tiling import Tile, greedy_string_tiling
from .tokens import Tokens, tokenise

Progress = Callable[[str, int, int], None]  # (stage, done, total)
TOKENISING, COMPARING = "tokenising", "comparing"


@dataclass
class Options:
    min_match: int = 15  # tokens: the shortest run that counts (k-grams, tiles)
    window: int = 8  # winnowing window: any shared run of min_match + window - 1 is seen
    common_limit_share: float = 0.1  # a fingerprint in more documents than this share ...
    common_limit_min: int = 50  # ... and than this number is ignored
    min_shared: int = 2  # fingerprints a candidate pair shares at least
    candidate_share: float = 0.15  # ... and this share of the smaller document's fingerprints
    report_floor: float = 0.1  # pairs less similar than this are not reported
    max_pairs: int = 2000  # at most this many pairs reported
    workers: int = 1  # processes (forked) that tokenise and tile


@dataclass
class Document:
    key: str  # the caller's name for it (a submission id, "archive:NAME")
    files: list[tuple[str, str]]  # (name, text)
    current: bool = True  # False: from a past year's archive


@dataclass
class Region:
    """One tile: the lines it covers on each side (1-based, inclusive) and its tokens."""

    a_file: str
    a_first: int
    a_last: int
    b_file: str
    b_first: int
    b_last: int
    tokens: int


@dataclass
class Pair:
    a: str
    b: str
    similarity: float  # 2 · matched / (tokens of a + tokens of b)
    coverage_a: float  # matched / tokens of a
    coverage_b: float
    matched: int  # tokens in tiles
    regions: list[Region] = field(default_factory=list)


@dataclass
class Report:
    pairs: list[Pair]
    documents: int  # documents with source code
    without_code: list[str]  # keys of documents with no source file (not compared)
    candidates: int  # pairs tiled
    options: Options

    def as_json(self) -> dict:
        return asdict(self)


@dataclass
class _Prepared:
    document: Document
    tokens: Tokens
    names: list[str]
    hashes: list[int | None]
    marked: bytearray | None  # base code
    size: int  # tokens that count (not boundaries, not base code)
    fingerprints: dict[int, int]


def compare(
    documents: list[Document],
    base_files: list[tuple[str, str]] | None = None,
    options: Options | None = None,
    progress: Progress | None = None,
) -> Report:
    """Compare every pair worth it among ``documents`` (the module's steps). With
    ``options.workers`` > 1, steps 1-3 and 5 run in that many forked processes: call it so only
    from a process without threads (``python -m assay.similarity``)."""
    options = options or Options()
    report = progress or (lambda stage, done, total: None)
    k = options.min_match
    base = tokenise(base_files, len(documents))[0] if base_files else None
    base_hashes = kgram_hashes(base.kinds, k) if base else []
    base_fingerprints = set(winnow(base_hashes, options.window)) if base else set()
    _shared.update(
        documents=documents, options=options, base=(base, base_hashes, base_fingerprints)
    )
    try:
        n = len(documents)
        report(TOKENISING, 0, n)
        ready = _map(_prepare_one, range(n), options.workers, lambda done: report(TOKENISING, done, n))  # fmt: skip
        prepared = [p for p in ready if p is not None]
        without_code = [d.key for d, p in zip(documents, ready, strict=True) if p is None]
        candidates = _candidates(prepared, options)
        _shared["prepared"] = prepared
        m = len(candidates)
        report(COMPARING, 0, m)
        tiled = _map(_tile_one, candidates, options.workers, lambda done: report(COMPARING, done, m))  # fmt: skip
    finally:
        _shared.clear()
    pairs = [p for p in tiled if p.similarity >= options.report_floor]
    pairs.sort(key=lambda p: (-p.similarity, -p.matched, p.a, p.b))
    return Report(pairs[: options.max_pairs], len(prepared), without_code, m, options)


# what the worker processes need, set before they fork (and cleared after)
_shared: dict[str, Any] = {}
T = TypeVar("T")
R = TypeVar("R")


def _map(function: Callable[[T], R], items: Sequence[T], workers: int, tick: Callable[[int], None]) -> list[R]:  # fmt: skip
    """``[function(item) for item in items]``, in ``workers`` forked processes when it is worth
    it; ``tick(done)`` as results come (in order)."""
    out: list[R] = []
    if workers <= 1 or len(items) < 4 * workers:
        for item in items:
            out.append(function(item))
            tick(len(out))
        return out
    chunk = max(1, min(16, len(items) // (workers * 8)))
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for result in pool.imap(function, items, chunksize=chunk):
            out.append(result)
            tick(len(out))
    return out


def _prepare_one(index: int) -> _Prepared | None:
    document: Document = _shared["documents"][index]
    tokens, names = tokenise(document.files, index)
    if not names:
        return None
    base, base_hashes, base_fingerprints = _shared["base"]
    options: Options = _shared["options"]
    return _prepare(document, tokens, names, options.min_match, options, base, base_hashes, base_fingerprints)  # fmt: skip


def _tile_one(pair: tuple[int, int]) -> Pair:
    prepared: list[_Prepared] = _shared["prepared"]
    return _tile(prepared[pair[0]], prepared[pair[1]], _shared["options"].min_match)


def _prepare(
    document: Document, tokens: Tokens, names: list[str], k: int, options: Options,
    base: Tokens | None, base_hashes: list[int | None], base_fingerprints: set[int],
) -> _Prepared:  # fmt: skip
    hashes = kgram_hashes(tokens.kinds, k)
    marked = None
    if base is not None:
        marked = bytearray(len(tokens))
        for tile in greedy_string_tiling(tokens.kinds, base.kinds, k, hashes, base_hashes):
            marked[tile.a : tile.a + tile.length] = b"\x01" * tile.length
        hashes = kgram_hashes(tokens.kinds, k, marked)
    boundaries = sum(1 for kind in tokens.kinds if kind < 0)
    size = len(tokens) - boundaries - (sum(marked) if marked else 0)
    fingerprints = {
        h: p for h, p in winnow(hashes, options.window).items() if h not in base_fingerprints
    }
    return _Prepared(document, tokens, names, hashes, marked, size, fingerprints)


def _candidates(prepared: list[_Prepared], options: Options) -> list[tuple[int, int]]:
    """The pairs worth tiling (step 4), in index order."""
    holders: dict[int, list[int]] = {}
    for index, p in enumerate(prepared):
        for h in p.fingerprints:
            holders.setdefault(h, []).append(index)
    limit = max(options.common_limit_min, int(options.common_limit_share * len(prepared)))
    shared: dict[tuple[int, int], int] = {}
    for docs in holders.values():
        if 2 <= len(docs) <= limit:
            for pair in itertools.combinations(docs, 2):
                shared[pair] = shared.get(pair, 0) + 1
    out = []
    for (x, y), n in shared.items():
        px, py = prepared[x], prepared[y]
        if not (px.document.current or py.document.current):
            continue  # two past years' documents
        smaller = min(len(px.fingerprints), len(py.fingerprints)) or 1
        if n >= options.min_shared and n / smaller >= options.candidate_share:
            out.append((x, y))
    out.sort()
    return out


def _tile(x: _Prepared, y: _Prepared, k: int) -> Pair:
    a, b = x.tokens, y.tokens
    tiles = greedy_string_tiling(a.kinds, b.kinds, k, x.hashes, y.hashes, x.marked, y.marked)
    matched = sum(t.length for t in tiles)
    total = x.size + y.size
    return Pair(
        a=x.document.key,
        b=y.document.key,
        similarity=round(2 * matched / total, 4) if total else 0.0,
        coverage_a=round(matched / x.size, 4) if x.size else 0.0,
        coverage_b=round(matched / y.size, 4) if y.size else 0.0,
        matched=matched,
        regions=[_region(x, y, t) for t in tiles],
    )


def _region(x: _Prepared, y: _Prepared, tile: Tile) -> Region:
    a, b = x.tokens, y.tokens
    a_end, b_end = tile.a + tile.length - 1, tile.b + tile.length - 1
    return Region(
        a_file=x.names[a.files[tile.a]],
        a_first=a.first_lines[tile.a],
        a_last=max(a.last_lines[tile.a : a_end + 1]),
        b_file=y.names[b.files[tile.b]],
        b_first=b.first_lines[tile.b],
        b_last=max(b.last_lines[tile.b : b_end + 1]),
        tokens=tile.length,
    )
