"""Embedding backends (PAPERWIRE_EMBED_BACKEND): ONNX Runtime fp32 / int8 against the torch model on
real seed papers, the default (int8 reading 128 word pieces for papers, int8 for queries), the
setting's validation, `reindex --device cuda`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import make_settings
from paperwire.search.embed import (
    AUTO_CPU_BACKEND,
    SHORT_LENGTH,
    check_device,
    document_backend,
    document_max_length,
    embedder_key,
    get_document_embedder,
    get_embedder,
    get_query_embedder,
    paper_text,
    query_backend,
)


def _seed_texts(seed_path) -> list[str]:
    from paperwire.models import Paper

    texts = []
    with open(seed_path) as f:
        for line in f:
            d = json.loads(line)
            texts.append(paper_text(Paper(id="x", title=d["title"], abstract=d.get("abstract") or d.get("summary"))))
    assert len(texts) == 64
    return texts


@pytest.fixture(scope="module")
def reference(seed_path):
    texts = _seed_texts(seed_path)
    settings = make_settings(__import__("pathlib").Path("/nonexistent-not-used"))
    return texts, get_embedder(settings).encode(texts)


@pytest.mark.parametrize("backend, mean_min, min_min", [("onnx", 0.9999, 0.9999), ("onnx-int8", 0.99, 0.98)])
def test_onnx_vectors_agree_with_torch_on_seed_papers(tmp_path, reference, backend, mean_min, min_min):
    texts, ref = reference
    settings = make_settings(tmp_path).with_(embed_backend=backend)
    emb = get_document_embedder(settings)
    assert emb.path.exists() and emb.path.suffix == ".onnx"  # built locally from the installed model
    vecs = emb.encode(texts)
    assert vecs.shape == ref.shape and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    cos = (vecs * ref).sum(axis=1)
    assert cos.mean() >= mean_min and cos.min() >= min_min, (cos.mean(), cos.min())
    # the vectors are in the torch model's space and stored under its key (docs/benchmarks.md)
    assert emb.key == get_embedder(settings).key == embedder_key(settings)
    # the order of the texts does not change a vector (length-sorted batches, padding masked)
    rev = emb.encode(texts[::-1])[::-1]
    np.testing.assert_allclose(rev, vecs, atol=1e-4)


def test_auto_embeds_papers_with_int8_at_128_pieces_and_queries_with_int8(tmp_path):
    s = make_settings(tmp_path)
    assert s.embed_backend == "auto"
    assert document_backend(s) == AUTO_CPU_BACKEND == "onnx-int8-128"
    assert document_max_length(s) == SHORT_LENGTH == 128
    assert query_backend(s) == "onnx-int8"
    # on a GPU auto is torch, cut to the same 128 pieces: the same key, so a GPU build and a CPU
    # server agree on what is already embedded
    g = s.with_(embed_device="cuda")
    assert document_backend(g) == "torch" and document_max_length(g) == 128 and embedder_key(g) == embedder_key(s)
    assert embedder_key(s).endswith("/len128")
    # named backends read the model's 256 pieces and share the torch model's key
    for name in ("torch", "onnx", "onnx-int8"):
        n = s.with_(embed_backend=name)
        assert document_backend(n) == name and document_max_length(n) is None
        assert embedder_key(n) + "/len128" == embedder_key(s)
    assert query_backend(s.with_(embed_backend="torch")) == "torch"
    assert query_backend(s.with_(embed_backend="onnx")) == "onnx"
    assert embedder_key(s.with_(embed_backend="onnx-int8-128")) == embedder_key(s)
    with pytest.raises(RuntimeError, match="CPU only"):
        document_backend(s.with_(embed_backend="onnx-int8", embed_device="cuda"))


def test_auto_vectors_agree_with_torch_at_128_pieces(tmp_path, reference):
    """The default's document vectors are the model's at 128 word pieces (int8 rounding only), and its
    query vectors the model's (queries are short)."""
    texts, ref = reference
    settings = make_settings(tmp_path)
    emb = get_document_embedder(settings)
    torch128 = get_embedder(settings, max_length=128)
    assert emb.key == torch128.key == embedder_key(settings)
    vecs, ref128 = emb.encode(texts), torch128.encode(texts)
    cos = (vecs * ref128).sum(axis=1)
    assert cos.mean() >= 0.99 and cos.min() >= 0.98, (cos.mean(), cos.min())
    # cut at 128 pieces, long abstracts really lose their end: some vectors move away from the 256 ones
    assert float((ref128 * ref).sum(axis=1).min()) < 0.99
    q = ["graph neural networks for molecules", "Does vitamin D prevent fractures?"]
    qcos = (get_query_embedder(settings).encode(q) * get_embedder(settings).encode(q)).sum(axis=1)
    assert qcos.min() >= 0.98, qcos


def test_default_build_embeds_with_onnx_int8_and_searches_with_int8_queries(tmp_path, store, seed_path, db_url):
    """An Indexer under the defaults on the seed papers: int8 at 128 pieces, stored under the default
    key, found by meaning with int8 queries; another process's indexer sees nothing to redo, while
    choosing torch (other vectors, other key) would re-embed."""
    from conftest import ingest_seed
    from paperwire.search.hybrid import SearchEngine
    from paperwire.search.indexer import Indexer

    settings = make_settings(tmp_path, db_url)
    ingest_seed(store, seed_path)
    build = Indexer(store, settings)
    assert build.embedder.path.name.endswith("-int8.onnx") and build.embedder.max_length == 128
    counts = build.sync()
    assert counts["embedded"] == 64 and store.papers.count_embeddings() == 64
    assert store.papers.index_state("embed")[1]["model"] == embedder_key(settings)
    other = Indexer(store, settings)
    assert other.pending()["embed"] == 0 and other.embed_pending() == 0
    assert Indexer(store, settings.with_(embed_backend="torch")).embedder.key != build.embedder.key
    engine = SearchEngine(store, settings)
    engine.reload()
    assert engine.embedder.path.name.endswith("-int8.onnx")  # queries: int8 too
    r = engine.search("privacy-preserving data release", limit=5)
    assert r.mode == "hybrid" and "privacy" in r.hits[0].paper.title.lower()
    # by meaning alone: a paper's title finds its abstract first
    title = store.papers.get_many([1])[1].title
    dense = engine._vectors.search(engine.embedder.encode_query(title), 1)
    assert dense[0][0] == 1


def test_the_setting_is_validated(tmp_path, monkeypatch):
    from paperwire.config import load_settings
    from paperwire.errors import ConfigError

    monkeypatch.setenv("PAPERWIRE_EMBED_BACKEND", "onnx-fp16")
    with pytest.raises(
        ConfigError, match="PAPERWIRE_EMBED_BACKEND='onnx-fp16' is not one of auto, torch, onnx, onnx-int8"
    ):
        load_settings(data_dir=tmp_path)
    monkeypatch.setenv("PAPERWIRE_EMBED_BACKEND", "ONNX-Int8")
    assert load_settings(data_dir=tmp_path).embed_backend == "onnx-int8"


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


@pytest.mark.skipif(_cuda(), reason="CUDA is available here: this checks the error without it")
def test_device_cuda_fails_clearly_without_cuda(tmp_path):
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        check_device("cuda")
    check_device("cpu")  # fine
    db = tmp_path / "pw.db"
    env = dict(os.environ, PAPERWIRE_DATABASE_URL=f"sqlite:///{db}", HF_HUB_OFFLINE="1")
    proc = subprocess.run(
        [sys.executable, "-m", "paperwire.cli", "reindex", "--device", "cuda"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "CUDA is not available" in proc.stderr and "--device cpu" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "reindexed" not in proc.stdout  # nothing was done


def test_prepare_onnx_builds_the_default_files_once(tmp_path, monkeypatch):
    """serve builds the ONNX files before listening (search would be words-only until then): on a
    machine without them they are built, announced once; afterwards nothing is built or announced."""
    import paperwire.search.embed as embed_mod

    monkeypatch.setattr(embed_mod, "onnx_cache_dir", lambda: tmp_path / "onnx")
    said = []
    embed_mod.prepare_onnx(make_settings(tmp_path), announce=lambda: said.append(1))
    assert said == [1]
    files = sorted(p.name for p in (tmp_path / "onnx").glob("*.onnx"))
    assert len(files) == 2 and files[0].endswith("-fp32.onnx") and files[1].endswith("-int8.onnx")
    embed_mod.prepare_onnx(make_settings(tmp_path), announce=lambda: said.append(2))
    assert said == [1]
    embed_mod.prepare_onnx(make_settings(tmp_path).with_(embed_backend="torch"), announce=lambda: said.append(3))
    assert said == [1]  # torch needs no ONNX file


def test_bulk_embedding_uses_every_core_and_queries_one_thread(tmp_path, monkeypatch):
    """PAPERWIRE_EMBED_THREADS: bulk embedding (ingest, reindex, workers) on every core unless set,
    a web process's papers and every query on one thread; the ONNX session really gets them."""
    from paperwire.config import load_settings
    from paperwire.errors import ConfigError
    from paperwire.jobs.handlers import Context
    from paperwire.search.indexer import Indexer

    cores = os.cpu_count()
    monkeypatch.delenv("PAPERWIRE_EMBED_THREADS", raising=False)
    s = load_settings(data_dir=tmp_path)
    assert s.embed_threads == 0
    bulk = get_document_embedder(s, bulk=True)
    assert bulk.threads == cores and bulk._session.get_session_options().intra_op_num_threads == cores
    assert get_document_embedder(s).threads == 1
    assert get_query_embedder(s).threads == 1
    assert Indexer(None, s).embedder.threads == 1  # serve's background indexer
    assert Indexer(None, s, bulk=True).embedder.threads == cores  # ingest, reindex
    assert Context(None, s).bulk is True  # a worker process's index jobs
    monkeypatch.setenv("PAPERWIRE_EMBED_THREADS", "3")
    three = load_settings(data_dir=tmp_path)
    assert three.embed_threads == 3 and get_document_embedder(three, bulk=True).threads == 3
    assert get_query_embedder(three).threads == 1
    # the same vectors whatever the thread count
    texts = ["Differentially private synthetic data.", "A tutorial on Bayesian optimization."]
    assert np.allclose(
        get_document_embedder(three, bulk=True).encode(texts), get_document_embedder(s).encode(texts), atol=1e-5
    )
    monkeypatch.setenv("PAPERWIRE_EMBED_THREADS", "-1")
    with pytest.raises(ConfigError, match="PAPERWIRE_EMBED_THREADS"):
        load_settings(data_dir=tmp_path)
