"""The BM25 engine: a tantivy index of titles, abstracts and the fields the filters need.

Why tantivy (see docs/benchmarks.md, "Search quality"): same BM25 quality as bm25s / SQLite FTS5
on SciFact, and block-max WAND top-k pruning keeps OR queries fast on a million abstracts, where
FTS5 must score every matching row. Filters (author, category, date, has:code, phrases) are
tantivy queries too, so a filtered text search still returns the true top-k.

Crash safety: the index's seq (every paper change up to it is indexed) is stored *inside* the
index as a marker document (pk = -1) that is replaced in the same commit as the papers, so the
recorded seq can never run ahead of what is durably committed.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import shutil
import threading
from collections.abc import Iterable
from pathlib import Path

import tantivy as T

from ..authors.names import plain as plain_name
from ..models import Paper
from .hidden import without_hidden
from .locks import index_lock
from .types import ParsedQuery

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3  # 3: author names indexed TeX-decoded (authors/names.plain)
MARKER_PK = -1  # the document that carries the index's seq
IDF_CACHE = 200_000  # terms whose IDF is kept (per document count)
TITLE_BOOST = 0.25  # extra weight of title matches; chosen on SciFact train (bench/quality_scifact.py --tune)


def _analyzer(stopwords: bool) -> T.TextAnalyzer:
    b = T.TextAnalyzerBuilder(T.Tokenizer.simple()).filter(T.Filter.remove_long(40)).filter(T.Filter.lowercase())
    b = b.filter(T.Filter.ascii_fold())
    if stopwords:
        b = b.filter(T.Filter.stopword("english"))
    return b.filter(T.Filter.stemmer("english")).build()


TEXT_ANALYZER = _analyzer(stopwords=True)
_PHRASE_ANALYZER = _analyzer(stopwords=False)  # keeps every word, to know stopword positions
NAME_ANALYZER = (
    T.TextAnalyzerBuilder(T.Tokenizer.simple()).filter(T.Filter.lowercase()).filter(T.Filter.ascii_fold()).build()
)


def analyze(text: str) -> list[str]:
    """Text -> the index's terms (lower-cased, stopwords out, Porter2-stemmed)."""
    return TEXT_ANALYZER.analyze(text or "")


@functools.lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """One word -> its index term, or '' for a stopword."""
    a = TEXT_ANALYZER.analyze(word)
    return a[0] if a else ""


def _schema() -> T.Schema:
    sb = T.SchemaBuilder()
    sb.add_integer_field("pk", stored=True, indexed=True, fast=True)
    sb.add_text_field("text", tokenizer_name="pw_en")  # title and abstract: what BM25 ranks
    sb.add_text_field("title", tokenizer_name="pw_en", index_option="freq")  # for the title boost
    sb.add_text_field("authors", tokenizer_name="pw_name")
    sb.add_text_field("cats", tokenizer_name="raw", index_option="basic")
    sb.add_integer_field("day", indexed=True, fast=True)  # YYYYMMDD of the listing day
    sb.add_integer_field("code", indexed=True, fast=True)  # 1 when the paper links code
    sb.add_integer_field("seq", stored=True)  # only on the marker document
    return sb.build()


def _day_int(day: str | None) -> int:
    if not day:
        return 0
    try:
        return int(day[:10].replace("-", ""))
    except ValueError:
        return 0


def _cat_terms(categories: list[str]) -> list[str]:
    """cs.CL -> ['cs.cl', 'cs'] so that cat:cs matches every cs.* paper with one term lookup."""
    out: list[str] = []
    for c in categories:
        c = c.strip().lower()
        if c:
            out.append(c)
            out.append(c.split(".", 1)[0])
    return list(dict.fromkeys(out))


class LexicalIndex:
    """One tantivy index directory. Readers and the (single, file-locked) writer share this class."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.schema = _schema()
        self._lock = threading.RLock()
        self._idf_cache: dict[str, float] = {}
        self._idf_n = -1
        with index_lock(self.path.parent, "lexical"):  # two processes may create it at once
            self._open()

    def _open(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        version_file = self.path / "paperwire-schema"
        if (self.path / "meta.json").exists():
            ok = version_file.exists() and version_file.read_text().strip() == str(SCHEMA_VERSION)
            if not ok:  # an index from another schema: it is derived data, start again
                log.warning("lexical index at %s has an old schema; recreating it", self.path)
                shutil.rmtree(self.path)
                self.path.mkdir(parents=True)
        exists = (self.path / "meta.json").exists()
        self.index = T.Index(self.schema, path=str(self.path), reuse=exists)
        if not exists:
            version_file.write_text(str(SCHEMA_VERSION))
        self.index.register_tokenizer("pw_en", TEXT_ANALYZER)
        self.index.register_tokenizer("pw_name", NAME_ANALYZER)
        self.index.reload()

    # -- reading -----------------------------------------------------------------------
    def reload(self) -> None:
        with self._lock:
            self.index.reload()

    def searcher(self) -> T.Searcher:
        return self.index.searcher()

    def seq(self) -> int:
        s = self.searcher()
        res = s.search(T.Query.term_query(self.schema, "pk", MARKER_PK), 1)
        if not res.hits:
            return 0
        return int(s.doc(res.hits[0][1])["seq"][0])

    def idf(self, terms: list[str]) -> dict[str, float]:
        """BM25's inverse document frequency of each distinct analyzed term (Lucene's formula,
        the one tantivy scores with): rare words weigh more. Kept per number of documents, so
        similar papers (hundreds of terms a call) look each term up once."""
        s = self.searcher()
        n = max(1, int(s.num_docs))
        with self._lock:
            if self._idf_n != n:
                self._idf_cache, self._idf_n = {}, n
            cache = self._idf_cache
        out = {}
        for t in dict.fromkeys(terms):
            w = cache.get(t)
            if w is None:
                df = int(s.doc_freq("text", t))
                w = math.log(1 + (n - df + 0.5) / (df + 0.5))
                if len(cache) < IDF_CACHE:
                    cache[t] = w
            out[t] = w
        return out

    def num_papers(self) -> int:
        res = self.searcher().search(T.Query.boolean_query([self._papers_only()]), 1, count=True)
        return int(res.count or 0)

    # -- writing (caller holds the cross-process file lock) ------------------------------
    def _doc(self, pk: int, p: Paper) -> T.Document:
        d = T.Document(
            pk=pk,
            text=f"{p.title or ''}\n{p.abstract or ''}",
            title=p.title or "",
            day=_day_int(p.day),
            code=1 if p.code_url else 0,
        )
        for a in p.authors:  # TeX accents as letters, so Bal\\'azs is found as Balázs
            d.add_text("authors", plain_name(a))
        for c in _cat_terms(p.categories):
            d.add_text("cats", c)
        return d

    def write(self, papers: Iterable[tuple[int, Paper]], seq: int, *, clear: bool = False) -> int:
        """Replace these papers (delete by pk + add) and record ``seq``, in one commit.
        With ``clear``, everything else is dropped in the same commit (a rebuild)."""
        n = 0
        with self._lock:
            self.index.reload()
            writer = self.index.writer(64_000_000, 1)
            try:
                if clear:
                    writer.delete_all_documents()
                for pk, p in papers:
                    if not clear:
                        writer.delete_documents_by_term("pk", pk)
                    writer.add_document(self._doc(pk, p))
                    n += 1
                writer.delete_documents_by_term("pk", MARKER_PK)
                writer.add_document(T.Document(pk=MARKER_PK, seq=int(seq)))
                writer.commit()
            except BaseException:
                writer.rollback()
                raise
            finally:
                writer.wait_merging_threads()
            self.index.reload()
        return n

    # -- queries -----------------------------------------------------------------------
    def _text_query(self, terms: list[str]) -> T.Query | None:
        # One BM25 over title + abstract as a single field (0.68 nDCG@10 on SciFact vs 0.66 when
        # title and abstract are scored as two fields and summed), plus an optional title boost.
        clauses = []
        for t in dict.fromkeys(terms):
            clauses.append((T.Occur.Should, T.Query.term_query(self.schema, "text", t, index_option="freq")))
            if TITLE_BOOST > 0:
                q = T.Query.term_query(self.schema, "title", t, index_option="freq")
                clauses.append((T.Occur.Should, T.Query.boost_query(q, TITLE_BOOST)))
        return T.Query.boolean_query(clauses) if clauses else None

    def _phrase_query(self, phrase: str) -> T.Query | None:
        # Stopwords are not in the index, but tantivy keeps the other words at their original
        # positions, so the phrase is matched as (term, offset) pairs that skip the stopwords.
        words = [(i, stem(w)) for i, w in enumerate(NAME_ANALYZER.analyze(phrase))]
        kept = [(i, t) for i, t in words if t]
        if not kept:
            return None
        if len(kept) == 1:
            t = kept[0][1]
            return T.Query.term_query(self.schema, "text", t)
        base = kept[0][0]
        return T.Query.phrase_query(self.schema, "text", [(i - base, t) for i, t in kept])

    def filter_clauses(self, pq: ParsedQuery) -> list:
        """Must-clauses for the query's filters and phrases (empty when it has none)."""
        must = []
        for a in pq.authors:
            words = NAME_ANALYZER.analyze(plain_name(a))
            if len(words) == 1:
                must.append(T.Query.term_query(self.schema, "authors", words[0]))
            elif words:
                must.append(T.Query.phrase_query(self.schema, "authors", words))
        if pq.categories:
            cats = [c.strip().lower() for c in pq.categories]
            must.append(T.Query.term_set_query(self.schema, "cats", cats))
        if pq.date_from or pq.date_to:
            must.append(
                T.Query.range_query(
                    self.schema,
                    "day",
                    T.FieldType.Integer,
                    _day_int(pq.date_from) if pq.date_from else None,
                    _day_int(pq.date_to) if pq.date_to else None,
                )
            )
        if pq.has_code:
            must.append(T.Query.term_query(self.schema, "code", 1))
        for ph in pq.phrases:
            q = self._phrase_query(ph)
            if q is not None:
                must.append(q)
        return [(T.Occur.Must, q) for q in must]

    def _papers_only(self) -> tuple:
        return (T.Occur.Must, T.Query.range_query(self.schema, "pk", T.FieldType.Integer, 0, None, include_lower=False))

    def search(
        self, terms: list[str], pq: ParsedQuery | None = None, k: int = 100, exclude: frozenset[int] = frozenset()
    ) -> list[tuple[int, float]]:
        """BM25 top-k for already-analyzed ``terms`` within the query's filters: [(pk, score)];
        ``exclude``: pks left out (the hidden papers), still k long when enough others match."""
        text = self._text_query(terms)
        filters = self.filter_clauses(pq) if pq is not None else []
        if text is None:
            return []
        q = T.Query.boolean_query([(T.Occur.Must, text)] + filters) if filters else text

        def top(n: int) -> list[tuple[int, float]]:
            s = self.searcher()
            res = s.search(q, n, count=False)
            pks = s.fast_field_values("pk", [h[1] for h in res.hits])
            return [(int(pk), float(h[0])) for pk, h in zip(pks, res.hits, strict=True) if pk is not None and pk > 0]

        return without_hidden(top, k, exclude)

    def browse(
        self, pq: ParsedQuery, limit: int, offset: int, exclude: frozenset[int] = frozenset()
    ) -> tuple[list[int], int]:
        """Papers passing the filters, newest listing day first, and how many pass; ``exclude``:
        pks left out of both (the hidden papers: a clause here, so pages and the count stay exact;
        this list is sorted by day, not ranked, so no top-k pruning is lost)."""
        clauses = [self._papers_only()] + self.filter_clauses(pq)
        if exclude:
            clauses.append((T.Occur.MustNot, T.Query.term_set_query(self.schema, "pk", sorted(exclude))))
        q = T.Query.boolean_query(clauses)
        s = self.searcher()
        res = s.search(q, limit, count=True, order_by_field="day", offset=offset)
        pks = s.fast_field_values("pk", [h[1] for h in res.hits])
        return [int(pk) for pk in pks if pk is not None], int(res.count or 0)

    def passing(self, pq: ParsedQuery, pks: list[int]) -> set[int]:
        """Which of ``pks`` pass the query's filters (used to filter the embedding list)."""
        filters = self.filter_clauses(pq)
        if not filters or not pks:
            return set(pks)
        q = T.Query.boolean_query([(T.Occur.Must, T.Query.term_set_query(self.schema, "pk", list(pks)))] + filters)
        s = self.searcher()
        res = s.search(q, len(pks), count=False)
        return {int(v) for v in s.fast_field_values("pk", [h[1] for h in res.hits]) if v is not None}


_TOKEN_RE = re.compile(r"\w+", re.UNICODE)


def doc_terms(title: str, abstract: str) -> set[str]:
    """The index terms of a paper's title and abstract."""
    return set(TEXT_ANALYZER.analyze(f"{title} {abstract}"))


def coverage(idf: dict[str, float], terms: set[str]) -> float:
    """The IDF-weighted share of the query's terms (``idf``: LexicalIndex.idf) among ``terms``."""
    total = sum(idf.values())
    return sum(w for t, w in idf.items() if t in terms) / total if total > 0 else 0.0


def tfidf(terms: list[str], idf: dict[str, float]) -> dict[str, float]:
    """A unit-length TF-IDF vector of analyzed terms (sublinear tf: 1 + ln tf)."""
    counts: dict[str, int] = {}
    for t in terms:
        counts[t] = counts.get(t, 0) + 1
    vec = {t: (1.0 + math.log(c)) * idf.get(t, 0.0) for t, c in counts.items()}
    norm = math.sqrt(sum(v * v for v in vec.values()))
    return {t: v / norm for t, v in vec.items()} if norm > 0 else {}


def cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(t, 0.0) for t, v in a.items())


def matched_terms(query_words: list[str], title: str, abstract: str, doc_stems: set[str] | None = None) -> list[str]:
    """The words to highlight in a hit: each query word that occurs in the title or abstract
    (compared by stem), followed by the document's own spellings that stem alike
    ('models' in the query -> 'models', 'model', 'modeling')."""
    stems: dict[str, str] = {}
    for w in query_words:
        t = stem(w.lower())
        if t:
            stems.setdefault(t, w.lower())
    if not stems:
        return []
    text = f"{title} {abstract}"
    if doc_stems is None:
        doc_stems = doc_terms(title, abstract)  # one pass in Rust over the whole text
    hit = [t for t in stems if t in doc_stems]
    if not hit:
        return []
    found = {stems[t]: None for t in hit}
    # the document's spellings: only words sharing a stem's first letters need stemming
    prefixes = tuple({t[:3] for t in hit})
    variants: dict[str, None] = {}
    for tok in _TOKEN_RE.findall(text):
        low = tok.lower()
        if low.startswith(prefixes) and low not in found and low not in variants and stem(low) in hit:
            variants[low] = None
    return list(found) + list(variants)
