"""Run a source into the store: validate, batch, commit with the resume state, report.

Each batch of papers, the bad records found among them and the source's resume state are one
transaction, so a crash (even ``kill -9``) at any instant leaves a consistent database and the next
run resumes where the last committed batch ended.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tqdm import tqdm

from ..models import Paper, RecordError, validated
from ..storage import Store
from .base import IngestReport, Source

MAX_REPORTED_ERRORS = 1000


def record_skip(report, pending: list[tuple[str, str]], location: str, reason: str) -> None:
    """Count a skipped record: into ``pending`` (stored with the next batch) and, up to
    MAX_REPORTED_ERRORS, into the report shown at the end."""
    report.skipped += 1
    pending.append((location, reason))
    if len(report.errors) < MAX_REPORTED_ERRORS:
        report.errors.append((location, reason))


@contextmanager
def recorded_run(store: Store, run_id: int, report, bar, started: float) -> Iterator[None]:
    """Around a run's loop: however it ends, close the progress bar, time the report and record
    the run as 'done', 'interrupted' (Ctrl-C) or 'failed' (any other exception, re-raised)."""
    status = "failed"
    try:
        yield
        status = "done"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        bar.close()
        report.seconds = time.monotonic() - started
        try:
            store.papers.finish_run(run_id, status, report.counts())
        except Exception:  # the database may be what failed; the original error matters more
            pass


def run_ingest(
    store: Store,
    source: Source,
    *,
    batch_size: int = 500,
    progress: bool = True,
    on_batch: Callable[[], None] | None = None,
) -> IngestReport:
    """Ingest everything ``source`` yields. ``on_batch`` runs after each committed batch
    (the CLI uses it to make new papers findable by words at once)."""
    started = time.monotonic()
    state = store.papers.source_state(source.key) or {}
    run_id = store.papers.start_run(source.key)
    report = IngestReport(source=source.label, run_id=run_id)
    if state.get("resume"):
        can_resume = getattr(source, "can_resume", None)  # a file source restarts when the file changed
        if can_resume is None or can_resume(state):
            report.resumed_from = str(state["resume"].get("where", state["resume"]))
        else:
            report.warnings.append(
                "the interrupted run's resume point does not apply to this input "
                "(it changed since): started again from the beginning"
            )

    batch: list[Paper] = []
    batch_errors: list[tuple[str, str]] = []
    locations: dict[str, str] = {}  # paper id -> location, within the batch
    last_state: dict | None = None
    bar = tqdm(
        total=source.total(),
        unit=source.unit,
        unit_scale=True,
        desc=source.label[:40],
        disable=not progress,
        dynamic_ncols=True,
        mininterval=0.5,
    )

    def skip(location: str, reason: str) -> None:
        record_skip(report, batch_errors, location, reason)

    def flush() -> None:
        nonlocal batch, batch_errors, locations
        if not batch and not batch_errors and last_state is None:
            return
        result = store.papers.upsert(
            batch,
            run_id=run_id,
            state=(source.key, last_state) if last_state is not None else None,
            errors=batch_errors,
        )
        report.inserted += result.inserted
        report.updated += result.updated
        report.unchanged += result.unchanged
        for pid in result.duplicates:
            report.skipped += 1
            reason = f"duplicate: paper {pid} appeared earlier in this input"
            store.papers.add_errors(run_id, [(locations.get(pid, "?"), reason)])
            if len(report.errors) < MAX_REPORTED_ERRORS:
                report.errors.append((locations.get(pid, "?"), reason))
        batch, batch_errors, locations = [], [], {}
        if on_batch is not None:
            on_batch()

    with recorded_run(store, run_id, report, bar, started):
        for item in source.items(state):
            if item.position is not None:
                bar.update(item.position - bar.n)
            if item.state is not None:
                last_state = item.state
            if item.error is not None or item.paper is None:
                skip(item.location, item.error or "unreadable record")
            else:
                try:
                    paper = validated(item.paper)
                except RecordError as e:
                    skip(item.location, str(e))
                else:
                    if paper.id in locations:
                        skip(
                            item.location,
                            f"duplicate: paper {paper.id} appeared earlier in this input, at {locations[paper.id]}",
                        )
                    else:
                        locations[paper.id] = item.location
                        batch.append(paper)
            if len(batch) + len(batch_errors) >= batch_size:
                flush()
            bar.set_postfix(
                papers=report.inserted + report.updated + report.unchanged + len(batch),
                skipped=report.skipped,
                refresh=False,
            )
        last_state = source.final_state(last_state if last_state is not None else state)
        flush()
        report.warnings.extend(source.warnings)
    return report
