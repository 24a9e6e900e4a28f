"""Greedy String Tiling (Wise, 1993: what JPlag scores with), with Karp-Rabin hashing of runs.

A tile is a run of equal tokens in both documents, at least ``min_match`` long, that overlaps no
other tile; the tiles are taken longest first, so a moved block (reordered functions) is found
as well as one left in place, and a block cut by inserted code is found as its pieces.
"""

from __future__ import annotations

import heapq
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
    position, None where they may not start a tile (fingerprints.kgram_hashes, with the marked
    tokens excluded), ``*_marked``: tokens that may not be part of a tile (base code).

    1. Index the positions of ``b`` by hash; for each position of ``a`` with a hash, look it
       up and extend each equal run as far as both sides stay equal and unmarked, only from
       where the run starts (the run one token earlier would contain it): every maximal run of
       at least ``min_match`` tokens, once (Karp-Rabin: a run is found by its first hash).
    2. Take the runs longest first (a heap). A run that overlaps no tile becomes one. A run
       that does is cut by the tiles into what is left of it, and each part of at least
       ``min_match`` goes back into the heap: marks only grow, so a run never reaches past its
       ends, and no other run appears; nothing needs scanning again.
    """
    ma = bytearray(a_marked) if a_marked is not None else bytearray(len(a))
    mb = bytearray(b_marked) if b_marked is not None else bytearray(len(b))
    k = min_match
    na, nb = len(a), len(b)
    index: dict[int, list[int]] = {}
    for t, h in enumerate(b_hashes):
        if h is not None:
            index.setdefault(h, []).append(t)
    heap: list[tuple[int, int, int]] = []  # (-length, a, b)
    for i, h in enumerate(a_hashes):
        if h is None or h not in index:
            continue
        for t in index[h]:
            if i and t and a[i - 1] == b[t - 1] and not ma[i - 1] and not mb[t - 1]:
                continue  # not where the run starts
            if a[i : i + k] != b[t : t + k]:
                continue  # a hash collision
            n = k
            while i + n < na and t + n < nb and a[i + n] == b[t + n] and not ma[i + n] and not mb[t + n]:  # fmt: skip
                n += 1
            heap.append((-n, i, t))
    heapq.heapify(heap)
    tiles: list[Tile] = []
    while heap:
        n, i, t = heapq.heappop(heap)
        n = -n
        if not any(ma[i : i + n]) and not any(mb[t : t + n]):
            ma[i : i + n] = b"\x01" * n
            mb[t : t + n] = b"\x01" * n
            tiles.append(Tile(i, t, n))
            continue
        p = 0
        while p < n:  # the parts of the run still free on both sides
            if ma[i + p] or mb[t + p]:
                p += 1
                continue
            q = p
            while q < n and not ma[i + q] and not mb[t + q]:
                q += 1
            if q - p >= k:
                heapq.heappush(heap, (p - q, i + p, t + p))
            p = q
    tiles.sort(key=lambda tile: tile.a)
    return tiles
