"""Fixtures for the web tests: a database with the 64 seed papers plus a few hand-made ones, the
real search engine (the embedding model loads once per session), the app, a TestClient and a
real uvicorn server for the browser tests. Session-scoped, one set per database backend
(conftest.py's ``db_urls``: each backend gets its own directory, database, index and app)."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time

import pytest

from paperwire.models import Paper, utc_now, validated

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

XSS_ID = "local:xss-test"
XSS_TITLE = r"<script>alert(1)</script> & $\alpha<\beta$ attention for feedback"
ARXIV_ID = "2503.11731"
OLD_ID = "hep-th/9901001"
ARXIV_DAY = "2025-03-17"
OLD_DAY = "1999-01-05"


def extra_papers() -> list[Paper]:
    """Hand-made test records (fictitious titles and authors)."""
    return [
        Paper(
            id=XSS_ID,
            title=XSS_TITLE,
            source="test",
            abstract="An abstract with <b>bold</b> & <img src=x onerror=alert(2)> markup, about language "
            "models that learn from feedback.",
            authors=["Mallory <em>O'Hara</em>", "Eve & Co"],
            categories=["cs.CR"],
            # listed today with the seed papers, and submitted last, so first on the home page
            submitted=utc_now(),
            announced=utc_now()[:10],
        ),
        Paper(
            id=ARXIV_ID,
            version=2,
            source="test",
            title="Iterative Refinement of Program Synthesis with Execution Feedback",
            abstract="We study how large language models repair generated code using execution feedback "
            "from unit tests, iterating until the program passes.",
            authors=[
                "Ana Lima",
                "Bo Chen",
                "Carla Díaz",
                "Deepak Rao",
                "Emma Stone",
                "Femi Ade",
                "Gil Katz",
                "Hana Sato",
            ],
            categories=["cs.CL", "cs.LG"],
            primary_category="cs.CL",
            submitted="2025-03-14T17:59:00Z",
            updated="2025-03-20T09:00:00Z",
            announced=ARXIV_DAY,
            doi="10.48550/arXiv.2503.11731",
            journal_ref="Proc. Test Conf. 2025, 1-12",
            comments="12 pages, 3 figures",
            code_url="https://github.com/example/refine",
        ),
        Paper(
            id=OLD_ID,
            source="test",
            title="String Dualities in Low Dimensions",
            abstract="We discuss dualities between string theories in low dimensions.",
            authors=["A. N. Other"],
            categories=["hep-th"],
            submitted="1999-01-04T10:00:00Z",
            announced=OLD_DAY,
        ),
    ]


def start_server(app, port: int):
    """A real uvicorn server for ``app`` on 127.0.0.1:port, in a daemon thread; returns once it
    accepts connections. Stop it with ``server.should_exit = True`` and ``server.thread.join()``."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the test server did not start")
        time.sleep(0.05)
    server.thread = thread
    return server


@contextlib.contextmanager
def serving(app, port: int | None = None):
    """start_server(app) on ``port`` (a free one when not given) for the block; yields its base
    URL and stops the server when the block ends, however it ends."""
    port = port or _free_port()
    server = start_server(app, port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        server.thread.join(timeout=10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def web_settings(tmp_path_factory, db_urls):
    from conftest import make_settings

    root = tmp_path_factory.mktemp(f"web-{db_urls.backend}")
    return make_settings(root, db_urls(root / "paperwire.db"))


@pytest.fixture(scope="session")
def web_store(web_settings, seed_path):
    """Seed papers (listed today) + the extra papers above, in a real database of this session's backend."""
    from conftest import ingest_seed
    from paperwire.storage import open_store

    store = open_store(web_settings.database_url)
    ingest_seed(store, seed_path)
    store.papers.upsert([validated(p) for p in extra_papers()])
    yield store
    store.close()


@pytest.fixture(scope="session")
def web_engine(web_settings, web_store):
    """The real search engine over web_store, fully indexed (words and embeddings)."""
    try:
        from paperwire.search.hybrid import SearchEngine
        from paperwire.search.indexer import Indexer
    except ImportError as e:
        pytest.skip(f"the search layer is not importable: {e}")
    indexer = Indexer(web_store, web_settings)
    indexer.sync(progress=False)
    engine = SearchEngine(web_store, web_settings)
    engine.reload()
    return engine, indexer


@pytest.fixture(scope="session")
def web_app(web_settings, web_store, web_engine):
    from paperwire.web.app import create_app

    engine, indexer = web_engine
    return create_app(web_settings, store=web_store, engine=engine, indexer=indexer, background=False)


@pytest.fixture(scope="session")
def client(web_app):
    from fastapi.testclient import TestClient

    with TestClient(web_app) as c:
        yield c


@pytest.fixture(scope="session")
def live_server(web_app):
    """A real uvicorn server on 127.0.0.1 and a free port, in a thread; yields its base URL."""

    with serving(web_app) as base:
        yield base
