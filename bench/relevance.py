"""Relevance benchmark: every collection, every method, one table, with bootstrap intervals.

    .venv/bin/python bench/relevance.py            # the table (held-out queries)
    .venv/bin/python bench/relevance.py --fit      # fit search/fitted.py on the training queries
    .venv/bin/python bench/relevance.py --only plain,csfcube

Collections (bench/relevance_data.py): SciFact (test; 300 claims), the SciRepEval search sample
(100 real queries, each ranked over its own 10 click-graded candidates), the plain-language queries
over the seed papers (test split), and CSFCube (similar papers: fold1 test, and all 50 queries in
two folds, each scored with the weights fitted on the other).
Search methods run on the real indexes with the real query embedder; the fused rankings are made by
the same functions SearchEngine.search and SearchEngine.similar use (checked below against
engine.search end to end). Metric: nDCG@10 with gain 2^grade - 1 (CSFCube: NDCG@20 over the judged
candidates); rankings over a candidate set keep the method's order of the candidates, unranked ones
last in the set's own order. Interval: 95% percentile bootstrap over the queries (1,000 resamples).
Fitting uses only SciFact train, the plain-query train split and CSFCube's fold1 dev queries.
"""

from __future__ import annotations

import argparse
import math
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

from paperwire.search import fitted  # noqa: E402
from paperwire.search.fusion import (  # noqa: E402
    DEFAULT_FUSION,
    DEFAULT_SIMILAR,
    FIXED_FUSION,
    FusionParams,
    SimilarParams,
    similar_scores,
)
from paperwire.search.hybrid import CANDIDATES, fused_ranking  # noqa: E402
from paperwire.search.lexical import analyze  # noqa: E402
from paperwire.search.query import dense_text, parse_query  # noqa: E402
from relevance_data import COLLECTIONS, ROOT, open_engine  # noqa: E402

SIMILAR_DEPTH = 1000  # neighbours per list for CSFCube, so the judged candidates are mostly ranked
BOOTSTRAP = 1000


# -- metric --------------------------------------------------------------------------------
def ndcg(ranked: list[str], grades: dict[str, int], k: int) -> float:
    dcg = sum((2 ** grades.get(d, 0) - 1) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(grades.values(), reverse=True)[:k]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def within(ranked: list[str], cands: list[str] | None) -> list[str]:
    if not cands:
        return ranked
    cs = set(cands)
    out = [d for d in ranked if d in cs]
    seen = set(out)
    return out + [d for d in cands if d not in seen]


def scores(coll, qids, run: dict[str, list[str]]) -> list[float]:
    return [ndcg(within(run[q], coll.candidates.get(q)), coll.qrels[q], coll.k) for q in qids]


def interval(xs: list[float]) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    a = np.array(xs)
    means = a[rng.integers(0, len(a), (BOOTSTRAP, len(a)))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


# -- per-query inputs ----------------------------------------------------------------------
def search_inputs(engine, coll, qids, depth=CANDIDATES):
    """Per query: the BM25 list, the embedding list (as SearchEngine._search makes them) and the
    sum of the query terms' IDF."""
    out = {}
    for q in qids:
        pq = parse_query(coll.queries[q])
        terms = analyze(" ".join(pq.terms + pq.phrases))
        lex = engine.lexical.search(terms, pq, k=depth)
        dense = engine._vectors.search(engine.embedder.encode_query(dense_text(pq)), depth)
        out[q] = (lex, dense, sum(engine.lexical.idf(terms).values()))
    return out


def search_runs(inputs, id_of, methods: dict[str, FusionParams | str]) -> dict[str, dict[str, list[str]]]:
    runs = {}
    for name, m in methods.items():
        run = {}
        for q, (lex, dense, idf_sum) in inputs.items():
            if m == "bm25":
                pks = [p for p, _ in lex]
            elif m == "dense":
                pks = [p for p, _ in dense]
            else:
                pks = [f.pk for f in fused_ranking(lex, dense, m, idf_sum)]
            run[q] = [id_of[p] for p in pks]
        runs[name] = run
    return runs


def similar_inputs(engine, coll, qids, pk_of, depth=SIMILAR_DEPTH):
    """Per query paper: its BM25 and embedding neighbours, and similar()'s three signals."""
    out = {}
    for q in qids:
        pk = pk_of[coll.queries[q]]
        paper = engine.store.papers.get_many([pk])[pk]
        vec = np.frombuffer(engine.store.papers.embeddings([pk])[pk], dtype=np.float32)
        lex = [
            x
            for x in engine.lexical.search(analyze(f"{paper.title} {paper.abstract}"), None, k=depth + 1)
            if x[0] != pk
        ][:depth]
        dense = [x for x in engine._vectors.search(vec, depth + 1) if x[0] != pk][:depth]
        cos_text, cos_title, words, _, _ = engine.similar_signals(pk, paper, vec, depth)
        out[q] = (lex, dense, cos_text, cos_title, words)
    return out


def similar_run(inputs, id_of, params: SimilarParams) -> dict[str, list[str]]:
    run = {}
    for q, (_, dense, cos_text, cos_title, words) in inputs.items():
        s = similar_scores(cos_text, cos_title, words, params)
        rank = {p: i for i, (p, _) in enumerate(dense)}
        run[q] = [id_of[p] for p in sorted(s, key=lambda p: (-s[p], rank.get(p, 10**9)))]
    return run


def rrf(a: list[tuple[int, float]], b: list[tuple[int, float]], k: float = 60.0) -> list[int]:
    s: dict[int, float] = {}
    for lst in (a, b):
        for i, (p, _) in enumerate(lst):
            s[p] = s.get(p, 0.0) + 1.0 / (k + i + 1)
    return sorted(s, key=lambda p: -s[p])


SEARCH_METHODS = {
    "BM25 (tantivy)": "bm25",
    "dense (MiniLM + faiss)": "dense",
    "hybrid, RRF k=60 [reference]": FusionParams("rrf", k=60),
    "hybrid, convex alpha=0.4 [before]": FIXED_FUSION,
    "hybrid, adaptive [now]": DEFAULT_FUSION,
}


def check_end_to_end(engine, coll, qids, id_of, inputs) -> None:
    """engine.search's own top 10 must be the adaptive run's top 10: the bench measures the product."""
    run = search_runs({q: inputs[q] for q in qids}, id_of, {"now": DEFAULT_FUSION})["now"]
    for q in qids:
        got = [h.paper.id for h in engine.search(coll.queries[q], limit=10).hits]
        if got != run[q][:10]:
            raise SystemExit(f"{coll.name} {q}: engine.search differs from the bench's ranking")


# -- the table -----------------------------------------------------------------------------
def table(names: list[str]) -> None:
    rows = []
    for name in names:
        coll = COLLECTIONS[name]()
        with tempfile.TemporaryDirectory() as tmp:
            store, engine, pk_of = open_engine(coll, Path(tmp), progress=False)
            id_of = {pk: i for i, pk in pk_of.items()}
            if coll.task == "search":
                qids = [q for q in coll.splits["test"] if coll.qrels.get(q)]
                t0 = time.monotonic()
                inputs = search_inputs(engine, coll, qids)
                check_end_to_end(engine, coll, qids[:20], id_of, inputs)
                runs = search_runs(inputs, id_of, SEARCH_METHODS)
                label = (
                    f"{name} ({'test' if 'tune' in coll.splits else 'all'}, {len(qids)} q, {len(coll.papers):,} papers)"
                )
                for m, run in runs.items():
                    xs = scores(coll, qids, run)
                    rows.append((label, m, statistics.fmean(xs), *interval(xs)))
                print(f"{name}: {time.monotonic() - t0:.0f} s", file=sys.stderr)
            else:
                inputs = similar_inputs(engine, coll, coll.splits["all"], pk_of)
                dev, test = coll.splits["tune"], coll.splits["test"]
                # the other fold: scored with the parameters fitted on fold1 test, so no query is
                # scored with parameters fitted on it
                other = fit_similar(coll, test, id_of, inputs)[1]
                for split, qids in (("fold1 test", test), ("all, 2-fold", coll.splits["all"])):
                    inp = {q: inputs[q] for q in qids}
                    now = similar_run({q: inputs[q] for q in test}, id_of, DEFAULT_SIMILAR)
                    if split != "fold1 test":
                        now |= similar_run({q: inputs[q] for q in dev}, id_of, other)
                    runs = {
                        "BM25 of title + abstract": {q: [id_of[p] for p, _ in v[0]] for q, v in inp.items()},
                        "dense neighbours [before]": {q: [id_of[p] for p, _ in v[1]] for q, v in inp.items()},
                        "RRF dense + BM25 [reference]": {
                            q: [id_of[p] for p in rrf(v[1], v[0])] for q, v in inp.items()
                        },
                        "dense + TF-IDF words [now]": now,
                    }
                    label = f"csfcube similar ({split}, {len(qids)} q, NDCG@20)"
                    for m, run in runs.items():
                        xs = scores(coll, qids, run)
                        rows.append((label, m, statistics.fmean(xs), *interval(xs)))
            store.close()
    print(
        f"\nRelevance, held-out queries; {os.cpu_count()} CPU cores; embedder "
        f"PAPERWIRE_EMBED_BACKEND={os.environ.get('PAPERWIRE_EMBED_BACKEND', 'auto')}; "
        f"gain 2^g-1, 95% bootstrap interval"
    )
    print(f"{'collection':<48} {'method':<36} {'nDCG':>6}  {'95% interval':>13}")
    last = None
    for label, m, v, lo, hi in rows:
        print(f"{label if label != last else '':<48} {m:<36} {v:6.3f}  [{lo:.3f}, {hi:.3f}]")
        last = label


# -- fitting (training queries only) -------------------------------------------------------
SEARCH_GRID = [
    dict(bias=b, lex_slope=ls, lex_pivot=0.8, dense_slope=ds, dense_pivot=0.55, dense_floor=fl)
    for b in (-1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0)
    for ls in (0.0, -1.0, -2.0, -3.0, -4.0, -6.0)
    for ds in (0.0, 1.0, 2.0, 3.0, 4.0, 6.0)
    for fl in (0.0, 0.3, 0.4, 0.5)
]
# w_title stays 0 (fusion.SimilarParams says why), so similar() makes no title embedding
SIMILAR_GRID = [dict(w_title=0.0, w_lexical=w) for w in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)]


def fit_similar(coll, qids, id_of, inputs) -> tuple[float, SimilarParams]:
    """The similar-papers weights best on ``qids`` (ties: the smaller words weight)."""
    best = None
    for g in SIMILAR_GRID:
        params = SimilarParams(**g)
        v = statistics.fmean(scores(coll, qids, similar_run({q: inputs[q] for q in qids}, id_of, params)))
        if best is None or v > best[0] + 1e-12:
            best = (v, params)
    return best


def fit() -> None:
    train = {}
    for name in ("scifact", "plain"):
        coll = COLLECTIONS[name]()
        with tempfile.TemporaryDirectory() as tmp:
            store, engine, pk_of = open_engine(coll, Path(tmp), progress=False)
            qids = [q for q in coll.splits["tune"] if coll.qrels.get(q)]
            train[name] = (coll, qids, {pk: i for i, pk in pk_of.items()}, search_inputs(engine, coll, qids))
            store.close()
    best = None
    for g in SEARCH_GRID:
        params = FusionParams("adaptive", **g)
        per = [
            statistics.fmean(scores(c, qids, search_runs(inp, id_of, {"x": params})["x"]))
            for c, qids, id_of, inp in train.values()
        ]
        obj = statistics.fmean(per)  # each training collection counts alike
        if best is None or obj > best[0]:
            best = (obj, g, per)
    print(f"search: {best[1]}  train nDCG scifact {best[2][0]:.4f} plain {best[2][1]:.4f}")
    coll = COLLECTIONS["csfcube"]()
    with tempfile.TemporaryDirectory() as tmp:
        store, engine, pk_of = open_engine(coll, Path(tmp), progress=False)
        id_of = {pk: i for i, pk in pk_of.items()}
        inputs = similar_inputs(engine, coll, coll.splits["all"], pk_of)
        store.close()
    dev_score, best_s = fit_similar(coll, coll.splits["tune"], id_of, inputs)
    print(f"similar: {best_s}  fold1 dev NDCG@20 {dev_score:.4f}")
    path = Path(fitted.__file__)
    text = path.read_text()
    head = text[: text.index("# search:")]
    path.write_text(
        head
        + f"""# search: the embedding list's weight per query, sigmoid(bias + lex_slope * (lex_strength - lex_pivot)
# + dense_slope * (top_cosine - dense_pivot)); the embedding list scaled against max(top cosine,
# dense_floor); fusion.adaptive_alpha and fusion.fuse
SEARCH = {best[1]!r}

# similar papers: fusion.similar_scores
SIMILAR = {dict(w_title=best_s.w_title, w_lexical=best_s.w_lexical)!r}
"""
    )
    print(f"wrote {path.relative_to(ROOT)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fit", action="store_true", help="fit search/fitted.py on the training queries")
    ap.add_argument("--only", default=",".join(COLLECTIONS), help="collections, comma-separated")
    args = ap.parse_args()
    if args.fit:
        fit()
    else:
        table([n for n in args.only.split(",") if n])


if __name__ == "__main__":
    main()
