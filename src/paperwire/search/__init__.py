"""Search: BM25 (lexical.py) + dense embeddings (embed.py, vectors.py) fused in hybrid.py."""
