"""The worker loop (``paperwire worker``; a thread of ``paperwire serve`` on one machine):

    repeat: queue the current periods' jobs (periodic.py) -> claim the next due job of our kinds
            -> run it while a heartbeat thread extends its lease -> record done / retry / failed

A job is held under a lease (settings.job_lease seconds) that the heartbeat renews every third of
it; a worker killed mid-job stops renewing, the lease runs out, and another worker claims the job
again (a new attempt; handlers are idempotent). A worker that finds it lost its lease (it stalled
longer than the lease) cannot record an outcome over the new owner's: the store fences
complete/fail/extend by worker and attempt.

Workers whose kinds include 'send' also run the mail sender continuously in a thread: the outbox
is a queue of its own (per-message leases, SKIP LOCKED on PostgreSQL), so N senders are safe and a
sign-in or confirmation mail goes out within a second rather than at the next period.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
import uuid

from .handlers import HANDLERS, Context
from .periodic import PeriodicEnqueuer, schedule
from .queue import KINDS, backoff

log = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    def __init__(
        self,
        store,
        settings,
        kinds: list[str] | None = None,
        *,
        name: str | None = None,
        handlers: dict | None = None,
        periodic: list | None = None,
        poll: float = 1.0,
    ):
        self.store, self.settings = store, settings
        self.kinds = list(kinds or KINDS)
        self.name = name or worker_name()
        self.handlers = handlers if handlers is not None else HANDLERS
        specs = schedule(settings) if periodic is None else periodic
        self.periodic = PeriodicEnqueuer(store, [s for s in specs if s.kind in self.kinds])
        self.poll = poll
        self.ctx = Context(store, settings)
        self.lease = float(settings.job_lease)
        self.counts = {"done": 0, "retry": 0, "failed": 0, "lost": 0}

    # -- one job --------------------------------------------------------------------------
    def run_one(self, now: float | None = None) -> bool:
        """Claim and run one due job; False when none was due."""
        job = self.store.jobs.claim(self.name, self.kinds, lease_seconds=self.lease, now=now)
        if job is None:
            return False
        handler = self.handlers.get(job.kind)
        lost = threading.Event()
        done = threading.Event()

        def heartbeat() -> None:
            while not done.wait(self.lease / 3.0):
                try:
                    if not self.store.jobs.extend(job.id, self.name, job.attempts, self.lease):
                        lost.set()
                        log.warning("job %s (%s): lease lost to another worker", job.id, job.kind)
                        return
                except Exception:  # a database hiccup: try again at the next beat
                    log.exception("job %s: heartbeat failed", job.id)

        beat = threading.Thread(target=heartbeat, name=f"paperwire-job-{job.id}", daemon=True)
        beat.start()
        log.debug("job %s (%s, attempt %s/%s) started", job.id, job.kind, job.attempts, job.max_attempts)
        try:
            if handler is None:
                raise LookupError(f"this worker has no handler for job kind {job.kind!r}")
            result = handler(self.ctx, job.payload)
        except Exception as e:
            done.set()
            beat.join()
            error = f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=5)}"
            retry_at = time.time() + backoff(self.settings, job.attempts)
            status = self.store.jobs.fail(job.id, self.name, job.attempts, error, retry_at)
            key = "lost" if status is None else ("retry" if status == "queued" else "failed")
            self.counts[key] += 1
            log.warning(
                "job %s (%s) attempt %s failed (%s): %s", job.id, job.kind, job.attempts, status or "lease lost", e
            )
            return True
        done.set()
        beat.join()
        if self.store.jobs.complete(job.id, self.name, job.attempts, result if isinstance(result, dict) else None):
            self.counts["done"] += 1
            log.info("job %s (%s) done: %s", job.id, job.kind, result)
        else:
            self.counts["lost"] += 1
            log.warning("job %s (%s) finished after its lease was taken over; outcome not recorded", job.id, job.kind)
        return True

    def tick(self, now: float | None = None) -> None:
        self.periodic.tick(time.time() if now is None else now)

    # -- the loop -------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Until ``stop`` is set: queue periodic jobs, run every due job, sleep ``poll`` seconds."""
        sender = None
        if "send" in self.kinds:
            sender = _start_sender(self.store, self.settings, stop)
        log.info("worker %s: kinds %s", self.name, ",".join(self.kinds))
        while not stop.is_set():
            try:
                self.tick()
                while not stop.is_set() and self.run_one():
                    self.tick()
            except Exception:  # the database went away for a moment: keep the worker alive
                log.exception("worker %s: loop error; retrying in %.0f s", self.name, max(self.poll, 1.0))
            stop.wait(self.poll)
        if sender is not None:
            sender.join(timeout=30)


def _start_sender(store, settings, stop: threading.Event) -> threading.Thread | None:
    try:
        from ..mail.sender import run_sender
    except ImportError as e:  # composing does not need SMTP
        log.warning("the mail sender is not available (%s): mails stay queued", e)
        return None
    t = threading.Thread(
        target=run_sender, args=(settings, store), kwargs={"stop": stop}, name="paperwire-sender", daemon=True
    )
    t.start()
    return t


def start_worker_thread(
    store, settings, stop: threading.Event, kinds: list[str] | None = None, *, engine=None
) -> threading.Thread:
    """A Worker in a daemon thread (``paperwire serve`` with PAPERWIRE_SCHEDULER=1); ``engine``:
    the web app's search engine, shared instead of loading a second one."""
    w = Worker(store, settings, kinds)
    w.ctx._engine = engine
    w.ctx.bulk = False  # a web process: its requests keep the cores
    t = threading.Thread(target=w.run, args=(stop,), name="paperwire-worker", daemon=True)
    t.start()
    return t
