"""Greedy String Tiling (Wise, 1993: what JPlag scores with), with Karp-Rabin hashing of runs.

A tile is a run of equal tokens in both documents, at least ``min_match`` long, that overlaps no
other tile; the tiles are taken longest first, so a moved block (reordered functions) is found
as well as one left in place, and a block cut by inserted code is found as its pieces.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Tile:
    a: int  # first token in document a
    b: int  # first token in document b
    length: int  # tokens


def greedy_string_tiling(
    a: Sequence[int],
    b: Sequence[int],
    min_match: int,
    a_hashes: Sequence[int | None],
    b_hashes: Sequence[int | None],
    a_marked: bytearray | None = None,
    b_marked: bytearray | None = None,
) -> list[Tile]:
    """The tiles of ``a`` and ``b``; ``*_hashes``: the hash of the ``min_match`` tokens at each
    position (fingerprints.kgram_hashes), ``*_marked``: tokens that may not be part of a tile
    (base code; not changed). Rounds, until a round finds no run of ``min_match`` tokens:

    1. index the positions of ``b`` where ``min_match`` unmarked tokens start, by hash;
    2. for each such position of ``a``, look its hash up and extend each equal run as far as
       both sides stay equal and unmarked (only from where it starts: the run one token
       earlier would contain it);
    3. take the runs longest first, each that overlaps no tile taken so far; a run cut by a
       longer one is found again, shorter, in the next round.
    """
    ma = bytearray(a_marked) if a_marked is not None else bytearray(len(a))
    mb = bytearray(b_marked) if b_marked is not None else bytearray(len(b))
    tiles: list[Tile] = []
    k = min_match
    na, nb = len(a), len(b)
    while True:
        index: dict[int, list[int]] = {}
        for t in _free_starts(b_hashes, mb, k):
            index.setdefault(b_hashes[t], []).append(t)  # type: ignore[arg-type]
        if not index:
            break
        runs: list[tuple[int, int, int]] = []
        for i in _free_starts(a_hashes, ma, k):
            for t in index.get(a_hashes[i], ()):  # type: ignore[arg-type]
                if i and t and a[i - 1] == b[t - 1] and not ma[i - 1] and not mb[t - 1]:
                    continue  # not where the run starts
                if a[i : i + k] != b[t : t + k]:
                    continue  # a hash collision
                n = k
                while i + n < na and t + n < nb and a[i + n] == b[t + n] and not ma[i + n] and not mb[t + n]:  # fmt: skip
                    n += 1
                runs.append((n, i, t))
        if not runs:
            break
        runs.sort(key=lambda r: (-r[0], r[1], r[2]))
        for n, i, t in runs:
            if any(ma[i : i + n]) or any(mb[t : t + n]):
                continue
            ma[i : i + n] = b"\x01" * n
            mb[t : t + n] = b"\x01" * n
            tiles.append(Tile(i, t, n))
    tiles.sort(key=lambda tile: tile.a)
    return tiles


def _free_starts(hashes: Sequence[int | None], marked: bytearray, k: int) -> list[int]:
    """Positions where ``k`` unmarked tokens start (and a hash exists)."""
    out = []
    clean = 0
    n = len(hashes)
    # walk from the end: clean = unmarked tokens from here on
    for p in range(n - 1, -1, -1):
        clean = 0 if marked[p] else clean + 1
        if clean >= k and hashes[p] is not None:
            out.append(p)
    out.reverse()
    return out
