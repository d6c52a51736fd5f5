"""Turning pending events into mail. A reader's pending events wait until the oldest is
PAPERWIRE_NOTIFY_BATCH_MINUTES old, then all of them go out as ONE message (0: one message per
event, at the next flush). Each message is queued in the outbox in the same transaction that
marks its events sent, under a Message-ID made from the account and its events' ids: a flush
killed at any point either queued the message and marked the events or did neither, and the
outbox sends each message once (mail/sender.py). Disabled accounts and kinds turned off after
the event was recorded are dropped, not sent."""

from __future__ import annotations

import html
import time
from datetime import UTC, datetime

from ..mail.message import build_message, make_message_id
from ..storage.outbox import insert_message
from .kinds import KINDS

SETTINGS_PATH = "/settings/notifications"
DROPPED = "dropped"  # batch_key of events that were never sent


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _site(settings) -> str:
    return (settings.base_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def compose(settings, *, to: str, handle: str | None, events: list[dict], message_id: str) -> bytes:
    """One message listing ``events`` by kind (text + HTML; every payload value escaped)."""
    site = _site(settings)
    by_kind: dict[str, list[dict]] = {}
    for e in events:
        by_kind.setdefault(e["kind"], []).append(e)
    n = len(events)
    subject = f"Paperwire: {n} new notification{'s' if n != 1 else ''}"
    greeting = f"Hello {handle}," if handle else "Hello,"
    text = [greeting, ""]
    parts = [f"<p>{html.escape(greeting)}</p>"]
    for kind, items in by_kind.items():
        heading = KINDS[kind].heading
        text += [heading, "-" * len(heading)]
        parts.append(f"<h2>{html.escape(heading)}</h2><ul>")
        for e in items:
            url = site + e["payload"]["url"]
            summary = " ".join(e["payload"]["summary"].split())
            text += [f"* {summary}", f"  {url}"]
            parts.append(f'<li><a href="{html.escape(url)}">{html.escape(summary)}</a></li>')
        text.append("")
        parts.append("</ul>")
    settings_url = site + SETTINGS_PATH
    text += ["Choose which notifications you receive:", settings_url]
    parts.append(f'<p><a href="{html.escape(settings_url)}">Choose which notifications you receive</a></p>')
    return build_message(
        settings,
        to=to,
        subject=subject,
        text="\n".join(text) + "\n",
        html="<!doctype html><html><body>" + "".join(parts) + "</body></html>",
        message_id=message_id,
    )


def flush(store, settings, *, now: float | None = None) -> int:
    """Queue the mail of every batch that is due; the number of messages queued."""
    now = time.time() if now is None else now
    window = settings.notify_batch_minutes * 60
    cutoff = _iso(now - window)
    queued = 0
    for account_id in store.notify.due_accounts(cutoff):
        with store.transaction() as c:
            events = store.notify.pending(c, account_id)
            # another flusher may have sent them meanwhile; what is left may be too new
            if not events or events[0]["created_at"] > cutoff:
                continue
            account = store.accounts.get(account_id)
            muted = store.notify.muted(account_id)
            if account is None or account.status != "active":
                store.notify.mark(c, [e["id"] for e in events], DROPPED)
                continue
            dropped = [e["id"] for e in events if e["kind"] in muted or e["kind"] not in KINDS]
            if dropped:
                store.notify.mark(c, dropped, DROPPED)
            keep = [e for e in events if e["id"] not in set(dropped)]
            batches = [[e] for e in keep] if window == 0 else ([keep] if keep else [])
            for batch in batches:
                ids = [e["id"] for e in batch]
                message_id = make_message_id(settings, "notify", f"account {account_id} events {ids[0]}-{ids[-1]}")
                message = compose(
                    settings, to=account.email, handle=account.handle, events=batch, message_id=message_id
                )
                if insert_message(c, kind="notify", recipient=account.email, message_id=message_id, message=message):
                    queued += 1
                store.notify.mark(c, ids, message_id)
    return queued
