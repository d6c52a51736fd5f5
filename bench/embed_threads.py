"""Bulk embedding throughput: the default document embedder on one thread (what ingest and reindex
used before PAPERWIRE_EMBED_THREADS) against bulk_threads() threads (now: every core), on the same
SciFact abstracts, interleaved rounds, medians.

    .venv/bin/python bench/embed_threads.py [--docs 512] [--rounds 5]
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from paperwire.config import load_settings  # noqa: E402
from paperwire.models import Paper  # noqa: E402
from paperwire.search.embed import bulk_threads, document_backend, get_document_embedder, paper_text  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=512)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    with gzip.open(ROOT.parent / "shared" / "data" / "scifact" / "corpus.jsonl.gz", "rt") as f:
        docs = [json.loads(line) for line in itertools.islice(f, args.docs)]
    texts = [paper_text(Paper(id="x", title=d.get("title") or "", abstract=d["text"])) for d in docs]
    settings = load_settings()
    embedders = {
        "1 thread (before)": get_document_embedder(settings),
        f"{bulk_threads(settings)} threads (bulk, now)": get_document_embedder(settings, bulk=True),
    }
    for e in embedders.values():
        e.encode(texts[:64])  # warm up
    rates: dict[str, list[float]] = {name: [] for name in embedders}
    for _ in range(args.rounds):
        for name, e in embedders.items():
            t0 = time.perf_counter()
            e.encode(texts)
            rates[name].append(len(texts) / (time.perf_counter() - t0))
    base = statistics.median(next(iter(rates.values())))
    print(
        f"\nBulk embedding, {document_backend(settings)}, {len(texts)} SciFact abstracts, {args.rounds} rounds; "
        f"{os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'embedder':<28} {'docs/s (median)':>16} {'min':>7} {'max':>7} {'ratio':>6}")
    for name, r in rates.items():
        m = statistics.median(r)
        print(f"{name:<28} {m:16.1f} {min(r):7.1f} {max(r):7.1f} {m / base:6.2f}")


if __name__ == "__main__":
    main()
