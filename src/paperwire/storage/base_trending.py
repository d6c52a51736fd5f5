"""Storage interface: what the trending ranking and the Hugging Face import need (see
base.Store). Owned by paperwire.trending."""

from __future__ import annotations

from typing import Protocol


class TrendingStore(Protocol):
    pass
