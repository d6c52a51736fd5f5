"""What the "for you" model reads from a paper: hashed words, hashed author names, its embedding.

Words and author names go through scikit-learn's HashingVectorizer: stateless, so nothing is fit on
the corpus and a paper's row never changes. A paper's row is computed once per process and kept
in a bounded cache (papers listed today are candidates for every reader), so a request pays only for
papers it has not seen yet. IDF weights are not part of the row: they come from the candidates of
a request (candidate_space), which are nearly the same for every reader's feed and are kept too.
"""

from __future__ import annotations

import itertools
import threading
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer

from paperwire.recommend.types import Doc

WORD_FEATURES = 2**20
AUTHOR_FEATURES = 2**18
CACHE_SIZE = 60_000  # rows kept per process: about 2 KB each
SPACES_KEEP = 2  # candidate sets kept ready (about 70 MB each for 20,000 papers)

# arxiv-sanity-lite's word recipe (lowercase, accents stripped, English stop words, 1-2 grams,
# tokens that start with a letter) without its corpus-wide vocabulary: hashing instead.
_words = HashingVectorizer(
    n_features=WORD_FEATURES,
    alternate_sign=False,
    norm=None,
    dtype=np.float32,
    strip_accents="unicode",
    lowercase=True,
    stop_words="english",
    token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b",
    ngram_range=(1, 2),
)


def author_key(name: str) -> str:
    """One token per author: the whole name, accents and case folded ("José  García" -> "jose garcia")."""
    s = unicodedata.normalize("NFKD", name)
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    return " ".join(s.lower().replace(".", " ").split())


_authors = HashingVectorizer(
    n_features=AUTHOR_FEATURES,
    alternate_sign=False,
    norm=None,
    dtype=np.float32,
    binary=True,
    analyzer=lambda names: [author_key(n) for n in names if n and n.strip()],
)


def doc_text(doc: Doc) -> str:
    return f"{doc.title or ''} {doc.abstract or ''}"


N_FEATURES = WORD_FEATURES + AUTHOR_FEATURES  # words first, then authors


@dataclass(frozen=True)
class _Row:
    key: int
    idx: np.ndarray  # int32 columns: words < WORD_FEATURES <= authors
    val: np.ndarray  # float32: words 1 + log(count) (sublinear tf), authors 1


_cache: OrderedDict[int, _Row] = OrderedDict()
_spaces: OrderedDict[int, Space] = OrderedDict()  # the last few candidate sets
_space_ids = itertools.count()
_lock = threading.Lock()


def _doc_key(doc: Doc) -> int:
    """Changes when the paper's text does (a new version). Cheap, as it runs for every candidate of
    every request: the title, the abstract's length and the number of authors (a new version that
    keeps all three keeps its old row until it leaves the cache)."""
    return hash((doc.title, len(doc.abstract or ""), len(doc.authors or ())))


def _compute(docs: list[Doc], keys: list[int]) -> list[_Row]:
    w = _words.transform([doc_text(d) for d in docs]).tocsr()
    a = _authors.transform([list(d.authors or ()) for d in docs]).tocsr()
    w.sum_duplicates()
    rows = []
    for i, k in enumerate(keys):
        ws, we = w.indptr[i], w.indptr[i + 1]
        as_, ae = a.indptr[i], a.indptr[i + 1]
        rows.append(
            _Row(
                k,
                np.r_[w.indices[ws:we], a.indices[as_:ae] + WORD_FEATURES].astype(np.int32),
                np.r_[1.0 + np.log(w.data[ws:we]), np.ones(ae - as_)].astype(np.float32),
            )
        )
    return rows


def rows_for(docs: list[Doc], keys: list[int] | None = None) -> list[_Row]:
    """The cached rows of ``docs`` (computed for the ones not cached or whose text changed)."""
    keys = keys if keys is not None else [_doc_key(d) for d in docs]
    out: list[_Row | None] = [None] * len(docs)
    missing: list[int] = []
    with _lock:
        for i, d in enumerate(docs):
            r = _cache.get(d.pk)
            if r is not None and r.key == keys[i]:
                _cache.move_to_end(d.pk)
                out[i] = r
            else:
                missing.append(i)
    if missing:
        fresh = _compute([docs[i] for i in missing], [keys[i] for i in missing])
        with _lock:
            for i, r in zip(missing, fresh, strict=True):
                out[i] = r
                _cache[docs[i].pk] = r
                _cache.move_to_end(docs[i].pk)
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    return out  # type: ignore[return-value]


def clear_cache() -> None:
    with _lock:
        _cache.clear()
        _spaces.clear()


def matrix(docs: list[Doc]) -> sp.csr_matrix:
    """One row per doc: sublinear word counts (columns < WORD_FEATURES) and author indicators."""
    rows = rows_for(docs)
    lengths = np.fromiter((len(r.idx) for r in rows), dtype=np.int64, count=len(rows))
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    indices = np.concatenate([r.idx for r in rows]) if rows else np.zeros(0, np.int32)
    data = np.concatenate([r.val for r in rows]) if rows else np.zeros(0, np.float32)
    return sp.csr_matrix((data, indices, indptr), shape=(len(rows), N_FEATURES))


def idf(m: sp.csr_matrix) -> np.ndarray:
    """Smoothed IDF of the word columns over the rows of ``m`` (scikit-learn's formula)."""
    n = m.shape[0]
    df = np.bincount(m.indices[m.indices < WORD_FEATURES], minlength=WORD_FEATURES)
    return (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32)


def tfidf(m: sp.csr_matrix, idf_: np.ndarray) -> sp.csr_matrix:
    """Words: tf-idf, L2-normalised over the word columns; author columns unchanged. A new matrix."""
    data = m.data.copy()
    word = m.indices < WORD_FEATURES
    data[word] *= idf_[m.indices[word]]
    row = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    norms = np.sqrt(np.bincount(row[word], weights=data[word].astype(np.float64) ** 2, minlength=m.shape[0]))
    norms[norms == 0] = 1.0
    data[word] /= norms[row[word]].astype(np.float32)
    return sp.csr_matrix((data, m.indices.copy(), m.indptr.copy()), shape=m.shape)


@dataclass(frozen=True)
class Space:
    """The candidates of a request, ready to score: tf-idf + author rows, the IDF they define,
    their vectors (zeros where missing) and which have one; ``rows``: pk -> (row, signature)."""

    x: sp.csr_matrix
    idf: np.ndarray
    vectors: np.ndarray
    has_vector: np.ndarray
    rows: dict[int, tuple[int, tuple]]

    def subset(self, docs: list[Doc], sigs: list[tuple]) -> Space | None:
        """This space restricted to ``docs`` (same IDF); docs not in it as they are now (a few: a
        reader's own saved papers, new versions) are computed on the spot. None when most are new."""
        idx = np.full(len(docs), -1, dtype=np.int64)
        for i, (d, sig) in enumerate(zip(docs, sigs, strict=True)):
            hit = self.rows.get(d.pk)
            if hit is not None and hit[1] == sig:
                idx[i] = hit[0]
        new = np.flatnonzero(idx < 0)
        if len(new) > max(50, len(docs) // 10):
            return None
        if not len(new) and len(idx) == self.x.shape[0] and np.array_equal(idx, np.arange(len(idx))):
            return self
        if not len(new):
            return Space(self.x[idx], self.idf, self.vectors[idx], self.has_vector[idx], {})
        new_docs = [docs[i] for i in new]
        x_new = tfidf(matrix(new_docs), self.idf)
        v_new, h_new = vector_matrix(new_docs, self.vectors.shape[1])
        # rows of the kept space first, then the new ones; ``order`` puts them back in docs' order
        old = np.flatnonzero(idx >= 0)
        order = np.empty(len(docs), dtype=np.int64)
        order[old] = np.arange(len(old))
        order[new] = len(old) + np.arange(len(new))
        x = sp.vstack([self.x[idx[old]], x_new], format="csr")[order]
        vec = np.concatenate([self.vectors[idx[old]], v_new])[order]
        has = np.concatenate([self.has_vector[idx[old]], h_new])[order]
        return Space(x, self.idf, vec, has, {})


def _signature(d: Doc) -> tuple:
    return (_doc_key(d), None if d.vector is None else (len(d.vector), float(d.vector[0])))


def candidate_space(docs: list[Doc]) -> Space:
    """The candidates' rows with IDF taken over the candidates themselves (the recent papers a feed
    ranks). Every reader's feed ranks the same pool of recent papers less the few that reader has
    saved, so the last few spaces are kept and a request whose candidates all sit unchanged in one
    of them takes those rows (a few milliseconds) instead of assembling its own."""
    sigs = [_signature(d) for d in docs]
    with _lock:
        kept = list(reversed(_spaces.items()))
    for ident, space in kept:
        sub = space.subset(docs, sigs)
        if sub is not None:
            with _lock:
                if ident in _spaces:
                    _spaces.move_to_end(ident)
            return sub
    raw = matrix(docs)
    idf_ = idf(raw)
    vec, has = vector_matrix(docs)
    s = Space(
        tfidf(raw, idf_), idf_, vec, has, {d.pk: (i, sig) for i, (d, sig) in enumerate(zip(docs, sigs, strict=True))}
    )
    with _lock:
        _spaces[next(_space_ids)] = s
        while len(_spaces) > SPACES_KEEP:
            _spaces.popitem(last=False)
    return s


def vector_matrix(docs: list[Doc], dim: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(n, dim) float32 vectors (zeros where missing) and a bool mask of the docs that have one.
    dim: the width wanted (default: that of the first vector); a vector of another width counts
    as missing."""
    if dim is None:
        dim = next((len(d.vector) for d in docs if d.vector is not None), 0)
    has = (
        np.array([d.vector is not None and len(d.vector) == dim for d in docs], dtype=bool)
        if dim
        else np.zeros(len(docs), dtype=bool)
    )
    m = np.zeros((len(docs), dim), dtype=np.float32)
    if has.any():
        m[has] = np.stack([d.vector for d, h in zip(docs, has, strict=True) if h]).astype(np.float32, copy=False)
    return m, has
