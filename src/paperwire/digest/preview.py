"""What a saved search would have sent over the last days, at each strictness: the preview beside
"Subscribe to this search", so a reader can judge an alert before subscribing.

One search over the whole window (not one per day): the same hits and match probabilities the
digest would use (paperwire.search.match), then each strictness's bar and the digest's cap of
SECTION_LIMIT papers per day.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, timedelta

from ..models import Paper
from ..search.match import STRICTNESS, Matcher, passes
from .compose import SECTION_LIMIT

PREVIEW_DAYS = 7
PREVIEW_FETCH = 100  # hits searched over the window; the bar keeps few of them
PREVIEW_SHOWN = 5  # papers listed per strictness (the count covers them all)
PREVIEW_CACHE = 256  # previews kept per search engine (a search page asked again, its feed page)

# Per engine, the previews of recent queries, keyed by the index states they came from (as the
# engine's own results cache is) and the latest listing day: new papers, a new vector snapshot or a
# curator hiding a paper make a new key, so nothing stale is shown.
_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


@dataclass
class PreviewLevel:
    strictness: str
    papers: list[Paper]  # all that would have been sent, best first

    @property
    def count(self) -> int:
        return len(self.papers)

    @property
    def shown(self) -> list[Paper]:
        return self.papers[:PREVIEW_SHOWN]


@dataclass
class AlertPreview:
    query: str
    first_day: str
    last_day: str
    levels: list[PreviewLevel]

    @property
    def counts(self) -> dict[str, int]:
        return {lv.strictness: lv.count for lv in self.levels}


def alert_preview(engine, store, query: str, *, days: int = PREVIEW_DAYS) -> AlertPreview | None:
    """The preview for ``query`` over the ``days`` listing days up to the latest one the store
    holds (the newest papers, even when harvesting paused); None when the store is empty."""
    last = store.papers.latest_day()
    if not last:
        return None
    key = (
        query,
        days,
        last,
        engine.lexical.seq(),
        getattr(engine, "_vec_key", None),
        store.community.hidden_pks(),
    )
    with _cache_lock:
        cached = _cache.setdefault(engine, OrderedDict())
        found = cached.get(key)
        if found is not None:
            cached.move_to_end(key)
            return found
    preview = _compute(engine, last, query, days)
    with _cache_lock:
        cached[key] = preview
        while len(cached) > PREVIEW_CACHE:
            cached.popitem(last=False)
    return preview


def _compute(engine, last: str, query: str, days: int) -> AlertPreview:
    end = date.fromisoformat(last[:10])
    start = end - timedelta(days=days - 1)
    first_s, last_s = start.isoformat(), end.isoformat()
    # the window goes first, as in the digest: an unclosed quote in the query cannot swallow it
    scored = Matcher(engine).search(f"date:{first_s}..{last_s} {query}", PREVIEW_FETCH)
    scored = [s for s in scored if first_s <= (s.paper.announced or "") <= last_s]
    levels = []
    for strictness in STRICTNESS:
        per_day: dict[str, int] = {}
        papers = []
        for s in scored:
            day = s.paper.announced or ""
            if passes(s.probability, strictness) and per_day.get(day, 0) < SECTION_LIMIT:
                per_day[day] = per_day.get(day, 0) + 1
                papers.append(s.paper)
        levels.append(PreviewLevel(strictness, papers))
    return AlertPreview(query, first_s, last_s, levels)


__all__ = ["AlertPreview", "PREVIEW_DAYS", "PreviewLevel", "alert_preview"]
