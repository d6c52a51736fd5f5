"""The ``paperwire`` command: translate arguments into calls on the core and print the outcome."""

from __future__ import annotations

import json
import os
import sys
import threading
from datetime import date

import click

from .errors import PaperwireError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _settings(ctx: click.Context):
    return ctx.obj["settings"]


# where the database URL comes from: an error about it names both
DATABASE_URL_HINT = "'--database-url' / PAPERWIRE_DATABASE_URL"


def _open(url: str, *, migrate: bool = True, create_dir=None, hint: str = DATABASE_URL_HINT):
    from .storage import DatabaseUnreachable, DatabaseURLError, open_store

    try:
        return open_store(url, migrate=migrate, create_dir=create_dir)
    except DatabaseURLError as e:
        raise click.BadParameter(str(e), param_hint=hint) from None
    except DatabaseUnreachable as e:  # not a usage error (the server may be down): exit 1
        raise click.ClickException(f"{hint}: {e}") from None


def _store(ctx: click.Context, *, migrate: bool = True):
    """The database, opened on first use (so that `--help` works whatever the URL)."""
    if "store" not in ctx.obj:
        settings = _settings(ctx)
        ctx.obj["store"] = _open(settings.database_url, migrate=migrate, create_dir=settings.data_dir)
    return ctx.obj["store"]


class _Paperwire(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # the reader went away (`paperwire search ... | head -1`): nothing more is wanted. Point
            # stdout and stderr at /dev/null so that the flush at exit cannot complain, and end
            # with the status of a command stopped by SIGPIPE, as other Unix tools do (click's own
            # handling would exit 1, which reads as a failure)
            import signal

            devnull = os.open(os.devnull, os.O_WRONLY)
            for stream in (sys.stdout, sys.stderr):
                try:
                    os.dup2(devnull, stream.fileno())
                except (OSError, ValueError):
                    pass
            sys.exit(128 + signal.SIGPIPE)
        except PaperwireError as e:  # the one place an error meant for the user becomes an exit status
            click.echo(f"paperwire: error: {e}", err=True)
            ctx.exit(e.exit_status)


@click.group(cls=_Paperwire, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--database-url",
    help="sqlite:///path/to/file.db or postgresql://user:password@host:port/dbname (PAPERWIRE_DATABASE_URL)",
)
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
    click.option(
        "--no-embed",
        is_flag=True,
        help="Only make the papers findable by words; embeddings are computed later (by `serve` or `reindex`).",
    ),
    click.option("--batch-size", default=500, show_default=True, help="Papers per transaction."),
    click.option("--quiet", "-q", is_flag=True, help="No progress bars."),
]


def ingest_options(f):
    for option in reversed(_ingest_options):
        f = option(f)
    return f


def _import_each(
    ctx: click.Context, inputs, run_one, *, label, errors, hint: str | None, no_embed: bool, quiet: bool
) -> None:
    """Import every input with ``run_one(store, input, on_batch)`` (each batch made findable by words
    at once), report each one's summary, then embed. An input failing with one of ``errors`` is
    reported (``label(input)``, then ``hint``) and skipped, keeping what it stored; exit 1 at the end."""
    from .search.indexer import Indexer

    store = _store(ctx)
    indexer = Indexer(store, _settings(ctx), bulk=True)
    failed = False
    for item in inputs:
        try:
            report = run_one(store, item, indexer.sync_lexical)
        except errors as e:
            click.echo(f"error: {label(item)}: {e}", err=True)
            if hint:
                click.echo(hint, err=True)
            failed = True
            continue
        click.echo(report.summary())
    indexer.sync_lexical()
    if not no_embed:
        click.echo(f"indexed: {indexer.sync(progress=not quiet)}")
    if failed:
        sys.exit(1)


def _run_sources(ctx: click.Context, sources, no_embed: bool, batch_size: int, quiet: bool) -> None:
    from .sources.runner import run_ingest

    _import_each(  # a source that cannot go on: say what to do, keep what was stored
        ctx,
        sources,
        lambda store, source, on_batch: run_ingest(
            store, source, batch_size=batch_size, progress=not quiet, on_batch=on_batch
        ),
        label=lambda source: source.label,
        errors=Exception,
        hint="What was stored so far is kept; run the same command again to resume.",
        no_embed=no_embed,
        quiet=quiet,
    )


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


@ingest.command("acl")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@ingest_options
@click.pass_context
def ingest_acl(ctx, paths, no_embed, batch_size, quiet):
    """ACL Anthology volume XML files (data/xml/<collection>.xml); a directory: its *.xml files."""
    from .sources.acl import AclSource, volume_files

    files = volume_files(paths)
    if not files:
        raise click.UsageError(f"no .xml volume files in {', '.join(paths)}")
    _run_sources(ctx, [AclSource(p) for p in files], no_embed, batch_size, quiet)


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
@click.option(
    "--category", "-c", "categories", multiple=True, required=True, help="arXiv category, e.g. cs.CL (repeatable)."
)
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
    """Load the demo corpus shipped with Paperwire (64 seed papers, 3,000 arXiv listings, 1,371 Hugging Face daily papers)."""
    from .demo import load_demo
    from .search.indexer import Indexer

    store, settings = _store(ctx), _settings(ctx)
    for report in load_demo(store, progress=not quiet, settings=settings):
        click.echo(report.summary())
    indexer = Indexer(store, settings, bulk=True)
    indexer.sync_lexical()
    if not no_embed:
        click.echo(f"indexed: {indexer.sync(progress=not quiet)}")


@main.command()
@click.argument("run_id", type=click.IntRange(1, 2**63 - 1))
@click.pass_context
def errors(ctx, run_id):
    """List the records an ingest run skipped, with the reason."""
    store = _store(ctx)
    if not store.papers.has_run(run_id):
        latest = store.papers.last_run_id()
        click.echo(
            f"error: no ingest run {run_id} " + (f"(the latest is run {latest})" if latest else "(no ingest has run)"),
            err=True,
        )
        sys.exit(1)
    rows = store.papers.run_errors(run_id, limit=1_000_000)
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
    from .search.query import MAX_QUERY_CHARS

    query = " ".join(query.split())
    if not query:
        raise click.UsageError("QUERY is empty: give the words to search for")
    if len(query) > MAX_QUERY_CHARS:
        raise click.UsageError(f"QUERY is longer than {MAX_QUERY_CHARS:,} characters")
    engine = SearchEngine(_store(ctx), _settings(ctx))
    results = engine.search(query, limit=limit)
    for err in results.query.errors:
        click.echo(f"note: {err}", err=True)
    if as_json:
        for rank, hit in enumerate(results.hits, 1):
            p = hit.paper
            click.echo(
                json.dumps(
                    {
                        "rank": rank,
                        "id": p.id,
                        "title": p.title,
                        "authors": p.authors,
                        "categories": p.categories,
                        "submitted": p.submitted,
                        "announced": p.announced,
                        "score": round(hit.score, 6),
                        "abs_url": p.abs_url,
                        "code_url": p.code_url,
                    },
                    ensure_ascii=False,
                )
            )
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
@click.option(
    "--device",
    type=click.Choice(["cpu", "cuda"]),
    default=None,
    help="Where papers are embedded (default PAPERWIRE_EMBED_DEVICE, cpu); cuda needs a CUDA "
    "build of torch and a GPU, and embeds with torch.",
)
@click.option(
    "--backend",
    type=click.Choice(["auto", "torch", "onnx", "onnx-int8", "onnx-int8-128"]),
    default=None,
    help="How papers are embedded (default PAPERWIRE_EMBED_BACKEND; auto: ONNX int8 reading 128 word "
    "pieces on a CPU, 6.8x torch; torch on cuda, same vectors; docs/benchmarks.md).",
)
@click.pass_context
def reindex(ctx, device, backend):
    """Rebuild the word and vector indexes from the database (reuses stored embeddings)."""
    from .search.embed import check_device, document_backend
    from .search.indexer import Indexer

    settings = _settings(ctx)
    if device == "cuda" and (backend or settings.embed_backend) not in ("auto", "torch"):
        backend = "auto"  # the ONNX backends run on the CPU: auto is torch there, same 128-piece vectors
    settings = settings.with_(
        embed_device=device or settings.embed_device, embed_backend=backend or settings.embed_backend
    )
    try:
        check_device(settings.embed_device)
        which = document_backend(settings)
    except RuntimeError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"embedding new or changed papers with {which} on {settings.embed_device}", err=True)
    counts = Indexer(_store(ctx), settings, bulk=True).rebuild(progress=True)
    click.echo(f"reindexed: {counts}")


@main.command("config")
@click.option(
    "--markdown",
    is_flag=True,
    help="Print the table of every setting (variable, default, meaning) that the README shows instead.",
)
@click.pass_context
def config_command(ctx, markdown):
    """The settings in effect, one PAPERWIRE_* variable a line (secrets: only whether they are set)."""
    from .config import SETTINGS, markdown_table, shown_value

    if markdown:
        click.echo(markdown_table(), nl=False)
        return
    settings = _settings(ctx)
    for s in SETTINGS:
        value = getattr(settings, s.name)
        if value is None:
            click.echo(f"# {s.variable} is unset")
        elif s.secret:
            click.echo(f"# {s.variable} is set (not shown)")
        else:
            click.echo(f"{s.variable}={shown_value(s, value)}")


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
    click.echo(f"papers:     {store.papers.count():,}")
    click.echo(f"embeddings: {store.papers.count_embeddings():,}")
    click.echo(f"pending:    {pending}")
    click.echo(f"latest day: {store.papers.latest_day()}")


@main.command()
@click.option(
    "--copy-to",
    metavar="URL",
    help="Then copy every row of this SQLite database into the PostgreSQL database at URL "
    "(postgresql://user:password@host:port/dbname; migrated first, must be empty) and verify "
    "per-table row counts and checksums. Nothing is kept unless every table matches.",
)
@click.option("--force", is_flag=True, help="With --copy-to: replace whatever the target database holds.")
@click.option(
    "--batch-size",
    default=5000,
    show_default=True,
    type=click.IntRange(1, 1_000_000),
    help="Rows per read while copying.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@click.pass_context
def migrate(ctx, copy_to, force, batch_size, quiet):
    """Apply pending database migrations; with --copy-to, move a SQLite instance to PostgreSQL."""
    from .config import sqlite_file

    url = _settings(ctx).database_url
    if copy_to is not None:
        if sqlite_file(url) is None:
            raise click.UsageError(
                f"--copy-to copies from a SQLite database; the database is {url.split(':', 1)[0]}:..."
            )
        if not copy_to.startswith(("postgresql:", "postgres:")):
            raise click.UsageError("--copy-to takes a PostgreSQL URL: postgresql://user:password@host:port/dbname")
    store = _store(ctx, migrate=False)
    applied = store.migrate()
    click.echo(f"applied migrations: {applied}" if applied else "database is up to date")
    if copy_to is None:
        return
    from .storage.copy_db import CopyError, copy_sqlite_to_postgres

    target = _open(copy_to, migrate=False, hint="'--copy-to'")
    try:
        applied = target.migrate()
        click.echo(f"target: applied migrations {applied}" if applied else "target: schema is up to date")
        report = copy_sqlite_to_postgres(store, target, force=force, batch=batch_size, progress=not quiet)
    except CopyError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(1)
    finally:
        target.close()
    width = max(len(t.table) for t in report.tables)
    for t in report.tables:
        click.echo(f"{t.table:<{width}}  {t.rows:>10,} rows  md5 {t.checksum}")
    click.echo(
        f"copied and verified {report.rows:,} rows in {len(report.tables)} tables: row counts and "
        "checksums match. Point PAPERWIRE_DATABASE_URL at the PostgreSQL database to use it."
    )


# -- serve ----------------------------------------------------------------------------------
@main.command()
@click.option("--host", help="Address to listen on (default: PAPERWIRE_HOST).")
@click.option("--port", type=click.IntRange(0, 65535), help="Port to listen on (default: PAPERWIRE_PORT).")
@click.option("--demo/--no-demo", default=False, help="Load the demo corpus first when the database is empty.")
@click.option(
    "--background/--no-background",
    default=None,
    help="Compute embeddings and index in this process (default: PAPERWIRE_BACKGROUND_INDEXING, on).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="Web worker processes (default: PAPERWIRE_WEB_WORKERS). Each loads the search indexes read-only; "
    "indexing, digests and stars stay in this parent process.",
)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
@click.pass_context
def serve(ctx, host, port, demo, background, workers, log_level):
    """Run the web site, JSON API and feeds."""
    import uvicorn

    from .search.indexer import Indexer
    from .web.app import create_app

    settings = _settings(ctx)
    settings = settings.with_(host=host or settings.host, port=settings.port if port is None else port)
    host, port, workers = settings.host, settings.port, workers or settings.web_workers
    store = _store(ctx)
    if demo and store.papers.count() == 0:
        from .demo import load_demo

        click.echo("Loading the demo corpus (words first; embeddings are computed in the background)...")
        for report in load_demo(store, progress=True, settings=settings):
            click.echo(report.summary())
        Indexer(store, settings).sync_lexical()
    background = settings.background_indexing if background is None else background
    from .search.embed import prepare_onnx

    try:
        prepare_onnx(
            settings,
            announce=lambda: click.echo(
                "Building the embedding model's ONNX files (once per machine, ~15 s)...", err=True
            ),
        )
    except Exception as e:  # the site still serves, searching by words until embeddings work
        click.echo(f"warning: the embedding model is not usable ({e}); search is by words only", err=True)
    if workers > 1:
        # uvicorn spawns the workers, each building its own app (web/asgi.py) from the environment:
        # pass on what this command was given. This process keeps the one indexer (a thread).
        os.environ["PAPERWIRE_DATABASE_URL"] = settings.database_url
        os.environ.setdefault("PAPERWIRE_DATA_DIR", str(settings.data_dir))
        os.environ.setdefault("PAPERWIRE_INDEX_DIR", str(settings.index_dir))
        from .security import secret_key

        secret_key(settings)  # created here once, so that the workers never race to create it
        app = None
    else:
        app = create_app(settings, store=store, background=background)
    stop = threading.Event()
    if workers > 1 and background:
        threading.Thread(
            target=Indexer(store, settings).run_background,
            args=(stop,),
            kwargs={"interval": 2.0},
            name="paperwire-indexer",
            daemon=True,
        ).start()
    if settings.scheduler:  # the one-machine setup: this process is also a worker of the job queue
        from .jobs.worker import start_worker_thread

        # the web process indexes in the background already; the worker thread runs the rest
        start_worker_thread(
            store,
            settings,
            stop,
            ["digest", "send", "trending", "ingest", "prune"],
            engine=app.state.engine if app is not None else None,
        )
        click.echo(
            f"Jobs: worker thread on (digests, mail through {settings.smtp_host}:{settings.smtp_port}"
            + (
                f", GitHub stars every {settings.github_refresh_minutes:g} min"
                if settings.github_refresh_minutes > 0
                else ""
            )
            + "); PAPERWIRE_SCHEDULER=0 leaves them to `paperwire worker`"
        )
    click.echo(f"Paperwire on http://{host}:{port}/  (database {settings.database_url}, {workers} web worker(s))")
    try:
        if workers > 1:
            uvicorn.run(
                "paperwire.web.asgi:worker_app",
                factory=True,
                workers=workers,
                host=host,
                port=port,
                log_level=log_level,
                proxy_headers=False,
            )
        else:
            # proxy headers: only from PAPERWIRE_TRUSTED_PROXIES, handled inside the app (web/app.py)
            uvicorn.run(app, host=host, port=port, log_level=log_level, proxy_headers=False)
    finally:
        stop.set()


# == trending (paperwire import-hf, paperwire stars refresh) ==================================
@main.command("import-hf")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--no-embed", is_flag=True, help="Only make the papers findable by words; embeddings are computed later.")
@click.option("--batch-size", default=500, show_default=True, help="Items per transaction.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@click.pass_context
def import_hf_cmd(ctx, paths, no_embed, batch_size, quiet):
    """Hugging Face daily papers: papers, upvotes, day lists, GitHub repositories and stars.

    PATHS: one day's API answer (.json), JSON lines (.jsonl, .jsonl.gz) or a .tar.gz of day
    files. Idempotent: importing a file again changes nothing; local votes are kept."""
    from .trending.hf_import import import_hf

    _import_each(  # an unreadable file: say so, keep what was stored
        ctx,
        paths,
        lambda store, path, on_batch: import_hf(
            store, path, batch_size=batch_size, progress=not quiet, on_batch=on_batch
        ),
        label=str,
        errors=(OSError, ValueError),
        hint=None,
        no_embed=no_embed,
        quiet=quiet,
    )


@main.group()
def stars() -> None:
    """GitHub star counts of the papers' repositories (for "stars gained" on trending lists)."""


@stars.command("refresh")
@click.option(
    "--window",
    type=click.Choice(["today", "week", "month"]),
    default="month",
    show_default=True,
    help="Refresh the repositories of the papers on this trending list.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.pass_context
def stars_refresh(ctx, window, quiet):
    """Ask GitHub for the current star counts (conditional requests; PAPERWIRE_GITHUB_TOKEN raises
    the limit from 60 to 5,000 requests an hour) and record them."""
    from .sources.http import HarvestError
    from .trending.stars import refresh_window

    try:
        counts = refresh_window(_store(ctx), _settings(ctx), window, progress=not quiet)
    except HarvestError as e:
        done = getattr(e, "counts", None)
        click.echo(f"error: {e}" + (f" (done before stopping: {done})" if done else ""), err=True)
        sys.exit(1)
    click.echo(
        f"stars ({window}): {counts['repos']:,} repositories; {counts['updated']:,} updated, "
        f"{counts['not_modified']:,} unchanged (304), {counts['gone']:,} gone, {counts['invalid']:,} invalid, "
        f"{counts['failed']:,} failed"
    )


# == digests (paperwire digest run, paperwire worker) =========================================
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


def _warn_without_base_url(settings) -> None:
    if not settings.base_url:
        click.echo(
            f"warning: PAPERWIRE_BASE_URL is not set: links in these mails point at "
            f"http://{settings.host}:{settings.port}; set it to the site's public address",
            err=True,
        )


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

    _warn_without_base_url(_settings(ctx))
    counts = run_digests(
        _store(ctx), _settings(ctx), _digest_engine(ctx), now=_parse_now(now), dry_run=dry_run, progress=not quiet
    )
    label = "would queue" if dry_run else "queued"
    click.echo(
        f"digests: {counts['due']:,} due of {counts['subscribers']:,} subscribers; {label} {counts['queued']:,}, "
        f"nothing new {counts['empty']:,}, already recorded {counts['skipped']:,}, errors {counts['errors']:,} "
        f"({counts['searches']:,} searches, {counts['seconds']:.1f} s)",
        err=dry_run,
    )
    if counts["errors"]:
        sys.exit(1)


@main.command()
@click.option(
    "--interval", default=None, type=float, help="Seconds between digest runs (default PAPERWIRE_DIGEST_INTERVAL, 60)."
)
@click.option(
    "--role",
    default="all",
    show_default=True,
    help="The jobs this process runs: all, digests, sender, or a comma-separated list of "
    "digest,send,index,trending,ingest,prune (docs/workers.md).",
)
@click.option("--once", is_flag=True, help="Queue the due periodic jobs, run every due job, and exit.")
@click.pass_context
def worker(ctx, interval, role, once):
    """Run jobs from the shared queue (digests, the mail sender, index syncs, ...) until SIGTERM or
    Ctrl-C. Start as many as you like, on any machine that reaches the database."""
    import logging
    import signal

    from .jobs.queue import parse_kinds
    from .jobs.worker import Worker

    try:
        kinds = parse_kinds(role)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--role") from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()

    def _stop(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    store, settings = _store(ctx), _settings(ctx)
    if "digest" in kinds:
        _warn_without_base_url(settings)
    if interval is not None:
        settings = settings.with_(digest_interval=interval)
    w = Worker(store, settings, kinds)
    if once:
        w.tick()
        while w.run_one():
            pass
        click.echo(f"worker {w.name}: {w.counts}")
        return
    click.echo(
        f"Paperwire worker {w.name} ({','.join(kinds)}; digests every {settings.digest_interval:.0f} s) "
        f"(database {settings.database_url})"
    )
    w.run(stop)
    click.echo("worker stopped")


# == jobs (paperwire jobs ...) =================================================================
@main.group()
def jobs() -> None:
    """The shared job queue that `paperwire worker` processes run (docs/workers.md)."""


@jobs.command("list")
@click.option("--kind", default=None, help="Only jobs of this kind.")
@click.option("--status", type=click.Choice(["queued", "running", "done", "failed"]), default=None)
@click.option("--limit", default=20, show_default=True)
@click.pass_context
def jobs_list(ctx, kind, status, limit):
    """Jobs per status, then the newest jobs."""
    store = _store(ctx)
    counts = store.jobs.counts()
    click.echo("  ".join(f"{k} {v:,}" for k, v in counts.items()))
    for j in store.jobs.list(kind=kind, status=status, limit=limit):
        error = (j.last_error or "").splitlines()[0][:80] if j.last_error else ""
        click.echo(
            f"{j.id}\t{j.kind}\t{j.status}\tattempt {j.attempts}/{j.max_attempts}\t{j.key or '-'}\t"
            f"{j.worker or '-'}\t{j.finished_at or j.started_at or j.created_at}\t{error}"
        )


@jobs.command("add")
@click.argument("kind", type=click.Choice(["digest", "send", "index", "trending", "ingest", "prune"]))
@click.option("--key", default=None, help="Queue it only if no job has this key yet.")
@click.pass_context
def jobs_add(ctx, kind, key):
    """Queue one job now (e.g. `paperwire jobs add index` after a bulk import); a worker runs it."""
    from .jobs.queue import enqueue

    job_id = enqueue(_store(ctx), kind, key=key, max_attempts=_settings(ctx).job_max_attempts)
    click.echo(f"queued job {job_id} ({kind})" if job_id else f"a job with key {key!r} exists already; nothing queued")


@main.command()
@click.pass_context
def prune(ctx):
    """Remove what is past its time: outbox bodies older than PAPERWIRE_OUTBOX_KEEP_DAYS (the rows'
    metadata stays), pending subscribers who never confirmed, expired sign-in tokens and sessions,
    old rate-limit events and finished jobs. The daily `prune` job does the same."""
    from .retention import describe
    from .retention import prune as prune_all

    settings = _settings(ctx)
    click.echo(describe(prune_all(_store(ctx), settings), settings))


# == accounts (paperwire accounts ...) ========================================================
def _account_email(value: str) -> str:
    from .accounts import InvalidInput, account_email

    try:
        return account_email(value)
    except InvalidInput as e:
        raise click.BadParameter(e.errors.get("email", str(e)), param_hint="EMAIL") from None


@main.group()
def accounts() -> None:
    """Accounts: roles (reader, curator), disabling, listing. People sign in on /signin."""


@accounts.command("curator")
@click.argument("email")
@click.option("--remove", is_flag=True, help="Make the account a reader again.")
@click.pass_context
def accounts_curator(ctx, email, remove):
    """Make EMAIL a curator (the account is created when missing; it signs in on /signin)."""
    from .accounts.admin import set_role

    address = _account_email(email)
    change = set_role(_store(ctx), address, "reader" if remove else "curator", create=not remove)
    if change.account is None:
        click.echo(f"no account for {address}; nothing changed", err=True)
        sys.exit(1)
    if change.created:
        click.echo(f"created the account {address} as a curator")
    elif change.changed:
        click.echo(f"{address} is now a {change.account.role} (was a {change.previous})")
    else:
        click.echo(f"{address} is a {change.account.role} already; nothing changed")


@accounts.command("list")
@click.option("--role", type=click.Choice(["reader", "curator"]), default=None, help="Only accounts with this role.")
@click.pass_context
def accounts_list(ctx, role):
    """One line per account: email, role, status, created, last sign-in."""
    from .accounts.admin import list_accounts

    rows = list_accounts(_store(ctx), role)
    for a in rows:
        click.echo(
            f"{a.email}\t{a.role}\t{a.status}\tcreated {a.created_at}\tlast sign-in {a.last_signin_at or 'never'}"
        )
    click.echo(f"{len(rows):,} account{'s' if len(rows) != 1 else ''}", err=True)


@accounts.command("disable")
@click.argument("email")
@click.pass_context
def accounts_disable(ctx, email):
    """Disable EMAIL's account: it cannot sign in, and its sessions end now."""
    from .accounts.admin import disable

    address = _account_email(email)
    account, sessions = disable(_store(ctx), address)
    if account is None:
        click.echo(f"no account for {address}; nothing changed", err=True)
        sys.exit(1)
    click.echo(f"{address} is disabled; {sessions} session{'s' if sessions != 1 else ''} ended")


@accounts.command("enable")
@click.argument("email")
@click.pass_context
def accounts_enable(ctx, email):
    """Let a disabled account sign in again."""
    from .accounts.admin import enable

    address = _account_email(email)
    if enable(_store(ctx), address) is None:
        click.echo(f"no account for {address}; nothing changed", err=True)
        sys.exit(1)
    click.echo(f"{address} is active")


if __name__ == "__main__":
    main()
