"""Shared test fixtures. Web fixtures live in conftest_web.py (loaded below).

Database backends: every test whose fixtures reach ``db_backend`` (``store``, ``db_url``,
``db_urls``, the web fixtures ...) runs once per backend named in PAPERWIRE_TEST_BACKENDS
(default ``sqlite,postgresql``), with ids ``[sqlite]`` / ``[postgresql]``; tests that touch no
database run once. The PostgreSQL server is tests/pg_server.py's (started on first use; its
variants skip with pg_server's message when PostgreSQL is not installed). A test inherently
about SQLite is marked ``@pytest.mark.sqlite_only("why")``: its postgresql variant is skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = [
    "conftest_web",
    "conftest_browser",
    "pg_server",
]  # pg_server: PostgreSQL fixtures (pg_server, pg_url, pg_store)

BACKENDS = [b.strip() for b in os.environ.get("PAPERWIRE_TEST_BACKENDS", "sqlite,postgresql").split(",") if b.strip()]
_KNOWN_BACKENDS = ("sqlite", "postgresql")
if not BACKENDS or set(BACKENDS) - set(_KNOWN_BACKENDS):
    raise pytest.UsageError(
        f"PAPERWIRE_TEST_BACKENDS={os.environ.get('PAPERWIRE_TEST_BACKENDS')!r}: "
        f"name one or more of {', '.join(_KNOWN_BACKENDS)}, comma-separated"
    )


def pytest_generate_tests(metafunc):
    # only tests whose fixture closure reaches db_backend: pure unit tests still run once
    if "db_backend" in metafunc.fixturenames:
        metafunc.parametrize("db_backend", BACKENDS, indirect=True, scope="session", ids=BACKENDS)


def pytest_collection_modifyitems(config, items):
    for item in items:
        mark = item.get_closest_marker("sqlite_only")
        callspec = getattr(item, "callspec", None)
        if mark and callspec is not None and callspec.params.get("db_backend") == "postgresql":
            why = mark.args[0] if mark.args else mark.kwargs.get("reason", "")
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {why}"))


@pytest.fixture(scope="session")
def db_backend(request) -> str:
    """The database backend of this test variant: 'sqlite' or 'postgresql'."""
    return request.param


class DbUrls:
    """``new(path)`` -> the URL of a fresh, empty-but-migrated database for the current backend:
    ``sqlite:///{path}`` (migrated when opened), or a new PostgreSQL database copied from
    pg_server's migrated template (``path`` unused). ``drop(url)`` removes a PostgreSQL one; the
    rest are dropped when the session's backend changes or the session ends."""

    def __init__(self, backend: str, server=None):
        self.backend, self.server, self._names = backend, server, []

    def new(self, path: Path) -> str:
        if self.server is None:
            return f"sqlite:///{path}"
        name = self.server.new_database()
        self._names.append(name)
        return self.server.url(name)

    __call__ = new

    def drop(self, url: str) -> None:
        if self.server is not None:
            name = url.rsplit("/", 1)[1]
            if name in self._names:
                self._names.remove(name)
                self.server.drop_database(name)

    def drop_all(self) -> None:
        while self._names:
            self.server.drop_database(self._names.pop())


@pytest.fixture(scope="session")
def db_urls(db_backend, request):
    """Fresh database URLs for this session's backend (see DbUrls). For fixtures wider than one
    test (module/session scoped); a test's own database is ``db_url``."""
    server = request.getfixturevalue("pg_server") if db_backend == "postgresql" else None
    urls = DbUrls(db_backend, server)
    yield urls
    if server is not None:
        urls.drop_all()


@pytest.fixture
def db_url(db_urls, tmp_path):
    """This test's database URL: ``sqlite:///{tmp_path}/paperwire.db`` (the file make_settings(tmp_path)
    names), or a fresh PostgreSQL database, dropped when the test ends."""
    url = db_urls.new(tmp_path / "paperwire.db")
    yield url
    db_urls.drop(url)


@pytest.fixture
def new_db_url(db_urls):
    """A factory of further fresh database URLs (``new_db_url(path)``), dropped when the test ends."""
    made: list[str] = []

    def new(path: Path) -> str:
        made.append(db_urls.new(path))
        return made[-1]

    yield new
    for url in made:
        db_urls.drop(url)


# /work/shared/data next to the checkout; data-dependent tests skip when it is absent
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SEED_PAPERS = SHARED_DATA / "seed-page" / "papers.jsonl"


@pytest.fixture(scope="session")
def seed_path() -> Path:
    if not SEED_PAPERS.exists():
        pytest.skip(f"seed papers not found at {SEED_PAPERS} (the shared test data is not here)")
    return SEED_PAPERS


def make_settings(root: Path, database_url: str | None = None):
    """Settings for a test site in ``root``; ``database_url``: the test's database (the ``db_url``
    fixture, or one from ``db_urls``), default ``sqlite:///{root}/paperwire.db`` (for tests that
    touch no database)."""
    from paperwire.config import load_settings

    # everything explicit, so PAPERWIRE_* variables in the environment cannot leak into tests
    return load_settings(
        data_dir=root,
        database_url=database_url or f"sqlite:///{root / 'paperwire.db'}",
        index_dir=root / "paperwire.db.index",
        base_url=None,
        embed_model=None,
    )


def ingest_seed(store, path: Path) -> None:
    from paperwire.sources.jsonl import JsonlSource
    from paperwire.sources.runner import run_ingest

    report = run_ingest(store, JsonlSource(path), progress=False)
    assert report.inserted + report.unchanged == 64, report.summary()


@pytest.fixture
def store(db_url):
    """A fresh, migrated database of this variant's backend (``db_url``: for SQLite, the file in
    the test's own directory that make_settings(tmp_path) names)."""
    from paperwire.storage import open_store

    s = open_store(db_url)
    yield s
    s.close()


def table_rows(store, table: str) -> list[tuple]:
    """Every row of ``table``, in an order both backends agree on (for before/after snapshots)."""
    return sorted((tuple(r) for r in store.conn.execute(f"SELECT * FROM {table}")), key=repr)


@pytest.fixture
def srv():
    """A scriptable local HTTP server speaking arXiv's wire formats (tests/arxiv_server.py)."""
    from arxiv_server import ArxivServer

    with ArxivServer() as s:
        yield s


@pytest.fixture(scope="session")
def demo_settings(tmp_path_factory, db_urls):
    root = tmp_path_factory.mktemp("demo")
    return make_settings(root, db_urls(root / "paperwire.db"))


@pytest.fixture(scope="session")
def demo_store(demo_settings, seed_path):
    """A real database holding the 64 seed papers (session-wide: do not modify it)."""
    from paperwire.storage import open_store

    store = open_store(demo_settings.database_url)
    ingest_seed(store, seed_path)
    yield store
    store.close()


def sign_in(store, email: str = "reader@example.org", role: str | None = None) -> tuple[object, str]:
    """An account (created if missing, with ``role``) and a fresh session for it: returns
    (Account, cookie value for paperwire.web.session.SESSION_COOKIE). For tests that are not
    about the sign-in flow itself."""
    from paperwire.web.session import new_session

    account = store.accounts.ensure(email, role)
    return account, new_session(store, account.id)


def csrf_for(client, path: str = "/") -> str:
    """Fetch a page with a TestClient (setting its CSRF cookie) and return the page's token."""
    import re

    html = client.get(path).text
    m = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert m, f"no CSRF token on {path}"
    return m.group(1)


@pytest.fixture
def sub_env(tmp_path, db_url):
    """(settings, store, TestClient) over a fresh database."""
    from fastapi.testclient import TestClient

    from paperwire.storage import open_store
    from paperwire.web.app import create_app

    settings = make_settings(tmp_path, db_url)
    store = open_store(settings.database_url)
    app = create_app(settings, store=store, background=False)
    with TestClient(app) as client:
        yield settings, store, client
    store.close()
