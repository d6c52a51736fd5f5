"""The library's calls, by paper id: check the input, then make the change in one store call
(one transaction, which also bumps the account's library_version).

Tag names: 1-40 characters, letters, digits, space and ``- _ .``; runs of spaces collapse to one
and the ends are trimmed. A library holds at most MAX_TAGS_PER_ACCOUNT tags (checked inside the
write transaction by the store)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import PaperwireError
from ..models import Paper

MAX_TAGS_PER_ACCOUNT = 50

MAX_TAG_CHARS = 40
MAX_TAGS_PER_PAPER = 20
_TAG = re.compile(r"^[\w .\-]+$")  # \w: letters (any script), digits and _


class LibraryError(PaperwireError, ValueError):
    """A library change that cannot be made (too many tags, unknown paper); the message says why.
    Nothing was changed."""


@dataclass
class LibraryEntry:
    pk: int
    paper: Paper
    saved_at: str
    tags: list[str] = field(default_factory=list)


class NotFound(LookupError):
    """The paper does not exist."""


def valid_tag(raw: str) -> str:
    """The normalised tag name, or LibraryError saying what is wrong with it."""
    if not isinstance(raw, str):
        raise LibraryError("a tag must be text")
    tag = " ".join(raw.split())
    if not tag:
        raise LibraryError("a tag cannot be empty")
    if len(tag) > MAX_TAG_CHARS:
        raise LibraryError(f"tag {tag[:MAX_TAG_CHARS]!r}… is longer than {MAX_TAG_CHARS} characters")
    if not _TAG.match(tag):
        raise LibraryError(f"tag {tag!r} may only hold letters, digits, spaces and - _ .")
    return tag


def parse_tags(raw: str | list[str] | None) -> list[str]:
    """Tags from a form field ("reading group, RL") or a list: validated, duplicates dropped."""
    if raw is None:
        return []
    # a form field may end with a comma or hold ", ,": empty pieces of a string are skipped
    items = [i for i in raw.split(",") if i.strip()] if isinstance(raw, str) else list(raw)
    tags = list(dict.fromkeys(valid_tag(i) for i in items))
    if len(tags) > MAX_TAGS_PER_PAPER:
        raise LibraryError(f"a paper can be filed under at most {MAX_TAGS_PER_PAPER} tags")
    return tags


def paper_pk(store, paper_id: str) -> int:
    pk = store.papers.pks_for([paper_id]).get(paper_id) if paper_id else None
    if pk is None:
        raise NotFound(f"There is no paper {paper_id[:80]!r}." if paper_id else "No paper given.")
    return pk


def save(store, account_id: int, paper_id: str, tags=None) -> bool:
    """Save a paper (and file it under ``tags``); True when it was not saved before."""
    clean = parse_tags(tags)
    return store.library.save(account_id, paper_pk(store, paper_id), clean)


def remove(store, account_id: int, paper_id: str) -> bool:
    return store.library.remove(account_id, paper_pk(store, paper_id))


def set_tags(store, account_id: int, paper_id: str, tags) -> list[str]:
    clean = parse_tags(tags)
    store.library.set_tags(account_id, paper_pk(store, paper_id), clean)
    return clean


def feed_tag(raw: str | None) -> str:
    """The tag of a feed ('' = the merged feed), validated."""
    return "" if raw is None or not raw.strip() else valid_tag(raw)


def mark_not_relevant(store, account_id: int, paper_id: str, tag: str | None = None) -> bool:
    return store.library.mark_not_relevant(account_id, paper_pk(store, paper_id), feed_tag(tag))


__all__ = [
    "MAX_TAGS_PER_ACCOUNT",
    "MAX_TAG_CHARS",
    "LibraryError",
    "NotFound",
    "feed_tag",
    "mark_not_relevant",
    "paper_pk",
    "parse_tags",
    "remove",
    "save",
    "set_tags",
    "valid_tag",
]
