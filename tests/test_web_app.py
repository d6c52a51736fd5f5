"""create_app: opening the store from settings and the background indexer's lifetime."""

from __future__ import annotations

import time

from conftest import make_settings
from paperwire.models import Paper, validated


def test_background_indexer_follows_new_papers_and_stops(tmp_path, web_engine, db_url):
    # web_engine: the embedding model is already loaded in this process, so this test stays fast
    from fastapi.testclient import TestClient

    from paperwire.storage import open_store
    from paperwire.web.app import create_app

    settings = make_settings(tmp_path, db_url)
    app = create_app(settings, background=True)  # opens the store from settings.database_url
    writer = open_store(settings.database_url)
    try:
        with TestClient(app) as c:
            thread = app.state.indexer_thread
            assert thread is not None and thread.is_alive()
            assert c.get("/api/health").json()["papers"] == 0
            assert "No papers yet" in c.get("/").text
            writer.papers.upsert(
                [
                    validated(
                        Paper(
                            id="local:zebra",
                            title="Zebrafish fin regeneration atlas",
                            source="test",
                            abstract="A single-cell atlas of zebrafish fin regeneration.",
                            announced="2025-01-02",
                        )
                    )
                ]
            )
            deadline = time.monotonic() + 60
            found = []
            while time.monotonic() < deadline:
                found = c.get("/api/search", params={"q": "zebrafish"}).json()["results"]
                if found:
                    break
                time.sleep(0.25)
            assert [h["id"] for h in found] == ["local:zebra"]
            assert c.get("/").status_code == 200 and "Zebrafish fin regeneration atlas" in c.get("/").text
        assert not thread.is_alive()  # stopped on shutdown
    finally:
        writer.close()


def test_no_background_thread_when_disabled(web_settings, web_store, web_engine):
    from fastapi.testclient import TestClient

    from paperwire.web.app import create_app

    engine, _ = web_engine
    app = create_app(web_settings, store=web_store, engine=engine, background=False)
    with TestClient(app) as c:
        assert app.state.indexer_thread is None
        assert c.get("/").status_code == 200
    assert app.state.store is web_store and app.state.indexer is None


def test_request_threads_are_limited_to_the_setting(tmp_path):
    """PAPERWIRE_WEB_THREADS: at most that many synchronous routes run at once in one process (more
    threads than cores thrash the GIL); measured, not assumed: the peak of concurrently running
    requests while 12 are sent at once."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import anyio.to_thread
    from fastapi.testclient import TestClient

    from paperwire.web.app import create_app

    settings = make_settings(tmp_path).with_(web_threads=3)
    app = create_app(settings, background=False)
    running, peak, lock = [0], [0], threading.Lock()

    @app.get("/_slow")
    def slow():
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.2)
        with lock:
            running[0] -= 1
        return {"ok": True}

    with TestClient(app) as c:
        assert c.portal.call(lambda: anyio.to_thread.current_default_thread_limiter().total_tokens) == 3
        with ThreadPoolExecutor(12) as pool:
            codes = list(pool.map(lambda _: c.get("/_slow").status_code, range(12)))
    assert codes == [200] * 12
    assert peak[0] == 3  # never more than the setting, and the setting is used in full
