"""What every card (and the paper page) shows about a paper besides its metadata: upvotes and
whether the reader voted, saved, featured, hidden, new. One call per page, four queries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from fastapi import Request

from ..community.types import CommunityState
from ..models import Paper
from ..sources.github import InvalidRepo, parse_repo
from .session import current_account

NEW_DAYS = 2  # "New": listed at most this many days before the latest listing day (or today)


def _new_since(store) -> str:
    """The first day whose papers count as new."""
    today = datetime.now(UTC).date()
    latest = store.papers.latest_day()
    try:
        ref = min(today, date.fromisoformat(latest)) if latest else today
    except ValueError:
        ref = today
    return (ref - timedelta(days=NEW_DAYS)).isoformat()


def _repo(state: CommunityState | None, paper: Paper) -> str | None:
    """The paper's GitHub repository: the one recorded with its community data, else its code link's."""
    if state is not None and state.github_repo:
        return state.github_repo.lower()
    if paper.code_url:
        try:
            return parse_repo(paper.code_url)
        except InvalidRepo:
            return None
    return None


def card_states(request: Request, papers: list[Paper]) -> dict[str, dict]:
    """paper id -> {upvotes, voted, saved, featured, hidden, new, signed_in, stars} for the papers of a
    page; ``stars``: the GitHub star count of the paper's repository (None when unknown or gone)."""
    if not papers:
        return {}
    store = request.app.state.store
    account = current_account(request)
    pks = store.papers.pks_for([p.id for p in papers])
    keys = list(pks.values())
    states = store.community.state(keys, account.id if account else None)
    saved = store.library.saved_pks(account.id, keys) if account else set()
    repos = {p.id: _repo(states.get(pks.get(p.id)), p) for p in papers}
    stars = store.stars.latest([r for r in repos.values() if r])
    new_since = _new_since(store)
    out: dict[str, dict] = {}
    for p in papers:
        pk = pks.get(p.id)
        s = states.get(pk) or CommunityState()
        out[p.id] = {
            "upvotes": s.upvotes,
            "voted": s.voted,
            "saved": pk in saved,
            "featured": s.featured,
            "hidden": s.hidden,
            "new": bool(p.day and p.day >= new_since),
            "signed_in": account is not None,
            "stars": stars.get(repos[p.id]) if repos[p.id] else None,
        }
    return out


__all__ = ["NEW_DAYS", "card_states"]
