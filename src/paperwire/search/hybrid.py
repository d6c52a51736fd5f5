"""SearchEngine: BM25 + embeddings fused into one ranking, filters, browsing, similar papers.

Reads the index snapshots the Indexer writes (in this process or another one) and picks up new
ones by itself (``reload``, at most every RELOAD_EVERY seconds from ``search``).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np

from .embed import get_query_embedder
from .fusion import DEFAULT_FUSION, DEFAULT_SIMILAR, FusionParams, SimilarParams, fuse, similar_scores
from .indexer import lexical_dir, vectors_dir
from .lexical import LexicalIndex, analyze, cosine, coverage, doc_terms, matched_terms, tfidf
from .query import dense_text, parse_query
from .types import Hit, ParsedQuery, SearchResults
from .vectors import VectorIndex, latest_snapshot

log = logging.getLogger(__name__)

CANDIDATES = 100  # per list, before fusion (more when the page asked for lies deeper)
FILTERED_DENSE_FACTOR = 10  # with filters the embedding list is over-fetched, then filtered
MAX_DENSE_CANDIDATES = 2_000
SIMILAR_CANDIDATES = 50  # neighbours per embedding list that similar() re-scores
RELOAD_EVERY = 1.0  # seconds
RESULTS_CACHE = 512  # recent searches kept (per process); see SearchEngine.search
# Papers found only by embedding, with a cosine below this, are dropped from the results: on
# SciFact train no relevant paper in the dense top 100 scored below 0.2, while nonsense queries
# ("asdf qwerty", "hello") top out around 0.2.
DENSE_MIN_SCORE = 0.2


_pool = None
_pool_lock = threading.Lock()


def _dense_pool() -> ThreadPoolExecutor:
    """The threads that embed queries and search vectors beside the BM25 search (one per process)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="paperwire-dense")
        return _pool


def fused_ranking(
    lex: list[tuple[int, float]], dense: list[tuple[int, float]], params: FusionParams, idf_sum: float | None
) -> list:
    """The BM25 and embedding lists of a query fused, less the papers only the embedding list holds,
    and weakly (dropped after fusion: the others keep the scores the fusion was tuned with)."""
    fused = fuse(lex, dense, params, idf_sum=idf_sum)
    weak = {pk for pk, score in dense if score < DENSE_MIN_SCORE}
    return [f for f in fused if f.lexical_rank is not None or f.pk not in weak]


class SearchEngine:
    def __init__(
        self,
        store,
        settings,
        *,
        embedder=None,
        fusion: FusionParams = DEFAULT_FUSION,
        similar_params: SimilarParams = DEFAULT_SIMILAR,
    ):
        self.store = store
        self.settings = settings
        self.fusion = fusion
        self.similar_params = similar_params
        self._embedder = embedder
        self.lexical = LexicalIndex(lexical_dir(settings))
        self._vectors: VectorIndex | None = None
        self._vec_key: tuple | None = None
        self._last_check = 0.0
        self._reload_lock = threading.Lock()
        # results of recent searches, keyed by the query and the index states they came from (the
        # BM25 index's seq, read per search: it is written in the same commit as the papers; the
        # vector snapshot's file key): new or changed papers make new keys, nothing stale is served.
        # 0 turns it off (bench/scale.py does, to time the indexes themselves).
        self.results_cache = RESULTS_CACHE
        self._results: OrderedDict[tuple, SearchResults] = OrderedDict()
        self._results_lock = threading.Lock()
        self.reload()

    @property
    def embedder(self):
        if self._embedder is None:
            self._embedder = get_query_embedder(self.settings)
        return self._embedder

    # -- snapshots -----------------------------------------------------------------------
    def reload(self) -> None:
        """Pick up the newest index snapshots; cheap (a stat) when nothing changed."""
        with self._reload_lock:
            self.lexical.reload()
            for _ in range(3):  # a snapshot can be replaced between listing and opening it
                snap = latest_snapshot(vectors_dir(self.settings))
                if snap is None:
                    break
                try:
                    st = os.stat(snap[1])
                    key = (snap[1], st.st_mtime_ns, st.st_size)
                    if key != self._vec_key:
                        self._vectors = VectorIndex.load(snap[1])
                        self._vec_key = key
                    break
                except (FileNotFoundError, RuntimeError) as e:
                    log.debug("vector snapshot %s vanished (%s); retrying", snap[1], e)
            self._last_check = time.monotonic()

    def _maybe_reload(self) -> None:
        if time.monotonic() - self._last_check >= RELOAD_EVERY:
            self.reload()

    @property
    def has_vectors(self) -> bool:
        return self._vectors is not None and len(self._vectors) > 0

    # -- search --------------------------------------------------------------------------
    def search(self, q: str, *, limit: int = 20, offset: int = 0) -> SearchResults:
        t0 = time.perf_counter()
        self._maybe_reload()
        pq = parse_query(q)
        limit = max(1, int(limit))
        offset = max(0, int(offset))
        hidden = self.store.community.hidden_pks()  # left out of every candidate list (search/hidden.py)
        if not pq.has_text:
            return self._browse(pq, limit, offset, t0, hidden)

        if not self.results_cache:
            return self._search(pq, limit, offset, t0, hidden)
        # hiding or un-hiding a paper changes the key too, so no cached result outlives it
        key = (q, limit, offset, self.lexical.seq(), self._vec_key, hidden)
        with self._results_lock:
            cached = self._results.get(key)
            if cached is not None:
                self._results.move_to_end(key)
        if cached is not None:
            return replace(cached, took_ms=(time.perf_counter() - t0) * 1000)
        results = self._search(pq, limit, offset, t0, hidden)
        with self._results_lock:
            self._results[key] = results
            while len(self._results) > self.results_cache:
                self._results.popitem(last=False)
        return results

    def _search(
        self, pq: ParsedQuery, limit: int, offset: int, t0: float, hidden: frozenset[int] = frozenset()
    ) -> SearchResults:
        n = max(CANDIDATES, offset + limit)
        terms = analyze(" ".join(pq.terms + pq.phrases))
        vectors = self._vectors
        dense: list[tuple[int, float]] = []
        qvec = None
        mode = "lexical"
        filtered = pq.has_filters or bool(pq.phrases)
        if vectors is not None and len(vectors) > 0:
            mode = "hybrid"
            # The query embedding + vector search run in a helper thread while BM25 runs here:
            # torch, faiss and tantivy all release the GIL, so a query costs the longer of the two
            # instead of their sum (1M papers: p50 12.8 -> 9.0 ms, p95 19.5 -> 12.9 ms for the pair).
            depth = min(MAX_DENSE_CANDIDATES, n * FILTERED_DENSE_FACTOR) if filtered else n

            def dense_search():
                v = self.embedder.encode_query(dense_text(pq))
                return v, vectors.search(v, depth, exclude=hidden)

            pending = _dense_pool().submit(dense_search)
            lex = self.lexical.search(terms, pq, k=n, exclude=hidden)
            qvec, dense = pending.result()
            if filtered:
                ok = self.lexical.passing(pq, [pk for pk, _ in dense])
                dense = [d for d in dense if d[0] in ok][:n]
        else:
            lex = self.lexical.search(terms, pq, k=n, exclude=hidden)
        idf = self.lexical.idf(terms)
        fused = fused_ranking(lex, dense, self.fusion, sum(idf.values()))
        page = fused[offset : offset + limit]
        papers = self.store.papers.get_many([f.pk for f in page])
        words = pq.terms + [w for ph in pq.phrases for w in ph.split()]
        cosines = self._cosines(qvec, dense, [f.pk for f in page if f.pk in papers])
        bm25 = dict(lex)
        hits = []
        for i, f in enumerate(page):
            paper = papers.get(f.pk)
            if paper is None:
                continue
            stems = doc_terms(paper.title, paper.abstract)
            hits.append(
                Hit(
                    paper=paper,
                    score=f.score,
                    lexical_rank=f.lexical_rank,
                    dense_rank=f.dense_rank,
                    matched_terms=matched_terms(words, paper.title, paper.abstract, stems),
                    cosine=cosines.get(f.pk),
                    bm25=bm25.get(f.pk),
                    bm25_coverage=coverage(idf, stems),
                    rank=offset + i + 1,
                )
            )
        return SearchResults(
            query=pq,
            hits=hits,
            offset=offset,
            limit=limit,
            total=len(fused),
            mode=mode,
            took_ms=(time.perf_counter() - t0) * 1000,
        )

    def _cosines(self, qvec, dense: list[tuple[int, float]], pks: list[int]) -> dict[int, float]:
        """Each paper's cosine to the query vector: from the embedding list where it is there, else
        from its stored embedding (a paper only BM25 found); none without a query vector."""
        if qvec is None:
            return {}
        got = {pk: float(s) for pk, s in dense}
        out = {pk: got[pk] for pk in pks if pk in got}
        missing = [pk for pk in pks if pk not in got]
        if missing:
            q = np.asarray(qvec, dtype=np.float32).ravel()
            for pk, blob in self.store.papers.embeddings(missing).items():
                v = np.frombuffer(blob, dtype=np.float32)
                if v.shape == q.shape:
                    out[pk] = float(v @ q)
        return out

    def _browse(
        self, pq: ParsedQuery, limit: int, offset: int, t0: float, hidden: frozenset[int] = frozenset()
    ) -> SearchResults:
        """Filters only (or nothing): the papers that pass, newest listing day first."""
        pks, total = self.lexical.browse(pq, limit, offset, exclude=hidden)
        papers = self.store.papers.get_many(pks)
        hits = [Hit(paper=papers[pk], score=0.0) for pk in pks if pk in papers]
        return SearchResults(
            query=pq,
            hits=hits,
            offset=offset,
            limit=limit,
            total=total,
            mode="browse",
            took_ms=(time.perf_counter() - t0) * 1000,
        )

    # -- similar papers ------------------------------------------------------------------
    def similar(self, paper_id: str, k: int = 10, *, depth: int | None = None) -> list[Hit]:
        """The papers nearest to this one by meaning and by words (fusion.similar_scores: its
        embedding's neighbours, re-scored with the TF-IDF cosine of their words);
        by BM25 on its title and abstract while it has no embedding yet. Never the paper itself,
        nor a hidden one. ``depth``: neighbours taken from each embedding list (default
        SIMILAR_CANDIDATES, at least 5 k)."""
        self._maybe_reload()
        pk = self.store.papers.pks_for([paper_id]).get(paper_id)
        if pk is None:
            return []
        hidden = self.store.community.hidden_pks()
        vectors = self._vectors
        paper = self.store.papers.get(paper_id)
        blob = self.store.papers.embeddings([pk]).get(pk) if vectors is not None else None
        if blob is None or len(blob) != 4 * vectors.dim or len(vectors) == 0:
            terms = analyze(f"{paper.title} {paper.abstract}")
            found = [(p, s) for p, s in self.lexical.search(terms, None, k=k + 1, exclude=hidden) if p != pk][:k]
            papers = self.store.papers.get_many([p for p, _ in found])
            return [
                Hit(paper=papers[p], score=s, lexical_rank=i + 1, bm25=s, rank=i + 1)
                for i, (p, s) in enumerate(found)
                if p in papers
            ]
        sig = self.similar_signals(
            pk, paper, np.frombuffer(blob, dtype=np.float32), max(depth or SIMILAR_CANDIDATES, 5 * k), hidden
        )
        if sig is None:
            return []
        cos_text, cos_title, words, dense_rank, papers = sig
        scores = similar_scores(cos_text, cos_title, words, self.similar_params)
        best = sorted(scores, key=lambda p: (-scores[p], dense_rank.get(p, 10**9)))[:k]
        return [
            Hit(paper=papers[p], score=scores[p], dense_rank=dense_rank.get(p), cosine=cos_text[p], rank=i + 1)
            for i, p in enumerate(best)
        ]

    def similar_signals(self, pk: int, paper, vec: np.ndarray, depth: int, hidden: frozenset[int] = frozenset()):
        """The candidates of similar() and their three signals: ({pk: cosine to the paper's
        embedding}, {pk: cosine to its title's}, {pk: TF-IDF cosine of the words}, {pk: rank by
        the paper's embedding}, {pk: Paper}); None without candidates. The title's cosines (and
        its neighbours) only while the title has a weight (SimilarParams.w_title)."""
        vectors = self._vectors
        # the title's embedding costs a query embedding per call: only made while it carries weight
        title_vec = (
            self.embedder.encode_query(paper.title) if paper.title.strip() and self.similar_params.w_title > 0 else None
        )
        by_text = [p for p, _ in vectors.search(vec, depth + 1, exclude=hidden) if p != pk]
        dense_rank = {p: i + 1 for i, p in enumerate(by_text[:depth])}
        cands = list(dense_rank)
        if title_vec is not None:
            cands += [
                p for p, _ in vectors.search(title_vec, depth + 1, exclude=hidden) if p != pk and p not in dense_rank
            ][:depth]
        # exact cosines from the stored vectors (the index may hold them quantised), and the words
        embs = self.store.papers.embeddings(cands)
        papers = self.store.papers.get_many(cands)
        cands = [p for p in cands if p in papers and len(embs.get(p, b"")) == 4 * vec.shape[0]]
        if not cands:
            return None
        mat = np.vstack([np.frombuffer(embs[p], dtype=np.float32) for p in cands])
        cos_text = dict(zip(cands, (mat @ vec).tolist(), strict=True))
        cos_title = dict(zip(cands, (mat @ title_vec).tolist(), strict=True)) if title_vec is not None else {}
        terms_of = {p: analyze(f"{papers[p].title} {papers[p].abstract}") for p in cands}
        own = analyze(f"{paper.title} {paper.abstract}")
        idf = self.lexical.idf(own + [t for ts in terms_of.values() for t in ts])
        mine = tfidf(own, idf)
        words = {p: cosine(mine, tfidf(ts, idf)) for p, ts in terms_of.items()}
        return cos_text, cos_title, words, dense_rank, papers
