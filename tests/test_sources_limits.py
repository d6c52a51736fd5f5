"""Hostile answers to the harvest clients (sources/http.py), from a local server: compressed bodies
are counted after decompression and stopped at the limit (a ~1 MB gzip that expands to 1 GiB
leaves the real `paperwire ingest arxiv` under 300 MiB RSS), and an entity bomb in UTF-16 is
refused like the UTF-8 one: fetched once, never retried."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from arxiv_server import FIXTURES, Reply, make_settings
from paperwire.sources.http import HttpError, PoliteClient, ResponseTooLarge, UnsafeContent

MiB = 1 << 20
ATOM_HEAD = b'<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'


def gzip_of(prefix: bytes, expanded: int, filler: bytes = b" ") -> bytes:
    """``prefix`` and then ``expanded`` bytes of ``filler``, gzipped a MiB at a time (never whole)."""
    c = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [c.compress(prefix)]
    block = filler * (MiB // len(filler))
    for _ in range(expanded // MiB):
        parts.append(c.compress(block))
    parts.append(c.flush())
    return b"".join(parts)


@pytest.fixture(scope="module")
def gib_bomb() -> bytes:
    return gzip_of(ATOM_HEAD, 1 << 30)


def test_a_gzipped_answer_is_decoded(srv, tmp_path):
    body = ATOM_HEAD + b"<title>fine</title>" * 5000 + b"</feed>"
    srv.route("/x", lambda req: Reply(200, gzip_of(body, 0), headers={"Content-Encoding": "gzip"}))
    with PoliteClient(make_settings(tmp_path, srv)) as client:
        response = client.get(srv.url("/x"))
    assert response.content == body and response.text.endswith("</feed>")
    assert "content-encoding" not in response.headers
    assert srv.requests("/x")[0].headers["Accept-Encoding"] == "gzip"


def test_a_gzip_that_expands_past_the_limit_is_refused_once(srv, tmp_path):
    bomb = gzip_of(ATOM_HEAD, 64 * MiB)
    assert len(bomb) < 100_000
    srv.route("/x", lambda req: Reply(200, bomb, headers={"Content-Encoding": "gzip"}))
    with (
        PoliteClient(make_settings(tmp_path, srv), max_body=4 * MiB) as client,
        pytest.raises(ResponseTooLarge, match=r"larger than 4 MiB \(decompressed\); refused"),
    ):
        client.get(srv.url("/x"))
    assert len(srv.requests("/x")) == 1  # refused, not fetched again


def test_a_plain_body_over_the_limit_is_refused_by_its_content_length(srv, tmp_path):
    srv.route("/x", lambda req: Reply(200, b"x" * (2 * MiB)))
    with PoliteClient(make_settings(tmp_path, srv), max_body=MiB) as client, pytest.raises(ResponseTooLarge):
        client.get(srv.url("/x"))
    with PoliteClient(make_settings(tmp_path, srv), max_body=2 * MiB) as client:  # at the limit: fine
        assert len(client.get(srv.url("/x")).content) == 2 * MiB


def test_a_broken_gzip_is_retried_like_a_broken_page(srv, tmp_path):
    good = ATOM_HEAD + b"</feed>"
    srv.queue(
        "/x",
        Reply(200, b"\x1f\x8b\x08\x00garbage-not-deflate", headers={"Content-Encoding": "gzip"}),
        Reply(200, gzip_of(good, 0), headers={"Content-Encoding": "gzip"}),
    )
    with PoliteClient(make_settings(tmp_path, srv)) as client:
        assert client.get(srv.url("/x")).content == good
    assert len(srv.requests("/x")) == 2


def test_an_encoding_we_did_not_ask_for_is_refused(srv, tmp_path):
    srv.route("/x", lambda req: Reply(200, b"\x00" * 100, headers={"Content-Encoding": "br"}))
    with (
        PoliteClient(make_settings(tmp_path, srv)) as client,
        pytest.raises(HttpError, match="unsupported Content-Encoding"),
    ):
        client.get(srv.url("/x"))
    assert len(srv.requests("/x")) == 1


def test_an_error_answer_keeps_only_the_start_of_a_bomb(srv, tmp_path):
    srv.route("/x", lambda req: Reply(404, gzip_of(b"not here", 64 * MiB), headers={"Content-Encoding": "gzip"}))
    with PoliteClient(make_settings(tmp_path, srv)) as client, pytest.raises(HttpError) as err:
        client.get(srv.url("/x"))
    assert err.value.status == 404 and len(err.value.body) == 65536 and err.value.body.startswith(b"not here")


# a parent that reports its one child's peak RSS (getrusage of the children it waited for)
PEAK_OF_CHILD = (
    "import json, resource, subprocess, sys\n"
    "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "print(json.dumps({'rc': p.returncode, 'out': p.stdout[-3000:], 'err': p.stderr[-3000:],\n"
    "                  'peak_kib': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))\n"
)


def ingest_arxiv(tmp_path: Path, db_url: str, api_url: str) -> dict:
    env = dict(
        os.environ,
        PAPERWIRE_DATABASE_URL=db_url,
        PAPERWIRE_DATA_DIR=str(tmp_path),
        PAPERWIRE_ARXIV_API_URL=api_url,
        PAPERWIRE_HTTP_DELAY="0.01",
        PAPERWIRE_HTTP_RETRIES="2",
    )
    env.pop("PAPERWIRE_INDEX_DIR", None)
    argv = [
        sys.executable,
        "-c",
        PEAK_OF_CHILD,
        sys.executable,
        "-m",
        "paperwire.cli",
        "ingest",
        "arxiv",
        "-c",
        "cs.CL",
        "--from",
        "2025-01-06",
        "--until",
        "2025-01-06",
        "--no-embed",
        "-q",
    ]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_the_arxiv_ingest_refuses_a_1_gib_gzip_bomb_under_300_mib(srv, tmp_path, db_url, gib_bomb):
    assert len(gib_bomb) < 1_200_000  # about 1 MB on the wire
    srv.route(
        "/api/query",
        lambda req: Reply(
            200, gib_bomb, headers={"Content-Encoding": "gzip"}, content_type="application/atom+xml; charset=utf-8"
        ),
    )
    result = ingest_arxiv(tmp_path, db_url, srv.url("/api/query"))
    peak = result["peak_kib"] * 1024
    print(f"\npeak RSS of `paperwire ingest arxiv` against a 1 GiB gzip bomb: {peak / MiB:.0f} MiB")
    assert peak < 300 * MiB, f"peak RSS {peak / MiB:.0f} MiB"
    assert result["rc"] != 0
    assert "larger than 100 MiB (decompressed); refused" in result["err"] + result["out"], result
    assert "Traceback" not in result["err"], result["err"]
    assert len(srv.requests("/api/query")) == 1


def utf16(body: bytes) -> bytes:
    return body.decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")


def test_a_utf16_entity_bomb_is_refused_at_once_by_the_oai_harvest(srv, tmp_path, store, db_url):
    from paperwire.sources.harvest import make_oai_source
    from paperwire.sources.runner import run_ingest

    bomb = utf16((FIXTURES / "oai" / "entity_bomb.xml").read_bytes())
    assert b"<!ENTITY" not in bomb and bomb.startswith(b"\xff\xfe")
    srv.route("/oai", lambda req: Reply(200, bomb, content_type="text/xml; charset=utf-16"))
    settings = make_settings(tmp_path, srv, database_url=db_url)
    source = make_oai_source(settings, store, "cs", "2007-04-02", "2007-04-06")
    with pytest.raises(UnsafeContent, match="billion laughs"):
        run_ingest(store, source, progress=False)
    assert len(srv.requests("/oai")) == 1  # refused on principle, not fetched again as "broken"
    assert store.papers.count() == 0


def test_a_utf16_entity_bomb_is_refused_at_once_by_the_api_harvest(srv, tmp_path):
    from paperwire.sources.arxiv_api import fetch_by_ids

    bomb = (FIXTURES / "oai" / "entity_bomb.xml").read_bytes()
    for body in (utf16(bomb), utf16(bomb)[2:].decode("utf-16-le").encode("utf-16-be")):
        srv.log.clear()
        srv.route("/api/query", lambda req, body=body: Reply(200, body, content_type="application/atom+xml"))
        with pytest.raises(UnsafeContent):
            fetch_by_ids(make_settings(tmp_path, srv), ["2503.11731"])
        assert len(srv.requests("/api/query")) == 1
