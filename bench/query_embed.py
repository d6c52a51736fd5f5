"""Query-embedding latency per backend: one query per call, as a search does (the query LRU bypassed).

    .venv/bin/python bench/query_embed.py [--rounds 3]

Queries: the 64 seed-page titles and 100 SciFact claims (../shared/data), embedded one at a time by
torch (sentence-transformers, 1 thread), ONNX fp32 and ONNX int8 (search/embed_onnx.py, 1 thread),
interleaved (every backend once per query, in turn) so that load from other processes hits each
alike. Prints p50 / p95 per backend, the ratio of medians to torch, and the cosine of each query
vector to torch's (int8 is what `auto` uses for queries; search/embed.py query_backend).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, machine, percentile  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def queries() -> list[str]:
    seed = DATA / "seed-page" / "papers.jsonl"
    if not seed.exists():
        raise SystemExit(f"{seed} is missing: the shared data must sit beside the repository")
    out = [json.loads(line)["title"] for line in seed.open()]
    claims = DATA / "scifact" / "queries.jsonl"
    if claims.exists():
        out += [json.loads(line)["text"] for line in claims.open()][:100]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    import numpy as np

    from paperwire.search.embed import find_model_dir, get_embedder, onnx_cache_dir
    from paperwire.search.embed_onnx import OnnxEmbedder

    class S:  # the settings get_embedder reads
        embed_model = None
        embed_device = "cpu"
        embed_batch = 64

    model_dir = find_model_dir(None)
    backends = {
        "torch": get_embedder(S()),
        "onnx fp32": OnnxEmbedder(model_dir, onnx_cache_dir(), quant="fp32"),
        "onnx int8 (auto)": OnnxEmbedder(model_dir, onnx_cache_dir(), quant="int8"),
    }
    qs = queries()
    for emb in backends.values():
        emb.encode(qs[:4])  # warm-up
    times = {name: [] for name in backends}
    vecs = {name: [] for name in backends}
    for _ in range(args.rounds):
        for q in qs:
            for name, emb in backends.items():
                t0 = time.perf_counter()
                v = emb.encode([q])[0]
                times[name].append((time.perf_counter() - t0) * 1000)
                vecs[name].append(v)
    m = machine()
    print(
        f"Query embedding, one query per call: {len(qs)} queries x {args.rounds} rounds, interleaved; "
        f"{m.get('cores')} CPU cores, load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'backend':<18} {'p50 ms':>7} {'p95 ms':>7} {'x torch (p50)':>14} {'cos to torch min':>17}")
    base = statistics.median(times["torch"])
    ref = np.vstack(vecs["torch"])
    for name in backends:
        p50 = statistics.median(times[name])
        cos = (np.vstack(vecs[name]) * ref).sum(axis=1)
        print(f"{name:<18} {p50:>7.2f} {percentile(times[name], 95):>7.2f} {base / p50:>13.2f}x {cos.min():>17.4f}")


if __name__ == "__main__":
    main()
