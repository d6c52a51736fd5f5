"""Leaving the papers a curator hid out of a ranked candidate list (BM25 or embedding).

The engine asks the store for the hidden pks on every search (store.hidden_pks) and drops them
here, in the candidate step, so a hidden paper reaches no reader path that goes through the
engine (pages, API, feeds, similar papers, digests, the CLI), and un-hiding brings it back on the
next search. Hiding is a query-time rule, not an index one: neither index changes when a curator
hides or un-hides a paper.

Why not an exclusion clause in the BM25 query: a tantivy MustNot over the hidden pks turns off
block-max WAND and looks up every excluded term on each query; a hidden paper is rarely among a
query's top k, so asking once for k and, only when one was, once more for k + len(hidden) costs
nothing in the usual case and is still exact.
"""

from __future__ import annotations

from typing import Callable

Ranked = list[tuple[int, float]]


def without_hidden(search: Callable[[int], Ranked], k: int, hidden: frozenset[int]) -> Ranked:
    """``search(k)`` (the best k (pk, score) pairs) minus the hidden pks, still k long when that
    many visible papers match: the exact top k of the visible ones."""
    found = search(k)
    if not hidden:
        return found
    kept = [f for f in found if f[0] not in hidden]
    if len(kept) < len(found) and len(found) >= k:  # a hidden one took a place: deeper, once
        kept = [f for f in search(k + len(hidden)) if f[0] not in hidden]
    return kept[:k]
