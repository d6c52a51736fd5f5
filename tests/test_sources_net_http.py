"""paperwire.sources.http against a real local HTTP server: delay, retries, Retry-After, errors."""

from __future__ import annotations

import time
from email.utils import formatdate
from itertools import pairwise

import pytest

from arxiv_server import ArxivServer, Reply, make_settings
from paperwire.sources.http import HttpError, PoliteClient, parse_retry_after


def gaps(reqs):
    return [b.time - a.time for a, b in pairwise(reqs)]


def test_delay_between_requests_and_user_agent(srv, tmp_path):
    srv.route("/x", lambda req: Reply(200, b"ok", content_type="text/plain"))
    settings = make_settings(tmp_path, srv, http_delay=0.2)
    with PoliteClient(settings) as client:
        for _ in range(3):
            assert client.get(srv.url("/x")).text == "ok"
    reqs = srv.requests("/x")
    assert len(reqs) == 3
    assert all(g >= 0.19 for g in gaps(reqs)), gaps(reqs)
    assert reqs[0].headers["User-Agent"].startswith("paperwire/")


def test_429_with_retry_after_seconds_then_success(srv, tmp_path):
    srv.queue("/x", Reply(429, b"slow down", headers={"Retry-After": "1"}), Reply(200, b"fine"))
    with PoliteClient(make_settings(tmp_path, srv)) as client:
        assert client.get(srv.url("/x")).text == "fine"
    reqs = srv.requests("/x")
    assert len(reqs) == 2
    assert gaps(reqs)[0] >= 0.95  # waited what the server asked, not the 0.01 s backoff


def test_503_with_http_date_retry_after_is_capped(srv, tmp_path):
    in_an_hour = formatdate(time.time() + 3600, usegmt=True)
    srv.queue("/x", Reply(503, b"busy", headers={"Retry-After": in_an_hour}), Reply(200, b"fine"))
    settings = make_settings(tmp_path, srv, extra={"http_max_wait": 0.3})
    with PoliteClient(settings) as client:
        assert client.get(srv.url("/x")).text == "fine"
        assert client.waits and client.waits[0][1] == pytest.approx(0.3)
    g = gaps(srv.requests("/x"))[0]
    assert 0.28 <= g < 2.0  # the date was understood (else: a 0.01 s backoff) and capped


def test_parse_retry_after_forms():
    now = time.time()
    assert parse_retry_after("120") == 120
    assert parse_retry_after(formatdate(now + 60, usegmt=True), now=now) == pytest.approx(60, abs=1.5)
    assert parse_retry_after(formatdate(now - 60, usegmt=True), now=now) == 0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_retries_exhausted_gives_a_clear_error(srv, tmp_path):
    srv.route("/x", lambda req: Reply(503, b"busy"))
    settings = make_settings(tmp_path, srv, http_retries=2)
    with PoliteClient(settings) as client, pytest.raises(HttpError) as err:
        client.get(srv.url("/x"), {"verb": "ListRecords"})
    msg = str(err.value)
    assert srv.url("/x") + "?verb=ListRecords" in msg
    assert "HTTP 503" in msg and "3 attempts" in msg and "run the same command again" in msg
    assert len(srv.requests("/x")) == 3


def test_timeout_retried_then_reported(srv, tmp_path):
    srv.route("/slow", lambda req: Reply(200, b"late", delay=0.6))
    settings = make_settings(tmp_path, srv, http_timeout=0.2, http_retries=1)
    started = time.monotonic()
    with PoliteClient(settings) as client, pytest.raises(HttpError) as err:
        client.get(srv.url("/slow"))
    assert "no complete answer within 0.2 s" in str(err.value)
    assert "PAPERWIRE_HTTP_TIMEOUT" in str(err.value)
    assert len(srv.requests("/slow")) == 2
    assert time.monotonic() - started < 2.0


def test_timeout_then_success(srv, tmp_path):
    srv.queue("/x", Reply(200, b"late", delay=0.6), Reply(200, b"on time"))
    settings = make_settings(tmp_path, srv, http_timeout=0.2)
    with PoliteClient(settings) as client:
        assert client.get(srv.url("/x")).text == "on time"


def test_connection_cut_mid_body_is_retried(srv, tmp_path):
    body = b"<feed>" + b"x" * 5000 + b"</feed>"
    srv.queue("/x", Reply(200, body, cut_after=100), Reply(200, body))
    with PoliteClient(make_settings(tmp_path, srv)) as client:
        assert client.get(srv.url("/x")).content == body
    assert len(srv.requests("/x")) == 2


def test_client_error_is_not_retried(srv, tmp_path):
    srv.route("/x", lambda req: Reply(404, b"nope"))
    with PoliteClient(make_settings(tmp_path, srv)) as client, pytest.raises(HttpError) as err:
        client.get(srv.url("/x"))
    assert err.value.status == 404 and "HTTP 404" in str(err.value) and "server URL" in str(err.value)
    assert len(srv.requests("/x")) == 1


def test_connection_refused_reports_url(tmp_path):
    with ArxivServer() as s:
        url = s.url("/gone")
        settings = make_settings(tmp_path, s, http_retries=1)
    with PoliteClient(settings) as client, pytest.raises(HttpError) as err:
        client.get(url)
    assert url in str(err.value) and "connection failed" in str(err.value)
