"""A saved search's strictness (broad / normal / strict) through every way in: the store (each
backend, migration 0010), validation, the subscribe form and API, the preferences page. Bad values
are refused with a message and change nothing."""

from __future__ import annotations

import pytest

from paperwire.subscriptions import lifecycle
from paperwire.subscriptions.validate import InvalidInput, parse_strictness
from test_subscriptions_web import _prefs_page, csrf_of, snapshot


def _compose(sub, n):
    return ("confirm", f"<confirm-{sub.id}-{n}@test>", f"To: {sub.email}\r\n\r\nconfirm {n}".encode())


def test_parse_strictness():
    assert parse_strictness(None) == parse_strictness("") == "normal"
    assert parse_strictness(" Strict ") == "strict" and parse_strictness("broad") == "broad"
    for bad in ("loose", "strict\n", 3, ["strict"], "x" * 100):
        with pytest.raises(InvalidInput) as e:
            parse_strictness(bad)
        assert "strictness" in e.value.errors


def test_store_keeps_strictness(store):
    outcome, _ = lifecycle.request(
        store,
        email="s@example.org",
        prefs={},
        query="graph neural networks",
        limits=[],
        now=0.0,
        compose=_compose,
        max_saved=5,
        strictness="strict",
    )
    assert outcome == "created"
    sub = store.subscribers.by_email("s@example.org")
    [gnn] = store.subscribers.saved_searches(sub.id)
    assert (gnn.query, gnn.strictness) == ("graph neural networks", "strict")
    plain = lifecycle.add_saved_search(store, sub.id, 0, "diffusion", max_saved=5)
    assert plain.strictness == "normal"  # the default
    # the same query again takes the new strictness and keeps its place
    again = lifecycle.add_saved_search(store, sub.id, 0, "diffusion", max_saved=5, strictness="broad")
    assert again.id == plain.id and again.strictness == "broad"
    assert lifecycle.set_saved_search_strictness(store, sub.id, 0, gnn.id, "normal").strictness == "normal"
    assert lifecycle.set_saved_search_strictness(store, sub.id, 1, gnn.id, "strict") is None  # stale link version
    assert lifecycle.set_saved_search_strictness(store, sub.id, 0, 99_999, "strict") is None  # not theirs
    assert [(s.query, s.strictness) for s in store.subscribers.saved_searches(sub.id)] == [
        ("graph neural networks", "normal"),
        ("diffusion", "broad"),
    ]
    assert store.digests.saved_search_alerts([sub.id]) == {
        sub.id: [("graph neural networks", "normal"), ("diffusion", "broad")]
    }
    assert store.digests.saved_search_queries([sub.id]) == {sub.id: ["graph neural networks", "diffusion"]}


def test_database_refuses_an_unknown_strictness(store):
    lifecycle.request(
        store, email="t@example.org", prefs={}, query="q", limits=[], now=0.0, compose=_compose, max_saved=5
    )
    sub = store.subscribers.by_email("t@example.org")
    with pytest.raises(Exception):  # noqa: B017  (each backend raises its own driver's IntegrityError)
        with store.transaction() as c:
            c.execute("UPDATE saved_searches SET strictness='loose' WHERE subscriber_id=?", (sub.id,))
    assert [s.strictness for s in store.subscribers.saved_searches(sub.id)] == ["normal"]


def test_api_subscribe_with_strictness(sub_env):
    settings, store, client = sub_env
    r = client.post(
        "/api/subscriptions", json={"email": "api@example.org", "query": "retrieval", "strictness": "strict"}
    )
    assert r.status_code == 202, r.text
    sub = store.subscribers.by_email("api@example.org")
    assert [(s.query, s.strictness) for s in store.subscribers.saved_searches(sub.id)] == [("retrieval", "strict")]
    before = snapshot(store)
    r = client.post(
        "/api/subscriptions", json={"email": "other@example.org", "query": "retrieval", "strictness": "loose"}
    )
    assert r.status_code == 422 and "strictness" in r.text  # the request model's Literal, documented
    assert snapshot(store) == before  # nothing half-written
    schema = client.get("/openapi.json").json()["components"]["schemas"]["SubscriptionIn"]["properties"]
    assert schema["strictness"]["enum"] == ["broad", "normal", "strict"] and schema["strictness"]["default"] == "normal"


def test_subscribe_form_carries_strictness(sub_env):
    settings, store, client = sub_env
    page = client.get("/subscribe", params={"query": "graph neural networks", "strictness": "broad"})
    assert page.status_code == 200
    assert 'id="strictness-broad" name="strictness" value="broad" checked' in page.text
    assert client.get("/subscribe", params={"query": "x", "strictness": "loose"}).status_code == 400
    r = client.post(
        "/subscribe",
        data={
            "csrf": csrf_of(page.text),
            "email": "form@example.org",
            "query": "graph neural networks",
            "strictness": "broad",
            "frequency": "daily",
            "send_hour": "7",
            "timezone": "UTC",
        },
    )
    assert r.status_code == 200, r.text
    sub = store.subscribers.by_email("form@example.org")
    assert [(s.query, s.strictness) for s in store.subscribers.saved_searches(sub.id)] == [
        ("graph neural networks", "broad")
    ]


def test_preferences_change_strictness(sub_env):
    settings, store, client = sub_env
    token, page = _prefs_page(client, store)
    csrf = csrf_of(page.text)
    sub = store.subscribers.by_email("reader@example.org")
    r = client.post(
        "/preferences/searches/add",
        data={"csrf": csrf, "token": token, "query": "protein folding", "strictness": "strict"},
    )
    assert r.status_code == 200 and "(strict)" in r.text
    saved = [s for s in store.subscribers.saved_searches(sub.id) if s.query == "protein folding"][0]
    assert saved.strictness == "strict"
    assert '<option value="strict" selected>' in r.text
    r = client.post(
        "/preferences/searches/strictness",
        data={"csrf": csrf, "token": token, "search": str(saved.id), "strictness": "broad"},
    )
    assert r.status_code == 200 and "is now broad" in r.text
    assert store.subscribers.saved_searches(sub.id)[-1].strictness == "broad"
    before = snapshot(store)
    for data in (
        {"search": str(saved.id), "strictness": "loose"},
        {"search": "99999", "strictness": "strict"},
        {"search": "abc", "strictness": "strict"},
    ):
        r = client.post("/preferences/searches/strictness", data={"csrf": csrf, "token": token, **data})
        assert r.status_code == 400, data
    r = client.post(
        "/preferences/searches/strictness", data={"token": token, "search": str(saved.id), "strictness": "strict"}
    )  # no CSRF token
    assert r.status_code == 403
    assert snapshot(store) == before
