"""Alerts with a relevance bar: a saved search sends only the new papers whose calibrated match
probability (paperwire.search.match) clears the bar of its strictness, and a search with nothing
relevant sends no paper and one line that says so, with a link to the search.

A real database (each backend), the real search engine and embedding model over the 64 seed
papers listed on one day, the real digest run and mail sender, and a real SMTP server
(tests/smtp_sink.py) that the mail goes through."""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
from pathlib import Path

import pytest

from digest_site import digest_site, without_subscribers
from paperwire.digest.run import run_digests
from paperwire.search import match as M
from paperwire.search import match_params

SEED = Path(__file__).resolve().parents[2] / "shared" / "data" / "seed-page" / "papers.jsonl"
pytestmark = pytest.mark.skipif(not SEED.exists(), reason=f"seed papers not found at {SEED}")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

DAY = "2025-03-18"
NOW = "2025-03-18T08:00:00Z"  # after 07:00 UTC, the subscribers' send hour
RELEVANT = "differential privacy"
NOTHING = "protein folding structure prediction"  # no seed paper is about proteins
SECRET = "alert-test-secret"


@pytest.fixture(scope="module")
def env(tmp_path_factory, db_urls):
    root = tmp_path_factory.mktemp("alerts")
    recs = [json.loads(line) for line in SEED.read_text().splitlines() if line.strip()]
    for r in recs:
        r["listing_date"] = DAY
    with digest_site(root, db_urls(root / "pw.db"), recs, SECRET) as site:
        yield site


@pytest.fixture
def ctx(env):
    return without_subscribers(env)


def add_subscriber(store, address: str, searches: list[tuple[str, str]]) -> int:
    at = "2025-03-01T00:00:00Z"
    with store.transaction() as c:
        sid = c.execute(
            "INSERT INTO subscribers (email, status, frequency, send_hour, timezone, trending, categories, "
            "created_at, updated_at, confirmed_at) VALUES (?, 'confirmed', 'daily', 7, 'UTC', 0, '[]', ?, ?, ?) "
            "RETURNING id",
            (address, at, at, at),
        ).fetchone()[0]
        c.executemany(
            "INSERT INTO saved_searches (subscriber_id, query, created_at, strictness) VALUES (?, ?, ?, ?)",
            [(sid, q, at, s) for q, s in searches],
        )
    return sid


def sent_ids(store, sid: int) -> set[str]:
    return {
        r[0]
        for r in store.conn.execute(
            "SELECT p.id FROM sent_papers s JOIN papers p ON p.pk = s.paper_pk WHERE s.subscriber_id=?", (sid,)
        )
    }


def privacy_ids(store) -> set[str]:
    """The seed papers about differential privacy, by their own words."""
    return {
        r[0]
        for r in store.conn.execute("SELECT id, title, abstract FROM papers")
        if "differential privacy" in f"{r[1]} {r[2]}".lower() or "differentially private" in f"{r[1]} {r[2]}".lower()
    }


def test_the_bars_are_fitted_constants_in_order():
    t = match_params.THRESHOLDS
    assert set(t) == set(M.STRICTNESS)
    assert 0 < t["broad"] <= t["normal"] < t["strict"] < 1
    assert M.threshold("no such level") == t["normal"]


def test_a_search_with_nothing_relevant_sends_no_paper_and_one_line_through_smtp(ctx, tmp_path):
    from paperwire.mail.sender import run_sender
    from smtp_sink import SmtpSink

    store, settings, engine = ctx
    sid = add_subscriber(store, "ada@example.org", [(RELEVANT, "normal"), (NOTHING, "normal")])
    counts = run_digests(store, settings, engine, now=NOW, progress=False)
    assert counts["queued"] == 1, counts
    sent = sent_ids(store, sid)
    dp = privacy_ids(store)
    # only differential-privacy papers went out: nothing for the protein search, no top-10 filler
    assert sent and sent <= dp, (sent, dp)
    with SmtpSink(tmp_path / "sink.db") as sink:
        assert run_sender(settings.with_(smtp_port=sink.port), store, once=True).sent == 1
        [(rcpt, raw)] = sink.messages()
    assert rcpt == "ada@example.org"
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    # the protein search: exactly one line, which says so and links to the search
    lines = [line for line in text.splitlines() if "protein folding" in line]
    assert len(lines) == 1, lines
    assert lines[0].startswith("Nothing new clearly matched")
    search_link = (
        r"https://papers\.example\.org/search\?q=after%3A2025-03-1[78]\+protein\+folding\+structure\+prediction"
    )
    assert re.search(search_link + "$", lines[0]), lines[0]
    assert "== New for “protein folding" not in text
    html_lines = [line for line in html.splitlines() if "protein folding" in line]
    assert len(html_lines) == 1 and "Nothing new clearly matched" in html_lines[0]
    assert re.search(f'href="{search_link}"', html_lines[0]), html_lines[0]
    # the privacy search has its section with its papers
    assert "== New for “differential privacy” ==" in text
    for pid in sent:
        assert f"https://papers.example.org/papers/{pid}" in text


def test_only_searches_with_nothing_relevant_send_nothing(ctx):
    store, settings, engine = ctx
    sid = add_subscriber(
        store, "bo@example.org", [(NOTHING, "broad"), ("graph neural networks for molecules", "normal")]
    )
    counts = run_digests(store, settings, engine, now=NOW, progress=False)
    assert counts["queued"] == 0 and counts["empty"] == 1, counts
    assert sent_ids(store, sid) == set()


def test_strictness_orders_what_a_search_sends(ctx):
    from paperwire.digest.compose import Composer

    store, settings, engine = ctx
    composer = Composer(store, settings, engine)
    queries = [
        RELEVANT,
        "language models that improve their answers from feedback",
        "random walks",
        "large language model agents",
        NOTHING,
    ]
    sizes = {}
    for q in queries:
        got = {s: [pk for pk, _ in composer.search(q, DAY, s)] for s in M.STRICTNESS}
        # a stricter bar sends a subset of a looser one, in the same order
        assert set(got["strict"]) <= set(got["normal"]) <= set(got["broad"]), (q, got)
        sizes[q] = {s: len(v) for s, v in got.items()}
    assert all(n == 0 for n in sizes[NOTHING].values()), sizes
    assert sum(v["broad"] for v in sizes.values()) > sum(v["strict"] for v in sizes.values()), sizes
    # today's digest sent the top hits whatever their score: ten for the protein search
    assert len(composer.scored(NOTHING, DAY)) >= 10


def test_probabilities_come_from_the_features(ctx):
    store, settings, engine = ctx
    matcher = M.Matcher(engine)
    [best] = matcher.search(f"after:{DAY} {RELEVANT}", 1)
    [noise] = matcher.search(f"after:{DAY} {NOTHING}", 1)
    assert best.probability > M.threshold("strict") and noise.probability < M.threshold("broad")
    f = best.features
    assert f.rank == 1 and 0 < f.coverage <= 1 and f.cosine is not None and 0.3 < f.cosine <= 1
    assert M.probability(f) == pytest.approx(best.probability)
    # without an embedding the words-only model decides
    assert 0 < M.probability(M.Features(None, f.coverage, 1)) < 1
    # filters only (no words): every hit matches exactly
    assert all(s.probability == 1.0 for s in matcher.search(f"after:{DAY} cat:cs.LG", 5))


def test_a_preview_asked_again_is_not_worked_out_again_until_the_papers_change(ctx, monkeypatch):
    """The search page and its feed page ask for the same preview: the second ask is served from
    the per-engine cache; hiding one of its papers (a new key) works it out afresh without it."""
    from paperwire.digest import preview as P

    store, settings, engine = ctx
    calls = []
    real = P._compute
    monkeypatch.setattr(P, "_compute", lambda *a: calls.append(a) or real(*a))
    first = P.alert_preview(engine, store, RELEVANT)
    assert first is not None and first.counts["broad"] > 0
    assert P.alert_preview(engine, store, RELEVANT) is first
    assert len(calls) == 1
    top = first.levels[0].papers[0]
    pk = store.papers.pks_for([top.id])[top.id]
    curator = store.accounts.ensure("preview-curator@example.org", "curator")
    assert store.community.curate(curator.id, pk, "hide")
    try:
        again = P.alert_preview(engine, store, RELEVANT)
        assert len(calls) == 2
        assert top.id not in {p.id for lv in again.levels for p in lv.papers}
    finally:
        store.community.curate(curator.id, pk, "unhide")
