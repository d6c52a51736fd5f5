"""How well a paper matches a saved search: a calibrated probability, and the strictness bars.

A hit's fused score only orders one query's list; it says nothing about whether the best hit of a
day is any good. An alert needs a number that means the same for every query and every day, so a
paper is scored from three features that do:

  * ``cosine``: the query's embedding against the paper's (all-MiniLM-L6-v2, unit vectors);
  * ``coverage``: the share of the query's words (stemmed, IDF-weighted over the whole index)
    that occur in the title or abstract, 0..1;
  * ``rank``: the paper's place in the fused list of the candidates searched (1 = best).

They go through a logistic model fitted on training queries only (SciFact train + the
plain-language train split, ``bench/alerts.py --fit``, which writes ``match_params.py``);
nothing is fitted at run time. A saved search sends a paper when its probability reaches the bar
of the search's strictness.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np

from ..models import Paper
from . import match_params as P
from .lexical import TEXT_ANALYZER, analyze
from .query import dense_text, parse_query
from .types import Hit, ParsedQuery

STRICTNESS = ("broad", "normal", "strict")
DEFAULT_STRICTNESS = "normal"
STRICTNESS_TEXT = {
    "broad": "broad: anything that may match",
    "normal": "normal: papers that match",
    "strict": "strict: only clear matches",
}


@dataclass(frozen=True)
class Features:
    cosine: float | None  # None: the paper (or the query) has no embedding yet
    coverage: float
    rank: int


@dataclass(frozen=True)
class Scored:
    pk: int
    paper: Paper
    probability: float
    features: Features | None = None  # None for a query without words (filters only)


def threshold(strictness: str) -> float:
    return P.THRESHOLDS[strictness if strictness in P.THRESHOLDS else DEFAULT_STRICTNESS]


def probability(f: Features) -> float:
    """P(relevant) from the fitted model; words-only when the paper has no embedding."""
    if f.cosine is None:
        z = P.LEXICAL_INTERCEPT + P.LEXICAL_COEF[0] * f.coverage + P.LEXICAL_COEF[1] * math.log(f.rank)
    else:
        z = P.INTERCEPT + P.COEF[0] * f.cosine + P.COEF[1] * f.coverage + P.COEF[2] * math.log(f.rank)
    return 1.0 / (1.0 + math.exp(-z))


def passes(prob: float, strictness: str) -> bool:
    return prob >= threshold(strictness)


class Matcher:
    """Features and probabilities for one engine's hits. Caches the paper vectors and terms it
    reads (a digest run scores the same day's papers for many queries), so keep one per run."""

    def __init__(self, engine):
        self.engine = engine
        self._vecs: dict[int, np.ndarray | None] = {}
        self._terms: dict[int, frozenset[str]] = {}
        self._idf: dict[str, float] = {}
        self._lock = threading.Lock()

    # -- the pieces -----------------------------------------------------------------------
    def _query_vector(self, pq: ParsedQuery) -> np.ndarray | None:
        if not getattr(self.engine, "has_vectors", False):
            return None
        text = dense_text(pq)
        return np.asarray(self.engine.embedder.encode_query(text), dtype=np.float32) if text else None

    def _paper_vectors(self, pks: list[int]) -> dict[int, np.ndarray | None]:
        missing = [pk for pk in pks if pk not in self._vecs]
        if missing:
            blobs = self.engine.store.papers.embeddings(missing)
            with self._lock:
                for pk in missing:
                    blob = blobs.get(pk)
                    self._vecs[pk] = np.frombuffer(blob, dtype=np.float32) if blob else None
        return {pk: self._vecs.get(pk) for pk in pks}

    def _paper_terms(self, pk: int, hit: Hit) -> frozenset[str]:
        found = self._terms.get(pk)
        if found is None:
            found = frozenset(TEXT_ANALYZER.analyze(f"{hit.paper.title or ''} {hit.paper.abstract or ''}"))
            with self._lock:
                self._terms[pk] = found
        return found

    def _idfs(self, terms: list[str]) -> dict[str, float]:
        missing = [t for t in terms if t not in self._idf]
        if missing:
            s = self.engine.lexical.searcher()
            n = max(1, self.engine.lexical.num_papers())
            with self._lock:
                for t in missing:
                    df = s.doc_freq("text", t)
                    self._idf[t] = math.log(1 + (n - df + 0.5) / (df + 0.5))  # BM25's idf
        return {t: self._idf[t] for t in terms}

    # -- per query ------------------------------------------------------------------------
    def features(self, query: str | ParsedQuery, hits: list[Hit], pks: list[int]) -> list[Features]:
        """Features of ``hits`` (best first, as searched; ``pks`` their store keys)."""
        pq = parse_query(query) if isinstance(query, str) else query
        terms = list(dict.fromkeys(analyze(" ".join(pq.terms + pq.phrases))))
        idf = self._idfs(terms)
        total = sum(idf.values())
        qvec = self._query_vector(pq)
        vecs = self._paper_vectors(pks) if qvec is not None else {}
        out = []
        for rank, (pk, hit) in enumerate(zip(pks, hits, strict=True), start=1):
            have = self._paper_terms(pk, hit)
            coverage = sum(w for t, w in idf.items() if t in have) / total if total > 0 else 0.0
            v = vecs.get(pk)
            cosine = float(np.dot(qvec, v)) if qvec is not None and v is not None and len(v) == len(qvec) else None
            out.append(Features(cosine, coverage, rank))
        return out

    def probabilities(self, query: str | ParsedQuery, hits: list[Hit], pks: list[int]) -> list[float]:
        """P(relevant) per hit; 1.0 for every hit of a query without words (filters only:
        ``cat:cs.CL``, ``author:…``), whose hits match exactly."""
        pq = parse_query(query) if isinstance(query, str) else query
        if not pq.has_text:
            return [1.0] * len(hits)
        return [probability(f) for f in self.features(pq, hits, pks)]

    def search(self, query: str, limit: int) -> list[Scored]:
        """The engine's top ``limit`` hits for ``query`` with their store keys and probabilities,
        best first. A caller applies a strictness with ``passes``."""
        res = self.engine.search(query, limit=limit)
        pks = self.engine.store.papers.pks_for([h.paper.id for h in res.hits])
        hits = [h for h in res.hits if h.paper.id in pks]
        keys = [pks[h.paper.id] for h in hits]
        if not res.query.has_text:
            return [Scored(pk, h.paper, 1.0) for pk, h in zip(keys, hits, strict=True)]
        feats = self.features(res.query, hits, keys)
        return [Scored(pk, h.paper, probability(f), f) for pk, h, f in zip(keys, hits, feats, strict=True)]


__all__ = [
    "DEFAULT_STRICTNESS",
    "Features",
    "Matcher",
    "Scored",
    "STRICTNESS",
    "STRICTNESS_TEXT",
    "passes",
    "probability",
    "threshold",
]
