"""Compute the demo corpus' embeddings with the real model and write them beside the corpus.

    .venv/bin/python scripts/make_demo_vectors.py        # arXiv sample + seed papers -> demo_vectors.npz
    .venv/bin/python scripts/make_demo_vectors.py --hf   # Hugging Face sample -> hf_demo_vectors.npz

`paperwire serve --demo` stores these vectors for the papers whose text they were computed from,
so the demo is searchable by meaning seconds after it starts instead of minutes (embedding 3,064
abstracts takes ~4 minutes on 2 CPU cores). Run it again whenever the demo corpus, the model or
`search.embed.paper_text` changes; a vector whose paper text changed is ignored (text hash check).
"""

from __future__ import annotations

import sys
import tempfile

import numpy as np

from paperwire.config import load_settings
from paperwire.demo import HF_VECTORS_FILE, VECTORS_FILE, demo_paths, load_demo
from paperwire.search.embed import get_document_embedder, paper_text
from paperwire.storage import open_store


def main() -> None:
    hf = "--hf" in sys.argv[1:]
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(data_dir=tmp, database_url=f"sqlite:///{tmp}/demo.db")
        store = open_store(settings.database_url)
        load_demo(store, progress=False, settings=None)
        ids, hashes, texts = [], [], []
        for batch in store.papers.iter():
            for _pk, paper in batch:
                if (paper.source == "hf-daily") != hf:  # each file holds the vectors of its own part
                    continue
                ids.append(paper.id)
                hashes.append(paper.text_hash())
                texts.append(paper_text(paper))
        emb = get_document_embedder(settings)
        vectors = emb.encode(texts, progress=True)
        out = demo_paths()[0].parent / (HF_VECTORS_FILE if hf else VECTORS_FILE)
        np.savez_compressed(
            out,
            ids=np.array(ids),
            text_hashes=np.array(hashes),
            vectors=vectors.astype(np.float16),
            key=np.array(emb.key),
        )
        print(f"wrote {len(ids)} vectors ({emb.key}) to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
