"""The collections of the relevance benchmark (bench/relevance.py), each as papers + graded queries,
and a real Paperwire store + indexes + SearchEngine over one of them.

  scifact     BEIR SciFact: 5,183 abstracts, claims as queries; tune on train, report test
  scirepeval  SciRepEval search sample: 100 real queries x 10 click-graded candidates (1,000 papers
              in one index, each query ranked over its own candidates); no split: never tuned on
  plain       bench/data/plain_queries.jsonl over the 64 seed papers; tune on train, report test
  csfcube     CSFCube: 50 (query paper, facet) pairs, candidates graded 0-3 by experts; the "similar
              papers" task over 4,205 papers, NDCG@20 over the judged candidates; tune on the
              official fold1 dev queries, report fold1 test (and all 50)

Embeddings are made once with the production document embedder (PAPERWIRE_EMBED_BACKEND, default
auto) and cached under bench/out/, keyed by the embedder and each paper's text hash.
"""

from __future__ import annotations

import gzip
import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from paperwire.config import load_settings  # noqa: E402
from paperwire.models import Paper, RecordError, validated  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "bench" / "out"


@dataclass
class Collection:
    name: str
    task: str  # "search" (text queries) | "similar" (a query paper)
    papers: list[Paper]
    queries: dict[str, str]  # qid -> query text, or the query paper's id for "similar"
    qrels: dict[str, dict[str, int]]  # qid -> {paper id: grade > 0}
    splits: dict[str, list[str]]  # "tune" / "test" (and "all") -> qids
    k: int = 10  # nDCG cut-off
    candidates: dict[str, list[str]] = field(default_factory=dict)  # qid -> the only papers ranked


def _paper(pid: str, title: str, abstract: str, source: str) -> Paper | None:
    title = (title or abstract[:120]).replace("\ufffd", "").strip()
    try:
        return validated(
            Paper(
                id=pid,
                title=title,
                abstract=(abstract or "").replace("\ufffd", ""),
                submitted="2020-01-01",
                source=source,
            )
        )
    except RecordError:
        return None


def scifact() -> Collection:
    d = DATA / "scifact"
    with gzip.open(d / "corpus.jsonl.gz", "rt") as f:
        docs = [json.loads(line) for line in f]
    papers = [p for p in (_paper(f"scifact:{x['_id']}", x.get("title"), x["text"], "scifact") for x in docs) if p]
    texts = {}
    with open(d / "queries.jsonl") as f:
        for line in f:
            x = json.loads(line)
            texts[x["_id"]] = x["text"]
    qrels, splits = {}, {}
    for split, name in (("train", "tune"), ("test", "test")):
        with open(d / "qrels" / f"{split}.tsv") as f:
            next(f)
            for line in f:
                q, doc, s = line.rstrip("\n").split("\t")
                if int(s) > 0:
                    qrels.setdefault(f"{split}-{q}", {})[f"scifact:{doc}"] = 1
        splits[name] = sorted((q for q in qrels if q.startswith(split + "-")), key=lambda q: int(q.split("-")[1]))
    queries = {q: texts[q.split("-", 1)[1]] for q in qrels}
    return Collection("scifact", "search", papers, queries, qrels, splits)


def scirepeval() -> Collection:
    papers, seen, queries, qrels, cands = [], set(), {}, {}, {}
    with open(DATA / "scirepeval-samples" / "search_small.jsonl") as f:
        for i, line in enumerate(f):
            x = json.loads(line)
            qid = f"s{i:03d}"
            queries[qid] = x["query"]
            cands[qid] = []
            for c in x["candidates"]:
                pid = f"s2:{c['corpus_id']}"
                if pid not in seen:
                    p = _paper(pid, c.get("title") or "", c.get("abstract") or "", "s2")
                    if p is None:
                        continue
                    seen.add(pid)
                    papers.append(p)
                cands[qid].append(pid)
                if int(c.get("score") or 0) > 0:
                    qrels.setdefault(qid, {})[pid] = int(c["score"])
    qids = [q for q in queries if q in qrels]
    return Collection("scirepeval", "search", papers, queries, qrels, {"test": qids}, candidates=cands)


def plain() -> Collection:
    from plain_queries import load_queries, seed_papers

    by_rank = dict(seed_papers())
    queries, qrels, splits = {}, {}, {"tune": [], "test": []}
    for q in load_queries():
        queries[q.qid] = q.query
        qrels[q.qid] = {by_rank[r].id: g for r, g in q.grades.items() if g > 0}
        splits["tune" if q.split == "train" else "test"].append(q.qid)
    return Collection("plain", "search", list(by_rank.values()), queries, qrels, splits)


def csfcube() -> Collection:
    d = DATA / "csfcube"
    papers = []
    with gzip.open(d / "abstracts_from_readable_annotations.jsonl.gz", "rt") as f:
        for line in f:
            x = json.loads(line)
            p = _paper(f"csf:{x['paper_id']}", x["title"], " ".join(x["abstract"]), "csfcube")
            if p:
                papers.append(p)
    queries, qrels, cands = {}, {}, {}
    for facet in ("background", "method", "result"):
        anns = json.loads((d / f"test-pid2anns-csfcube-{facet}.json").read_text())
        for pid, a in anns.items():
            qid = f"{pid}_{facet}"
            queries[qid] = f"csf:{pid}"
            cands[qid] = [f"csf:{c}" for c in a["cands"] if c != pid]
            qrels[qid] = {
                f"csf:{c}": int(g)
                for c, g in zip(a["cands"], a["relevance_adju"], strict=True)
                if int(g) > 0 and c != pid
            }
    splits_raw = json.loads((d / "evaluation_splits.json").read_text())["all"]
    splits = {
        "tune": [q for q in splits_raw["fold1_dev"] if q in queries],
        "test": [q for q in splits_raw["fold1_test"] if q in queries],
        "all": sorted(queries),
    }
    return Collection("csfcube", "similar", papers, queries, qrels, splits, k=20, candidates=cands)


COLLECTIONS = {"scifact": scifact, "scirepeval": scirepeval, "plain": plain, "csfcube": csfcube}


def open_engine(coll: Collection, workdir: Path, *, progress: bool = True):
    """A real store, Indexer and SearchEngine over the collection; returns (store, engine, pk_of)."""
    from paperwire.search.hybrid import SearchEngine
    from paperwire.search.indexer import Indexer
    from paperwire.storage.sqlite import SQLiteStore

    settings = load_settings(data_dir=workdir, database_url=f"sqlite:///{workdir / 'bench.db'}")
    store = SQLiteStore(settings.sqlite_path)
    store.migrate()
    for i in range(0, len(coll.papers), 1000):
        store.papers.upsert(coll.papers[i : i + 1000])
    indexer = Indexer(store, settings)
    emb = indexer.embedder
    cache = OUT / f"relevance-{coll.name}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', emb.key)}.npz"
    pk_of = store.papers.pks_for([p.id for p in coll.papers])
    by_id = {p.id: p for p in coll.papers}
    if cache.exists():
        z = np.load(cache)
        rows = [
            (pk_of[i], h, v.astype(np.float32).tobytes())
            for i, h, v in zip(z["ids"], z["hashes"], z["vecs"], strict=True)
            if i in by_id and by_id[i].text_hash() == h
        ]
        store.papers.put_embeddings(rows, model=emb.key)
    t0 = time.monotonic()
    counts = indexer.sync(progress=progress)
    if counts["embedded"]:
        print(f"{coll.name}: embedded {counts['embedded']} papers in {time.monotonic() - t0:.0f} s", file=sys.stderr)
        id_of = {pk: i for i, pk in pk_of.items()}
        ids, hashes, vecs = [], [], []
        for rows in store.papers.iter_embeddings():
            for pk, blob in rows:
                ids.append(id_of[pk])
                hashes.append(by_id[id_of[pk]].text_hash())
                vecs.append(np.frombuffer(blob, dtype=np.float32))
        OUT.mkdir(parents=True, exist_ok=True)
        np.savez(cache, ids=np.array(ids), hashes=np.array(hashes), vecs=np.vstack(vecs))
    engine = SearchEngine(store, settings)
    engine.results_cache = 0
    return store, engine, pk_of


if __name__ == "__main__":  # make the embedding caches: python bench/relevance_data.py [names]
    import tempfile

    for name in sys.argv[1:] or list(COLLECTIONS):
        c = COLLECTIONS[name]()
        print(name, len(c.papers), "papers", len(c.queries), "queries", {k: len(v) for k, v in c.splits.items()})
        with tempfile.TemporaryDirectory() as tmp:
            store, engine, _ = open_engine(c, Path(tmp), progress=False)
            store.close()
