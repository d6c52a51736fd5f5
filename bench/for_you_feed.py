"""How long the "for you" feed takes on the demo corpus: building the shared candidate pool, a
feed right after a library change (cache miss), and an unchanged feed (cache hit).

    .venv/bin/python bench/for_you_feed.py [--db PATH]   # default: load the demo into a temp dir

A reader saves 10 medical-imaging papers under one tag; each round changes the library (which
bumps library_version) and asks for the tag's feed and the merged feed twice."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from paperwire import library as lib
from paperwire.config import load_settings
from paperwire.demo import load_demo
from paperwire.recommend import feed
from paperwire.storage import open_store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, help="an SQLite database holding the demo corpus (made when missing)")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    db = args.db or Path(tempfile.mkdtemp()) / "demo.db"
    settings = load_settings(data_dir=db.parent, database_url=f"sqlite:///{db}", index_dir=db.parent / "index")
    store = open_store(settings.database_url, create_dir=settings.data_dir)
    if store.papers.count() == 0:
        load_demo(store, progress=False, settings=settings)
    ids = [
        r[0]
        for r in store.conn.execute("SELECT id FROM papers WHERE title LIKE '%medical image%' ORDER BY pk LIMIT 12")
    ]
    account = store.accounts.ensure(f"bench-{time.time_ns()}@example.org")
    for pid in ids[:10]:
        lib.save(store, account.id, pid, ["medical"])
    t = time.perf_counter()
    pool = feed.candidate_pool(store)
    print(
        f"corpus {store.papers.count():,} papers; candidate pool {len(pool.docs):,} docs "
        f"({len(pool.missing)} without vectors) built in {(time.perf_counter() - t) * 1000:.0f} ms"
    )
    t = time.perf_counter()
    feed.feed_for_account(store, account.id, tag="medical")
    print(f"first feed of the process (model warm-up): {(time.perf_counter() - t) * 1000:.0f} ms")
    for tag in ("medical", None):
        miss, hit = [], []
        for i in range(args.rounds):
            if i % 2 == 0:
                lib.save(store, account.id, ids[10 + (i // 2) % 2], ["medical"])
            else:
                lib.remove(store, account.id, ids[10 + (i // 2) % 2])
            t = time.perf_counter()
            feed.feed_for_account(store, account.id, tag=tag)
            miss.append(time.perf_counter() - t)
            t = time.perf_counter()
            feed.feed_for_account(store, account.id, tag=tag)
            hit.append(time.perf_counter() - t)
        print(
            f"{tag or 'merged'} feed: after a change median {statistics.median(miss) * 1000:.0f} ms "
            f"(min {min(miss) * 1000:.0f}, max {max(miss) * 1000:.0f}); unchanged {statistics.median(hit) * 1000:.2f} ms"
        )
    store.close()


if __name__ == "__main__":
    main()
