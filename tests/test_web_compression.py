"""Compression and static caching: gzip for HTML, JSON, Atom, CSS and JS when the client asks, and
static files under fingerprinted names that may be cached for a year."""

from __future__ import annotations

import gzip
import hashlib
import re

import httpx
from fastapi.testclient import TestClient

from paperwire.web.static_assets import STATIC_DIR, manifest

IDENTITY = {"Accept-Encoding": "identity"}
GZIP = {"Accept-Encoding": "gzip"}
_CSRF = re.compile(rb'(name="csrf" value="|name="csrf-token" content=")[^"]+"')
_TOOK = re.compile(rb'"took_ms":[0-9.]+')


def _static_links(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', html)


def _same_page(a: bytes, b: bytes) -> bool:
    """Two renderings of one page are the same but for the visitor's CSRF token (and the time a
    search took)."""

    def clean(body: bytes) -> bytes:
        return _TOOK.sub(b"", _CSRF.sub(rb"\1\"", body))

    return clean(a) == clean(b)


def test_every_page_links_fingerprinted_assets_cached_for_a_year(client):
    for path in ("/", "/search?q=feedback", "/trending", "/signin"):
        links = _static_links(client.get(path).text)
        assert links, path
        for url in links:
            assert re.fullmatch(r"/static/[\w/.-]+\.[0-9a-f]{12}\.[a-z]+", url), (path, url)
            r = client.get(url)
            assert r.status_code == 200, url
            assert r.headers["cache-control"] == "public, max-age=31536000, immutable", url
            # the digest in the name is the file's own: a changed file gets a new URL
            real = re.sub(r"\.[0-9a-f]{12}(\.[a-z]+)$", r"\1", url[len("/static/") :])
            data = (STATIC_DIR / real).read_bytes()
            assert r.content == data
            assert hashlib.sha256(data).hexdigest()[:12] in url


def test_unfingerprinted_and_stale_names_are_revalidated(client):
    plain = client.get("/static/style.css")
    assert plain.status_code == 200 and plain.headers["cache-control"] == "no-cache"
    current = manifest()["style.css"]
    stale = "0" * 12 if current != "0" * 12 else "1" * 12
    old = client.get(f"/static/style.{stale}.css")  # a page rendered before a deploy
    assert old.status_code == 200 and old.headers["cache-control"] == "no-cache"
    assert old.content == plain.content == (STATIC_DIR / "style.css").read_bytes()
    assert client.get(f"/static/nothing.{current}.css").status_code == 404
    assert client.get("/static/../app.py").status_code == 404


def test_gzip_when_asked_for_html_json_atom_css_js(client):
    links = _static_links(client.get("/").text)
    css = next(u for u in links if u.endswith(".css"))
    js = max((u for u in links if u.endswith(".js")), key=lambda u: len(client.get(u).content))
    for path, kind in (
        ("/", "text/html"),
        ("/search?q=feedback", "text/html"),
        ("/api/search?q=feedback", "application/json"),
        ("/openapi.json", "application/json"),
        ("/feeds/day.atom", "application/atom+xml"),
        (css, "text/css"),
        (js, "text/javascript"),
    ):
        plain = client.get(path, headers=IDENTITY)
        # read as sent: httpx would inflate .content, and a large static file is streamed in
        # chunks, so it goes out without a Content-Length to compare instead
        with client.stream("GET", path, headers=GZIP) as packed:
            wire = b"".join(packed.iter_raw())
        assert plain.status_code == packed.status_code == 200, path
        assert packed.headers["content-type"].startswith(kind), (path, packed.headers["content-type"])
        assert "content-encoding" not in plain.headers, path
        assert packed.headers["content-encoding"] == "gzip", path
        assert "accept-encoding" in packed.headers["vary"].lower(), path
        assert len(wire) < len(plain.content) / 2, path
        assert _same_page(gzip.decompress(wire), plain.content), path


def test_small_answers_stay_plain(client):
    r = client.get("/api/health", headers=GZIP)
    assert r.status_code == 200 and len(r.content) < 500
    assert "content-encoding" not in r.headers


def test_page_cache_serves_compressed_pages_with_each_visitors_token(web_app, client):
    cache = web_app.state.page_cache
    client.get("/", headers=GZIP)
    hits = cache.hits
    first = client.get("/", headers=GZIP)
    second = TestClient(web_app).get("/", headers=GZIP)  # another visitor: no CSRF cookie yet
    assert cache.hits >= hits + 2  # both came from the cache ...
    assert first.headers["content-encoding"] == second.headers["content-encoding"] == "gzip"
    tokens = [re.search(rb'name="csrf-token" content="([^"]+)"', r.content).group(1) for r in (first, second)]
    assert tokens[0] != tokens[1]  # ... each with its own visitor's CSRF token
    assert _same_page(first.content, second.content)


def test_real_server_sends_gzip_bytes(live_server):
    """Through uvicorn: the raw bytes on the wire are a gzip stream of the page."""
    with httpx.stream("GET", live_server + "/feeds/day.atom", headers=GZIP) as r:
        raw = b"".join(r.iter_raw())
        assert r.headers["content-encoding"] == "gzip"
    with httpx.stream("GET", live_server + "/feeds/day.atom", headers=IDENTITY) as r:
        plain = b"".join(r.iter_raw())
        assert "content-encoding" not in r.headers
    assert raw[:2] == b"\x1f\x8b" and gzip.decompress(raw) == plain
    assert len(raw) < len(plain) / 2
