"""k-gram hashes and winnowing (Schleimer, Wilkerson and Aiken, 2003: what MOSS does).

Every run of ``k`` consecutive tokens has a hash; of every ``window`` consecutive hashes, the
smallest (the rightmost of equal ones) is a fingerprint. Two documents that share a run of at
least ``k + window - 1`` tokens share at least one fingerprint; runs shorter than ``k`` (noise:
``i = 0 ;``) never count. A document keeps roughly 2 / (window + 1) of its hashes.
"""

from __future__ import annotations

from collections.abc import Sequence


def kgram_hashes(
    kinds: Sequence[int], k: int, excluded: bytearray | None = None
) -> list[int | None]:
    """The hash of the k tokens starting at each position (None where the run crosses a file
    boundary, an excluded token or the end). Deterministic across processes: a tuple of small
    integers hashes the same everywhere."""
    n = len(kinds)
    out: list[int | None] = [None] * n
    clean = 0  # consecutive usable tokens ending here
    for j in range(n):
        if kinds[j] < 0 or (excluded is not None and excluded[j]):
            clean = 0
            continue
        clean += 1
        if clean >= k:
            start = j - k + 1
            out[start] = hash(tuple(kinds[start : j + 1]))
    return out


def winnow(hashes: Sequence[int | None], window: int) -> dict[int, int]:
    """The fingerprints of a document: hash -> the first position it was selected at. Windows
    are taken over the usable hashes (None skipped), so a boundary costs no fingerprint."""
    usable = [(h, p) for p, h in enumerate(hashes) if h is not None]
    found: dict[int, int] = {}
    if not usable:
        return found
    if len(usable) <= window:
        h, p = min(usable, key=lambda hp: hp[0])
        return {h: p}
    values = [h for h, _ in usable]
    last = -1
    for start in range(len(values) - window + 1):
        chunk = values[start : start + window]
        low = min(chunk)
        at = start + window - 1 - chunk[::-1].index(low)  # the rightmost smallest
        if at != last:
            last = at
            found.setdefault(low, usable[at][1])
    return found
