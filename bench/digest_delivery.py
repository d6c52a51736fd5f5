"""Digest benchmark: N confirmed subscribers with 1-3 saved searches each, one daily run
(compose + record + queue), then delivery of the queued messages to a local SMTP sink.

    python bench/digest_delivery.py --overlap             # 100k subscribers, sender running meanwhile
    python bench/digest_delivery.py                       # 100k, compose then deliver
    python bench/digest_delivery.py -n 5k --no-deliver    # compose only
    python bench/digest_delivery.py --write-docs          # append the table to docs/benchmarks.md

The corpus is /work/shared/data/arxiv-daily/sample_1000.jsonl (1,000 real arXiv listings, five
listing days), indexed by words and meaning. Saved searches come from a pool of distinct queries
built from those papers' titles (2-3 word phrases, the categories), drawn with a Zipf-like skew:
many subscribers share popular queries, as they would on a real site. The SMTP sink (aiosmtpd,
in its own process) accepts every message and counts them.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import re
import shutil
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from common import DATA, OUT, ROOT, human_n, parse_n, peak_rss_mb  # noqa: E402

CORPUS = DATA / "arxiv-daily" / "sample_1000.jsonl"
NOW = "2025-03-24T12:00:00Z"  # after the corpus's last listing day; every subscriber's send hour has passed
STOP = set(
    "a an the of for and in on with to via from by at as is are be its into towards toward using under "
    "over through based new we our how what when can do does not or vs versus".split()
)
ZONES = [
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Australia/Sydney",
    "America/Sao_Paulo",
    "Africa/Lagos",
]


def query_pool(records: list[dict], n: int, rng: random.Random) -> list[str]:
    phrases: dict[str, None] = {}
    cats = sorted({c for r in records for c in r.get("categories", [])})
    for r in records:
        words = [w.lower() for w in re.findall(r"[A-Za-z][A-Za-z\-]+", r["title"])]
        words = [w for w in words if w not in STOP and len(w) > 2]
        for k in (2, 3):
            for i in range(len(words) - k + 1):
                phrases[" ".join(words[i : i + k])] = None
    pool = list(phrases)
    rng.shuffle(pool)
    pool = pool[: max(0, n - len(cats) // 2)]
    pool += [f"{q} cat:{rng.choice(cats)}" for q in pool[: len(cats) // 2]]  # a few with filters
    return pool[:n]


def smtp_sink(port: int, counter, ready) -> None:
    import asyncio

    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            with counter.get_lock():
                counter.value += 1
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port, data_size_limit=10_000_000)
    controller.start()
    ready.set()
    try:
        asyncio.get_event_loop().run_until_complete(asyncio.sleep(10**9))
    except Exception:
        time.sleep(10**9)


def sender_process(settings, stop) -> None:
    from paperwire.mail.sender import run_sender
    from paperwire.storage import open_store

    store = open_store(settings.database_url)
    run_sender(settings, store, stop=stop)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--subscribers", default="100k")
    ap.add_argument("--queries", type=int, default=3000, help="distinct saved-search queries in the pool")
    ap.add_argument("--no-deliver", action="store_true")
    ap.add_argument("--mail-rate", type=float, default=0.0, help="sender rate limit, messages/s (0: unlimited)")
    ap.add_argument(
        "--overlap",
        action="store_true",
        help="deliver while composing: the sender runs in its own process from the start "
        "(as a `paperwire worker` beside the digest run would)",
    )
    ap.add_argument("--write-docs", action="store_true", help="append the table to docs/benchmarks.md")
    ap.add_argument("--profile", action="store_true", help="cProfile the compose run (top functions to stderr)")
    ap.add_argument(
        "--out",
        type=Path,
        default=OUT,
        help="where the indexed corpus, the work copy and the JSON result go (default bench/out)",
    )
    args = ap.parse_args()
    n = parse_n(args.subscribers)
    rng = random.Random(42)

    from paperwire.config import load_settings
    from paperwire.digest.run import run_digests
    from paperwire.search.hybrid import SearchEngine
    from paperwire.search.indexer import Indexer
    from paperwire.sources.jsonl import JsonlSource
    from paperwire.sources.runner import run_ingest
    from paperwire.storage import open_store

    out = args.out
    work = out / "digest"
    corpus_db = out / "digest-corpus"
    work.mkdir(parents=True, exist_ok=True)
    records = [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]
    # the indexed corpus is built once and copied for every run
    if not (corpus_db / "done").exists():
        shutil.rmtree(corpus_db, ignore_errors=True)
        corpus_db.mkdir(parents=True)
        s = load_settings(
            data_dir=corpus_db,
            database_url=f"sqlite:///{corpus_db / 'pw.db'}",
            index_dir=corpus_db / "index",
            embed_model=None,
        )
        st = open_store(s.database_url)
        run_ingest(st, JsonlSource(CORPUS), progress=False)
        Indexer(st, s).sync(progress=True)
        st.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        st.close()
        (corpus_db / "done").write_text("ok")
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(corpus_db, work)
    settings = load_settings(
        data_dir=work,
        database_url=f"sqlite:///{work / 'pw.db'}",
        index_dir=work / "index",
        embed_model=None,
        base_url="https://paperwire.example.org",
        secret_key="bench",
        mail_from="Paperwire <digest@paperwire.example.org>",
    )
    store = open_store(settings.database_url)

    pool = query_pool(records, args.queries, rng)
    weights = [1 / (i + 1) ** 0.8 for i in range(len(pool))]  # Zipf-like: popular queries are shared
    cats = sorted({c for r in records for c in r.get("categories", [])})
    t = time.perf_counter()
    created = "2025-03-01T00:00:00Z"
    with store.transaction() as c:
        c.executemany(
            "INSERT INTO subscribers (id, email, status, frequency, send_hour, timezone, trending, categories, "
            "created_at, updated_at, confirmed_at) VALUES (?, ?, 'confirmed', 'daily', ?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    i,
                    f"reader{i}@example.org",
                    rng.randrange(0, 24),
                    rng.choice(ZONES),
                    int(rng.random() < 0.5),
                    json.dumps(rng.sample(cats, rng.randint(1, 2)) if rng.random() < 0.3 else []),
                    created,
                    created,
                    created,
                )
                for i in range(1, n + 1)
            ),
        )
        searches = []
        for i in range(1, n + 1):
            for q in set(rng.choices(pool, weights, k=rng.randint(1, 3))):
                searches.append((i, q, created))
        c.executemany("INSERT INTO saved_searches (subscriber_id, query, created_at) VALUES (?, ?, ?)", searches)
    distinct = len({q for _, q, _ in searches})
    print(
        f"{n:,} subscribers, {len(searches):,} saved searches ({distinct:,} distinct queries) "
        f"created in {time.perf_counter() - t:.1f} s",
        file=sys.stderr,
    )

    engine = SearchEngine(store, settings)
    _ = engine.embedder  # load the model before timing (a running worker has it loaded)
    rss_before = peak_rss_mb()
    deliver = not args.no_deliver
    if deliver:
        try:
            from paperwire.mail.sender import run_sender
        except ImportError as e:
            print(f"delivery skipped: the sender is not available ({e})", file=sys.stderr)
            deliver = False
    sink = None
    if deliver:
        port = free_port()
        counter, ready = mp.Value("l", 0), mp.Event()
        sink = mp.Process(target=smtp_sink, args=(port, counter, ready), daemon=True)
        sink.start()
        ready.wait(30)
        dsettings = settings.with_(
            smtp_host="127.0.0.1", smtp_port=port, smtp_security="none", mail_rate=args.mail_rate or 1e9
        )
    sender, stop = None, None
    t0 = time.perf_counter()
    if deliver and args.overlap:
        stop = mp.Event()
        sender = mp.Process(target=sender_process, args=(dsettings, stop))
        sender.start()
    if args.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
    counts = run_digests(store, settings, engine, now=NOW, progress=True)
    compose_s = time.perf_counter() - t0
    if args.profile:
        prof.disable()
        pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(
            "digest|subscriptions|security|jinja|itsdangerous|sqlite|mime", 40
        )
    compose_rss = peak_rss_mb()
    print(f"compose: {counts}", file=sys.stderr)
    outbox_mb = store.conn.execute("SELECT coalesce(sum(length(message)), 0) FROM outbox").fetchone()[0] / 2**20

    deliver_s = total_s = None
    delivered = 0
    if deliver:
        t = time.perf_counter()
        if sender is not None:
            while counter.value < counts["queued"] and sender.is_alive():
                time.sleep(0.2)
            stop.set()
            sender.join(60)
        else:
            res = run_sender(dsettings, store, once=True)
            print(f"deliver: {res}", file=sys.stderr)
        deliver_s = time.perf_counter() - t  # overlap: what was left to deliver after composing
        total_s = time.perf_counter() - t0
        delivered = counter.value
        print(f"sink counted {delivered:,}", file=sys.stderr)
        sink.terminate()

    cores = os.cpu_count()
    msgs = counts["queued"]
    rows = [
        ("machine", f"{cores} CPU cores ({os.uname().machine}), Python {sys.version.split()[0]}"),
        ("subscribers (confirmed, all due)", f"{n:,}"),
        ("saved searches / distinct queries", f"{len(searches):,} / {distinct:,}"),
        ("searches run (query × since day)", f"{counts['searches']:,}"),
        ("messages queued", f"{msgs:,} (nothing new: {counts['empty']:,})"),
        ("outbox size", f"{outbox_mb:,.0f} MiB"),
        (
            "compose + record + queue",
            f"{compose_s:,.1f} s ({n / compose_s:,.0f} subscribers/s, {1000 * compose_s / n:.2f} ms each)",
        ),
        (
            "deliver to local SMTP sink",
            "not measured"
            if deliver_s is None
            else (
                f"{delivered:,} messages; sender in its own process from the start, {deliver_s:,.1f} s more "
                f"after composing ended"
                if args.overlap
                else f"{deliver_s:,.1f} s after composing ({delivered:,} messages, {delivered / deliver_s:,.0f} messages/s)"
            ),
        ),
        (
            "compose + deliver (wall clock)",
            "—" if total_s is None else f"{total_s:,.1f} s ({delivered / total_s:,.0f} messages/s end to end)",
        ),
        ("peak RSS (the digest run)", f"{compose_rss:,.0f} MiB (model loaded: {rss_before:,.0f} MiB before the run)"),
    ]
    table = "| | |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)
    print(table)
    (out / f"digest_{human_n(n)}.json").write_text(
        json.dumps(
            {
                "subscribers": n,
                "counts": counts,
                "compose_s": compose_s,
                "deliver_s": deliver_s,
                "total_s": total_s,
                "overlap": args.overlap,
                "delivered": delivered,
                "peak_rss_mb": compose_rss,
                "cores": cores,
            },
            indent=1,
        )
    )
    if args.write_docs:
        doc = ROOT / "docs" / "benchmarks.md"
        how = (
            "the sender delivering concurrently from its own process"
            if args.overlap
            else "then delivery of every queued message"
        )
        section = (
            f"\n## Digests\n\n`python bench/digest_delivery.py -n {args.subscribers}"
            f"{' --overlap' if args.overlap else ''}` — one daily digest run "
            f"for every subscriber (all due at once), on the 1,000-paper arXiv sample "
            f"(five listing days) indexed by words and meaning; {how} "
            f"to a local SMTP sink (aiosmtpd, another process).\n\n{table}\n"
        )
        text = doc.read_text()
        if "\n## Digests\n" in text:
            print("docs/benchmarks.md has a Digests section already; not appending", file=sys.stderr)
        else:
            doc.write_text(text.rstrip("\n") + "\n" + section)
    store.close()


if __name__ == "__main__":
    main()
