"""Trending lists on a real database (SQLite, then PostgreSQL): votes and star points move them, hidden papers are
left out, featured ones pinned, windows and "as of"; /trending and /api/trending; the digest's
trending section; `stars refresh` against a local server speaking GitHub's format."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from conftest import make_settings, sign_in
from paperwire.models import Paper, utc_now, validated
from paperwire.trending.hf_import import apply_hf_import
from paperwire.trending.ranking import RankCache, as_of, trending
from paperwire.trending.records import HFImportRow

UTC = UTC
NOW = datetime(2026, 8, 22, tzinfo=UTC)  # the end of the latest listing day below
XSS = r"<script>alert(1)</script> & $\alpha<\beta$ trending"


def add(
    store,
    pid: str,
    listed_at: str,
    upvotes: int = 0,
    repo: str | None = None,
    stars: int | None = None,
    title: str | None = None,
    categories: list[str] | None = None,
) -> int:
    """A paper on the day list of ``listed_at`` with imported upvotes (through the import's store call)."""
    paper = validated(
        Paper(
            id=pid,
            title=title or f"Paper {pid}",
            abstract="An abstract.",
            submitted=listed_at,
            announced=listed_at[:10],
            categories=categories or [],
            source="hf-daily",
        )
    )
    apply_hf_import(store, [HFImportRow(paper, listed_at[:10], listed_at, upvotes, repo, stars)])
    return store.papers.pks_for([pid])[pid]


def ids(page) -> list[str]:
    return [e.paper.id for e in page.entries]


def test_a_vote_moves_the_ranking(store):
    add(store, "2608.00001", "2026-08-21T06:00:00Z", upvotes=5)
    b = add(store, "2608.00002", "2026-08-21T06:00:00Z", upvotes=4)
    assert ids(trending(store, "today", now=NOW)) == ["2608.00001", "2608.00002"]
    for n in range(2):
        account, _ = sign_in(store, f"v{n}@example.org")
        store.community.set_vote(account.id, b, True)
    page = trending(store, "today", now=NOW)
    assert ids(page) == ["2608.00002", "2608.00001"]
    assert [e.upvotes for e in page.entries] == [6, 5]
    assert page.entries[0].score > page.entries[1].score


def test_a_burst_of_stars_beats_an_old_large_total(store):
    add(store, "2608.00010", "2026-08-21T00:00:00Z", upvotes=2, repo="famous/old", stars=80_000)
    add(store, "2608.00020", "2026-08-21T00:00:00Z", upvotes=2, repo="new/burst", stars=50)
    # one snapshot each (at listing): nothing gained yet, equal scores, the smaller id first
    assert ids(trending(store, "week", now=NOW)) == ["2608.00010", "2608.00020"]
    store.stars.record("famous/old", 80_000, None, "2026-08-14T00:00:00Z")
    store.stars.record("famous/old", 80_010, None, "2026-08-21T12:00:00Z")
    store.stars.record("new/burst", 50, None, "2026-08-14T00:00:00Z")
    store.stars.record("new/burst", 350, None, "2026-08-21T12:00:00Z")
    page = trending(store, "week", now=NOW)
    assert ids(page) == ["2608.00020", "2608.00010"]
    assert [(e.repo, e.stars_gained) for e in page.entries] == [("new/burst", 300), ("famous/old", 10)]
    # a point after "as of" does not count
    store.stars.record("famous/old", 99_000, None, "2026-09-01T00:00:00Z")
    assert trending(store, "week", now=NOW).entries[1].stars_gained == 10


def test_windows_differ_and_old_papers_drop_out(store):
    add(store, "2608.00001", "2026-08-21T12:00:00Z")
    add(store, "2608.00002", "2026-08-18T12:00:00Z", upvotes=50)
    add(store, "2608.00003", "2026-08-01T12:00:00Z", upvotes=200)
    add(store, "2607.00004", "2026-07-01T12:00:00Z", upvotes=250)
    assert ids(trending(store, "today", now=NOW)) == ["2608.00001"]
    assert set(ids(trending(store, "week", now=NOW))) == {"2608.00001", "2608.00002"}
    month = trending(store, "month", now=NOW)
    assert set(ids(month)) == {"2608.00001", "2608.00002", "2608.00003"} and month.total == 3
    with pytest.raises(ValueError):
        trending(store, "year", now=NOW)


def test_as_of_is_the_end_of_the_latest_listing_day(store):
    add(store, "2608.00001", "2026-08-21T12:00:00Z", upvotes=3)
    later = NOW + timedelta(days=40)
    assert as_of(store, later) == NOW
    page = trending(store, "today", now=later)  # a demo over historical data is not empty
    assert ids(page) == ["2608.00001"] and page.as_of == NOW and page.entries[0].is_new
    early = datetime(2026, 8, 21, 18, tzinfo=UTC)
    assert as_of(store, early) == early


def test_hidden_left_out_and_featured_pinned_first(store):
    curator, _ = sign_in(store, "cur@example.org", role="curator")
    add(store, "2608.00001", "2026-08-21T06:00:00Z", upvotes=90)
    hidden = add(store, "2608.00002", "2026-08-21T06:00:00Z", upvotes=200)
    featured = add(store, "2608.00003", "2026-08-21T06:00:00Z", upvotes=1)
    assert ids(trending(store, "today", now=NOW))[0] == "2608.00002"
    store.community.curate(curator.id, hidden, "hide")
    store.community.curate(curator.id, featured, "feature")
    page = trending(store, "today", now=NOW)
    assert ids(page) == ["2608.00003", "2608.00001"] and page.entries[0].featured and page.total == 2


def test_categories_and_paging(store):
    for i in range(7):
        add(store, f"2608.0001{i}", "2026-08-21T06:00:00Z", upvotes=i, categories=["cs.CL" if i % 2 else "cs.CV"])
    assert ids(trending(store, "today", now=NOW, categories=["cs.CL"])) == ["2608.00015", "2608.00013", "2608.00011"]
    assert len(ids(trending(store, "today", now=NOW, categories=["cs"]))) == 7
    page2 = trending(store, "today", now=NOW, limit=3, offset=3)
    assert ids(page2) == ["2608.00013", "2608.00012", "2608.00011"] and page2.entries[0].rank == 4


def test_cache_follows_votes(store):
    b = add(store, "2608.00002", "2026-08-21T06:00:00Z", upvotes=0)
    add(store, "2608.00001", "2026-08-21T06:00:00Z", upvotes=1)
    cache = RankCache(seconds=3600)
    assert ids(trending(store, "today", now=NOW, cache=cache))[0] == "2608.00001"
    for n in range(3):
        account, _ = sign_in(store, f"c{n}@example.org")
        store.community.set_vote(account.id, b, True)
    assert ids(trending(store, "today", now=NOW, cache=cache))[0] == "2608.00002"


# -- web -------------------------------------------------------------------------------------


@pytest.fixture
def client(store, tmp_path, db_url):
    from paperwire.web.app import create_app

    app = create_app(make_settings(tmp_path, db_url), store=store, background=False)
    with TestClient(app) as c:
        yield c


def test_trending_page_renders_escaped_titles_tabs_and_as_of(client, store):
    add(store, "2608.00001", "2026-08-21T06:00:00Z", upvotes=7, title=XSS, repo="o/r", stars=3)
    add(store, "2608.00002", "2026-08-18T06:00:00Z", upvotes=2)
    html = client.get("/trending").text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; $\\alpha&lt;\\beta$ trending" in html
    assert 'datetime="2026-08-22T00:00:00Z"' in html and "As of" in html
    assert re.search(r'href="/trending\?window=week"', html) and 'aria-current="page">Today' in html
    assert "7 votes" in html and "+0 ★ in this window" in html and "2608.00002" not in html
    week = client.get("/trending?window=week").text
    assert "2608.00002" in week and 'aria-current="page">This week' in week
    assert client.get("/trending?window=year").status_code == 400
    assert client.get("/trending?page=5").status_code == 404


def test_trending_page_moves_with_a_vote(client, store):
    add(store, "2608.00001", "2026-08-21T06:00:00Z", upvotes=2)
    b = add(store, "2608.00002", "2026-08-21T06:00:00Z", upvotes=1)
    first = lambda: re.findall(r'data-paper-id="([^"]+)"', client.get("/trending").text)  # noqa: E731
    assert first() == ["2608.00001", "2608.00002"]
    for n in range(2):
        account, _ = sign_in(store, f"w{n}@example.org")
        store.community.set_vote(account.id, b, True)
    assert first() == ["2608.00002", "2608.00001"]  # at once: the cache follows the data


def test_api_trending_json(client, store):
    add(store, "2608.00001", "2026-08-21T06:00:00Z", upvotes=7, repo="o/r", stars=3)
    add(store, "2608.00002", "2026-08-21T03:00:00Z", upvotes=1)
    r = client.get("/api/trending?window=week&limit=1")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"window", "as_of", "since", "total", "limit", "offset", "items"}
    assert (body["window"], body["as_of"], body["since"], body["total"]) == (
        "week",
        "2026-08-22T00:00:00Z",
        "2026-08-15T00:00:00Z",
        2,
    )
    (it,) = body["items"]
    assert it["id"] == "2608.00001" and it["upvotes"] == 7 and it["stars_gained"] == 0 and it["repo"] == "o/r"
    assert it["rank"] == 1 and it["score"] > 0 and it["new"] is True and it["url"].endswith("/papers/2608.00001")
    assert client.get("/api/trending?offset=1").json()["items"][0]["id"] == "2608.00002"
    bad = client.get("/api/trending?window=forever")
    assert bad.status_code == 400 and "today, week or month" in bad.json()["error"]
    assert client.get("/api/trending?limit=0").status_code == 422
    assert client.get("/api/trending?cat=%3Cx%3E").status_code == 400


# -- digest ----------------------------------------------------------------------------------


def test_digest_trending_section_uses_the_score(store):
    from paperwire.digest.compose import trending_papers

    add(store, "2608.00001", "2026-08-21T20:00:00Z", upvotes=0, categories=["cs.CL"])
    add(store, "2608.00002", "2026-08-21T01:00:00Z", upvotes=30, categories=["cs.CL"])
    add(store, "2608.00003", "2026-08-21T02:00:00Z", upvotes=80, categories=["cs.CV"])
    got = [p.id for _, p in trending_papers(store, "2026-08-21", ["cs.CL"], 5)]
    assert got == ["2608.00002", "2608.00001"]  # votes beat a newer unvoted paper; cs.CV left out
    assert [p.id for _, p in trending_papers(store, "2026-08-21", [], 2)] == ["2608.00003", "2608.00002"]
    assert [p.id for _, p in trending_papers(store, "2026-08-21", ["math.AG"], 1)] == ["2608.00003"]  # falls back


def test_for_you_section_is_guarded(store):
    from paperwire.digest.compose import for_you_papers

    assert for_you_papers(store, "nobody@example.org", "2026-08-01", 5) == []
    sign_in(store, "reader@example.org")
    assert for_you_papers(store, "reader@example.org", "2026-08-01", 5) == []  # an empty library: no section


# -- stars refresh ---------------------------------------------------------------------------


def test_stars_refresh_records_points_and_moves_the_list(store, srv, tmp_path):
    from paperwire.trending.stars import refresh_window, window_repos
    from test_github_stars import FakeGitHub, client_for

    now = datetime.now(UTC)
    # listed today whatever the hour: two hours ago, or just after midnight when that was yesterday
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    listed = max(now - timedelta(hours=2), min(midnight + timedelta(seconds=1), now)).strftime("%Y-%m-%dT%H:%M:%SZ")
    add(store, "2611.00001", listed, upvotes=3)
    add(store, "2611.00002", listed, upvotes=0, repo="lab/burst", stars=20)
    store.stars.record("lab/burst", 20, None, (now - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert ids(trending(store, "today"))[0] == "2611.00001"
    assert window_repos(store, "today") == ["lab/burst"]
    gh = FakeGitHub(srv, {"lab/burst": 520})
    with client_for(tmp_path, srv) as client:
        counts = refresh_window(store, None, "today", progress=False, client=client)
    assert counts["repos"] == 1 and counts["updated"] == 1 and gh.times
    assert store.stars.state("lab/burst").stars == 520
    page = trending(store, "today")
    assert ids(page)[0] == "2611.00002" and page.entries[0].stars_gained == 500
    assert utc_now() >= page.as_of_iso[:19]


def test_cli_stars_refresh(store, srv, db_url, tmp_path):
    import os
    import subprocess
    import sys

    from test_github_stars import FakeGitHub

    listed = (datetime.now(UTC) - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    add(store, "2611.00001", listed, repo="lab/one", stars=5)
    add(store, "2611.00002", listed, repo="lab/gone", stars=5)
    FakeGitHub(srv, {"lab/one": 9})
    srv.route("/repos/lab/gone", lambda req: __import__("test_github_stars").gh_json(404, "Not Found"))
    env = dict(
        os.environ,
        PAPERWIRE_DATABASE_URL=db_url,
        PAPERWIRE_DATA_DIR=str(tmp_path),
        PAPERWIRE_GITHUB_API_URL=srv.base,
        PAPERWIRE_HTTP_RETRIES="0",
    )
    env.pop("PAPERWIRE_GITHUB_TOKEN", None)
    proc = subprocess.run(
        [sys.executable, "-m", "paperwire.cli", "stars", "refresh", "--window", "week", "-q"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "stars (week): 2 repositories; 1 updated, 0 unchanged (304), 1 gone" in proc.stdout
    assert store.stars.state("lab/one").stars == 9 and store.stars.state("lab/gone").status == "gone"
    bad = subprocess.run(
        [sys.executable, "-m", "paperwire.cli", "stars", "refresh", "--window", "year"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode != 0 and "year" in bad.stderr


def test_serve_refresher_thread_records_points(store, srv, tmp_path):
    import threading
    import time

    from paperwire.trending.stars import start_stars_refresher
    from test_github_stars import FakeGitHub, settings_for

    listed = (datetime.now(UTC) - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    add(store, "2611.00001", listed, repo="lab/one", stars=5)
    gh = FakeGitHub(srv, {"lab/one": 11})
    stop = threading.Event()
    thread = start_stars_refresher(store, settings_for(tmp_path, srv), stop, minutes=60)
    try:
        deadline = time.monotonic() + 20
        while (store.stars.state("lab/one").stars != 11) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.stars.state("lab/one").stars == 11 and len(gh.times) == 1
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
