"""Top 10 of one real week of Hugging Face daily papers: pure upvotes vs the trending score.

Data: ../shared/data/hf-daily-papers/hf_daily_papers_normalized.jsonl.gz (see its README).
published_at is submittedOnDailyAt (when the paper reached the site; a date, 00:00 UTC).
Each item's upvotes and githubStars are a snapshot taken when its daily file was saved. The data
has no star history, so githubStars (total at snapshot) stands in for stars gained: for a repo
created with the paper that is what it gained; a paper that links an older famous repo is marked
"old repo?" when its stars exceed 2,000 (the score would then over-count it).

Usage: .venv/bin/python bench/trending_check.py [--week-start 2026-06-01] [--window week]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from paperwire.trending import WINDOWS, TrendingInput, rank, trending_score  # noqa: E402

DATA = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "hf-daily-papers" / "hf_daily_papers_normalized.jsonl.gz"
)


def _ts(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--week-start", default="2026-06-01", help="a Monday, YYYY-MM-DD")
    ap.add_argument("--window", default="week", choices=sorted(WINDOWS))
    a = ap.parse_args(argv)
    if not DATA.exists():
        print(f"skipped: {DATA} not found")
        return 0
    start = datetime.fromisoformat(a.week_start).replace(tzinfo=UTC)
    now = start + timedelta(days=7)
    params = WINDOWS[a.window]
    papers: dict[str, tuple[TrendingInput, str]] = {}
    with gzip.open(DATA, "rt", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            day = datetime.fromisoformat(r["_daily_date"]).replace(tzinfo=UTC)
            if not (start <= day < now):
                continue
            p = r["paper"]
            it = TrendingInput(
                p["id"], int(p.get("upvotes") or 0), int(p.get("githubStars") or 0), _ts(p["submittedOnDailyAt"])
            )
            papers[it.paper_id] = (it, " ".join(p["title"].split()))
    items = [v[0] for v in papers.values()]
    if not items:
        print(f"no papers listed in the week of {a.week_start}")
        return 0
    # The data has gaps: "now" is the end of the week's last listing day, not the Sunday.
    now = min(
        now, max(i.published_at for i in items).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    )
    by_votes = sorted(items, key=lambda i: (-i.upvotes, i.paper_id))[:10]
    by_score = rank(items, now, params=params)[:10]
    print(
        f"{len(items)} papers listed {a.week_start} .. {(now - timedelta(days=1)).date()}, "
        f"now = {now.isoformat()}, params = {params}"
    )
    print(f"{len(items) - len(rank(items, now, params=params))} left out (listed before the window)\n")

    def row(n, it):
        age = (now - it.published_at).total_seconds() / 3600
        s = trending_score(it.upvotes, it.stars_gained, age, params=params)
        flag = " (old repo?)" if it.stars_gained > 2000 else ""
        return (
            f"| {n} | {it.paper_id} | {papers[it.paper_id][1][:60]} | {it.upvotes} | "
            f"{it.stars_gained}{flag} | {age / 24:.1f} | {s:.3f} |"
        )

    hdr = "| # | id | title | upvotes | stars | age d | score |\n|---:|---|---|---:|---:|---:|---:|"
    print("Top 10 by pure upvotes\n" + hdr)
    for n, it in enumerate(by_votes, 1):
        print(row(n, it))
    print(f"\nTop 10 by trending_score ({a.window})\n" + hdr)
    for n, it in enumerate(by_score, 1):
        print(row(n, it))
    overlap = len({i.paper_id for i in by_votes} & {i.paper_id for i in by_score})
    print(f"\noverlap of the two top 10s: {overlap}/10")
    return 0


if __name__ == "__main__":
    sys.exit(main())
