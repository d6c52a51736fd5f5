"""SearchEngine on a real corpus: the 64 seed papers plus 60 real arXiv listings (authors,
categories, dates), stored in the database (SQLite, then PostgreSQL), indexed by the real Indexer (tantivy + MiniLM + faiss)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
pytestmark = pytest.mark.skipif(
    not (DATA / "seed-page" / "papers.jsonl").exists(),
    reason=f"test data not found at {DATA} (the shared/ folder beside the project)",
)
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from paperwire.config import load_settings  # noqa: E402
from paperwire.search.hybrid import SearchEngine  # noqa: E402
from paperwire.search.indexer import Indexer  # noqa: E402
from paperwire.sources.jsonl import JsonlSource  # noqa: E402
from paperwire.sources.runner import run_ingest  # noqa: E402
from paperwire.storage import open_store  # noqa: E402

DP_TITLES = {
    "The Price of Differential Privacy under Continual Observation",
    "Generating Private Synthetic Data with Genetic Algorithms",
}


def arxiv_records() -> list[dict]:
    lines = (DATA / "arxiv-daily" / "sample_1000.jsonl").read_text().splitlines()
    recs = [json.loads(line) for line in lines[:30] + lines[-30:]]
    for r in recs[::12]:  # five of them link code
        r["github"] = f"https://github.com/example/{r['id']}"
    return recs


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, db_urls):
    tmp = tmp_path_factory.mktemp("corpus")
    recs = arxiv_records()
    path = tmp / "papers.jsonl"
    path.write_text(
        (DATA / "seed-page" / "papers.jsonl").read_text().rstrip("\n")
        + "\n"
        + "\n".join(json.dumps(r) for r in recs)
        + "\n"
    )
    settings = load_settings(
        data_dir=tmp, database_url=db_urls(tmp / "pw.db"), index_dir=tmp / "index", embed_model=None
    )
    store = open_store(settings.database_url)
    report = run_ingest(store, JsonlSource(path), progress=False)
    assert report.inserted == 64 + len(recs)
    counts = Indexer(store, settings).sync()
    assert counts["embedded"] == 64 + len(recs)
    engine = SearchEngine(store, settings)
    yield store, engine, recs
    store.close()


@pytest.fixture(scope="module")
def seed_only(tmp_path_factory, db_urls):
    """The product demo: just the 64 seed papers."""
    tmp = tmp_path_factory.mktemp("seed")
    settings = load_settings(
        data_dir=tmp, database_url=db_urls(tmp / "pw.db"), index_dir=tmp / "index", embed_model=None
    )
    store = open_store(settings.database_url)
    assert run_ingest(store, JsonlSource(DATA / "seed-page" / "papers.jsonl"), progress=False).inserted == 64
    Indexer(store, settings).sync()
    yield SearchEngine(store, settings)
    store.close()


def ids(results) -> list[str]:
    return [h.paper.id for h in results.hits]


def test_demo_query_returns_the_differential_privacy_papers_first(seed_only):
    engine = seed_only
    r = engine.search("privacy-preserving data release")
    assert r.mode == "hybrid"
    assert {h.paper.title for h in r.hits[:2]} == DP_TITLES
    assert r.hits[0].score >= r.hits[1].score >= r.hits[2].score


def test_found_by_meaning_without_the_words(seed_only):
    engine = seed_only
    r = engine.search("protecting personal information when publishing statistics")
    top = {h.paper.title: h for h in r.hits[:5]}
    hit = top.get("The Price of Differential Privacy under Continual Observation")
    assert hit is not None, [h.paper.title for h in r.hits[:5]]
    assert hit.lexical_rank is None and hit.dense_rank is not None  # no shared word: found by meaning only


def test_matched_terms_for_highlighting(seed_only):
    engine = seed_only
    hit = engine.search("privacy-preserving data release").hits[0]
    assert {"privacy", "release", "data"} <= set(hit.matched_terms)
    text = (hit.paper.title + " " + hit.paper.abstract).lower()
    assert all(t in text for t in hit.matched_terms)
    assert "preserving" not in hit.matched_terms  # not in that paper
    assert {"differentially", "private"}.isdisjoint(hit.matched_terms)  # other stems than the query's


def test_author_filter(corpus):
    _, engine, recs = corpus
    author = recs[0]["authors"][0]  # e.g. "Xianming Zeng"
    surname = author.split()[-1]
    expected = {r["id"] for r in recs if any(surname.lower() in a.lower().split() for a in r["authors"])}
    r = engine.search(f"author:{surname}")
    assert r.mode == "browse" and set(ids(r)) == expected and r.total == len(expected)
    r = engine.search(f'author:"{author}" simulation')
    assert ids(r)[:1] == [recs[0]["id"]]
    assert all(author in h.paper.authors for h in r.hits)


def test_category_prefix_and_exact(corpus):
    _, engine, recs = corpus
    prefix = {r["id"] for r in recs if any(c.startswith("eess.") for c in r["categories"])}
    exact = {r["id"] for r in recs if "eess.IV" in r["categories"]}
    assert prefix and exact
    assert set(ids(engine.search("cat:eess", limit=100))) == prefix
    assert set(ids(engine.search("cat:eess.iv", limit=100))) == exact
    r = engine.search("image cat:eess.IV", limit=100)
    assert r.hits and all("eess.IV" in h.paper.categories for h in r.hits)
    assert len(r.hits) < 64  # the seed papers have no category: none may slip in via the embedding list


def test_date_range_and_browse_order(corpus):
    _, engine, recs = corpus
    days = sorted({r["listing_date"] for r in recs})
    last = days[-1]
    expected = {r["id"] for r in recs if r["listing_date"] == last}
    r = engine.search(f"date:{last}..{last}", limit=100)
    assert set(ids(r)) == expected
    r = engine.search(f"before:{days[0]} learning", limit=100)
    assert r.hits and all(h.paper.announced <= days[0] for h in r.hits)
    browse = engine.search(f"date:{days[0]}..{days[-1]}", limit=100)  # (the seed papers are listed today)
    got = [h.paper.announced for h in browse.hits]
    assert got == sorted(got, reverse=True), got
    assert browse.total == len(recs)


def test_has_code(corpus):
    _, engine, recs = corpus
    expected = {r["id"] for r in recs if r.get("github")}
    assert set(ids(engine.search("has:code", limit=100))) == expected
    r = engine.search("has:code model", limit=100)
    assert r.hits and set(ids(r)) <= expected


def test_phrase_must_occur(corpus):
    _, engine, _ = corpus
    r = engine.search('"differential privacy"', limit=100)
    assert r.hits
    for h in r.hits:
        assert "differential privacy" in (h.paper.title + " " + h.paper.abstract).lower()
    # a phrase of words that exist only apart finds nothing
    assert engine.search('"privacy genetic"').hits == []


def test_paging_is_consistent(corpus):
    _, engine, _ = corpus
    full = ids(engine.search("language models code", limit=30))
    assert ids(engine.search("language models code", limit=10, offset=10)) == full[10:20]


def test_empty_query_browses_everything(corpus):
    store, engine, _ = corpus
    r = engine.search("", limit=5)
    assert r.mode == "browse" and r.total == store.papers.count() and len(r.hits) == 5


def test_similar_excludes_self_and_finds_the_related_paper(seed_only):
    engine = seed_only
    dp = engine.search("The Price of Differential Privacy under Continual Observation").hits[0].paper
    sims = engine.similar(dp.id, k=5)
    assert len(sims) == 5 and dp.id not in {h.paper.id for h in sims}
    assert sims[0].paper.title in DP_TITLES - {dp.title}
    assert all(h.dense_rank for h in sims)
    assert engine.similar("nope:missing") == []


def test_invalid_operator_does_not_fail_the_search(corpus):
    _, engine, _ = corpus
    r = engine.search("venue:neurips privacy after:someday")
    assert r.query.errors and r.hits


def test_hits_carry_the_features_the_ranking_saw(seed_only):
    """cosine, bm25, bm25_coverage and the fused rank on every hit, computed from the indexes:
    a paper holding every query word covers it fully, one found only by meaning covers none of it."""
    import numpy as np

    engine = seed_only
    r = engine.search("differential privacy continual observation", limit=30)
    assert [h.rank for h in r.hits] == list(range(1, len(r.hits) + 1))
    top = r.hits[0]
    assert top.paper.title == "The Price of Differential Privacy under Continual Observation"
    assert top.bm25_coverage == pytest.approx(1.0)
    assert top.bm25 is not None and top.bm25 > 0 and top.lexical_rank == 1
    qvec = engine.embedder.encode_query("differential privacy continual observation")
    store = engine.store
    for h in r.hits:
        pk = store.papers.pks_for([h.paper.id])[h.paper.id]
        v = np.frombuffer(store.papers.embeddings([pk])[pk], dtype=np.float32)
        assert h.cosine == pytest.approx(float(v @ qvec), abs=1e-4)  # also for papers only BM25 found
        assert 0.0 <= h.bm25_coverage <= 1.0
        assert (h.bm25 is None) == (h.lexical_rank is None)
        if h.lexical_rank is None:
            assert h.bm25_coverage == 0.0
    # a paper holding some of the words covers their share of the query's IDF
    from paperwire.search.lexical import analyze

    idf = engine.lexical.idf(analyze("differential privacy continual observation"))
    partial = [h for h in r.hits if 0 < h.bm25_coverage < 1]
    assert partial
    for h in partial:
        words = set(analyze(h.paper.title + " " + h.paper.abstract))
        assert h.bm25_coverage == pytest.approx(sum(w for t, w in idf.items() if t in words) / sum(idf.values()))
    offset = engine.search("differential privacy continual observation", limit=5, offset=5)
    assert [h.rank for h in offset.hits] == [6, 7, 8, 9, 10][: len(offset.hits)]


def test_fusion_leans_on_meaning_when_bm25_matched_the_query_weakly(seed_only):
    """Adaptive fusion: a question worded unlike the papers (BM25 matches few of its words, and
    common ones) gets more embedding weight than the fixed 0.4; a query of one paper's own title
    words gets less. engine.search ranks by the same fused list."""
    from paperwire.search.fusion import DEFAULT_FUSION, FIXED_FUSION, adaptive_alpha, fuse
    from paperwire.search.hybrid import fused_ranking
    from paperwire.search.lexical import analyze
    from paperwire.search.query import dense_text, parse_query

    engine = seed_only

    def lists(q):
        terms = analyze(q)
        lex = engine.lexical.search(terms, None, k=100)
        dense = engine._vectors.search(engine.embedder.encode_query(dense_text(parse_query(q))), 100)
        return lex, dense, sum(engine.lexical.idf(terms).values())

    plain = "a model that checks its own answers"
    lex, dense, idf_sum = lists(plain)
    assert adaptive_alpha(lex, dense, DEFAULT_FUSION, idf_sum) > 0.5 > FIXED_FUSION.alpha
    fused = fused_ranking(lex, dense, DEFAULT_FUSION, idf_sum)[:10]
    papers = engine.store.papers.get_many([f.pk for f in fused])
    assert ids(engine.search(plain, limit=10)) == [papers[f.pk].id for f in fused]
    title = "differential privacy continual observation"
    lex, dense, idf_sum = lists(title)
    assert adaptive_alpha(lex, dense, DEFAULT_FUSION, idf_sum) < FIXED_FUSION.alpha
    # no embedding list (or no BM25 list): the other list decides alone
    assert [f.pk for f in fuse(lex, [], DEFAULT_FUSION, idf_sum=idf_sum)] == [pk for pk, _ in lex]
    assert [f.pk for f in fuse([], dense, DEFAULT_FUSION, idf_sum=idf_sum)] == [pk for pk, _ in dense]


def test_similar_papers_rescore_the_neighbours_by_their_words(seed_only):
    """similar(): each neighbour's score mixes its embedding cosine with the TF-IDF cosine of the
    two papers' words (fusion.similar_scores), best first - not the plain embedding order."""
    import numpy as np

    from paperwire.search.fusion import DEFAULT_SIMILAR
    from paperwire.search.lexical import analyze, cosine, tfidf

    engine = seed_only
    store = engine.store
    dp = engine.search("The Price of Differential Privacy under Continual Observation").hits[0].paper
    sims = engine.similar(dp.id, k=8)
    assert len(sims) == 8
    pk = store.papers.pks_for([dp.id])[dp.id]
    vec = np.frombuffer(store.papers.embeddings([pk])[pk], dtype=np.float32)
    own = analyze(f"{dp.title} {dp.abstract}")
    w = DEFAULT_SIMILAR.w_lexical
    assert 0 < w < 1 and DEFAULT_SIMILAR.w_title == 0
    for h in sims:
        hpk = store.papers.pks_for([h.paper.id])[h.paper.id]
        cos = float(np.frombuffer(store.papers.embeddings([hpk])[hpk], dtype=np.float32) @ vec)
        theirs = analyze(f"{h.paper.title} {h.paper.abstract}")
        idf = engine.lexical.idf(own + theirs)
        words = cosine(tfidf(own, idf), tfidf(theirs, idf))
        assert h.cosine == pytest.approx(cos, abs=1e-5)
        assert h.score == pytest.approx((1 - w) * cos + w * words, abs=1e-5)
    assert [h.score for h in sims] == sorted((h.score for h in sims), reverse=True)
    # the words move at least one neighbour away from its plain embedding rank
    assert [h.dense_rank for h in sims] != sorted(h.dense_rank for h in sims)
