"""What a followed paper's readers are told: a new arXiv version, or a code repository appearing
for it (from the Hugging Face import, or the paper's own link). One mail per change per reader.

Each paper follow remembers the version and code link it last told about; ``paper_news``
compares, queues the mail in the outbox and records the new state in one transaction, so a run
killed at any point sends a change once: the outbox never queues one Message-ID twice, and the
Message-ID is derived from (follow, version, code).
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from ..mail.message import build_message, make_message_id
from ..models import is_http_url

log = logging.getLogger(__name__)
OUTBOX_KIND = "follow"


def _site(settings) -> str:
    return (settings.base_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def _what(version, code, seen_version, seen_code) -> list[str]:
    out = []
    if version is not None and version != seen_version:
        try:
            newer = seen_version is None or int(version) > int(seen_version)
        except ValueError:
            newer = True
        if newer:
            out.append(f"version {version} is out")
    if code and code != seen_code and is_http_url(code):
        out.append(f"code is available: {code}")
    return out


def paper_news(store, settings) -> dict:
    """Queue one mail per changed followed paper and reader; {'changed', 'queued'}."""
    site = _site(settings)
    changed = queued = 0
    for follow_id, email, paper_id, title, version, code, seen_version, seen_code in store.follows.paper_changes():
        changed += 1
        news = _what(version, code, seen_version, seen_code)
        title = " ".join((title or paper_id).split())
        with store.transaction():
            if news:
                url = f"{site}/papers/{quote(paper_id, safe='/:')}"
                headline = news[0].split(":")[0] if len(news) == 1 else "; ".join(n.split(":")[0] for n in news)
                text = (
                    f"A paper you follow on Paperwire changed:\n\n{title}\n{url}\n\n"
                    + "".join(f"- {n}\n" for n in news)
                    + f"\nYou get this because you follow this paper. Stop following it: {site}/following\n"
                )
                msg_id = make_message_id(settings, OUTBOX_KIND, f"{follow_id}:{version}:{code}")
                message = build_message(
                    settings,
                    to=email,
                    subject=f"Paperwire: {headline} — {title[:120]}",
                    text=text,
                    message_id=msg_id,
                    headers={"Auto-Submitted": "auto-generated"},
                )
                if store.outbox.insert(kind=OUTBOX_KIND, recipient=email, message_id=msg_id, message=message):
                    queued += 1
            store.follows.mark_seen(follow_id, version, code)
    return {"changed": changed, "queued": queued}


__all__ = ["paper_news"]
