"""What a source gives the ingest runner."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from ..models import Paper


@dataclass
class Item:
    """One record read from a source: a paper, or the reason it could not be read."""

    location: str  # where in the input: 'line 12', 'record oai:arXiv.org:0704.0001'
    paper: Paper | None = None
    error: str | None = None
    # the source's state to persist once this item (and all before it) is stored;
    # None keeps the last one (a source that can only resume at page boundaries)
    state: dict | None = None
    position: int | None = None  # progress, in the source's unit (bytes, records)


class Source(Protocol):
    key: str  # names the resume state: 'jsonl:/abs/path', 'oai:cs', ...
    label: str  # for humans: 'papers.jsonl', 'arXiv OAI-PMH set cs'
    unit: str  # 'B' or 'rec'
    warnings: list[str]

    def total(self) -> int | None: ...
    def items(self, state: dict) -> Iterator[Item]: ...
    def final_state(self, state: dict) -> dict:
        """The state to keep after a complete run (e.g. the harvested window, no resume point)."""
        ...


@dataclass
class IngestReport:
    source: str
    run_id: int
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)  # (location, reason), first 1,000
    warnings: list[str] = field(default_factory=list)
    resumed_from: str | None = None
    seconds: float = 0.0

    @property
    def read(self) -> int:
        return self.inserted + self.updated + self.unchanged + self.skipped

    def counts(self) -> dict:
        return {
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "seconds": round(self.seconds, 2),
        }

    def summary(self) -> str:
        lines = [
            f"{self.source}: {self.inserted:,} new, {self.updated:,} updated, {self.unchanged:,} unchanged, "
            f"{self.skipped:,} skipped ({self.seconds:.1f} s, run {self.run_id})"
        ]
        if self.resumed_from:
            lines.insert(0, f"resumed an interrupted run at {self.resumed_from}")
        for loc, reason in self.errors[:20]:
            lines.append(f"  skipped {loc}: {reason}")
        if self.skipped > 20:
            lines.append(f"  ... {self.skipped - 20:,} more; all are listed by `paperwire errors {self.run_id}`")
        for w in self.warnings:
            lines.append(f"warning: {w}")
        return "\n".join(lines)
