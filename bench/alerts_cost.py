"""What the relevance bar costs: a digest run on the code before it and on this tree, alternately
in one session, and a search page with and without the alert preview.

    .venv/bin/python bench/alerts_cost.py --baseline REV -n 5k --repeat 3

runs bench/digest_delivery.py -n 5k --no-deliver (compose + record + queue, no delivery) in a
fresh process per run, alternating between the code of git revision REV (its src/, extracted with
git archive under bench/out/alerts-cost/) and this tree's; each side has its own indexed copy of
the 1,000-paper arXiv sample (its own schema) under bench/out/alerts-cost/. The table gives each
side's compose seconds (median of the runs, and each run), messages queued, papers sent, and the
ratio of the medians.

    .venv/bin/python bench/alerts_cost.py --preview 200

times, on this tree's indexed corpus, a search page's engine call (SearchEngine.search, 20 hits)
alone and followed by the alert preview (digest/preview.alert_preview), over 200 queries of the
digest benchmark's pool, each asked twice (first: nothing cached; again: the engine's results
cache answers, as for a page asked again). The preview pass runs first and pays for embedding each
query; the search-only pass finds the embedding cached, so the ratio errs on the preview's side.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
WORK = OUT / "alerts-cost"


def baseline_src(rev: str) -> Path:
    """src/ of git revision ``rev``, extracted once under bench/out/alerts-cost/."""
    sha = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", f"{rev}^{{commit}}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    dest = WORK / f"base-{sha[:12]}"
    if not (dest / "src").is_dir():
        dest.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", sha, "src"], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest / "src"


def one_run(src: Path, out: Path, n: str) -> dict:
    """One digest run in a fresh process on the code in ``src``; its JSON result."""
    from common import human_n, parse_n  # noqa: E402  (bench/common.py)

    env = dict(os.environ, PYTHONPATH=str(src), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "digest_delivery.py"), "-n", n, "--no-deliver", "--out", str(out)],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return json.loads((out / f"digest_{human_n(parse_n(n))}.json").read_text())


def preview_cost(n_queries: int) -> None:
    import random
    import time

    from digest_delivery import CORPUS, query_pool  # noqa: E402
    from paperwire.config import load_settings
    from paperwire.digest.preview import alert_preview
    from paperwire.search.hybrid import SearchEngine
    from paperwire.storage import open_store

    src = WORK / "this" / "digest-corpus"
    if not (src / "done").exists():  # the digest benchmark builds and indexes it
        one_run(ROOT / "src", WORK / "this", "100")
    settings = load_settings(
        data_dir=src, database_url=f"sqlite:///{src / 'pw.db'}", index_dir=src / "index", embed_model=None
    )
    store = open_store(settings.database_url)
    engine = SearchEngine(store, settings)
    _ = engine.embedder  # load the model before timing (a web process has it loaded)
    records = [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]
    queries = query_pool(records, n_queries, random.Random(7))
    engine.search("warm up", limit=20)
    alert_preview(engine, store, "warm up")
    rows = {}
    # the preview pass goes first: it pays for embedding each query, the search-only pass then finds
    # the embedding cached, so the difference errs on the preview's side
    for name, with_preview in (("search + preview", True), ("search only", False)):
        for ask in ("first", "again"):
            rows[(name, ask)] = []
        for q in queries:
            for ask in ("first", "again"):
                t = time.perf_counter()
                engine.search(q if with_preview else q + " ", limit=20)
                if with_preview:
                    alert_preview(engine, store, q)
                rows[(name, ask)].append((time.perf_counter() - t) * 1000)
    print(
        f"\n{os.cpu_count()} CPU cores; {len(queries)} queries over the 1,000-paper arXiv sample, "
        f"latest listing day {store.papers.latest_day()}; load average at the end {os.getloadavg()[0]:.1f}\n"
    )
    print("| per search page | asked | p50 ms | p95 ms | ratio (p50) |")
    print("|---|---|---:|---:|---:|")
    for (name, ask), v in rows.items():
        v = sorted(v)
        base = statistics.median(rows[("search only", ask)])
        print(
            f"| {name} | {ask} | {statistics.median(v):.1f} | {v[int(0.95 * (len(v) - 1))]:.1f} | "
            f"{statistics.median(v) / base:.2f}× |"
        )


def main() -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--baseline", default="main", metavar="REV", help="the git revision whose code is the baseline (default main)"
    )
    ap.add_argument(
        "--preview",
        type=int,
        nargs="?",
        const=200,
        metavar="QUERIES",
        help="time the alert preview beside a search page's search instead",
    )
    ap.add_argument("-n", "--subscribers", default="5k")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if args.preview:
        return preview_cost(args.preview)
    sides = {"baseline": (baseline_src(args.baseline), WORK / "baseline"), "this tree": (ROOT / "src", WORK / "this")}
    runs: dict[str, list[dict]] = {k: [] for k in sides}
    for i in range(args.repeat):  # alternate, so load from other work falls on both sides alike
        for name, (src, out) in sides.items():
            r = one_run(src, out, args.subscribers)
            runs[name].append(r)
            print(f"run {i + 1} {name}: compose {r['compose_s']:.1f} s, {r['counts']}", file=sys.stderr)
    med = {k: statistics.median(r["compose_s"] for r in v) for k, v in runs.items()}
    print(
        f"\n{os.cpu_count()} CPU cores; bench/digest_delivery.py -n {args.subscribers} --no-deliver, "
        f"{args.repeat} runs each, alternating; baseline: {args.baseline} ({sides['baseline'][0].parent.name}); "
        f"load average at the end {os.getloadavg()[0]:.1f}\n"
    )
    print("| code | compose + record + queue, median (runs) | messages queued | papers sent | ratio |")
    print("|---|---|---:|---:|---:|")
    for k, v in runs.items():
        c = v[-1]["counts"]
        times = ", ".join(f"{r['compose_s']:.1f}" for r in v)
        print(
            f"| {k} | {med[k]:.1f} s ({times}) | {c['queued']:,} | {c['papers']:,} | {med[k] / med['baseline']:.2f}× |"
        )


if __name__ == "__main__":
    main()
