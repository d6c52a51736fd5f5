"""Subscriptions through the web: subscribe page and API, double opt-in, preferences, saved
searches, unsubscribe (page and RFC 8058 one-click), non-disclosure. A real database (each backend), TestClient,
the real search engine over the (empty) test database."""

from __future__ import annotations

import email
import email.policy
import re
from urllib.parse import parse_qs, urlsplit

from paperwire.subscriptions import lifecycle

CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')
# every CSRF token on a page (form fields and the meta tag): timestamped to the second, so two
# renderings differ in them when a second passes between them
CSRF_TOKENS = re.compile(r'(name="csrf" value|name="csrf-token" content)="[^"]+"')


def csrf_of(html: str) -> str:
    m = CSRF_FIELD.search(html)
    assert m, "the page has no CSRF field"
    return m.group(1)


def snapshot(store) -> dict:
    """Everything the subscription code may write."""
    from conftest import table_rows

    return {t: table_rows(store, t) for t in ("subscribers", "saved_searches", "outbox", "rate_events", "suppressions")}


def outbox(store, kind: str | None = None) -> list:
    rows = store.conn.execute("SELECT * FROM outbox ORDER BY id").fetchall()
    return [r for r in rows if kind is None or r["kind"] == kind]


def parse_mail(row) -> email.message.EmailMessage:
    return email.message_from_bytes(row["message"], policy=email.policy.default)


def link_in(msg, path: str) -> str:
    """The path+query of the first link to ``path`` in the text part (the host is settings'; the
    test server runs elsewhere)."""
    text = msg.get_body(("plain",)).get_content()
    m = re.search(r"https?://\S+" + re.escape(path) + r"\?token=\S+", text)
    assert m, text
    u = urlsplit(m.group(0))
    return f"{u.path}?{u.query}"


def web_subscribe(client, email_addr="reader@example.org", **fields) -> object:
    page = client.get("/subscribe")
    data = {
        "csrf": csrf_of(page.text),
        "email": email_addr,
        "frequency": "daily",
        "send_hour": "7",
        "send_weekday": "0",
        "timezone": "UTC",
        "trending": "1",
        **fields,
    }
    return client.post("/subscribe", data=data)


def confirm_via_link(client, store, addr="reader@example.org") -> str:
    """Follow the newest confirmation link for addr and press the button; the preferences URL."""
    row = [r for r in outbox(store, "confirm") if r["recipient"] == addr][-1]
    path = link_in(parse_mail(row), "/subscribe/confirm")
    page = client.get(path)
    assert page.status_code == 200 and "Confirm my subscription" in page.text
    token = parse_qs(urlsplit(path).query)["token"][0]
    done = client.post("/subscribe/confirm", data={"csrf": csrf_of(page.text), "token": token})
    assert done.status_code == 200 and "You are subscribed" in done.text
    return re.search(r'href="(/preferences\?token=[^"]+)"', done.text).group(1)


# -- subscribe + double opt-in ---------------------------------------------------------------


def test_subscribe_page_queues_one_confirmation_and_nothing_else(sub_env):
    settings, store, client = sub_env
    r = web_subscribe(
        client,
        "Reader@Example.ORG",
        frequency="weekly",
        send_weekday="2",
        send_hour="18",
        timezone="Europe/Berlin",
        categories="cs.CL, hep-th",
        query="self-refine feedback",
    )
    assert r.status_code == 200 and "Check your inbox" in r.text
    sub = store.subscribers.by_email("Reader@example.org")  # domain lower-cased
    assert sub.status == "pending"
    assert (sub.frequency, sub.send_weekday, sub.send_hour, sub.timezone) == ("weekly", 2, 18, "Europe/Berlin")
    assert sub.categories == ["cs.CL", "hep-th"] and sub.trending is True
    assert [s.query for s in store.subscribers.saved_searches(sub.id)] == ["self-refine feedback"]
    rows = outbox(store)
    assert len(rows) == 1 and rows[0]["kind"] == "confirm" and rows[0]["recipient"] == "Reader@example.org"
    msg = parse_mail(rows[0])
    assert msg.get_content_type() == "multipart/alternative"
    assert {p.get_content_type() for p in msg.iter_parts()} == {"text/plain", "text/html"}
    from paperwire.mail.message import make_message_id

    assert msg["Message-ID"] == make_message_id(settings, "confirm", f"{sub.id}:0:1") == rows[0]["message_id"]
    assert "/subscribe/confirm?token=" in msg.get_body(("html",)).get_content()
    assert "self-refine feedback" in msg.get_body(("plain",)).get_content()


def test_confirm_flow_and_preferences_link(sub_env):
    settings, store, client = sub_env
    web_subscribe(client)
    sub = store.subscribers.by_email("reader@example.org")
    # opening the link alone (a mail scanner) confirms nothing
    path = link_in(parse_mail(outbox(store)[0]), "/subscribe/confirm")
    client.get(path)
    assert store.subscribers.get(sub.id).status == "pending"
    prefs = confirm_via_link(client, store)
    sub = store.subscribers.get(sub.id)
    assert sub.status == "confirmed" and sub.confirmed_at
    page = client.get(prefs)
    assert page.status_code == 200 and "reader@example.org" in page.text
    assert len(outbox(store)) == 1  # confirming sends nothing


def test_confirm_rejects_bad_expired_and_csrfless(sub_env, monkeypatch):
    settings, store, client = sub_env
    web_subscribe(client)
    path = link_in(parse_mail(outbox(store)[0]), "/subscribe/confirm")
    token = parse_qs(urlsplit(path).query)["token"][0]
    bad = client.get("/subscribe/confirm?token=" + token[:-2] + "xx")
    assert bad.status_code == 400 and "Subscribe again" in bad.text
    page = client.get(path)
    r = client.post("/subscribe/confirm", data={"token": token})  # no CSRF token
    assert r.status_code == 403
    r = client.post("/subscribe/confirm", data={"token": token, "csrf": csrf_of(page.text) + "x"})
    assert r.status_code == 403
    assert store.subscribers.by_email("reader@example.org").status == "pending"
    # a preferences token is not a confirmation token
    from paperwire import subscriptions as subs

    sub = store.subscribers.by_email("reader@example.org")
    r = client.post(
        "/subscribe/confirm", data={"token": subs.make_token(settings, "preferences", sub), "csrf": csrf_of(page.text)}
    )
    assert r.status_code == 400 and store.subscribers.get(sub.id).status == "pending"
    # 49 hours later the link has expired
    import itsdangerous.timed

    real = itsdangerous.timed.time.time
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real() + 49 * 3600)
    expired = client.get(path)
    assert expired.status_code == 400 and "expired" in expired.text and "Subscribe again" in expired.text
    r = client.post("/subscribe/confirm", data={"token": token, "csrf": csrf_of(page.text)})
    assert r.status_code in (400, 403)
    assert store.subscribers.get(sub.id).status == "pending"


def test_api_subscribe(sub_env):
    settings, store, client = sub_env
    r = client.post(
        "/api/subscriptions",
        json={
            "email": "api@example.org",
            "frequency": "weekly",
            "categories": ["cs.LG"],
            "query": "graph neural networks",
        },
    )
    assert r.status_code == 202 and r.json()["status"] == "accepted"
    sub = store.subscribers.by_email("api@example.org")
    assert sub.status == "pending" and sub.categories == ["cs.LG"] and sub.frequency == "weekly"
    assert [r["kind"] for r in outbox(store)] == ["confirm"]
    # a cross-site form cannot post JSON: other content types are refused, nothing changes
    before = snapshot(store)
    r = client.post("/api/subscriptions", data={"email": "form@example.org"})
    assert r.status_code == 415 and snapshot(store) == before


# -- non-disclosure ------------------------------------------------------------------------------


def _make_states(store, client):
    from paperwire.models import utc_now

    web_subscribe(client, "pending@example.org")
    web_subscribe(client, "confirmed@example.org")
    confirm_via_link(client, store, "confirmed@example.org")
    web_subscribe(client, "gone@example.org")
    gone = store.subscribers.by_email("gone@example.org")
    assert lifecycle.unsubscribe(store, gone.id, gone.token_version)
    web_subscribe(client, "bounced@example.org")
    with store.transaction() as c:
        c.execute("UPDATE subscribers SET status='bounced' WHERE email='bounced@example.org'")
        c.execute("INSERT INTO suppressions VALUES ('Blocked@Example.org', 'complaint', ?)", (utc_now(),))
        c.execute("DELETE FROM rate_events")  # the setup's own requests do not count


def test_responses_do_not_reveal_the_address_state(sub_env):
    settings, store, client = sub_env
    _make_states(store, client)
    addrs = [
        "new@example.org",
        "pending@example.org",
        "confirmed@example.org",
        "gone@example.org",
        "bounced@example.org",
        "blocked@example.org",
    ]
    pages, apis = [], []
    for a in addrs:
        r = web_subscribe(client, a)
        pages.append((r.status_code, CSRF_TOKENS.sub("", r.text), r.headers.get("content-type")))
        r = client.post("/api/subscriptions", json={"email": a})
        apis.append((r.status_code, r.content))
    assert len(set(pages)) == 1 and pages[0][0] == 200
    assert len(set(apis)) == 1 and apis[0][0] == 202
    # what actually happened differs: confirmation, "already subscribed" mail, or nothing
    sent = {r["recipient"]: r["kind"] for r in outbox(store) if r["id"] > 4}
    assert sent["new@example.org"] == "confirm" and sent["confirmed@example.org"] == "manage"
    assert "bounced@example.org" not in sent and "blocked@example.org" not in sent
    assert store.subscribers.by_email("confirmed@example.org").status == "confirmed"
    assert store.subscribers.by_email("gone@example.org").status == "pending"  # re-confirm needed


def test_already_subscribed_mail_has_working_links(sub_env):
    settings, store, client = sub_env
    web_subscribe(client)
    confirm_via_link(client, store)
    web_subscribe(client, frequency="weekly")
    sub = store.subscribers.by_email("reader@example.org")
    assert sub.frequency == "daily"  # a third party cannot change a confirmed subscription
    msg = parse_mail(outbox(store, "manage")[-1])
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert client.get(link_in(msg, "/preferences")).status_code == 200


# -- preferences and saved searches -------------------------------------------------------------


def _prefs_page(client, store):
    web_subscribe(client)
    url = confirm_via_link(client, store)
    token = parse_qs(urlsplit(url).query)["token"][0]
    page = client.get(url)
    return token, page


def test_preferences_update_add_remove_search(sub_env):
    settings, store, client = sub_env
    token, page = _prefs_page(client, store)
    csrf = csrf_of(page.text)
    r = client.post(
        "/preferences",
        data={
            "csrf": csrf,
            "token": token,
            "frequency": "weekly",
            "send_hour": "21",
            "send_weekday": "4",
            "timezone": "America/New_York",
            "categories": "cs.CL math.AG",
        },
    )  # trending box unticked
    assert r.status_code == 200 and "preferences are saved" in r.text
    sub = store.subscribers.by_email("reader@example.org")
    assert (sub.frequency, sub.send_hour, sub.send_weekday, sub.timezone, sub.trending, sub.categories) == (
        "weekly",
        21,
        4,
        "America/New_York",
        False,
        ["cs.CL", "math.AG"],
    )
    r = client.post("/preferences/searches/add", data={"csrf": csrf, "token": token, "query": "  diffusion   models "})
    assert r.status_code == 200 and "diffusion models" in r.text
    [saved] = store.subscribers.saved_searches(sub.id)
    assert saved.query == "diffusion models"
    r = client.post("/preferences/searches/remove", data={"csrf": csrf, "token": token, "search": str(saved.id)})
    assert r.status_code == 200 and store.subscribers.saved_searches(sub.id) == []
    # without the CSRF token nothing changes
    before = snapshot(store)
    r = client.post("/preferences", data={"token": token, "frequency": "daily"})
    assert r.status_code == 403 and snapshot(store) == before
    # a confirmation token does not open the preferences
    from paperwire import subscriptions as subs

    assert client.get("/preferences?token=" + subs.make_token(settings, "confirm", sub)).status_code == 400


def test_subscribe_to_this_search_buttons(sub_env):
    settings, store, client = sub_env
    r = client.get("/search", params={"q": "protein folding"})
    assert 'action="/subscribe"' in r.text and 'name="query" value="protein folding"' in r.text
    r = client.get("/feeds/search", params={"q": "protein folding"})
    assert r.status_code == 200 and "/feeds/search.atom?q=protein+folding" in r.text
    assert 'name="query" value="protein folding"' in r.text and "Subscribe to this search" in r.text
    r = client.get("/subscribe", params={"query": "protein folding"})
    assert 'id="query" name="query" type="text" value="protein folding"' in r.text
    assert "Add to my saved searches" not in r.text
    assert '<option value="4">Friday</option>' in r.text and '<option value="Europe/Berlin">' in r.text
    assert 'href="/subscribe"' in client.get("/").text  # in the site header
    # a confirmed subscriber who opened their preferences link can add the search directly
    token, _ = _prefs_page(client, store)
    r = client.get("/subscribe", params={"query": "protein folding"})
    assert "Add to my saved searches" in r.text
    r = client.post(
        "/preferences/searches/add", data={"csrf": csrf_of(r.text), "token": token, "query": "protein folding"}
    )
    assert r.status_code == 200
    sub = store.subscribers.by_email("reader@example.org")
    assert [s.query for s in store.subscribers.saved_searches(sub.id)] == ["protein folding"]


# -- unsubscribe -----------------------------------------------------------------------------------


def test_one_click_unsubscribe_rfc8058(sub_env):
    settings, store, client = sub_env
    from paperwire import subscriptions as subs

    token, _ = _prefs_page(client, store)
    sub = store.subscribers.by_email("reader@example.org")
    store.outbox.insert(kind="digest", recipient=sub.email, message_id="<d1@x>", message=b"x", subscriber_id=sub.id)
    headers = subs.list_unsubscribe_headers(settings, sub)
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    m = re.fullmatch(r"<(https?://[^>]+/unsubscribe/one-click\?token=[^>]+)>", headers["List-Unsubscribe"])
    assert m, headers
    u = urlsplit(m.group(1))
    r = client.post(
        f"{u.path}?{u.query}",
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200
    after = store.subscribers.get(sub.id)
    assert after.status == "unsubscribed" and after.token_version == sub.token_version + 1
    assert [r["status"] for r in outbox(store, "digest")] == ["cancelled"]  # effective immediately
    again = client.post(
        f"{u.path}?{u.query}",
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    forged = client.post(
        "/unsubscribe/one-click?token=nonsense",
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert again.status_code == forged.status_code == 200 and again.content == forged.content == r.content
    assert store.subscribers.get(sub.id).token_version == after.token_version  # idempotent
    # every link sent before stops working
    assert client.get("/preferences?token=" + token).status_code == 400


def test_unsubscribe_page_needs_button_and_csrf(sub_env):
    settings, store, client = sub_env
    from paperwire import subscriptions as subs

    web_subscribe(client)
    confirm_via_link(client, store)
    sub = store.subscribers.by_email("reader@example.org")
    url = urlsplit(subs.unsubscribe_url(settings, sub))
    page = client.get(f"{url.path}?{url.query}")
    assert page.status_code == 200 and store.subscribers.get(sub.id).status == "confirmed"
    token = parse_qs(url.query)["token"][0]
    assert client.post("/unsubscribe", data={"token": token}).status_code == 403
    assert store.subscribers.get(sub.id).status == "confirmed"
    r = client.post("/unsubscribe", data={"token": token, "csrf": csrf_of(page.text)})
    assert r.status_code == 200 and "You are unsubscribed" in r.text
    assert store.subscribers.get(sub.id).status == "unsubscribed"
    used = client.get(f"{url.path}?{url.query}")
    assert used.status_code == 200 and "used already" in used.text
