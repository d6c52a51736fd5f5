"""Offline benchmark of the "for you" ranking (issue 4): our model against arxiv-sanity-lite's SVM.

Protocol (docs/recommend.md): the real arXiv listings of ../shared/data/arxiv-daily/ and their real
all-MiniLM-L6-v2 vectors (bench/out/gpu_vectors.npz, made by bench/embed_gpu.py with the production
text recipe). Authors (exact name string) with at least 8 papers in the whole set, at least 2 listed
before the cut-off and 1 on/after it. For each author: train on their papers listed before the
cut-off (positives), rank every paper listed on/after it, and score the author's own later papers:
recall@50 and reciprocal rank of the first one (MRR), averaged over authors.

- baseline: arxiv-sanity-lite exactly (compute.py's TfidfVectorizer over title + abstract + author
  names, fit on all papers as it does; serve.py's LinearSVC(class_weight="balanced", C=0.01,
  max_iter=10000, tol=1e-6)), the author's papers positive, ALL other pre-cut-off papers negative;
- ours: paperwire.recommend.model (what /for-you runs), the author's papers positive and a seeded
  sample of --background other pre-cut-off papers as implicit negatives; ablations drop blocks.

Authors are shuffled with --seed; the first --tune-authors are kept for tuning the weights
(--split tune) and the benchmark reports on the next --authors (--split test, the default).

    .venv/bin/python bench/foryou.py --authors 300            # the table in docs/recommend.md
    .venv/bin/python bench/foryou.py --split tune --authors 100 --methods ours,ours-no-knn
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, OUT  # noqa: E402
from paperwire.recommend import features as F  # noqa: E402
from paperwire.recommend.model import ForYouModel, Params  # noqa: E402
from paperwire.recommend.types import Doc  # noqa: E402

LISTINGS = DATA / "arxiv-daily" / "arxiv_daily_listings.jsonl.gz"
VECTORS = OUT / "gpu_vectors.npz"

VARIANTS = {  # name: (parameters, what the table says)
    "ours": (Params(), "**ours**: words + authors SVM, embedding SVM, nearest positive"),
    "ours-authors-1": (Params(w_authors=1.0), "ours, author block at full weight (1.0 instead of 0.3)"),
    "ours-no-authors": (Params(w_authors=0.0), "ours without author names"),
    "words+authors": (Params(vector=0.0, knn=0.0), "hashed words + authors SVM only"),
    "words": (Params(w_authors=0.0, vector=0.0, knn=0.0), "hashed words SVM only (tf-idf-only ablation)"),
    "emb": (Params(w_words=0.0, w_authors=0.0), "embeddings only: SVM + nearest positive"),
    "emb-svm": (Params(w_words=0.0, w_authors=0.0, knn=0.0), "embeddings only: SVM"),
    "emb-nearest": (Params(w_words=0.0, w_authors=0.0, vector=0.0, knn=1.0), "embeddings only: nearest positive"),
}
BASELINE = "arxiv-sanity-lite tf-idf SVM (baseline)"


def load(path: Path = LISTINGS, vectors: Path = VECTORS):
    recs = [json.loads(line) for line in gzip.open(path, "rt", encoding="utf-8")]
    z = np.load(vectors)
    ids = z["ids"]
    if len(ids) != len(recs) or any(str(ids[i]) != recs[i]["id"] for i in range(len(recs))):
        pos = {str(x): i for i, x in enumerate(ids)}
        missing = [r["id"] for r in recs if r["id"] not in pos]
        if missing:
            sys.exit(f"{len(missing)} records have no vector in {vectors} (e.g. {missing[:3]}): embed them first")
        vecs = z["vecs"][[pos[r["id"]] for r in recs]]
    else:
        vecs = z["vecs"]
    docs = [Doc(i, r["title"], r["summary"], list(r["authors"]), vecs[i]) for i, r in enumerate(recs)]
    days = [r["listing_date"] for r in recs]
    return recs, docs, days


def eligible_authors(recs, days, cutoff: str, min_papers: int = 8) -> dict[str, tuple[list[int], list[int]]]:
    papers = defaultdict(list)
    for i, r in enumerate(recs):
        for a in set(r["authors"]):
            papers[a].append(i)
    out = {}
    for a, idx in papers.items():
        if len(idx) < min_papers:
            continue
        before = [i for i in idx if days[i] < cutoff]
        after = [i for i in idx if days[i] >= cutoff]
        if len(before) >= 2 and len(after) >= 1:
            out[a] = (before, after)
    return out


def metrics(ranked: np.ndarray, relevant: set[int], k: int = 50) -> tuple[float, float]:
    """ranked: candidate indices best first (at least the top k; the whole list for MRR)."""
    hits = sum(1 for i in ranked[:k] if i in relevant)
    rr = 0.0
    for pos, i in enumerate(ranked, 1):
        if i in relevant:
            rr = 1.0 / pos
            break
    return hits / len(relevant), rr


class Baseline:
    """arxiv-sanity-lite: compute.py's features, serve.py's classifier."""

    def __init__(self, recs, pre: np.ndarray, post: np.ndarray, c: float = 0.01, authors: bool = True):
        from sklearn.feature_extraction.text import TfidfVectorizer

        v = TfidfVectorizer(
            input="content",
            encoding="utf-8",
            decode_error="replace",
            strip_accents="unicode",
            lowercase=True,
            analyzer="word",
            stop_words="english",
            token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b",
            ngram_range=(1, 2),
            max_features=20000,
            norm="l2",
            use_idf=True,
            smooth_idf=True,
            sublinear_tf=True,
            max_df=0.1,
            min_df=5,
            dtype=np.float32,
        )
        corpus = [" ".join([r["title"], r["summary"]] + ([" ".join(r["authors"])] if authors else [])) for r in recs]
        x = v.fit_transform(corpus).astype(np.float32).tocsr()
        self.x_pre, self.x_post, self.pre, self.c = x[pre], x[post], pre, c

    def scores(self, positives_idx: list[int]) -> np.ndarray:
        from sklearn.svm import LinearSVC

        pos = set(positives_idx)
        y = np.array([1.0 if i in pos else 0.0 for i in self.pre])
        clf = LinearSVC(class_weight="balanced", C=self.c, max_iter=10000, tol=1e-6)
        clf.fit(self.x_pre, y)
        return clf.decision_function(self.x_post)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--authors", type=int, default=300, help="authors to evaluate (sampled with --seed)")
    ap.add_argument("--seed", type=int, default=4)
    ap.add_argument("--cutoff", default="2026-01-01", help="train before this listing date, rank from it on")
    ap.add_argument("--split", choices=("test", "tune"), default="test")
    ap.add_argument("--tune-authors", type=int, default=150, help="authors held out for tuning")
    ap.add_argument("--background", type=int, default=2000, help="implicit negatives sampled for our model")
    ap.add_argument(
        "--methods",
        default="baseline,ours,ours-authors-1,ours-no-authors,words+authors,words,emb",
        help="comma-separated: baseline and/or " + ", ".join(VARIANTS),
    )
    ap.add_argument("--k", type=int, default=50)
    ap.add_argument(
        "--vectors",
        type=Path,
        default=VECTORS,
        help="the listings' vectors (default: torch, 256 word pieces, from the GPU; "
        "bench/embed_listings.py makes the default backend's)",
    )
    ap.add_argument("--json", type=Path, help="also write the per-method figures here")
    ap.add_argument(
        "--timing",
        action="store_true",
        help="only time rank_for at production sizes (positives x candidates), cold and warm",
    )
    ap.add_argument(
        "--no-author-features",
        action="store_true",
        help="content only: no method sees author names (the baseline's text and our author block)",
    )
    args = ap.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    for m in methods:
        if m != "baseline" and m not in VARIANTS:
            ap.error(f"unknown method {m!r}")

    t0 = time.perf_counter()
    recs, docs, days = load(vectors=args.vectors)
    pre = np.array([i for i, d in enumerate(days) if d < args.cutoff])
    post = np.array([i for i, d in enumerate(days) if d >= args.cutoff])
    if args.timing:
        return timing(docs, pre, post, args.seed)
    elig = eligible_authors(recs, days, args.cutoff)
    names = sorted(elig)
    random.Random(args.seed).shuffle(names)
    chosen = names[: args.tune_authors] if args.split == "tune" else names[args.tune_authors :]
    chosen = chosen[: args.authors]
    print(
        f"{len(recs):,} papers, {len(pre):,} before {args.cutoff}, {len(post):,} from it on; "
        f"{len(elig):,} eligible authors, {len(chosen)} evaluated ({args.split} split, seed {args.seed}); "
        f"loaded in {time.perf_counter() - t0:.0f}s",
        flush=True,
    )

    post_docs = [docs[i] for i in post]
    pos_in_post = {int(g): j for j, g in enumerate(post)}
    F.CACHE_SIZE = len(docs) + 1
    t = time.perf_counter()
    F.rows_for(docs)
    featurize_rate = len(docs) / (time.perf_counter() - t)
    baseline = None
    if "baseline" in methods:
        t = time.perf_counter()
        baseline = Baseline(recs, pre, post, authors=not args.no_author_features)
        print(f"baseline tf-idf over all papers: {time.perf_counter() - t:.0f}s", flush=True)

    res: dict[str, list[tuple[float, float]]] = {m: [] for m in methods}
    times: dict[str, list[float]] = {m: [] for m in methods}
    models = {
        m: ForYouModel(replace(VARIANTS[m][0], w_authors=0.0) if args.no_author_features else VARIANTS[m][0])
        for m in methods
        if m != "baseline"
    }
    for n, name in enumerate(chosen, 1):
        before, after = elig[name]
        relevant = {pos_in_post[i] for i in after}
        positives = [docs[i] for i in before]
        rng = random.Random(f"{args.seed}:{name}")
        bset = set(before)
        bg_idx = [int(i) for i in rng.sample(list(pre), min(len(pre), args.background + len(before))) if i not in bset]
        background = [docs[i] for i in bg_idx[: args.background]]
        for m in methods:
            t = time.perf_counter()
            if m == "baseline":
                s = baseline.scores(before)
            else:
                s = models[m].scores(positives, [], post_docs, background)
            ranked = np.argsort(-s, kind="stable")
            times[m].append(time.perf_counter() - t)
            res[m].append(metrics(ranked, relevant, args.k))
        if n % 25 == 0 or n == len(chosen):
            summary = "  ".join(
                f"{m[:18]}: R@{args.k} {np.mean([r for r, _ in res[m]]):.3f} MRR {np.mean([q for _, q in res[m]]):.3f}"
                for m in methods
            )
            print(f"[{n}/{len(chosen)}] {summary}", flush=True)

    print()
    print(
        f"Machine: {os.cpu_count()} CPU cores (shared), one core per ranking; cut-off {args.cutoff}; "
        f"{len(chosen)} authors ({args.split} split, seed {args.seed}); candidates: all {len(post):,} "
        f"papers listed from the cut-off on; background for ours: {args.background} papers; "
        f"author names {'NOT ' if args.no_author_features else ''}in the features."
    )
    print(f"Feature rows (words + authors, cold): {featurize_rate:,.0f} papers/s\n")
    print(f"| method | recall@{args.k} | MRR | median fit+rank per author |")
    print("|---|---:|---:|---:|")
    table = {}
    for m in methods:
        r = np.array(res[m])
        lo_r, hi_r = _ci(r[:, 0])
        lo_q, hi_q = _ci(r[:, 1])
        med = statistics.median(times[m])
        table[m] = {
            "recall": float(r[:, 0].mean()),
            "mrr": float(r[:, 1].mean()),
            "median_s": med,
            "recall_ci": [lo_r, hi_r],
            "mrr_ci": [lo_q, hi_q],
        }
        label = BASELINE if m == "baseline" else VARIANTS[m][1]
        print(
            f"| {label} | {r[:, 0].mean():.3f} [{lo_r:.3f}, {hi_r:.3f}] | "
            f"{r[:, 1].mean():.3f} [{lo_q:.3f}, {hi_q:.3f}] | {med:.2f} s |"
        )
    if "baseline" in methods and "ours" in methods:
        d = np.array(res["ours"]) - np.array(res["baseline"])
        print(
            f"\nours - baseline, paired over the same authors: recall@{args.k} {d[:, 0].mean():+.3f} "
            f"[{_ci(d[:, 0])[0]:+.3f}, {_ci(d[:, 0])[1]:+.3f}], MRR {d[:, 1].mean():+.3f} "
            f"[{_ci(d[:, 1])[0]:+.3f}, {_ci(d[:, 1])[1]:+.3f}] (95% bootstrap intervals)"
        )
    print(f"\ntotal {time.perf_counter() - t0:.0f}s")
    if args.json:
        args.json.write_text(
            json.dumps(
                {"args": {k: str(v) for k, v in vars(args).items()}, "cores": os.cpu_count(), "table": table}, indent=2
            )
        )


def timing(docs, pre, post, seed: int, repeats: int = 5) -> None:
    """rank_for as /for-you calls it: a reader's positives, 2,000 background papers, the candidates.
    cold: nothing cached (every paper featurised); warm: other readers (their positives not cached),
    same candidates and background."""
    from paperwire.recommend.model import rank_for

    rng = random.Random(seed)
    print(
        f"Machine: {os.cpu_count()} CPU cores (shared); one thread (OMP/OPENBLAS_NUM_THREADS="
        f"{os.environ.get('OMP_NUM_THREADS', 'unset')}/{os.environ.get('OPENBLAS_NUM_THREADS', 'unset')})\n"
    )
    print(f"| positives | candidates | cold (first request) | warm (median of {repeats} readers) |")
    print("|---:|---:|---:|---:|")
    for n_pos, n_cand in ((20, 5000), (20, 20000), (500, 5000), (500, 20000)):
        cands = [docs[i] for i in rng.sample(list(post), n_cand)]
        F.clear_cache()
        runs = []
        bg = [docs[i] for i in rng.sample(list(pre), 2000)]  # a stable sample (kept for the day)
        for _ in range(repeats + 1):
            pos = [docs[i] for i in rng.sample(list(pre), n_pos)]  # a new reader: not cached
            t = time.perf_counter()
            out = rank_for(pos, [], cands, k=50, background=bg)
            runs.append(time.perf_counter() - t)
            assert len(out) == 50
        print(f"| {n_pos} | {n_cand:,} | {runs[0]:.2f} s | {statistics.median(runs[1:]):.2f} s |", flush=True)


def _ci(x: np.ndarray, n: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95% bootstrap interval of the mean."""
    rng = np.random.default_rng(seed)
    means = rng.choice(x, size=(n, len(x)), replace=True).mean(1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


if __name__ == "__main__":
    main()
