"""The ``paperwire`` command: translate arguments into calls on the core and print the outcome."""

from __future__ import annotations

import json
import os
import sys
import threading
from datetime import date

import click

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _settings(ctx: click.Context):
    return ctx.obj["settings"]


def _store(ctx: click.Context):
    if "store" not in ctx.obj:
        from .storage import open_store

        ctx.obj["store"] = open_store(_settings(ctx).database_url)
    return ctx.obj["store"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--database-url", envvar="PAPERWIRE_DATABASE_URL", help="sqlite:///path/to/file.db (PAPERWIRE_DATABASE_URL)")
@click.version_option(package_name="paperwire")
@click.pass_context
def main(ctx: click.Context, database_url: str | None) -> None:
    """Paperwire: gather research papers, find them by meaning, show what is new."""
    from .config import load_settings

    ctx.ensure_object(dict)
    ctx.obj["settings"] = load_settings(**({"database_url": database_url} if database_url else {}))
    ctx.call_on_close(lambda: ctx.obj.get("store") and ctx.obj["store"].close())


# -- ingest ---------------------------------------------------------------------------------
@main.group()
def ingest() -> None:
    """Add papers from a source. Returns once they are findable by words and by meaning."""


_ingest_options = [
    click.option("--no-embed", is_flag=True, help="Only make the papers findable by words; embeddings are computed later (by `serve` or `reindex`)."),
    click.option("--batch-size", default=500, show_default=True, help="Papers per transaction."),
    click.option("--quiet", "-q", is_flag=True, help="No progress bars."),
]


def ingest_options(f):
    for option in reversed(_ingest_options):
        f = option(f)
    return f


def _run_sources(ctx: click.Context, sources, no_embed: bool, batch_size: int, quiet: bool) -> None:
    from .search.indexer import Indexer
    from .sources.runner import run_ingest

    store = _store(ctx)
    indexer = Indexer(store, _settings(ctx))
    failed = False
    for source in sources:
        try:
            report = run_ingest(store, source, batch_size=batch_size, progress=not quiet, on_batch=indexer.sync_lexical)
        except Exception as e:  # a source that cannot go on: say what to do, keep what was stored
            click.echo(f"error: {source.label}: {e}", err=True)
            click.echo("What was stored so far is kept; run the same command again to resume.", err=True)
            failed = True
            continue
        click.echo(report.summary(), err=False)
    indexer.sync_lexical()
    if not no_embed:
        counts = indexer.sync(progress=not quiet)
        click.echo(f"indexed: {counts}")
    if failed:
        sys.exit(1)


@ingest.command("jsonl")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--id-prefix", default="local", show_default=True, help="Prefix for ids of lines without an arXiv id.")
@ingest_options
@click.pass_context
def ingest_jsonl(ctx, paths, id_prefix, no_embed, batch_size, quiet):
    """Plain JSON lines: title, abstract and optional fields (see README). .gz is read too."""
    from .sources.jsonl import JsonlSource

    _run_sources(ctx, [JsonlSource(p, id_prefix=id_prefix) for p in paths], no_embed, batch_size, quiet)


@ingest.command("snapshot")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@ingest_options
@click.pass_context
def ingest_snapshot(ctx, paths, no_embed, batch_size, quiet):
    """The arXiv bulk metadata snapshot (JSON lines, Kaggle format). .gz is read too."""
    from .sources.snapshot import SnapshotSource

    _run_sources(ctx, [SnapshotSource(p) for p in paths], no_embed, batch_size, quiet)


def _date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD") from None


def _harvest(ctx, make_source, what, date_from, date_until, since_last, no_embed, batch_size, quiet) -> None:
    """Build a harvesting source (bad dates or categories are usage errors) and run it."""
    try:
        source = make_source(_settings(ctx), _store(ctx), what, _date(date_from), _date(date_until), since_last)
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    _run_sources(ctx, [source], no_embed, batch_size, quiet)


@ingest.command("arxiv")
@click.option("--category", "-c", "categories", multiple=True, required=True, help="arXiv category, e.g. cs.CL (repeatable).")
@click.option("--from", "date_from", help="First submitted day, YYYY-MM-DD.")
@click.option("--until", "date_until", help="Last submitted day, YYYY-MM-DD (default today).")
@click.option("--since-last", is_flag=True, help="Continue from the last successful harvest, with overlap.")
@ingest_options
@click.pass_context
def ingest_arxiv(ctx, categories, date_from, date_until, since_last, no_embed, batch_size, quiet):
    """The arXiv API (Atom), by category and submitted-date window (3 s between requests)."""
    from .sources.harvest import make_api_source

    _harvest(ctx, make_api_source, list(categories), date_from, date_until, since_last, no_embed, batch_size, quiet)


@ingest.command("oai")
@click.option("--set", "set_spec", default=None, help="OAI set, e.g. cs or physics:hep-th (default: all).")
@click.option("--from", "date_from", help="First datestamp, YYYY-MM-DD.")
@click.option("--until", "date_until", help="Last datestamp, YYYY-MM-DD.")
@click.option("--since-last", is_flag=True, help="Continue from the last successful harvest, with overlap.")
@ingest_options
@click.pass_context
def ingest_oai(ctx, set_spec, date_from, date_until, since_last, no_embed, batch_size, quiet):
    """arXiv OAI-PMH ListRecords (metadataPrefix=arXiv)."""
    from .sources.harvest import make_oai_source

    _harvest(ctx, make_oai_source, set_spec, date_from, date_until, since_last, no_embed, batch_size, quiet)


@main.command()
@click.option("--quiet", "-q", is_flag=True)
@click.option("--no-embed", is_flag=True)
@click.pass_context
def demo(ctx, quiet, no_embed):
    """Load the demo corpus shipped with Paperwire (64 seed papers + 3,000 arXiv listings)."""
    from .demo import load_demo
    from .search.indexer import Indexer

    store, settings = _store(ctx), _settings(ctx)
    for report in load_demo(store, progress=not quiet, settings=settings):
        click.echo(report.summary())
    indexer = Indexer(store, settings)
    indexer.sync_lexical()
    if not no_embed:
        click.echo(f"indexed: {indexer.sync(progress=not quiet)}")


@main.command()
@click.argument("run_id", type=int)
@click.pass_context
def errors(ctx, run_id):
    """List the records an ingest run skipped, with the reason."""
    rows = _store(ctx).run_errors(run_id, limit=1_000_000)
    if not rows:
        click.echo(f"run {run_id} skipped no records")
    for location, reason in rows:
        click.echo(f"{location}\t{reason}")


# -- search ---------------------------------------------------------------------------------
@main.command()
@click.argument("query")
@click.option("--limit", "-n", default=10, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
def search(ctx, query, limit, as_json):
    """Search by meaning and words. Syntax: free text, "phrases", author:, cat:, after:, before:, has:code."""
    from .search.hybrid import SearchEngine

    engine = SearchEngine(_store(ctx), _settings(ctx))
    results = engine.search(query, limit=limit)
    for err in results.query.errors:
        click.echo(f"note: {err}", err=True)
    if as_json:
        for rank, hit in enumerate(results.hits, 1):
            p = hit.paper
            click.echo(json.dumps({
                "rank": rank, "id": p.id, "title": p.title, "authors": p.authors, "categories": p.categories,
                "submitted": p.submitted, "announced": p.announced, "score": round(hit.score, 6),
                "abs_url": p.abs_url, "code_url": p.code_url,
            }, ensure_ascii=False))
        return
    if not results.hits:
        click.echo("No papers match. Try fewer words, or check `paperwire status` for pending indexing.")
        return
    width = max(20, min(100, (os.get_terminal_size().columns if sys.stdout.isatty() else 100) - 32))
    click.echo(f"{'#':>3}  {'id':<18}  {'day':<10}  title")
    for rank, hit in enumerate(results.hits, 1):
        p = hit.paper
        title = p.title if len(p.title) <= width else p.title[: width - 1] + "…"
        click.echo(f"{rank:>3}  {p.id[:18]:<18}  {(p.announced or ''):<10}  {title}")
    click.echo(f"({results.mode}, {results.took_ms:.0f} ms)", err=True)


@main.command()
@click.pass_context
def reindex(ctx):
    """Rebuild the word and vector indexes from the database (reuses stored embeddings)."""
    from .search.indexer import Indexer

    counts = Indexer(_store(ctx), _settings(ctx)).rebuild(progress=True)
    click.echo(f"reindexed: {counts}")


@main.command()
@click.pass_context
def status(ctx):
    """Counts of papers, embeddings and pending index work."""
    from .search.indexer import Indexer

    store = _store(ctx)
    s = _settings(ctx)
    pending = Indexer(store, s).pending()
    click.echo(f"database:   {s.database_url}")
    click.echo(f"indexes:    {s.index_dir}")
    click.echo(f"papers:     {store.count_papers():,}")
    click.echo(f"embeddings: {store.count_embeddings():,}")
    click.echo(f"pending:    {pending}")
    click.echo(f"latest day: {store.latest_day()}")


@main.command()
@click.pass_context
def migrate(ctx):
    """Apply pending database migrations."""
    from .storage import open_store

    store = open_store(_settings(ctx).database_url, migrate=False)
    applied = store.migrate()
    click.echo(f"applied migrations: {applied}" if applied else "database is up to date")


# -- serve ----------------------------------------------------------------------------------
@main.command()
@click.option("--host", envvar="PAPERWIRE_HOST", default="127.0.0.1", show_default=True)
@click.option("--port", envvar="PAPERWIRE_PORT", default=8000, show_default=True, type=int)
@click.option("--demo/--no-demo", default=False, help="Load the demo corpus first when the database is empty.")
@click.option("--background/--no-background", default=None,
              help="Compute embeddings and index in this process (default: PAPERWIRE_BACKGROUND_INDEXING, on).")
@click.pass_context
def serve(ctx, host, port, demo, background):
    """Run the web site, JSON API and feeds."""
    import uvicorn

    from .search.indexer import Indexer
    from .web.app import create_app

    settings = _settings(ctx).with_(host=host, port=port)
    store = _store(ctx)
    if demo and store.count_papers() == 0:
        from .demo import load_demo

        click.echo("Loading the demo corpus (words first; embeddings are computed in the background)...")
        for report in load_demo(store, progress=True, settings=settings):
            click.echo(report.summary())
        Indexer(store, settings).sync_lexical()
    app = create_app(settings, store=store, background=settings.background_indexing if background is None else background)
    stop = threading.Event()
    if settings.scheduler:  # the one-machine setup: digests composed and sent by this process
        from .digest.run import start_mail_threads

        start_mail_threads(store, settings, app.state.engine, stop)
        click.echo(f"Digests: scheduler on, sending through {settings.smtp_host}:{settings.smtp_port} "
                   "(PAPERWIRE_SCHEDULER=0 to leave it to `paperwire worker`)")
    click.echo(f"Paperwire on http://{host}:{port}/  (database {settings.database_url})")
    try:
        uvicorn.run(app, host=host, port=port, log_level="info")
    finally:
        stop.set()


# == digests (paperwire digest run, paperwire worker) =========================================
# Self-contained block owned by the digests work: src/paperwire/digest/.
def _digest_engine(ctx: click.Context):
    from .search.hybrid import SearchEngine

    return SearchEngine(_store(ctx), _settings(ctx))


def _parse_now(value: str | None):
    if value is None:
        return None
    from .digest.schedule import parse_utc

    try:
        return parse_utc(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a time; use ISO 8601, e.g. 2025-03-18T07:30:00Z") from None


@main.group()
def digest() -> None:
    """Email digests of new papers for subscribers."""


@digest.command("run")
@click.option("--dry-run", is_flag=True, help="Print what would be sent (recipient, subject, sections); write nothing.")
@click.option("--now", "now", default=None, help="Pretend it is this time (ISO 8601, e.g. 2025-03-18T07:30:00Z).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.pass_context
def digest_run(ctx, dry_run, now, quiet):
    """Compose the digests that are due, and queue them in the outbox (one per subscriber and period)."""
    from .digest.run import run_digests

    counts = run_digests(_store(ctx), _settings(ctx), _digest_engine(ctx), now=_parse_now(now), dry_run=dry_run,
                         progress=not quiet)
    label = "would queue" if dry_run else "queued"
    click.echo(f"digests: {counts['due']:,} due of {counts['subscribers']:,} subscribers; {label} {counts['queued']:,}, "
               f"nothing new {counts['empty']:,}, already recorded {counts['skipped']:,}, errors {counts['errors']:,} "
               f"({counts['searches']:,} searches, {counts['seconds']:.1f} s)", err=dry_run)
    if counts["errors"]:
        sys.exit(1)


@main.command()
@click.option("--interval", default=60.0, show_default=True, help="Seconds between digest runs.")
@click.option("--role", type=click.Choice(["all", "digests", "sender"]), default="all", show_default=True,
              help="What this process does: both, or only composing digests, or only sending the outbox "
                   "(run one of each to use two cores).")
@click.pass_context
def worker(ctx, interval, role):
    """Run the digest scheduler and the mail sender until SIGTERM or Ctrl-C."""
    import logging
    import signal

    from .digest.run import run_worker, start_scheduler
    from .mail.sender import run_sender

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()

    def _stop(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    store, settings = _store(ctx), _settings(ctx)
    click.echo(f"Paperwire worker ({role}): digests every {interval:.0f} s, mail sender "
               f"(database {settings.database_url})")
    if role == "all":
        run_worker(store, settings, _digest_engine(ctx), stop, interval=interval)
    elif role == "digests":
        start_scheduler(store, settings, _digest_engine(ctx), stop, interval).join()
    else:
        run_sender(settings, store, stop=stop)
    click.echo("worker stopped")
# == end of digests ===========================================================================


if __name__ == "__main__":
    main()
