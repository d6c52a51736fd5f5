"""What the relevance changes cost: search and similar papers, before and after, same process.

    .venv/bin/python bench/relevance_cost.py [--rounds 5]

Corpora: the demo's 64 seed papers (with the 55 plain-language queries) and SciFact's 5,183
abstracts (with 100 test claims), each in a real store with real indexes (bench/relevance_data.py;
embeddings cached in bench/out/). "before" is what main did until now: search with the fixed convex
weight (fusion.FIXED_FUSION), similar papers as the paper embedding's plain neighbours. "after" is
SearchEngine's defaults: adaptive fusion, and similar() re-scoring the embedding's neighbours with
the TF-IDF cosine of their words. Results cache off; the query embedder warmed up first. The two
variants alternate query by query, so a busy neighbour slows both alike. Prints per-call medians
and p95 in ms and the after/before ratio of the medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from paperwire.search.fusion import DEFAULT_FUSION, FIXED_FUSION  # noqa: E402
from relevance_data import COLLECTIONS, open_engine  # noqa: E402


def plain_neighbours(engine, paper_id: str, k: int = 10):
    """similar() as it was: the paper embedding's nearest neighbours, then the papers fetched."""
    pk = engine.store.papers.pks_for([paper_id])[paper_id]
    vec = np.frombuffer(engine.store.papers.embeddings([pk])[pk], dtype=np.float32)
    found = [
        (p, s) for p, s in engine._vectors.search(vec, k + 1, exclude=engine.store.community.hidden_pks()) if p != pk
    ][:k]
    return engine.store.papers.get_many([p for p, _ in found])


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def p95(xs: list[float]) -> float:
    return float(np.percentile(xs, 95))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5, help="passes over the queries and papers")
    args = ap.parse_args()
    rows = []
    for name, nq in (("plain", 55), ("scifact", 100)):
        coll = COLLECTIONS[name]()
        qids = (coll.splits["test"] if name == "scifact" else list(coll.queries))[:nq]
        queries = [coll.queries[q] for q in qids]
        paper_ids = [p.id for p in coll.papers[:nq]]
        with tempfile.TemporaryDirectory() as tmp:
            store, engine, _ = open_engine(coll, Path(tmp), progress=False)
            engine.search("warm up the query embedder", limit=10)
            engine.similar(paper_ids[0], k=10)
            t = {"search before": [], "search after": [], "similar before": [], "similar after": []}
            for _ in range(args.rounds):
                for q in queries:
                    engine.fusion = FIXED_FUSION
                    t["search before"].append(timed(lambda q=q, engine=engine: engine.search(q, limit=20)))
                    engine.fusion = DEFAULT_FUSION
                    t["search after"].append(timed(lambda q=q, engine=engine: engine.search(q, limit=20)))
                for pid in paper_ids:
                    t["similar before"].append(timed(lambda pid=pid, engine=engine: plain_neighbours(engine, pid)))
                    t["similar after"].append(timed(lambda pid=pid, engine=engine: engine.similar(pid, k=10)))
            store.close()
        for what in ("search", "similar"):
            b, a = t[f"{what} before"], t[f"{what} after"]
            rows.append(
                (
                    f"{name} ({len(coll.papers):,} papers)",
                    what,
                    len(b),
                    statistics.median(b),
                    p95(b),
                    statistics.median(a),
                    p95(a),
                    statistics.median(a) / statistics.median(b),
                )
            )
    load = os.getloadavg()[0]
    print(f"\n{os.cpu_count()} CPU cores, load average {load:.1f}; {args.rounds} rounds; ms per call")
    print(
        f"{'corpus':<24} {'call':<8} {'n':>5} {'before p50':>10} {'p95':>7} {'after p50':>10} {'p95':>7} {'ratio':>6}"
    )
    for corpus, what, n, bm, bp, am, apc, r in rows:
        print(f"{corpus:<24} {what:<8} {n:>5} {bm:>10.2f} {bp:>7.2f} {am:>10.2f} {apc:>7.2f} {r:>6.2f}")


if __name__ == "__main__":
    main()
