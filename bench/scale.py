"""Scale benchmark: ingest, embedding, index build and hybrid-search latency at 10k / 100k / 1M / 3M papers.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/scale.py                 # 10k, 100k and 1M
    HF_HUB_OFFLINE=1 .venv/bin/python bench/scale.py --sizes 10k,100k
    HF_HUB_OFFLINE=1 .venv/bin/python bench/scale.py --sizes 3m --steps corpus,ingest,embed,build,search
    HF_HUB_OFFLINE=1 .venv/bin/python bench/scale.py --report        # only print the table

For each N, in this order, each step in its own process (so its peak memory is its own):
  corpus  bench/out/corpus_<N>.jsonl: the first N lines of gen_corpus.py's output (arXiv snapshot
          format; the first 74,728 are real arXiv listings, the rest resampled from them)
  ingest  SnapshotSource + run_ingest into a fresh SQLite database
  rate    (first size only) embedding throughput on this CPU: --rate-docs real papers, timed
  embed   vectors into the embeddings table: every real arXiv record gets its real
          all-MiniLM-L6-v2 vector (the first --real-embed papers are embedded here on the CPU, once;
          bench/out/gpu_vectors.npz, made by bench/embed_gpu.py, holds all 74,728 when present);
          every other paper gets a vector DERIVED from real ones, normalise(a*u + (1-a)*v + noise),
          u, v the vectors of two random real records, a in [0.5, 0.9], written straight into the
          table. Embedding 1M documents on 2 CPU cores would take days: that time is extrapolated
          from the measured rate.
  build   Indexer(store, settings).rebuild(): BM25 index (tantivy) + vector index (faiss), reusing
          the stored embeddings (the full-rebuild path of `paperwire reindex`)
  update  (after search) 500 new papers arrive: time to ingest them, to make them findable by words
          (Indexer.sync_lexical) and by meaning (embed_pending on this CPU, sync_vectors)
  search  SearchEngine(store, settings).search(q, limit=10) over ~300 queries built from real
          data (truncated/rephrased real titles, short keyword queries, SciFact claims), each once,
          timed end to end INCLUDING the query embedding (every query is new to the engine's
          cache); then the same queries again with the query vectors cached (index time alone)

Results: bench/out/scale_<N>/<step>.json; the table (markdown) is printed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    DATA,
    OUT,
    Timer,
    dir_size,
    human_n,
    machine,
    mb,
    parse_n,
    peak_rss_mb,
    percentile,
    read_json,
    write_json,
)

DEFAULT_SIZES = "10k,100k,1m"
REAL_POOL = OUT / "real_vectors.npz"
GPU_POOL = OUT / "gpu_vectors.npz"
STEPS = ("corpus", "ingest", "rate", "embed", "build", "search", "update")  # rate: only for the first size
STOP = set(
    "a an the of for in on to and with by from via at as is are be this that we our using based towards toward into".split()
)


def run_dir(n: int) -> Path:
    return OUT / f"scale_{human_n(n)}"


def corpus_path(n: int) -> Path:
    return OUT / f"corpus_{n}.jsonl"


def settings_for(n: int):
    from paperwire.config import load_settings

    d = run_dir(n)
    return load_settings(data_dir=d, database_url=f"sqlite:///{d / 'paperwire.db'}")


def open_store(n: int):
    from paperwire.storage import open_store as _open

    s = settings_for(n)
    return _open(s.database_url, create_dir=s.data_dir)


# --------------------------------------------------------------------------------------------- steps


def step_corpus(n: int, args) -> dict:
    out = corpus_path(n)
    if out.exists() and sum(1 for _ in open(out, "rb")) == n:
        return {"path": str(out), "reused": True, "bytes": out.stat().st_size}
    bigger = sorted(
        (p for p in OUT.glob("corpus_*.jsonl") if int(p.stem.split("_")[1]) > n),
        key=lambda p: int(p.stem.split("_")[1]),
    )
    with Timer() as t:
        if bigger:  # gen_corpus output is deterministic: the first n lines of a bigger one are corpus n
            tmp = out.with_name(out.name + ".part")
            with open(bigger[0], "rb") as src, open(tmp, "wb") as dst:
                for i, line in enumerate(src):
                    if i >= n:
                        break
                    dst.write(line)
            tmp.replace(out)
        else:
            import gen_corpus

            gen_corpus.generate(n, out, seed=0, progress=True)
    return {"path": str(out), "reused": False, "seconds": t.seconds, "bytes": out.stat().st_size}


def step_ingest(n: int, args) -> dict:
    from paperwire.sources.runner import run_ingest
    from paperwire.sources.snapshot import SnapshotSource

    d = run_dir(n)
    for name in ("paperwire.db", "paperwire.db-wal", "paperwire.db-shm", "paperwire.db.index"):
        p = d / name
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    store = open_store(n)
    with Timer() as t:
        report = run_ingest(store, SnapshotSource(corpus_path(n)), progress=True)
    count = store.papers.count()
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    assert count == n, f"{count} papers stored, expected {n}: {report.summary()[:2000]}"
    return {
        "papers": count,
        "seconds": t.seconds,
        "rate": n / t.seconds,
        "skipped": report.skipped,
        "db_bytes": dir_size(d / "paperwire.db"),
        "peak_rss_mb": peak_rss_mb(),
    }


def _real_pool(store, settings, want: int) -> dict:
    """Embed the first ``want`` papers for real (once; kept in bench/out/real_vectors.npz)."""
    import numpy as np

    from paperwire.search.embed import get_document_embedder, paper_text

    cached = None
    if REAL_POOL.exists():
        z = np.load(REAL_POOL, allow_pickle=False)
        if len(z["ids"]) >= want:
            cached = z
    if cached is not None:
        meta = json.loads(str(cached["meta"]))
        return {
            "ids": cached["ids"].tolist(),
            "hashes": cached["hashes"].tolist(),
            "vecs": cached["vecs"],
            "meta": meta,
        }
    emb = get_document_embedder(settings)
    papers = []
    for batch in store.papers.iter(batch=2000):
        papers.extend(p for _, p in batch)
        if len(papers) >= want:
            break
    papers = papers[:want]
    texts = [paper_text(p) for p in papers]
    emb.encode(texts[:64])  # warm-up (first call allocates)
    chunks, t0 = [], time.perf_counter()
    from tqdm import tqdm

    for i in tqdm(range(0, len(texts), 256), desc="embedding (real)", unit="x256"):
        chunks.append(emb.encode(texts[i : i + 256]))
    seconds = time.perf_counter() - t0
    vecs = np.vstack(chunks).astype(np.float32)
    import torch

    meta = {
        "docs": len(texts),
        "seconds": seconds,
        "docs_per_s": len(texts) / seconds,
        "loadavg_after": os.getloadavg(),
        "torch_threads": torch.get_num_threads(),
        "batch": emb.batch_size,
        "model": emb.key,
        "mean_chars": sum(map(len, texts)) / len(texts),
    }
    np.savez(
        REAL_POOL,
        ids=np.array([p.id for p in papers]),
        hashes=np.array([p.text_hash() for p in papers]),
        vecs=vecs,
        meta=np.array(json.dumps(meta)),
    )
    return {"ids": [p.id for p in papers], "hashes": [p.text_hash() for p in papers], "vecs": vecs, "meta": meta}


def step_embed(n: int, args) -> dict:
    import numpy as np

    from paperwire.search.embed import embedder_key

    settings = settings_for(n)
    store = open_store(n)
    pool = _real_pool(store, settings, args.real_embed)
    # stored under the key the settings' indexer expects, so the build reuses them (the cached real
    # pool of an earlier run may come from another backend: these vectors are a benchmark's stand-in)
    model = embedder_key(settings)
    ids, hashes, vecs = list(pool["ids"]), list(pool["hashes"]), pool["vecs"]
    n_cpu_pool = len(ids)
    gpu_meta = None
    if GPU_POOL.exists() and not args.cpu_only:
        # the real records embedded on a GPU with the same model (bench/embed_gpu.py): more real vectors
        z = np.load(GPU_POOL, allow_pickle=False)
        gpu_meta = json.loads(str(z["meta"]))
        g_ids, g_hashes, g_vecs = z["ids"].tolist(), z["hashes"].tolist(), z["vecs"]  # (each z[...] re-reads)
        have = set(ids)
        extra = [i for i, pid in enumerate(g_ids) if pid not in have]
        ids += [g_ids[i] for i in extra]
        hashes += [g_hashes[i] for i in extra]
        vecs = np.vstack([vecs, g_vecs[extra]])
    real = {pid: (h, i) for i, (pid, h) in enumerate(zip(ids, hashes, strict=True))}
    rng = np.random.default_rng(1)
    n_real = n_real_cpu = n_derived = 0
    with Timer() as t:
        for batch in store.papers.iter(batch=5000):
            rows = []
            derived_at = []
            for pk, p in batch:
                hit = real.get(p.id)
                if hit is not None and hit[0] == p.text_hash():
                    rows.append((pk, p.text_hash(), vecs[hit[1]].tobytes()))
                    n_real += 1
                    n_real_cpu += hit[1] < n_cpu_pool
                else:
                    derived_at.append((pk, p.text_hash()))
            if derived_at:
                k = len(derived_at)
                a = rng.uniform(0.5, 0.9, size=(k, 1)).astype(np.float32)
                u = vecs[rng.integers(0, len(vecs), k)]
                v = vecs[rng.integers(0, len(vecs), k)]
                mix = a * u + (1 - a) * v + rng.normal(0, 0.01, size=u.shape).astype(np.float32)
                mix /= np.linalg.norm(mix, axis=1, keepdims=True)
                mix = mix.astype(np.float32)
                rows.extend((pk, h, mix[i].tobytes()) for i, (pk, h) in enumerate(derived_at))
                n_derived += k
            store.papers.put_embeddings(rows, model=model)
    count = store.papers.count_embeddings()
    store.close()
    assert count == n
    rate = pool["meta"]["docs_per_s"]
    return {
        "real": n_real,
        "real_cpu": n_real_cpu,
        "real_gpu": n_real - n_real_cpu,
        "derived": n_derived,
        "pool": len(ids),
        "gpu_pool": gpu_meta,
        "write_seconds": t.seconds,
        "embed_rate": pool["meta"],
        "extrapolated_embed_seconds": n / rate,
        "peak_rss_mb": peak_rss_mb(),
    }


def step_build(n: int, args) -> dict:
    from paperwire.search.indexer import Indexer

    settings = settings_for(n)
    if Path(settings.index_dir).exists():
        shutil.rmtree(settings.index_dir)
    store = open_store(n)
    with Timer() as t:
        result = Indexer(store, settings).rebuild(progress=True)
    store.close()
    idx = Path(settings.index_dir)
    return {
        "seconds": t.seconds,
        "result": result,
        "index_bytes": dir_size(idx),
        "lexical_bytes": dir_size(idx / "lexical"),
        "vector_bytes": dir_size(idx / "vectors"),
        "db_bytes": dir_size(settings.sqlite_path),
        "peak_rss_mb": peak_rss_mb(),
    }


def build_queries(limit_real: int, per_kind: int, seed: int = 0) -> list[dict]:
    """Realistic queries, the same for every N: all come from the first ``limit_real`` corpus lines
    (real arXiv records, present in every corpus) and from the SciFact claims."""
    rng = random.Random(seed)
    recs = []
    with open(corpus_path(10_000) if corpus_path(10_000).exists() else sorted(OUT.glob("corpus_*.jsonl"))[0]) as f:
        for i, line in enumerate(f):
            if i >= limit_real:
                break
            recs.append(json.loads(line))
    queries = []
    for r in rng.sample(recs, per_kind):  # a title as someone half remembers it
        words = re.sub(r"[^\w\s-]", " ", r["title"]).lower().split()
        cut = min(len(words), rng.randint(4, 8))
        queries.append({"kind": "title", "q": " ".join(words[:cut]), "want": r["id"]})
    for r in rng.sample(recs, per_kind):  # two or three content words
        words = [w for w in re.sub(r"[^\w\s-]", " ", r["title"]).lower().split() if len(w) > 3 and w not in STOP]
        if len(words) < 2:
            words = [w for w in re.sub(r"[^\w\s-]", " ", r["abstract"]).lower().split() if len(w) > 4 and w not in STOP]
        queries.append(
            {"kind": "keywords", "q": " ".join(rng.sample(words, min(len(words), rng.choice((2, 3))))), "want": r["id"]}
        )
    claims = [json.loads(line)["text"] for line in open(DATA / "scifact" / "queries.jsonl", encoding="utf-8")]
    for c in rng.sample(claims, per_kind):  # a sentence-long claim (biomedical: out of this corpus' domain)
        queries.append({"kind": "claim", "q": c, "want": None})
    return queries


def step_search(n: int, args) -> dict:
    from paperwire.search.hybrid import SearchEngine

    settings = settings_for(n)
    store = open_store(n)
    engine = SearchEngine(store, settings)
    engine.results_cache = 0  # every search computed: the second pass below times the indexes, not a cache
    # both indexes must hold the whole corpus (a search-layer change can invalidate them: rerun build)
    n_db = store.papers.count()  # n, or more after the update step
    assert engine.lexical.num_papers() == n_db, f"lexical index holds {engine.lexical.num_papers()} of {n_db} papers"
    assert engine.has_vectors and len(engine._vectors) == n_db, "vector index incomplete: rerun the build step"
    queries = build_queries(min(n, 10_000), args.queries // 3)
    # warm-up: load the model, touch the indexes (queries not in the measured set)
    for q in (
        "warm up query one",
        "graph neural networks for molecules",
        "robot grasping from images",
        "large language model evaluation",
        "protein folding",
    ):
        engine.search(q, limit=10)
    modes = set()
    timings: dict[str, list[float]] = {"all": []}
    found = {"title": 0, "keywords": 0}
    wanted = {"title": 0, "keywords": 0}
    for item in queries:
        t0 = time.perf_counter()
        res = engine.search(item["q"], limit=10)
        ms = (time.perf_counter() - t0) * 1000
        timings["all"].append(ms)
        timings.setdefault(item["kind"], []).append(ms)
        modes.add(res.mode)
        if item["want"]:
            wanted[item["kind"]] += 1
            found[item["kind"]] += any(h.paper.id == item["want"] for h in res.hits)
    # the same queries again: query vectors now come from the engine's cache -> index time alone
    cached = []
    for item in queries:
        t0 = time.perf_counter()
        engine.search(item["q"], limit=10)
        cached.append((time.perf_counter() - t0) * 1000)
    # the query embedding alone (uncached)
    emb = engine.embedder
    embed_ms = []
    for item in queries[:: max(1, len(queries) // 100)]:
        t0 = time.perf_counter()
        emb.encode([item["q"] + " ."])
        embed_ms.append((time.perf_counter() - t0) * 1000)
    store.close()

    def stats(v):
        return {"p50": percentile(v, 50), "p95": percentile(v, 95), "mean": sum(v) / len(v), "n": len(v)}

    return {
        "queries": len(queries),
        "modes": sorted(modes),
        "latency_ms": {k: stats(v) for k, v in timings.items()},
        "latency_cached_vec_ms": stats(cached),
        "query_embed_ms": stats(embed_ms),
        "known_item_top10": {k: found[k] / wanted[k] for k in found if wanted[k]},
        "peak_rss_mb": peak_rss_mb(),
        "examples": queries[:: max(1, len(queries) // 9)],
    }


def step_rate(n: int, args) -> dict:
    """Embedding throughput on this CPU alone: --rate-docs real papers (the first ones of corpus N, all
    real arXiv records), the indexer's text recipe and batch size, after a warm-up batch."""
    from paperwire.search.embed import get_document_embedder, paper_text

    settings = settings_for(n)
    store = open_store(n)
    papers = []
    for batch in store.papers.iter(batch=2000):
        papers.extend(p for _, p in batch)
        if len(papers) >= args.rate_docs + 64:
            break
    store.close()
    emb = get_document_embedder(settings)
    texts = [paper_text(p) for p in papers]
    emb.encode(texts[-64:])  # warm-up, not timed
    texts = texts[: args.rate_docs]
    import torch

    with Timer() as t:
        for i in range(0, len(texts), 256):  # as the indexer calls it: 256 papers per call
            emb.encode(texts[i : i + 256])
    result = {
        "docs": len(texts),
        "seconds": t.seconds,
        "docs_per_s": len(texts) / t.seconds,
        "torch_threads": torch.get_num_threads(),
        "batch": emb.batch_size,
        "model": emb.key,
        "mean_chars": sum(map(len, texts)) / len(texts),
        "peak_rss_mb": peak_rss_mb(),
    }
    write_json(OUT / "embed_rate.json", dict(result, loadavg_end=os.getloadavg()))
    return result


def step_update(n: int, args) -> dict:
    """Run after search: --update-papers NEW papers arrive in the corpus-N database; how long until
    they are findable by words (ingest + Indexer.sync_lexical) and by meaning (+ embed_pending on
    this CPU + sync_vectors, which rewrites the vector snapshot)? Leaves the database at N + NEW."""
    import gen_corpus
    from paperwire.search.hybrid import SearchEngine
    from paperwire.search.indexer import Indexer
    from paperwire.sources.runner import run_ingest
    from paperwire.sources.snapshot import SnapshotSource

    settings = settings_for(n)
    store = open_store(n)
    before = store.papers.count()
    gen = gen_corpus.Generator(gen_corpus.load_pool(), seed=99)
    k = max(0, n - 74_728) + 1_000_000  # ids the corpus never used; skip any an earlier update stored
    recs = []
    while len(recs) < args.update_papers:
        r = gen.record(k)
        k += 1
        if store.papers.get(r["id"]) is None:
            recs.append(r)
    path = run_dir(n) / "update.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for r in recs:
            f.write(json.dumps(r) + "\n")
    indexer = Indexer(store, settings)
    out = {"papers_before": before, "new": len(recs)}
    with Timer() as t:
        rep = run_ingest(store, SnapshotSource(path), progress=False)
    out["ingest_s"] = t.seconds
    assert rep.inserted == len(recs), rep.summary()
    with Timer() as t:
        out["lexical_papers"] = indexer.sync_lexical()
    out["lexical_s"] = t.seconds
    with Timer() as t:
        out["embedded"] = indexer.embed_pending()
    out["embed_s"] = t.seconds
    out["embed_docs_per_s"] = out["embedded"] / t.seconds if t.seconds else None
    with Timer() as t:
        out["vector_papers"] = indexer.sync_vectors()
    out["vectors_s"] = t.seconds
    engine = SearchEngine(store, settings)
    found = 0
    for r in recs[:50]:
        res = engine.search(r["title"], limit=10)
        found += any(h.paper.id == r["id"] for h in res.hits)
    out["new_found_top10"] = found / min(50, len(recs))
    out["papers_after"] = store.papers.count()
    out["peak_rss_mb"] = peak_rss_mb()
    store.close()
    return out


STEP_FUNCS = {
    "update": step_update,
    "rate": step_rate,
    "corpus": step_corpus,
    "ingest": step_ingest,
    "embed": step_embed,
    "build": step_build,
    "search": step_search,
}


# --------------------------------------------------------------------------------------------- report


def fmt_s(s: float | None) -> str:
    if s is None:
        return "–"
    if s < 120:
        return f"{s:.1f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


def report(sizes: list[int]) -> str:
    mach = read_json(OUT / "machine.json") or machine()
    lines = [
        f"Machine: {mach.get('cores')} CPU cores ({mach.get('cpu', '?')}), {mach.get('ram_gib', '?')} GiB RAM, "
        f"Python {mach.get('python')}; shared with other work while running.",
        "",
    ]
    pool = read_json(OUT / "embed_rate.json")
    if pool is None and REAL_POOL.exists():
        import numpy as np

        pool = json.loads(str(np.load(REAL_POOL)["meta"]))
    if pool:
        lines.append(
            f"Embedding throughput (all-MiniLM-L6-v2, CPU, {pool['torch_threads']} torch thread(s), batch "
            f"{pool['batch']}): **{pool['docs_per_s']:.1f} docs/s**, measured on {pool['docs']:,} real "
            f"arXiv title+abstract texts (mean {pool['mean_chars']:.0f} characters) in {fmt_s(pool['seconds'])}"
            + (f" (load average {pool['loadavg_end'][0]:.1f} at the end)." if pool.get("loadavg_end") else ".")
        )
        lines.append("")
    head = (
        "| papers | ingest | ingest rate | DB size: papers / + vectors | embedding all N on this CPU | index build | index size | "
        "search p50 | search p95 | p50 cached q-vec | query embed p50 | known-item@10 | peak RSS ingest / build / search |"
    )
    lines += [head, "|" + "---|" * (head.count("|") - 1)]
    base = None
    rows = []
    for n in sizes:
        d = run_dir(n)
        ing, emb, bld, sea = (read_json(d / f"{s}.json") for s in ("ingest", "embed", "build", "search"))
        if not ing:
            continue
        embed_cell = "–"
        if emb:
            rate = (pool or emb["embed_rate"])["docs_per_s"]
            embed_cell = (
                f"≈{fmt_s(n / rate)} at {rate:.1f} docs/s (vectors: {emb['real']:,} real, {emb['derived']:,} derived)"
            )
        lat = sea["latency_ms"]["all"] if sea else None
        ki = sea["known_item_top10"] if sea else {}
        cells = [
            f"{n:,}",
            fmt_s(ing["seconds"]),
            f"{ing['rate']:,.0f}/s",
            f"{mb(ing['db_bytes']):,.0f} MB" + (f" / {mb(bld['db_bytes']):,.0f} MB" if bld else ""),
            embed_cell,
            fmt_s(bld["seconds"]) + (f" ({bld['result'].get('vector_kind')})" if bld else "") if bld else "–",
            f"{mb(bld['index_bytes']):,.0f} MB" if bld else "–",
            f"{lat['p50']:.1f} ms" if lat else "–",
            f"{lat['p95']:.1f} ms" if lat else "–",
            f"{sea['latency_cached_vec_ms']['p50']:.1f} ms" if sea else "–",
            f"{sea['query_embed_ms']['p50']:.1f} ms" if sea else "–",
            (f"{ki.get('title', 0):.0%} titles, {ki.get('keywords', 0):.0%} keywords" if sea else "–"),
            " / ".join(f"{x['peak_rss_mb']:,.0f}" if x else "–" for x in (ing, bld, sea)) + " MB",
        ]
        lines.append("| " + " | ".join(cells) + " |")
        rows.append((n, ing, bld, sea))
        if base is None and sea and bld:
            base = (n, ing, bld, sea)
    if base and len(rows) > 1:
        lines += [
            "",
            f"Ratios against {base[0]:,} papers:",
            "",
            "| papers | ×papers | ingest time | index build | search p50 | search p95 | p50 cached q-vec | index size |",
            "|---|---|---|---|---|---|---|---|",
        ]
        bn, bi, bb, bs = base
        for n, ing, bld, sea in rows:
            if n == bn or not (bld and sea):
                continue
            bl, sl = bs["latency_ms"]["all"], sea["latency_ms"]["all"]
            lines.append(
                f"| {n:,} | {n / bn:g}× | {ing['seconds'] / bi['seconds']:.1f}× | {bld['seconds'] / bb['seconds']:.1f}× | "
                f"{sl['p50'] / bl['p50']:.2f}× | {sl['p95'] / bl['p95']:.2f}× | "
                f"{sea['latency_cached_vec_ms']['p50'] / bs['latency_cached_vec_ms']['p50']:.2f}× | "
                f"{bld['index_bytes'] / bb['index_bytes']:.1f}× |"
            )
    per_kind = []
    for n, _ing, _bld, sea in rows:
        if sea:
            k = sea["latency_ms"]
            per_kind.append(
                f"| {n:,} | "
                + " | ".join(f"{k[x]['p50']:.1f} / {k[x]['p95']:.1f}" for x in ("title", "keywords", "claim") if x in k)
                + " |"
            )
    if per_kind:
        lines += [
            "",
            "Search latency by query kind, p50 / p95 in ms (100 queries each, query embedding included):",
            "",
            "| papers | truncated titles | 2–3 keywords | SciFact claims |",
            "|---|---|---|---|",
        ] + per_kind
    upd = [(n, read_json(run_dir(n) / "update.json")) for n in sizes]
    upd = [(n, u) for n, u in upd if u]
    if upd:
        lines += [
            "",
            f"New papers arriving in a built index ({upd[0][1]['new']:,} papers; Indexer steps timed one by one):",
            "",
            "| papers | ingest | findable by words (sync_lexical) | embed on this CPU (embed_pending) | "
            "vector snapshot (sync_vectors) | new titles found in top 10 |",
            "|---|---|---|---|---|---|",
        ]
        for _, u in upd:
            lines.append(
                f"| {u['papers_before']:,} | {fmt_s(u['ingest_s'])} | {fmt_s(u['lexical_s'])} | "
                f"{fmt_s(u['embed_s'])} for {u['embedded']:,} ({u['embed_docs_per_s']:.1f} docs/s) | {fmt_s(u['vectors_s'])} | "
                f"{u['new_found_top10']:.0%} |"
            )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------- main


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default=DEFAULT_SIZES, help="comma-separated, e.g. 10k,100k,1m")
    ap.add_argument("--steps", default=",".join(STEPS), help="which steps to run (default all)")
    ap.add_argument("--real-embed", type=int, default=1_536, help="papers embedded for real on this CPU (once, timed)")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--rate-docs", type=int, default=1_024, help="documents for the embedding-rate step")
    ap.add_argument("--update-papers", type=int, default=500, help="new papers for the update step")
    ap.add_argument("--cpu-only", action="store_true", help=f"ignore {GPU_POOL.name} (real vectors made on a GPU)")
    ap.add_argument("--report", action="store_true", help="only print the table from earlier results")
    ap.add_argument("--step", help=argparse.SUPPRESS)  # internal: run one step in this process
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    sizes = [parse_n(s) for s in args.sizes.split(",") if s.strip()]

    if args.step:
        load0 = os.getloadavg()
        result = STEP_FUNCS[args.step](args.n, args)
        result["loadavg_start"], result["loadavg_end"] = load0, os.getloadavg()  # the machine is shared
        result["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        write_json(run_dir(args.n) / f"{args.step}.json", result)
        return
    if not args.report:
        if not (DATA / "arxiv-daily").exists():
            raise SystemExit(f"{DATA}: the shared data is not here")
        write_json(OUT / "machine.json", machine())
        steps = [s for s in STEPS if s in args.steps.split(",")]
        for n in sizes:
            for step in steps:
                if step == "rate" and n != sizes[0]:
                    continue
                print(f"== {human_n(n)}: {step}", flush=True)
                t0 = time.monotonic()
                cmd = [
                    sys.executable,
                    __file__,
                    "--step",
                    step,
                    "--n",
                    str(n),
                    "--real-embed",
                    str(args.real_embed),
                    "--queries",
                    str(args.queries),
                    "--rate-docs",
                    str(args.rate_docs),
                    "--update-papers",
                    str(args.update_papers),
                ] + (["--cpu-only"] if args.cpu_only else [])
                rc = subprocess.call(cmd, env=dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false"))
                if rc != 0:
                    raise SystemExit(f"step {step} for {n:,} failed (exit {rc})")
                print(f"   {step} done in {fmt_s(time.monotonic() - t0)}", flush=True)
    print(report(sizes))


if __name__ == "__main__":
    main()
