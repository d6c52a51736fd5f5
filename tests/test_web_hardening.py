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
    for path in (f"/api/papers/{long_id}", f"/papers/{long_id}", f"/api/papers/{long_id}/similar",
                 f"/day/{long_id}"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert len(r.content) < 20_000 and "x" * 100 not in r.text, (path, len(r.content))
    r = client.get(f"/api/papers/{long_id}")
    assert r.json() == {"error": f"no paper with id {'x' * 60 + '…'!r}", "status": 404}


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
        assert r.status_code == 403 and r.json() == {"error": "Only curators can do that.", "status": 403}


def _allow(r) -> set[str]:
    return {m.strip() for m in r.headers["allow"].split(",")}


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def test_405_answers_carry_allow_with_every_method_of_the_path(client):
    # GET and POST /subscribe are two routes: Allow names both, not only the first one found
    for path, expected in (("/api/search?q=x", {"GET"}), ("/", {"GET"}),
                           ("/subscribe", {"GET", "POST"}), ("/signout", {"POST"}),
                           ("/static/style.css", {"GET", "HEAD"})):
        refused = [m for m in METHODS if m not in expected]
        for method in refused:
            r = client.request(method, path)
            assert r.status_code == 405, (method, path, r.status_code)
            assert _allow(r) == expected, (method, path, r.headers.get("allow"))
        for method in expected:  # and what Allow names is really answered
            assert client.request(method, path).status_code != 405, (method, path)
    r = client.delete("/api/search?q=x")
    assert r.json() == {"error": "Method Not Allowed", "status": 405}
