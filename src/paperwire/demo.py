"""The demo corpus shipped in paperwire/data: the seed page, a sample of real arXiv listings, and
real Hugging Face daily papers (with their upvotes, day lists and GitHub stars) for trending."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np

from .sources.base import IngestReport
from .sources.jsonl import JsonlSource
from .sources.runner import run_ingest
from .storage import Store

DEMO_FILES = ("arxiv_daily_sample.jsonl.gz", "seed_papers.jsonl")
# Hugging Face daily papers listed 2026-06-01 .. 2026-08-21 (1,374 items), imported after the files above
HF_DEMO_FILE = "hf_daily_sample.jsonl.gz"
# Embeddings of the demo papers, made by scripts/make_demo_vectors.py with the real model.
VECTORS_FILE = "demo_vectors.npz"
HF_VECTORS_FILE = "hf_demo_vectors.npz"  # scripts/make_demo_vectors.py --hf


def demo_paths() -> list[Path]:
    base = resources.files("paperwire").joinpath("data")
    return [Path(str(base.joinpath(name))) for name in DEMO_FILES]


def hf_demo_path() -> Path:
    return Path(str(resources.files("paperwire").joinpath("data").joinpath(HF_DEMO_FILE)))


def load_demo(store: Store, *, progress: bool = True, settings=None) -> list[IngestReport]:
    """Ingest the demo corpus (idempotent: papers already there are left as they are).

    With ``settings``, also store the shipped embeddings of the papers whose text they were
    computed from, so the indexer only has to add them to the vector index."""
    from .trending.hf_import import import_hf

    reports = [run_ingest(store, JsonlSource(path, id_prefix="demo"), progress=progress) for path in demo_paths()]
    reports.append(import_hf(store, hf_demo_path(), progress=progress))
    if settings is not None:
        attach_demo_vectors(store, settings)
    return reports


def attach_demo_vectors(store: Store, settings) -> int:
    """Store the shipped demo embeddings where the model and the paper text still match."""
    folder = demo_paths()[0].parent
    return sum(_attach_vectors(store, settings, folder / name) for name in (VECTORS_FILE, HF_VECTORS_FILE))


def _attach_vectors(store: Store, settings, path: Path) -> int:
    from .search.embed import embedder_key

    if not path.exists():
        return 0
    data = np.load(path)
    key = str(data["key"])
    if key != embedder_key(settings):
        return 0  # made by another model or text recipe: let the indexer embed
    ids = [str(i) for i in data["ids"]]
    pks = store.papers.pks_for(ids)
    papers = store.papers.get_many(list(pks.values()))
    have = store.papers.embedding_hashes(list(pks.values()))
    rows = []
    for i, paper_id in enumerate(ids):
        pk = pks.get(paper_id)
        text_hash = str(data["text_hashes"][i])
        if pk is None or papers[pk].text_hash() != text_hash or have.get(pk) == text_hash:
            continue
        rows.append((pk, text_hash, data["vectors"][i].astype(np.float32).tobytes()))
    for start in range(0, len(rows), 1000):
        store.papers.put_embeddings(rows[start : start + 1000], model=key)
    return len(rows)
