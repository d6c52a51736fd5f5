"""Lexical search on PostgreSQL (tsvector, GIN, ts_rank_cd) against the embedded BM25 engine
(tantivy, Paperwire's LexicalIndex): quality on SciFact, latency at 100k papers.

    .venv/bin/python bench/pg_lexical.py               # both parts
    .venv/bin/python bench/pg_lexical.py --skip-latency

Quality: the 5,183 SciFact abstracts, the 300 test claims, nDCG@10 and recall@100 of the
lexical list alone (what the SearchEngine fuses with the embedding list). PostgreSQL variants:
  * to_tsvector('english', title) weighted A || to_tsvector('english', abstract) weighted B,
    a stored generated column with a GIN index;
  * the query: the claim's words (english stemming and stopwords, as to_tsvector does) joined by
    OR (`|`), like tantivy's query (AND would find nothing for most sentence-long claims);
  * ranked by ts_rank_cd (cover density), ts_rank_cd with length normalisation (flag 1), and
    ts_rank with normalisation 1.
tantivy: LexicalIndex.search on the same papers with the analyzer and title boost in production.

Latency: the first 100,000 papers of the benchmark corpus (bench/out/corpus_100000.jsonl), the
300 queries of bench/scale.py (titles, keywords, SciFact claims), top 100, one client, after a
warm-up; index build time and size. The server is a throwaway cluster started like the tests'
(tests/pg_server.py: Debian's PostgreSQL, fsync off); it runs on the same 2 cores.
Results: bench/out/pg_lexical.json and the printed table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import OUT, percentile, write_json  # noqa: E402

SCHEMA = """
CREATE TABLE docs (
    pk    INTEGER PRIMARY KEY,
    doc   TEXT NOT NULL,
    title TEXT NOT NULL,
    body  TEXT NOT NULL,
    tsv   tsvector GENERATED ALWAYS AS
          (setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', body), 'B')) STORED
)
"""
RANKS = {
    "ts_rank_cd": "ts_rank_cd(tsv, q)",
    "ts_rank_cd, length-normalised (1)": "ts_rank_cd(tsv, q, 1)",
    "ts_rank, length-normalised (1)": "ts_rank(tsv, q, 1)",
}
WORD = re.compile(r"\w+")


def or_query(text: str) -> str:
    """The words of ``text`` OR-ed, as a to_tsquery string (only word characters: nothing for the
    tsquery parser to misread)."""
    return " | ".join(dict.fromkeys(w.lower() for w in WORD.findall(text) if not w.isdigit() or len(w) < 20)) or "x"


def load(conn, rows) -> float:
    t0 = time.monotonic()
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS docs")
        cur.execute(SCHEMA)
        with cur.copy("COPY docs (pk, doc, title, body) FROM STDIN") as cp:
            for r in rows:
                cp.write_row(r)
        cur.execute("CREATE INDEX docs_tsv ON docs USING GIN (tsv)")
        cur.execute("ANALYZE docs")
    conn.commit()
    return time.monotonic() - t0


def pg_search(conn, rank_sql: str, text: str, k: int = 100) -> list[str]:
    sql = f"SELECT doc FROM docs, to_tsquery('english', %s) q WHERE tsv @@ q ORDER BY {rank_sql} DESC, pk LIMIT %s"
    with conn.cursor() as cur:
        cur.execute(sql, (or_query(text), k))
        return [r[0] for r in cur.fetchall()]


def tantivy_index(workdir: Path, papers):
    from paperwire.search.lexical import LexicalIndex

    lex = LexicalIndex(workdir / "lexical")
    t0 = time.monotonic()
    lex.write(papers, seq=1, clear=True)
    return lex, time.monotonic() - t0


def tantivy_search(lex, text: str, k: int = 100) -> list[int]:
    from paperwire.search.lexical import analyze
    from paperwire.search.query import parse_query

    pq = parse_query(text)
    return [pk for pk, _ in lex.search(analyze(" ".join(pq.terms + pq.phrases)), pq, k=k)]


def quality(conn, workdir: Path) -> dict:
    import quality_scifact as qs
    from paperwire.models import Paper

    corpus = qs.load_corpus()
    queries = qs.load_queries()
    qrels = qs.load_qrels("test")
    qids = sorted(qrels, key=int)
    docs = [
        (i + 1, d["_id"], (d.get("title") or "").replace("\x00", ""), d["text"].replace("\x00", ""))
        for i, d in enumerate(corpus)
    ]
    out = {"corpus": len(docs), "queries": len(qids), "load_s": load(conn, docs)}
    runs = {}
    for name, rank in RANKS.items():
        runs[f"PostgreSQL {name}"] = {q: pg_search(conn, rank, queries[q]) for q in qids}
    lex, _ = tantivy_index(
        workdir / "scifact", ((pk, Paper(id=f"s:{doc}", title=t, abstract=b)) for pk, doc, t, b in docs)
    )
    doc_of = {pk: doc for pk, doc, _, _ in docs}
    runs["tantivy BM25 (Paperwire LexicalIndex)"] = {
        q: [doc_of[pk] for pk in tantivy_search(lex, queries[q])] for q in qids
    }
    out["results"] = {}
    for name, run in runs.items():
        nd, rc = qs.evaluate(run, qrels)
        out["results"][name] = {"ndcg@10": nd, "recall@100": rc}
    return out


def latency(conn, workdir: Path, n: int) -> dict:
    import scale
    from paperwire.models import Paper

    path = scale.corpus_path(n)
    if not path.exists():
        raise SystemExit(f"{path}: missing (bench/scale.py --sizes 100k --steps corpus)")

    def rows():
        with open(path) as f:
            for pk, line in enumerate(f, 1):
                r = json.loads(line)
                yield pk, r["id"], " ".join(r["title"].split()), " ".join(r["abstract"].split())

    out = {"papers": n, "pg_load_and_index_s": load(conn, rows())}
    with conn.cursor() as cur:
        cur.execute("SELECT pg_total_relation_size('docs'), pg_relation_size('docs_tsv')")
        out["pg_table_bytes"], out["pg_gin_bytes"] = cur.fetchone()
    lex, out["tantivy_build_s"] = tantivy_index(
        workdir / "lat", ((pk, Paper(id=doc, title=t, abstract=b)) for pk, doc, t, b in rows())
    )
    from common import dir_size

    out["tantivy_bytes"] = dir_size(workdir / "lat" / "lexical")
    queries = [item["q"] for item in scale.build_queries(10_000, 100)]
    for q in queries[:20]:  # warm-up: caches of both
        pg_search(conn, RANKS["ts_rank_cd"], q)
        tantivy_search(lex, q)
    lat: dict[str, list[float]] = {"PostgreSQL ts_rank_cd": [], "tantivy BM25": []}
    for q in queries:
        t0 = time.perf_counter()
        pg_search(conn, RANKS["ts_rank_cd"], q)
        t1 = time.perf_counter()
        tantivy_search(lex, q)
        t2 = time.perf_counter()
        lat["PostgreSQL ts_rank_cd"].append((t1 - t0) * 1000)
        lat["tantivy BM25"].append((t2 - t1) * 1000)
    kinds = ["title"] * 100 + ["keywords"] * 100 + ["claim"] * 100
    out["latency_ms"] = {
        name: {
            "p50": percentile(v, 50),
            "p95": percentile(v, 95),
            "max": max(v),
            **{
                f"{k}_p50": percentile([x for x, kk in zip(v, kinds, strict=True) if kk == k], 50)
                for k in ("title", "keywords", "claim")
            },
        }
        for name, v in lat.items()
    }
    out["loadavg"] = os.getloadavg()
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--n", type=int, default=100_000)
    args = ap.parse_args(argv)
    import psycopg

    from pg_server import PGServer

    server = PGServer().start()
    result = {"cores": os.cpu_count(), "loadavg_start": os.getloadavg()}
    try:
        server._admin("CREATE DATABASE lexbench")
        with psycopg.connect(server.url("lexbench")) as conn, tempfile.TemporaryDirectory() as tmp:
            with conn.cursor() as cur:
                cur.execute("SELECT version()")
                result["postgres"] = cur.fetchone()[0]
            if not args.skip_quality:
                result["quality"] = quality(conn, Path(tmp))
                print(json.dumps(result["quality"], indent=1), flush=True)
            if not args.skip_latency:
                result["latency"] = latency(conn, Path(tmp), args.n)
                print(json.dumps(result["latency"], indent=1), flush=True)
    finally:
        server.stop()
    write_json(OUT / "pg_lexical.json", result)


if __name__ == "__main__":
    main()
