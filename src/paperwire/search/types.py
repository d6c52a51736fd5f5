"""Types shared by the search modules and their callers (web, CLI, API)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..models import Paper


@dataclass
class ParsedQuery:
    """A query string taken apart: ``transformer "in-context learning" author:vaswani cat:cs.CL
    after:2024-01-01 before:2024-12-31 has:code``."""

    text: str = ""  # the free text left after removing the operators and phrases
    terms: list[str] = field(default_factory=list)  # free-text words, lower-cased
    phrases: list[str] = field(default_factory=list)  # "quoted phrases"
    authors: list[str] = field(default_factory=list)  # author:name (all must match)
    categories: list[str] = field(default_factory=list)  # cat:cs.CL (any may match; cat:cs matches cs.*)
    date_from: str | None = None  # YYYY-MM-DD inclusive (after:, since:, date:FROM..TO)
    date_to: str | None = None  # YYYY-MM-DD inclusive (before:, until:)
    has_code: bool = False  # has:code
    errors: list[str] = field(default_factory=list)  # what could not be understood, for the user

    @property
    def has_text(self) -> bool:
        return bool(self.terms or self.phrases)

    @property
    def has_filters(self) -> bool:
        return bool(self.authors or self.categories or self.date_from or self.date_to or self.has_code)


@dataclass
class Hit:
    paper: Paper
    score: float  # fused score, higher is better
    lexical_rank: int | None = None  # 1-based rank in the BM25 list, None when absent
    dense_rank: int | None = None  # 1-based rank in the embedding list, None when absent
    matched_terms: list[str] = field(default_factory=list)  # words to highlight
    # What the ranking saw, for callers that judge a match themselves (alert thresholds): the
    # paper's cosine to the query embedding (None without one), its BM25 score (None when BM25 did
    # not find it), the share of the query's words it contains weighted by their IDF (0..1), and
    # its 1-based place in the fused ranking.
    cosine: float | None = None
    bm25: float | None = None
    bm25_coverage: float = 0.0
    rank: int | None = None


@dataclass
class SearchResults:
    query: ParsedQuery
    hits: list[Hit]
    offset: int
    limit: int
    total: int  # number of candidates (an estimate for pure-text queries: the fused list length)
    mode: str = "hybrid"  # 'hybrid' | 'lexical' (no embeddings yet) | 'browse' (filters only)
    took_ms: float = 0.0
