"""BM25 and the query embedding one after the other vs side by side, on a built scale database.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/search_parallel.py bench/out/scale_3M

Prints p50 / p95 (ms) over 120 of bench/scale.py's queries for: BM25 alone, the query embedding
alone (its cache cleared each time), both sequentially, both side by side (the embedding in a thread).
"""

import statistics
import sys
import time

sys.path.insert(0, "bench")
from concurrent.futures import ThreadPoolExecutor

from paperwire.config import load_settings
from paperwire.search.hybrid import SearchEngine
from paperwire.search.lexical import analyze
from paperwire.search.query import parse_query
from paperwire.storage import open_store
from scale import build_queries

root = sys.argv[1] if len(sys.argv) > 1 else "bench/out/scale_1M"
s = load_settings(
    data_dir=root,
    database_url=f"sqlite:///{root}/paperwire.db",
    index_dir=f"{root}/paperwire.db.index",
    base_url=None,
    embed_model=None,
)
st = open_store(s.database_url, migrate=False)
eng = SearchEngine(st, s)
eng.results_cache = 0
qs = [q["q"] for q in build_queries(74728, 40)][:120]
eng.search(qs[0])


def lex(q):
    pq = parse_query(q)
    return eng.lexical.search(analyze(" ".join(pq.terms + pq.phrases)), pq, k=100)


def emb(q):
    eng.embedder._cache.clear()
    return eng.embedder.encode_query(q)


ex = ThreadPoolExecutor(1)
for name, fn in [
    ("lex", lex),
    ("emb", emb),
    ("seq", lambda q: (lex(q), emb(q))),
    ("par", lambda q: (lambda f: (lex(q), f.result()))(ex.submit(emb, q))),
]:
    ts = []
    for q in qs:
        t = time.perf_counter()
        fn(q)
        ts.append((time.perf_counter() - t) * 1000)
    ts.sort()
    print(name, f"p50 {statistics.median(ts):.1f} p95 {ts[int(0.95 * len(ts))]:.1f}")
