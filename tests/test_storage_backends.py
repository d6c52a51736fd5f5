"""The storage interface, the same tests against both backends (``any_store``, conftest's ``store``:
SQLite, then a PostgreSQL server the tests start themselves, tests/pg_server.py), plus what only PostgreSQL
needs proving: concurrent writers (change-feed order, SKIP LOCKED claims) and schema parity."""

from __future__ import annotations

import socket
import threading
import time
from importlib import resources

import pytest

from paperwire.digest.types import DigestRecord
from paperwire.models import Paper
from paperwire.subscriptions import lifecycle
from paperwire.subscriptions.types import RateLimited, TooManySavedSearches

T0 = 1_764_000_000.0  # a fixed "now" (2025-11-24T16:00:00Z) for outbox times


def paper(i: int, **kw) -> Paper:
    d = dict(
        id=f"2501.{i:05d}",
        title=f"Paper {i}",
        abstract=f"Abstract {i}",
        version=1,
        source="test",
        authors=[f"Author {i}", "Zoë Ünicode"],
        categories=["cs.CL", "cs.LG"],
        primary_category="cs.CL",
        submitted=f"2025-01-{1 + i % 28:02d}T10:00:00Z",
        announced=f"2025-01-{1 + i % 28:02d}",
    )
    d.update(kw)
    return Paper(**d)


# -- papers -----------------------------------------------------------------------------------
def test_upsert_insert_unchanged_update_and_version_rules(any_store):
    s = any_store
    r = s.papers.upsert([paper(1), paper(2)])
    assert (r.inserted, r.updated, r.unchanged) == (2, 0, 0)
    assert s.papers.count() == 2
    assert s.papers.get("2501.00001").authors == ["Author 1", "Zoë Ünicode"]

    r = s.papers.upsert([paper(1), paper(2)])  # the same again: nothing changes, no seq bump
    assert (r.inserted, r.updated, r.unchanged) == (0, 0, 2)
    assert s.papers.max_seq() == 2

    # v2 replaces v1 and keeps the first-submitted date
    r = s.papers.upsert([paper(1, version=2, title="Paper 1, revised", submitted="2025-02-01T00:00:00Z")])
    assert (r.inserted, r.updated) == (0, 1)
    p = s.papers.get("2501.00001")
    assert (p.version, p.title, p.submitted) == (2, "Paper 1, revised", "2025-01-02T10:00:00Z")
    assert s.papers.max_seq() == 3

    # an older version than the stored one is ignored
    r = s.papers.upsert([paper(1, version=1, title="stale")])
    assert r.unchanged == 1 and s.papers.get("2501.00001").title == "Paper 1, revised"


def test_upsert_duplicates_state_and_errors_in_one_transaction(any_store):
    s = any_store
    run = s.papers.start_run("jsonl:/x")
    r = s.papers.upsert(
        [paper(1), paper(2), paper(1, title="again")],
        run_id=run,
        state=("jsonl:/x", {"offset": 42}),
        errors=[("line 3", "no title")],
    )
    assert (r.inserted, r.duplicates) == (2, ["2501.00001"])
    assert s.papers.get("2501.00001").title == "Paper 1"
    assert s.papers.source_state("jsonl:/x") == {"offset": 42}
    assert s.papers.run_errors(run) == [("line 3", "no title")]

    # a failing batch leaves nothing behind: papers, state and errors roll back together
    bad = paper(3)
    bad.title = None  # NOT NULL violated on insert
    with pytest.raises(Exception):  # noqa: B017  (each backend raises its own driver's IntegrityError)
        s.papers.upsert([paper(4), bad], run_id=run, state=("jsonl:/x", {"offset": 99}), errors=[("line 9", "x")])
    assert s.papers.count() == 2
    assert s.papers.get("2501.00004") is None
    assert s.papers.source_state("jsonl:/x") == {"offset": 42}
    assert s.papers.run_errors(run) == [("line 3", "no title")]


def test_paper_reads(any_store):
    s = any_store
    s.papers.upsert(
        [paper(i) for i in range(1, 8)] + [paper(30, announced="2025-01-03", submitted=None, categories=["HEP-TH"])]
    )
    pks = s.papers.pks_for(["2501.00001", "2501.00002", "nope"])
    assert set(pks) == {"2501.00001", "2501.00002"}
    got = s.papers.get_many(list(pks.values()) + [999_999])
    assert {p.id for p in got.values()} == {"2501.00001", "2501.00002"}
    assert s.papers.latest_day() == "2025-01-08"
    assert s.papers.neighbor_days("2025-01-03") == ("2025-01-02", "2025-01-04")
    assert s.papers.neighbor_days("2025-01-08") == ("2025-01-07", None)
    # newest submitted first, a paper without a submitted date last (SQLite: NULL sorts lowest)
    assert [p.id for p in s.papers.on_day("2025-01-03")] == ["2501.00002", "2501.00030"]
    assert s.papers.count_on_day("2025-01-03") == 2
    assert s.papers.on_day("2025-01-03", limit=1, offset=1)[0].id == "2501.00030"
    assert s.papers.day_counts("hep")["2025-01-03"] == 1  # prefix match ignores ASCII case on both backends
    assert s.papers.day_counts("cs", since="2025-01-07") == {"2025-01-07": 1, "2025-01-08": 1}
    assert sum(s.papers.day_counts().values()) == 8
    seen = [pk for batch in s.papers.iter(batch=3) for pk, _ in batch]
    assert len(seen) == 8 and seen == sorted(seen)


def test_change_feed_and_index_state(any_store):
    s = any_store
    s.papers.upsert([paper(1), paper(2), paper(3)])
    s.papers.upsert([paper(2, version=2, title="Paper 2 v2")])
    changes = s.papers.changes_since(0)
    assert [c.paper.id for c in changes] == ["2501.00001", "2501.00003", "2501.00002"]
    seqs = [c.seq for c in changes]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    assert changes[-1].text_hash == changes[-1].paper.text_hash()
    assert s.papers.count_changes_since(seqs[0]) == 2
    assert [c.paper.id for c in s.papers.changes_since(seqs[0], limit=1)] == ["2501.00003"]
    assert s.papers.max_seq() == seqs[-1]
    assert s.papers.index_state("lexical") == (0, {})
    s.papers.set_index_state("lexical", seqs[1], {"docs": 2})
    s.papers.set_index_state("lexical", seqs[2], {"docs": 3})
    assert s.papers.index_state("lexical") == (seqs[2], {"docs": 3})


def test_embeddings(any_store):
    s = any_store
    s.papers.upsert([paper(1), paper(2), paper(3)])
    pks = sorted(s.papers.pks_for(["2501.00001", "2501.00002", "2501.00003"]).values())
    vec = lambda b: bytes([b]) * 16  # noqa: E731
    s.papers.put_embeddings([(pks[0], "h1", vec(1)), (pks[1], "h2", vec(2))], model="m")
    s.papers.put_embeddings([(pks[0], "h1b", vec(9))], model="m2")  # replaces
    assert s.papers.count_embeddings() == 2
    assert s.papers.embedding_hashes(pks) == {pks[0]: "h1b", pks[1]: "h2"}
    assert s.papers.embeddings([pks[0]]) == {pks[0]: vec(9)}
    assert isinstance(s.papers.embeddings([pks[1]])[pks[1]], bytes)
    assert [row for batch in s.papers.iter_embeddings(batch=1) for row in batch] == [(pks[0], vec(9)), (pks[1], vec(2))]


def test_runs_and_errors(any_store):
    s = any_store
    a, b = s.papers.start_run("src:a"), s.papers.start_run("src:b")
    assert b > a
    s.papers.add_errors(a, [(f"line {i}", f"reason {i}") for i in range(5)])
    s.papers.add_errors(a, [])
    assert s.papers.run_errors(a, limit=2) == [("line 0", "reason 0"), ("line 1", "reason 1")]
    assert s.papers.run_errors(b) == []
    s.papers.finish_run(a, "done", {"inserted": 3})
    assert s.papers.source_state("src:a") is None
    s.papers.set_source_state("src:a", {"until": "2025-01-01"})
    s.papers.set_source_state("src:a", {"until": "2025-01-02"})
    assert s.papers.source_state("src:a") == {"until": "2025-01-02"}


# -- subscribers ------------------------------------------------------------------------------
def _compose(sub, n):
    return ("confirm", f"<confirm-{sub.id}-{n}@test>", f"To: {sub.email}\r\n\r\nconfirm {n}".encode())


def _subscribe(s, email, *, query=None, limits=(), now=T0, **prefs):
    return lifecycle.request(
        s, email=email, prefs=prefs, query=query, limits=list(limits), now=now, compose=_compose, max_saved=2
    )


def test_subscriber_flow(any_store):
    s = any_store
    outcome, oid = _subscribe(
        s, "ann@example.org", query="graph neural networks", frequency="weekly", categories=["cs.LG"], trending=False
    )
    assert outcome == "created" and oid is not None
    sub = s.subscribers.by_email("ann@example.org")
    assert (sub.status, sub.frequency, sub.categories, sub.trending) == ("pending", "weekly", ["cs.LG"], False)
    assert [q.query for q in s.subscribers.saved_searches(sub.id)] == ["graph neural networks"]
    assert _subscribe(s, "ann@example.org")[0] == "pending"
    assert lifecycle.confirm(s, sub.id, sub.token_version + 1) is None  # stale link
    assert lifecycle.confirm(s, sub.id, sub.token_version).status == "confirmed"
    assert _subscribe(s, "ann@example.org", frequency="daily")[0] == "confirmed"
    assert s.subscribers.get(sub.id).frequency == "weekly"  # a third party changed nothing
    assert [x.id for x in s.subscribers.list()] == [sub.id]

    assert lifecycle.update_preferences(s, sub.id, 0, {"send_hour": 9, "timezone": "Europe/Berlin"}).send_hour == 9
    extra = lifecycle.add_saved_search(s, sub.id, 0, "diffusion", max_saved=2)
    assert lifecycle.add_saved_search(s, sub.id, 0, "diffusion", max_saved=2) == extra  # identical: unchanged
    with pytest.raises(TooManySavedSearches):
        lifecycle.add_saved_search(s, sub.id, 0, "third", max_saved=2)
    assert s.subscribers.count_saved(sub.id) == 2
    assert lifecycle.remove_saved_search(s, sub.id, 0, extra.id) is True
    assert lifecycle.remove_saved_search(s, sub.id, 0, extra.id) is False

    queued = s.outbox.insert(
        kind="digest", recipient=sub.email, message_id="<d1@test>", message=b"x", subscriber_id=sub.id
    )
    assert lifecycle.unsubscribe(s, sub.id, 0) is True
    after = s.subscribers.get(sub.id)
    assert (after.status, after.token_version) == ("unsubscribed", 1)
    assert lifecycle.unsubscribe(s, sub.id, 0) is False  # every earlier link stopped working
    assert s.outbox.counts()["cancelled"] >= 1 and queued is not None
    assert _subscribe(s, "ann@example.org")[0] == "resubscribed"


def test_subscribe_rate_limit_and_suppression_change_nothing(any_store):
    s = any_store
    limits = [("ip:1", 2, 3600.0)]
    _subscribe(s, "a@example.org", limits=limits)
    _subscribe(s, "b@example.org", limits=limits, now=T0 + 1)
    with pytest.raises(RateLimited):
        _subscribe(s, "c@example.org", limits=limits, now=T0 + 2)
    assert s.subscribers.by_email("c@example.org") is None
    assert _subscribe(s, "c@example.org", limits=limits, now=T0 + 3601)[0] == "created"  # window passed

    oid = s.outbox.insert(kind="confirm", recipient="Bounce@Example.org", message_id="<b@test>", message=b"x")
    s.outbox.mark_bounced(oid, "550 no such user")
    assert _subscribe(s, "Bounce@example.org") == ("blocked", None)  # domain case: same address
    assert s.subscribers.by_email("Bounce@example.org") is None


# -- outbox -----------------------------------------------------------------------------------
def _queue(s, n, recipient="r{}@example.org"):
    return [
        s.outbox.insert(
            kind="confirm", recipient=recipient.format(i), message_id=f"<m{i}@test>", message=f"message {i}".encode()
        )
        for i in range(n)
    ]


def test_outbox_claim_lease_retry(any_store):
    s = any_store
    ids = _queue(s, 4)
    assert s.outbox.insert(kind="confirm", recipient="x@example.org", message_id="<m0@test>", message=b"dup") is None
    assert s.outbox.has_due(now=T0 + 10**9) and not s.outbox.has_due(now=0)
    now = time.time() + 1
    first = s.outbox.claim(limit=3, lease_seconds=60, now=now)
    assert [m.id for m in first] == ids[:3] and first[0].message == b"message 0"
    assert [m.id for m in s.outbox.claim(limit=5, lease_seconds=60, now=now)] == [ids[3]]
    assert s.outbox.claim(limit=5, lease_seconds=60, now=now + 30) == []
    assert s.outbox.counts()["sending"] == 4
    s.outbox.mark_sent(ids[0], now=now)
    assert s.outbox.mark_retry(ids[1], "421 busy", now + 100) == "queued"
    assert s.outbox.mark_retry(ids[2], "421 busy", now + 100, max_attempts=1) == "failed"
    s.outbox.release(ids[3], "shutting down")
    assert s.outbox.claim(limit=5, lease_seconds=60, now=now + 50)[0].id == ids[3]
    again = s.outbox.claim(limit=5, lease_seconds=60, now=now + 111)  # lease of ids[3] ran out, ids[1] due
    assert sorted(m.id for m in again) == sorted([ids[1], ids[3]])
    assert next(m for m in again if m.id == ids[1]).attempts == 1
    assert s.outbox.counts() == {"queued": 0, "sending": 2, "sent": 1, "failed": 1, "cancelled": 0}
    assert s.outbox.mark_retry(ids[0], "late", now) == "sent"  # a sent message stays sent
    due = s.outbox.next_due()
    assert due is not None and abs(due - (now + 111 + 60)) < 2  # when both leases end


def test_outbox_bounce_suppresses_and_cancels(any_store):
    s = any_store
    _subscribe(s, "sub@example.org")
    sub = s.subscribers.by_email("sub@example.org")
    lifecycle.confirm(s, sub.id, 0)
    ids = [
        s.outbox.insert(
            kind="digest", recipient="sub@example.org", message_id=f"<s{i}@test>", message=b"x", subscriber_id=sub.id
        )
        for i in range(2)
    ]
    other = s.outbox.insert(kind="confirm", recipient="other@example.org", message_id="<o@test>", message=b"x")
    s.outbox.mark_bounced(ids[0], "550 unknown")
    assert s.subscribers.get(sub.id).status == "bounced"
    counts = s.outbox.counts()
    assert counts["failed"] == 1 and counts["cancelled"] >= 2  # ids[1] and the confirmation mail
    assert [m.id for m in s.outbox.claim(limit=10, now=time.time() + 1)] == [other]
    s.outbox.insert(kind="confirm", recipient="SUB@example.org", message_id="<late@test>", message=b"x")
    assert s.outbox.claim(limit=10, now=time.time() + 1) == []  # suppressed in any letter case
    assert s.outbox.cancel_suppressed() == 0


def test_two_concurrent_claimers_never_share_a_row(any_store):
    s = any_store
    ids = set(_queue(s, 120))
    got: dict[str, list[int]] = {"a": [], "b": []}
    errors = []
    start = threading.Barrier(2)

    def claimer(name):
        try:
            start.wait()
            while True:
                batch = s.outbox.claim(limit=3, lease_seconds=600)
                if not batch:
                    return
                got[name] += [m.id for m in batch]
        except Exception as e:  # noqa: BLE001  (reported below)
            errors.append(e)

    threads = [threading.Thread(target=claimer, args=(n,)) for n in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    assert not set(got["a"]) & set(got["b"])
    assert len(got["a"]) + len(got["b"]) == 120 and set(got["a"]) | set(got["b"]) == ids


def test_postgres_claim_skips_locked_rows_without_waiting(pg_store, pg_url):
    import psycopg

    ids = _queue(pg_store, 3)
    with psycopg.connect(pg_url) as other:  # another sender, mid-claim: holds the first row's lock
        other.execute("SELECT id FROM outbox WHERE id=%s FOR UPDATE", (ids[0],))
        t = time.monotonic()
        claimed = pg_store.outbox.claim(limit=3, now=time.time() + 1)
        assert time.monotonic() - t < 2
        assert [m.id for m in claimed] == ids[1:]
        other.rollback()
    assert [m.id for m in pg_store.outbox.claim(limit=3, now=time.time() + 1)] == [ids[0]]


# -- digests ----------------------------------------------------------------------------------
def test_digests(any_store):
    s = any_store
    s.papers.upsert([paper(1), paper(2, categories=["math.AG"]), paper(27, categories=["cs.CV"])])
    pk = s.papers.pks_for(["2501.00001", "2501.00002", "2501.00027"])
    subs = []
    for email in ("d1@example.org", "d2@example.org"):
        _subscribe(s, email, query="q " + email)
        sub = s.subscribers.by_email(email)
        lifecycle.confirm(s, sub.id, 0)
        subs.append(sub.id)
    assert s.digests.count_confirmed() == 2
    recs = [
        DigestRecord(
            subs[0],
            "2025-01-02",
            [pk["2501.00001"], pk["2501.00002"]],
            "2025-01-02T07:00:00Z",
            "d1@example.org",
            "<dg1@test>",
            b"digest",
        ),
        DigestRecord(subs[1], "2025-01-02", [], "2025-01-02T07:00:00Z"),
    ]
    out = s.digests.record(recs)
    assert out[0] is not None and out[1] is None
    assert s.digests.record(recs[:1]) == [-1]  # recorded already: skipped whole
    assert s.digests.recorded([(subs[0], "2025-01-02"), (subs[0], "2025-01-03"), (subs[1], "2025-01-02")]) == {
        (subs[0], "2025-01-02"),
        (subs[1], "2025-01-02"),
    }
    assert s.digests.sent_paper_pks(subs) == {subs[0]: {pk["2501.00001"], pk["2501.00002"]}}
    assert s.digests.sent_paper_pks(subs, min_pk=max(pk["2501.00001"], pk["2501.00002"])) == {
        subs[0]: {max(pk["2501.00001"], pk["2501.00002"])}
    }
    batches = list(s.digests.iter_subscribers(batch=1))
    assert [[d.id for d in b] for b in batches] == [[subs[0]], [subs[1]]]
    assert batches[0][0].last_digest_at == "2025-01-02T07:00:00Z"
    assert s.digests.saved_search_queries(subs) == {subs[0]: ["q d1@example.org"], subs[1]: ["q d2@example.org"]}
    assert s.digests.min_pk_since("2025-01-03") == pk["2501.00002"]
    assert s.digests.min_pk_since("2030-01-01") == 1 << 62
    assert [p.id for _, p in s.digests.latest_listed_papers("2025-01-01", [], 10)] == ["2501.00027"]
    assert [p.id for _, p in s.digests.latest_listed_papers("2025-01-01", ["math"], 10)] == ["2501.00002"]
    assert [p.id for _, p in s.digests.latest_listed_papers("2025-01-01", ["CS"], 10)] == ["2501.00027"]
    assert s.digests.latest_listed_papers("2025-02-01", [], 10) == []


# -- stars ------------------------------------------------------------------------------------
def test_stars(any_store):
    s = any_store
    assert s.stars.record("a/b", 10, '"e1"', "2026-11-20T00:00:00Z") == 10
    assert s.stars.record("a/b", None, '"e1"', "2026-11-22T00:00:00Z") == 10  # 304
    assert s.stars.record("a/b", 25, '"e2"', "2026-11-24T00:00:00Z") == 25
    s.stars.record("a/b", 5, '"old"', "2026-11-19T00:00:00Z")  # older: a point, state unchanged
    st = s.stars.state("a/b")
    assert (st.stars, st.etag, st.checked_at) == (25, '"e2"', "2026-11-24T00:00:00Z")
    assert s.stars.gained("a/b", "2026-11-21T00:00:00Z") == 15
    assert s.stars.gained("a/b", "2026-11-01T00:00:00Z") == 0  # no point before
    with pytest.raises(ValueError):
        s.stars.record("c/d", None, None)
    with pytest.raises(ValueError):
        s.stars.record("c/d", -1, None)
    assert s.stars.state("c/d") is None
    s.stars.record("a/b", None, None, "2026-11-25T00:00:00Z", status="gone")
    assert s.stars.state("a/b").stars is None and s.stars.gained("a/b", "2026-11-21T00:00:00Z") == 0


# -- accounts ---------------------------------------------------------------------------------
def test_accounts_and_sessions(any_store):
    s = any_store
    a = s.accounts.ensure("reader@example.org")
    assert (a.role, a.status, a.is_curator) == ("reader", "active", False)
    assert s.accounts.ensure("reader@example.org").id == a.id
    assert s.accounts.ensure("reader@example.org", "curator").is_curator
    with pytest.raises(ValueError):
        s.accounts.ensure("x@example.org", "admin")
    assert s.accounts.by_email("x@example.org") is None
    assert s.accounts.get(a.id).email == "reader@example.org"
    s.accounts.create_session(a.id, "h1", "2026-12-01T00:00:00Z")
    assert s.accounts.session_account("h1", "2026-11-30T00:00:00Z").id == a.id
    assert s.accounts.session_account("h1", "2026-12-01T00:00:00Z") is None  # expired
    assert s.accounts.session_account("nope", "2026-11-30T00:00:00Z") is None
    s.accounts.delete_session("h1")
    assert s.accounts.session_account("h1", "2026-11-30T00:00:00Z") is None


def test_signin_links_and_account_admin(any_store):
    from paperwire.accounts.types import SigninRefused

    s = any_store
    mail = lambda account: ("signin", f"<s-{time.monotonic_ns()}@t>", b"link")  # noqa: E731
    assert (
        s.accounts.queue_signin(
            email="new@example.org",
            nonce="n1",
            limits=[("ip:1", 5, 60.0)],
            now=T0,
            compose=mail,
            prune_before="2000-01-01T00:00:00Z",
        )
        == "new"
    )
    assert s.accounts.signin_token("n1").email == "new@example.org" and s.outbox.counts()["queued"] == 1
    with pytest.raises(SigninRefused, match="unknown"):
        s.accounts.use_signin_token("n1", "other@example.org")
    results, start = [], threading.Barrier(2)

    def use(i):
        start.wait()
        try:
            results.append(
                s.accounts.use_signin_token(
                    "n1", "new@example.org", session_hash=f"sh{i}", session_expires="2099-01-01T00:00:00Z"
                )
            )
        except SigninRefused as e:
            results.append(e.reason)

    threads = [threading.Thread(target=use, args=(i,)) for i in range(2)]
    [t.start() for t in threads]
    [t.join(30) for t in threads]
    # the link raced itself: exactly one use won
    assert len(results) == 2 and results.count("used") == 1
    assert [r.email for r in results if r != "used"] == ["new@example.org"]
    account = s.accounts.by_email("new@example.org")
    assert account.last_signin_at is not None
    assert sum(s.accounts.session_account(f"sh{i}", "2026-01-01T00:00:00Z") is not None for i in range(2)) == 1

    assert s.accounts.set_role("new@example.org", "curator", actor_id=None)[1] == "reader"
    assert s.accounts.set_role("made@example.org", "curator")[1] is None  # created
    assert s.accounts.set_role("none@example.org", "curator", create=False) == (None, None)
    assert [a.email for a in s.accounts.list("curator")] == ["new@example.org", "made@example.org"]
    acc, deleted = s.accounts.set_status("new@example.org", "disabled")
    assert acc.status == "disabled" and deleted == 1
    assert (
        s.accounts.queue_signin(
            email="new@example.org", nonce="n2", limits=[], now=T0, compose=mail, prune_before="2000-01-01T00:00:00Z"
        )
        == "blocked"
    )
    assert s.accounts.signin_token("n2") is None
    with pytest.raises(ValueError):
        s.accounts.set_status("new@example.org", "gone")


# -- PostgreSQL: concurrency and schema ------------------------------------------------------
def test_change_feed_under_concurrent_writers_misses_nothing(any_store):
    """Four writers upsert at once while a follower reads the feed the way the indexer does
    (seq > last, then remember the largest): it must see every paper."""
    s = any_store
    n_writers, per = 4, 40
    done = threading.Event()
    seen: set[int] = set()
    errors = []

    def writer(w):
        try:
            for i in range(per):
                s.papers.upsert([paper(w * 1000 + i, announced="2025-01-01")])
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    def follower():
        last = 0
        while True:
            finished = done.is_set()
            for ch in s.papers.changes_since(last, limit=7):
                assert ch.seq > last
                last = ch.seq
                seen.add(ch.pk)
            if finished and s.papers.count_changes_since(last) == 0:
                return

    f = threading.Thread(target=follower)
    f.start()
    ws = [threading.Thread(target=writer, args=(w,)) for w in range(n_writers)]
    for t in ws:
        t.start()
    for t in ws:
        t.join(120)
    done.set()
    f.join(60)
    assert not errors
    assert len(seen) == n_writers * per == s.papers.count()


def test_concurrent_votes_are_all_counted(any_store):
    """Eight readers vote for one paper at once: the kept count equals the votes (on PostgreSQL
    each vote's transaction locks the paper's community row before it counts)."""
    s = any_store
    s.papers.upsert([paper(1)])
    pk = s.papers.pks_for(["2501.00001"])["2501.00001"]
    accounts = [s.accounts.ensure(f"voter{i}@example.org").id for i in range(8)]
    start, errors = threading.Barrier(len(accounts)), []

    def vote(account_id):
        try:
            start.wait()
            s.community.set_vote(account_id, pk, True)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=vote, args=(a,)) for a in accounts]
    [t.start() for t in threads]
    [t.join(60) for t in threads]
    assert not errors
    assert s.community.state([pk])[pk].upvotes == 8
    assert s.community.state([pk], accounts[3])[pk].voted
    assert s.community.set_vote(accounts[0], pk, False) == 7


def test_postgres_paper_writers_wait_for_each_other(pg_store, pg_url):
    """While one paper writer holds the change-feed lock, another waits (its seq comes later)."""
    import psycopg

    from paperwire.storage.postgres import LOCK_PAPERS

    pg_store.papers.upsert([paper(1)])
    with psycopg.connect(pg_url) as other:
        other.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_PAPERS,))
        t = threading.Thread(target=pg_store.papers.upsert, args=([paper(2)],))
        t.start()
        t.join(0.5)
        assert t.is_alive() and pg_store.papers.count() == 1
        other.commit()
    t.join(10)
    assert not t.is_alive() and pg_store.papers.count() == 2


def test_migrate_is_idempotent_and_both_backends_have_every_migration(any_store):
    s = any_store
    assert s.migrate() == []
    numbers = {}
    for backend in ("sqlite", "postgres"):
        numbers[backend] = sorted(
            int(f.name[:4])
            for f in resources.files("paperwire.storage").joinpath(f"migrations/{backend}").iterdir()
            if f.name.endswith(".sql")
        )
    assert numbers["sqlite"] == numbers["postgres"], "each SQLite migration needs its PostgreSQL translation"
    assert s.schema_version() == numbers["sqlite"][-1]


def test_each_variant_gets_its_backend(store, db_backend, db_url):
    from paperwire.storage.postgres import PostgresDatabase
    from paperwire.storage.sqlite import SQLiteDatabase

    assert type(store.db) is {"sqlite": SQLiteDatabase, "postgresql": PostgresDatabase}[db_backend]
    assert db_url.startswith(f"{db_backend}://")


def test_postgres_schema_matches_sqlite(tmp_path, pg_store):
    """Every SQLite table exists in PostgreSQL with the same columns (what the copy tool needs)."""
    from paperwire.storage import open_store

    store = open_store(f"sqlite:///{tmp_path / 'schema.db'}")
    sqlite_tables = {
        t: [r[1] for r in store.conn.execute(f"PRAGMA table_info({t})")]
        for (t,) in store.conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")
    }
    pg_tables: dict[str, list[str]] = {}
    for t, col in pg_store.db.all(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema='public' ORDER BY table_name, ordinal_position"
    ):
        pg_tables.setdefault(t, []).append(col)
    store.close()
    assert sqlite_tables == pg_tables


def test_open_store_rejects_unknown_scheme_and_reports_unreachable_server():
    from paperwire.storage import DatabaseUnreachable, DatabaseURLError, open_store

    with pytest.raises(DatabaseURLError, match="not supported"):
        open_store("mysql://x/y")
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    t = time.monotonic()
    with pytest.raises(DatabaseUnreachable, match=f"cannot connect to PostgreSQL at .*port={port}") as e:
        open_store(f"postgresql://paperwire:s3cret@127.0.0.1:{port}/paperwire")
    assert "s3cret" not in str(e.value) and time.monotonic() - t < 15
