"""Rendered HTML of anonymous pages, keyed by everything the page shows.

Rendering the Jinja2 templates is most of the cost of the day listing (~85%) and about half of a
search page (profiled with pyinstrument on 1M papers, docs/benchmarks.md "Web throughput"); the
database and index lookups behind a page are cheap. So the route still asks the store (and the
engine) on every request, and only the rendering is skipped when the data is the same as last
time: the key is a digest of the page's data (papers, vote counts, flags, query, page number,
URL), so a new vote, a new paper, a curator's hide or an edited abstract make a new key and the
next request renders afresh. Nothing is ever stale, no TTL is needed; old keys fall out of the
LRU (``PAPERWIRE_PAGE_CACHE`` entries per process, 0 turns the cache off).

Only pages for readers who are not signed in are cached (signed-in pages show the reader's own
votes and library and are never stored). The CSRF token differs per visitor: the page is
rendered with a random per-process placeholder, which is replaced by the visitor's token on
the way out (the placeholder cannot be guessed, so no paper text can contain it).

functools.lru_cache does not fit (the value is computed by the caller, under a key it builds);
a lock around an OrderedDict is enough here.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import OrderedDict

CSRF_PLACEHOLDER = "csrf" + secrets.token_hex(16)


def fingerprint(*parts) -> bytes:
    """A digest of the page's data (``repr`` of dataclasses, lists, dicts: deterministic)."""
    return hashlib.blake2b(repr(parts).encode("utf-8", "surrogatepass"), digest_size=20).digest()


class PageCache:
    def __init__(self, size: int = 256):
        self.size = max(0, int(size))
        self._pages: OrderedDict[tuple, str] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.size > 0

    def get(self, key: tuple) -> str | None:
        with self._lock:
            html = self._pages.get(key)
            if html is None:
                self.misses += 1
                return None
            self._pages.move_to_end(key)
            self.hits += 1
            return html

    def put(self, key: tuple, html: str) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._pages[key] = html
            self._pages.move_to_end(key)
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)

    def __len__(self) -> int:
        return len(self._pages)


__all__ = ["CSRF_PLACEHOLDER", "PageCache", "fingerprint"]
