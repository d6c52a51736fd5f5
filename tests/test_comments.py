"""Comments (community/comments.py, GET/POST /api/papers/{id}/comments), on both databases: the
API's shape, Markdown with math sanitised (script and onerror stay text), a reply with an
@mention notifying the first author in exactly one mail, curators hiding a comment (gone from the
API) with the audit log, rate and size limits, disabled accounts, hidden papers."""

from __future__ import annotations

import email

import pytest
from fastapi.testclient import TestClient

from conftest import csrf_for, make_settings, sign_in
from conftest_web import ARXIV_ID
from paperwire.accounts.handles import choose
from paperwire.notify import flush
from paperwire.web.session import SESSION_COOKIE


@pytest.fixture
def site(tmp_path, db_url):
    from paperwire.storage import open_store
    from paperwire.web.app import create_app
    from test_community import add_papers

    settings = make_settings(tmp_path, db_url).with_(comment_per_minute=3, notify_batch_minutes=0)
    store = open_store(settings.database_url)
    add_papers(store)
    app = create_app(settings, store=store, background=False)
    yield settings, store, app
    store.close()


def _reader(app, store, email_, handle, role=None):
    client = TestClient(app)
    account, cookie = sign_in(store, email_, role)
    if handle:
        choose(store, account.id, handle)
    client.cookies.set(SESSION_COOKIE, cookie)
    return account, client, csrf_for(client, "/")


def _post(client, csrf, body, parent=None, paper=ARXIV_ID):
    data = {"body": body} if parent is None else {"body": body, "parent": parent}
    return client.post(f"/api/papers/{paper}/comments", json=data, headers={"X-CSRF-Token": csrf})


def test_comment_reply_mention_one_mail(site):
    settings, store, app = site
    ada, c1, t1 = _reader(app, store, "ada@example.org", "ada")
    bob, c2, t2 = _reader(app, store, "bob@example.org", "bob")
    first = _post(c1, t1, "Nice *result*: $x_1^2 < y$\n\n<script>alert(1)</script> <img src=x onerror=alert(1)>")
    assert first.status_code == 201, first.text
    out = first.json()
    assert out["author"] == "ada" and out["parent"] is None and out["deleted"] is False
    assert "<em>result</em>" in out["body_html"] and '<span class="tex">$x_1^2 &lt; y$</span>' in out["body_html"]
    assert "<script" not in out["body_html"] and "&lt;script&gt;" in out["body_html"]
    assert "<img" not in out["body_html"] and "&lt;img" in out["body_html"]
    reply = _post(c2, t2, "Thanks @ada, see [this](https://example.org/x)", parent=out["id"])
    assert reply.status_code == 201 and reply.json()["parent"] == out["id"]
    assert 'rel="nofollow ugc"' in reply.json()["body_html"]
    listed = TestClient(app).get(f"/api/papers/{ARXIV_ID}/comments").json()["results"]  # anonymous
    assert [r["id"] for r in listed] == [out["id"], reply.json()["id"]]
    assert all("example.org" not in (r["author"] or "") for r in listed)
    # reply + mention of the same reader: one event, one mail
    assert flush(store, settings) == 1 and flush(store, settings) == 0
    rows = store.conn.execute("SELECT recipient, message FROM outbox WHERE kind='notify'").fetchall()
    assert [r[0] for r in rows] == ["ada@example.org"]
    text = email.message_from_bytes(bytes(rows[0][1])).get_payload()[0].get_payload(decode=True).decode()
    assert "@bob replied to your comment" in text and f"#comment-{reply.json()['id']}" in text
    # the page itself shows no address either
    page = c2.get(f"/papers/{ARXIV_ID}")
    assert "ada@example.org" not in page.text and "bob@example.org" not in page.text


def test_a_mention_alone_notifies_and_self_mentions_do_not(site):
    settings, store, app = site
    _reader(app, store, "ada@example.org", "ada")
    bob, c2, t2 = _reader(app, store, "bob@example.org", "bob")
    assert _post(c2, t2, "cc @ADA and @bob and @nobody_here").status_code == 201
    assert flush(store, settings) == 1
    assert [r[0] for r in store.conn.execute("SELECT recipient FROM outbox WHERE kind='notify'")] == ["ada@example.org"]


def test_curator_hides_a_comment_and_it_is_gone_with_an_audit_row(site):
    settings, store, app = site
    ada, c1, t1 = _reader(app, store, "ada@example.org", "ada")
    cur, _, _ = _reader(app, store, "cur@example.org", "cura", role="curator")
    cid = _post(c1, t1, "spam spam").json()["id"]
    from paperwire.community import comments

    assert comments.report(store, cur, cid) is True and comments.report(store, cur, cid) is False
    assert [r[0].id for r in store.comments.reported()] == [cid]
    with pytest.raises(comments.CommentError):
        comments.moderate(store, ada, cid, "hide")
    comments.moderate(store, store.accounts.get(cur.id), cid, "hide", "spam")
    assert TestClient(app).get(f"/api/papers/{ARXIV_ID}/comments").json()["results"] == []
    assert "spam spam" not in TestClient(app).get(f"/papers/{ARXIV_ID}").text
    assert store.comments.reported() == []
    assert store.community.audit_log(limit=1)[0].action == "comment-hide"
    # a reply to a hidden comment is refused
    assert _post(c1, t1, "again", parent=cid).status_code == 404


def test_delete_leaves_deleted_with_replies_and_lock_stops_replies(site):
    settings, store, app = site
    ada, c1, t1 = _reader(app, store, "ada@example.org", "ada")
    bob, c2, t2 = _reader(app, store, "bob@example.org", "bob")
    cur, _, _ = _reader(app, store, "cur@example.org", "cura", role="curator")
    from paperwire.community import comments

    top = _post(c1, t1, "first").json()["id"]
    r1 = _post(c2, t2, "a reply").json()["id"]  # not a reply: a second thread
    rep = _post(c2, t2, "reply", parent=top).json()["id"]
    nested = _post(c1, t1, "reply to a reply joins the thread", parent=rep).json()
    assert nested["parent"] == top
    with pytest.raises(comments.CommentError):
        comments.delete(store, bob, top)  # not bob's
    comments.edit(store, ada, top, "first, edited")
    assert store.comments.get(top).edited_at is not None
    comments.delete(store, ada, top)
    got = {r["id"]: r for r in TestClient(app).get(f"/api/papers/{ARXIV_ID}/comments").json()["results"]}
    assert got[top]["deleted"] is True and got[top]["body"] is None and got[top]["author"] is None
    assert rep in got and r1 in got
    comments.delete(store, bob, r1)  # no replies: gone
    got = {r["id"] for r in TestClient(app).get(f"/api/papers/{ARXIV_ID}/comments").json()["results"]}
    assert r1 not in got
    assert _post(c2, t2, "more", parent=top).status_code == 404  # deleted: no new replies
    open_ = _post(c1, t1, "a thread to lock").json()["id"]
    assert _post(c2, t2, "before the lock", parent=open_).status_code == 201
    comments.moderate(store, store.accounts.get(cur.id), open_, "lock")
    assert _post(c2, t2, "after the lock", parent=open_).status_code == 403


def test_limits_and_refusals(site):
    settings, store, app = site
    ada, c1, t1 = _reader(app, store, "ada@example.org", "ada")
    assert _post(c1, t1, "x" * 10_001).status_code == 422  # the schema's bound
    assert _post(c1, t1, "é" * 5001).status_code == 413  # 10,002 bytes
    assert c1.post(f"/api/papers/{ARXIV_ID}/comments", json={"body": "no token"}).status_code == 403
    assert TestClient(app).post(f"/api/papers/{ARXIV_ID}/comments", json={"body": "anon"}).status_code == 401
    assert _post(c1, t1, "hi", paper="2501.99999").status_code == 404
    for i in range(3):
        assert _post(c1, t1, f"comment {i}").status_code == 201
    limited = _post(c1, t1, "one too many")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "60"
    assert store.conn.execute("SELECT count(*) FROM comments").fetchone()[0] == 3
    nohandle, c3, t3 = _reader(app, store, "nh@example.org", None)
    assert _post(c3, t3, "hello").status_code == 403
    bob, c2, t2 = _reader(app, store, "bob@example.org", "bob")
    store.accounts.set_status("bob@example.org", "disabled")
    assert _post(c2, t2, "hello").status_code in (401, 403)
    assert store.conn.execute("SELECT count(*) FROM comments").fetchone()[0] == 3


def test_comments_of_a_hidden_paper_are_not_found(site):
    settings, store, app = site
    ada, c1, t1 = _reader(app, store, "ada@example.org", "ada")
    cur, _, _ = _reader(app, store, "cur@example.org", "cura", role="curator")
    assert _post(c1, t1, "before").status_code == 201
    pk = store.papers.pks_for([ARXIV_ID])[ARXIV_ID]
    store.community.curate(cur.id, pk, "hide")
    assert TestClient(app).get(f"/api/papers/{ARXIV_ID}/comments").status_code == 404
    assert _post(c1, t1, "after").status_code == 404
