"""The 74,728 real arXiv listings of ../shared/data/arxiv-daily/ embedded on this CPU with the default
document embedder (PAPERWIRE_EMBED_BACKEND, `auto`: ONNX int8 reading 128 word pieces), in the format
of bench/out/gpu_vectors.npz (torch, 256 pieces, made on a GPU), so that bench/foryou.py can compare
the recommender on both:

    .venv/bin/python bench/embed_listings.py                   # -> bench/out/listing_vectors_<key>.npz
    .venv/bin/python bench/foryou.py --vectors bench/out/listing_vectors_all-MiniLM-L6-v2_t1_len128.npz
"""

from __future__ import annotations

import gzip
import json
import os
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, OUT  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    from tqdm import tqdm

    from paperwire.config import load_settings
    from paperwire.models import Paper
    from paperwire.search.embed import get_document_embedder, paper_text

    path = DATA / "arxiv-daily" / "arxiv_daily_listings.jsonl.gz"
    if not path.exists():
        raise SystemExit(f"{path} is missing: the shared data must sit beside the repository")
    recs = [json.loads(line) for line in gzip.open(path, "rt", encoding="utf-8")]
    settings = load_settings(data_dir=OUT / "embed_listings")
    emb = get_document_embedder(settings)
    papers = [Paper(id=r["id"], title=r["title"], abstract=r["summary"]) for r in recs]
    texts = [paper_text(p) for p in papers]
    out = np.empty((len(texts), emb.dim), dtype=np.float32)
    t0 = time.perf_counter()
    step = 1024
    for i in tqdm(range(0, len(texts), step), unit="x1024", desc=f"embedding ({emb.key})"):
        out[i : i + step] = emb.encode(texts[i : i + step])
    seconds = time.perf_counter() - t0
    target = OUT / f"listing_vectors_{re.sub(r'[^A-Za-z0-9_.-]+', '_', emb.key)}.npz"
    meta = {
        "docs": len(texts),
        "seconds": seconds,
        "docs_per_s": len(texts) / seconds,
        "model": emb.key,
        "loadavg_end": os.getloadavg(),
    }
    np.savez(
        target,
        ids=np.array([r["id"] for r in recs]),
        hashes=np.array([p.text_hash() for p in papers]),
        vecs=out,
        meta=np.array(json.dumps(meta)),
    )
    print(f"wrote {target} ({len(texts)} vectors, {meta['docs_per_s']:.1f} docs/s)", file=sys.stderr)


if __name__ == "__main__":
    main()
