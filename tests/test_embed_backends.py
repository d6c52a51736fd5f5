"""Document embedding backends (PAPERWIRE_EMBED_BACKEND): ONNX Runtime fp32 / int8 against the
torch model on real seed papers, the bulk default, the setting's validation, `reindex --device cuda`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import make_settings
from paperwire.search.embed import (
    BULK_BACKEND, check_device, document_backend, embedder_key, get_document_embedder, get_embedder, paper_text,
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


def test_auto_uses_the_fast_backend_for_bulk_builds_only(tmp_path):
    s = make_settings(tmp_path)
    assert s.embed_backend == "auto"
    assert document_backend(s, bulk=True) == BULK_BACKEND == "onnx-int8"
    assert document_backend(s, bulk=False) == "torch"
    assert document_backend(s.with_(embed_device="cuda"), bulk=True) == "torch"
    assert document_backend(s.with_(embed_backend="onnx"), bulk=False) == "onnx"
    with pytest.raises(RuntimeError, match="CPU only"):
        document_backend(s.with_(embed_backend="onnx-int8", embed_device="cuda"), bulk=True)
    # the truncating backend is used for every paper when named, and has a key of its own
    t = s.with_(embed_backend="onnx-int8-128")
    assert document_backend(t, bulk=False) == document_backend(t, bulk=True) == "onnx-int8-128"
    assert embedder_key(t) == embedder_key(s) + "/len128"


def test_a_bulk_build_embeds_with_onnx_int8_and_searches_with_torch(tmp_path, store, seed_path, db_url):
    """Indexer(bulk=True) on the seed papers: stored under the default key, found by meaning with
    torch-embedded queries, and the serve-side (torch) indexer sees nothing to redo."""
    from conftest import ingest_seed
    from paperwire.search.hybrid import SearchEngine
    from paperwire.search.indexer import Indexer

    settings = make_settings(tmp_path, db_url)
    ingest_seed(store, seed_path)
    bulk = Indexer(store, settings, bulk=True)
    assert bulk.embedder.path.name.endswith("-int8.onnx")
    counts = bulk.sync()
    assert counts["embedded"] == 64 and store.count_embeddings() == 64
    assert store.get_index_state("embed")[1]["model"] == embedder_key(settings)
    serve_side = Indexer(store, settings)  # torch: same key, so no re-embedding
    assert serve_side.embedder.key == bulk.embedder.key and serve_side.pending()["embed"] == 0
    assert serve_side.embed_pending() == 0
    engine = SearchEngine(store, settings)
    engine.reload()
    r = engine.search("privacy-preserving data release", limit=5)
    assert r.mode == "hybrid" and "privacy" in r.hits[0].paper.title.lower()
    # by meaning alone: a paper's title (embedded by torch) finds its int8-embedded abstract first
    title = store.get_papers([1])[1].title
    dense = engine._vectors.search(engine.embedder.encode_query(title), 1)
    assert dense[0][0] == 1


def test_the_setting_is_validated(tmp_path, monkeypatch):
    from paperwire.config import load_settings

    monkeypatch.setenv("PAPERWIRE_EMBED_BACKEND", "onnx-fp16")
    with pytest.raises(SystemExit, match="PAPERWIRE_EMBED_BACKEND='onnx-fp16' is not one of auto, torch, onnx, onnx-int8"):
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
    proc = subprocess.run([sys.executable, "-m", "paperwire.cli", "reindex", "--device", "cuda"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "CUDA is not available" in proc.stderr and "--device cpu" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "reindexed" not in proc.stdout  # nothing was done
