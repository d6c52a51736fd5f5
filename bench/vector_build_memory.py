"""Peak memory of building the vector index from stored embeddings (Indexer._build_vectors), against
the earlier way of collecting the vectors (every blob and a NumPy view of it, then one np.vstack).

    .venv/bin/python bench/vector_build_memory.py bench/out/scale_1M [bench/out/scale_3M ...]

Each variant runs in its own process (peak RSS = getrusage's ru_maxrss of that process), on a
database built by bench/scale.py; the index files are not written. Prints a table with the
machine's core count.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, peak_rss_mb  # noqa: E402

VARIANTS = ("before (blobs + views + vstack)", "now (preallocated, batch by batch)")


def _child(data_dir: str, variant: int) -> None:
    import numpy as np

    from paperwire.config import load_settings
    from paperwire.search.indexer import Indexer
    from paperwire.search.vectors import VectorIndex
    from paperwire.storage import open_store

    d = Path(data_dir)
    # the benchmark databases store torch-keyed vectors: say so, or the indexer would plan a re-embed
    settings = load_settings(data_dir=d, database_url=f"sqlite:///{d / 'paperwire.db'}", embed_backend="torch")
    store = open_store(settings.database_url, create_dir=settings.data_dir)
    idx = Indexer(store, settings)
    base = peak_rss_mb()
    t0 = time.perf_counter()
    if variant == 0:
        dim = 384
        pks, vecs = [], []
        for rows in store.papers.iter_embeddings():
            for pk, blob in rows:
                v = np.frombuffer(blob, dtype=np.float32)
                if len(v) == dim:
                    pks.append(pk)
                    vecs.append(v)
        arr = np.vstack(vecs)
        vi = VectorIndex.build(dim, np.asarray(pks, dtype=np.int64), arr, 0)
    else:
        idx._embedder = type("E", (), {"dim": 384})()  # no model needed to read stored vectors
        vi = idx._build_vectors(0)
    print(
        json.dumps(
            {
                "vectors": len(vi),
                "seconds": time.perf_counter() - t0,
                "peak_rss_mb": peak_rss_mb(),
                "rss_before_mb": base,
                "kind": vi.kind,
            }
        )
    )


def main() -> None:
    if len(sys.argv) >= 3 and sys.argv[1] == "--child":
        _child(sys.argv[2], int(sys.argv[3]))
        return
    dirs = sys.argv[1:] or ["bench/out/scale_1M"]
    m = machine()
    print(f"machine: {m.get('cores')} CPU cores, {m.get('ram_gib')} GiB; load average {os.getloadavg()[0]:.1f}")
    print(f"{'database':<22} {'variant':<38} {'vectors':>10} {'seconds':>8} {'peak RSS MB':>12}")
    for d in dirs:
        res = []
        for v in range(len(VARIANTS)):
            out = subprocess.run([sys.executable, __file__, "--child", d, str(v)], capture_output=True, text=True)
            if out.returncode != 0:
                raise SystemExit(out.stderr[-2000:])
            r = json.loads(out.stdout.strip().splitlines()[-1])
            res.append(r)
            print(
                f"{Path(d).name:<22} {VARIANTS[v]:<38} {r['vectors']:>10,} {r['seconds']:>8.1f} {r['peak_rss_mb']:>12,.0f}"
            )
        print(
            f"{'':<22} {'ratio now / before (peak RSS)':<38} {'':>10} {res[1]['seconds'] / res[0]['seconds']:>7.2f}x "
            f"{res[1]['peak_rss_mb'] / res[0]['peak_rss_mb']:>11.2f}x"
        )


if __name__ == "__main__":
    main()
