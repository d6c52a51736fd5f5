"""Import Hugging Face daily papers: papers, upvotes, day lists, code links and star counts.

Reads any shape sources.hf_daily understands and stores it in batches; each batch (its papers,
their community rows, star points and bad items) is one transaction (``apply_hf_import``).
Idempotent: imported upvotes are SET, not added, and day lists are only filled when empty, so
importing the same file twice changes nothing; local votes are never touched.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from ..models import STATUS_OK, utc_now
from ..sources.base import IngestReport
from ..sources.hf_daily import read_hf
from ..sources.runner import record_skip, recorded_run
from ..storage import Store
from .records import HF_SOURCE, HFImportResult, HFImportRow


def apply_hf_import(
    store: Store, rows: list[HFImportRow], *, run_id: int | None = None, errors: list[tuple[str, str]] | None = None
) -> HFImportResult:
    """Store one batch of imported items in ONE transaction: the papers (through the normal
    upsert; a paper another source stored is left as it is: arXiv's has categories and
    versions), their community rows (store.trending.put_imported), a star point per repository
    at ``listed_at`` with the snapshot count, an audit row, and the batch's bad items."""
    result = HFImportResult(duplicates=[])
    now = utc_now()
    ids = [r.paper.id for r in rows]
    with store.transaction():
        sources = store.trending.sources(ids)
        mine = [r.paper for r in rows if sources.get(r.paper.id, HF_SOURCE) == HF_SOURCE]
        up = store.papers.upsert(mine, run_id=run_id)
        result.inserted, result.updated = up.inserted, up.updated
        result.unchanged = up.unchanged + (len(rows) - len(mine))
        result.duplicates = list(up.duplicates)
        dup = set(up.duplicates)
        pks = store.papers.pks_for(ids)
        listed = store.trending.listed_days(list(pks.values()))
        for r in rows:
            if r.paper.id in dup or r.paper.id not in pks:
                continue
            pk = pks[r.paper.id]
            if listed.get(pk) is None:
                result.listed += 1
                listed[pk] = r.listed_day
            store.trending.put_imported(pk, r.listed_day, r.listed_at, r.upvotes, r.github_repo, now)
            if r.github_repo and r.github_stars is not None:
                store.stars.record(r.github_repo, int(r.github_stars), None, r.listed_at, STATUS_OK)
                result.star_points += 1
        if rows:
            store.trending.log_import(
                {
                    "source": HF_SOURCE,
                    "items": len(rows),
                    "run_id": run_id,
                    "inserted": result.inserted,
                    "listed": result.listed,
                },
                now,
            )
        if errors and run_id is not None:
            store.papers.add_errors(run_id, errors)
    return result


@dataclass
class HFImportReport(IngestReport):
    listed: int = 0  # papers put on a day list
    star_points: int = 0  # star counts recorded (one per item with a repository and a count)
    items: int = 0

    def counts(self) -> dict:
        return {**super().counts(), "listed": self.listed, "star_points": self.star_points, "items": self.items}

    def summary(self) -> str:
        lines = [
            f"{self.source}: {self.items:,} items: papers {self.inserted:,} new, {self.updated:,} updated, "
            f"{self.unchanged:,} unchanged; {self.skipped:,} items skipped; {self.listed:,} papers put on a "
            f"day list; {self.star_points:,} star counts recorded ({self.seconds:.1f} s, run {self.run_id})"
        ]
        for loc, reason in self.errors[:20]:
            lines.append(f"  skipped {loc}: {reason}")
        if self.skipped > 20:
            lines.append(f"  ... {self.skipped - 20:,} more; all are listed by `paperwire errors {self.run_id}`")
        return "\n".join(lines)


def import_hf(
    store: Store,
    path: str | Path,
    *,
    batch_size: int = 500,
    progress: bool = True,
    on_batch: Callable[[], None] | None = None,
) -> HFImportReport:
    """Import one file (day file .json, .jsonl[.gz] or .tar.gz of day files)."""
    path = Path(path)
    started = time.monotonic()
    run_id = store.papers.start_run(f"hf-daily:{path.resolve()}")
    report = HFImportReport(source=path.name, run_id=run_id)
    rows: list[HFImportRow] = []
    errors: list[tuple[str, str]] = []
    seen: dict[str, str] = {}  # paper id -> location, for the whole run
    bar = tqdm(
        total=path.stat().st_size,
        unit="B",
        unit_scale=True,
        desc=path.name[:40],
        disable=not progress,
        dynamic_ncols=True,
        mininterval=0.5,
    )

    def skip(location: str, reason: str) -> None:
        record_skip(report, errors, location, reason)

    def flush() -> None:
        nonlocal rows, errors
        if not rows and not errors:
            return
        result = apply_hf_import(store, rows, run_id=run_id, errors=errors)
        report.inserted += result.inserted
        report.updated += result.updated
        report.unchanged += result.unchanged
        report.listed += result.listed
        report.star_points += result.star_points
        rows, errors = [], []
        if on_batch is not None:
            on_batch()

    with recorded_run(store, run_id, report, bar, started):
        for item in read_hf(path):
            report.items += 1
            if item.position is not None:
                bar.update(item.position - bar.n)
            if item.record is None:
                skip(item.location, item.error or "unreadable item")
            else:
                rec = item.record
                if rec.paper.id in seen:
                    skip(
                        item.location,
                        f"duplicate: paper {rec.paper.id} appeared earlier in this input, at {seen[rec.paper.id]}",
                    )
                else:
                    seen[rec.paper.id] = item.location
                    rows.append(
                        HFImportRow(
                            rec.paper, rec.listed_day, rec.listed_at, rec.upvotes, rec.github_repo, rec.github_stars
                        )
                    )
            if len(rows) + len(errors) >= batch_size:
                flush()
            bar.set_postfix(items=report.items, skipped=report.skipped, refresh=False)
        flush()
    return report
