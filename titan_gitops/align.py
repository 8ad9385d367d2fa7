"""Which items of two lists correspond: the pairing a diff shows and breaking checks follow. Pure.

Items are aligned by their canonical JSON (difflib), so an inserted or removed item shifts no
other. Inside a run of replaced items, an item is paired with the most alike one on the other side
(the most top-level entries in common), in order, so a step inserted next to a changed step is
shown as added, not as a rewrite of its neighbour.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator, Sequence
from typing import Any

# A run of replaced items larger than this (old items times new ones) is paired in order: the
# best pairing costs that many comparisons, and so long a run is no edit a person makes by hand.
_BEST_PAIRING_CELLS = 2_500


def pair_items(a: Sequence[Any], b: Sequence[Any]) -> Iterator[tuple[int | None, int | None]]:
    """The items of two lists that differ, paired as a diff shows them; unchanged ones left out.

    Yields (i, j) for `a[i]` changed into `b[j]`, (i, None) for `a[i]` removed and (None, j) for
    `b[j]` added, run by run: pairs, then removals, then additions.
    """
    keys_a = [json.dumps(item, sort_keys=True) for item in a]
    keys_b = [json.dumps(item, sort_keys=True) for item in b]
    matcher = difflib.SequenceMatcher(a=keys_a, b=keys_b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            yield from _pair_run(a, b, range(i1, i2), range(j1, j2))


def _pair_run(
    a: Sequence[Any], b: Sequence[Any], old: range, new: range
) -> Iterator[tuple[int | None, int | None]]:
    """One run of replaced items: the pairing with the most in common, in order."""
    if len(old) * len(new) > _BEST_PAIRING_CELLS or not (old and new):
        paired = min(len(old), len(new))
        pairs = [(old[k], new[k]) for k in range(paired)]
    else:
        pairs = _best_pairs(a, b, old, new)
    yield from pairs
    matched_old = {i for i, _ in pairs}
    matched_new = {j for _, j in pairs}
    yield from ((i, None) for i in old if i not in matched_old)
    yield from ((None, j) for j in new if j not in matched_new)


def _alike(x: Any, y: Any) -> int:
    """How alike two items are: their equal top-level entries (1 for equal plain values)."""
    if isinstance(x, dict) and isinstance(y, dict):
        return sum(1 for k, v in x.items() if k in y and y[k] == v)
    return int(x == y)


def _best_pairs(
    a: Sequence[Any], b: Sequence[Any], old: range, new: range
) -> list[tuple[int, int]]:
    """Pairs (in order on both sides) with the most entries in common; as many as can pair."""
    n, m = len(old), len(new)
    # score[p][q]: (pairs made, entries in common) pairing old[p:] with new[q:]; more pairs first.
    score = [[(0, 0)] * (m + 1) for _ in range(n + 1)]
    for p in range(n - 1, -1, -1):
        for q in range(m - 1, -1, -1):
            made, common = score[p + 1][q + 1]
            take = (made + 1, common + _alike(a[old[p]], b[new[q]]))
            score[p][q] = max(take, score[p + 1][q], score[p][q + 1])
    pairs: list[tuple[int, int]] = []
    p = q = 0
    while p < n and q < m:
        made, common = score[p + 1][q + 1]
        if score[p][q] == (made + 1, common + _alike(a[old[p]], b[new[q]])):
            pairs.append((old[p], new[q]))
            p, q = p + 1, q + 1
        elif score[p][q] == score[p + 1][q]:
            p += 1
        else:
            q += 1
    return pairs
