"""The papers a reader's follows bring: new papers by the authors they follow (the author pages'
rule: authors.page) and in the categories they follow, newest first. The digest's "Following"
section and the private following feed both read this."""

from __future__ import annotations

from dataclasses import dataclass

from ..authors.page import author_page
from ..models import Paper

PER_FOLLOW = 50


@dataclass
class Followed:
    paper: Paper
    reason: str  # "by Csaba Balázs", "in hep-ph"


def following_papers(store, engine, account_id: int, *, since: str | None = None, limit: int = 50) -> list[Followed]:
    """``since``: listed on or after this day (YYYY-MM-DD). Each paper once, with the first
    follow that brought it (authors before categories)."""
    found: dict[str, Followed] = {}
    rows = store.follows.list(account_id)
    for f in rows:
        if f.kind == "author":
            for p in author_page(engine, f.value, after=since).papers[:PER_FOLLOW]:
                found.setdefault(p.id, Followed(p, f"by {f.value}"))
    for f in rows:
        if f.kind == "category":
            q = (f"after:{since} " if since else "") + f"cat:{f.value}"
            for h in engine.search(q, limit=PER_FOLLOW, offset=0).hits:
                found.setdefault(h.paper.id, Followed(h.paper, f"in {f.value}"))
    out = sorted(found.values(), key=lambda x: (x.paper.day or "", x.paper.id), reverse=True)
    if since:
        out = [x for x in out if (x.paper.announced or "") >= since]
    return out[:limit]


__all__ = ["Followed", "following_papers"]
