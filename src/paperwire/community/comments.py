"""Comments on papers: who may post, replies one level deep, limits, the notifications a comment
causes (a reply to its parent's author, an @mention to each mentioned reader) and curators'
hiding. Every write is one transaction with its rate-limit events, notification events and
audit row: a refused or failed comment leaves nothing behind."""

from __future__ import annotations

import re
import time

from ..errors import PaperwireError
from ..notify import record
from .comment_text import render

MAX_BODY_BYTES = 10_000
MAX_MENTIONS = 10
MENTION_RE = re.compile(r"(?<![\w@/])@([A-Za-z0-9][A-Za-z0-9_-]{2,29})")


class CommentError(PaperwireError):
    """A comment that cannot be written; nothing changed. ``status``: the HTTP status it maps to."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def _body(raw) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise CommentError("write something first")
    if len(raw.encode("utf-8")) > MAX_BODY_BYTES:
        raise CommentError(f"a comment is at most {MAX_BODY_BYTES // 1000} kB", 413)
    return raw.strip()


def post(
    store,
    settings,
    account,
    paper_pk: int,
    paper_id: str,
    raw_body,
    parent_id: int | None = None,
    *,
    now: float | None = None,
) -> int:
    """Write a comment (a reply when ``parent_id``; a reply to a reply joins its thread) and its
    notifications; its id. The paper must already be one the account may see (the caller's
    paper lookup, community.curate.paper_for)."""
    body = _body(raw_body)
    if account.status != "active":
        raise CommentError("this account is disabled", 403)
    if not account.handle:
        raise CommentError("choose a handle first (/settings/notifications)", 403)
    parent = None
    if parent_id is not None:
        parent = store.comments.get(parent_id)
        if parent is None or parent.paper_pk != paper_pk or parent.status != "visible":
            raise CommentError("there is no such comment to reply to", 404)
        if parent.parent_id is not None:
            parent = store.comments.get(parent.parent_id)
        if parent is None or parent.status == "hidden":
            raise CommentError("there is no such comment to reply to", 404)
        if parent.locked:
            raise CommentError("this thread is locked", 403)
    now = time.time() if now is None else now
    limits = [
        (f"comment-minute:{account.id}", settings.comment_per_minute, 60.0),
        (f"comment-day:{account.id}", settings.comment_per_day, 86400.0),
    ]
    url = f"/papers/{paper_id}"
    with store.transaction():
        store.rate_limits.check(limits, now)
        cid = store.comments.insert(paper_pk, parent.id if parent else None, account.id, body)
        link = f"{url}#comment-{cid}"
        told = {account.id}
        if parent is not None and parent.account_id not in told:
            record(
                store,
                parent.account_id,
                "reply",
                f"reply:comment {cid}",
                {"summary": f"@{account.handle} replied to your comment on {paper_id}", "url": link},
            )
            told.add(parent.account_id)
        for handle in list(dict.fromkeys(MENTION_RE.findall(body)))[:MAX_MENTIONS]:
            who = store.accounts.by_handle(handle)
            if who is None or who.id in told or who.status != "active":
                continue
            record(
                store,
                who.id,
                "mention",
                f"mention:comment {cid} account {who.id}",
                {"summary": f"@{account.handle} mentioned you on {paper_id}", "url": link},
            )
            told.add(who.id)
    return cid


def _own(store, account, comment_id: int):
    c = store.comments.get(comment_id)
    if c is None or c.status != "visible" or c.account_id != account.id:
        raise CommentError("there is no such comment of yours", 404)
    return c


def edit(store, account, comment_id: int, raw_body) -> None:
    body = _body(raw_body)
    _own(store, account, comment_id)
    store.comments.set_body(comment_id, body)


def delete(store, account, comment_id: int) -> None:
    """Its text is gone; replies stay, under "deleted"."""
    _own(store, account, comment_id)
    store.comments.set_status(comment_id, "deleted")


def report(store, account, comment_id: int) -> bool:
    c = store.comments.get(comment_id)
    if c is None or c.status != "visible":
        raise CommentError("there is no such comment", 404)
    return store.comments.report(comment_id, account.id)


def moderate(store, curator, comment_id: int, action: str, note: str = "") -> None:
    """A curator's hide / unhide / lock / unlock, with its audit row, in one transaction."""
    if not curator.is_curator:
        raise CommentError("only curators can do that", 403)
    c = store.comments.get(comment_id)
    if c is None:
        raise CommentError("there is no such comment", 404)
    if action not in ("hide", "unhide", "lock", "unlock"):
        raise CommentError(f"unknown action {action!r}")
    with store.transaction():
        if action in ("hide", "unhide"):
            store.comments.set_status(comment_id, "hidden" if action == "hide" else "visible")
            store.comments.resolve_reports(comment_id)
        else:
            store.comments.set_locked(comment_id, action == "lock")
        detail = {"comment": comment_id, **({"note": note[:500]} if note else {})}
        store.community.audit(curator.id, f"comment-{action}", c.paper_pk, detail)


def comment_out(c, replies=None) -> dict:
    shown = c.status == "visible"
    return {
        "id": c.id,
        "parent": c.parent_id,
        "author": c.handle if shown else None,
        "body": c.body if shown else None,
        "body_html": render(c.body) if shown else None,
        "created": c.created_at,
        "edited": c.edited_at if shown else None,
        "deleted": c.status == "deleted",
        "locked": c.locked,
        **({"replies": replies} if replies is not None else {}),
    }


def flat(threads_: list[dict]) -> list[dict]:
    """Threads as one list, each first comment followed by its replies (the API's shape)."""
    out = []
    for t in threads_:
        out.append({k: v for k, v in t.items() if k != "replies"})
        out.extend(t["replies"])
    return out


def threads(store, paper_pk: int) -> list[dict]:
    """The paper's threads, oldest first, each with its replies. Hidden comments are left out (a
    hidden thread with its replies); a deleted one stays as "deleted" only while it has replies."""
    rows = store.comments.for_paper(paper_pk)
    replies: dict[int, list] = {}
    for c in rows:
        if c.parent_id is not None and c.status != "hidden":
            replies.setdefault(c.parent_id, []).append(c)
    out = []
    for c in rows:
        if c.parent_id is not None or c.status == "hidden":
            continue
        mine = [comment_out(r) for r in replies.get(c.id, []) if r.status == "visible"]
        if c.status == "deleted" and not mine:
            continue
        out.append(comment_out(c, mine))
    return out
