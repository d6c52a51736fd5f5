"""`paperwire serve --workers 2`: two real web worker processes behind one port, each with its own
app (web/asgi.py) over the same database; the secret key is created once by the parent, so a CSRF
token issued by one worker is accepted by the other."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from conftest import make_settings
from conftest_web import _free_port
from paperwire.models import Paper, utc_now, validated

META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def test_two_workers_serve_the_same_site(tmp_path, db_url):
    from paperwire.storage import open_store

    settings = make_settings(tmp_path, db_url)
    store = open_store(settings.database_url)
    store.papers.upsert(
        [
            validated(
                Paper(
                    id="local:w1",
                    title="Served by two workers",
                    abstract="Both answer.",
                    source="test",
                    submitted=utc_now(),
                    announced=utc_now()[:10],
                )
            )
        ]
    )
    store.close()
    port = _free_port()
    env = dict(
        os.environ,
        PAPERWIRE_DATA_DIR=str(tmp_path),
        PAPERWIRE_DATABASE_URL=settings.database_url,
        PAPERWIRE_INDEX_DIR=str(settings.index_dir),
        PAPERWIRE_SCHEDULER="0",
    )
    env.pop("PAPERWIRE_SECRET_KEY", None)  # the key file in the data dir: created once, by the parent
    exe = Path(sys.executable).with_name("paperwire")
    proc = subprocess.Popen(
        [str(exe), "serve", "--port", str(port), "--workers", "2", "--no-background", "--log-level", "warning"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        pages = []
        while time.monotonic() < deadline and len(pages) < 20:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
                    pages.append((r.status, r.read().decode(), r.headers.get_all("Set-Cookie")))
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode()[-3000:]
                time.sleep(0.5)
        assert len(pages) == 20, "the server did not answer"
        assert all(status == 200 and "Served by two workers" in html for status, html, _ in pages)
        assert len(children(proc.pid)) >= 2  # the uvicorn supervisor's worker processes
        assert (tmp_path / "secret_key").exists()
        from paperwire.security import CSRF_COOKIE, check_csrf

        for _, html, cookies in pages:  # every worker signs with the one key
            cookie = next(c.split(";")[0].split("=", 1)[1] for c in cookies if c.startswith(CSRF_COOKIE + "="))
            assert check_csrf(settings, cookie, META.search(html).group(1))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
