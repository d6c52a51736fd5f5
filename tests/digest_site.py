"""A site for digest tests: the given paper records ingested into a real database and indexed by
words and meaning, with the settings a digest run and the mail sender need."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def digest_site(root: Path, database_url: str, records: list[dict], secret: str):
    """(store, settings, engine) over ``records``, every one of them inserted and indexed; the
    store is closed on leaving."""
    from paperwire.config import load_settings
    from paperwire.search.hybrid import SearchEngine
    from paperwire.search.indexer import Indexer
    from paperwire.sources.jsonl import JsonlSource
    from paperwire.sources.runner import run_ingest
    from paperwire.storage import open_store

    path = root / "papers.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    settings = load_settings(
        data_dir=root,
        database_url=database_url,
        index_dir=root / "index",
        base_url="https://papers.example.org",
        embed_model=None,
        secret_key=secret,
        mail_from="Paperwire <digest@papers.example.org>",
        digest_send_empty=False,
    )
    store = open_store(settings.database_url)
    assert run_ingest(store, JsonlSource(path), progress=False).inserted == len(records)
    Indexer(store, settings).sync(progress=False)
    try:
        yield store, settings, SearchEngine(store, settings)
    finally:
        store.close()


def without_subscribers(site):
    """``site`` with no subscriber, saved search, digest or queued mail left: each test starts from none."""
    with site[0].transaction() as c:
        for t in ("sent_papers", "digests", "outbox", "saved_searches", "subscribers"):
            c.execute(f"DELETE FROM {t}")
    return site
