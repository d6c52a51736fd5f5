"""Leaving the papers a curator hid out of a BM25 candidate list (LexicalIndex.search).

The engine asks the store for the hidden pks on every search (store.hidden_pks) and passes them
to both indexes, so they are left out in the candidate step, before fusion, and a hidden paper
reaches no reader path that goes through the engine (pages, API, feeds, similar papers, digests,
the CLI); un-hiding brings it back on the next search. Hiding is a query-time rule, not an index
one: neither index changes when a curator hides or un-hides a paper. The vector index leaves
them out while faiss scans (an ID selector, vectors.py); tantivy has no such hook, and a MustNot
clause over the hidden pks turns off block-max WAND and looks up every excluded term on each
query (bench/hidden_search.py, 100k papers: 1.9x the BM25 time with 10 hidden, 9x with 1,000).
A hidden paper is rarely among a query's top k, so asking for k and, only when one was there,
again a little deeper costs nothing in the usual case and is still exact.
"""

from __future__ import annotations

from collections.abc import Callable

Ranked = list[tuple[int, float]]


def without_hidden(search: Callable[[int], Ranked], k: int, hidden: frozenset[int]) -> Ranked:
    """``search(n)`` (the best n (pk, score) pairs, best first) minus the hidden pks: the exact top
    k of the visible papers (fewer only when fewer match). When hidden papers took places, it asks
    again a little deeper (twice the places still missing), never deeper than k + len(hidden),
    which always holds k visible ones: a hit costs one more search of about k, not of k + all."""
    want = k
    while True:
        found = search(want)
        if not hidden:
            return found
        kept = [f for f in found if f[0] not in hidden]
        if len(kept) >= k or len(found) < want or want >= k + len(hidden):
            return kept[:k]
        want = min(k + len(hidden), want + 2 * (k - len(kept)))
