"""The OpenAPI document describes the API: one error schema for every error answer, every status
an operation gives listed, and a request body a client can build from the document alone.
Real answers are checked against the document with a JSON Schema validator (jsonschema_rs)."""

from __future__ import annotations

import jsonschema_rs
import pytest

from conftest import sign_in
from paperwire.web.session import SESSION_COOKIE

ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}


def api_operations(doc: dict):
    for path, ops in doc["paths"].items():
        if path.startswith("/api/"):
            for method, op in ops.items():
                yield path, method, op


def assert_documented(doc: dict, path: str, method: str, r) -> None:
    """The answer's status is listed for the operation, with its media type, and the body is
    valid against the schema the document gives for it."""
    responses = doc["paths"][path][method]["responses"]
    assert str(r.status_code) in responses, f"{method.upper()} {path}: {r.status_code} is not documented"
    ctype = r.headers["content-type"].split(";")[0]
    content = responses[str(r.status_code)]["content"]
    assert ctype in content, f"{method.upper()} {path} {r.status_code}: {ctype} not in {list(content)}"
    schema = {**content[ctype]["schema"], "components": doc["components"]}
    errors = [e.message for e in jsonschema_rs.validator_for(schema).iter_errors(r.json())]
    assert not errors, f"{method.upper()} {path} {r.status_code}: {errors} in {r.text[:500]}"


@pytest.fixture(scope="module")
def doc(client) -> dict:
    return client.get("/openapi.json").json()


def test_every_error_answer_has_the_one_error_schema(doc):
    ops = list(api_operations(doc))
    assert {(p, m) for p, m, _ in ops} >= {
        ("/api/search", "get"),
        ("/api/papers", "get"),
        ("/api/papers/{paper_id}", "get"),
        ("/api/papers/{paper_id}/similar", "get"),
        ("/api/health", "get"),
        ("/api/trending", "get"),
        ("/api/library", "get"),
        ("/api/for-you", "get"),
        ("/api/subscriptions", "post"),
    }
    for path, method, op in ops:
        statuses = set(op["responses"])
        assert "500" in statuses, (path, method)
        if op.get("parameters") or op.get("requestBody"):
            assert "422" in statuses, (path, method)
        for status in (s for s in statuses if not s.startswith("2")):
            assert op["responses"][status]["content"] == {"application/json": {"schema": ERROR_REF}}, (
                path,
                method,
                status,
            )
    schemas = doc["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas  # FastAPI's unused shape
    assert set(schemas["ErrorOut"]["required"]) == {"error", "status"}
    item = schemas["ErrorItem"]
    assert set(item["required"]) == {"loc", "msg", "type"}


def test_statuses_the_issue_found_undocumented(doc):
    def statuses(path, method="get"):
        return set(doc["paths"][path][method]["responses"])

    assert {"400", "401", "422"} <= statuses("/api/library")
    assert {"400", "401", "422"} <= statuses("/api/for-you")
    assert {"400", "422"} <= statuses("/api/trending")
    assert {"202", "400", "413", "415", "422", "429"} <= statuses("/api/subscriptions", "post")
    assert {"400", "422", "503"} <= statuses("/api/search")
    retry = doc["paths"]["/api/subscriptions"]["post"]["responses"]["429"]["headers"]
    assert "Retry-After" in retry


@pytest.mark.parametrize(
    "url",
    [
        "/api/search",
        "/api/search?q=x&limit=0",
        "/api/search?q=x&limit=ten&offset=-1",
        "/api/search?q=" + "x" * 501,
        "/api/papers?date=2025-02-30",
        "/api/papers?limit=1000",
        "/api/papers/2503.11731/similar?limit=0",
        "/api/trending?limit=0",
        "/api/library?limit=x",
    ],
)
def test_422_bodies_match_the_document(client, doc, url):
    r = client.get(url)
    assert r.status_code == 422
    path = {"similar": "/api/papers/{paper_id}/similar"}.get(url.split("?")[0].rsplit("/", 1)[-1], url.split("?")[0])
    assert_documented(doc, path, "get", r)
    for e in r.json()["errors"]:
        assert e["loc"][0] == "query" and e["msg"] and e["type"]


def test_other_error_answers_match_the_document(client, doc, web_store):
    checks = [
        ("/api/search", client.get("/api/search", params={"q": "\x0b"}), 400),
        ("/api/papers/{paper_id}", client.get("/api/papers/local:none"), 404),
        ("/api/papers/{paper_id}/similar", client.get("/api/papers/local:none/similar"), 404),
        ("/api/trending", client.get("/api/trending", params={"window": "year"}), 400),
        ("/api/trending", client.get("/api/trending", params={"cat": "<b>"}), 400),
        ("/api/library", client.get("/api/library"), 401),
        ("/api/for-you", client.get("/api/for-you"), 401),
    ]
    _, session = sign_in(web_store, "openapi-reader@example.org")
    signed_in = {"cookie": f"{SESSION_COOKIE}={session}"}
    checks += [
        ("/api/library", client.get("/api/library", params={"tag": "a,b"}, headers=signed_in), 400),
        ("/api/for-you", client.get("/api/for-you", params={"tag": "x" * 41}, headers=signed_in), 400),
        ("/api/library", client.get("/api/library", headers=signed_in), 200),
        ("/api/for-you", client.get("/api/for-you", headers=signed_in), 200),
    ]
    for path, r, status in checks:
        assert r.status_code == status, (path, r.status_code, r.text)
        assert_documented(doc, path, "get", r)
    assert client.get("/api/library").json()["signin"] == "/signin?next=%2Fapi%2Flibrary"


def body_from_schema(doc: dict) -> tuple[str, dict]:
    """(media type, body) for POST /api/subscriptions built from the document only: every
    property that has a documented default at it, the required ones from their format."""
    rb = doc["paths"]["/api/subscriptions"]["post"]["requestBody"]
    assert rb["required"] is True
    [(media, content)] = rb["content"].items()
    ref = content["schema"]["$ref"].rsplit("/", 1)[-1]
    schema = doc["components"]["schemas"][ref]
    body = {}
    for name, prop in schema["properties"].items():
        if "default" in prop:
            body[name] = prop["default"]
        elif prop.get("format") == "email":
            body[name] = "generated-client@example.org"
    assert set(schema["required"]) <= set(body)
    return media, body


def test_subscriptions_can_be_called_with_what_the_document_describes(sub_env):
    settings, store, client = sub_env
    doc = client.get("/openapi.json").json()
    media, body = body_from_schema(doc)
    assert media == "application/json"
    assert set(body) >= {"email", "frequency", "send_hour", "send_weekday", "timezone", "trending", "categories"}
    r = client.post("/api/subscriptions", json=body)
    assert r.status_code == 202, r.text
    assert_documented(doc, "/api/subscriptions", "post", r)
    sub = store.subscribers.by_email("generated-client@example.org")
    assert sub.status == "pending" and sub.frequency == body["frequency"] and sub.timezone == body["timezone"]
    # and every property the document names can be set
    other = {
        **body,
        "email": "other-client@example.org",
        "frequency": "weekly",
        "send_hour": 18,
        "send_weekday": 4,
        "timezone": "Europe/Berlin",
        "trending": False,
        "categories": ["cs.CL", "hep-th"],
        "query": "graph neural networks",
    }
    r = client.post("/api/subscriptions", json=other)
    assert r.status_code == 202, r.text
    sub = store.subscribers.by_email("other-client@example.org")
    assert (sub.frequency, sub.send_hour, sub.send_weekday, sub.timezone, sub.trending, sub.categories) == (
        "weekly",
        18,
        4,
        "Europe/Berlin",
        False,
        ["cs.CL", "hep-th"],
    )
    assert [s.query for s in store.subscribers.saved_searches(sub.id)] == ["graph neural networks"]


def test_subscription_errors_match_the_document(sub_env):
    from paperwire import subscriptions as subs

    settings, store, client = sub_env
    doc = client.get("/openapi.json").json()
    answers = [
        (client.post("/api/subscriptions", json={"email": "not an address"}), 400),
        (client.post("/api/subscriptions", json={"email": "a@example.org", "colour": "red"}), 422),
        (client.post("/api/subscriptions", json=["a@example.org"]), 422),
        (client.post("/api/subscriptions", content=b"{", headers={"content-type": "application/json"}), 422),
        (client.post("/api/subscriptions", json={}), 422),
        (client.post("/api/subscriptions", data={"email": "a@example.org"}), 415),
        (
            client.post(
                "/api/subscriptions",
                content=b'{"email": "' + b"a" * 70_000 + b'"}',
                headers={"content-type": "application/json"},
            ),
            413,
        ),
    ]
    for _ in range(subs.MAILS_PER_ADDRESS_PER_DAY + 1):
        last = client.post("/api/subscriptions", json={"email": "often@example.org"})
    answers.append((last, 429))
    for r, status in answers:
        assert r.status_code == status, r.text
        assert_documented(doc, "/api/subscriptions", "post", r)
    assert int(last.headers["Retry-After"]) > 0
    missing = answers[4][0].json()["errors"]
    assert missing == [{"loc": ["body", "email"], "msg": "Field required", "type": "missing"}]
