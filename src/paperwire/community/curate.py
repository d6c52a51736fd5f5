"""Curator actions: feature, unfeature, hide, unhide; each one is written with its audit row in
the same transaction (storage ``curate``). Hidden papers stay reachable by their URL but are
left out of the day lists and listings."""

from __future__ import annotations

from ..storage.base_accounts import Account
from ..storage.base_community import CURATE_ACTIONS
from .common import pk_of

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
    return store.curate(actor.id, pk_of(store, paper_id), action, note)
