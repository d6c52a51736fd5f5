"""Storage interface: the subscribers part (see base.Store)."""

from __future__ import annotations

from typing import Protocol


class SubscriberStore(Protocol):
    pass
