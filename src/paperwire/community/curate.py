"""Curator actions: feature, unfeature, hide, unhide; each one is written with its audit row in
the same transaction (storage ``curate``).

A hidden paper is left out of everything readers see: the store's day listings and the search
engine (every search, similar list, feed and digest section goes through one of them) leave it
out, and ``paper_for`` answers "not found" for its page and its API record, except to curators,
who see it with a notice so they can un-hide it. See docs/community.md."""

from __future__ import annotations

from ..accounts.types import Account
from ..models import Paper
from .common import pk_of
from .types import CURATE_ACTIONS

MAX_NOTE_CHARS = 500


class CurateError(ValueError):
    """A curator request that cannot be carried out; the message says why."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def curate(store, actor: Account, paper_id: str, action: str, note: str = "") -> bool:
    """Apply ``action`` to the paper. Returns False when it changes nothing (featuring a featured
    paper). CurateError (403) for a non-curator, (400) for an unknown action or a note that is too
    long; UnknownPaper for an id not stored here."""
    if not actor.is_curator:
        raise CurateError("Only curators can do that.", status=403)
    if action not in CURATE_ACTIONS:
        raise CurateError(f"Unknown action {action[:40]!r}: use one of {', '.join(CURATE_ACTIONS)}.")
    note = " ".join((note or "").split())
    if len(note) > MAX_NOTE_CHARS:
        raise CurateError(f"The note is too long ({len(note)} characters; at most {MAX_NOTE_CHARS}).")
    return store.community.curate(actor.id, pk_of(store, paper_id), action, note)


def paper_for(store, paper_id: str, viewer: Account | None) -> Paper | None:
    """The paper ``viewer`` (None: not signed in) may open by its id: None when no paper has that
    id, or when a curator hid it and the viewer is not a curator (a reader following an old link
    learns no more than for an id that never existed)."""
    paper = store.papers.get(paper_id)
    if paper is None or (viewer is not None and viewer.is_curator):
        return paper
    pk = store.papers.pks_for([paper.id]).get(paper.id)
    return None if pk in store.community.hidden_pks() else paper
