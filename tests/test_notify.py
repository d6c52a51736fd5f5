"""Reader handles and notifications (paperwire/accounts/handles.py, paperwire/notify/), on both
databases: handles are unique in any letter case and chosen once; events are recorded once per
key, batched into one outbox message per reader within the window, never queued twice, dropped
for muted kinds and disabled accounts; a flush killed mid-way leaves nothing half-written."""

from __future__ import annotations

import email
import time

import pytest

from conftest import make_settings
from paperwire.accounts.handles import HandleError, choose, validate
from paperwire.jobs.handlers import HANDLERS, Context
from paperwire.jobs.periodic import schedule
from paperwire.notify import NotifyError, flush, record
from paperwire.notify.send import DROPPED


def _outbox(store):
    return store.conn.execute(
        "SELECT recipient, message_id, message FROM outbox WHERE kind='notify' ORDER BY id"
    ).fetchall()


def _event(store, account_id, n, kind="reply"):
    return record(store, account_id, kind, f"{kind}:test {n}", {"summary": f"Event <b>{n}</b>", "url": f"/p/{n}"})


@pytest.mark.parametrize("bad", ["ab", "x" * 31, "-ab", "a b", "ad<min>", "héllo", "admin", None, ""])
def test_a_bad_handle_is_refused_with_a_reason(bad):
    with pytest.raises(HandleError):
        validate(bad)


def test_handles_are_unique_in_any_case_and_chosen_once(store):
    a = store.accounts.ensure("a@example.org")
    b = store.accounts.ensure("b@example.org")
    assert choose(store, a.id, "Ada_L") == "Ada_L"
    with pytest.raises(HandleError, match="taken"):
        choose(store, b.id, "ada_l")
    with pytest.raises(HandleError, match="already"):
        choose(store, a.id, "another")
    assert store.accounts.get(a.id).handle == "Ada_L"
    assert store.accounts.get(b.id).handle is None
    assert store.accounts.by_handle("ADA_L").id == a.id
    assert store.accounts.handles([a.id, b.id]) == {a.id: "Ada_L", b.id: None}


def test_an_event_is_recorded_once_per_key_and_bad_ones_not_at_all(store):
    a = store.accounts.ensure("a@example.org")
    assert _event(store, a.id, 1) is True
    assert _event(store, a.id, 1) is False
    for kind, key, payload in [
        ("nope", "k", {"summary": "s", "url": "/"}),
        ("reply", "", {"summary": "s", "url": "/"}),
        ("reply", "k2", {"summary": "", "url": "/"}),
        ("reply", "k3", {"summary": "s", "url": "https://evil.example/"}),
        ("reply", "k4", {"summary": "s", "url": "//evil.example/"}),
        ("reply", "k5", {"summary": "s" * 5000, "url": "/"}),
    ]:
        with pytest.raises(NotifyError):
            record(store, a.id, kind, key, payload)
    assert len(store.notify.events(a.id)) == 1


def test_pending_events_go_out_as_one_mail_after_the_window(store, tmp_path, db_url):
    settings = make_settings(tmp_path, db_url)
    a = store.accounts.ensure("a@example.org")
    b = store.accounts.ensure("b@example.org")
    choose(store, a.id, "ada")
    for n in range(3):
        _event(store, a.id, n, "reply" if n else "mention")
    _event(store, b.id, 9)
    now = time.time()
    assert flush(store, settings, now=now) == 0  # the window has not passed
    assert _outbox(store) == []
    assert flush(store, settings, now=now + 601) == 2  # one mail per reader
    assert flush(store, settings, now=now + 1200) == 0  # never twice
    rows = _outbox(store)
    assert sorted(r[0] for r in rows) == ["a@example.org", "b@example.org"]
    msg = email.message_from_bytes(bytes([r for r in rows if r[0] == "a@example.org"][0][2]))
    assert msg["Subject"] == "Paperwire: 3 new notifications"
    text = msg.get_payload()[0].get_payload(decode=True).decode()
    html = msg.get_payload()[1].get_payload(decode=True).decode()
    assert "Hello ada," in text and "Mentions" in text and "Replies" in text and "/p/2" in text
    assert "Event &lt;b&gt;1&lt;/b&gt;" in html and "<b>1" not in html
    assert "/settings/notifications" in text
    assert all(e["batch_key"] == rows[0][1] or e["batch_key"] for e in store.notify.events(a.id))
    assert len({e["batch_key"] for e in store.notify.events(a.id)}) == 1


def test_batch_zero_sends_each_event_in_its_own_mail(store, tmp_path, db_url):
    settings = make_settings(tmp_path, db_url).with_(notify_batch_minutes=0)
    a = store.accounts.ensure("a@example.org")
    _event(store, a.id, 1)
    _event(store, a.id, 2)
    assert flush(store, settings) == 2
    assert len({r[1] for r in _outbox(store)}) == 2


def test_muted_kinds_and_disabled_accounts_get_no_mail(store, tmp_path, db_url):
    settings = make_settings(tmp_path, db_url).with_(notify_batch_minutes=0)
    a = store.accounts.ensure("a@example.org")
    b = store.accounts.ensure("b@example.org")
    _event(store, a.id, 1, "mention")  # recorded before the reader turned mentions off
    store.notify.set_muted(a.id, {"mention"}, ("reply", "mention"))
    assert _event(store, a.id, 2, "mention") is False  # not even recorded now
    _event(store, a.id, 3, "reply")
    _event(store, b.id, 4)
    store.accounts.set_status("b@example.org", "disabled")
    assert flush(store, settings) == 1
    assert [r[0] for r in _outbox(store)] == ["a@example.org"]
    assert [e["batch_key"] == DROPPED for e in store.notify.events(a.id)] == [True, False]
    assert [e["batch_key"] for e in store.notify.events(b.id)] == [DROPPED]
    store.notify.set_muted(a.id, set(), ("reply", "mention"))
    assert store.notify.muted(a.id) == set()


def test_a_flush_that_fails_mid_way_leaves_nothing_half_written(store, tmp_path, db_url, monkeypatch):
    settings = make_settings(tmp_path, db_url).with_(notify_batch_minutes=0)
    a = store.accounts.ensure("a@example.org")
    _event(store, a.id, 1)
    import paperwire.notify.send as send

    def boom(c, ids, key):
        raise RuntimeError("killed after the outbox insert")

    monkeypatch.setattr(store.notify, "mark", boom)
    with pytest.raises(RuntimeError):
        send.flush(store, settings)
    assert _outbox(store) == [] and store.notify.events(a.id)[0]["batch_key"] is None
    monkeypatch.undo()
    assert flush(store, settings) == 1 and flush(store, settings) == 0


def test_the_notify_job_is_periodic_and_flushes(store, tmp_path, db_url):
    settings = make_settings(tmp_path, db_url).with_(notify_batch_minutes=0)
    assert "notify" in {p.kind for p in schedule(settings)}
    a = store.accounts.ensure("a@example.org")
    _event(store, a.id, 1)
    assert HANDLERS["notify"](Context(store, settings), {}) == {"queued": 1}


# -- the settings page ------------------------------------------------------------------------


@pytest.fixture
def web(tmp_path, db_url):
    from fastapi.testclient import TestClient

    from paperwire.storage import open_store
    from paperwire.web.app import create_app

    settings = make_settings(tmp_path, db_url)
    store = open_store(settings.database_url)
    with TestClient(create_app(settings, store=store, background=False)) as client:
        yield store, client
    store.close()


def _signed_in(client, store, email):
    from conftest import csrf_for, sign_in
    from paperwire.web.session import SESSION_COOKIE

    account, cookie = sign_in(store, email)
    client.cookies.set(SESSION_COOKIE, cookie)
    return account, csrf_for(client, "/settings/notifications")


def test_the_settings_page_sets_a_handle_once_and_turns_kinds_off(web):
    store, client = web
    assert client.get("/settings/notifications", follow_redirects=False).status_code == 303  # sign in first
    account, csrf = _signed_in(client, store, "reader@example.org")
    page = client.get("/settings/notifications")
    assert page.status_code == 200 and "reader@example.org" not in page.text
    assert client.post("/settings/handle", data={"handle": "grace"}).status_code == 403  # no CSRF token
    bad = client.post("/settings/handle", data={"csrf": csrf, "handle": "<script>"})
    assert bad.status_code == 400 and "letters, digits" in bad.text and "<script>" not in bad.text
    ok = client.post("/settings/handle", data={"csrf": csrf, "handle": "grace"}, follow_redirects=False)
    assert ok.status_code == 303 and store.accounts.get(account.id).handle == "grace"
    assert "@grace" in client.get("/").text
    again = client.post("/settings/handle", data={"csrf": csrf, "handle": "other"})
    assert again.status_code == 400 and store.accounts.get(account.id).handle == "grace"
    # only "reply" stays checked
    saved = client.post("/settings/notifications", data={"csrf": csrf, "kind-reply": "on"}, follow_redirects=False)
    assert saved.status_code == 303 and store.notify.muted(account.id) == {"mention"}
    page = client.get("/settings/notifications").text
    assert 'name="kind-reply" checked' in page and 'name="kind-mention">' in page
