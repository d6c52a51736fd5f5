"""What each kind of job does. Every handler is idempotent: a job retried after its worker died
(or run again by a later period) does only the work still due.

- digest: digest.run.run_digests; a (subscriber, period) already recorded is skipped, and its
  outbox row is written with its digest row, so a rerun never composes or queues twice.
- send: one pass of the mail sender over the due outbox (outbox rows have their own leases).
- index: the search indexer's sync (words, then embeddings); it resumes from the change feed.
- trending: GitHub stars of this month's trending papers (conditional requests), when configured.
- ingest: arXiv API harvest --since-last of PAPERWIRE_HARVEST_CATEGORIES (resumable windows).
- notify: paperwire.notify.flush: every due batch of notifications becomes one outbox message, in
  the transaction that marks its events sent (a rerun finds them sent).
- prune: paperwire.retention.prune: old outbox bodies, pending subscribers who never confirmed,
  expired sign-in tokens and sessions, old rate-limit events, done/failed jobs older than a week.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


class Context:
    """What handlers share within one worker process: the store, settings, and the heavy parts
    (search engine, indexer) built on first use only."""

    def __init__(self, store, settings, *, bulk: bool = True):
        self.store, self.settings = store, settings
        self.bulk = bulk  # embed on every core (a worker process); False inside a web process
        self._engine = None
        self._indexer = None

    @property
    def engine(self):
        if self._engine is None:
            from ..search.hybrid import SearchEngine

            self._engine = SearchEngine(self.store, self.settings)
        return self._engine

    @property
    def indexer(self):
        if self._indexer is None:
            from ..search.indexer import Indexer

            self._indexer = Indexer(self.store, self.settings, bulk=self.bulk)
        return self._indexer


def run_digest(ctx: Context, payload: dict) -> dict:
    from ..digest.run import run_digests

    counts = run_digests(ctx.store, ctx.settings, ctx.engine, progress=False)
    if counts["errors"]:  # the others were recorded; the retry composes only the failed ones
        raise RuntimeError(f"{counts['errors']} digests failed: {counts}")
    return counts


def run_send(ctx: Context, payload: dict) -> dict:
    from ..mail.sender import run_sender

    counts = run_sender(ctx.settings, ctx.store, once=True)
    return counts.as_dict() if counts is not None else {}


def run_index(ctx: Context, payload: dict) -> dict:
    return ctx.indexer.sync()


def run_trending(ctx: Context, payload: dict) -> dict:
    from ..trending.stars import refresh_window

    return refresh_window(ctx.store, ctx.settings, payload.get("window", "month"), progress=False)


def run_ingest(ctx: Context, payload: dict) -> dict:
    from ..sources.harvest import make_api_source
    from ..sources.runner import run_ingest as run

    categories = payload.get("categories") or [
        c for c in (ctx.settings.harvest_categories or "").replace(",", " ").split() if c
    ]
    if not categories:
        raise ValueError("no categories: set PAPERWIRE_HARVEST_CATEGORIES (e.g. 'cs.CL cs.LG')")
    source = make_api_source(ctx.settings, ctx.store, categories, since_last=True)
    report = run(ctx.store, source, progress=False, on_batch=ctx.indexer.sync_lexical)
    ctx.indexer.sync_lexical()
    return {"summary": report.summary()}


def run_prune(ctx: Context, payload: dict) -> dict:
    from ..retention import prune

    return prune(ctx.store, ctx.settings, jobs_keep_days=payload.get("keep_days"))


def run_follows(ctx: Context, payload: dict) -> dict:
    from ..follows.news import paper_news

    return paper_news(ctx.store, ctx.settings)


def run_notify(ctx: Context, payload: dict) -> dict:
    from ..notify import flush

    return {"queued": flush(ctx.store, ctx.settings)}


HANDLERS = {
    "digest": run_digest,
    "send": run_send,
    "index": run_index,
    "trending": run_trending,
    "ingest": run_ingest,
    "prune": run_prune,
    "follows": run_follows,
    "notify": run_notify,
}
