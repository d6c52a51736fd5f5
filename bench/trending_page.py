"""How long one trending list takes to compute, at ~30,000 candidates in a month.

    .venv/bin/python bench/trending_page.py

Loads the 9,881 real Hugging Face daily papers (../shared/data/hf-daily-papers) and adds 30,000
synthetic papers announced over the last 30 listing days (a fifth with a GitHub repository and two
star points each), then times trending() for each window: median of 5 uncached runs, and a
cached call (RankCache, as the pages use it).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from paperwire.models import Paper
from paperwire.storage import open_store
from paperwire.trending.hf_import import import_hf
from paperwire.trending.ranking import RankCache, trending

HF = Path(__file__).resolve().parents[2] / "shared" / "data" / "hf-daily-papers" / "hf_daily_papers_normalized.jsonl.gz"


def main() -> None:
    if not HF.exists():
        sys.exit(f"{HF} not found")
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/bench.db")
        import_hf(store, HF, progress=False)
        start = datetime(2026, 7, 23, tzinfo=UTC)
        papers = []
        for i in range(30_000):
            day = (start + timedelta(days=i % 30)).date().isoformat()
            papers.append(
                Paper(
                    id=f"bench:p{i}",
                    title=f"Paper {i}",
                    abstract="x",
                    announced=day,
                    submitted=day,
                    categories=["cs.LG"],
                    code_url=f"https://github.com/o{i % 6000}/r{i % 6000}" if i % 5 == 0 else None,
                )
            )
        for i in range(0, len(papers), 1000):
            store.papers.upsert(papers[i : i + 1000])
        with store.transaction() as c:
            for r in range(6000):
                c.execute(
                    "INSERT INTO repos (repo, stars, status, checked_at) VALUES (?, ?, 'ok', ?)",
                    (f"o{r}/r{r}", 5 + r, "2026-08-20T00:00:00Z"),
                )
                c.execute("INSERT INTO repo_stars VALUES (?, ?, ?)", (f"o{r}/r{r}", "2026-07-01T00:00:00Z", 5))
                c.execute("INSERT INTO repo_stars VALUES (?, ?, ?)", (f"o{r}/r{r}", "2026-08-20T00:00:00Z", 5 + r))
        for window in ("today", "week", "month"):
            times = []
            for _ in range(5):
                t = time.perf_counter()
                page = trending(store, window, limit=25)
                times.append(time.perf_counter() - t)
            cache = RankCache()
            trending(store, window, limit=25, cache=cache)
            t = time.perf_counter()
            trending(store, window, limit=25, cache=cache)
            cached = time.perf_counter() - t
            print(
                f"{window:5}  candidates {page.total:6,}  uncached median {statistics.median(times) * 1000:6.0f} ms"
                f"  cached {cached * 1000:5.1f} ms  (as of {page.as_of_iso})"
            )


if __name__ == "__main__":
    main()
