"""Recording an event: call ``record`` inside the transaction of the change the event is about
(``with store.transaction():``), so both are kept or neither is."""

from __future__ import annotations

import json

from ..errors import PaperwireError
from .kinds import KINDS

MAX_PAYLOAD_BYTES = 4096
MAX_KEY = 200


class NotifyError(PaperwireError, ValueError):
    """An event that cannot be recorded (unknown kind, bad payload); nothing was written."""


def record(store, account_id: int, kind: str, event_key: str, payload: dict) -> bool:
    """Queue a notification for ``account_id``. ``event_key`` names the event uniquely (e.g.
    'reply:comment 42'): recording it again does nothing (False). ``payload`` needs ``summary``
    (one line of plain text, shown escaped) and ``url`` (a path on this site); anything else is
    kept for the kind's own use. A kind the reader turned off is not recorded (False)."""
    if kind not in KINDS:
        raise NotifyError(f"unknown notification kind {kind!r}; known: {', '.join(sorted(KINDS))}")
    if not isinstance(event_key, str) or not 0 < len(event_key) <= MAX_KEY:
        raise NotifyError(f"an event key is 1 to {MAX_KEY} characters")
    if not isinstance(payload, dict) or not isinstance(payload.get("summary"), str) or not payload["summary"]:
        raise NotifyError("a payload is an object with a non-empty 'summary'")
    url = payload.get("url")
    if not isinstance(url, str) or not url.startswith("/") or url.startswith("//"):
        raise NotifyError("a payload's 'url' is a path on this site, starting with one '/'")
    if len(json.dumps(payload).encode()) > MAX_PAYLOAD_BYTES:
        raise NotifyError(f"a payload is at most {MAX_PAYLOAD_BYTES} bytes of JSON")
    if kind in store.notify.muted(account_id):
        return False
    return store.notify.record(account_id, kind, event_key, payload)
