"""Storage interface: the digests part (see base.Store)."""

from __future__ import annotations

from typing import Protocol


class DigestStore(Protocol):
    pass
