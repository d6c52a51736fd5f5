"""The demo corpus that `make run` loads: shipped papers, shipped embeddings, found by meaning."""

from __future__ import annotations

import numpy as np
import pytest

from paperwire.config import load_settings
from paperwire.demo import HF_VECTORS_FILE, VECTORS_FILE, demo_paths, hf_demo_path, load_demo
from paperwire.search.embed import get_document_embedder, paper_text
from paperwire.search.hybrid import SearchEngine
from paperwire.search.indexer import Indexer
from paperwire.storage import open_store
from paperwire.trending.ranking import trending


@pytest.fixture(scope="module")
def demo(tmp_path_factory, db_urls):
    tmp = tmp_path_factory.mktemp("demo")
    settings = load_settings(data_dir=tmp, database_url=db_urls(tmp / "demo.db"), index_dir=tmp / "index")
    store = open_store(settings.database_url)
    reports = load_demo(store, progress=False, settings=settings)
    yield settings, store, reports
    store.close()


def test_demo_corpus_loads_every_shipped_paper(demo):
    _, store, reports = demo
    assert [r.skipped for r in reports] == [0, 0, 0]
    assert sum(r.inserted for r in reports) == store.papers.count() == 3064 + 1371
    assert all(path.exists() for path in demo_paths()) and hf_demo_path().exists()
    hf = reports[2]  # the Hugging Face daily papers: real votes, day lists, GitHub stars
    assert (hf.inserted, hf.listed, hf.star_points) == (1371, 1371, 789)


def test_demo_has_a_trending_page_with_real_votes(demo):
    _, store, _ = demo
    page = trending(store, "week")
    assert page.as_of_iso == "2026-08-22T00:00:00Z" and page.total > 50  # "as of" the last listed day
    top = page.entries[0]
    assert top.paper.id == "2608.19880" and top.upvotes == 163  # EnvHarness, the day's most voted
    assert all(e.upvotes > 0 for e in page.entries[:10])


def test_shipped_vectors_are_the_models_own(demo):
    settings, store, _ = demo
    assert (demo_paths()[0].parent / VECTORS_FILE).exists(), "run scripts/make_demo_vectors.py"
    assert (demo_paths()[0].parent / HF_VECTORS_FILE).exists(), "run scripts/make_demo_vectors.py --hf"
    assert store.papers.count_embeddings() == 3064 + 1371
    emb = get_document_embedder(settings)  # what the demo vectors were made with (the default)
    sample = [pk for batch in store.papers.iter(batch=500) for pk, _ in batch][::613]
    assert any(p.source == "hf-daily" for p in store.papers.get_many(sample).values())
    papers = store.papers.get_many(sample)
    stored = store.papers.embeddings(sample)
    fresh = emb.encode([paper_text(papers[pk]) for pk in sample])
    for i, pk in enumerate(sample):
        vec = np.frombuffer(stored[pk], dtype=np.float32)
        # > 0.99, not equality: int8 quantizes activations with one scale per batch (dynamic
        # quantization), so a text's vector moves slightly with the batch it was embedded in
        assert float(vec @ fresh[i]) > 0.99, papers[pk].title


def test_demo_is_searchable_by_meaning_without_embedding_again(demo):
    settings, store, _ = demo
    counts = Indexer(store, settings).sync()
    assert counts["embedded"] == 0  # every paper came with its vector
    results = SearchEngine(store, settings).search("privacy-preserving data release", limit=5)
    assert results.mode == "hybrid"
    titles = [h.paper.title.lower() for h in results.hits]
    assert any("differential privacy" in t for t in titles[:3]), titles
