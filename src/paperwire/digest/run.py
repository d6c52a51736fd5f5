"""The digest run: every due subscriber gets their digest composed, and recorded + queued in one
transaction per batch (each subscriber's digests row, sent_papers rows and outbox row always
together). A crash at any instant loses nothing and doubles nothing: the next run skips the
(subscriber, period) pairs that are recorded and composes the others; an outbox row is only ever
written with its digests row, and its Message-ID is stable per (subscriber, period).

``paperwire worker`` and ``paperwire serve`` run it as the periodic ``digest`` job of the shared job
queue (paperwire/jobs, docs/workers.md); ``start_scheduler`` / ``run_worker`` are the older
in-process loops, kept for embedding Paperwire without the queue.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from datetime import UTC, datetime

from tqdm import tqdm

from .compose import Composer, describe
from .schedule import due_period, lookback_since, parse_utc
from .types import DigestRecord

log = logging.getLogger(__name__)

INTERVAL = 60.0  # seconds between scheduler runs
READ_BATCH = 1000  # subscribers read (and their searches prepared) at a time
COMMIT_EVERY = 250  # subscribers' digests per transaction


def run_digests(
    store,
    settings,
    engine,
    now=None,
    dry_run: bool = False,
    progress: bool = True,
    *,
    out=None,
    read_batch: int = READ_BATCH,
    commit_every: int = COMMIT_EVERY,
) -> dict:
    """Compose, record and queue every digest due at ``now`` (default: the current time).

    Returns counts: subscribers (confirmed, looked at), due, queued (messages put in the outbox),
    empty (recorded without a message: nothing new), skipped (recorded meanwhile by another run),
    errors, papers, searches, seconds. ``dry_run`` writes nothing and prints what would be sent."""
    t0 = time.perf_counter()
    now = parse_utc(now) or datetime.now(UTC)
    created_at = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = out or sys.stdout
    counts = dict(subscribers=0, due=0, queued=0, empty=0, skipped=0, errors=0, papers=0, searches=0, seconds=0.0)
    composer = Composer(store, settings, engine)
    total = store.digests.count_confirmed() if progress else None
    bar = tqdm(
        total=total,
        unit="sub",
        desc="digests",
        disable=not progress,
        file=sys.stderr,
        dynamic_ncols=True,
        mininterval=0.5,
    )
    records: list[DigestRecord] = []

    def flush() -> None:
        if not records:
            return
        for r, outbox_id in zip(records, store.digests.record(records), strict=True):
            if outbox_id == -1:
                counts["skipped"] += 1
            elif outbox_id is None:
                counts["empty"] += 1
            else:
                counts["queued"] += 1
                counts["papers"] += len(r.paper_pks)
        records.clear()

    try:
        for subs in store.digests.iter_subscribers(batch=read_batch):
            counts["subscribers"] += len(subs)
            due = [(s, d) for s in subs if (d := due_period(s, now)) is not None]
            recorded = store.digests.recorded([(s.id, d.period) for s, d in due])
            due = [(s, d) for s, d in due if (s.id, d.period) not in recorded]
            if due:
                counts["due"] += len(due)
                ids = [s.id for s, _ in due]
                saved = store.digests.saved_search_alerts(ids)
                since = {s.id: lookback_since(s, d, now) for s, d in due}
                composer.prewarm([q for qs in saved.values() for q, _ in qs])
                sent = store.digests.sent_paper_pks(ids, store.digests.min_pk_since(min(since.values()).isoformat()))
                for s, d in due:
                    try:
                        digest = composer.compose(s, d, since[s.id], saved.get(s.id, []), sent.get(s.id, set()))
                    except Exception as e:  # one bad subscriber must not stop everyone's digest
                        counts["errors"] += 1
                        log.exception("digest for subscriber %s (%s) failed: %s", s.id, d.period, e)
                        continue
                    if dry_run:
                        print(describe(digest), file=out)
                        if digest.message is not None:
                            counts["queued"] += 1
                            counts["papers"] += digest.papers
                        else:
                            counts["empty"] += 1
                        continue
                    records.append(
                        DigestRecord(
                            subscriber_id=s.id,
                            period=d.period,
                            paper_pks=digest.paper_pks,
                            created_at=created_at,
                            recipient=s.email if digest.message is not None else None,
                            message_id=digest.message_id if digest.message is not None else None,
                            message=digest.message,
                        )
                    )
                    if len(records) >= commit_every:
                        flush()
            bar.update(len(subs))
        flush()
    finally:
        bar.close()
    counts["searches"] = composer.searches_run
    counts["seconds"] = round(time.perf_counter() - t0, 3)
    return counts


def _loop(store, settings, engine, stop: threading.Event, interval: float) -> None:
    while not stop.is_set():
        try:
            counts = run_digests(store, settings, engine, progress=False)
            if counts["due"]:
                log.info("digests: %s", counts)
        except Exception:
            log.exception("digest run failed; trying again in %.0f s", interval)
        # wake just after the next whole minute: send hours are whole hours
        stop.wait(max(1.0, interval - (time.time() % interval) + 0.5))


def start_scheduler(store, settings, engine, stop: threading.Event, interval: float = INTERVAL) -> threading.Thread:
    """Run the digests every ``interval`` seconds in a daemon thread until ``stop`` is set."""
    t = threading.Thread(
        target=_loop, args=(store, settings, engine, stop, interval), name="paperwire-digests", daemon=True
    )
    t.start()
    return t


def start_mail_threads(
    store, settings, engine, stop: threading.Event, interval: float = INTERVAL
) -> list[threading.Thread]:
    """The digest scheduler and the SMTP sender as daemon threads (``paperwire worker`` and,
    by default, ``paperwire serve``); both stop when ``stop`` is set."""
    threads = [start_scheduler(store, settings, engine, stop, interval)]
    try:
        from ..mail.sender import run_sender  # imported lazily: composing does not need SMTP
    except ImportError as e:
        log.warning("the mail sender is not available (%s): digests are queued, not sent", e)
        return threads
    t = threading.Thread(
        target=run_sender, args=(settings, store), kwargs={"stop": stop}, name="paperwire-sender", daemon=True
    )
    t.start()
    threads.append(t)
    return threads


def run_worker(store, settings, engine, stop: threading.Event, interval: float = INTERVAL) -> None:
    """The digest scheduler and the SMTP sender together, until ``stop`` is set."""
    threads = start_mail_threads(store, settings, engine, stop, interval)
    while not stop.is_set():
        stop.wait(1.0)
    for t in threads:
        t.join(timeout=30)
