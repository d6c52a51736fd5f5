"""What gzip saves and costs on Paperwire's answers, and why web/app.py compresses at level 6.

    .venv/bin/python bench/compression.py [--repeat 7]

Builds a site on a temporary SQLite database with the 64 seed papers (the real search engine,
words and embeddings), fetches the home page, a search page, trending, the day feed, the OpenAPI
document and the biggest CSS / JS files through the app, and compresses each body with zlib at
levels 1 (the app's default, PAPERWIRE_GZIP_LEVEL), 6 (zlib's) and 9 (Starlette's): bytes on the
wire and microseconds per compression, medians of --repeat runs. Then whole requests of the home
page through the app (page cache on), without gzip (the baseline) and with it at levels 1 and 6:
milliseconds per request and the ratio to the baseline, in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import timeit
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA  # noqa: E402

LEVELS = (1, 6, 9)


def _gzip(body: bytes, level: int) -> bytes:
    c = zlib.compressobj(level, zlib.DEFLATED, 31)  # 31: a gzip wrapper, as GZipMiddleware writes
    return c.compress(body) + c.flush()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from fastapi.testclient import TestClient

    from paperwire.config import load_settings
    from paperwire.search.hybrid import SearchEngine
    from paperwire.search.indexer import Indexer
    from paperwire.sources.jsonl import JsonlSource
    from paperwire.sources.runner import run_ingest
    from paperwire.storage import open_store
    from paperwire.web.app import create_app
    from paperwire.web.static_assets import STATIC_DIR

    seed = DATA / "seed-page" / "papers.jsonl"
    if not seed.exists():
        raise SystemExit(f"{seed} is missing: the shared data must sit beside the repository")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        settings = load_settings(
            data_dir=root,
            database_url=f"sqlite:///{root / 'p.db'}",
            index_dir=root / "p.db.index",
            base_url=None,
            embed_model=None,
        )
        store = open_store(settings.database_url)
        run_ingest(store, JsonlSource(seed), progress=False)
        Indexer(store, settings).sync(progress=False)
        engine = SearchEngine(store, settings)
        engine.reload()
        app = create_app(settings, store=store, engine=engine, background=False)
        plain = {"Accept-Encoding": "identity"}
        with TestClient(app) as client:
            css = max(STATIC_DIR.glob("*.css"), key=lambda p: p.stat().st_size).name
            js = max(STATIC_DIR.glob("*.js"), key=lambda p: p.stat().st_size).name
            paths = [
                "/",
                "/search?q=language+models+feedback",
                "/trending?window=month",
                "/feeds/day.atom",
                "/openapi.json",
                f"/static/{css}",
                f"/static/{js}",
            ]
            bodies = {p: client.get(p, headers=plain).content for p in paths}

            print(f"{os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f}; medians of {args.repeat} runs")
            head = " | ".join(f"gzip -{lv} bytes | µs" for lv in LEVELS)
            print(f"| answer | bytes | {head} | -6 time / -9 time |")
            print("|---|---:|" + "---:|---:|" * len(LEVELS) + "---:|")
            for path, body in bodies.items():
                cells, times = [], {}
                for lv in LEVELS:
                    n = max(1, int(2_000_000 / max(len(body), 1)))
                    t = (
                        statistics.median(
                            timeit.repeat(lambda body=body, lv=lv: _gzip(body, lv), number=n, repeat=args.repeat)
                        )
                        / n
                    )
                    times[lv] = t
                    cells.append(f"{len(_gzip(body, lv)):,} | {t * 1e6:,.0f}")
                print(f"| `{path}` | {len(body):,} | {' | '.join(cells)} | {times[6] / times[9]:.2f} |")

        def per_request(level: int, headers: dict) -> float:
            site = create_app(settings.with_(gzip_level=level), store=store, engine=engine, background=False)
            with TestClient(site) as c:
                c.get("/", headers=headers)  # fill the page cache
                n = 50
                return (
                    statistics.median(timeit.repeat(lambda: c.get("/", headers=headers), number=n, repeat=args.repeat))
                    / n
                )

        gz = {"Accept-Encoding": "gzip"}
        base = per_request(0, gz)
        print()
        print("| home page request (in process, page cache on) | ms | ratio |")
        print("|---|---:|---:|")
        print(f"| no compression (baseline) | {base * 1e3:.2f} | 1.00 |")
        for level in (1, 6):
            t = per_request(level, gz)
            print(f"| gzip -{level} | {t * 1e3:.2f} | {t / base:.2f} |")
        store.close()


if __name__ == "__main__":
    main()
