"""The vector index (faiss, inner product on L2-normalised vectors = cosine), one file per snapshot.

Kinds, picked from the number of vectors (thresholds measured in docs/benchmarks.md):
  * below FLAT_MAX (50k): exact search, ``IDMap2(Flat)``; one core scans 50k x 384 floats in ~5 ms.
  * from FLAT_MAX on: ``IVF{nlist},SQ8`` (inverted lists, 8-bit scalar-quantised vectors: 4x less
    memory than float32; nlist ~ sqrt(n), nprobe = nlist/16). It is trained automatically on
    the stored embeddings when the collection crosses FLAT_MAX, and trained again whenever it
    has grown RETRAIN_GROWTH times since the last training.

Snapshots: ``vectors-<seq>.faiss`` (plus ``.json`` with its metadata) is written to a temporary
name, fsynced and renamed, so a reader sees either the old or the new file, never half of one;
the seq in the name says up to which paper change the file is complete, so it can never run ahead
of what was written. Readers pick the highest seq; old snapshots are deleted after a grace period.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import time
from pathlib import Path

import faiss
import numpy as np

log = logging.getLogger(__name__)

# One OpenMP thread: a single query gains little from two, and when the cores are busy with other
# work (indexing, ingest) two OpenMP threads can stall each other for hundreds of ms (see embed.py).
faiss.omp_set_num_threads(1)

FLAT_MAX = 50_000
RETRAIN_GROWTH = 4.0
KEEP_OLD_SECONDS = 60.0  # a reader that listed the directory just before a replace still finds its file
_SNAPSHOT = re.compile(r"^vectors-(\d{12})\.faiss$")


def nlist_for(n: int) -> int:
    """IVF list count: ~sqrt(n), a power of two (1024 lists for 1M vectors). faiss suggests up to
    4..16 * sqrt(n), but k-means on 2 CPU cores then takes many minutes; with sqrt(n) lists and
    the nprobe below a query still scans only ~3% of the vectors (~30k at 1M: a few ms)."""
    return int(2 ** round(math.log2(max(64, math.sqrt(n)))))


def nprobe_for(nlist: int) -> int:
    """Lists visited per query: 1/16 of them, at least 32 (64 of 1024 at 1M vectors).
    Measured on 74k real arXiv MiniLM vectors (nlist 256, SQ8): recall@10 against exact search
    0.957 at nprobe 16, 0.982 at 32, 0.989 at 64; 0.3-0.8 ms a query (flat: 8 ms)."""
    return max(32, nlist // 16)


class VectorIndex:
    """An in-memory faiss index whose ids are paper pks, plus the seq it is complete up to."""

    def __init__(self, dim: int, index=None, seq: int = 0, meta: dict | None = None):
        self.dim = dim
        self._exclusion: tuple | None = None  # (pks, faiss search parameters leaving them out)
        self.index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self.seq = seq
        self.meta = dict(meta or {})
        self.meta.setdefault("kind", "flat")
        self._apply_params()

    # -- properties ----------------------------------------------------------------------
    @property
    def kind(self) -> str:
        return self.meta.get("kind", "flat")

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def _apply_params(self) -> None:
        if self.kind == "ivf":
            ivf = faiss.extract_index_ivf(self.index)
            ivf.nprobe = int(self.meta.get("nprobe") or nprobe_for(ivf.nlist))

    # -- building ------------------------------------------------------------------------
    @classmethod
    def build(cls, dim: int, pks: np.ndarray, vecs: np.ndarray, seq: int, *, kind: str | None = None) -> VectorIndex:
        """A fresh index of the right kind for ``len(pks)`` vectors."""
        n = len(pks)
        kind = kind or ("flat" if n < FLAT_MAX else "ivf")
        if kind == "flat":
            vi = cls(dim, seq=seq)
        else:
            nlist = nlist_for(n)
            quantizer = faiss.IndexFlatIP(dim)
            index = faiss.IndexIVFScalarQuantizer(
                quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
            )
            rng = np.random.default_rng(0)
            sample = vecs if n <= nlist * 48 else vecs[rng.choice(n, nlist * 48, replace=False)]
            t0 = time.monotonic()
            index.train(np.ascontiguousarray(sample, dtype=np.float32))
            log.info("trained IVF%d,SQ8 on %d vectors in %.1fs", nlist, len(sample), time.monotonic() - t0)
            vi = cls(
                dim,
                index=index,
                seq=seq,
                meta={"kind": "ivf", "nlist": nlist, "nprobe": nprobe_for(nlist), "trained_n": n},
            )
        vi.add(pks, vecs)
        return vi

    def needs_retrain(self) -> bool:
        n = len(self)
        if self.kind == "flat":
            return n >= FLAT_MAX
        return n >= RETRAIN_GROWTH * max(1, int(self.meta.get("trained_n", n)))

    def remove(self, pks) -> None:
        pks = np.asarray(list(pks), dtype=np.int64)
        if len(pks) and len(self):
            self.index.remove_ids(faiss.IDSelectorBatch(pks))

    def add(self, pks, vecs: np.ndarray) -> None:
        pks = np.asarray(pks, dtype=np.int64)
        if len(pks):
            self.index.add_with_ids(np.ascontiguousarray(vecs, dtype=np.float32), pks)

    # -- searching -----------------------------------------------------------------------
    def search(self, vec: np.ndarray, k: int, exclude: frozenset[int] = frozenset()) -> list[tuple[int, float]]:
        """The k nearest (pk, cosine), best first; ``exclude``: pks never returned (the hidden
        papers), skipped while faiss scans, so the list is still k long."""
        if len(self) == 0 or k <= 0:
            return []
        params = self._excluding(exclude) if exclude else None
        scores, ids = self.index.search(
            np.asarray(vec, dtype=np.float32).reshape(1, -1), min(k, len(self)), params=params
        )
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def _excluding(self, exclude: frozenset[int]):
        """Search parameters whose ID selector refuses ``exclude``, built once per set (every search
        passes the same set until a curator hides or un-hides a paper). A faiss IDSelectorBatch
        checks each scanned id against a bloom filter and a hash set (bench/hidden_search.py, 100k
        vectors, IVF: 1.14x the plain search's p50 with 100 excluded, 1.28x with 1,000)."""
        cached = self._exclusion
        if cached is not None and (cached[0] is exclude or cached[0] == exclude):
            return cached[1]
        # faiss's wrappers keep the selectors alive as long as the parameters that point to them, so a
        # search still running with the previous parameters is safe when these replace them
        selector = faiss.IDSelectorNot(faiss.IDSelectorBatch(np.fromiter(exclude, dtype=np.int64, count=len(exclude))))
        if self.kind == "ivf":
            params = faiss.SearchParametersIVF(sel=selector, nprobe=faiss.extract_index_ivf(self.index).nprobe)
        else:
            params = faiss.SearchParameters(sel=selector)
        self._exclusion = (exclude, params)
        return params

    # -- snapshots -----------------------------------------------------------------------
    def save(self, directory: Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        name = f"vectors-{self.seq:012d}"
        final = directory / f"{name}.faiss"
        meta = dict(self.meta, seq=self.seq, dim=self.dim, count=len(self), written=time.time())
        meta_tmp = directory / f".{name}.json.tmp{os.getpid()}"
        meta_tmp.write_text(json.dumps(meta))
        _fsync(meta_tmp)
        os.replace(meta_tmp, directory / f"{name}.json")  # metadata first: the .faiss file is the commit
        tmp = directory / f".{name}.faiss.tmp{os.getpid()}"
        faiss.write_index(self.index, str(tmp))
        _fsync(tmp)
        os.replace(tmp, final)
        _fsync_dir(directory)
        _cleanup(directory, keep=final.name)
        return final

    @classmethod
    def load(cls, path: Path) -> VectorIndex:
        path = Path(path)
        meta = json.loads(path.with_suffix(".json").read_text())
        index = faiss.read_index(str(path))
        try:  # trust the file over the metadata about what kind of index it is
            faiss.extract_index_ivf(index)
            meta["kind"] = "ivf"
        except RuntimeError:
            meta["kind"] = "flat"
        seq = int(_SNAPSHOT.match(path.name).group(1)) if _SNAPSHOT.match(path.name) else int(meta["seq"])
        return cls(int(index.d), index=index, seq=seq, meta=meta)


def latest_snapshot(directory: Path) -> tuple[int, Path] | None:
    """(seq, path) of the newest complete snapshot in ``directory``, or None."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return None
    best = None
    for n in names:
        m = _SNAPSHOT.match(n)
        if m and (best is None or int(m.group(1)) > best[0]):
            best = (int(m.group(1)), Path(directory) / n)
    return best


def _cleanup(directory: Path, keep: str) -> None:
    now = time.time()
    for n in os.listdir(directory):
        p = Path(directory) / n
        stale_tmp = ".tmp" in n and now - p.stat().st_mtime > 3600
        old_snapshot = _SNAPSHOT.match(n) and n != keep and now - p.stat().st_mtime > KEEP_OLD_SECONDS
        if stale_tmp or old_snapshot:
            try:
                p.unlink()
                if old_snapshot:
                    p.with_suffix(".json").unlink(missing_ok=True)
            except FileNotFoundError:
                pass


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
