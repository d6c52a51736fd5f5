"""all-MiniLM-L6-v2 on torch (sentence-transformers): the reference embedder, and the one for GPUs."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from .embed_model import SHORT_LENGTH, SHORT_SUFFIX, TEXT_RECIPE, model_name_for
from .query_cache import QueryCacheMixin


class Embedder(QueryCacheMixin):
    def __init__(
        self,
        model_dir: Path,
        device: str = "cpu",
        batch_size: int = 64,
        cache_size: int = 2048,
        max_length: int | None = None,
        threads: int = 1,
    ):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        if device == "cpu":
            # One intra-op thread unless asked for more (bulk embedding, PAPERWIRE_EMBED_THREADS):
            # measured on the 2-core dev box while other processes ran, a query took 10 ms with 1
            # thread and ~500 ms with 2 (OpenMP threads wait on each other when a core is taken).
            # torch's setting is process-wide: a process that embeds in bulk uses it for queries too.
            torch.set_num_threads(max(1, int(threads)))
        self.threads = max(1, int(threads))

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
            list(texts),
            batch_size=batch_size or self.batch_size,
            show_progress_bar=progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)
