"""Notifications: events about one reader (a reply, a mention, ...) recorded where they happen
and mailed in batches through the outbox. kinds.py: which kinds exist; events.py: record one;
send.py: turn a reader's pending events into one message. docs/architecture.md "Notifications"."""

from .events import NotifyError, record
from .kinds import KINDS, Kind, register
from .send import flush

__all__ = ["KINDS", "Kind", "NotifyError", "flush", "record", "register"]
