"""Fitted parameters of the rankings, written by ``bench/relevance.py --fit`` (do not edit by hand).

Fitted on training queries only: SciFact train and the plain-language train split
(bench/data/plain_queries.jsonl) for search, CSFCube's official fold1 dev queries for similar
papers. docs/benchmarks.md "Relevance" has the held-out figures.
"""

# search: the embedding list's weight per query, sigmoid(bias + lex_slope * (lex_strength - lex_pivot)
# + dense_slope * (top_cosine - dense_pivot)); the embedding list scaled against max(top cosine,
# dense_floor); fusion.adaptive_alpha and fusion.fuse
SEARCH = {
    "bias": -0.25,
    "lex_slope": -2.0,
    "lex_pivot": 0.8,
    "dense_slope": 0.0,
    "dense_pivot": 0.55,
    "dense_floor": 0.4,
}

# similar papers: fusion.similar_scores
SIMILAR = {"w_title": 0.0, "w_lexical": 0.5}
