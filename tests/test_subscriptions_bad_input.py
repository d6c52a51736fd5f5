"""Bad input to subscriptions: each gets a clear error and changes nothing (database and outbox
compared before and after)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from test_subscriptions_web import csrf_of, outbox, snapshot, web_subscribe

BAD_ADDRESSES = [
    "",
    "   ",
    "plainaddress",
    "@example.org",
    "reader@",
    "a@b@example.org",
    "reader@localhost",
    "reader@exa mple.org",
    "re ader@example.org",
    "reader@-example.org",
    "reader@example.o",
    "reader..x@example.org",
    ".reader@example.org",
    "reader@example..org",
    '"quoted"@example.org',
    "x" * 65 + "@example.org",  # local part over 64
    "a" * 60 + "@" + ".".join(["b" * 60] * 4) + ".org",  # 300 characters
    "reader@example.org\r\nBcc: victim@example.com",
    "reader@example.org\nBcc: victim@example.com",
    "reader\r@example.org",
    "reader@example.org\x00",
]


def refused_fields(r) -> set:
    """The body fields an API error answer names (errors[].loc is ["body", field, ...])."""
    return {e["loc"][1] for e in r.json()["errors"] if e["loc"][0] == "body"}


@pytest.mark.parametrize("address", BAD_ADDRESSES)
def test_invalid_addresses_change_nothing(sub_env, address):
    settings, store, client = sub_env
    before = snapshot(store)
    r = client.post("/api/subscriptions", json={"email": address})
    # longer than the document's maxLength: 422; matches the document but cannot be mailed: 400
    assert r.status_code == (422 if len(address) > 254 else 400) and refused_fields(r) == {"email"}, r.text
    r = web_subscribe(client, address)
    assert r.status_code == 400 and "Please correct" in r.text
    assert snapshot(store) == before


def test_300_character_address_message(sub_env):
    settings, store, client = sub_env
    address = "a" * 60 + "@" + ".".join(["b" * 60] * 4) + ".org"
    assert len(address) > 254
    r = client.post("/api/subscriptions", json={"email": address})
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"loc": ["body", "email"], "msg": "String should have at most 254 characters", "type": "string_too_long"}
    ]
    r = web_subscribe(client, address)
    assert r.status_code == 400 and "too long" in r.text


@pytest.mark.parametrize(
    "field",
    ["email", "query", "timezone", "frequency", "categories", "send_hour", "send_weekday", "trending", "anything"],
)
def test_line_breaks_in_any_field_are_refused(sub_env, field):
    settings, store, client = sub_env
    good = {
        "email": "reader@example.org",
        "query": "graph networks",
        "timezone": "UTC",
        "frequency": "daily",
        "categories": ["cs.CL"],
        "send_hour": 7,
        "send_weekday": 0,
        "trending": True,
    }
    form = {
        "email": "reader@example.org",
        "query": "graph networks",
        "timezone": "UTC",
        "frequency": "daily",
        "categories": "cs.CL",
        "send_hour": "7",
        "send_weekday": "0",
        "trending": "1",
    }
    before = snapshot(store)
    for value in ("x\r\nBcc: victim@example.com", "cs.CL\nX-Injected: 1"):
        # text fields refuse the line break by rule (400); the others are not text in the
        # document (422), nor is a field it does not name
        text = field in ("email", "query", "timezone", "categories")
        data = {**good, field: [value] if field == "categories" else value}
        r = client.post("/api/subscriptions", json=data)
        assert r.status_code == (400 if text else 422) and refused_fields(r) == {field}, r.text
        data = {**form, field: value}
        r = web_subscribe(client, **data)
        assert r.status_code == 400 and "one line" in r.text
    assert snapshot(store) == before


@pytest.mark.parametrize(
    "data, field, status",
    [
        ({"frequency": "hourly"}, "frequency", 422),
        ({"send_hour": 24}, "send_hour", 422),
        ({"send_hour": "-1"}, "send_hour", 422),
        ({"send_hour": "7am"}, "send_hour", 422),
        ({"send_hour": 7.5}, "send_hour", 422),
        ({"send_weekday": 7}, "send_weekday", 422),
        ({"timezone": "Mars/Olympus"}, "timezone", 400),
        ({"timezone": "../../etc/passwd"}, "timezone", 400),
        ({"categories": ["cs.CL", "<script>"]}, "categories", 400),
        ({"categories": "CS CL!"}, "categories", 422),
        ({"categories": 5}, "categories", 422),
        ({"trending": "maybe"}, "trending", 422),
        ({"query": "q" * 10_000}, "query", 422),
        ({"query": 12}, "query", 422),
        ({"query": " \t "}, "query", 400),
    ],
)
def test_invalid_preferences_change_nothing(sub_env, data, field, status):
    settings, store, client = sub_env
    before = snapshot(store)
    r = client.post("/api/subscriptions", json={"email": "reader@example.org", **data})
    assert r.status_code == status and refused_fields(r) == {field}, r.text
    assert snapshot(store) == before


def test_ten_kilobyte_saved_query(sub_env):
    settings, store, client = sub_env
    from test_subscriptions_web import _prefs_page

    token, page = _prefs_page(client, store)
    before = snapshot(store)
    r = client.post(
        "/preferences/searches/add", data={"csrf": csrf_of(page.text), "token": token, "query": "q" * 10_240}
    )
    assert r.status_code == 400 and "too long" in r.text and "at most 500" in r.text
    r = client.post("/preferences/searches/add", data={"csrf": csrf_of(page.text), "token": token, "query": "a\r\nb"})
    assert r.status_code == 400 and "one line" in r.text
    assert snapshot(store) == before
    r = web_subscribe(client, "other@example.org", query="q" * 10_240)
    assert r.status_code == 400 and "too long" in r.text
    assert snapshot(store) == before


def test_a_thousand_saved_searches(sub_env):
    settings, store, client = sub_env
    from paperwire import subscriptions as subs
    from test_subscriptions_web import _prefs_page

    token, page = _prefs_page(client, store)
    sub = store.subscribers.by_email("reader@example.org")
    csrf = csrf_of(page.text)
    for i in range(subs.MAX_SAVED_SEARCHES):
        subs.add_saved_search(store, sub, f"topic number {i}")
    before = snapshot(store)
    r = client.post("/preferences/searches/add", data={"csrf": csrf, "token": token, "query": "topic number 50"})
    assert r.status_code == 400 and "remove one first" in r.text
    refused = 0
    for i in range(subs.MAX_SAVED_SEARCHES + 1, 1000):
        with pytest.raises(subs.InvalidInput):
            subs.add_saved_search(store, sub, f"topic number {i}")
        refused += 1
    assert refused == 1000 - subs.MAX_SAVED_SEARCHES - 1
    assert store.subscribers.count_saved(sub.id) == subs.MAX_SAVED_SEARCHES
    assert snapshot(store) == before
    # an existing query is not a new one
    assert subs.add_saved_search(store, sub, "topic number 3").query == "topic number 3"


def test_repeated_requests_for_one_address_are_rate_limited(sub_env):
    settings, store, client = sub_env
    from paperwire import subscriptions as subs

    for _ in range(subs.MAILS_PER_ADDRESS_PER_DAY):
        assert client.post("/api/subscriptions", json={"email": "victim@example.org"}).status_code == 202
    assert len(outbox(store)) == subs.MAILS_PER_ADDRESS_PER_DAY
    before = snapshot(store)
    r = client.post("/api/subscriptions", json={"email": "Victim@EXAMPLE.org"})  # case does not help
    assert r.status_code == 429 and "tomorrow" in r.json()["error"] and r.headers["Retry-After"]
    r = web_subscribe(client, "victim@example.org")
    assert r.status_code == 429 and "tomorrow" in r.text
    assert snapshot(store) == before
    # a day later it is allowed again
    import time

    assert (
        subs.subscribe(store, settings, {"email": "victim@example.org"}, client="x", now=time.time() + 86400 + 1)
        == "pending"
    )


def test_many_requests_from_one_client_are_rate_limited(sub_env):
    settings, store, client = sub_env
    from paperwire import subscriptions as subs

    for i in range(subs.REQUESTS_PER_CLIENT_PER_HOUR):
        assert client.post("/api/subscriptions", json={"email": f"r{i}@example.org"}).status_code == 202
    before = snapshot(store)
    r = client.post("/api/subscriptions", json={"email": "one-more@example.org"})
    assert r.status_code == 429 and "hour" in r.json()["error"]
    assert snapshot(store) == before


def test_forged_and_tampered_tokens(sub_env):
    settings, store, client = sub_env
    from paperwire import security
    from test_subscriptions_web import _prefs_page

    token, page = _prefs_page(client, store)
    before = snapshot(store)
    other = settings.with_(secret_key="another-secret")
    sub = store.subscribers.by_email("reader@example.org")
    forged = security.sign(other, "preferences", [sub.id, sub.token_version])
    for t in (forged, token + "x", "", "a" * 5000, security.sign(settings, "preferences", {"s": 1})):
        r = client.get("/preferences", params={"token": t})
        assert r.status_code == 400 and "Subscribe again" in r.text
        r = client.post("/preferences", data={"csrf": csrf_of(page.text), "token": t, "frequency": "weekly"})
        assert r.status_code == 400
    assert snapshot(store) == before


def test_forms_without_csrf_or_too_large_change_nothing(sub_env):
    settings, store, client = sub_env
    before = snapshot(store)
    r = client.post("/subscribe", data={"email": "reader@example.org"})
    assert r.status_code == 403 and "reload the page" in r.text
    page = client.get("/subscribe")
    r = client.post(
        "/subscribe", data={"csrf": csrf_of(page.text), "email": "reader@example.org", "categories": "x" * 70_000}
    )
    assert r.status_code == 413
    fresh = TestClient(client.app)  # another browser: its cookie does not match this page's token
    r = fresh.post("/subscribe", data={"csrf": csrf_of(page.text), "email": "reader@example.org"})
    assert r.status_code == 403
    r = client.post("/unsubscribe/one-click?token=x", content=b"", headers={"Content-Type": "text/plain"})
    assert r.status_code == 400 and "List-Unsubscribe=One-Click" in r.text
    assert snapshot(store) == before


def test_subscribe_with_query_at_the_saved_search_limit_reveals_nothing(sub_env):
    settings, store, client = sub_env
    from paperwire import subscriptions as subs

    assert client.post("/api/subscriptions", json={"email": "full@example.org"}).status_code == 202
    sub = store.subscribers.by_email("full@example.org")
    for i in range(subs.MAX_SAVED_SEARCHES):
        subs.add_saved_search(store, sub, f"topic {i}")
    full = client.post("/api/subscriptions", json={"email": "full@example.org", "query": "one more"})
    new = client.post("/api/subscriptions", json={"email": "new@example.org", "query": "one more"})
    assert full.status_code == new.status_code == 202 and full.content == new.content
    assert store.subscribers.count_saved(sub.id) == subs.MAX_SAVED_SEARCHES
