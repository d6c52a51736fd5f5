"""Fusing the BM25 list and the embedding list into one ranking.

Hand-written: it is a few lines, and the libraries that offer it (ranx, etc.) would add a
dependency for one formula. Two methods, picked and tuned on SciFact *train* queries only
(bench/quality_scifact.py --tune):

  * rrf:    score = w_lex / (k + rank_lex) + w_dense / (k + rank_dense)   (reciprocal rank fusion)
  * convex: score = (1 - alpha) * bm25_norm + alpha * cosine_norm, each list min-max normalised to
            [0, 1] over its own candidates; a paper missing from a list gets 0 from it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FusionParams:
    method: str = "convex"
    k: float = 60.0  # rrf
    w_lex: float = 1.0  # rrf
    w_dense: float = 1.0  # rrf
    alpha: float = 0.5  # convex: weight of the embedding list


# Chosen on SciFact train (see docs/benchmarks.md, "Search quality").
DEFAULT_FUSION = FusionParams(method="convex", alpha=0.4)


@dataclass
class Fused:
    pk: int
    score: float
    lexical_rank: int | None
    dense_rank: int | None


def _minmax(items: list[tuple[int, float]]) -> dict[int, float]:
    if not items:
        return {}
    scores = [s for _, s in items]
    lo, hi = min(scores), max(scores)
    span = hi - lo
    return {pk: ((s - lo) / span if span > 0 else 1.0) for pk, s in items}


def fuse(
    lexical: list[tuple[int, float]], dense: list[tuple[int, float]], params: FusionParams = DEFAULT_FUSION
) -> list[Fused]:
    """Both inputs best-first [(pk, score)]; returns best-first fused list (ties: lexical rank)."""
    lex_rank = {pk: i + 1 for i, (pk, _) in enumerate(lexical)}
    dense_rank = {pk: i + 1 for i, (pk, _) in enumerate(dense)}
    pks = list(dict.fromkeys([pk for pk, _ in lexical] + [pk for pk, _ in dense]))
    if params.method == "rrf":

        def score(pk):
            s = 0.0
            if pk in lex_rank:
                s += params.w_lex / (params.k + lex_rank[pk])
            if pk in dense_rank:
                s += params.w_dense / (params.k + dense_rank[pk])
            return s
    else:
        ln, dn = _minmax(lexical), _minmax(dense)
        a = params.alpha if dense else 0.0
        if not lexical:
            a = 1.0

        def score(pk):
            return (1 - a) * ln.get(pk, 0.0) + a * dn.get(pk, 0.0)

    out = [Fused(pk, score(pk), lex_rank.get(pk), dense_rank.get(pk)) for pk in pks]
    out.sort(key=lambda f: (-f.score, f.lexical_rank or 10**9, f.dense_rank or 10**9))
    return out
