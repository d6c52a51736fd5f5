"""Digests end to end on a real database (each backend) and the real search engine over the 64 seed
papers (+ one paper with HTML and LaTeX in its title): composing, recording, re-running,
crashing mid-run, dry runs and the message itself."""

from __future__ import annotations

import email
import email.policy
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from digest_site import digest_site, without_subscribers
from paperwire.digest.compose import Composer, digest_message_id, for_you_papers, trending_papers
from paperwire.digest.run import run_digests
from paperwire.digest.schedule import due_period, lookback_since
from paperwire.digest.types import DigestSubscriber

SEED = Path(__file__).resolve().parents[2] / "shared" / "data" / "seed-page" / "papers.jsonl"
pytestmark = pytest.mark.skipif(not SEED.exists(), reason=f"seed papers not found at {SEED}")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

DAY1, DAY2 = "2025-03-17", "2025-03-18"
XSS_TITLE = r"<script>alert(1)</script> & $\alpha<\beta$ attention for language feedback"
NOW1 = "2025-03-17T08:00:00Z"  # Monday, after 07:00 UTC
NOW2 = "2025-03-18T08:00:00Z"
SECRET = "digest-test-secret"


@pytest.fixture(scope="module")
def env(tmp_path_factory, db_urls):
    """Seed papers listed on two days (half each; every fourth one in cs.LG), one hostile paper in
    cs.CR, indexed by words and meaning."""
    root = tmp_path_factory.mktemp("digest")
    recs = [json.loads(line) for line in SEED.read_text().splitlines() if line.strip()]
    for i, r in enumerate(recs):
        r["listing_date"] = DAY1 if i < 32 else DAY2
        r["categories"] = ["cs.LG"] if i % 4 == 0 else ["stat.ML"]
    recs.append(
        {
            "id": "local:xss",
            "title": XSS_TITLE,
            "listing_date": DAY2,
            "categories": ["cs.CR"],
            "abstract": "Language models <b>learn</b> & improve from <img src=x onerror=alert(2)> feedback.",
            "authors": ["Mallory <em>O'Hara</em>"],
        }
    )
    with digest_site(root, db_urls(root / "pw.db"), recs, SECRET) as site:
        yield site


@pytest.fixture
def ctx(env):
    return without_subscribers(env)


def add_subscriber(
    store,
    email_addr,
    *,
    searches=(),
    status="confirmed",
    frequency="daily",
    send_hour=7,
    send_weekday=0,
    tz="UTC",
    trending=False,
    categories=(),
    confirmed_at="2025-03-01T00:00:00Z",
) -> int:
    with store.transaction() as c:
        sid = c.execute(
            "INSERT INTO subscribers (email, status, frequency, send_hour, send_weekday, timezone, trending, categories, "
            "created_at, updated_at, confirmed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                email_addr,
                status,
                frequency,
                send_hour,
                send_weekday,
                tz,
                int(trending),
                json.dumps(list(categories)),
                confirmed_at,
                confirmed_at,
                confirmed_at,
            ),
        ).fetchone()[0]
        c.executemany(
            "INSERT INTO saved_searches (subscriber_id, query, created_at) VALUES (?, ?, ?)",
            [(sid, q, confirmed_at) for q in searches],
        )
    return sid


def rows(store, sql, *args):
    return [tuple(r) for r in store.conn.execute(sql, args)]


def message_of(store, sid):
    ((raw,),) = rows(store, "SELECT message FROM outbox WHERE subscriber_id=?", sid)
    return email.message_from_bytes(raw, policy=email.policy.default)


def run(env, now, **kw):
    store, settings, engine = env
    return run_digests(store, kw.pop("settings", settings), engine, now=now, progress=False, **kw)


def test_digest_with_saved_search_sections(ctx):
    store, settings, engine = ctx
    sid = add_subscriber(store, "ada@example.org", searches=["differential privacy", "random walks optimization"])
    counts = run(ctx, NOW2)
    assert counts["due"] == 1 and counts["queued"] == 1, counts
    ((period, outbox_id, n),) = rows(store, "SELECT period, outbox_id, papers FROM digests WHERE subscriber_id=?", sid)
    assert period == DAY2 and outbox_id is not None and 0 < n <= 20
    assert len(rows(store, "SELECT 1 FROM sent_papers WHERE subscriber_id=? AND period=?", sid, DAY2)) == n
    msg = message_of(store, sid)
    text = msg.get_body(("plain",)).get_content()
    assert "“differential privacy”" in text and "“random walks optimization”" in text
    assert "Differential Privacy" in text  # the seed corpus's two DP papers are found
    assert msg["Subject"] == f"Paperwire: {n} new paper{'s' if n != 1 else ''} for you — Tue 18 Mar"


def test_message_parts_links_headers_and_message_id(ctx):
    store, settings, engine = ctx
    sid = add_subscriber(store, "bo@example.org", searches=["language models"], trending=True, categories=["cs.LG"])
    run(ctx, NOW2)
    msg = message_of(store, sid)
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    html = msg.get_body(("html",)).get_content()
    text = msg.get_body(("plain",)).get_content()
    pks = [r[0] for r in rows(store, "SELECT paper_pk FROM sent_papers WHERE subscriber_id=?", sid)]
    ids = [r[0] for r in rows(store, f"SELECT id FROM papers WHERE pk IN ({','.join(map(str, pks))})")]
    assert ids
    for pid in ids:
        assert f'href="https://papers.example.org/papers/{pid}"' in html
        assert f"https://papers.example.org/papers/{pid}" in text
    for part in (html, text):
        assert "https://papers.example.org/preferences?token=" in part
        assert "https://papers.example.org/unsubscribe?token=" in part
    assert "Trending" in text and "New in cs.LG" in text
    assert msg["List-Unsubscribe"].startswith("<https://papers.example.org/unsubscribe/one-click?token=")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["Message-ID"] == digest_message_id(settings, sid, DAY2)
    assert msg["To"] == "bo@example.org" and "digest@papers.example.org" in msg["From"]
    # HTML: inline styles only, nothing fetched from elsewhere
    assert "<link" not in html and "<script" not in html and "<img" not in html and "<style" not in html


def test_hostile_title_is_escaped_in_html(ctx):
    store, settings, engine = ctx
    sid = add_subscriber(store, "eve@example.org", categories=["cs.CR"])
    run(ctx, NOW2)
    msg = message_of(store, sid)
    html = msg.get_body(("html",)).get_content()
    assert "<script>" not in html and "<img" not in html and "<em>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; $\\alpha&lt;\\beta$" in html
    assert 'href="https://papers.example.org/papers/local:xss"' in html
    assert XSS_TITLE in msg.get_body(("plain",)).get_content()


def test_no_paper_twice_across_consecutive_digests(ctx):
    store, settings, engine = ctx
    sid = add_subscriber(
        store, "cy@example.org", searches=["learning", "neural networks"], trending=True, categories=["stat.ML"]
    )
    assert run(ctx, NOW1)["queued"] == 1
    assert run(ctx, NOW2)["queued"] == 1
    by_period = {}
    for pk, period in rows(store, "SELECT paper_pk, period FROM sent_papers WHERE subscriber_id=?", sid):
        by_period.setdefault(period, set()).add(pk)
    assert set(by_period) == {DAY1, DAY2} and all(by_period.values())
    assert not (by_period[DAY1] & by_period[DAY2])
    # what the second message lists is exactly what was recorded for it
    ((raw,),) = rows(store, "SELECT message FROM outbox o JOIN digests d ON d.outbox_id=o.id WHERE d.period=?", DAY2)
    text = email.message_from_bytes(raw, policy=email.policy.default).get_body(("plain",)).get_content()
    ids = {r[0]: r[1] for r in rows(store, "SELECT pk, id FROM papers")}
    listed = {line.strip() for line in text.splitlines()}
    assert {pk for pk in ids if f"https://papers.example.org/papers/{ids[pk]}" in listed} == by_period[DAY2]


def test_nothing_new_records_without_message_unless_send_empty(ctx):
    store, settings, engine = ctx
    quiet = add_subscriber(store, "quiet@example.org", searches=["zqxjv wkrpt"])
    counts = run(ctx, NOW2)
    assert counts["empty"] == 1 and counts["queued"] == 0
    assert rows(store, "SELECT outbox_id, papers FROM digests WHERE subscriber_id=?", quiet) == [(None, 0)]
    assert rows(store, "SELECT count(*) FROM outbox") == [(0,)]
    loud = add_subscriber(store, "loud@example.org", searches=["zqxjv wkrpt"])
    counts = run(ctx, NOW2, settings=settings.with_(digest_send_empty=True))
    assert counts["queued"] == 1 and counts["due"] == 1  # `quiet` is recorded for the period already
    msg = message_of(store, loud)
    assert msg["Subject"] == "Paperwire: nothing new for you — Tue 18 Mar"
    assert "Nothing new matched" in msg.get_body(("plain",)).get_content()
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_rerun_same_period_queues_nothing_and_only_due_subscribers_get_one(ctx):
    store, settings, engine = ctx
    a = add_subscriber(store, "a@example.org", searches=["privacy"])
    add_subscriber(store, "pending@example.org", searches=["privacy"], status="pending")
    add_subscriber(store, "gone@example.org", searches=["privacy"], status="unsubscribed")
    add_subscriber(store, "bounced@example.org", searches=["privacy"], status="bounced")
    add_subscriber(store, "later@example.org", searches=["privacy"], send_hour=9, confirmed_at="2025-03-17T12:00:00Z")
    first = run(ctx, NOW2)
    assert first["subscribers"] == 2 and first["due"] == 1 and first["queued"] == 1
    before = rows(store, "SELECT id, message_id FROM outbox")
    again = run(ctx, "2025-03-18T08:30:00Z")
    assert again["due"] == 0 and again["queued"] == 0
    assert rows(store, "SELECT id, message_id FROM outbox") == before
    assert rows(store, "SELECT count(*) FROM digests WHERE subscriber_id=?", a) == [(1,)]
    # a second run that composed the same period anyway (a concurrent run) records nothing twice
    sub = next(store.digests.iter_subscribers())[0]
    from paperwire.digest.types import DigestRecord

    assert store.digests.record([DigestRecord(a, DAY2, [1, 2], NOW2, "a@example.org", "<x@y>", b"x")]) == [-1]
    assert rows(store, "SELECT count(*) FROM outbox") == [(1,)]
    assert sub.id == a


def test_dry_run_writes_nothing(ctx, capsys):
    import io

    store, settings, engine = ctx
    add_subscriber(store, "dry@example.org", searches=["differential privacy"])
    out = io.StringIO()
    counts = run(ctx, NOW2, dry_run=True, out=out)
    assert counts["queued"] == 1
    printed = out.getvalue()
    assert "dry@example.org" in printed and "Paperwire:" in printed and "“differential privacy”" in printed
    assert "Differential Privacy" in printed
    for t in ("digests", "sent_papers", "outbox"):
        assert rows(store, f"SELECT count(*) FROM {t}") == [(0,)]


def test_weekly_and_time_zones_in_a_run(ctx):
    store, settings, engine = ctx
    weekly = add_subscriber(store, "w@example.org", searches=["privacy"], frequency="weekly", send_weekday=1)
    tokyo = add_subscriber(store, "t@example.org", searches=["privacy"], tz="Asia/Tokyo", send_hour=7)
    la = add_subscriber(store, "la@example.org", searches=["privacy"], tz="America/Los_Angeles", send_hour=7)
    run(ctx, "2025-03-17T23:00:00Z")  # Tokyo: Tue 18 08:00; LA: Mon 17 16:00; weekly (Tue 07:00 UTC): W11's
    got = dict(rows(store, "SELECT subscriber_id, period FROM digests"))
    assert got == {weekly: "2025-W11", tokyo: DAY2, la: DAY1}
    run(ctx, "2025-03-18T07:00:00Z")
    got = sorted(rows(store, "SELECT subscriber_id, period FROM digests"))
    assert (weekly, "2025-W12") in got and len(got) == 4  # LA's 18th comes at 14:00 UTC


def test_trending_papers_function(ctx):
    store, settings, engine = ctx
    # nobody voted: the trending score is the base engagement decaying with age, so the newer
    # day's 33 papers come first, then the older day's 32
    found = trending_papers(store, DAY1, [], 100)
    assert [p.announced for _, p in found] == [DAY2] * 33 + [DAY1] * 32
    found = trending_papers(store, DAY1, ["cs.CR"], 10)
    assert [p.id for _, p in found] == ["local:xss"]
    assert {p.announced for _, p in trending_papers(store, DAY1, ["nonexistent.XX"], 5)} == {DAY2}  # falls back


def test_for_you_section_from_the_readers_library(ctx):
    """A subscriber whose address has an account with a library gets a "For you" section from the
    real recommender, with the saved paper that explains each entry; no paper twice."""
    store, settings, engine = ctx
    account = store.accounts.ensure("lib@example.org")
    saved = [pk for pk, p in store.papers.get_many(list(range(1, 66))).items() if "privacy" in p.title.lower()][:2]
    assert saved
    for pk in saved:
        store.library.save(account.id, pk)
    sid = add_subscriber(store, "lib@example.org", trending=True)
    run(ctx, NOW2)
    text = message_of(store, sid).get_body(("plain",)).get_content()
    assert "== For you ==" in text and "Because you saved “" in text and "== Trending ==" in text
    assert "https://papers.example.org/for-you" in text
    sent = [r[0] for r in rows(store, "SELECT paper_pk FROM sent_papers WHERE subscriber_id=?", sid)]
    assert len(sent) == len(set(sent))
    for_you = for_you_papers(store, "lib@example.org", DAY1, 10)
    assert for_you and not {pk for pk, _, _ in for_you} & set(saved)
    assert {because for _, _, because in for_you} <= {p.title for p in store.papers.get_many(saved).values()}


def test_composer_caches_searches_across_subscribers(ctx):
    store, settings, engine = ctx
    composer = Composer(store, settings, engine)
    subs = [DigestSubscriber(id=i, email=f"s{i}@example.org", confirmed_at="2025-03-01T00:00:00Z") for i in range(50)]
    for s in subs:
        due = due_period(s, datetime.fromisoformat("2025-03-18T08:00:00+00:00"))
        composer.compose(s, due, lookback_since(s, due), ["privacy", "graph neural networks"], set())
    assert composer.searches_run == 2


def test_kill_9_mid_run_then_rerun(ctx, tmp_path):
    """kill -9 a `paperwire digest run` mid-run; the next run completes it: exactly one digest row
    and one outbox row per subscriber for the period, sent_papers matching the digest."""
    store, settings, engine = ctx
    n = 3000
    queries = [
        "privacy",
        "graph neural networks",
        "language models",
        "random walks",
        "reinforcement learning",
        "optimization",
        "transformers attention",
        "bayesian inference",
    ]
    with store.transaction() as c:
        c.executemany(
            "INSERT INTO subscribers (email, status, trending, categories, created_at, updated_at, confirmed_at) "
            "VALUES (?, 'confirmed', ?, ?, ?, ?, ?)",
            [
                (
                    f"user{i}@example.org",
                    i % 2,
                    json.dumps(["cs.LG"] if i % 3 == 0 else []),
                    "2025-03-01T00:00:00Z",
                    "2025-03-01T00:00:00Z",
                    "2025-03-01T00:00:00Z",
                )
                for i in range(n)
            ],
        )
        ids = [r[0] for r in c.execute("SELECT id FROM subscribers ORDER BY id")]
        c.executemany(
            "INSERT INTO saved_searches (subscriber_id, query, created_at) VALUES (?, ?, '2025-03-01')",
            [(sid, queries[(sid + k) % len(queries)]) for sid in ids for k in range(1 + sid % 3)],
        )
    env = {
        **os.environ,
        "PAPERWIRE_DATABASE_URL": settings.database_url,
        "PAPERWIRE_DATA_DIR": str(settings.data_dir),
        "PAPERWIRE_INDEX_DIR": str(settings.index_dir),
        "PAPERWIRE_SECRET_KEY": SECRET,
        "PAPERWIRE_BASE_URL": settings.base_url,
        "PAPERWIRE_MAIL_FROM": settings.mail_from,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "paperwire.cli", "digest", "run", "--now", NOW2, "-q"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    probe = store.conn  # reads while the run writes: another connection (SQLite WAL), a pooled one (PostgreSQL)
    deadline = time.monotonic() + 120
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if probe.execute("SELECT count(*) FROM digests").fetchone()[0] > 0:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.01)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]
    partial = probe.execute("SELECT count(*) FROM digests").fetchone()[0]
    assert 0 < partial < n, partial
    # every recorded digest is whole: its outbox row and its sent papers are there
    assert (
        probe.execute("SELECT count(*) FROM outbox").fetchone()[0]
        == probe.execute("SELECT count(*) FROM digests WHERE outbox_id IS NOT NULL").fetchone()[0]
    )

    counts = run(ctx, NOW2)
    assert counts["due"] == n - partial and counts["errors"] == 0
    assert rows(store, "SELECT count(*), count(DISTINCT subscriber_id) FROM digests WHERE period=?", DAY2) == [(n, n)]
    assert rows(store, "SELECT count(*) FROM digests WHERE outbox_id IS NULL") == [(0,)]
    assert rows(store, "SELECT count(*), count(DISTINCT subscriber_id) FROM outbox WHERE kind='digest'") == [(n, n)]
    assert rows(
        store, "SELECT count(*) FROM digests d JOIN outbox o ON o.id=d.outbox_id WHERE o.subscriber_id=d.subscriber_id"
    ) == [(n,)]
    mismatched = rows(
        store,
        "SELECT d.subscriber_id FROM digests d LEFT JOIN (SELECT subscriber_id, count(*) AS k "
        "FROM sent_papers WHERE period=? GROUP BY subscriber_id) s USING (subscriber_id) "
        "WHERE coalesce(s.k, 0) != d.papers",
        DAY2,
    )
    assert mismatched == []
    assert run(ctx, NOW2)["due"] == 0  # and once more: nothing


def test_cli_dry_run_prints_and_writes_nothing(ctx):
    from click.testing import CliRunner

    from paperwire.cli import main

    store, settings, engine = ctx
    add_subscriber(store, "cli@example.org", searches=["differential privacy"])
    env = {
        "PAPERWIRE_DATABASE_URL": settings.database_url,
        "PAPERWIRE_DATA_DIR": str(settings.data_dir),
        "PAPERWIRE_INDEX_DIR": str(settings.index_dir),
        "PAPERWIRE_SECRET_KEY": SECRET,
        "PAPERWIRE_BASE_URL": settings.base_url,
    }
    result = CliRunner().invoke(main, ["digest", "run", "--dry-run", "--now", NOW2, "-q"], env=env)
    assert result.exit_code == 0, result.output
    assert "cli@example.org" in result.output and "“differential privacy”" in result.output
    assert "would queue 1" in result.output
    assert rows(store, "SELECT count(*) FROM digests") == [(0,)]
    result = CliRunner().invoke(main, ["digest", "run", "--now", "yesterday"], env=env)
    assert result.exit_code == 2 and "is not a time" in result.output


def test_scheduler_thread_records_todays_digest(ctx):
    import threading

    from paperwire.digest.run import start_scheduler

    store, settings, engine = ctx
    sid = add_subscriber(store, "sched@example.org", searches=["privacy"], send_hour=0)
    stop = threading.Event()
    thread = start_scheduler(store, settings, engine, stop, interval=0.5)
    try:
        deadline = time.monotonic() + 30
        while not rows(store, "SELECT 1 FROM digests WHERE subscriber_id=?", sid) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    today = datetime.now(tz=__import__("datetime").timezone.utc).date().isoformat()
    assert [r[0] for r in rows(store, "SELECT period FROM digests WHERE subscriber_id=?", sid)] == [today]


def test_worker_queues_and_delivers_until_sigterm(ctx):
    """`paperwire worker`: the scheduler records today's digest, the sender delivers it to a local
    SMTP server; SIGTERM stops both."""
    pytest.importorskip("paperwire.mail.sender")
    from aiosmtpd.controller import Controller

    store, settings, engine = ctx
    sid = add_subscriber(store, "worker@example.org", searches=["privacy"], send_hour=0)
    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append((envelope.rcpt_tos, envelope.content))
            return "250 OK"

    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        env = {
            **os.environ,
            "PAPERWIRE_DATABASE_URL": settings.database_url,
            "PAPERWIRE_DATA_DIR": str(settings.data_dir),
            "PAPERWIRE_INDEX_DIR": str(settings.index_dir),
            "PAPERWIRE_SECRET_KEY": SECRET,
            "PAPERWIRE_BASE_URL": settings.base_url,
            "PAPERWIRE_SMTP_HOST": "127.0.0.1",
            "PAPERWIRE_SMTP_PORT": str(port),
            "PAPERWIRE_DIGEST_SEND_EMPTY": "1",
        }  # the corpus is from 2025: nothing is new today
        proc = subprocess.Popen(
            [sys.executable, "-m", "paperwire.cli", "worker", "--interval", "1"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while not received and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.1)
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, out.decode()[-3000:]
        assert b"worker stopped" in out
    finally:
        controller.stop()
    assert len(received) == 1 and received[0][0] == ["worker@example.org"]
    ((outbox_id,),) = rows(store, "SELECT outbox_id FROM digests WHERE subscriber_id=?", sid)
    assert rows(store, "SELECT status FROM outbox WHERE id=?", outbox_id) == [("sent",)]
