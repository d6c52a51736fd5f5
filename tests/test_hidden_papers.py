"""A paper a curator hides is gone from every path a reader can reach, and back on all of them
once un-hidden: the day pages, search, similar papers, the JSON API, the Atom feeds (day, search,
trending, category, author), trending,
"for you", every digest section and `paperwire search`. Each path is asked before the hide (so
every cache holds the paper), after it and after the un-hide. A direct visit answers 404 for
readers and the page (with its notice) for curators.

A real database (SQLite, then PostgreSQL), the real search engine and embedding model over the 64
seed papers plus the target, the app through a TestClient, the digest composer, the CLI."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from conftest import ingest_seed, make_settings, sign_in
from paperwire import library as lib
from paperwire.accounts.feed_tokens import feed_token
from paperwire.models import Paper, utc_now, validated
from paperwire.web.session import SESSION_COOKIE

TARGET = "local:hidden-target"
WORD = "Quokkaflux"  # only the target's title has it
CATEGORY = "q-bio.NC"  # only the target is in it
TWIN_TITLE = "Accelerating Distributed Stochastic Optimization via Self-Repellent Random Walks"
READER = "reader@example.org"


@pytest.fixture(scope="module")
def site(tmp_path_factory, db_urls, seed_path):
    """The seed papers and TARGET (the abstract of a seed paper, the "twin", under a title of its
    own), indexed by words and meaning; one vote for TARGET (so it trends), a reader who saved the
    twin (so "for you" recommends TARGET), the app and three clients: anonymous, reader, curator."""
    from paperwire.search.hybrid import SearchEngine
    from paperwire.search.indexer import Indexer
    from paperwire.storage import open_store
    from paperwire.web.app import create_app

    root = tmp_path_factory.mktemp(f"hidden-{db_urls.backend}")
    settings = make_settings(root, db_urls(root / "paperwire.db"))
    store = open_store(settings.database_url)
    ingest_seed(store, seed_path)
    (twin,) = [p for batch in store.papers.iter() for _, p in batch if p.title == TWIN_TITLE]
    target = Paper(
        id=TARGET,
        source="test",
        title=f"{WORD}: token walks that avoid where they have been",
        abstract=twin.abstract,
        authors=["Ada Quill"],
        categories=[CATEGORY],
        submitted=utc_now(),
        announced=store.papers.latest_day(),
    )
    store.papers.upsert([validated(target)])
    indexer = Indexer(store, settings)
    indexer.sync(progress=False)
    engine = SearchEngine(store, settings)
    app = create_app(settings, store=store, engine=engine, indexer=indexer, background=False)
    pk = store.papers.pks_for([TARGET])[TARGET]
    voter = store.accounts.ensure("voter@example.org")
    store.community.set_vote(voter.id, pk, True)
    reader, reader_session = sign_in(store, READER)
    lib.save(store, reader.id, twin.id)
    token = feed_token(store, settings, reader.id)
    curator, curator_session = sign_in(store, "curator@example.org", "curator")
    with TestClient(app) as anon, TestClient(app) as as_reader, TestClient(app) as as_curator:
        as_reader.cookies.set(SESSION_COOKIE, reader_session)
        as_curator.cookies.set(SESSION_COOKIE, curator_session)
        yield {
            "settings": settings,
            "store": store,
            "engine": engine,
            "pk": pk,
            "twin": twin.id,
            "curator": curator,
            "anon": anon,
            "reader": as_reader,
            "curator_client": as_curator,
            "root": root,
            "feed_token": token,
        }
    store.close()


def _ids(response) -> set[str]:
    body = response.json()
    items = body.get("results", body.get("items"))
    return {item["id"] for item in items}


def _digest_sections(site) -> dict[str, set[str]]:
    """Section kind -> paper ids, over four subscribers who each get one kind of section."""
    from paperwire.digest.compose import Composer
    from paperwire.digest.schedule import Due
    from paperwire.digest.types import DigestSubscriber

    store = site["store"]
    composer = Composer(store, site["settings"], site["engine"])  # a new run: nothing cached from the last one
    since = date.fromisoformat(store.papers.latest_day()) - timedelta(days=1)
    due = Due(period=since.isoformat(), day=since, send_at=datetime.now(UTC))
    subscribers = [
        (DigestSubscriber(1, "searcher@example.org", trending=False), [WORD]),
        (DigestSubscriber(2, "trends@example.org", trending=True), []),
        (DigestSubscriber(3, "neuro@example.org", trending=False, categories=[CATEGORY]), []),
        (DigestSubscriber(4, READER, trending=False), []),  # the reader's account: "for you"
    ]
    found: dict[str, set[str]] = {}
    for sub, saved in subscribers:
        digest = composer.compose(sub, due, since, saved, sent=set())
        for section in digest.sections:
            found.setdefault(section.kind, set()).update(it.paper.id for it in section.items)
        if TARGET in {it.paper.id for s in digest.sections for it in s.items}:
            # ... and the message that would be sent names it
            assert digest.message is not None and TARGET.encode() in digest.message
    return found


def _cli_search(site) -> str:
    from paperwire.cli import main

    s = site["settings"]
    env = {
        "PAPERWIRE_DATABASE_URL": s.database_url,
        "PAPERWIRE_DATA_DIR": str(site["root"]),
        "PAPERWIRE_INDEX_DIR": str(s.index_dir),
    }
    result = CliRunner().invoke(main, ["search", f"{WORD} token walks", "--json", "--limit", "20"], env=env)
    assert result.exit_code == 0, result.output
    return "\n".join(json.loads(line)["id"] for line in result.stdout.splitlines())


def showing_target(site) -> set[str]:
    """Every reader path that shows TARGET right now."""
    anon, reader, twin = site["anon"], site["reader"], site["twin"]
    day = site["store"].papers.latest_day()
    link = f"/papers/{TARGET}"
    html = {
        "home page": anon.get("/"),
        "day page": anon.get(f"/day/{day}"),
        "search page": anon.get("/search", params={"q": WORD}),
        "paper page's similar list": anon.get(f"/papers/{twin}"),
        "trending page": anon.get("/trending"),
        "for-you page": reader.get("/for-you"),
    }
    shown = {name for name, r in html.items() if r.status_code == 200 and link in r.text}
    assert all(r.status_code == 200 for r in html.values()), {n: r.status_code for n, r in html.items()}
    api = {
        "/api/papers?date=": anon.get("/api/papers", params={"date": day, "limit": 100}),
        "/api/search": anon.get("/api/search", params={"q": WORD, "limit": 50}),
        "/api/papers/{id}/similar": anon.get(f"/api/papers/{twin}/similar", params={"limit": 20}),
        "/api/trending": anon.get("/api/trending"),
        "/api/for-you": reader.get("/api/for-you", params={"limit": 50}),
    }
    shown |= {name for name, r in api.items() if TARGET in _ids(r)}
    feeds = {
        "/feeds/day.atom": anon.get("/feeds/day.atom"),
        "/feeds/search.atom": anon.get("/feeds/search.atom", params={"q": WORD}),
        "/feeds/trending.atom": anon.get("/feeds/trending.atom"),
        "/feeds/category/{cat}.atom": anon.get(f"/feeds/category/{CATEGORY}.atom"),
        "/feeds/author.atom": anon.get("/feeds/author.atom", params={"name": "Ada Quill"}),
        "private for-you feed": anon.get(f"/feeds/private/{site['feed_token']}/for-you.atom"),
    }
    assert all(r.status_code == 200 for r in feeds.values()), {n: r.status_code for n, r in feeds.items()}
    shown |= {name for name, r in feeds.items() if f"paper/{TARGET}<" in r.text}
    sections = _digest_sections(site)
    shown |= {f"digest: {kind}" for kind, ids in sections.items() if TARGET in ids}
    if TARGET in _cli_search(site).splitlines():
        shown.add("paperwire search")
    return shown


EVERY_PATH = {
    "home page",
    "day page",
    "search page",
    "paper page's similar list",
    "trending page",
    "for-you page",
    "/api/papers?date=",
    "/api/search",
    "/api/papers/{id}/similar",
    "/api/trending",
    "/api/for-you",
    "/feeds/day.atom",
    "/feeds/search.atom",
    "/feeds/trending.atom",
    "/feeds/category/{cat}.atom",
    "/feeds/author.atom",
    "private for-you feed",
    "digest: search",
    "digest: trending",
    "digest: categories",
    "digest: for_you",
    "paperwire search",
}


def direct_visits(site) -> dict[str, int]:
    anon, reader, curator = site["anon"], site["reader"], site["curator_client"]
    return {
        "page, anonymous": anon.get(f"/papers/{TARGET}").status_code,
        "page, reader": reader.get(f"/papers/{TARGET}").status_code,
        "bibtex, anonymous": anon.get(f"/papers/{TARGET}/bibtex").status_code,
        "api, anonymous": anon.get(f"/api/papers/{TARGET}").status_code,
        "api similar, anonymous": anon.get(f"/api/papers/{TARGET}/similar").status_code,
        "page, curator": curator.get(f"/papers/{TARGET}").status_code,
        "api, curator": curator.get(f"/api/papers/{TARGET}").status_code,
    }


def test_hidden_paper_leaves_every_reader_path_and_unhiding_brings_it_back(site):
    store, pk, curator = site["store"], site["pk"], site["curator"]
    day = store.papers.latest_day()
    count = store.papers.count_on_day(day)
    assert showing_target(site) == EVERY_PATH  # the target is everywhere, and every cache holds it
    assert set(direct_visits(site).values()) == {200}

    assert store.community.curate(curator.id, pk, "hide", "off topic")
    try:
        assert showing_target(site) == set()
        assert (
            store.community.hidden_pks() == {pk} and store.community.hidden_pks() is store.community.hidden_pks()
        )  # one copy for the cache keys
        assert store.papers.count_on_day(day) == count - 1
        assert anon_day_total(site, day) == count - 1
        visits = direct_visits(site)
        assert visits == {
            "page, anonymous": 404,
            "page, reader": 404,
            "bibtex, anonymous": 404,
            "api, anonymous": 404,
            "api similar, anonymous": 404,
            "page, curator": 200,
            "api, curator": 200,
        }
        # the reader learns no more than for an id that was never stored
        gone = site["anon"].get(f"/api/papers/{TARGET}").json()
        never = site["anon"].get("/api/papers/local:never-stored").json()
        assert gone["error"].replace(TARGET, "X") == never["error"].replace("local:never-stored", "X")
        page = site["curator_client"].get(f"/papers/{TARGET}").text
        assert "A curator has hidden this paper" in page and 'value="unhide"' in page
    finally:
        assert store.community.curate(curator.id, pk, "unhide")
    assert showing_target(site) == EVERY_PATH
    assert store.papers.count_on_day(day) == count
    assert set(direct_visits(site).values()) == {200}


def anon_day_total(site, day: str) -> int:
    return site["anon"].get("/api/papers", params={"date": day}).json()["total"]


def test_similar_and_search_stay_full_length_without_the_hidden_paper(site):
    """Leaving a hidden paper out does not shorten a list: the next paper takes its place."""
    store, engine, pk, curator = site["store"], site["engine"], site["pk"], site["curator"]
    before = [h.paper.id for h in engine.similar(site["twin"], k=5)]
    hits = [h.paper.id for h in engine.search(f"{WORD} stochastic optimization", limit=5).hits]
    assert TARGET in before and TARGET in hits
    assert store.community.curate(curator.id, pk, "hide")
    try:
        after = [h.paper.id for h in engine.similar(site["twin"], k=5)]
        hits_after = [h.paper.id for h in engine.search(f"{WORD} stochastic optimization", limit=5).hits]
        assert len(after) == 5 and TARGET not in after
        assert [i for i in before if i != TARGET] == after[:4]  # the others keep their order
        assert len(hits_after) == 5 and TARGET not in hits_after
        # a filter-only search (browse) counts without it too
        assert engine.search(f"cat:{CATEGORY}").total == 0
        assert engine.search(f"cat:{CATEGORY}").hits == []
    finally:
        assert store.community.curate(curator.id, pk, "unhide")
    assert [h.paper.id for h in engine.search(f"cat:{CATEGORY}").hits] == [TARGET]


def test_without_hidden_is_the_exact_top_k_of_the_visible_papers():
    """search/hidden.py against the brute-force answer, over random rankings, hidden sets and k;
    and it never asks for more than k + len(hidden), nor again when no hidden paper was in the way."""
    import random

    from paperwire.search.hidden import without_hidden

    rng = random.Random(7)
    ranking = [(pk, 1.0 - i / 1000) for i, pk in enumerate(rng.sample(range(1, 5000), 1000))]
    asked: list[int] = []

    def search(n: int):
        asked.append(n)
        return ranking[:n]

    for _ in range(300):
        hidden = frozenset(rng.sample([pk for pk, _ in ranking[:400]], rng.randint(0, 150)))
        k = rng.randint(1, 200)
        asked.clear()
        assert without_hidden(search, k, hidden) == [r for r in ranking if r[0] not in hidden][:k]
        assert max(asked) <= k + len(hidden)
        if not hidden & {pk for pk, _ in ranking[:k]}:
            assert asked == [k]
    asked.clear()
    assert without_hidden(search, 10, frozenset({ranking[0][0]} | set(range(6000, 6500)))) == ranking[1:11]
    assert asked == [10, 12]  # one hidden paper in the top 10: asked again for 2 more, not 500
    assert without_hidden(lambda n: ranking[:3][:n], 10, frozenset({ranking[0][0]})) == ranking[1:3]


@pytest.mark.parametrize("kind", ["flat", "ivf"])
def test_vector_search_skips_excluded_pks_and_stays_k_long(kind):
    """VectorIndex.search(exclude=...) gives what the plain search gives with those pks struck out,
    deeper, for both index kinds (exact and IVF), and a new set is honoured at once."""
    import numpy as np

    from paperwire.search.vectors import VectorIndex

    rng = np.random.default_rng(3)
    vecs = rng.standard_normal((3000, 32)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    pks = np.arange(10, 3010)
    index = VectorIndex.build(32, pks, vecs, seq=1, kind=kind)
    for q in vecs[:20]:
        plain = index.search(q, 200)
        hidden = frozenset(pk for pk, _ in plain[:60:3])
        got = index.search(q, 50, exclude=hidden)
        assert len(got) == 50 and not hidden & {pk for pk, _ in got}
        assert [pk for pk, _ in got] == [pk for pk, _ in plain if pk not in hidden][:50]
        other = frozenset(pk for pk, _ in plain[1:10])
        assert [pk for pk, _ in index.search(q, 5, exclude=other)] == [plain[0][0]] + [pk for pk, _ in plain[10:14]]
        assert index.search(q, 5) == plain[:5]


def test_day_listings_skip_hidden_papers_and_days_left_with_none(store):
    """papers_on_day / count_on_day leave hidden papers out, and neighbor_days steps over a day
    whose only paper is hidden (its page would be empty); un-hiding restores all three."""
    days = ["2026-03-02", "2026-03-03", "2026-03-04"]
    store.papers.upsert(
        [
            validated(
                Paper(
                    id=f"local:d{i}-{j}",
                    source="test",
                    title=f"Paper {i}-{j}",
                    submitted=f"{d}T0{j}:00:00Z",
                    announced=d,
                )
            )
            for i, d in enumerate(days)
            for j in range(1 if i == 1 else 2)
        ]
    )
    curator = store.accounts.ensure("curator@example.org", "curator")
    pks = store.papers.pks_for(["local:d1-0", "local:d2-1"])
    assert store.papers.neighbor_days(days[2]) == (days[1], None) and store.papers.neighbor_days(days[0]) == (
        None,
        days[1],
    )
    for pk in pks.values():
        assert store.community.curate(curator.id, pk, "hide")
    assert store.papers.count_on_day(days[1]) == 0 and store.papers.on_day(days[1]) == []
    assert [p.id for p in store.papers.on_day(days[2])] == ["local:d2-0"] and store.papers.count_on_day(days[2]) == 1
    assert store.papers.neighbor_days(days[2]) == (days[0], None) and store.papers.neighbor_days(days[0]) == (
        None,
        days[2],
    )
    for pk in pks.values():
        assert store.community.curate(curator.id, pk, "unhide")
    assert store.papers.count_on_day(days[1]) == 1 and store.papers.count_on_day(days[2]) == 2
    assert [p.id for p in store.papers.on_day(days[2])] == ["local:d2-1", "local:d2-0"]
    assert store.papers.neighbor_days(days[2]) == (days[1], None)
