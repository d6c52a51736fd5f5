"""The JSON API: shapes, validation errors, 404s, OpenAPI."""

from __future__ import annotations

import pytest

from conftest_web import ARXIV_DAY, ARXIV_ID, OLD_DAY, OLD_ID, XSS_ID, XSS_TITLE

PAPER_KEYS = {
    "id",
    "title",
    "authors",
    "abstract",
    "categories",
    "primary_category",
    "submitted",
    "updated",
    "announced",
    "abs_url",
    "pdf_url",
    "code_url",
    "url",
}


def test_search_shape_and_order(client):
    r = client.get("/api/search", params={"q": "code generation with language models", "limit": 5})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["query"] == "code generation with language models"
    assert body["mode"] == "hybrid"
    assert body["total"] >= 5 and body["limit"] == 5 and body["offset"] == 0 and body["errors"] == []
    results = body["results"]
    assert len(results) == 5
    for hit in results:
        assert set(hit) == PAPER_KEYS | {"score"}
        assert isinstance(hit["authors"], list) and isinstance(hit["categories"], list)
        assert hit["url"].startswith("http://testserver/papers/")
    scores = [h["score"] for h in results]
    assert scores == sorted(scores, reverse=True)  # best first


def test_search_offset_pages_do_not_overlap(client):
    a = client.get("/api/search", params={"q": "language models", "limit": 5}).json()
    b = client.get("/api/search", params={"q": "language models", "limit": 5, "offset": 5}).json()
    assert len(a["results"]) == len(b["results"]) == 5
    assert not {h["id"] for h in a["results"]} & {h["id"] for h in b["results"]}


def test_search_filters_and_query_errors(client):
    body = client.get("/api/search", params={"q": "cat:hep-th"}).json()
    assert body["mode"] == "browse"
    assert [h["id"] for h in body["results"]] == [OLD_ID]
    bad = client.get("/api/search", params={"q": "feedback before:2024-99"})
    assert bad.status_code == 200  # the rest of the query is still searched ...
    assert any("before:2024-99" in e for e in bad.json()["errors"])  # ... and the problem is reported


def test_xss_title_is_returned_verbatim_as_json(client):
    body = client.get(f"/api/papers/{XSS_ID}").json()
    assert body["title"] == XSS_TITLE


@pytest.mark.parametrize(
    "params, param",
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "x", "limit": 0}, "limit"),
        ({"q": "x", "limit": 101}, "limit"),
        ({"q": "x", "limit": "ten"}, "limit"),
        ({"q": "x", "offset": -1}, "offset"),
        ({"q": "x", "offset": 1001}, "offset"),
        ({"q": "x" * 501}, "q"),
    ],
)
def test_search_param_validation(client, params, param):
    r = client.get("/api/search", params=params)
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "invalid request" and body["status"] == 422
    assert [e["loc"] for e in body["errors"]] == [["query", param]]
    assert body["errors"][0]["msg"] and body["errors"][0]["type"]


@pytest.mark.parametrize("q", ["   ", "\x0b", "\t\x0b\x0c", "\x00", "\x1f \x7f", "\x85"])
def test_query_of_spaces_and_control_characters_is_a_documented_400(client, q):
    r = client.get("/api/search", params={"q": q})
    assert r.status_code == 400
    assert "400" in client.get("/openapi.json").json()["paths"]["/api/search"]["get"]["responses"]
    assert r.json() == {
        "error": "q is empty",
        "status": 400,
        "errors": [{"loc": ["query", "q"], "msg": "q is empty", "type": "value_error"}],
    }


def test_control_characters_inside_a_query_are_spaces(client):
    plain = client.get("/api/search", params={"q": "execution feedback"}).json()
    odd = client.get("/api/search", params={"q": "\x00execution\x0bfeedback\x7f"}).json()
    assert odd["query"] == "execution feedback"
    assert [h["id"] for h in odd["results"]] == [h["id"] for h in plain["results"]]


def test_paper_detail_and_404(client):
    r = client.get(f"/api/papers/{ARXIV_ID}")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == PAPER_KEYS | {"version", "doi", "journal_ref", "comments"}
    assert body["version"] == 2 and body["doi"] == "10.48550/arXiv.2503.11731"
    assert body["authors"][0] == "Ana Lima" and len(body["authors"]) == 8
    assert body["announced"] == ARXIV_DAY and body["code_url"] == "https://github.com/example/refine"
    old = client.get(f"/api/papers/{OLD_ID}").json()
    assert old["id"] == OLD_ID and old["url"] == f"http://testserver/papers/{OLD_ID}"
    missing = client.get("/api/papers/hep-th/0000000")
    assert missing.status_code == 404
    assert missing.json() == {"error": "no paper with id 'hep-th/0000000'", "status": 404, "errors": []}
    assert client.get("/api/nothing").json() == {"error": "Not Found", "status": 404, "errors": []}


def test_similar(client):
    r = client.get(f"/api/papers/{OLD_ID}/similar", params={"limit": 3})
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == OLD_ID and len(body["results"]) == 3
    assert OLD_ID not in {h["id"] for h in body["results"]}
    assert all(set(h) == PAPER_KEYS | {"score"} for h in body["results"])
    assert client.get(f"/api/papers/{ARXIV_ID}/similar", params={"limit": 0}).status_code == 422
    assert client.get("/api/papers/local:none/similar").status_code == 404


def test_day_listing(client):
    latest = client.get("/api/papers", params={"limit": 10}).json()
    assert latest["total"] == 65 and len(latest["results"]) == 10
    assert latest["results"][0]["id"] == XSS_ID
    assert latest["previous_date"] == ARXIV_DAY and latest["next_date"] is None
    rest = client.get("/api/papers", params={"limit": 100, "offset": 10}).json()
    assert len(rest["results"]) == 55
    day = client.get("/api/papers", params={"date": OLD_DAY}).json()
    assert day["date"] == OLD_DAY and [p["id"] for p in day["results"]] == [OLD_ID]
    assert day["previous_date"] is None and day["next_date"] == ARXIV_DAY
    empty = client.get("/api/papers", params={"date": "2000-01-01"}).json()
    assert empty["total"] == 0 and empty["results"] == []
    bad = client.get("/api/papers", params={"date": "17/03/2025"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["query", "date"]
    for impossible in ("2025-02-30", "2025-13-01", "2025-00-10", "2025-03-17\n", "٢٠٢٥-٠٣-١٧"):
        r = client.get("/api/papers", params={"date": impossible})
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "date"], impossible
    assert client.get("/api/papers", params={"limit": 1000}).status_code == 422


def test_health(client, web_store):
    body = client.get("/api/health").json()
    assert body["status"] == "ok" and body["search"] is True
    assert body["papers"] == 67 == web_store.papers.count()
    assert body["embeddings"] == 67
    assert body["pending"]["lexical"] == 0 and body["pending"]["embed"] == 0
    assert set(body["pending"].values()) == {0}
    assert body["latest_date"] is not None


def test_openapi_document(client):
    doc = client.get("/openapi.json").json()
    paths = doc["paths"]
    for p in ("/api/search", "/api/papers", "/api/papers/{paper_id}", "/api/papers/{paper_id}/similar", "/api/health"):
        assert p in paths, p
    assert not any(p.startswith(("/search", "/feeds", "/day")) for p in paths)  # pages stay out of the API
    schema = paths["/api/search"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/SearchOut"}
    hit = doc["components"]["schemas"]["HitOut"]["properties"]
    assert {"id", "title", "score", "abs_url"} <= set(hit)
    assert client.get("/docs").status_code == 200
