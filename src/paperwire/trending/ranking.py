"""The trending lists (today / this week / this month) over the store: the score of score.py fed
with real counts.

* Candidates: papers on a day list (paper_community.listed_day) or announced on a day of the
  window, whose reference time (listed_at, else the announced day at 00:00 UTC) lies in the
  window; hidden papers are left out (store.trending.candidates).
* Votes: local votes + imported (Hugging Face) upvotes.
* Stars gained: from the stars time series, the last point at or before the window's end minus
  the last point at or before its start (store.stars.gained_between, one query). The repository
  is the paper's community github_repo, else its code link when that is a GitHub URL.
* "As of": the lists are computed at min(now, end of the latest day with community activity)
  so a demo over historical data (or a site whose lists stopped) shows its last lists instead of
  nothing; the page says "as of <date>".
* Featured papers (curators) are pinned first, in score order, then the rest.

Cost: one candidates query, one stars query and the pure-Python score per candidate; measured
in docs/trending.md (a few hundred ms for 30,000 candidates in a month on the 2-core machine), so
the pages keep each ranking for CACHE_SECONDS unless the data changed (see RankCache).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from ..models import Paper
from ..sources.github import InvalidRepo, parse_repo
from .records import TrendingCandidate
from .score import WINDOWS, TrendingInput, TrendingParams, rank, trending_score

UTC = UTC
NEW_HOURS = 24.0  # a paper listed within this many hours of "as of" is marked new
CACHE_SECONDS = 30.0  # how long a computed ranking is reused by RankCache


@dataclass
class TrendingEntry:
    rank: int
    pk: int
    paper: Paper
    score: float
    upvotes: int
    stars_gained: int
    repo: str | None
    featured: bool
    reference_at: str
    is_new: bool


@dataclass
class TrendingPage:
    window: str
    as_of: datetime
    since: datetime
    total: int
    entries: list[TrendingEntry]

    @property
    def as_of_iso(self) -> str:
        return _iso(self.as_of)


@dataclass(frozen=True)
class Ranked:
    """One ranked candidate (before the papers are loaded; the score is computed for shown ones)."""

    candidate: TrendingCandidate
    repo: str | None
    stars_gained: int


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def as_of(store, now: datetime | None = None) -> datetime:
    """min(now, the end of the latest day with community activity); now when nothing is listed."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    day = store.trending.latest_listing_day()
    if not day:
        return now
    end = datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=UTC) + timedelta(days=1)
    return min(now, end)


def repo_of(c: TrendingCandidate) -> str | None:
    if c.github_repo:
        return c.github_repo
    if c.code_url and "github.com" in c.code_url.lower():
        return _repo_of_url(c.code_url)
    return None


@lru_cache(maxsize=65536)
def _repo_of_url(url: str) -> str | None:
    try:
        return parse_repo(url)
    except InvalidRepo:
        return None


def rank_between(
    store, since: datetime, until: datetime, params: TrendingParams, *, categories: list[str] | None = None
) -> list[Ranked]:
    """Every candidate of [since, until] ranked at ``until`` with ``params``, featured first."""
    cands = store.trending.candidates(_iso(since), _iso(until), categories or None)
    repos = {c.pk: repo_of(c) for c in cands}
    gained = store.stars.gained_between([r for r in repos.values() if r], _iso(since), _iso(until))
    by_pk = {c.pk: c for c in cands}
    inputs = [
        TrendingInput(str(c.pk), c.upvotes, gained.get(repos[c.pk], 0) if repos[c.pk] else 0, _parse(c.reference_at))
        for c in cands
    ]
    out = [
        Ranked(by_pk[int(it.paper_id)], repos[int(it.paper_id)], it.stars_gained)
        for it in rank(inputs, until, params=params)
    ]
    # curators' featured papers are pinned first; a stable sort keeps the score order inside each group
    out.sort(key=lambda r: not r.candidate.featured)
    return out


def window_bounds(store, window: str, now: datetime | None = None) -> tuple[datetime, datetime, TrendingParams]:
    if window not in WINDOWS:
        raise ValueError(f"unknown window {window!r}: use one of {', '.join(WINDOWS)}")
    params = WINDOWS[window]
    until = as_of(store, now)
    return until - timedelta(hours=params.window_hours), until, params


def _entries(
    store, ranked: list[Ranked], until: datetime, first_rank: int, params: TrendingParams
) -> list[TrendingEntry]:
    papers = store.papers.get_many([r.candidate.pk for r in ranked])
    out = []
    for i, r in enumerate(ranked):
        paper = papers.get(r.candidate.pk)
        if paper is None:  # deleted meanwhile
            continue
        age_h = (until - _parse(r.candidate.reference_at)).total_seconds() / 3600.0
        score = trending_score(r.candidate.upvotes, r.stars_gained, age_h, params=params)
        out.append(
            TrendingEntry(
                first_rank + i,
                r.candidate.pk,
                paper,
                score,
                r.candidate.upvotes,
                r.stars_gained,
                r.repo,
                r.candidate.featured,
                r.candidate.reference_at,
                age_h <= NEW_HOURS,
            )
        )
    return out


class RankCache:
    """Rankings kept for ``seconds`` per (window, as-of minute, categories, store.trending.version()):
    a page view in that time reuses the ranking instead of scoring every candidate again; a vote,
    an import, a curator action or a new star count changes the version, so it shows at once
    (0 seconds turns the cache off)."""

    def __init__(self, seconds: float = CACHE_SECONDS, size: int = 64):
        self.seconds = seconds
        self.size = size
        self._data: dict[tuple, tuple[float, list[Ranked]]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple, compute) -> list[Ranked]:
        if self.seconds <= 0:
            return compute()
        now = time.monotonic()
        with self._lock:
            hit = self._data.get(key)
            if hit is not None and now - hit[0] < self.seconds:
                return hit[1]
        value = compute()
        with self._lock:
            if len(self._data) >= self.size:
                self._data.clear()
            self._data[key] = (now, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


def trending(
    store,
    window: str = "today",
    *,
    now: datetime | None = None,
    limit: int = 25,
    offset: int = 0,
    categories: list[str] | None = None,
    cache: RankCache | None = None,
) -> TrendingPage:
    """One page of a trending list. ``window``: 'today' | 'week' | 'month' (score.WINDOWS)."""
    since, until, params = window_bounds(store, window, now)
    cats = tuple(sorted(set(categories or ())))

    def compute() -> list[Ranked]:
        return rank_between(store, since, until, params, categories=list(cats))

    if cache is not None:
        ranked = cache.get((window, _iso(until)[:16], cats, store.trending.version()), compute)
    else:
        ranked = compute()
    page = ranked[offset : offset + limit]
    return TrendingPage(window, until, since, len(ranked), _entries(store, page, until, offset + 1, params))


def digest_trending(
    store, since_day: str, categories: list[str], limit: int, now: datetime | None = None
) -> list[tuple[int, Paper]]:
    """(pk, Paper) best first for a digest covering ``since_day`` .. as-of: the window is the
    digest's period, scored with the parameters of the nearest list (up to 2 days: today's,
    up to 8: the week's, longer: the month's)."""
    until = as_of(store, now)
    since = datetime.combine(date.fromisoformat(since_day), datetime.min.time(), tzinfo=UTC)
    hours = (until - since).total_seconds() / 3600.0
    if hours <= 0:
        return []
    base = WINDOWS["today"] if hours <= 48 else WINDOWS["week"] if hours <= 8 * 24 else WINDOWS["month"]
    ranked = rank_between(store, since, until, replace(base, window_hours=hours), categories=categories)[:limit]
    papers = store.papers.get_many([r.candidate.pk for r in ranked])
    return [(r.candidate.pk, papers[r.candidate.pk]) for r in ranked if r.candidate.pk in papers]
