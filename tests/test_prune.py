"""Nothing grows without bound: the prune job (and `paperwire prune`) strips the bodies of outbox
messages older than PAPERWIRE_OUTBOX_KEEP_DAYS (the row's metadata stays), removes pending
subscribers who never confirmed once their confirmation link has expired, and expired sign-in
tokens and sessions, and reports what it removed. Real messages from the real composers, real
databases (SQLite, then PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from conftest import make_settings
from paperwire.retention import prune

NOW = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def days_ago(n: float) -> str:
    return iso(NOW - timedelta(days=n))


def rows(store, sql, *args):
    return [tuple(r) for r in store.conn.execute(sql, args)]


@pytest.fixture
def settings(tmp_path, db_url):
    return make_settings(tmp_path, db_url).with_(secret_key="s" * 40, base_url="https://papers.example.org")


def queue_message(store, settings, n: int, status: str, age_days: float) -> int:
    """A real digest-sized message (~20 kB), queued, then given ``status`` ``age_days`` ago."""
    from paperwire.mail.message import build_message

    body = "\n".join(
        f"* Paper {i}: a title that is about as long as a real one is, by A. Author et al." for i in range(250)
    )
    msg = build_message(
        settings,
        to=f"r{n}@example.org",
        subject=f"Digest {n}",
        text=body,
        html=f"<pre>{body}</pre>",
        message_id=f"<digest.{n}@papers.example.org>",
    )
    oid = store.outbox.insert(
        kind="digest", recipient=f"r{n}@example.org", message_id=f"<digest.{n}@papers.example.org>", message=msg
    )
    at = days_ago(age_days)
    with store.transaction() as c:
        c.execute(
            "UPDATE outbox SET status=?, created_at=?, next_attempt_at=?, sent_at=?, attempts=? WHERE id=?",
            (status, at, at, at if status == "sent" else None, 1, oid),
        )
    return oid


def test_old_outbox_bodies_are_dropped_and_their_metadata_kept(store, settings):
    assert settings.outbox_keep_days == 14
    ids = {
        "old sent": queue_message(store, settings, 1, "sent", 20),
        "old failed": queue_message(store, settings, 2, "failed", 15),
        "old cancelled": queue_message(store, settings, 3, "cancelled", 30),
        "recent sent": queue_message(store, settings, 4, "sent", 13),
        "old but queued": queue_message(store, settings, 5, "queued", 20),
        "old but sending": queue_message(store, settings, 6, "sending", 20),
    }
    before = {
        oid: rows(
            store,
            "SELECT kind, recipient, message_id, status, attempts, created_at, sent_at, "
            "length(message) FROM outbox WHERE id=?",
            oid,
        )[0]
        for oid in ids.values()
    }
    assert all(r[-1] > 15_000 for r in before.values())

    counts = prune(store, settings, now=NOW)

    assert counts["outbox_bodies"] == 3
    for what, oid in ids.items():
        (meta,) = rows(
            store,
            "SELECT kind, recipient, message_id, status, attempts, created_at, sent_at, "
            "length(message), body_pruned_at FROM outbox WHERE id=?",
            oid,
        )
        assert meta[:7] == before[oid][:7], what  # who, what, when and how it went: all kept
        if what.startswith("old") and "but" not in what:
            assert (meta[7], meta[8]) == (0, iso(NOW)), what
        else:
            assert (meta[7], meta[8]) == (before[oid][7], None), what
    assert store.outbox.counts()["sent"] == 2
    assert prune(store, settings, now=NOW)["outbox_bodies"] == 0  # nothing twice
    # a longer PAPERWIRE_OUTBOX_KEEP_DAYS keeps more; the recent one goes once it is old enough
    assert prune(store, settings.with_(outbox_keep_days=60), now=NOW + timedelta(days=1))["outbox_bodies"] == 0
    assert prune(store, settings, now=NOW + timedelta(days=2))["outbox_bodies"] == 1


def test_outbox_keep_days_is_read_from_the_environment(tmp_path, monkeypatch):
    from paperwire.config import load_settings
    from paperwire.errors import ConfigError

    monkeypatch.setenv("PAPERWIRE_OUTBOX_KEEP_DAYS", "3")
    assert load_settings(data_dir=tmp_path).outbox_keep_days == 3
    monkeypatch.setenv("PAPERWIRE_OUTBOX_KEEP_DAYS", "-1")
    with pytest.raises(ConfigError, match="PAPERWIRE_OUTBOX_KEEP_DAYS"):
        load_settings(data_dir=tmp_path)


def test_pending_subscribers_who_never_confirm_are_removed_after_their_link_expires(store, settings):
    from paperwire import subscriptions
    from paperwire.subscriptions import CONFIRM_MAX_AGE

    def sub(email, **kw):
        assert subscriptions.subscribe(
            store,
            settings,
            {"email": email, "query": "graph neural networks"},
            client=None,
            now=NOW.timestamp() - 10,
            **kw,
        ) in ("created", "resubscribed")
        return store.subscribers.by_email(email)

    stale, fresh, kept, back = (
        sub(e) for e in ("stale@example.org", "fresh@example.org", "kept@example.org", "back@example.org")
    )
    for s in (kept, back):
        subscriptions.confirm(store, settings, subscriptions.make_token(settings, "confirm", s))
    assert subscriptions.unsubscribe_token(
        store, settings, subscriptions.make_token(settings, "unsubscribe", store.subscribers.get(back.id))
    )
    sub("back@example.org")  # asked again, never confirmed this time: pending, but was a subscriber
    expired = iso(NOW - timedelta(seconds=CONFIRM_MAX_AGE + 60))
    with store.transaction() as c:
        c.execute("UPDATE subscribers SET created_at=?, updated_at=? WHERE email<>?", (expired, expired, fresh.email))
    assert rows(store, "SELECT count(*) FROM outbox WHERE subscriber_id=?", stale.id) == [(1,)]

    counts = prune(store, settings, now=NOW)

    assert counts["pending_subscribers"] == 1
    assert store.subscribers.by_email("stale@example.org") is None
    assert rows(store, "SELECT count(*) FROM outbox WHERE subscriber_id=?", stale.id) == [(0,)]
    assert rows(store, "SELECT count(*) FROM saved_searches WHERE subscriber_id=?", stale.id) == [(0,)]
    assert store.subscribers.by_email("fresh@example.org").status == "pending"  # its link still works
    assert store.subscribers.by_email("kept@example.org").status == "confirmed"
    assert store.subscribers.by_email("back@example.org").status == "pending"  # has a history: kept
    assert prune(store, settings, now=NOW)["pending_subscribers"] == 0
    # the address can subscribe again, and the answer is the same as for any new address
    assert subscriptions.subscribe(store, settings, {"email": "stale@example.org"}, client=None) == "created"


def test_expired_signin_tokens_and_sessions_are_removed(store, settings):
    from paperwire.accounts import signin
    from paperwire.web.session import hash_token, new_session

    for email in ("old@example.org", "new@example.org"):
        signin.request_signin(store, settings, email, client=None, now=NOW.timestamp())
    keep = max(signin.KEEP_TOKENS, 2 * signin.max_age(settings))
    with store.transaction() as c:
        c.execute(
            "UPDATE signin_tokens SET created_at=? WHERE email='old@example.org'",
            (iso(NOW - timedelta(seconds=keep + 1)),),
        )
        c.execute("UPDATE signin_tokens SET created_at=? WHERE email='new@example.org'", (iso(NOW),))
    account = store.accounts.ensure("reader@example.org")
    live, dead = new_session(store, account.id), new_session(store, account.id)
    with store.transaction() as c:
        c.execute("UPDATE sessions SET expires_at=? WHERE token_hash=?", (days_ago(1), hash_token(dead)))
        c.execute(
            "UPDATE sessions SET expires_at=? WHERE token_hash=?", (iso(NOW + timedelta(days=3)), hash_token(live))
        )

    counts = prune(store, settings, now=NOW)

    assert (counts["signin_tokens"], counts["sessions"]) == (1, 1)
    assert rows(store, "SELECT email FROM signin_tokens") == [("new@example.org",)]
    assert rows(store, "SELECT token_hash FROM sessions") == [(hash_token(live),)]
    assert store.accounts.session_account(hash_token(live), iso(NOW)).email == "reader@example.org"


def test_the_prune_job_and_command_report_what_they_removed(store, settings, tmp_path, db_url):
    from paperwire.jobs.handlers import Context, run_prune

    queue_message(store, settings, 1, "sent", 400)
    account_id = store.accounts.ensure("a@example.org").id
    with store.transaction() as c:
        c.execute(
            "INSERT INTO sessions (token_hash, account_id, created_at, expires_at, last_seen_at) VALUES "
            "('h', ?, ?, ?, ?)",
            (account_id, days_ago(400), days_ago(370), days_ago(370)),
        )
    result = run_prune(Context(store, settings), {})
    assert result["outbox_bodies"] == 1 and result["sessions"] == 1 and result["jobs"] == 0

    queue_message(store, settings, 2, "cancelled", 400)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERWIRE_")}
    env.update(PAPERWIRE_DATABASE_URL=db_url, PAPERWIRE_DATA_DIR=str(tmp_path), PAPERWIRE_OUTBOX_KEEP_DAYS="30")
    proc = subprocess.run(
        [sys.executable, "-m", "paperwire.cli", "prune"], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert "outbox bodies (older than 30 days): 1" in proc.stdout, proc.stdout
    assert "pending subscribers (never confirmed): 0" in proc.stdout and "sessions: 0" in proc.stdout
    assert rows(store, "SELECT count(*) FROM outbox WHERE length(message) > 0") == [(0,)]
