"""The outbox sender against a real SMTP server on loopback (tests/smtp_sink.py) and a real database (SQLite, then PostgreSQL)."""

from __future__ import annotations

import time
from email import message_from_bytes
from email.policy import default as default_policy

import pytest

from conftest import make_settings
from paperwire.mail.message import build_message, make_message_id
from paperwire.mail.sender import Sender, run_sender
from paperwire.storage import open_store
from smtp_sink import SmtpSink


class Clock:
    """Wall-clock time the test can move forward (backoffs and leases without sleeping)."""

    def __init__(self):
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def sink(tmp_path):
    s = SmtpSink(tmp_path / "sink.db")
    yield s
    s.stop()
    s.db.close()


@pytest.fixture
def env(tmp_path, sink, db_url):
    settings = make_settings(tmp_path, db_url).with_(
        smtp_port=sink.port, mail_rate=0, smtp_timeout=5, extra={"mail_backoff_base": 1.0, "mail_backoff_max": 4.0}
    )
    store = open_store(settings.database_url)
    yield settings, store
    store.close()


def queue(store, settings, recipient, n=0, subscriber_id=None, text="Hello"):
    mid = make_message_id(settings, "digest", f"{recipient} period {n}")
    msg = build_message(
        settings,
        to=recipient,
        subject=f"Digest {n}",
        text=f"{text} {recipient}",
        html=f"<p>{text} {recipient}</p>",
        message_id=mid,
    )
    oid = store.outbox.insert(
        kind="digest", recipient=recipient, message_id=mid, message=msg, subscriber_id=subscriber_id
    )
    return oid, mid, msg


def once(store, settings, **kw):
    with Sender(store, settings, **kw) as sender:
        return sender.run_once()


@pytest.fixture
def make_sender():
    """Senders closed at the end of the test (their SMTP connection stays open between passes)."""
    made = []

    def make(store, settings, **kw):
        made.append(Sender(store, settings, **kw))
        return made[-1]

    yield make
    for sender in made:
        sender.close()


def row(store, oid):
    return dict(store.conn.execute("SELECT * FROM outbox WHERE id=?", (oid,)).fetchone())


def add_subscriber(store, email):
    now = "2025-01-01T00:00:00Z"
    with store.transaction() as c:
        return c.execute(
            "INSERT INTO subscribers (email, status, created_at, updated_at) VALUES (?, 'confirmed', ?, ?) "
            "RETURNING id",
            (email, now, now),
        ).fetchone()[0]


def test_delivers_with_same_message_id_and_content(env, sink):
    settings, store = env
    sink.start()
    sent = [queue(store, settings, f"user{i}@example.org", i, text="Grüße") for i in range(5)]
    counts = once(store, settings)
    assert counts.sent == 5 and not counts.server_down
    got = sink.messages()
    assert [r for r, _ in got] == [f"user{i}@example.org" for i in range(5)]
    for (oid, mid, raw), (rcpt, data) in zip(sent, got, strict=True):
        assert data.rstrip(b"\r\n") == raw.rstrip(b"\r\n")  # byte for byte what was queued
        m = message_from_bytes(data, policy=default_policy)
        assert m["Message-ID"] == mid
        assert "Grüße " + rcpt in m.get_body(("plain",)).get_content()
        r = row(store, oid)
        assert (r["status"], r["attempts"], r["lease_until"]) == ("sent", 1, None) and r["sent_at"]
    assert store.outbox.counts()["sent"] == 5
    assert once(store, settings).sent == 0  # nothing is sent twice


def test_rate_is_respected(env, sink):
    settings, store = env
    sink.start()
    for i in range(11):
        queue(store, settings, f"r{i}@example.org", i)
    t0 = time.monotonic()
    counts = once(store, settings.with_(mail_rate=20))
    elapsed = time.monotonic() - t0
    assert counts.sent == 11
    assert elapsed >= 10 / 20 * 0.9, elapsed  # 11 messages at 20/s: at least 10 intervals of 50 ms


def test_server_down_then_back(env, sink, caplog, make_sender):
    settings, store = env
    clock = Clock()
    ids = [queue(store, settings, f"d{i}@example.org", i)[0] for i in range(4)]
    sender = make_sender(store, settings, clock=clock)
    counts = sender.run_once()  # nobody listens on the port
    assert counts.server_down and counts.sent == 0 and counts.retry_in > 0
    assert store.outbox.counts()["queued"] == 4
    assert all(row(store, i)["attempts"] == 0 for i in ids)  # an unreachable server costs no attempt
    said = caplog.text
    assert "refused the connection" in said and "retrying in" in said and "PAPERWIRE_SMTP_HOST/PORT" in said

    sink.start()
    counts = sender.run_once(limit=2)
    assert counts.sent == 2
    sink.stop()  # the server goes away while the sender holds an open connection
    counts = sender.run_once()
    assert counts.server_down and counts.sent == 0
    assert store.outbox.counts() == {"queued": 2, "sending": 0, "sent": 2, "failed": 0, "cancelled": 0}

    sink.start()
    clock.advance(10)
    counts = sender.run_once()
    assert counts.sent == 2
    assert sorted(r for r, _ in sink.received()) == sorted(f"d{i}@example.org" for i in range(4))


@pytest.mark.parametrize("code,stage", [(421, "rcpt"), (450, "rcpt"), (451, "data"), (421, "data")])
def test_temporary_failures_are_retried(env, sink, code, stage, make_sender):
    settings, store = env
    clock = Clock()
    sink.start()
    sink.fail_next(2, code, stage)
    oid, mid, _ = queue(store, settings, "t@example.org")
    other, _, _ = queue(store, settings, "u@example.org")
    sender = make_sender(store, settings, clock=clock)
    c1 = sender.run_once()
    assert (c1.retried, c1.sent) == (2, 0)  # both got the scripted 4xx
    r = row(store, oid)
    assert (r["status"], r["attempts"]) == ("queued", 1) and str(code) in r["last_error"]
    assert sender.run_once().sent == 0  # not due yet: backoff
    clock.advance(5)
    c3 = sender.run_once()
    assert (c3.sent, c3.retried) == (2, 0)
    r = row(store, oid)
    assert (r["status"], r["attempts"]) == ("sent", 2)
    # (jittered backoffs: either may go first)
    assert sorted(sink.received()) == [("t@example.org", mid), ("u@example.org", row(store, other)["message_id"])]


def test_gives_up_after_max_attempts(env, sink, make_sender):
    settings, store = env
    settings = settings.with_(mail_max_attempts=3)
    clock = Clock()
    sink.start()
    sink.fail_recipient("slow@example.org", 450)
    oid, _, _ = queue(store, settings, "slow@example.org")
    sender = make_sender(store, settings, clock=clock)
    for _ in range(5):
        sender.run_once()
        clock.advance(5)
    r = row(store, oid)
    assert (r["status"], r["attempts"]) == ("failed", 3)
    assert len([e for e in sink.events() if e.startswith("rcpt slow@")]) == 3
    assert store.conn.execute("SELECT count(*) FROM suppressions").fetchone()[0] == 0


def test_550_bounces_once_and_suppresses(env, sink, make_sender):
    settings, store = env
    clock = Clock()
    sink.start()
    sink.fail_recipient("Gone@Example.org", 550)
    sid = add_subscriber(store, "Gone@example.org")
    bad, _, _ = queue(store, settings, "Gone@Example.org", 1, subscriber_id=sid)
    later, _, _ = queue(store, settings, "Gone@Example.org", 2, subscriber_id=sid)
    good, gmid, _ = queue(store, settings, "fine@example.org", 1)
    sender = make_sender(store, settings, clock=clock)
    counts = sender.run_once()
    assert (counts.bounced, counts.sent) == (1, 1)
    r = row(store, bad)
    assert (r["status"], r["attempts"]) == ("failed", 1) and "550" in r["last_error"]
    assert row(store, later)["status"] == "cancelled"
    assert store.conn.execute("SELECT email FROM suppressions").fetchall()[0][0] == "Gone@example.org"
    sub = store.conn.execute("SELECT status, bounced_at FROM subscribers WHERE id=?", (sid,)).fetchone()
    assert sub["status"] == "bounced" and sub["bounced_at"]
    # never retried, and never mailed again, even when queued anew
    queue(store, settings, "gone@example.org", 3)
    for _ in range(3):
        clock.advance(3600)
        sender.run_once()
    assert len([e for e in sink.events() if "gone@" in e.lower()]) == 1
    assert sink.received() == [("fine@example.org", gmid)]
    assert store.outbox.counts() == {"queued": 0, "sending": 0, "sent": 1, "failed": 1, "cancelled": 2}


def test_554_on_data_fails_message_but_keeps_address(env, sink):
    settings, store = env
    sink.start()
    sink.fail_recipient("picky@example.org", 554, stage="data")
    oid, _, _ = queue(store, settings, "picky@example.org")
    counts = once(store, settings)
    assert counts.failed == 1 and counts.bounced == 0
    assert row(store, oid)["status"] == "failed"
    assert store.conn.execute("SELECT count(*) FROM suppressions").fetchone()[0] == 0


def test_auth_and_wrong_password(tmp_path, env, caplog):
    settings, store = env
    with SmtpSink(tmp_path / "auth-sink.db", auth="paper:secret") as sink:
        oid, mid, _ = queue(store, settings, "a@example.org")
        wrong = settings.with_(smtp_port=sink.port, smtp_user="paper", smtp_password="nope")
        counts = once(store, wrong)
        assert counts.server_down and "PAPERWIRE_SMTP_USER/PASSWORD" in caplog.text
        assert row(store, oid)["attempts"] == 0
        right = wrong.with_(smtp_password="secret")
        assert run_sender(right, store, once=True).sent == 1
        assert sink.received() == [("a@example.org", mid)]


def test_leases(env):
    settings, store = env
    for i in range(3):
        queue(store, settings, f"l{i}@example.org", i)
    now = time.time()
    first = store.outbox.claim(limit=2, lease_seconds=60, now=now)
    assert len(first) == 2
    second = store.outbox.claim(limit=5, lease_seconds=60, now=now)
    assert [m.recipient for m in second] == ["l2@example.org"]  # leased rows are not taken again
    assert store.outbox.claim(limit=5, lease_seconds=60, now=now + 30) == []
    assert store.outbox.has_due(now=now + 30) is False
    again = store.outbox.claim(limit=5, lease_seconds=60, now=now + 62)  # the leases ran out
    assert sorted(m.id for m in again) == sorted(m.id for m in first + second)
    store.outbox.mark_sent(again[0].id)
    assert store.outbox.mark_retry(again[1].id, "x", now, max_attempts=1) == "failed"
    assert store.outbox.counts()["sending"] == 1


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    import shutil
    import subprocess

    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed (needed to make a test certificate)")
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(d / "key.pem"),
            "-out",
            str(d / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )
    return d / "cert.pem", d / "key.pem"


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls(tmp_path, env, cert, security, caplog):
    settings, store = env
    with SmtpSink(tmp_path / f"{security}.db", tls=security, cert=cert[0], key=cert[1], auth="paper:secret") as sink:
        oid, mid, _ = queue(store, settings, "secure@example.org")
        s = settings.with_(smtp_port=sink.port, smtp_security=security, smtp_user="paper", smtp_password="secret")
        untrusted = once(store, s)  # the self-signed certificate is not trusted
        assert untrusted.server_down and untrusted.sent == 0 and "certificate" in caplog.text.lower()
        trusted = s.with_(extra={**s.extra, "smtp_cafile": str(cert[0])})
        assert once(store, trusted).sent == 1
        assert sink.received() == [("secure@example.org", mid)]


def test_run_forever_until_stopped(env, sink):
    import threading

    settings, store = env
    sink.start()
    stop = threading.Event()
    t = threading.Thread(
        target=run_sender,
        args=(settings.with_(extra={**settings.extra, "mail_poll_interval": 0.1}), store, stop),
        daemon=True,
    )
    t.start()
    queue(store, settings, "f1@example.org", 1)
    assert sink.wait_for(1, timeout=10) == 1
    queue(store, settings, "f2@example.org", 2)  # arrives while the sender idles
    assert sink.wait_for(2, timeout=10) == 2
    stop.set()
    t.join(timeout=5)
    assert not t.is_alive()


def test_server_that_never_answers_times_out(env, caplog):
    import socket

    settings, store = env
    with socket.socket() as silent:  # accepts connections (backlog) and never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)
        oid, _, _ = queue(store, settings, "x@example.org")
        s = settings.with_(smtp_port=silent.getsockname()[1], smtp_timeout=0.5)
        t0 = time.monotonic()
        counts = once(store, s)
        assert counts.server_down and time.monotonic() - t0 < 5
    assert "did not greet us within 0.5 s" in caplog.text or "did not answer within 0.5 s" in caplog.text
    assert row(store, oid)["status"] == "queued" and row(store, oid)["attempts"] == 0


def test_suppressed_and_unsubscribed_are_never_sent(env, sink):
    settings, store = env
    sink.start()
    with store.transaction() as c:
        c.execute(
            "INSERT INTO suppressions (email, reason, created_at) VALUES ('blocked@example.org', 'complaint', 'x')"
        )
    sid = add_subscriber(store, "left@example.org")
    blocked = [queue(store, settings, "Blocked@Example.org", i)[0] for i in range(3)]  # three at the head
    left, _, _ = queue(store, settings, "left@example.org", subscriber_id=sid)
    ok, mid, _ = queue(store, settings, "ok@example.org")
    with store.transaction() as c:
        c.execute("UPDATE subscribers SET status='unsubscribed' WHERE id=?", (sid,))
    assert run_sender(settings, store, once=True).sent == 1
    assert sink.received() == [("ok@example.org", mid)]
    assert [row(store, i)["status"] for i in blocked + [left]] == ["cancelled"] * 4
    queue(store, settings, "blocked@example.org", 9)
    assert store.outbox.cancel_suppressed() == 1


def test_connection_lost_mid_message_and_idle_421(env, sink, make_sender):
    settings, store = env
    clock = Clock()
    sink.start()
    sender = make_sender(store, settings, clock=clock)
    first, _, _ = queue(store, settings, "a@example.org", 1)
    assert sender.run_once().sent == 1  # the connection stays open
    # the server closes the idle connection with 421 at our next MAIL: reopened, not an attempt
    sink.fail_next(1, 421, "mail")
    second, _, _ = queue(store, settings, "b@example.org", 2)
    assert sender.run_once().sent == 1
    assert (row(store, second)["status"], row(store, second)["attempts"]) == ("sent", 1)
    # the server hangs up after the whole message was sent: one attempt, the pass goes on
    sink.fail_next(1, 0, "data")
    third, _, _ = queue(store, settings, "c@example.org", 3)
    fourth, _, _ = queue(store, settings, "d@example.org", 4)
    counts = sender.run_once()
    assert (counts.retried, counts.sent, counts.server_down) == (1, 1, False)
    clock.advance(5)
    assert sender.run_once().sent == 1
    assert (row(store, third)["status"], row(store, third)["attempts"]) == ("sent", 2)
    assert sorted(r for r, _ in sink.received()) == ["a@example.org", "b@example.org", "c@example.org", "d@example.org"]
    assert [e.split()[0] for e in sink.events()] == ["mail", "data"]  # both scripted failures happened
