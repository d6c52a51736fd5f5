"""Small hardening of the web layer's answers: HSTS over TLS, errors that do not echo huge input,
JSON errors for scripts, ``Allow`` on 405, cookies deleted with the flags they were set with."""

from __future__ import annotations

from conftest import csrf_for, sign_in
from conftest_web import ARXIV_ID


def test_hsts_only_on_answers_over_https(client):
    for path in ("/", "/api/health", "/api/papers/nope", "/nope"):
        assert "strict-transport-security" not in client.get(path).headers, path
        r = client.get("https://testserver" + path)
        assert r.headers["strict-transport-security"] == "max-age=31536000", path


def test_a_404_does_not_echo_a_huge_id(client):
    long_id = "x" * 60_000  # the test client refuses URLs over 64 kB; uvicorn with httptools takes 100 kB
    for path in (f"/api/papers/{long_id}", f"/papers/{long_id}", f"/api/papers/{long_id}/similar", f"/day/{long_id}"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert len(r.content) < 20_000 and "x" * 100 not in r.text, (path, len(r.content))
    r = client.get(f"/api/papers/{long_id}")
    assert r.json() == {"error": f"no paper with id {'x' * 60 + '…'!r}", "status": 404, "errors": []}


def test_unknown_paper_error_of_the_community_core_is_short():
    from paperwire.community.common import UnknownPaper

    assert len(str(UnknownPaper("y" * 100_000))) < 120


def test_a_403_answers_json_when_json_was_asked_for(web_app):
    from fastapi.testclient import TestClient

    with TestClient(web_app) as c:
        # no CSRF token: refused, in the app's JSON error shape for a script ...
        r = c.post("/signout", headers={"Accept": "application/json"}, follow_redirects=False)
        assert r.status_code == 403
        assert r.headers["content-type"].startswith("application/json")
        body = r.json()
        assert body["status"] == 403 and "reload the page" in body["error"]
        # ... and as a page for a browser's form post
        r = c.post("/signout", headers={"Accept": "text/html"}, follow_redirects=False)
        assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")


def test_a_403_for_a_non_curator_answers_json_when_asked(web_app, web_store):
    from fastapi.testclient import TestClient

    from paperwire.web.session import SESSION_COOKIE

    _, cookie = sign_in(web_store, "plain-reader@example.org")
    with TestClient(web_app, cookies={SESSION_COOKIE: cookie}) as c:
        r = c.get("/curate", headers={"Accept": "application/json"})
        assert r.status_code == 403 and r.json() == {"error": "Only curators can do that.", "status": 403, "errors": []}


def _allow(r) -> set[str]:
    return {m.strip() for m in r.headers["allow"].split(",")}


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def test_405_answers_carry_allow_with_every_method_of_the_path(client):
    # GET and POST /subscribe are two routes: Allow names both, not only the first one found
    for path, expected in (
        ("/api/search?q=x", {"GET"}),
        ("/", {"GET"}),
        ("/subscribe", {"GET", "POST"}),
        ("/signout", {"POST"}),
        ("/static/style.css", {"GET", "HEAD"}),
    ):
        refused = [m for m in METHODS if m not in expected]
        for method in refused:
            r = client.request(method, path)
            assert r.status_code == 405, (method, path, r.status_code)
            assert _allow(r) == expected, (method, path, r.headers.get("allow"))
        for method in expected:  # and what Allow names is really answered
            assert client.request(method, path).status_code != 405, (method, path)
    r = client.delete("/api/search?q=x")
    assert r.json() == {"error": "Method Not Allowed", "status": 405, "errors": []}


# -- request bodies: one limit for every route (web/body_limit.py) ------------------------------

# the routes that read a body from anyone; the others answer a reader who is not signed in first
READING_ROUTES = (
    "/subscribe",
    "/api/subscriptions",
    "/unsubscribe/one-click?token=x",
    "/signout",
    "/signin",
    "/signin/confirm",
    "/preferences",
    "/subscribe/confirm",
    "/unsubscribe",
)
SIGNED_IN_ROUTES = (
    f"/papers/{ARXIV_ID}/vote",
    f"/papers/{ARXIV_ID}/curate",
    "/library/save",
    "/library/tags",
    "/for-you/not-relevant",
    "/submit",
)


def _chunks(total: int, size: int = 16_384):
    sent = 0
    while sent < total:
        n = min(size, total - sent)
        sent += n
        yield b"a" * n


def test_every_route_refuses_a_body_over_the_limit_by_content_length_and_chunked(client):
    limit = client.app.state.settings.max_body_bytes
    assert limit == 64 * 1024
    for path in READING_ROUTES + SIGNED_IN_ROUTES + ("/", "/api/health"):
        method = "GET" if path in ("/", "/api/health") else "POST"
        ctype = "application/json" if path.startswith("/api/") else "application/x-www-form-urlencoded"
        by_length = client.request(
            method, path, content=b"a" * (limit + 1), headers={"Content-Type": ctype}, follow_redirects=False
        )
        chunked = client.request(
            method, path, content=_chunks(1 << 20), headers={"Content-Type": ctype}, follow_redirects=False
        )
        assert by_length.status_code == 413, (path, by_length.status_code)
        # without a Content-Length the count stops a route that reads; one that never does (a GET,
        # a form for the signed-in only) answers without holding the body
        reads = path in READING_ROUTES
        assert (chunked.status_code == 413) == reads, (path, chunked.status_code)
        for r in (by_length, chunked) if reads else (by_length,):
            assert r.headers["connection"] == "close"
            if path.startswith("/api/"):
                assert r.json() == {
                    "error": f"The request body is too large (at most {limit:,} bytes).",
                    "status": 413,
                    "errors": [],
                }
            else:
                assert "The request body is too large" in r.text and r.headers["content-type"].startswith("text/html")
            assert r.headers["x-content-type-options"] == "nosniff"  # inside the security headers


def test_a_body_at_the_limit_is_still_read(client):
    limit = client.app.state.settings.max_body_bytes
    # a valid JSON object padded to the limit exactly: refused for what it says, not for its size
    head, tail = b'{"email": "not-an-address", "pad": "', b'"}'
    body = head + b"a" * (limit - len(head) - len(tail)) + tail
    assert len(body) == limit
    r = client.post("/api/subscriptions", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and [e["loc"] for e in r.json()["errors"]] == [["body", "pad"]], r.json()


def test_the_limit_is_the_setting(tmp_path):
    from fastapi.testclient import TestClient

    from conftest import make_settings
    from paperwire.web.app import create_app

    app = create_app(make_settings(tmp_path).with_(max_body_bytes=100), background=False)
    with TestClient(app) as c:
        r = c.post("/api/subscriptions", content=b"{" + b" " * 100 + b"}", headers={"Content-Type": "application/json"})
        assert r.status_code == 413 and r.json()["error"] == "The request body is too large (at most 100 bytes)."
        r = c.post("/api/subscriptions", content=b"[]", headers={"Content-Type": "application/json"})
        assert r.status_code == 422


def test_signed_in_forms_refuse_a_chunked_body_over_the_limit(web_app, web_store):
    from fastapi.testclient import TestClient

    from paperwire.web.session import SESSION_COOKIE

    _, cookie = sign_in(web_store, "big-bodies@example.org", "curator")
    with TestClient(web_app, cookies={SESSION_COOKIE: cookie}) as c:
        csrf = csrf_for(c)
        for path in SIGNED_IN_ROUTES:
            r = c.post(
                path,
                content=_chunks(1 << 20),
                headers={"Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": csrf},
                follow_redirects=False,
            )
            assert r.status_code == 413 and "The request body is too large" in r.text, (path, r.status_code)


# -- health, sign-out cookie -------------------------------------------------------------------


def test_health_answers_while_slow_requests_hold_every_request_thread(tmp_path):
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from fastapi.testclient import TestClient

    from conftest import make_settings
    from paperwire.web.app import create_app

    app = create_app(make_settings(tmp_path).with_(web_threads=2), background=False)
    release, running, lock = threading.Event(), [0], threading.Lock()

    @app.get("/_slow")
    def slow():  # a synchronous route, as every page is: it takes one of the 2 request threads
        with lock:
            running[0] += 1
        release.wait(20)
        return {"ok": True}

    with TestClient(app) as c, ThreadPoolExecutor(4) as pool:
        busy = [pool.submit(c.get, "/_slow") for _ in range(4)]
        deadline = time.monotonic() + 10
        while running[0] < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert running[0] == 2  # both threads are held, two more requests wait for one
        started = time.monotonic()
        r = c.get("/api/health")
        took = time.monotonic() - started
        release.set()
        assert [f.result().status_code for f in busy] == [200] * 4
    assert r.status_code == 200 and r.json()["status"] == "ok"
    assert took < 5, f"health waited {took:.1f} s behind the busy threads"


def test_sign_out_deletes_the_session_cookie_with_its_flags(web_app, web_store):
    from fastapi.testclient import TestClient

    from paperwire.web.session import SESSION_COOKIE

    _, cookie = sign_in(web_store, "leaving@example.org")
    for base, secure in (("https://testserver", True), ("http://testserver", False)):
        with TestClient(web_app, base_url=base, cookies={SESSION_COOKIE: cookie}) as c:
            csrf = csrf_for(c)
            r = c.post("/signout", data={"csrf": csrf}, follow_redirects=False)
            assert r.status_code == 303
            deletion = next(h for h in r.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE + "="))
            flags = {part.strip().split("=")[0].lower() for part in deletion.split(";")}
            assert "max-age=0" in deletion.lower() and {"httponly", "samesite", "path"} <= flags, deletion
            assert ("secure" in flags) == secure, deletion
            assert "samesite=lax" in deletion.lower()
        _, cookie = sign_in(web_store, "leaving@example.org")
