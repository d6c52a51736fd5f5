"""Search quality on BEIR SciFact: nDCG@10 and recall@100, through Paperwire's real code paths.

The 5,183 SciFact abstracts are stored as papers (store.papers.upsert into a temporary SQLite
store), indexed by the real Indexer and searched by the real SearchEngine. Embeddings are cached
under bench/out/ (keyed by doc id and text hash) and handed to the store before Indexer.sync(),
which then reuses them exactly as it reuses stored embeddings in production.

Alternative BM25 engines (bm25s, SQLite FTS5) are measured beside tantivy on the same corpus and
queries, to justify the choice; they are comparison baselines, not product code.

    .venv/bin/python bench/quality_scifact.py              # 300 test queries, the table
    .venv/bin/python bench/quality_scifact.py --tune       # grid search fusion/boost on train queries
    .venv/bin/python bench/quality_scifact.py --quick 50   # first 50 queries only
    .venv/bin/python bench/quality_scifact.py --lexical-latency 300000   # tantivy vs FTS5 at scale
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402

from paperwire.config import load_settings  # noqa: E402
from paperwire.models import Paper, RecordError, validated  # noqa: E402
from paperwire.search import lexical as lexical_mod  # noqa: E402
from paperwire.search.fusion import DEFAULT_FUSION, FusionParams, fuse  # noqa: E402
from paperwire.search.hybrid import SearchEngine  # noqa: E402
from paperwire.search.indexer import Indexer  # noqa: E402
from paperwire.search.lexical import analyze  # noqa: E402
from paperwire.search.query import dense_text, parse_query  # noqa: E402
from paperwire.storage import Store  # noqa: E402
from paperwire.storage.sqlite import SQLiteDatabase  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "scifact"
OUT = ROOT / "bench" / "out"


# -- data ----------------------------------------------------------------------------------
def load_corpus() -> list[dict]:
    with gzip.open(DATA / "corpus.jsonl.gz", "rt") as f:
        return [json.loads(line) for line in f]


def load_queries() -> dict[str, str]:
    out = {}
    with open(DATA / "queries.jsonl") as f:
        for line in f:
            d = json.loads(line)
            out[d["_id"]] = d["text"]
    return out


def load_qrels(split: str) -> dict[str, set[str]]:
    qrels: dict[str, set[str]] = {}
    with open(DATA / "qrels" / f"{split}.tsv") as f:
        next(f)
        for line in f:
            q, d, s = line.rstrip("\n").split("\t")
            if int(s) > 0:
                qrels.setdefault(q, set()).add(d)
    return qrels


# -- metrics -------------------------------------------------------------------------------
def ndcg_at(ranked: list[str], relevant: set[str], k: int = 10) -> float:
    dcg = sum(1 / math.log2(i + 2) for i, d in enumerate(ranked[:k]) if d in relevant)
    idcg = sum(1 / math.log2(i + 2) for i in range(min(k, len(relevant))))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: list[str], relevant: set[str], k: int = 100) -> float:
    return len(set(ranked[:k]) & relevant) / len(relevant) if relevant else 0.0


def evaluate(runs: dict[str, list[str]], qrels: dict[str, set[str]]) -> tuple[float, float]:
    qs = [q for q in qrels if q in runs]
    return (
        statistics.fmean(ndcg_at(runs[q], qrels[q]) for q in qs),
        statistics.fmean(recall_at(runs[q], qrels[q]) for q in qs),
    )


def index_with_cached_embeddings(store, indexer, papers: list, cache: Path, progress: bool = False) -> dict:
    """indexer.sync(), handing it first the vectors ``cache`` holds for these papers' current texts
    (embedding SciFact takes minutes on two cores); what had to be embedded is cached after."""
    pk_of = store.papers.pks_for([p.id for p in papers])
    by_id = {p.id: p for p in papers}
    if cache.exists():
        z = np.load(cache)
        rows = [
            (pk_of[i], h, v.astype(np.float32).tobytes())
            for i, h, v in zip(z["ids"], z["hashes"], z["vecs"], strict=True)
            if i in by_id and by_id[i].text_hash() == h
        ]
        store.papers.put_embeddings(rows, model=indexer.embedder.key)
        print(f"reused {len(rows)} cached embeddings from {cache.relative_to(ROOT)}", file=sys.stderr)
    counts = indexer.sync(progress=progress)
    if counts["embedded"]:
        id_of = {pk: i for i, pk in pk_of.items()}
        ids, hashes, vecs = [], [], []
        for rows in store.papers.iter_embeddings():
            for pk, blob in rows:
                ids.append(id_of[pk])
                hashes.append(by_id[id_of[pk]].text_hash())
                vecs.append(np.frombuffer(blob, dtype=np.float32))
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, ids=np.array(ids), hashes=np.array(hashes), vecs=np.vstack(vecs))
    return counts


# -- the Paperwire store + indexes ---------------------------------------------------------
def build(corpus: list[dict], workdir: Path):
    settings = load_settings(data_dir=workdir, database_url=f"sqlite:///{workdir / 'scifact.db'}")
    workdir.mkdir(parents=True, exist_ok=True)
    store = Store(SQLiteDatabase(settings.sqlite_path))
    store.migrate()
    papers, bad = [], 0
    for d in corpus:
        # six SciFact records hold U+FFFD (lost characters), which ingest rejects; drop the character
        title = (d.get("title") or d["text"][:120]).replace("\ufffd", "")
        d = dict(d, text=d["text"].replace("\ufffd", ""))
        try:
            papers.append(
                validated(
                    Paper(
                        id=f"scifact:{d['_id']}",
                        title=title,
                        abstract=d["text"],
                        submitted="2020-01-01",
                        source="scifact",
                    )
                )
            )
        except RecordError:
            bad += 1
    for i in range(0, len(papers), 1000):
        store.papers.upsert(papers[i : i + 1000])
    indexer = Indexer(store, settings)
    emb = indexer.embedder
    cache = OUT / f"scifact-embeddings-{re.sub(r'[^A-Za-z0-9_.-]+', '_', emb.key)}.npz"
    t0 = time.monotonic()
    counts = index_with_cached_embeddings(store, indexer, papers, cache, progress=True)
    print(f"indexed {len(papers)} papers ({bad} skipped): {counts} in {time.monotonic() - t0:.1f}s", file=sys.stderr)
    pk_of = store.papers.pks_for([p.id for p in papers])
    engine = SearchEngine(store, settings)  # queries: the production query embedder (query_backend)
    doc_of = {pk: i.split(":", 1)[1] for i, pk in pk_of.items()}
    return store, indexer, engine, doc_of


# -- alternative BM25 engines (baselines for the choice) ------------------------------------
def bm25s_runs(corpus, queries: dict[str, str]) -> tuple[dict[str, list[str]], list[float]]:
    import bm25s

    texts = [f"{d.get('title', '')} {d['text']}" for d in corpus]
    ids = [d["_id"] for d in corpus]
    retriever = bm25s.BM25(k1=0.9, b=0.4)
    retriever.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
    runs, lat = {}, []
    for qid, q in queries.items():
        t0 = time.perf_counter()
        docs, _ = retriever.retrieve(
            bm25s.tokenize([q], stopwords="en", show_progress=False), k=100, show_progress=False
        )
        lat.append((time.perf_counter() - t0) * 1000)
        runs[qid] = [ids[i] for i in docs[0]]
    return runs, lat


def fts5_runs(corpus, queries: dict[str, str]) -> tuple[dict[str, list[str]], list[float]]:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, title, body, tokenize='porter unicode61')")
    db.executemany("INSERT INTO docs VALUES (?, ?, ?)", [(d["_id"], d.get("title", ""), d["text"]) for d in corpus])
    runs, lat = {}, []
    for qid, q in queries.items():
        words = [w for w in re.findall(r"\w+", q.lower()) if w not in lexical_mod_stop()]
        match = " OR ".join(f'"{w}"' for w in words) or '""'
        t0 = time.perf_counter()
        rows = db.execute("SELECT id FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT 100", (match,)).fetchall()
        lat.append((time.perf_counter() - t0) * 1000)
        runs[qid] = [r[0] for r in rows]
    return runs, lat


def lexical_mod_stop() -> set[str]:
    # the same English stopword list tantivy uses (Lucene's), so the engines compare fairly
    return set(
        "a an and are as at be but by for if in into is it no not of on or such that the their "
        "then there these they this to was will with".split()
    )


# -- Paperwire runs ------------------------------------------------------------------------
def component_lists(engine: SearchEngine, queries: dict[str, str], k: int = 100):
    """Per query: the BM25 list and the embedding list the SearchEngine fuses, with timings."""
    lex, dense, t_lex, t_dense = {}, {}, [], []
    for qid, q in queries.items():
        pq = parse_query(q)
        t0 = time.perf_counter()
        lex[qid] = engine.lexical.search(analyze(" ".join(pq.terms + pq.phrases)), pq, k=k)
        t1 = time.perf_counter()
        dense[qid] = engine._vectors.search(engine.embedder.encode_query(dense_text(pq)), k)
        t2 = time.perf_counter()
        t_lex.append((t1 - t0) * 1000)
        t_dense.append((t2 - t1) * 1000)
    return lex, dense, t_lex, t_dense


def to_docs(lists: dict[str, list[tuple[int, float]]], doc_of) -> dict[str, list[str]]:
    return {q: [doc_of[pk] for pk, _ in lst] for q, lst in lists.items()}


def p(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def tune(engine, queries, qrels, doc_of) -> None:
    print("\nTuning on SciFact TRAIN queries (nDCG@10)")
    best = None
    default_boost = lexical_mod.TITLE_BOOST
    for boost in (0.0, 0.25, 0.5, 1.0):
        lexical_mod.TITLE_BOOST = boost
        lex, dense, _, _ = component_lists(engine, queries)
        nd, _ = evaluate(to_docs(lex, doc_of), qrels)
        print(f"  title boost {boost}: BM25 {nd:.4f}")
        grid = [FusionParams("convex", alpha=a) for a in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7)]
        grid += [FusionParams("rrf", k=k, w_dense=w) for k in (10, 30, 60, 100) for w in (0.5, 0.75, 1.0, 1.5, 2.0)]
        for params in grid:
            runs = {q: [doc_of[f.pk] for f in fuse(lex[q], dense[q], params)] for q in lex}
            nd, rc = evaluate(runs, qrels)
            if best is None or nd > best[0]:
                best = (nd, rc, boost, params)
        print(f"    best so far: nDCG@10 {best[0]:.4f} recall@100 {best[1]:.4f} boost {best[2]} {best[3]}")
    lexical_mod.TITLE_BOOST = default_boost
    print(f"BEST on train: nDCG@10 {best[0]:.4f}  title boost {best[2]}  {best[3]}")


def lexical_latency(n: int) -> None:
    """BM25 latency at scale, tantivy (the real LexicalIndex) vs SQLite FTS5: n real arXiv
    abstracts (arxiv-daily, repeated under new pks to reach n), 300 arXiv titles as queries."""
    from paperwire.search.lexical import LexicalIndex

    with gzip.open(DATA.parent / "arxiv-daily" / "arxiv_daily_listings.jsonl.gz", "rt") as f:
        recs = [json.loads(line) for line in f]
    rng = np.random.default_rng(0)
    queries = [recs[i]["title"] for i in rng.choice(len(recs), 300, replace=False)]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        lex = LexicalIndex(Path(tmp) / "lexical")

        def papers():
            for pk in range(1, n + 1):
                r = recs[(pk - 1) % len(recs)]
                yield (
                    pk,
                    Paper(
                        id=f"x:{pk}", title=r["title"], abstract=r.get("summary") or "", announced=r.get("listing_date")
                    ),
                )

        lex.write(papers(), seq=n, clear=True)
        t_tan = time.monotonic() - t0
        t0 = time.monotonic()
        db = sqlite3.connect(str(Path(tmp) / "fts.db"))
        db.execute("CREATE VIRTUAL TABLE docs USING fts5(title, body, tokenize='porter unicode61')")
        db.executemany(
            "INSERT INTO docs(rowid, title, body) VALUES (?, ?, ?)",
            (
                (pk, recs[(pk - 1) % len(recs)]["title"], recs[(pk - 1) % len(recs)].get("summary") or "")
                for pk in range(1, n + 1)
            ),
        )
        db.commit()
        t_fts = time.monotonic() - t0
        stop = lexical_mod_stop()
        lat_t, lat_f = [], []
        for q in queries:
            t0 = time.perf_counter()
            lex.search(analyze(q), None, k=100)
            lat_t.append((time.perf_counter() - t0) * 1000)
            words = [w for w in re.findall(r"\w+", q.lower()) if w not in stop]
            t0 = time.perf_counter()
            db.execute(
                "SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT 100",
                (" OR ".join(f'"{w}"' for w in words) or '""',),
            ).fetchall()
            lat_f.append((time.perf_counter() - t0) * 1000)
        print(
            f"\nBM25 top-100 latency, {n:,} real arXiv abstracts, 300 arXiv titles as OR queries; "
            f"{os.cpu_count()} CPU cores"
        )
        print(f"{'engine':<40} {'build s':>8} {'p50 ms':>8} {'p95 ms':>8}")
        print(f"{'tantivy (Paperwire LexicalIndex)':<40} {t_tan:8.0f} {p(lat_t, 0.5):8.1f} {p(lat_t, 0.95):8.1f}")
        print(f"{'SQLite FTS5 (porter), ORDER BY bm25':<40} {t_fts:8.0f} {p(lat_f, 0.5):8.1f} {p(lat_f, 0.95):8.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", default="test", choices=["test", "train"])
    ap.add_argument("--quick", type=int, default=0, metavar="N", help="only the first N queries")
    ap.add_argument("--tune", action="store_true", help="grid-search fusion on train queries")
    ap.add_argument("--no-baselines", action="store_true", help="skip bm25s and SQLite FTS5")
    ap.add_argument(
        "--lexical-latency",
        type=int,
        default=0,
        metavar="N",
        help="only: BM25 latency of tantivy vs FTS5 on N arXiv abstracts",
    )
    args = ap.parse_args()
    if args.lexical_latency:
        lexical_latency(args.lexical_latency)
        return
    if not DATA.exists():
        sys.exit(f"SciFact not found at {DATA}")

    corpus = load_corpus()
    all_queries = load_queries()
    split = "train" if args.tune else args.split
    qrels = load_qrels(split)
    qids = sorted(qrels, key=int)
    if args.quick:
        qids = qids[: args.quick]
    qrels = {q: qrels[q] for q in qids}
    queries = {q: all_queries[q] for q in qids}

    page20 = (float("nan"), float("nan"))
    with tempfile.TemporaryDirectory() as tmp:
        store, indexer, engine, doc_of = build(corpus, Path(tmp))
        engine.reload()
        if args.tune:
            tune(engine, queries, qrels, doc_of)
            store.close()
            return
        rows = []
        lex, dense, t_lex, t_dense = component_lists(engine, queries)
        rows.append(("BM25, tantivy (Paperwire lexical index)", *evaluate(to_docs(lex, doc_of), qrels), t_lex))
        rows.append(
            (
                "Dense, all-MiniLM-L6-v2 + faiss flat (query embedding incl.)",
                *evaluate(to_docs(dense, doc_of), qrels),
                t_dense,
            )
        )
        for params in (FusionParams("rrf", k=60), FusionParams("convex", alpha=0.5)):  # untuned references
            runs = {q: [doc_of[f.pk] for f in fuse(lex[q], dense[q], params)] for q in lex}
            label = f"Hybrid, RRF k={params.k:g}" if params.method == "rrf" else f"Hybrid, convex alpha={params.alpha}"
            rows.append((label, *evaluate(runs, qrels), None))
        hybrid, t_h = {}, []
        for qid, q in queries.items():
            engine.embedder._cache.clear()  # time the query embedding too
            r = engine.search(q, limit=100)
            t_h.append(r.took_ms)
            hybrid[qid] = [h.paper.id.split(":", 1)[1] for h in r.hits]
        rows.append(
            (
                f"Hybrid, SearchEngine.search ({DEFAULT_FUSION.method}, defaults), limit=100",
                *evaluate(hybrid, qrels),
                t_h,
            )
        )
        t_20 = []
        for q in queries.values():
            engine.embedder._cache.clear()
            t_20.append(engine.search(q, limit=20).took_ms)
        page20 = p(t_20, 0.5), p(t_20, 0.95)
        if not args.no_baselines:
            runs, lat = bm25s_runs(corpus, queries)
            rows.append(("BM25, bm25s (k1=0.9 b=0.4, no stemming) [baseline]", *evaluate(runs, qrels), lat))
            runs, lat = fts5_runs(corpus, queries)
            rows.append(("BM25, SQLite FTS5 porter, OR query [baseline]", *evaluate(runs, qrels), lat))
        store.close()

    print(
        f"\nSciFact {split}: {len(queries)} queries, {len(corpus)} docs; "
        f"machine: {os.cpu_count()} CPU cores; torch threads {__import__('torch').get_num_threads()}"
    )
    print(f"{'method':<66} {'nDCG@10':>8} {'R@100':>7} {'p50 ms':>7} {'p95 ms':>7}")
    for name, nd, rc, lat in rows:
        tl = f"{p(lat, 0.5):7.1f} {p(lat, 0.95):7.1f}" if lat else f"{'':>7} {'':>7}"
        print(f"{name:<66} {nd:8.4f} {rc:7.4f} {tl}")
    print(
        f"SearchEngine.search(q, limit=20) end to end, query embedding included: "
        f"p50 {page20[0]:.1f} ms, p95 {page20[1]:.1f} ms; load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
