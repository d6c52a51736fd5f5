"""What the CLI calls to harvest arXiv: a source over the window ``--since-last`` or the given dates
choose (harvest_source.choose_window), an unfinished run of another window abandoned."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from .arxiv_api import ArxivApiSource, api_source_key
from .arxiv_oai import ArxivOaiSource, oai_source_key
from .harvest_source import Window, choose_window

if TYPE_CHECKING:
    from ..config import Settings
    from ..storage import Store


def _stored(store, key: str) -> dict:
    try:
        return store.papers.source_state(key) or {}
    except Exception:
        return {}


def _window_for(store, key: str, date_from, date_to, since_last: bool, overlap_days: int, today: date | None) -> Window:
    stored = _stored(store, key)
    window = choose_window(
        stored, date_from=date_from, date_to=date_to, since_last=since_last, overlap_days=overlap_days, today=today
    )
    if stored.get("resume") and Window.from_dict(stored.get("window")) != window:
        # another window than the unfinished one: that one is abandoned (the runner must not
        # report this run as resumed); the last complete window is kept for --since-last
        store.papers.set_source_state(key, {"window": None, "resume": None, "last": stored.get("last")})
    return window


def make_api_source(
    settings: Settings,
    store: Store,
    categories: list[str] | str,
    date_from: str | date | None = None,
    date_to: str | date | None = None,
    since_last: bool = False,
    *,
    today: date | None = None,
    page_size: int = 100,
) -> ArxivApiSource:
    """An arXiv API harvest of papers submitted in a date window, in the given categories
    (e.g. ['cs.CL', 'cs.LG']), ready for ``run_ingest(store, source)``."""
    raw = [categories] if isinstance(categories, str) else list(categories)
    cats = list(dict.fromkeys(part.strip() for item in raw for part in item.split(",") if part.strip()))
    if not cats:
        raise ValueError("name at least one arXiv category, e.g. cs.CL")
    key = api_source_key(cats)
    window = _window_for(store, key, date_from, date_to, since_last, settings.harvest_overlap_days, today)
    return ArxivApiSource(settings, cats, window, store=store, today=today, page_size=page_size)


def make_oai_source(
    settings: Settings,
    store: Store,
    set_spec: str | None = None,
    date_from: str | date | None = None,
    date_to: str | date | None = None,
    since_last: bool = False,
    *,
    today: date | None = None,
) -> ArxivOaiSource:
    """An arXiv OAI-PMH harvest (metadataPrefix=arXiv) of records changed in a date window,
    optionally of one set ('cs', 'math', 'physics:hep-th'), ready for ``run_ingest``."""
    set_spec = (set_spec or "").strip() or None
    key = oai_source_key(set_spec)
    window = _window_for(store, key, date_from, date_to, since_last, settings.harvest_overlap_days, today)
    return ArxivOaiSource(settings, set_spec, window, store=store, today=today)
