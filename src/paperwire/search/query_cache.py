"""The query-vector LRU both embedders (torch in embed.py, ONNX in embed_onnx.py) share."""

from __future__ import annotations

import numpy as np


class QueryCacheMixin:
    """``encode_query`` over the class's ``encode``, with an LRU of the last ``_cache_size`` queries.
    The class sets ``_cache`` (an OrderedDict), ``_cache_size`` and ``_lock`` (a threading.Lock:
    inference is thread-safe, the dict is not)."""

    def encode_query(self, text: str) -> np.ndarray:
        key = " ".join(text.split()).lower()
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        vec = self.encode([key])[0]
        vec.setflags(write=False)
        with self._lock:
            self._cache[key] = vec
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vec
