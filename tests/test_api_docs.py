"""The API reference pages work offline: /docs (Swagger UI) and /redoc (ReDoc) load only vendored
files from this site, under a CSP without 'unsafe-inline' or 'unsafe-eval'. (In Chromium, with no
network outside loopback: test_browser_api_docs.py.)"""

from __future__ import annotations

import re

import pytest
from lxml import html

METHODS = {"get", "post", "put", "patch", "delete"}


def operations(openapi: dict) -> set[tuple[str, str]]:
    return {(m.upper(), path) for path, item in openapi["paths"].items() for m in item if m in METHODS}


def _csp(resp) -> dict[str, list[str]]:
    out = {}
    for part in resp.headers["content-security-policy"].split(";"):
        name, *values = part.split()
        out[name] = values
    return out


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_pages_load_only_vendored_files_under_a_strict_csp(client, path):
    r = client.get(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    doc = html.fromstring(r.content)
    urls = doc.xpath("//script/@src | //link/@href")
    assert urls and not doc.xpath("//script[not(@src)]")  # no inline script at all
    for url in urls:
        assert re.fullmatch(r"/static/[\w/.-]+\.[0-9a-f]{12}\.[a-z]+", url), url
        got = client.get(url)
        assert got.status_code == 200 and got.headers["cache-control"].endswith("immutable"), url
    csp = _csp(r)
    assert csp["script-src"] == ["'self'"] and csp["default-src"] == ["'self'"]
    everything = " ".join(v for values in csp.values() for v in values)
    assert "unsafe-inline" not in everything and "unsafe-eval" not in everything
    assert "http" not in everything  # no CDN, no other host
    if path == "/redoc":
        nonce = doc.xpath("string(//div[@id='api-docs']/@data-nonce)")
        assert f"'nonce-{nonce}'" in csp["style-src"] and len(nonce) >= 16
        assert csp["worker-src"] == ["blob:"]  # ReDoc's search worker, nothing else
        again = client.get(path)
        assert _csp(again)["style-src"] != csp["style-src"]  # a fresh nonce per page
    else:
        assert csp["style-src"] == ["'self'"] and csp["worker-src"] == ["'none'"]
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")
