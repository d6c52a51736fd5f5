"""Shared test fixtures. Web fixtures live in conftest_web.py (loaded below)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["conftest_web", "pg_server"]  # pg_server: PostgreSQL fixtures (pg_store, any_store)

# /work/shared/data next to the checkout; data-dependent tests skip when it is absent
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SEED_PAPERS = SHARED_DATA / "seed-page" / "papers.jsonl"


@pytest.fixture(scope="session")
def seed_path() -> Path:
    if not SEED_PAPERS.exists():
        pytest.skip(f"seed papers not found at {SEED_PAPERS} (the shared test data is not here)")
    return SEED_PAPERS


def make_settings(root: Path):
    from paperwire.config import load_settings

    # everything explicit, so PAPERWIRE_* variables in the environment cannot leak into tests
    return load_settings(data_dir=root, database_url=f"sqlite:///{root / 'paperwire.db'}",
                         index_dir=root / "paperwire.db.index", base_url=None, embed_model=None)


def ingest_seed(store, path: Path) -> None:
    from paperwire.sources.jsonl import JsonlSource
    from paperwire.sources.runner import run_ingest

    report = run_ingest(store, JsonlSource(path), progress=False)
    assert report.inserted + report.unchanged == 64, report.summary()


@pytest.fixture
def store(tmp_path):
    """A fresh, migrated SQLite database in the test's own directory."""
    from paperwire.storage import open_store

    s = open_store(f"sqlite:///{tmp_path / 'paperwire.db'}")
    yield s
    s.close()


@pytest.fixture
def srv():
    """A scriptable local HTTP server speaking arXiv's wire formats (tests/arxiv_server.py)."""
    from arxiv_server import ArxivServer

    with ArxivServer() as s:
        yield s


@pytest.fixture(scope="session")
def demo_settings(tmp_path_factory):
    return make_settings(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="session")
def demo_store(demo_settings, seed_path):
    """A real SQLite database holding the 64 seed papers (session-wide: do not modify it)."""
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

    account = store.ensure_account(email, role)
    return account, new_session(store, account.id)


def csrf_for(client, path: str = "/") -> str:
    """Fetch a page with a TestClient (setting its CSRF cookie) and return the page's token."""
    import re

    html = client.get(path).text
    m = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert m, f"no CSRF token on {path}"
    return m.group(1)
