"""Follows the store's change feed (papers.seq) into the two indexes.

Three steps, each resumable from its own seq, each under its own cross-process file lock:

  lexical  papers -> tantivy                      seq kept inside the tantivy commit
  embed    papers -> embeddings table (the DB)    seq in index_state('embed'), written after the vectors
  vector   embeddings -> faiss snapshot file      seq in the snapshot's file name

Every step writes its data first and its seq after, so after a crash it redoes a little work and
never skips any. Re-embedding happens only when a paper's text_hash changed (or the model did).
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .embed import get_document_embedder, paper_text
from .lexical import LexicalIndex
from .locks import index_lock
from .vectors import FLAT_MAX, VectorIndex, latest_snapshot

log = logging.getLogger(__name__)

LEXICAL_BATCH = 2_000  # papers per tantivy commit
EMBED_BATCH = 256  # papers per embeddings transaction (one model call of several sub-batches)
VECTOR_BATCH = 5_000
BACKGROUND_SAVE_EVERY = 30.0  # seconds between vector snapshots while a backlog is being embedded


def vectors_dir(settings) -> Path:
    return Path(settings.index_dir) / "vectors"


def lexical_dir(settings) -> Path:
    return Path(settings.index_dir) / "lexical"


class Indexer:
    def __init__(self, store, settings, *, embedder=None, bulk: bool = False):
        """Papers are embedded by ``embedder`` or else search.embed.get_document_embedder (under
        PAPERWIRE_EMBED_BACKEND=auto: ONNX int8 reading 128 word pieces on a CPU); ``bulk``: on
        every core (PAPERWIRE_EMBED_THREADS) rather than one, for processes that do nothing else."""
        self.store = store
        self.bulk = bulk
        self.settings = settings
        self.dir = Path(settings.index_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._embedder = embedder
        self.lexical = LexicalIndex(lexical_dir(settings))
        self._vectors: VectorIndex | None = None
        self._mutex = threading.RLock()  # one sync at a time within this process

    @property
    def embedder(self):
        if self._embedder is None:
            self._embedder = get_document_embedder(self.settings, bulk=self.bulk)
        return self._embedder

    # -- lexical -------------------------------------------------------------------------
    def sync_lexical(self, max_batches: int | None = None) -> int:
        """Make every stored paper findable by words now. Returns papers (re)indexed."""
        n = 0
        batches = 0
        with self._mutex:
            while max_batches is None or batches < max_batches:
                with index_lock(self.dir, "lexical"):
                    self.lexical.reload()  # another process may have written since
                    seq = self.lexical.seq()
                    changes = self.store.papers.changes_since(seq, limit=LEXICAL_BATCH)
                    if not changes:
                        break
                    new_seq = changes[-1].seq
                    self.lexical.write([(c.pk, c.paper) for c in changes], new_seq)
                self.store.papers.set_index_state("lexical", new_seq, {"papers": len(changes)})
                n += len(changes)
                batches += 1
        return n

    # -- embeddings ----------------------------------------------------------------------
    def _embed_state(self) -> tuple[int, dict]:
        seq, meta = self.store.papers.index_state("embed")
        if meta.get("model") and meta["model"] != self.embedder.key:
            # another model (or text recipe): every stored vector is stale, redo from the start
            return 0, {"model": self.embedder.key, "force": True}
        return seq, meta

    def embed_pending(self, max_papers: int | None = None, bar: tqdm | None = None) -> int:
        """Embed papers changed since the embed seq whose text changed. Returns papers embedded."""
        emb = self.embedder
        done = 0
        with self._mutex:
            while max_papers is None or done < max_papers:
                with index_lock(self.dir, "embed"):
                    seq, meta = self._embed_state()
                    meta.setdefault("model", emb.key)
                    changes = self.store.papers.changes_since(seq, limit=EMBED_BATCH)
                    if not changes:
                        if meta.get("force"):
                            self.store.papers.set_index_state("embed", seq, {"model": emb.key})
                        break
                    pks = [c.pk for c in changes]
                    have = {} if meta.get("force") else self.store.papers.embedding_hashes(pks)
                    todo = [c for c in changes if have.get(c.pk) != c.text_hash]
                    if todo:
                        vecs = emb.encode([paper_text(c.paper) for c in todo])
                        self.store.papers.put_embeddings(
                            [(c.pk, c.text_hash, vecs[i].tobytes()) for i, c in enumerate(todo)], model=emb.key
                        )
                    self.store.papers.set_index_state("embed", changes[-1].seq, meta)
                done += len(todo)
                if bar is not None:
                    bar.update(len(changes))
        return done

    # -- vectors -------------------------------------------------------------------------
    def _current_vectors(self) -> VectorIndex | None:
        """The newest vector index: the one in memory, or a newer snapshot from disk."""
        snap = latest_snapshot(vectors_dir(self.settings))
        if snap is not None and (self._vectors is None or snap[0] > self._vectors.seq):
            try:
                self._vectors = VectorIndex.load(snap[1])
            except (FileNotFoundError, RuntimeError) as e:
                log.warning("could not read vector snapshot %s (%s); rebuilding it", snap[1], e)
                self._vectors = None
        return self._vectors

    def _build_vectors(self, seq: int) -> VectorIndex:
        """A fresh vector index from every embedding in the store (first build and retraining)."""
        dim = self.embedder.dim
        # One preallocated array filled batch by batch: each batch's blobs are freed as soon as they
        # are copied in. (Collecting every blob and a view of it, then stacking them, held the
        # vectors twice: 11.6 GB peak for the 3M benchmark build.)
        cap = self.store.papers.count_embeddings() + 1024  # rows may arrive while reading: grown below
        arr = np.empty((cap, dim), dtype=np.float32)
        pks = np.empty(cap, dtype=np.int64)
        n = 0
        for rows in self.store.papers.iter_embeddings():
            good = [(pk, blob) for pk, blob in rows if len(blob) == 4 * dim]  # (other models' are redone anyway)
            if not good:
                continue
            if n + len(good) > cap:
                cap = max(2 * cap, n + len(good))
                arr = np.resize(arr, (cap, dim))
                pks = np.resize(pks, cap)
            arr[n : n + len(good)] = np.frombuffer(b"".join(blob for _, blob in good), dtype=np.float32).reshape(
                -1, dim
            )
            pks[n : n + len(good)] = [pk for pk, _ in good]
            n += len(good)
        return VectorIndex.build(dim, pks[:n], arr[:n], seq)

    def sync_vectors(self) -> int:
        """Bring the vector snapshot up to the embed seq. Returns papers (re)placed in it."""
        n = 0
        with self._mutex, index_lock(self.dir, "vector"):
            embed_seq, meta = self.store.papers.index_state("embed")
            vi = self._current_vectors()
            if vi is None or vi.meta.get("model") != meta.get("model") or vi.dim != self.embedder.dim:
                # every embedding up to embed_seq is in the store (its seq is written after them)
                vi = self._build_vectors(embed_seq)
                vi.meta["model"] = meta.get("model")
                changed = True
            else:
                changed = False
            seq = vi.seq
            while seq < embed_seq:
                changes = [c for c in self.store.papers.changes_since(seq, limit=VECTOR_BATCH) if c.seq <= embed_seq]
                if not changes:
                    break
                pks = [c.pk for c in changes]
                embs = self.store.papers.embeddings(pks)
                vi.remove(pks)
                have = [pk for pk in pks if pk in embs and len(embs[pk]) == 4 * vi.dim]
                if have:
                    vi.add(have, np.vstack([np.frombuffer(embs[pk], dtype=np.float32) for pk in have]))
                seq = changes[-1].seq
                n += len(changes)
            if seq != vi.seq:
                vi.seq = seq
                changed = True
            if vi.needs_retrain():
                model = vi.meta.get("model")
                vi = self._build_vectors(seq)
                vi.meta["model"] = model
                changed = True
            if changed:
                vi.save(vectors_dir(self.settings))
                self.store.papers.set_index_state("vector", vi.seq, {"count": len(vi), "kind": vi.kind})
            self._vectors = vi
        return n

    # -- whole passes --------------------------------------------------------------------
    def sync(self, *, progress: bool = False) -> dict:
        """Lexical + embed every pending paper (batched) + vector snapshot."""
        t0 = time.monotonic()
        lexical = self.sync_lexical()
        pending = self.pending()["embed"]
        bar = tqdm(
            total=pending,
            unit="paper",
            desc="embedding",
            disable=not progress or not pending,
            dynamic_ncols=True,
            mininterval=0.5,
            smoothing=0.05,
        )
        try:
            embedded = self.embed_pending(bar=bar)
        finally:
            bar.close()
        vectors = self.sync_vectors()
        return {
            "lexical": lexical,
            "embedded": embedded,
            "vectors": vectors,
            "seconds": round(time.monotonic() - t0, 2),
        }

    def rebuild(self, *, progress: bool = True) -> dict:
        """Rebuild both indexes from the store (``paperwire reindex``). Stored embeddings whose
        text_hash still matches the paper are reused; the others are computed again."""
        t0 = time.monotonic()
        emb = self.embedder
        total = self.store.papers.count()
        with self._mutex:
            seq = self.store.papers.max_seq()  # everything up to here is covered; later changes replay

            def papers():
                for batch in self.store.papers.iter(batch=2_000):
                    yield from batch

            with index_lock(self.dir, "lexical"):
                lexical = self.lexical.write(papers(), seq, clear=True)
            self.store.papers.set_index_state("lexical", seq, {"rebuilt": True})

            embedded = reused = 0
            bar = tqdm(
                total=total,
                unit="paper",
                desc="embeddings",
                disable=not progress,
                dynamic_ncols=True,
                mininterval=0.5,
                smoothing=0.05,
            )
            try:
                with index_lock(self.dir, "embed"):
                    _, meta = self._embed_state()
                    force = bool(meta.get("force"))
                    for batch in self.store.papers.iter(batch=EMBED_BATCH):
                        have = {} if force else self.store.papers.embedding_hashes([pk for pk, _ in batch])
                        todo = [(pk, p) for pk, p in batch if have.get(pk) != p.text_hash()]
                        if todo:
                            vecs = emb.encode([paper_text(p) for _, p in todo])
                            self.store.papers.put_embeddings(
                                [(pk, p.text_hash(), vecs[i].tobytes()) for i, (pk, p) in enumerate(todo)],
                                model=emb.key,
                            )
                        embedded += len(todo)
                        reused += len(batch) - len(todo)
                        bar.update(len(batch))
                    self.store.papers.set_index_state("embed", seq, {"model": emb.key})
            finally:
                bar.close()

            with index_lock(self.dir, "vector"):
                vi = self._build_vectors(seq)
                vi.meta["model"] = emb.key
                vi.save(vectors_dir(self.settings))
                self.store.papers.set_index_state("vector", seq, {"count": len(vi), "kind": vi.kind})
                self._vectors = vi
        return {
            "papers": lexical,
            "embedded": embedded,
            "reused": reused,
            "vectors": len(vi),
            "vector_kind": vi.kind,
            "seconds": round(time.monotonic() - t0, 2),
        }

    def run_background(self, stop: threading.Event, interval: float = 2.0) -> None:
        """Index in small batches until ``stop`` is set (the thread `paperwire serve` runs).
        New papers become findable by words within a batch, by meaning once embedded; the vector
        snapshot is written when the backlog is done (for an IVF index at most every
        BACKGROUND_SAVE_EVERY seconds), and every BACKGROUND_SAVE_EVERY seconds during a backlog."""
        last_vectors = 0.0
        while not stop.is_set():
            busy = False
            try:
                busy = self.sync_lexical(max_batches=1) > 0
                embedded = self.embed_pending(max_papers=EMBED_BATCH)
                busy = busy or embedded > 0
                caught_up = embedded < EMBED_BATCH  # it stopped early: nothing left to embed
                since = time.monotonic() - last_vectors
                # a big IVF snapshot is hundreds of MB: write it at most every BACKGROUND_SAVE_EVERY s
                big = self._vectors is not None and len(self._vectors) >= FLAT_MAX
                if (caught_up and (not big or since >= BACKGROUND_SAVE_EVERY)) or since >= BACKGROUND_SAVE_EVERY:
                    if self.sync_vectors():
                        busy = True
                    last_vectors = time.monotonic()
            except Exception:  # never let the thread die: log, wait, try again
                log.exception("background indexing failed; retrying in %.0fs", interval)
                busy = False
            if not busy:
                stop.wait(interval)

    def pending(self) -> dict:
        """Papers changed since each index last caught up: {'lexical': n, 'embed': n}."""
        self.lexical.reload()
        lex_seq = self.lexical.seq()
        embed_seq, meta = self.store.papers.index_state("embed")
        if self._embedder is not None and meta.get("model") not in (None, self._embedder.key):
            embed_seq = 0
        vec = latest_snapshot(vectors_dir(self.settings))
        count = self.store.papers.count_changes_since
        return {"lexical": count(lex_seq), "embed": count(embed_seq), "vector": count(vec[0] if vec else 0)}
