"""Follow and unfollow: what a reader may follow, checked and normalised once for every path
(the buttons' forms and the JSON API).

An author follow keeps the name as the reader wrote it (TeX decoded) and compares by
``authors.names.key``, the key author pages use, so following "Csaba Balázs" and
"csaba balazs" is one follow. A paper follow starts from the version and code link the paper has
now: only a later version or a newly found repository is news (notify.py)."""

from __future__ import annotations

from ..authors import names
from ..community.curate import paper_for
from ..models import RecordError, normalize_id
from ..subscriptions.validate import is_category
from .types import KINDS, Follow, FollowError, FollowTargetNotFound

MAX_VALUE_CHARS = names.MAX_NAME_CHARS


def normalise(store, kind: str, value, viewer=None) -> tuple[str, str, object | None]:
    """(value as stored, its key, the paper for a paper follow) or FollowError / FollowTargetNotFound."""
    if kind not in KINDS:
        raise FollowError("kind must be author, category or paper")
    if not isinstance(value, str):
        raise FollowError("value must be a string")
    value = " ".join(value.split())
    if not value:
        raise FollowError(f"value needs the {kind} to follow")
    if len(value) > MAX_VALUE_CHARS:
        raise FollowError(f"value is too long ({len(value)} characters; at most {MAX_VALUE_CHARS})")
    if kind == "author":
        shown = names.plain(value)
        key = names.key(shown)
        if not any(ch.isalpha() for ch in key):
            raise FollowError("an author's name needs letters")
        return shown, key, None
    if kind == "category":
        if not is_category(value):
            raise FollowError(f"{value[:40]!r} is not an arXiv category like cs.CL or hep-th")
        return value, value.lower(), None
    try:
        value = normalize_id(value)[0]  # 2503.00004v2 follows the paper, whatever its version
    except RecordError:
        pass  # not an id at all: "no such paper" below
    paper = paper_for(store, value, viewer)
    if paper is None:
        raise FollowTargetNotFound(f"there is no paper {value[:60]!r} here")
    return paper.id, paper.id, paper


def follow(store, account, kind: str, value, *, notify_comments: bool = False) -> tuple[Follow, bool]:
    """(the follow, True when it is new)."""
    shown, key, paper = normalise(store, kind, value, account)
    if paper is None:
        return store.follows.add(account.id, kind, shown, key)
    pk = store.papers.pks_for([paper.id])[paper.id]
    version, code = store.follows.paper_state(pk)
    return store.follows.add(
        account.id,
        kind,
        shown,
        key,
        paper_pk=pk,
        seen_version=version,
        seen_code=code,
        notify_comments=notify_comments,
    )


def following(store, account_id: int, kind: str, value) -> Follow | None:
    """The reader's follow of this thing, if any (for the pages' Follow / Unfollow buttons)."""
    try:
        _, key, _ = normalise(store, kind, value)
    except (FollowError, FollowTargetNotFound):
        return None
    return store.follows.get(account_id, kind, key)


def unfollow(store, account_id: int, follow_id: int) -> None:
    if not store.follows.delete(account_id, follow_id):
        raise FollowTargetNotFound("you have no follow with this id")


__all__ = ["follow", "following", "normalise", "unfollow"]
