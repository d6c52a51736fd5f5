"""Fusing the BM25 list and the embedding list into one ranking, and the signals of similar papers.

Hand-written: it is a few lines, and the libraries that offer it (ranx, etc.) would add a
dependency for one formula. Methods (bench/relevance.py measures them on four collections):

  * adaptive (the default): convex, with the embedding list's weight set per query from how well
    BM25 matched it: alpha = sigmoid(bias + lex_slope * (lex_strength - lex_pivot)
    + dense_slope * (top_cosine - dense_pivot)), where lex_strength is the best BM25 score divided
    by the sum of the query terms' IDF (a paper holding every query word once scores about 1-2, one
    matching only common words far less) and top_cosine is the best embedding score. A query worded
    like the papers leans on BM25; one worded the way a person asks ("a model that checks its own
    answers") matches few words well and leans on the embeddings, where a fixed weight let weak
    word matches drag good embedding hits down. Parameters: search/fitted.py.
  * convex: score = (1 - alpha) * bm25_norm + alpha * cosine_norm, each list min-max normalised to
    [0, 1] over its own candidates; a paper missing from a list gets 0 from it.
  * rrf:    score = w_lex / (k + rank_lex) + w_dense / (k + rank_dense)   (reciprocal rank fusion)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from . import fitted


@dataclass(frozen=True)
class FusionParams:
    method: str = "convex"
    k: float = 60.0  # rrf
    w_lex: float = 1.0  # rrf
    w_dense: float = 1.0  # rrf
    alpha: float = 0.5  # convex: weight of the embedding list
    # adaptive (see the module docstring)
    bias: float = 0.0
    lex_slope: float = 0.0
    lex_pivot: float = 0.8
    dense_slope: float = 0.0
    dense_pivot: float = 0.55
    # adaptive: the embedding list is scaled to [0, 1] against max(its best cosine, dense_floor), so
    # a list whose best paper is only weakly related stays weak instead of counting 1.0 at its top
    dense_floor: float = 0.0


DEFAULT_FUSION = FusionParams(method="adaptive", **fitted.SEARCH)
# What search fused with before the adaptive weights: chosen on SciFact train alone.
FIXED_FUSION = FusionParams(method="convex", alpha=0.4)


@dataclass
class Fused:
    pk: int
    score: float
    lexical_rank: int | None
    dense_rank: int | None


def _minmax(items: list[tuple[int, float]], floor: float = float("-inf")) -> dict[int, float]:
    if not items:
        return {}
    scores = [s for _, s in items]
    lo, hi = min(scores), max(max(scores), floor)
    span = hi - lo
    return {pk: ((s - lo) / span if span > 0 else 1.0) for pk, s in items}


def adaptive_alpha(
    lexical: list[tuple[int, float]], dense: list[tuple[int, float]], params: FusionParams, idf_sum: float | None
) -> float:
    """The embedding list's weight for one query (adaptive fusion); without ``idf_sum`` (the sum of
    the query terms' IDF) BM25's strength counts as average."""
    strength = lexical[0][1] / idf_sum if lexical and idf_sum else params.lex_pivot
    top_cos = dense[0][1] if dense else params.dense_pivot
    x = (
        params.bias
        + params.lex_slope * (strength - params.lex_pivot)
        + params.dense_slope * (top_cos - params.dense_pivot)
    )
    return 1.0 / (1.0 + math.exp(-x))


def fuse(
    lexical: list[tuple[int, float]],
    dense: list[tuple[int, float]],
    params: FusionParams = DEFAULT_FUSION,
    *,
    idf_sum: float | None = None,
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
        adaptive = params.method == "adaptive"
        ln, dn = _minmax(lexical), _minmax(dense, params.dense_floor if adaptive else float("-inf"))
        a = adaptive_alpha(lexical, dense, params, idf_sum) if params.method == "adaptive" else params.alpha
        if not dense:
            a = 0.0
        if not lexical:
            a = 1.0

        def score(pk):
            return (1 - a) * ln.get(pk, 0.0) + a * dn.get(pk, 0.0)

    out = [Fused(pk, score(pk), lex_rank.get(pk), dense_rank.get(pk)) for pk in pks]
    out.sort(key=lambda f: (-f.score, f.lexical_rank or 10**9, f.dense_rank or 10**9))
    return out


@dataclass(frozen=True)
class SimilarParams:
    # Weight of the cosine to the paper's title's embedding, beside its whole text's (1). 0: on
    # CSFCube the title helped one fold and hurt the other (2-fold cross-validated NDCG@20 0.553
    # with it, 0.557 without), and it costs a query embedding and a second vector search per call.
    w_title: float = 0.0
    w_lexical: float = 0.5  # weight of the words (TF-IDF cosine of title + abstract)


DEFAULT_SIMILAR = SimilarParams(**fitted.SIMILAR)


def similar_scores(
    cos_text: dict[int, float],
    cos_title: dict[int, float],
    lexical: dict[int, float],
    params: SimilarParams = DEFAULT_SIMILAR,
) -> dict[int, float]:
    """Similar papers by three signals, each a cosine in [-1, 1] per candidate pk: to the paper's
    embedding, to its title's embedding (the title says what a paper is about in a few words, where
    the text embedding also carries the abstract's setting and results), and of the words
    (TF-IDF). A signal missing for a candidate counts 0."""
    wt = params.w_title if cos_title else 0.0
    out = {}
    for pk in cos_text.keys() | cos_title.keys() | lexical.keys():
        dense = (cos_text.get(pk, 0.0) + wt * cos_title.get(pk, 0.0)) / (1.0 + wt)
        out[pk] = (1.0 - params.w_lexical) * dense + params.w_lexical * lexical.get(pk, 0.0)
    return out
